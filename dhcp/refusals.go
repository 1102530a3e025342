package dhcp

import (
	"sync"
	"time"
)

// Refusal is a device that asked and got nothing, with why: an unknown
// modem knocking, a CPE over its modem's limit, a relay in no network.
type Refusal struct {
	Time   time.Time // the last time it asked
	MAC    string
	Relay  string // giaddr or link-address
	Reason string
	Count  int // how often it asked since it was first listed
}

// refusalLog keeps the latest refusals, one entry per device and reason,
// so a modem retrying every few seconds is one line with a count, and a
// flood of strangers cannot grow it past its bound.
type refusalLog struct {
	mu      sync.Mutex
	max     int
	entries []Refusal // oldest first
	index   map[string]int
}

func newRefusalLog(max int) *refusalLog {
	return &refusalLog{max: max, index: map[string]int{}}
}

func (l *refusalLog) add(now time.Time, mac, relay, reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := mac + "|" + reason
	if i, ok := l.index[key]; ok {
		e := l.entries[i]
		e.Time, e.Relay, e.Count = now, relay, e.Count+1
		// Move it to the newest end.
		copy(l.entries[i:], l.entries[i+1:])
		l.entries[len(l.entries)-1] = e
		l.reindex(i)
		return
	}
	if len(l.entries) >= l.max {
		delete(l.index, l.entries[0].MAC+"|"+l.entries[0].Reason)
		l.entries = append(l.entries[:0], l.entries[1:]...)
		l.reindex(0)
	}
	l.entries = append(l.entries, Refusal{Time: now, MAC: mac, Relay: relay, Reason: reason, Count: 1})
	l.index[key] = len(l.entries) - 1
}

// reindex fixes the positions from i on after a shift.
func (l *refusalLog) reindex(from int) {
	for j := from; j < len(l.entries); j++ {
		l.index[l.entries[j].MAC+"|"+l.entries[j].Reason] = j
	}
}

// list returns the refusals, newest first.
func (l *refusalLog) list() []Refusal {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Refusal, len(l.entries))
	for i, e := range l.entries {
		out[len(l.entries)-1-i] = e
	}
	return out
}
