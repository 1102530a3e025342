package main

import (
	"context"
	"testing"
	"time"

	"ip6m/snmp"
	"ip6m/store"
)

// TestPollTargets: the poller sees each enabled modem at its current
// lease's address (none without a lease) and each CMTS at its management
// address with its own community.
func TestPollTargets(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.FillDemo(ctx, store.DemoOptions{Modems: 10}); err != nil {
		t.Fatal(err)
	}
	m, _ := st.ModemByMAC(ctx, "44:32:c8:21:09:e7")
	now := time.Now()
	if err := st.CommitLeases(ctx, store.LeaseOp{Event: store.EventGrant, V4: &store.Lease4{IP: "127.10.1.5", MAC: m.MAC, Kind: store.KindCM,
		State: store.StateActive, ModemID: m.ID, Starts: now, Ends: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetSetting(ctx, "t", SettingSNMPCommunity, "isp-noc-ro"); err != nil {
		t.Fatal(err)
	}
	targets, err := pollTargets{st}.PollTargets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := st.Count(ctx)
	var modems, cmts, addressed int
	for _, tg := range targets {
		switch tg.Kind {
		case snmp.CMTS:
			cmts++
			if tg.Community != "public" || tg.Addr.Port() != 161 {
				t.Errorf("CMTS target %+v", tg)
			}
		case snmp.Modem:
			modems++
			if tg.Community != "isp-noc-ro" {
				t.Errorf("modem community %q", tg.Community)
			}
			if tg.Addr.IsValid() {
				addressed++
				if tg.Key != m.MAC || tg.Addr.String() != "127.10.1.5:161" {
					t.Errorf("addressed modem %+v", tg)
				}
			}
		}
	}
	if cmts != c.CMTS || modems != c.Modems-c.ModemsDisabled || addressed != 1 {
		t.Fatalf("%d CMTS, %d modems, %d with an address; want %d, %d, 1", cmts, modems, addressed, c.CMTS, c.Modems-c.ModemsDisabled)
	}
}
