package ui

import (
	"net/http"
	"time"

	"ip6m/internal/events"
)

// eventJSON is one event of the feed.
type eventJSON struct {
	Seq   uint64    `json:"seq"`
	At    time.Time `json:"at"`
	Kind  string    `json:"kind"`
	MAC   string    `json:"mac"`
	Modem string    `json:"modem"`
	CMTS  string    `json:"cmts"`
	Addr  string    `json:"addr"`
	Text  string    `json:"text"`
}

// eventsAnswer is the latest events, newest first.
type eventsAnswer struct {
	Items []eventJSON `json:"items"`
}

// apiEvents lists the latest events the bus keeps, newest first, filtered
// as the events page filters them (cmts by name, kind); after=SEQ keeps
// only those newer than an event a client has seen, so polling with the
// first seq of the last answer reads each event once.
func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) error {
	p := queryParams(r, "cmts", "kind", "limit", "after")
	f := eventFilter{cmts: p.str("cmts"), kind: p.oneOf("kind", events.Kinds...)}
	limit := p.num("limit", 100, 1, events.DefaultKeep)
	after := uint64(p.num("after", 0, 0, 1<<62))
	if err := p.err(); err != nil {
		return err
	}
	if s.cfg.Events == nil {
		return &apiError{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Message: "no services run in this process, so there are no events (ip6m serve)"}
	}
	list := s.cfg.Events.Recent(int(limit), func(e events.Event) bool { return e.Seq > after && f.keep(e) })
	ans := eventsAnswer{Items: make([]eventJSON, len(list))}
	for i, e := range list {
		ans.Items[i] = eventJSON{Seq: e.Seq, At: e.At, Kind: e.Kind, MAC: e.MAC, Modem: e.Modem, CMTS: e.CMTS, Addr: e.Addr, Text: e.Text}
	}
	writeJSON(w, http.StatusOK, ans)
	return nil
}
