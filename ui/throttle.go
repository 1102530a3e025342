package ui

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// loginThrottle slows password guessing: after maxFails failed logins from
// one address within window, further attempts from it are refused until the
// window has passed. The table is bounded; the oldest entries go first.
type loginThrottle struct {
	mu       sync.Mutex
	fails    map[string][]time.Time
	maxFails int
	window   time.Duration
	maxKeys  int
}

func newLoginThrottle() *loginThrottle {
	return &loginThrottle{fails: map[string][]time.Time{}, maxFails: 10, window: 10 * time.Minute, maxKeys: 10000}
}

// remoteKey is the client's address without the port.
func remoteKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// blocked reports whether key has used up its attempts, and until when.
func (l *loginThrottle) blocked(key string, now time.Time) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	recent := l.prune(key, now)
	if len(recent) >= l.maxFails {
		return true, recent[0].Add(l.window)
	}
	return false, time.Time{}
}

func (l *loginThrottle) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.fails[key]; !ok && len(l.fails) >= l.maxKeys {
		for k := range l.fails { // drop an arbitrary entry: bounded memory
			delete(l.fails, k)
			break
		}
	}
	l.fails[key] = append(l.prune(key, now), now)
}

func (l *loginThrottle) success(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}

// prune drops failures older than the window; l.mu is held.
func (l *loginThrottle) prune(key string, now time.Time) []time.Time {
	f := l.fails[key]
	i := 0
	for i < len(f) && now.Sub(f[i]) > l.window {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(l.fails, key)
		return nil
	}
	l.fails[key] = f
	return f
}
