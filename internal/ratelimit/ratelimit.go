// Package ratelimit keeps a token bucket per source address, for the UDP
// servers (DNS relay, RFC 868 time) that must not be turned into
// amplifiers or be flooded by one client.
package ratelimit

import (
	"net/netip"
	"sync"
	"time"
)

// Limiter is a token bucket per source address, kept in a table of at most
// max sources. When the table is full, the source seen least recently is
// forgotten to make room; a forgotten source only ever comes back with a full
// bucket, so eviction can let a source through early but never shuts one out.
// The table is an LRU list threaded through a slice, so a flood of new
// (perhaps spoofed) sources costs no allocation once the table has grown.
type Limiter struct {
	rate  float64 // tokens added per second
	burst float64 // bucket size
	max   int     // most sources remembered

	mu         sync.Mutex
	index      map[netip.Addr]int32
	slots      []bucket
	head, tail int32 // most and least recently seen slot; -1 when empty
}

type bucket struct {
	addr       netip.Addr
	tokens     float64
	last       time.Time // when tokens was last brought up to date
	prev, next int32     // LRU neighbours, -1 at the ends
}

// New returns a limiter that lets each source make burst requests at once
// and rate per second after that, remembering at most max sources.
func New(rate float64, burst, max int) *Limiter {
	return &Limiter{
		rate:  rate,
		burst: float64(burst),
		max:   max,
		index: make(map[netip.Addr]int32),
		head:  -1,
		tail:  -1,
	}
}

// Allow reports whether a request from addr at now fits in its bucket, and if
// so takes a token from it. IPv4-mapped IPv6 addresses (what a dual-stack
// socket reports for IPv4 peers) count as the IPv4 address.
func (l *Limiter) Allow(addr netip.Addr, now time.Time) bool {
	addr = addr.Unmap()
	l.mu.Lock()
	defer l.mu.Unlock()

	i, ok := l.index[addr]
	if ok {
		b := &l.slots[i]
		switch d := now.Sub(b.last); {
		case d > 0:
			b.tokens = min(l.burst, b.tokens+d.Seconds()*l.rate)
			b.last = now
		case d < 0:
			// A clock stepped back: start measuring from here rather than
			// waiting for the old reading to come round again.
			b.last = now
		}
		l.unlink(i)
	} else {
		i = l.claim(addr, now)
	}
	l.pushFront(i)

	b := &l.slots[i]
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// claim returns a slot for a source not in the table, with a full bucket,
// taking a new slot while the table has room and the least recently seen one
// when it does not. The slot is not linked into the LRU list.
func (l *Limiter) claim(addr netip.Addr, now time.Time) int32 {
	var i int32
	if len(l.slots) < l.max {
		i = int32(len(l.slots))
		l.slots = append(l.slots, bucket{})
	} else {
		i = l.tail
		l.unlink(i)
		delete(l.index, l.slots[i].addr)
	}
	l.slots[i] = bucket{addr: addr, tokens: l.burst, last: now, prev: -1, next: -1}
	l.index[addr] = i
	return i
}

func (l *Limiter) unlink(i int32) {
	b := &l.slots[i]
	if b.prev >= 0 {
		l.slots[b.prev].next = b.next
	} else {
		l.head = b.next
	}
	if b.next >= 0 {
		l.slots[b.next].prev = b.prev
	} else {
		l.tail = b.prev
	}
	b.prev, b.next = -1, -1
}

func (l *Limiter) pushFront(i int32) {
	b := &l.slots[i]
	b.prev, b.next = -1, l.head
	if l.head >= 0 {
		l.slots[l.head].prev = i
	}
	l.head = i
	if l.tail < 0 {
		l.tail = i
	}
}

// Rate returns the tokens added per second and the bucket size.
func (l *Limiter) Rate() (perSecond float64, burst int) { return l.rate, int(l.burst) }

// Sources returns how many sources the table holds.
func (l *Limiter) Sources() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.index)
}
