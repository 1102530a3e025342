package dns

import (
	"encoding/binary"
	"errors"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	mdns "github.com/miekg/dns"
)

// cacheKey is a question: the name in canonical (lower) case.
type cacheKey struct {
	name   string
	qtype  uint16
	qclass uint16
}

// entry is one cached answer. Everything but the counters is fixed once the
// entry is in the cache, so readers use it without a lock.
type entry struct {
	key   cacheKey
	rcode int

	// wire is the answer packed with ID 0, the question in canonical case,
	// TTLs clamped and no OPT record; ttlOff[i] is where the TTL of the
	// i-th record (Answer, Ns, Extra in order) sits in it, ttl[i] that TTL
	// as stored. Only the packed form is kept: it is what a hit copies,
	// and half the memory of the parsed one.
	wire   []byte
	ttlOff []uint16
	ttl    []uint32

	stored     time.Time
	expires    time.Time // fresh until
	staleUntil time.Time // may be served stale until
	lifetime   uint32    // seconds fresh, for prefetch decisions

	hits        atomic.Uint32
	prefetching atomic.Bool
}

// ttlPolicy is how TTLs from upstream are clamped before caching.
type ttlPolicy struct {
	min, max, maxNegative uint32
	stale                 time.Duration
}

// newEntry makes a cache entry from an upstream answer to key received at
// now. cacheable is false for answers that must not be kept (SERVFAIL and
// other errors, truncated answers, negative answers without an SOA): the
// entry is still good for answering the clients waiting for it.
func newEntry(key cacheKey, resp *mdns.Msg, now time.Time, p ttlPolicy) (e *entry, cacheable bool, err error) {
	e = &entry{key: key, rcode: resp.Rcode, stored: now}
	m := &mdns.Msg{Compress: true}
	m.Id = 0
	m.Response = true
	m.RecursionAvailable = true
	m.Rcode = resp.Rcode
	m.Question = []mdns.Question{{Name: key.name, Qtype: key.qtype, Qclass: key.qclass}}
	m.Answer = resp.Answer
	m.Ns = resp.Ns
	for _, rr := range resp.Extra {
		if rr.Header().Rrtype != mdns.TypeOPT {
			m.Extra = append(m.Extra, rr)
		}
	}
	cacheable = !resp.Truncated && (resp.Rcode == mdns.RcodeSuccess || resp.Rcode == mdns.RcodeNameError)

	var life uint32
	negative := resp.Rcode == mdns.RcodeNameError || len(m.Answer) == 0
	if negative {
		// RFC 2308 §5: the negative TTL is the smaller of the SOA's TTL and
		// its MINIMUM field; without an SOA the answer is not cached.
		var soa *mdns.SOA
		for _, rr := range m.Ns {
			if s, ok := rr.(*mdns.SOA); ok {
				soa = s
				break
			}
		}
		if soa == nil {
			cacheable = false
		} else {
			life = min(soa.Hdr.Ttl, soa.Minttl, p.maxNegative)
			life = max(life, p.min)
			soa.Hdr.Ttl = life
		}
	} else {
		life = ^uint32(0)
		for _, rr := range m.Answer {
			life = min(life, rr.Header().Ttl)
		}
		life = min(max(life, p.min), p.max)
	}
	clamp := func(rrs []mdns.RR) {
		for _, rr := range rrs {
			// No record outlives the entry it came in.
			h := rr.Header()
			h.Ttl = min(max(h.Ttl, p.min), p.max, life)
		}
	}
	clamp(m.Answer)
	clamp(m.Ns)
	clamp(m.Extra)
	if life == 0 {
		cacheable = false
	}

	e.lifetime = life
	e.expires = now.Add(time.Duration(life) * time.Second)
	e.staleUntil = e.expires.Add(p.stale)
	e.wire, err = m.Pack()
	if err != nil {
		return nil, false, err
	}
	e.ttlOff, err = ttlOffsets(e.wire)
	if err != nil {
		return nil, false, err
	}
	for _, sec := range [][]mdns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			e.ttl = append(e.ttl, rr.Header().Ttl)
		}
	}
	if len(e.ttl) != len(e.ttlOff) {
		return nil, false, errors.New("record count does not match the packed answer")
	}
	return e, cacheable, nil
}

// ttlOffsets walks a packed message and returns where each record's TTL is.
func ttlOffsets(msg []byte) ([]uint16, error) {
	if len(msg) < 12 || len(msg) > 65535 {
		return nil, errors.New("message size out of range")
	}
	qd := int(binary.BigEndian.Uint16(msg[4:]))
	rrs := int(binary.BigEndian.Uint16(msg[6:])) + int(binary.BigEndian.Uint16(msg[8:])) + int(binary.BigEndian.Uint16(msg[10:]))
	off := 12
	var err error
	for range qd {
		if off, err = skipName(msg, off); err != nil {
			return nil, err
		}
		off += 4
	}
	out := make([]uint16, 0, rrs)
	for range rrs {
		if off, err = skipName(msg, off); err != nil {
			return nil, err
		}
		if off+10 > len(msg) {
			return nil, errors.New("record header past the end")
		}
		out = append(out, uint16(off+4))
		off += 10 + int(binary.BigEndian.Uint16(msg[off+8:]))
	}
	if off != len(msg) {
		return nil, errors.New("records do not end at the end of the message")
	}
	return out, nil
}

// skipName returns the offset just past the name at off.
func skipName(msg []byte, off int) (int, error) {
	for {
		if off >= len(msg) {
			return 0, errors.New("name past the end")
		}
		c := int(msg[off])
		switch {
		case c == 0:
			return off + 1, nil
		case c&0xC0 == 0xC0:
			return off + 2, nil
		case c&0xC0 != 0:
			return 0, errors.New("unknown label type")
		}
		off += 1 + c
	}
}

// cache holds entries in shards (for less lock contention) under one bound:
// a full cache makes room by dropping, of a few entries sampled at random,
// the one whose stale window ends first (an entry past it goes first).
type cache struct {
	seed   maphash.Seed
	shards []cacheShard
	max    int
	size   atomic.Int64
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[cacheKey]*entry
}

const evictionSample = 8

func newCache(maxEntries int) *cache {
	n := 1
	for n < 64 && maxEntries/(n*2) >= 512 {
		n *= 2
	}
	c := &cache{seed: maphash.MakeSeed(), shards: make([]cacheShard, n), max: maxEntries}
	for i := range c.shards {
		c.shards[i].m = make(map[cacheKey]*entry)
	}
	return c
}

func (c *cache) shard(k cacheKey) *cacheShard {
	if len(c.shards) == 1 {
		return &c.shards[0]
	}
	h := maphash.String(c.seed, k.name) ^ uint64(k.qtype)*0x9E3779B97F4A7C15
	return &c.shards[h%uint64(len(c.shards))]
}

// get returns the entry for k, fresh or stale, or nil.
func (c *cache) get(k cacheKey) *entry {
	s := c.shard(k)
	s.mu.RLock()
	e := s.m[k]
	s.mu.RUnlock()
	return e
}

// put stores e, replacing any entry for its key. When that makes the cache
// hold more than its bound it evicts one entry, from e's shard if it can and
// from the next ones if not; so the cache never holds more than max entries
// plus the puts in progress at that moment.
func (c *cache) put(e *entry, now time.Time) {
	s := c.shard(e.key)
	s.mu.Lock()
	_, replaced := s.m[e.key]
	s.m[e.key] = e
	s.mu.Unlock()
	if replaced || c.size.Add(1) <= int64(c.max) {
		return
	}
	first := 0
	for i := range c.shards {
		if &c.shards[i] == s {
			first = i
			break
		}
	}
	for i := range c.shards {
		if c.shards[(first+i)%len(c.shards)].evictOne(now, e.key) {
			c.size.Add(-1)
			return
		}
	}
}

// evictOne drops, of a few entries sampled at random, the one whose stale
// window ends first (one already past it at once), never keep's. It reports
// whether it dropped one.
func (s *cacheShard) evictOne(now time.Time, keep cacheKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	var victim *entry
	n := 0
	for k, v := range s.m {
		if k == keep {
			continue
		}
		if victim == nil || v.staleUntil.Before(victim.staleUntil) {
			victim = v
		}
		n++
		if n >= evictionSample || now.After(victim.staleUntil) {
			break
		}
	}
	if victim == nil {
		return false
	}
	delete(s.m, victim.key)
	return true
}

// drop removes the entry for k if it is still e.
func (c *cache) drop(e *entry) {
	s := c.shard(e.key)
	s.mu.Lock()
	if s.m[e.key] == e {
		delete(s.m, e.key)
		c.size.Add(-1)
	}
	s.mu.Unlock()
}

func (c *cache) len() int { return int(c.size.Load()) }
