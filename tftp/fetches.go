package tftp

import (
	"net/netip"
	"sync"
	"time"

	"ip6m/store"
)

// Fetch is a device's last completed config download, for the modem page's
// "did it get its config?".
type Fetch struct {
	Time  time.Time
	From  netip.AddrPort
	Name  string // the file name asked for
	Kind  string // "cm" or "mta"
	Bytes int64
}

// maxFetches bounds the table: past it, entries older than a day go, and
// if that frees nothing the table starts over (a network this size has
// its fetches in the log and in Prometheus too).
const maxFetches = 1 << 17

// fetchLog keeps the last fetch of each device, in memory: it answers for
// the time since the server started.
type fetchLog struct {
	mu    sync.Mutex
	byMAC map[string]Fetch
}

func (l *fetchLog) add(mac string, f Fetch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byMAC == nil {
		l.byMAC = make(map[string]Fetch)
	}
	if _, ok := l.byMAC[mac]; !ok && len(l.byMAC) >= maxFetches {
		for m, old := range l.byMAC {
			if f.Time.Sub(old.Time) > 24*time.Hour {
				delete(l.byMAC, m)
			}
		}
		if len(l.byMAC) >= maxFetches {
			clear(l.byMAC)
		}
	}
	l.byMAC[mac] = f
}

// LastFetch returns the last config download of the device with this MAC
// (any notation) since the server started.
func (s *Server) LastFetch(mac string) (Fetch, bool) {
	m, err := store.NormalizeMAC(mac)
	if err != nil {
		return Fetch{}, false
	}
	s.fetches.mu.Lock()
	defer s.fetches.mu.Unlock()
	f, ok := s.fetches.byMAC[m]
	return f, ok
}
