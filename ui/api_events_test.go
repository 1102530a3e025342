package ui

import (
	"strconv"
	"strings"
	"testing"

	"ip6m/internal/events"
	"ip6m/store"
)

// TestAPIEvents: the latest events, newest first, filtered as the events
// page filters them, and read once each by polling with after.
func TestAPIEvents(t *testing.T) {
	s, _, _, clients := newAPITest(t, 0)
	c := clients[store.RoleViewer]
	code, b, h := c.do("GET", "/api/v1/events", nil)
	if e := apiErr(t, "no bus", b, h); code != 503 || e.Error.Code != "unavailable" {
		t.Fatalf("without an event bus: %d %s, want 503", code, b)
	}
	bus := events.New(0)
	s.cfg.Events = bus
	bus.Publish(events.Event{Kind: events.Lease, CMTS: "CMTS-1", Modem: "44:32:c8:21:09:e7", MAC: "02:00:00:00:00:01", Addr: "10.10.1.23", Text: "10.10.1.23 to CPE 02:00:00:00:00:01"})
	bus.Publish(events.Event{Kind: events.UnknownModem, CMTS: "CMTS-2", MAC: "00:00:ca:de:ad:01", Text: "unknown modem 00:00:ca:de:ad:01"})
	bus.Publish(events.Event{Kind: events.Offline, CMTS: "CMTS-1", Modem: "44:32:c8:21:09:e7", MAC: "44:32:c8:21:09:e7", Text: "44:32:c8:21:09:e7 offline"})

	var all eventsAnswer
	c.json("GET", "/api/v1/events", nil, 200, &all)
	if len(all.Items) != 3 || all.Items[0].Kind != events.Offline || all.Items[2].Kind != events.Lease || all.Items[0].Seq <= all.Items[1].Seq {
		t.Fatalf("all events: %+v", all.Items)
	}
	if l := all.Items[2]; l.Addr != "10.10.1.23" || l.Modem != "44:32:c8:21:09:e7" || l.CMTS != "CMTS-1" || l.At.IsZero() {
		t.Errorf("the lease event: %+v", l)
	}
	if _, b, _ := c.do("GET", "/api/v1/events?kind=unknown-modem", nil); !strings.Contains(string(b), `"modem":""`) {
		t.Errorf("an event without a modem should say so with an empty modem: %s", b)
	}
	for _, tc := range []struct {
		query string
		want  []string // kinds, newest first
	}{
		{"?cmts=CMTS-1", []string{events.Offline, events.Lease}},
		{"?kind=unknown-modem", []string{events.UnknownModem}},
		{"?cmts=CMTS-1&kind=lease", []string{events.Lease}},
		{"?cmts=CMTS-9", nil},
		{"?limit=2", []string{events.Offline, events.UnknownModem}},
		{"?after=" + strconv.FormatUint(all.Items[1].Seq, 10), []string{events.Offline}},
		{"?after=" + strconv.FormatUint(all.Items[0].Seq, 10), nil},
	} {
		var ans eventsAnswer
		c.json("GET", "/api/v1/events"+tc.query, nil, 200, &ans)
		var got []string
		for _, e := range ans.Items {
			got = append(got, e.Kind)
		}
		if ans.Items == nil || strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("events%s: %v (items %v), want %v", tc.query, got, ans.Items, tc.want)
		}
	}
	for _, q := range []string{"?kind=colour", "?limit=0", "?limit=2001", "?after=-1", "?cmts_id=1"} {
		code, b, h := c.do("GET", "/api/v1/events"+q, nil)
		if e := apiErr(t, q, b, h); code != 400 || len(e.Error.Fields) != 1 {
			t.Errorf("events%s: %d %s, want 400 naming the parameter", q, code, b)
		}
	}
}
