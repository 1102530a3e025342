package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"ip6m/dhcp"
	"ip6m/internal/events"
	"ip6m/store"
	"ip6m/tftp"
)

// TestEventFeed: events from each source are placed on their CMTS (from
// the modem, the relay or the requester's network, or the poller's CMTS
// key) and reach the bus in order.
func TestEventFeed(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.FillDemo(ctx, store.DemoOptions{Modems: 30, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	modems, _, _ := st.ListModems(ctx, store.ModemFilter{}, store.Page{Size: 1})
	m := modems[0]
	nets, _ := st.ListNetworks(ctx, m.CMTSID)
	var cpeNet netip.Prefix
	for _, n := range nets {
		if n.Purpose == store.PurposeCPE && n.Family == 4 {
			cpeNet = netip.MustParsePrefix(n.Prefix)
		}
	}
	if !cpeNet.IsValid() {
		t.Fatal("demo CMTS has no v4 CPE network")
	}
	inNet := cpeNet.Addr().Next().Next()

	bus := events.New(0)
	feed := newEventFeed(bus, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go feed.Run(fctx)

	if _, ok := leaseEvent(store.LeaseOp{Event: store.EventRenew, V4: &store.Lease4{}}); ok {
		t.Error("a renewal is an event")
	}
	// Lease ops as the store's observer hands them over: a renewal is no
	// news; the grants are made into events on the feed's goroutine.
	feed.sendOps([]store.LeaseOp{
		{Event: store.EventGrant, ModemMAC: m.MAC, V4: &store.Lease4{IP: inNet.String(), MAC: "02:00:00:00:00:01", Kind: store.KindCPE}},
		{Event: store.EventRenew, ModemMAC: m.MAC, V4: &store.Lease4{IP: inNet.String(), MAC: "02:00:00:00:00:01", Kind: store.KindCPE}},
	})
	feed.sendOps([]store.LeaseOp{{Event: store.EventGrant, V6: &store.Lease6{Type: "pd", Address: "2001:db8:4:100::", PrefixLen: 56, MAC: m.MAC, Kind: store.KindCM}}})
	for deadline := time.Now().Add(5 * time.Second); bus.Stats().Published < 2 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
	}
	feed.send(dhcpRefusalEvent("DHCPv4", dhcp.Refusal{MAC: "00:00:ca:de:ad:01", Relay: inNet.String(), Reason: "unknown modem 00:00:ca:de:ad:01", Class: dhcp.ClassUnknownModem, Count: 3}))
	feed.send(tftpRefusalEvent(tftp.Refusal{From: netip.AddrPortFrom(inNet, 1024), Name: "cm/x.cfg", Reason: tftp.ReasonNotLeaseHolder}))
	feed.send(modemStateEvent(fmt.Sprintf("cmts-%d", m.CMTSID), m.MAC, false))

	var got []events.Event
	for deadline := time.Now().Add(5 * time.Second); len(got) < 5 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		got = bus.Recent(10, nil)
	}
	if len(got) != 5 {
		t.Fatalf("%d events on the bus, want 5", len(got))
	}
	want := []struct{ kind, text string }{
		{events.Offline, "modem " + m.MAC + " is gone"},
		{events.TFTPRefused, `refused "cm/x.cfg" to ` + inNet.String()},
		{events.UnknownModem, "no lease for 00:00:ca:de:ad:01: unknown modem 00:00:ca:de:ad:01 (relay " + inNet.String() + "), asked 3 times"},
		{events.Lease, "2001:db8:4:100::/56 to modem " + m.MAC},
		{events.Lease, inNet.String() + " to CPE 02:00:00:00:00:01 behind modem " + m.MAC},
	}
	for i, w := range want {
		e := got[i]
		if e.Kind != w.kind || !strings.Contains(e.Text, w.text) || e.CMTS != m.CMTSName {
			t.Errorf("event %d = %+v, want %s %q on %s", i, e, w.kind, w.text, m.CMTSName)
		}
	}
}
