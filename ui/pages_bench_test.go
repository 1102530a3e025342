package ui

import (
	"context"
	"net/http"
	"testing"
	"time"

	"ip6m/internal/events"
	"ip6m/store"
)

// BenchmarkPages renders the pages an operator uses most over HTTP, on a
// 10,000-modem demo network with the TFTP builder behind the modem page's
// decoded config:
//
//	go test ./ui/ -run XXX -bench Pages -benchtime 200x
func BenchmarkPages(b *testing.B) {
	s, ts, st := newTestServer(b, 10000)
	ctx := context.Background()
	s.cfg.Configs = tftpConfigs(b, st)
	s.cfg.Events = events.New(0)
	for i := range 2000 {
		s.cfg.Events.Publish(events.Event{Kind: events.Lease, CMTS: "CMTS-1", Text: "grant " + idString(int64(i))})
	}
	m, err := st.ModemByMAC(ctx, "44:32:c8:21:09:e7")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	if err := st.CommitLeases(ctx, store.LeaseOp{Event: store.EventGrant, ModemMAC: m.MAC, CustomerID: m.CustomerID, V4: &store.Lease4{IP: "100.64.7.23",
		MAC: "44:32:c8:21:09:e9", Kind: store.KindCPE, State: store.StateActive, ModemID: m.ID, Starts: now, Ends: now.Add(time.Hour)}}); err != nil {
		b.Fatal(err)
	}
	c := newClient(b, ts)
	c.login(store.RoleOperator)
	for _, p := range []struct{ name, path string }{
		{"modem-page", "/modems/" + idString(m.ID)},
		{"modems-list", "/modems"},
		{"search-cpe-ip", "/search?q=100.64.7.23"},
		{"lease-history-ip-at", "/leases?q=100.64.7.23&at=" + now.UTC().Format("2006-01-02T15:04")},
		{"plan-page", "/plans/" + idString(m.PlanID)},
		{"events", "/events"},
		{"dashboard", "/"},
	} {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				req, _ := http.NewRequest("GET", ts.URL+p.path, nil)
				resp, err := c.hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusSeeOther {
					b.Fatalf("%s: %d", p.path, resp.StatusCode)
				}
			}
		})
	}
}
