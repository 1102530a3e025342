package dhcp

import (
	"sync"
	"time"
)

// macLimiter is a token bucket per client MAC: one misbehaving device (a
// modem stuck in a DISCOVER loop) cannot starve the others. A CMTS reboot
// storm is thousands of MACs each asking a few times, so it passes; only a
// single MAC asking far more often than DHCP ever needs is slowed. The
// table is bounded: when full, buckets idle for a minute are dropped, and
// if none are, the new MAC is let through unlimited (never refused for lack
// of memory).
type macLimiter struct {
	mu      sync.Mutex
	rate    float64 // tokens per second
	burst   float64
	max     int
	buckets map[[6]byte]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newMACLimiter(rate float64, burst, max int) *macLimiter {
	return &macLimiter{rate: rate, burst: float64(burst), max: max, buckets: map[[6]byte]*bucket{}}
}

// allow takes one token for mac at now.
func (l *macLimiter) allow(mac [6]byte, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[mac]
	if b == nil {
		if len(l.buckets) >= l.max && !l.evictIdle(now) {
			return true
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[mac] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(l.burst, b.tokens+el*l.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// evictIdle drops buckets untouched for a minute (they are full again
// anyway); it reports whether it freed any.
func (l *macLimiter) evictIdle(now time.Time) bool {
	n := len(l.buckets)
	for k, b := range l.buckets {
		if now.Sub(b.last) > time.Minute {
			delete(l.buckets, k)
		}
	}
	return len(l.buckets) < n
}
