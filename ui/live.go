package ui

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"ip6m/tsdb"
)

// Live fans new samples out to the browsers showing a device's graphs. The
// poller never waits for a browser: each subscriber has a small buffer, and
// one that falls behind is dropped (its page reconnects).
type Live struct {
	mu   sync.Mutex
	subs map[string]map[chan []byte]struct{}
}

// NewLive makes an empty hub.
func NewLive() *Live { return &Live{subs: map[string]map[chan []byte]struct{}{}} }

// livePoint is one sample as the page's graphs take it.
type livePoint struct {
	T      int64   `json:"t"`
	Metric string  `json:"metric"`
	Value  float64 `json:"value"`
}

// Publish sends a device's new samples to its subscribers, never blocking.
// Counter samples are readings, not rates, so only gauges are sent; the
// graphs fetch rates with the history.
func (l *Live) Publish(device string, t time.Time, samples []tsdb.Sample, gauge func(metric string) bool) {
	l.mu.Lock()
	subs := l.subs[device]
	if len(subs) == 0 {
		l.mu.Unlock()
		return
	}
	var pts []livePoint
	for _, s := range samples {
		if gauge(s.Metric) && !math.IsNaN(s.Value) && !math.IsInf(s.Value, 0) {
			pts = append(pts, livePoint{T: t.Unix(), Metric: s.Metric, Value: s.Value})
		}
	}
	if len(pts) == 0 {
		l.mu.Unlock()
		return
	}
	msg, _ := json.Marshal(pts)
	for ch := range subs {
		select {
		case ch <- msg:
		default:
			// Too slow: drop it rather than stall the poller.
			delete(subs, ch)
			close(ch)
		}
	}
	l.mu.Unlock()
}

func (l *Live) subscribe(device string) chan []byte {
	ch := make(chan []byte, 32)
	l.mu.Lock()
	if l.subs[device] == nil {
		l.subs[device] = map[chan []byte]struct{}{}
	}
	l.subs[device][ch] = struct{}{}
	l.mu.Unlock()
	return ch
}

func (l *Live) unsubscribe(device string, ch chan []byte) {
	l.mu.Lock()
	if _, ok := l.subs[device][ch]; ok {
		delete(l.subs[device], ch)
		close(ch)
	}
	if len(l.subs[device]) == 0 {
		delete(l.subs, device)
	}
	l.mu.Unlock()
}

// modemLive streams a modem's new samples over a websocket
// (GET /modems/{id}/live), after the page has drawn the history over HTTP.
func (s *Server) modemLive(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	m, err := s.st.GetModem(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if s.cfg.Live == nil {
		http.Error(w, "no live data: the SNMP poller does not run here", http.StatusServiceUnavailable)
		return
	}
	// Same-origin only (Accept checks the Origin header by default).
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := c.CloseRead(r.Context())
	ch := s.cfg.Live.subscribe(m.MAC)
	defer s.cfg.Live.unsubscribe(m.MAC, ch)
	for {
		select {
		case <-ctx.Done():
			return
		case msg, ok := <-ch:
			if !ok {
				c.Close(websocket.StatusTryAgainLater, "too slow")
				return
			}
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := c.Write(wctx, websocket.MessageText, msg)
			cancel()
			if err != nil {
				return
			}
		}
	}
}
