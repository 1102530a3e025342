package dns

import (
	"context"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// FuzzHandle feeds arbitrary messages to the query handler, from an allowed
// and from a refused client, over "UDP" and "TCP". It must never panic,
// never forward for the refused client, and answer only with a well-formed
// reply to the message's ID that fits the transport.
func FuzzHandle(f *testing.F) {
	for _, q := range []struct {
		name  string
		qtype uint16
		edns  uint16
	}{
		{"a.test.", mdns.TypeA, 0},
		{"A.TeSt.", mdns.TypeA, 1232},
		{"big.test.", mdns.TypeTXT, 4096},
		{"nx.test.", mdns.TypeA, 0},
		{"cm-4432c82109e7.cm.example.net.", mdns.TypeA, 0},
		{"cm-4432c82109e7.cm.example.net.", mdns.TypeAAAA, 512},
		{"5.0.0.10.in-addr.arpa.", mdns.TypePTR, 0},
		{"nobody.example.net.", mdns.TypeMX, 0},
		{"x.test.", mdns.TypeANY, 0},
	} {
		m := new(mdns.Msg)
		m.SetQuestion(q.name, q.qtype)
		if q.edns > 0 {
			m.SetEdns0(q.edns, true)
		}
		b, _ := m.Pack()
		f.Add(b, false, false)
		f.Add(b, true, true)
	}
	f.Add([]byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'a'}, false, false)
	f.Add([]byte{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0xc0, 12, 0, 1, 0, 1}, false, false)
	f.Add([]byte{}, false, false)

	up := startUpstream(f, "127.0.0.1")
	names := &fakeNames{}
	names.set(Host{Kind: "cm", MAC: "4432c82109e7", Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("2001:db8::1")}})
	s, err := New(Config{
		Addrs:           []string{"127.0.0.1:0"},
		Upstreams:       []string{up.addr},
		AllowFrom:       []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Domain:          "example.net",
		Names:           names,
		RatePerSecond:   -1,
		UpstreamTimeout: 200 * time.Millisecond,
		Logger:          discard(),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.closeSockets)
	s.refresh(context.Background())
	allowed, refused := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")

	f.Fuzz(func(t *testing.T, raw []byte, fromRefused, tcp bool) {
		src := allowed
		if fromRefused {
			src = refused
		}
		before := up.total.Load()
		reply := s.handle(context.Background(), src, raw, tcp)
		if fromRefused && up.total.Load() != before {
			t.Fatal("forwarded a query of a refused client")
		}
		if reply == nil {
			return
		}
		if len(raw) < 12 || len(reply) < 12 {
			t.Fatalf("reply %x to %x", reply, raw)
		}
		if binary.BigEndian.Uint16(reply) != binary.BigEndian.Uint16(raw) || reply[2]&0x80 == 0 {
			t.Fatalf("reply header %x does not answer %x", reply[:4], raw[:4])
		}
		if !tcp && len(reply) > DefaultMaxUDPSize {
			t.Fatalf("UDP reply of %d bytes", len(reply))
		}
		if fromRefused {
			if rc := reply[3] & 0x0F; rc != mdns.RcodeRefused {
				t.Fatalf("refused client got rcode %d", rc)
			}
			if len(reply) > len(raw) {
				t.Fatalf("refusal of %d bytes to a %d-byte query", len(reply), len(raw))
			}
		}
		m := new(mdns.Msg)
		if err := m.Unpack(reply); err != nil {
			t.Fatalf("reply does not parse: %v\n%x", err, reply)
		}
	})
}

// TestRefusalNotLargerThanQuery is the crash FuzzHandle found first: a
// question without its type and class parses leniently and, echoed back,
// made a refusal 4 bytes longer than the query.
func TestRefusalNotLargerThanQuery(t *testing.T) {
	up := startUpstream(t, "127.0.0.1")
	s := testServer(t, Config{Upstreams: []string{up.addr}})
	raw := []byte("0000\x00\x01000000\x00")
	if r := s.handle(context.Background(), netip.MustParseAddr("127.0.0.2"), raw, false); len(r) > len(raw) {
		t.Errorf("refusal of %d bytes to a %d-byte query", len(r), len(raw))
	}
}

// TestFastPathMatchesGeneralPath answers the same cache hits through the
// fast path and through the general one (unpacking the query) and wants the
// same bytes.
func TestFastPathMatchesGeneralPath(t *testing.T) {
	up := startUpstream(t, "127.0.0.1")
	clock := newClock()
	s := testServer(t, Config{Upstreams: []string{up.addr}, Now: clock.Now, RatePerSecond: -1})
	src := netip.MustParseAddr("127.0.0.1")
	for _, name := range []string{"a.test.", "nx.test.", "big.test.", "under_score-1.test."} {
		for _, qtype := range []uint16{mdns.TypeA, mdns.TypeAAAA, mdns.TypeTXT} {
			ask(t, s, "tcp", name, qtype)
		}
	}
	clock.Advance(7 * time.Second)
	for _, name := range []string{"a.test.", "A.tEsT.", "nx.test.", "big.test.", "Under_Score-1.test."} {
		for _, qtype := range []uint16{mdns.TypeA, mdns.TypeAAAA, mdns.TypeTXT} {
			for _, edns := range []uint16{0, 512, 1232, 4096} {
				for _, tcp := range []bool{false, true} {
					m := new(mdns.Msg)
					m.SetQuestion(name, qtype)
					m.Id = 4242
					m.CheckingDisabled = true
					if edns > 0 {
						m.SetEdns0(edns, false)
					}
					raw, _ := m.Pack()
					s.noFastPath = false
					hitsBefore := s.Stats().CacheHits
					fast, q1 := s.prepare(src, raw, tcp, nil)
					if s.Stats().CacheHits != hitsBefore+1 {
						t.Errorf("%s %s: not a cache hit", name, mdns.Type(qtype))
					}
					s.noFastPath = true
					general, q2 := s.prepare(src, raw, tcp, nil)
					s.noFastPath = false
					if q1 != nil || q2 != nil || string(fast) != string(general) {
						t.Errorf("%s %s edns %d tcp %v: fast and general paths differ:\n%x\n%x", name, mdns.Type(qtype), edns, tcp, fast, general)
						continue
					}
					r := new(mdns.Msg)
					if err := r.Unpack(fast); err != nil {
						t.Fatal(err)
					}
					if r.Id != 4242 || !r.CheckingDisabled || !r.RecursionDesired || r.Question[0].Name != name || (edns > 0) != (r.IsEdns0() != nil) {
						t.Errorf("reply %v", r)
					}
					for _, rr := range append(r.Answer, r.Ns...) {
						if rr.Header().Ttl > 300-7 {
							t.Errorf("%s: TTL %d not aged", rr.Header().Name, rr.Header().Ttl)
						}
					}
				}
			}
		}
	}
}

// FuzzPortalReply feeds arbitrary messages to the registration portal's
// answer: never a panic, only a well-formed reply to the message's ID, and
// never much larger than the question (no amplification).
func FuzzPortalReply(f *testing.F) {
	for _, qt := range []uint16{mdns.TypeA, mdns.TypeAAAA, mdns.TypeMX} {
		m := new(mdns.Msg)
		m.SetQuestion("www.example.com.", qt)
		b, _ := m.Pack()
		f.Add(b)
		m.SetEdns0(1232, true)
		b, _ = m.Pack()
		f.Add(b)
	}
	f.Add([]byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'a'})
	s := &Server{}
	portal := netip.MustParseAddr("10.0.0.1")
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) < 12 {
			return // prepare drops these before the portal
		}
		reply := s.portalReply(nil, raw, false, portal)
		if reply == nil {
			return
		}
		if binary.BigEndian.Uint16(reply) != binary.BigEndian.Uint16(raw) || reply[2]&0x80 == 0 {
			t.Fatalf("reply header %x does not answer %x", reply[:4], raw[:4])
		}
		if len(reply) > len(raw)+64 {
			t.Fatalf("portal reply of %d bytes to a %d-byte query", len(reply), len(raw))
		}
		if err := new(mdns.Msg).Unpack(reply); err != nil {
			t.Fatalf("reply does not parse: %v\n%x", err, reply)
		}
	})
}
