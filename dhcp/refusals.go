package dhcp

import (
	"strings"
	"sync"
	"sync/atomic"
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
	// Class sorts the reason: ClassUnknownModem, ClassOverMaxCPE or
	// ClassOther.
	Class string
}

// Refusal classes.
const (
	ClassUnknownModem = "unknown-modem"
	ClassOverMaxCPE   = "over-max-cpe"
	ClassOther        = "other"
)

// refusalClass sorts a refusal reason as made in decide.go and v4.go.
func refusalClass(reason string) string {
	switch {
	case strings.HasPrefix(reason, "unknown modem "):
		return ClassUnknownModem
	case strings.Contains(reason, " CPEs (its plan allows "):
		return ClassOverMaxCPE
	}
	return ClassOther
}

// notifyEvery is how often one device's repeated refusal is passed to the
// OnRefusal callback again.
const notifyEvery = 5 * time.Minute

// refusalLog keeps the latest refusals, one entry per device and reason,
// so a modem retrying every few seconds is one line with a count, and a
// flood of strangers cannot grow it past its bound.
type refusalLog struct {
	mu      sync.Mutex
	max     int
	entries []Refusal // oldest first
	index   map[string]int
	// notified is when each listed entry was last passed to notify.
	notified map[string]time.Time
	notify   atomic.Pointer[func(Refusal)]
}

func newRefusalLog(max int) *refusalLog {
	return &refusalLog{max: max, index: map[string]int{}, notified: map[string]time.Time{}}
}

func (l *refusalLog) add(now time.Time, mac, relay, reason string) {
	e, tell := l.record(now, mac, relay, reason)
	if tell {
		if fn := l.notify.Load(); fn != nil {
			(*fn)(e)
		}
	}
}

// record lists the refusal and says whether to pass it on: a new one, or
// one not passed on for notifyEvery.
func (l *refusalLog) record(now time.Time, mac, relay, reason string) (Refusal, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := mac + "|" + reason
	var e Refusal
	if i, ok := l.index[key]; ok {
		e = l.entries[i]
		e.Time, e.Relay, e.Count = now, relay, e.Count+1
		// Move it to the newest end.
		copy(l.entries[i:], l.entries[i+1:])
		l.entries[len(l.entries)-1] = e
		l.reindex(i)
	} else {
		if len(l.entries) >= l.max {
			old := l.entries[0].MAC + "|" + l.entries[0].Reason
			delete(l.index, old)
			delete(l.notified, old)
			l.entries = append(l.entries[:0], l.entries[1:]...)
			l.reindex(0)
		}
		e = Refusal{Time: now, MAC: mac, Relay: relay, Reason: reason, Count: 1, Class: refusalClass(reason)}
		l.entries = append(l.entries, e)
		l.index[key] = len(l.entries) - 1
	}
	if last, ok := l.notified[key]; ok && now.Sub(last) < notifyEvery {
		return e, false
	}
	l.notified[key] = now
	return e, true
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
