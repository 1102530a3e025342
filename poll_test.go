package main

import (
	"context"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"ip6m/snmp"
	"ip6m/snmp/snmpsim"
	"ip6m/store"
	"ip6m/tsdb"
	"ip6m/ui"
)

// TestPollerIntoGraphs wires the poller as `serve --poll` does, against the
// modem simulator on loopback port 161: each modem is polled at its lease
// address, its samples reach the time-series store and the live hub, its
// health is classified, and a reset from the UI path sends the SET.
func TestPollerIntoGraphs(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, err := snmpsim.New(snmpsim.Config{Modems: 3, Port: 161, Static: true}) // a CMTS at 127.0.1.1 too
	if err != nil {
		t.Skipf("the simulator cannot take port 161 here (%v); skipping", err)
	}
	defer sim.Close()
	go sim.Run(ctx)

	st, err := store.Open(ctx, t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.FillDemo(ctx, store.DemoOptions{Modems: 3}); err != nil {
		t.Fatal(err)
	}
	modems, _, _ := st.ListModems(ctx, store.ModemFilter{}, store.Page{})
	now := time.Now()
	for i, m := range modems {
		l := &store.Lease4{IP: sim.Addr(i).Addr().String(), MAC: m.MAC, Kind: store.KindCM, State: store.StateActive, ModemID: m.ID, Starts: now, Ends: now.Add(time.Hour)}
		if i == 2 {
			// Registered while it sat in the walled garden: its lease
			// predates the inventory's record of it.
			l.Kind, l.ModemID = store.KindUnknown, 0
		}
		if err := st.CommitLeases(ctx, store.LeaseOp{Event: store.EventGrant, V4: l}); err != nil {
			t.Fatal(err)
		}
	}
	// CMTS-1's demo management address is the simulator's CMTS; the
	// others are not polled.
	cmtsList, _ := st.ListCMTS(ctx)
	for _, c := range cmtsList[1:] {
		c.MgmtIPv4, c.MgmtIPv6 = "", ""
		if err := st.UpdateCMTS(ctx, "t", &c); err != nil {
			t.Fatal(err)
		}
	}
	if cmtsList[0].MgmtIPv4 != sim.CMTSAddr().Addr().String() {
		t.Fatalf("demo CMTS-1 at %s, simulator CMTS at %s", cmtsList[0].MgmtIPv4, sim.CMTSAddr())
	}
	db, err := tsdb.Open(t.TempDir(), tsdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	live := ui.NewLive()
	poller, err := snmp.New(snmp.Config{Targets: pollTargets{st}, Sink: liveSink{db, live}, SummaryOnly: true,
		Interval: 500 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- poller.Run(ctx) }()

	mac := modems[0].MAC
	// The store's base step is 10 s and a slot counts once half of it is
	// covered, so the first value shows within about two steps.
	deadline := time.Now().Add(45 * time.Second)
	for {
		s, err := db.Query(mac, "dspwr", time.Now().Add(-time.Hour), time.Now().Add(time.Minute), 400)
		known := 0
		if err == nil {
			for _, v := range s.Avg {
				if !math.IsNaN(v) {
					known++
				}
			}
		}
		if known > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no downstream power for %s after 45 s (%v); poller %+v", mac, err, poller.Stats())
		}
		time.Sleep(100 * time.Millisecond)
	}
	flags := healthFlags(poller)
	if h, ok := flags[mac]; !ok || h.State == "unknown" || h.State == "offline" {
		t.Fatalf("health of a polled modem: %+v", flags[mac])
	}
	for {
		rows, _, ok := upstreamRows(poller, cmtsList[0].ID)
		if ok && len(rows) == sim.Len() {
			if rows[0].RxState == "" || rows[0].MAC == "" {
				t.Fatalf("CMTS row %+v", rows[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the CMTS walk never reported its %d modems (got %d)", sim.Len(), len(rows))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := resetByLease(ctx, st, poller, mac); err != nil {
		t.Fatalf("reset: %v", err)
	}
	sets := sim.Sets()
	if len(sets) != 1 {
		t.Fatalf("simulator saw %d SETs, want the reset", len(sets))
	}
	if err := resetByLease(ctx, st, poller, modems[2].MAC); err != nil {
		t.Fatalf("reset of a modem registered from the walled garden: %v", err)
	}
	if sets = sim.Sets(); len(sets) != 2 {
		t.Fatalf("simulator saw %d SETs, want the second reset", len(sets))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("poller: %v", err)
	}
}
