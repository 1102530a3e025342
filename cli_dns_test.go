package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"ip6m/store"
)

// TestServeDNS: `serve` runs the DNS relay with the inventory's names: a
// modem holding a lease resolves by name, and its address back to it;
// other names go to the upstream.
func TestServeDNS(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.FillDemo(ctx, store.DemoOptions{Modems: 3}); err != nil {
		t.Fatal(err)
	}
	m, _ := st.ModemByMAC(ctx, "44:32:c8:21:09:e7")
	now := time.Now()
	if err := st.CommitLeases(ctx, store.LeaseOp{Event: store.EventGrant, V4: &store.Lease4{IP: "10.10.1.5", MAC: m.MAC, Kind: store.KindCM,
		State: store.StateActive, ModemID: m.ID, Starts: now, Ends: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	// An upstream on loopback that knows one name.
	up, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	upstream := &mdns.Server{PacketConn: up, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, q *mdns.Msg) {
		r := new(mdns.Msg)
		r.SetReply(q)
		if strings.EqualFold(q.Question[0].Name, "www.example.org.") {
			rr, _ := mdns.NewRR("www.example.org. 300 IN A 192.0.2.80")
			r.Answer = append(r.Answer, rr)
		}
		w.WriteMsg(r)
	})}
	go upstream.ActivateAndServe()
	defer upstream.Shutdown()

	addr := freeUDP(t).String()
	cfg := &serveConfig{data: dir, dns: addr, dnsUp: up.LocalAddr().String(), dnsDomain: "example.net"}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- serve(sctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	c := new(mdns.Client)
	ask := func(name string, qtype uint16) *mdns.Msg {
		t.Helper()
		q := new(mdns.Msg)
		q.SetQuestion(name, qtype)
		for i := 0; i < 50; i++ {
			r, _, err := c.Exchange(q, addr)
			if err == nil {
				return r
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("no answer for %s", name)
		return nil
	}
	r := ask("cm-4432c82109e7.cm.example.net.", mdns.TypeA)
	if len(r.Answer) != 1 || !strings.Contains(r.Answer[0].String(), "10.10.1.5") || !r.Authoritative {
		t.Fatalf("the modem's name: %v", r)
	}
	r = ask("5.1.10.10.in-addr.arpa.", mdns.TypePTR)
	if len(r.Answer) != 1 || !strings.Contains(r.Answer[0].String(), "cm-4432c82109e7.cm.example.net.") {
		t.Fatalf("the modem's address back: %v", r)
	}
	r = ask("www.example.org.", mdns.TypeA)
	if len(r.Answer) != 1 || !strings.Contains(r.Answer[0].String(), "192.0.2.80") {
		t.Fatalf("forwarded name: %v", r)
	}
}
