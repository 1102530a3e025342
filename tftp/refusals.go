package tftp

import (
	"log/slog"
	"maps"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Refusal is one refused request, for the UI.
type Refusal struct {
	Time   time.Time
	From   netip.AddrPort // the requester
	Name   string         // the file name asked for (at most 255 bytes kept)
	Reason string         // one of the Reason* constants
	Detail string         // what exactly, e.g. whose lease the address holds
}

// maxLogSources bounds the per-source log limiter's memory.
const maxLogSources = 4096

// refusalLog counts refusals by reason, keeps the last ones in a ring and
// logs them at Warn, at most once per source address every logEvery (the
// next line says how many were not logged in between).
type refusalLog struct {
	log *slog.Logger

	mu       sync.Mutex
	ring     []Refusal
	next     int
	full     bool
	total    uint64
	byReason map[string]uint64
	sources  map[netip.Addr]*sourceLog
	// notify, when set, hears each refusal that is logged (so as rarely
	// as the log: once per source every logEvery).
	notify atomic.Pointer[func(Refusal)]
}

type sourceLog struct {
	last       time.Time
	suppressed int
}

func newRefusalLog(n int, log *slog.Logger) *refusalLog {
	return &refusalLog{log: log, ring: make([]Refusal, n), byReason: map[string]uint64{}, sources: map[netip.Addr]*sourceLog{}}
}

func (l *refusalLog) add(now time.Time, from netip.AddrPort, name, reason, detail string) {
	if len(name) > maxNameLen {
		name = name[:maxNameLen]
	}
	l.mu.Lock()
	l.total++
	l.byReason[reason]++
	l.ring[l.next] = Refusal{Time: now, From: from, Name: name, Reason: reason, Detail: detail}
	l.next++
	if l.next == len(l.ring) {
		l.next, l.full = 0, true
	}
	src := from.Addr()
	sl := l.sources[src]
	if sl == nil {
		if len(l.sources) >= maxLogSources {
			for a, s := range l.sources {
				if now.Sub(s.last) >= logEvery {
					delete(l.sources, a)
				}
			}
			if len(l.sources) >= maxLogSources {
				clear(l.sources) // a scan from many addresses: start over
			}
		}
		sl = &sourceLog{}
		l.sources[src] = sl
	}
	logIt := sl.last.IsZero() || now.Sub(sl.last) >= logEvery
	suppressed := sl.suppressed
	if logIt {
		sl.last, sl.suppressed = now, 0
	} else {
		sl.suppressed++
	}
	l.mu.Unlock()
	if logIt {
		l.log.Warn("refused", "from", from.String(), "file", name, "reason", reason, "detail", detail, "not_logged_before", suppressed)
		if fn := l.notify.Load(); fn != nil {
			(*fn)(Refusal{Time: now, From: from, Name: name, Reason: reason, Detail: detail})
		}
	}
}

func (l *refusalLog) counts() (uint64, map[string]uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total, maps.Clone(l.byReason)
}

func (l *refusalLog) list() []Refusal {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.full {
		return append([]Refusal(nil), l.ring[:l.next]...)
	}
	out := make([]Refusal, 0, len(l.ring))
	out = append(out, l.ring[l.next:]...)
	return append(out, l.ring[:l.next]...)
}

// errorLimiter lets one error message be logged at most once a minute, so
// that a broken plan in a reboot storm gives one line, not thousands.
type errorLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (l *errorLimiter) allow(msg string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.last[msg]; ok && now.Sub(t) < time.Minute {
		return false
	}
	if l.last == nil || len(l.last) >= 1024 {
		l.last = map[string]time.Time{}
	}
	l.last[msg] = now
	return true
}
