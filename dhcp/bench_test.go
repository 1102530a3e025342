package dhcp

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv6"

	"ip6m/store"
)

// BenchmarkDORA measures whole relayed exchanges (DISCOVER → OFFER,
// REQUEST → ACK with the lease committed durably) for the 10,000 modems of
// the demo network, many at once as in a reboot storm. It reports the
// server-side cost only: no sockets.
func BenchmarkDORA(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.FillDemo(ctx, store.DemoOptions{Modems: 10000}); err != nil {
		b.Fatal(err)
	}
	srv, err := New(ctx, Config{Addr: "127.0.0.1:0", Inventory: st, Leases: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.raw.Close()
	modems, _, err := st.ListModems(ctx, store.ModemFilter{Enabled: new(true)}, store.Page{})
	if err != nil {
		b.Fatal(err)
	}
	gi := netip.MustParseAddr("10.10.0.1")
	var next atomic.Int64
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m := modems[int(next.Add(1))%len(modems)]
			mac, _ := store.MACBytes(m.MAC)
			d, _ := dhcpv4.NewDiscovery(net.HardwareAddr(mac[:]), dhcpv4.WithRelay(gi.AsSlice()), dhcpv4.WithOption(rai("cable1/0/0:1", mac)))
			offer, err := srv.handle4(ctx, inbound4{msg: d})
			if err != nil {
				b.Fatalf("DISCOVER from %s: %v", m.MAC, err)
			}
			req, _ := dhcpv4.NewRequestFromOffer(offer, dhcpv4.WithRelay(gi.AsSlice()), dhcpv4.WithOptionCopied(d, dhcpv4.OptionRelayAgentInformation))
			ack, err := srv.handle4(ctx, inbound4{msg: req})
			if err != nil || ack.MessageType() != dhcpv4.MessageTypeAck {
				b.Fatalf("REQUEST from %s: %v %v", m.MAC, ack, err)
			}
		}
	})
	b.StopTimer()
	cs := st.CommitStats()
	b.ReportMetric(float64(cs.Requests)/float64(max(cs.Batches, 1)), "leases/txn")
}

// benchServer6 is a v6 server on ::1 for the demo network of n modems, and
// its enabled modems.
func benchServer6(b *testing.B, n int) (*store.Store, *Server6, []store.ModemRow) {
	b.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if _, err := st.FillDemo(ctx, store.DemoOptions{Modems: n}); err != nil {
		b.Fatal(err)
	}
	srv, err := New6(ctx, Config6{Addr: "[::1]:0", Inventory: st, Leases: st, Settings: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Skipf("DHCPv6 on ::1: %v", err)
	}
	b.Cleanup(func() { srv.conn.Close() })
	modems, _, err := st.ListModems(ctx, store.ModemFilter{Enabled: new(true)}, store.Page{})
	if err != nil {
		b.Fatal(err)
	}
	return st, srv, modems
}

// BenchmarkSARR measures whole relayed DHCPv6 exchanges (Solicit →
// Advertise, Request → Reply with the binding committed durably) for the
// 10,000 modems of the demo network, many at once: the v6 counterpart of
// BenchmarkDORA, server side only.
func BenchmarkSARR(b *testing.B) {
	ctx := context.Background()
	st, srv, modems := benchServer6(b, 10000)
	link := netip.MustParseAddr("2001:db8:4:11::1")
	unwrap := func(out []byte) *dhcpv6.Message {
		d, err := dhcpv6.FromBytes(out)
		if err != nil {
			b.Fatal(err)
		}
		m, err := d.(*dhcpv6.RelayMessage).GetInnerMessage()
		if err != nil {
			b.Fatal(err)
		}
		return m
	}
	var next atomic.Int64
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m := modems[int(next.Add(1))%len(modems)]
			mac, _ := store.MACBytes(m.MAC)
			sol := cmSolicit(b, mac)
			out, err := srv.handle6(ctx, relayed(b, sol, link, mac[:], 1))
			if err != nil {
				b.Fatalf("Solicit from %s: %v", m.MAC, err)
			}
			adv := unwrap(out)
			out, err = srv.handle6(ctx, relayed(b, requestFrom(b, sol, adv), link, mac[:], 1))
			if err != nil {
				b.Fatalf("Request from %s: %v", m.MAC, err)
			}
			if rep := unwrap(out); rep.MessageType != dhcpv6.MessageTypeReply || rep.Options.OneIANA() == nil {
				b.Fatalf("Request from %s: %v", m.MAC, rep)
			}
		}
	})
	b.StopTimer()
	cs := st.CommitStats()
	b.ReportMetric(float64(cs.Requests)/float64(max(cs.Batches, 1)), "leases/txn")
}

// BenchmarkPrepare6 measures the server's own work on a relayed DOCSIS
// Solicit and Request (decode, decide, bind in memory, encode the reply),
// without the commit: what the reader spends per exchange.
func BenchmarkPrepare6(b *testing.B) {
	ctx := context.Background()
	_, srv, modems := benchServer6(b, 2000)
	link := netip.MustParseAddr("2001:db8:4:11::1")
	type pair struct{ sol, req []byte }
	pairs := make([]pair, 0, len(modems))
	for _, m := range modems {
		mac, _ := store.MACBytes(m.MAC)
		sol := cmSolicit(b, mac)
		solPkt := relayed(b, sol, link, mac[:], 1)
		out, err := srv.handle6(ctx, solPkt)
		if err != nil {
			b.Fatal(err)
		}
		d, err := dhcpv6.FromBytes(out)
		if err != nil {
			b.Fatal(err)
		}
		adv, err := d.(*dhcpv6.RelayMessage).GetInnerMessage()
		if err != nil {
			b.Fatal(err)
		}
		pairs = append(pairs, pair{solPkt, relayed(b, requestFrom(b, sol, adv), link, mac[:], 1)})
	}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		p := pairs[i%len(pairs)]
		if _, _, err := srv.prepare6(p.sol, buf[:0]); err != nil {
			b.Fatal(err)
		}
		if _, _, err := srv.prepare6(p.req, buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
