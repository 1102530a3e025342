package ui

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"ip6m/internal/events"
	"ip6m/store"
)

// TestEventsPage: recent events listed newest first and filtered by CMTS
// and kind; new ones stream over the websocket with the same filter.
func TestEventsPage(t *testing.T) {
	s, ts, _ := newTestServer(t, 3)
	bus := events.New(0)
	s.cfg.Events = bus
	bus.Publish(events.Event{Kind: events.Lease, CMTS: "CMTS-1", Modem: "44:32:c8:21:09:e7", MAC: "02:00:00:00:00:01", Text: "10.10.1.23 to CPE 02:00:00:00:00:01"})
	bus.Publish(events.Event{Kind: events.UnknownModem, CMTS: "CMTS-2", MAC: "00:00:ca:de:ad:01", Text: "DHCPv4: no lease for 00:00:ca:de:ad:01: unknown modem"})
	c := newClient(t, ts)
	c.login(store.RoleViewer)

	code, body, _ := c.get("/events")
	if code != http.StatusOK {
		t.Fatalf("events page: %d", code)
	}
	i, j := strings.Index(body, "unknown modem"), strings.Index(body, "10.10.1.23 to CPE")
	if i < 0 || j < 0 || i > j {
		t.Errorf("events page should list both, newest first")
	}
	_, body, _ = c.get("/events?cmts=CMTS-1")
	if !strings.Contains(body, "10.10.1.23 to CPE") || strings.Contains(body, "unknown modem") {
		t.Error("the CMTS filter does not filter")
	}
	_, body, _ = c.get("/events?kind=unknown-modem")
	if strings.Contains(body, "10.10.1.23 to CPE") || !strings.Contains(body, "unknown modem") {
		t.Error("the kind filter does not filter")
	}

	// The live stream, filtered to CMTS-1.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(ts.URL, "http") + "/events/stream?cmts=CMTS-1"
	if _, _, err := websocket.Dial(ctx, wsURL, nil); err == nil {
		t.Fatal("the stream answered without a session")
	}
	ws, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: c.hc})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	// Wait until the server has subscribed, then publish.
	deadline := time.Now().Add(5 * time.Second)
	for bus.Stats().Subscribers == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	bus.Publish(events.Event{Kind: events.Offline, CMTS: "CMTS-2", Text: "other CMTS"})
	bus.Publish(events.Event{Kind: events.Online, CMTS: "CMTS-1", Modem: "44:32:c8:21:09:e7", Text: "modem 44:32:c8:21:09:e7 is online at its CMTS"})
	_, data, err := ws.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var msg streamMsg
	if err := json.Unmarshal(data, &msg); err != nil {
		t.Fatal(err)
	}
	if len(msg.Events) != 1 || msg.Events[0].Kind != events.Online || msg.Events[0].Label != "Modems online" || msg.Events[0].State != "good" {
		t.Errorf("streamed %s, want only the CMTS-1 online event", data)
	}
}

// TestEventsStreamStorm: a storm of events reaches a browser as batches of
// at most maxBatch with the rest counted as skipped, never a backlog.
func TestEventsStreamStorm(t *testing.T) {
	s, ts, _ := newTestServer(t, 0)
	bus := events.New(0)
	s.cfg.Events = bus
	c := newClient(t, ts)
	c.login(store.RoleViewer)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/events/stream", &websocket.DialOptions{HTTPClient: c.hc})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	for bus.Stats().Subscribers == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	const n = 3000
	for i := 0; i < n; i++ {
		bus.Publish(events.Event{Kind: events.Lease, Text: "grant"})
	}
	got, skipped := 0, 0
	for got+skipped < n {
		_, data, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("after %d shown + %d skipped: %v", got, skipped, err)
		}
		var msg streamMsg
		json.Unmarshal(data, &msg)
		if len(msg.Events) > maxBatch {
			t.Fatalf("a batch of %d events, bound %d", len(msg.Events), maxBatch)
		}
		got += len(msg.Events)
		skipped += msg.Skipped
	}
	if got+skipped != n || got == 0 {
		t.Errorf("%d shown + %d skipped, want %d in all", got, skipped, n)
	}
}
