package ui

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/coder/websocket"

	"ip6m/internal/events"
	"ip6m/store"
)

// The events page: what is happening now, newest first, filterable by CMTS
// and kind, and live over a websocket.

// eventsView is the events page.
type eventsView struct {
	CMTS, Kind string
	Filters    []field
	Events     []events.Event
	Live       bool   // a bus runs here
	Stream     string // the websocket path with the filters
}

// eventFilter keeps the events of one CMTS and kind ("" for any).
type eventFilter struct{ cmts, kind string }

func (f eventFilter) keep(e events.Event) bool {
	return (f.cmts == "" || e.CMTS == f.cmts) && (f.kind == "" || e.Kind == f.kind)
}

func filterFrom(r *http.Request) eventFilter {
	q := r.URL.Query()
	return eventFilter{cmts: q.Get("cmts"), kind: q.Get("kind")}
}

// eventsShown is how many recent events the page lists.
const eventsShown = 200

func (s *Server) registerEventRoutes() {
	s.handle("GET /events", store.RoleViewer, s.eventsPage)
	s.handle("GET /events/stream", store.RoleViewer, s.eventsStream)
}

func (s *Server) eventsPage(w http.ResponseWriter, r *http.Request) {
	f := filterFrom(r)
	v := eventsView{CMTS: f.cmts, Kind: f.kind, Live: s.cfg.Events != nil}
	cmts, err := s.st.ListCMTS(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cmtsOpts := []option{{"", "All CMTS"}}
	for _, c := range cmts {
		cmtsOpts = append(cmtsOpts, option{c.Name, c.Name})
	}
	kindOpts := []option{{"", "Everything"}}
	for _, k := range events.Kinds {
		kindOpts = append(kindOpts, option{k, kindLabel(k)})
	}
	v.Filters = []field{
		{Name: "cmts", Label: "CMTS", Type: "select", Options: cmtsOpts, Value: f.cmts},
		{Name: "kind", Label: "What", Type: "select", Options: kindOpts, Value: f.kind},
	}
	if s.cfg.Events != nil {
		v.Events = s.cfg.Events.Recent(eventsShown, f.keep)
		q := r.URL.Query()
		q.Del("flash")
		v.Stream = "/events/stream?" + q.Encode()
	}
	s.render(w, r, eventsPage(s.page(r, "Events", "/events"), v))
}

// kindLabel is how the page names a kind of event.
func kindLabel(k string) string {
	switch k {
	case events.Online:
		return "Modems online"
	case events.Offline:
		return "Modems gone offline"
	case events.Lease:
		return "Leases granted"
	case events.Release:
		return "Leases released"
	case events.TFTPRefused:
		return "Config downloads refused"
	case events.OverMaxCPE:
		return "Over max CPE"
	case events.UnknownModem:
		return "Unknown modems"
	case events.Refused:
		return "Other DHCP refusals"
	}
	return k
}

// kindState is the badge colour of a kind.
func kindState(k string) string {
	switch k {
	case events.Online, events.Lease:
		return "good"
	case events.Offline, events.TFTPRefused, events.OverMaxCPE:
		return "bad"
	case events.UnknownModem, events.Refused:
		return "warn"
	}
	return "off"
}

// streamMsg is one websocket message: the new events (oldest first) since
// the last, and how many matching ones were left out to keep up.
type streamMsg struct {
	Events  []streamEvent `json:"events"`
	Skipped int           `json:"skipped,omitempty"`
}

// streamEvent is an event as the page draws it.
type streamEvent struct {
	events.Event
	Label string `json:"label"`
	State string `json:"state"`
	Time  string `json:"time"`
}

// streamBatch is how often the stream sends, and maxBatch the most events
// one message carries: a reboot storm is thousands of grants a second,
// which no one reads one by one.
const (
	streamBatch = 250 * time.Millisecond
	maxBatch    = 100
)

// eventsStream sends new events matching the page's filters over a
// websocket, batched.
func (s *Server) eventsStream(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Events == nil {
		http.Error(w, "no event feed here", http.StatusServiceUnavailable)
		return
	}
	f := filterFrom(r)
	c, err := websocket.Accept(w, r, nil) // same origin only
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := c.CloseRead(r.Context())
	sub := s.cfg.Events.Subscribe(4096)
	defer s.cfg.Events.Unsubscribe(sub)
	tick := time.NewTicker(streamBatch)
	defer tick.Stop()
	var pending []events.Event
	skipped := 0
	lastMissed := uint64(0)
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-sub.C:
			if !f.keep(e) {
				continue
			}
			if len(pending) == maxBatch {
				pending = slices.Delete(pending, 0, 1) // keep the newest
				skipped++
			}
			pending = append(pending, e)
		case <-tick.C:
			if m := sub.Missed(); m != lastMissed {
				skipped += int(m - lastMissed)
				lastMissed = m
			}
			if len(pending) == 0 && skipped == 0 {
				continue
			}
			msg := streamMsg{Skipped: skipped, Events: make([]streamEvent, len(pending))}
			for i, e := range pending {
				msg.Events[i] = streamEvent{Event: e, Label: kindLabel(e.Kind), State: kindState(e.Kind), Time: e.At.UTC().Format("15:04:05")}
			}
			b, err := json.Marshal(msg)
			if err != nil {
				return
			}
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = c.Write(wctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				return
			}
			pending, skipped = pending[:0], 0
		}
	}
}
