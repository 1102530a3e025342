// Package events is what is happening now on the network, for the people
// watching it: modems coming online or dropping off, leases granted,
// refused config downloads, devices over their modem's CPE limit, unknown
// modems knocking. Services publish; the web UI lists the recent ones and
// streams new ones to browsers.
//
// Publishing never blocks and never allocates per subscriber beyond one
// channel send: a DHCP server in a reboot storm publishes thousands of
// grants a second, and a slow browser must not slow it down.
package events

import (
	"maps"
	"sync"
	"sync/atomic"
	"time"
)

// Kinds of events.
const (
	Online       = "online"        // the CMTS sees a modem registered again
	Offline      = "offline"       // a modem the CMTS saw registered is gone
	Lease        = "lease"         // a new lease (not a renewal), v4 or v6
	Release      = "release"       // a device gave its lease back
	TFTPRefused  = "tftp-refused"  // a config download refused
	OverMaxCPE   = "over-max-cpe"  // a CPE refused: its modem is at its limit
	UnknownModem = "unknown-modem" // a modem not in the inventory asked
	Refused      = "dhcp-refused"  // any other DHCP refusal
)

// Kinds lists every kind, in the order the UI offers them.
var Kinds = []string{Online, Offline, Lease, Release, TFTPRefused, OverMaxCPE, UnknownModem, Refused}

// Event is one thing that happened.
type Event struct {
	Seq  uint64    `json:"seq"` // increasing; set by Publish
	At   time.Time `json:"at"`
	Kind string    `json:"kind"`
	// MAC is the device the event is about; Modem the cable modem it is
	// or sits behind (empty when unknown). They are what the UI links
	// and filters by CMTS with.
	MAC   string `json:"mac,omitempty"`
	Modem string `json:"modem,omitempty"`
	// CMTS names the CMTS when the source knows it; else the UI resolves
	// it from the modem.
	CMTS string `json:"cmts,omitempty"`
	Addr string `json:"addr,omitempty"` // an address or prefix, if any
	Text string `json:"text"`
}

// Bus keeps the latest events in a ring and fans new ones out.
type Bus struct {
	mu   sync.Mutex
	ring []Event
	next int
	full bool
	seq  uint64
	subs map[*Sub]struct{}
	// byKind counts the events published, by kind (under mu).
	byKind map[string]uint64

	published, dropped atomic.Uint64
}

// DefaultKeep is how many recent events a bus keeps.
const DefaultKeep = 2000

// New makes a bus keeping the latest keep events (0: DefaultKeep).
func New(keep int) *Bus {
	if keep <= 0 {
		keep = DefaultKeep
	}
	return &Bus{ring: make([]Event, keep), subs: map[*Sub]struct{}{}, byKind: map[string]uint64{}}
}

// Sub is one subscriber: new events arrive on C. A subscriber that lets C
// fill up misses events (Missed counts them) rather than slowing the
// publishers.
type Sub struct {
	C      <-chan Event
	c      chan Event
	missed atomic.Uint64
}

// Missed is how many events the subscriber missed by being slow.
func (s *Sub) Missed() uint64 { return s.missed.Load() }

// Publish records e (its Seq and, when zero, At are set) and sends it to
// every subscriber that has room. A nil bus drops it.
func (b *Bus) Publish(e Event) {
	if b == nil {
		return
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	b.mu.Lock()
	b.seq++
	e.Seq = b.seq
	b.byKind[e.Kind]++
	b.ring[b.next] = e
	b.next++
	if b.next == len(b.ring) {
		b.next, b.full = 0, true
	}
	for s := range b.subs {
		select {
		case s.c <- e:
		default:
			s.missed.Add(1)
			b.dropped.Add(1)
		}
	}
	b.mu.Unlock()
	b.published.Add(1)
}

// Subscribe returns a subscriber with room for buf events; Unsubscribe it
// when done.
func (b *Bus) Subscribe(buf int) *Sub {
	c := make(chan Event, max(buf, 1))
	s := &Sub{C: c, c: c}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Unsubscribe stops deliveries to s.
func (b *Bus) Unsubscribe(s *Sub) {
	b.mu.Lock()
	delete(b.subs, s)
	b.mu.Unlock()
}

// Recent returns up to n of the latest events that keep accepts (nil
// keep: all), newest first.
func (b *Bus) Recent(n int, keep func(Event) bool) []Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	size := b.next
	if b.full {
		size = len(b.ring)
	}
	var out []Event
	for i := 0; i < size && len(out) < n; i++ {
		j := (b.next - 1 - i + len(b.ring)) % len(b.ring)
		if keep == nil || keep(b.ring[j]) {
			out = append(out, b.ring[j])
		}
	}
	return out
}

// Stats are the bus's counters.
type Stats struct {
	// Published counts every event; ByKind by its kind. Dropped counts
	// deliveries subscribers missed by being slow.
	Published, Dropped uint64
	ByKind             map[string]uint64
	Subscribers        int
}

// Stats returns the bus's counters.
func (b *Bus) Stats() Stats {
	b.mu.Lock()
	n := len(b.subs)
	by := maps.Clone(b.byKind)
	b.mu.Unlock()
	return Stats{Published: b.published.Load(), Dropped: b.dropped.Load(), ByKind: by, Subscribers: n}
}
