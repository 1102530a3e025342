package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

func TestForwardCacheAndTTLExpiry(t *testing.T) {
	up := startUpstream(t, "127.0.0.1")
	clock := newClock()
	s := testServer(t, Config{Upstreams: []string{up.addr}, Now: clock.Now})

	r := ask(t, s, "udp", "a.test.", mdns.TypeA)
	if r.Rcode != mdns.RcodeSuccess || !r.RecursionAvailable {
		t.Fatalf("answer: %v", r)
	}
	if ip, ttl := firstA(t, r); ip != "192.0.2.1" || ttl != 300 {
		t.Fatalf("got %s ttl %d, want 192.0.2.1 ttl 300", ip, ttl)
	}
	clock.Advance(100 * time.Second)
	r = ask(t, s, "udp", "A.Test.", mdns.TypeA)
	if _, ttl := firstA(t, r); ttl != 200 {
		t.Errorf("cached TTL %d, want 200", ttl)
	}
	if r.Question[0].Name != "A.Test." {
		t.Errorf("question came back as %q, want the client's case", r.Question[0].Name)
	}
	if n := up.count("udp", "a.test.", mdns.TypeA); n != 1 {
		t.Errorf("upstream asked %d times, want 1", n)
	}
	// Over TCP the cache answers too.
	r = ask(t, s, "tcp", "a.test.", mdns.TypeA)
	if _, ttl := firstA(t, r); ttl != 200 {
		t.Errorf("TCP cached TTL %d, want 200", ttl)
	}
	clock.Advance(201 * time.Second)
	r = ask(t, s, "udp", "a.test.", mdns.TypeA)
	if _, ttl := firstA(t, r); ttl != 300 {
		t.Errorf("TTL after expiry %d, want a fresh 300", ttl)
	}
	if n := up.count("udp", "a.test.", mdns.TypeA); n != 2 {
		t.Errorf("upstream asked %d times after expiry, want 2", n)
	}
	st := s.Stats()
	if st.CacheHits != 2 || st.CacheMisses != 2 || st.Queries != 4 {
		t.Errorf("stats %+v: want 2 hits, 2 misses, 4 queries", st)
	}
	if len(st.Upstreams) != 1 || st.Upstreams[0].Answers != 2 || st.Upstreams[0].AvgLatency <= 0 {
		t.Errorf("upstream stats %+v", st.Upstreams)
	}
}

func TestTTLClamps(t *testing.T) {
	up := startUpstream(t, "127.0.0.1")
	clock := newClock()
	s := testServer(t, Config{Upstreams: []string{up.addr}, Now: clock.Now, MinTTL: 30, MaxTTL: 100})
	if _, ttl := firstA(t, ask(t, s, "udp", "short.test.", mdns.TypeA)); ttl != 30 {
		t.Errorf("short TTL became %d, want the minimum 30", ttl)
	}
	if _, ttl := firstA(t, ask(t, s, "udp", "a.test.", mdns.TypeA)); ttl != 100 {
		t.Errorf("long TTL became %d, want the maximum 100", ttl)
	}
	clock.Advance(20 * time.Second)
	ask(t, s, "udp", "short.test.", mdns.TypeA)
	if n := up.count("udp", "short.test.", mdns.TypeA); n != 1 {
		t.Errorf("a 5 s record raised to 30 s was asked again after 20 s (%d queries)", n)
	}
}

func TestNegativeCaching(t *testing.T) {
	up := startUpstream(t, "127.0.0.1")
	clock := newClock()
	s := testServer(t, Config{Upstreams: []string{up.addr}, Now: clock.Now})

	for _, tc := range []struct {
		name  string
		qtype uint16
		rcode int
	}{
		{"nx.test.", mdns.TypeA, mdns.RcodeNameError},
		{"a.test.", mdns.TypeAAAA, mdns.RcodeSuccess}, // NODATA
	} {
		t.Run(tc.name+mdns.Type(tc.qtype).String(), func(t *testing.T) {
			for i := range 2 {
				r := ask(t, s, "udp", tc.name, tc.qtype)
				if r.Rcode != tc.rcode || len(r.Answer) != 0 {
					t.Fatalf("answer %d: %v", i, r)
				}
				if len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != mdns.TypeSOA {
					t.Fatalf("answer %d has no SOA: %v", i, r)
				}
				// RFC 2308: the smaller of the SOA's TTL (600) and MINIMUM (60).
				if ttl := r.Ns[0].Header().Ttl; ttl != 60 {
					t.Errorf("SOA TTL %d, want 60", ttl)
				}
			}
			if n := up.count("udp", tc.name, tc.qtype); n != 1 {
				t.Errorf("upstream asked %d times, want 1", n)
			}
			clock.Advance(61 * time.Second)
			ask(t, s, "udp", tc.name, tc.qtype)
			if n := up.count("udp", tc.name, tc.qtype); n != 2 {
				t.Errorf("upstream asked %d times after the negative TTL, want 2", n)
			}
		})
	}
	// Without an SOA a negative answer is passed on but not cached.
	for range 2 {
		if r := ask(t, s, "udp", "nosoa.test.", mdns.TypeA); r.Rcode != mdns.RcodeNameError {
			t.Fatalf("nosoa: %v", r)
		}
	}
	if n := up.count("udp", "nosoa.test.", mdns.TypeA); n != 2 {
		t.Errorf("negative answer without SOA asked %d times, want 2 (not cached)", n)
	}
}

func TestServeStale(t *testing.T) {
	up := startUpstream(t, "127.0.0.1")
	clock := newClock()
	s := testServer(t, Config{Upstreams: []string{up.addr}, Now: clock.Now, UpstreamTimeout: 400 * time.Millisecond})
	ask(t, s, "udp", "a.test.", mdns.TypeA)
	up.stop()
	clock.Advance(time.Hour)
	r := ask(t, s, "udp", "a.test.", mdns.TypeA)
	if ip, ttl := firstA(t, r); ip != "192.0.2.1" || ttl != staleTTL {
		t.Errorf("stale answer %s ttl %d, want 192.0.2.1 ttl %d", ip, ttl, staleTTL)
	}
	// With every upstream failing, a stale answer comes at once.
	start := time.Now()
	if _, ttl := firstA(t, ask(t, s, "udp", "a.test.", mdns.TypeA)); ttl != staleTTL {
		t.Errorf("second stale answer has TTL %d", ttl)
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("stale answer with every upstream down took %v", d)
	}
	if r := ask(t, s, "udp", "never.test.", mdns.TypeA); r.Rcode != mdns.RcodeServerFailure {
		t.Errorf("uncached name with the upstream down: %v, want SERVFAIL", r)
	}
	st := s.Stats()
	if st.Stale != 2 || st.ServFail != 1 || st.Upstreams[0].Failures == 0 || st.Upstreams[0].Healthy {
		t.Errorf("stats %+v", st)
	}
	// Past the stale window nothing is served.
	clock.Advance(DefaultStaleTTL)
	if r := ask(t, s, "udp", "a.test.", mdns.TypeA); r.Rcode != mdns.RcodeServerFailure {
		t.Errorf("answer past the stale window: %v, want SERVFAIL", r)
	}
}

func TestFailover(t *testing.T) {
	// The first upstream is a socket that never answers.
	dead, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	up := startUpstream(t, "127.0.0.1")
	clock := newClock()
	s := testServer(t, Config{Upstreams: []string{dead.LocalAddr().String(), up.addr}, Now: clock.Now,
		UpstreamTimeout: 500 * time.Millisecond, UpstreamBackoff: 10 * time.Second})

	if ip, _ := firstA(t, ask(t, s, "udp", "one.test.", mdns.TypeA)); ip != "192.0.2.1" {
		t.Fatalf("answer %s", ip)
	}
	st := s.Stats().Upstreams
	if st[0].Failures != 1 || st[0].Healthy || st[1].Answers != 1 {
		t.Fatalf("after failover: %+v", st)
	}
	// Within the back-off the dead upstream is not tried.
	start := time.Now()
	ask(t, s, "udp", "two.test.", mdns.TypeA)
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("second query took %v: the failed upstream was not skipped", d)
	}
	if st := s.Stats().Upstreams; st[0].Queries != 1 {
		t.Errorf("failed upstream asked %d times within its back-off, want 1", st[0].Queries)
	}
	// After it, the first upstream is probed again (and fails again), in
	// the background: clients go on to the healthy one.
	clock.Advance(11 * time.Second)
	waitFor(t, func() bool { return s.Stats().Upstreams[0].Queries == 2 })
	start = time.Now()
	ask(t, s, "udp", "three.test.", mdns.TypeA)
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("query after the back-off took %v: a client waited on the failed upstream", d)
	}
	// An upstream answering SERVFAIL counts as failing too.
	if r := ask(t, s, "udp", "fail.test.", mdns.TypeA); r.Rcode != mdns.RcodeServerFailure {
		t.Errorf("fail.test: %v", r)
	}
}

func TestTruncationRetriesOverTCP(t *testing.T) {
	up := startUpstream(t, "127.0.0.1")
	s := testServer(t, Config{Upstreams: []string{up.addr}})

	// The upstream truncates over UDP; the relay asks again over TCP, and
	// the answer (about 4 kB) does not fit the client's 1232 bytes either.
	r, err := exchange(s.Addr().String(), "udp", nil, "big.test.", mdns.TypeTXT, 1232)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Truncated {
		t.Errorf("a 4 kB answer over UDP was not truncated")
	}
	if n := up.count("udp", "big.test.", mdns.TypeTXT); n != 1 {
		t.Errorf("upstream UDP queries %d, want 1", n)
	}
	if n := up.count("tcp", "big.test.", mdns.TypeTXT); n != 1 {
		t.Errorf("upstream TCP queries %d, want 1 (retry after TC)", n)
	}
	// Without EDNS the limit is 512.
	r, err = exchange(s.Addr().String(), "udp", nil, "big.test.", mdns.TypeTXT, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Truncated || r.Len() > 512 {
		t.Errorf("answer without EDNS: TC %v, %d bytes", r.Truncated, r.Len())
	}
	r = ask(t, s, "tcp", "big.test.", mdns.TypeTXT)
	if r.Truncated || len(r.Answer) != 40 {
		t.Errorf("TCP answer: TC %v, %d records, want 40", r.Truncated, len(r.Answer))
	}
}

func TestCoalescing(t *testing.T) {
	up := startUpstream(t, "127.0.0.1")
	s := testServer(t, Config{Upstreams: []string{up.addr}})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 100 {
		wg.Go(func() {
			r, err := exchange(s.Addr().String(), "udp", nil, "slow.test.", mdns.TypeA, 0)
			if err == nil && (r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 1) {
				err = errors.New(r.String())
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := up.count("udp", "slow.test.", mdns.TypeA); n != 1 {
		t.Errorf("100 concurrent misses made %d upstream queries, want 1", n)
	}
	if st := s.Stats(); st.Coalesced == 0 || st.Coalesced+st.CacheHits != 99 {
		t.Errorf("stats %+v: want 99 coalesced or hits", st)
	}
}

func TestACLRefusal(t *testing.T) {
	up := startUpstream(t, "127.0.0.1")
	t.Run("v4", func(t *testing.T) {
		s := testServer(t, Config{Upstreams: []string{up.addr}})
		local := &net.UDPAddr{IP: net.ParseIP("127.0.0.2")}
		for _, network := range []string{"udp", "tcp"} {
			var l net.Addr = local
			if network == "tcp" {
				l = &net.TCPAddr{IP: local.IP}
			}
			r, err := exchange(s.Addr().String(), network, l, "refused.test.", mdns.TypeA, 0)
			if err != nil {
				t.Fatalf("%s: %v", network, err)
			}
			if r.Rcode != mdns.RcodeRefused || len(r.Answer) != 0 {
				t.Errorf("%s from 127.0.0.2: %v, want REFUSED", network, r)
			}
		}
		if n := up.total.Load(); n != 0 {
			t.Errorf("upstream asked %d times for a refused client", n)
		}
		if st := s.Stats(); st.Refused != 2 {
			t.Errorf("refused %d, want 2", st.Refused)
		}
		// The allowed address is answered.
		ask(t, s, "udp", "allowed.test.", mdns.TypeA)
	})
	t.Run("v6", func(t *testing.T) {
		if _, err := net.ListenPacket("udp", "[::1]:0"); err != nil {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		s := testServer(t, Config{Addrs: []string{"[::1]:0"}, Upstreams: []string{up.addr}})
		before := up.total.Load()
		r, err := exchange(s.Addr().String(), "udp", nil, "refused6.test.", mdns.TypeA, 0)
		if err != nil {
			t.Fatal(err)
		}
		if r.Rcode != mdns.RcodeRefused {
			t.Errorf("from ::1 with only 127.0.0.1/32 allowed: %v, want REFUSED", r)
		}
		if up.total.Load() != before {
			t.Error("upstream asked for a refused v6 client")
		}
		s6 := testServer(t, Config{Addrs: []string{"[::1]:0"}, Upstreams: []string{up.addr},
			AllowFrom: []netip.Prefix{netip.MustParsePrefix("::1/128")}})
		r, err = exchange(s6.Addr().String(), "udp", nil, "allowed6.test.", mdns.TypeA, 0)
		if err != nil || r.Rcode != mdns.RcodeSuccess {
			t.Errorf("from ::1 with ::1/128 allowed: %v %v", r, err)
		}
	})
	t.Run("networks", func(t *testing.T) {
		nets := &fakeNetworks{}
		s := testServer(t, Config{Upstreams: []string{up.addr}, Networks: nets})
		local := &net.UDPAddr{IP: net.ParseIP("127.0.0.2")}
		// Loopback is allowed by default, so 127.0.0.2 is too.
		if r, err := exchange(s.Addr().String(), "udp", local, "lo.test.", mdns.TypeA, 0); err != nil || r.Rcode != mdns.RcodeSuccess {
			t.Fatalf("loopback client with Networks: %v %v", r, err)
		}
		if !s.acl.Load().contains(netip.MustParseAddr("::ffff:127.0.0.9")) {
			t.Error("mapped loopback not allowed")
		}
		if s.acl.Load().contains(netip.MustParseAddr("10.1.2.3")) {
			t.Fatal("10.1.2.3 allowed before its network exists")
		}
		nets.set(netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("2001:db8:100::/40"))
		waitFor(t, func() bool { return s.acl.Load().contains(netip.MustParseAddr("10.1.2.3")) })
		if !s.acl.Load().contains(netip.MustParseAddr("2001:db8:1ff::1")) || s.acl.Load().contains(netip.MustParseAddr("2001:db8:200::1")) {
			t.Error("v6 prefix membership wrong")
		}
	})
}

func TestLocalNames(t *testing.T) {
	up := startUpstream(t, "127.0.0.1")
	names := &fakeNames{}
	names.set(
		Host{Kind: "cm", MAC: "44:32:c8:21:09:e7", Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("2001:db8::4432:c821:9e7")}},
		Host{Kind: "mta", MAC: "4432.c821.09e8", Addrs: []netip.Addr{netip.MustParseAddr("10.0.1.5")}},
		Host{Name: "prov", Addrs: []netip.Addr{netip.MustParseAddr("10.0.9.1")}},
	)
	s := testServer(t, Config{Upstreams: []string{up.addr}, Domain: "Example.NET", Names: names})
	waitFor(t, func() bool { return s.Stats().LocalNames == 3 })

	check := func(name string, qtype uint16, rcode int, want ...string) {
		t.Helper()
		r := ask(t, s, "udp", name, qtype)
		if r.Rcode != rcode || !r.Authoritative {
			t.Errorf("%s %s: rcode %s AA %v, want %s AA", name, mdns.Type(qtype), mdns.RcodeToString[r.Rcode], r.Authoritative, mdns.RcodeToString[rcode])
		}
		var got []string
		for _, rr := range r.Answer {
			got = append(got, strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s %s: %q, want %q", name, mdns.Type(qtype), got, want)
		}
	}
	check("cm-4432c82109e7.cm.example.net.", mdns.TypeA, mdns.RcodeSuccess, "10.0.0.5")
	check("CM-4432C82109E7.cm.example.net.", mdns.TypeAAAA, mdns.RcodeSuccess, "2001:db8::4432:c821:9e7")
	check("mta-4432c82109e8.mta.example.net.", mdns.TypeA, mdns.RcodeSuccess, "10.0.1.5")
	check("prov.example.net.", mdns.TypeA, mdns.RcodeSuccess, "10.0.9.1")
	check("5.0.0.10.in-addr.arpa.", mdns.TypePTR, mdns.RcodeSuccess, "cm-4432c82109e7.cm.example.net.")
	arpa, _ := mdns.ReverseAddr("2001:db8::4432:c821:9e7")
	check(arpa, mdns.TypePTR, mdns.RcodeSuccess, "cm-4432c82109e7.cm.example.net.")
	check("mta-4432c82109e8.mta.example.net.", mdns.TypeAAAA, mdns.RcodeSuccess) // NODATA
	check("cm.example.net.", mdns.TypeA, mdns.RcodeSuccess)                      // empty non-terminal
	check("nobody.cm.example.net.", mdns.TypeA, mdns.RcodeNameError)
	if up.total.Load() != 0 {
		t.Errorf("upstream asked %d times for local names", up.total.Load())
	}

	// An inventory change and a new lease: the CM moves, a CPE appears.
	names.set(
		Host{Kind: "cm", MAC: "4432c82109e7", Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.6")}},
		Host{Kind: "cpe", MAC: "00-11-22-33-44-55", Addrs: []netip.Addr{netip.MustParseAddr("100.64.0.9")}},
	)
	waitFor(t, func() bool { return s.Stats().LocalNames == 2 })
	check("cm-4432c82109e7.cm.example.net.", mdns.TypeA, mdns.RcodeSuccess, "10.0.0.6")
	check("6.0.0.10.in-addr.arpa.", mdns.TypePTR, mdns.RcodeSuccess, "cm-4432c82109e7.cm.example.net.")
	check("cpe-001122334455.cpe.example.net.", mdns.TypeA, mdns.RcodeSuccess, "100.64.0.9")
	check("9.0.64.100.in-addr.arpa.", mdns.TypePTR, mdns.RcodeSuccess, "cpe-001122334455.cpe.example.net.")
	check("mta-4432c82109e8.mta.example.net.", mdns.TypeA, mdns.RcodeNameError)
	// The old reverse name is no longer local, so it goes upstream.
	if r := ask(t, s, "udp", "5.0.0.10.in-addr.arpa.", mdns.TypePTR); r.Authoritative {
		t.Errorf("old reverse name still answered locally: %v", r)
	}
}

func TestHostName(t *testing.T) {
	for _, tc := range []struct {
		h    Host
		want string
		bad  bool
	}{
		{h: Host{Kind: "cm", MAC: "44:32:C8:21:09:E7"}, want: "cm-4432c82109e7.cm.example.net."},
		{h: Host{Kind: "MTA", MAC: "4432-c821-09e7"}, want: "mta-4432c82109e7.mta.example.net."},
		{h: Host{Name: "tftp"}, want: "tftp.example.net."},
		{h: Host{Name: "Other.Example.Net."}, want: "other.example.net."},
		{h: Host{Kind: "cm", MAC: "4432c82109"}, bad: true},
		{h: Host{Kind: "c m", MAC: "4432c82109e7"}, bad: true},
		{h: Host{Kind: "cm", MAC: "4432c82109eg"}, bad: true},
	} {
		got, err := HostName(tc.h, "example.net")
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("HostName(%+v) = %q, %v; want %q, bad %v", tc.h, got, err, tc.want, tc.bad)
		}
	}
}

func TestTCPPipelining(t *testing.T) {
	up := startUpstream(t, "127.0.0.1")
	s := testServer(t, Config{Upstreams: []string{up.addr}})
	ask(t, s, "udp", "cached.test.", mdns.TypeA)
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	// A slow miss first, then a cache hit: the hit must not wait behind it.
	ids := map[uint16]string{}
	var out []byte
	for i, name := range []string{"slow.test.", "cached.test.", "p3.test."} {
		m := new(mdns.Msg)
		m.SetQuestion(name, mdns.TypeA)
		m.Id = uint16(1000 + i)
		ids[m.Id] = name
		b, _ := m.Pack()
		out = binary.BigEndian.AppendUint16(out, uint16(len(b)))
		out = append(out, b...)
	}
	if _, err := c.Write(out); err != nil {
		t.Fatal(err)
	}
	var order []string
	for range 3 {
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatal(err)
		}
		r := new(mdns.Msg)
		if err := r.Unpack(b); err != nil {
			t.Fatal(err)
		}
		if ids[r.Id] != r.Question[0].Name || r.Rcode != mdns.RcodeSuccess {
			t.Errorf("reply %d for %s: %v", r.Id, ids[r.Id], r)
		}
		order = append(order, r.Question[0].Name)
	}
	if order[2] != "slow.test." {
		t.Errorf("replies came as %v: the slow one should come last", order)
	}
}

func TestMalformedAndOddQueries(t *testing.T) {
	up := startUpstream(t, "127.0.0.1")
	s := testServer(t, Config{Upstreams: []string{up.addr}})
	c, err := net.Dial("udp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	send := func(b []byte) *mdns.Msg {
		t.Helper()
		c.SetDeadline(time.Now().Add(300 * time.Millisecond))
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		n, err := c.Read(buf)
		if err != nil {
			return nil
		}
		r := new(mdns.Msg)
		if err := r.Unpack(buf[:n]); err != nil {
			t.Fatalf("reply does not parse: %v", err)
		}
		return r
	}
	// A header claiming a question that is not there: FORMERR.
	if r := send([]byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'a'}); r == nil || r.Rcode != mdns.RcodeFormatError || r.Id != 0x1234 {
		t.Errorf("truncated question: %v", r)
	}
	// Too short, and a response: no answer at all.
	if r := send([]byte{1, 2, 3}); r != nil {
		t.Errorf("3-byte message answered: %v", r)
	}
	resp := new(mdns.Msg)
	resp.SetQuestion("x.test.", mdns.TypeA)
	resp.Response = true
	b, _ := resp.Pack()
	if r := send(b); r != nil {
		t.Errorf("response answered: %v", r)
	}
	query := func(edit func(*mdns.Msg)) *mdns.Msg {
		m := new(mdns.Msg)
		m.SetQuestion("odd.test.", mdns.TypeA)
		edit(m)
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return send(b)
	}
	if r := query(func(m *mdns.Msg) { m.Opcode = mdns.OpcodeUpdate }); r == nil || r.Rcode != mdns.RcodeNotImplemented {
		t.Errorf("UPDATE: %v", r)
	}
	if r := query(func(m *mdns.Msg) { m.Question = append(m.Question, m.Question[0]) }); r == nil || r.Rcode != mdns.RcodeFormatError {
		t.Errorf("two questions: %v", r)
	}
	if r := query(func(m *mdns.Msg) { m.SetEdns0(1232, false); m.IsEdns0().SetVersion(1) }); r == nil || r.Rcode != mdns.RcodeBadVers {
		t.Errorf("EDNS version 1: %v", r)
	}
	if r := query(func(m *mdns.Msg) { m.Question[0].Qtype = mdns.TypeAXFR }); r == nil || r.Rcode != mdns.RcodeNotImplemented {
		t.Errorf("AXFR: %v", r)
	}
	if r := query(func(m *mdns.Msg) { m.Question[0].Qclass = mdns.ClassCHAOS; m.Question[0].Name = "version.bind." }); r == nil || r.Rcode != mdns.RcodeRefused {
		t.Errorf("CHAOS: %v", r)
	}
	if r := query(func(m *mdns.Msg) { m.Question[0].Qtype = mdns.TypeANY }); r == nil || len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != mdns.TypeHINFO {
		t.Errorf("ANY: %v, want one HINFO (RFC 8482)", r)
	}
	if r := query(func(m *mdns.Msg) { m.SetEdns0(4096, false) }); r == nil || r.IsEdns0() == nil || r.IsEdns0().UDPSize() != DefaultMaxUDPSize {
		t.Errorf("EDNS query: %v, want an OPT record with %d", r, DefaultMaxUDPSize)
	}
	// Still serving.
	ask(t, s, "udp", "after.test.", mdns.TypeA)
	if st := s.Stats(); st.Errors != 0 {
		t.Errorf("errors %d", st.Errors)
	}
}

func TestRateLimit(t *testing.T) {
	up := startUpstream(t, "127.0.0.1")
	clock := newClock()
	s := testServer(t, Config{Upstreams: []string{up.addr}, Now: clock.Now, RatePerSecond: 1, Burst: 3})
	ok := 0
	for range 5 {
		if _, err := exchange(s.Addr().String(), "udp", nil, "rl.test.", mdns.TypeA, 0); err == nil {
			ok++
		}
		// The fake clock stands still, so the bucket never refills.
	}
	if ok != 3 {
		t.Errorf("%d of 5 answered with a burst of 3", ok)
	}
	if st := s.Stats(); st.RateLimited != 2 {
		t.Errorf("rate limited %d, want 2", st.RateLimited)
	}
}

func TestCaseRandomisationAndSpoofedAnswers(t *testing.T) {
	// An upstream that first sends answers with the wrong ID and with the
	// wrong letter case of the question, then the right one.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var seen []string
	var mu sync.Mutex
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := new(mdns.Msg)
			if q.Unpack(buf[:n]) != nil {
				continue
			}
			mu.Lock()
			seen = append(seen, q.Question[0].Name)
			mu.Unlock()
			send := func(edit func(*mdns.Msg)) {
				m := new(mdns.Msg)
				m.SetReply(q)
				m.Answer = []mdns.RR{&mdns.A{Hdr: mdns.RR_Header{Name: q.Question[0].Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 66)}}
				edit(m)
				b, _ := m.Pack()
				pc.WriteTo(b, from)
			}
			send(func(m *mdns.Msg) { m.Id++; m.Answer[0].(*mdns.A).A = net.IPv4(6, 6, 6, 6) })
			send(func(m *mdns.Msg) {
				m.Question[0].Name = "another.name.test."
				m.Answer[0].(*mdns.A).A = net.IPv4(6, 6, 6, 7)
			})
			send(func(*mdns.Msg) {})
		}
	}()
	s := testServer(t, Config{Upstreams: []string{pc.LocalAddr().String()}})
	name := "abcdefghijklmnopqrstuvwxyz.abcdefghijklmnopqrstuvwxyz.test."
	r := ask(t, s, "udp", name, mdns.TypeA)
	if ip, _ := firstA(t, r); ip != "192.0.2.66" {
		t.Errorf("answer %s: a forged answer was taken", ip)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] == name || !strings.EqualFold(seen[0], name) {
		t.Errorf("upstream saw %q: want one question with its letter case randomised", seen)
	}
	if st := s.Stats(); st.Mismatched != 2 {
		t.Errorf("mismatched answers %d, want 2", st.Mismatched)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Config{Addrs: []string{"127.0.0.1:0"}}); err == nil {
		t.Error("no upstream accepted")
	}
	if _, err := New(Config{Upstreams: []string{"127.0.0.1"}}); err == nil {
		t.Error("no listen address accepted")
	}
	if _, err := New(Config{Addrs: []string{"127.0.0.1:0"}, Upstreams: []string{"resolver.example"}}); err == nil {
		t.Error("upstream by name accepted")
	}
	if _, err := New(Config{Addrs: []string{"127.0.0.1:0"}, Upstreams: []string{"127.0.0.1"}, MinTTL: 10, MaxTTL: 5}); err == nil {
		t.Error("min TTL above max accepted")
	}
	l, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = New(Config{Addrs: []string{l.LocalAddr().String()}, Upstreams: []string{"127.0.0.1"}})
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("bind to a taken port: %v, want EADDRINUSE through the wrapping", err)
	}
	self, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := self.LocalAddr().(*net.UDPAddr).Port
	self.Close()
	for _, c := range []Config{
		{Addrs: []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}, Upstreams: []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}},
		{Addrs: []string{net.JoinHostPort("", strconv.Itoa(port))}, Upstreams: []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}},
	} {
		if s, err := New(c); err == nil || !strings.Contains(err.Error(), "this relay") {
			t.Errorf("%v: upstream that is the relay itself: %v", c.Addrs, err)
			if s != nil {
				s.closeSockets()
			}
		}
	}
	rc := t.TempDir() + "/resolv.conf"
	os.WriteFile(rc, []byte("search example.net\nnameserver 127.0.0.53\nnameserver ::1\n"), 0o644)
	if ups, err := ResolvConfUpstreams(rc); err != nil || strings.Join(ups, " ") != "127.0.0.53:53 [::1]:53" {
		t.Errorf("resolv.conf upstreams %q, %v", ups, err)
	}
	if _, err := parseUpstream("[::1]:5353"); err != nil {
		t.Error(err)
	}
	if ap, _ := parseUpstream("192.0.2.1"); ap.Port() != 53 {
		t.Errorf("default port %d", ap.Port())
	}
}

func TestCacheBound(t *testing.T) {
	up := startUpstream(t, "127.0.0.1")
	s := testServer(t, Config{Upstreams: []string{up.addr}, MaxEntries: 10})
	for i := range 30 {
		ask(t, s, "udp", "n"+string(rune('a'+i%26))+string(rune('a'+i/26))+".test.", mdns.TypeA)
	}
	if n := s.Stats().CacheEntries; n != 10 {
		t.Errorf("cache holds %d entries, want the bound 10", n)
	}
}

func TestPrefetch(t *testing.T) {
	up := startUpstream(t, "127.0.0.1")
	clock := newClock()
	s := testServer(t, Config{Upstreams: []string{up.addr}, Now: clock.Now})
	ask(t, s, "udp", "pop.test.", mdns.TypeA) // TTL 300
	clock.Advance(280 * time.Second)          // in the last tenth
	for range prefetchHits {
		ask(t, s, "udp", "pop.test.", mdns.TypeA)
	}
	waitFor(t, func() bool {
		e := s.cache.get(cacheKey{"pop.test.", mdns.TypeA, mdns.ClassINET})
		return up.count("udp", "pop.test.", mdns.TypeA) == 2 && e != nil && e.stored.Equal(clock.Now())
	})
	clock.Advance(30 * time.Second) // past the first answer's expiry
	misses := s.Stats().CacheMisses
	if _, ttl := firstA(t, ask(t, s, "udp", "pop.test.", mdns.TypeA)); ttl != 270 {
		t.Errorf("TTL %d after prefetch, want 270", ttl)
	}
	if s.Stats().CacheMisses != misses {
		t.Error("a prefetched name missed")
	}
}

func TestRunStops(t *testing.T) {
	up := startUpstream(t, "127.0.0.1")
	s, err := New(Config{Addrs: []string{"127.0.0.1:0"}, Upstreams: []string{up.addr}, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
	if err := s.Run(context.Background()); err == nil {
		t.Error("second Run accepted")
	}
	// The port is free again.
	l, err := net.ListenPacket("udp", s.Addr().String())
	if err != nil {
		t.Errorf("port not released: %v", err)
	} else {
		l.Close()
	}
}

func TestUpstreamRecovery(t *testing.T) {
	// The first upstream does not answer until it is switched on.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var on atomic.Bool
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := new(mdns.Msg)
			if q.Unpack(buf[:n]) != nil || !on.Load() {
				continue
			}
			m := new(mdns.Msg)
			m.SetReply(q)
			m.Answer = []mdns.RR{&mdns.A{Hdr: mdns.RR_Header{Name: q.Question[0].Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 77)}}
			b, _ := m.Pack()
			pc.WriteTo(b, from)
		}
	}()
	up := startUpstream(t, "127.0.0.1")
	clock := newClock()
	s := testServer(t, Config{Upstreams: []string{pc.LocalAddr().String(), up.addr}, Now: clock.Now,
		UpstreamTimeout: 100 * time.Millisecond, UpstreamBackoff: 5 * time.Second})
	if ip, _ := firstA(t, ask(t, s, "udp", "r1.test.", mdns.TypeA)); ip != "192.0.2.1" {
		t.Fatalf("answer %s, want the second upstream's", ip)
	}
	on.Store(true)
	clock.Advance(6 * time.Second)
	waitFor(t, func() bool { return s.Stats().Upstreams[0].Healthy })
	if ip, _ := firstA(t, ask(t, s, "udp", "r2.test.", mdns.TypeA)); ip != "192.0.2.77" {
		t.Errorf("answer %s after recovery, want the first upstream's 192.0.2.77", ip)
	}
}

func TestMaxOutstanding(t *testing.T) {
	up := startUpstream(t, "127.0.0.1")
	s := testServer(t, Config{Upstreams: []string{up.addr}, MaxOutstanding: 1})
	// slow.test holds the only slot for 200 ms; a different question meanwhile
	// finds the upstream busy and, with no other upstream, gets SERVFAIL
	// rather than queueing without bound.
	done := make(chan *mdns.Msg)
	go func() {
		r, _ := exchange(s.Addr().String(), "udp", nil, "slow.test.", mdns.TypeA, 0)
		done <- r
	}()
	waitFor(t, func() bool { return up.count("udp", "slow.test.", mdns.TypeA) == 1 })
	if r := ask(t, s, "udp", "other.test.", mdns.TypeA); r.Rcode != mdns.RcodeServerFailure {
		t.Errorf("second question with the slot taken: %v, want SERVFAIL", r)
	}
	if r := <-done; r == nil || r.Rcode != mdns.RcodeSuccess {
		t.Errorf("slow question: %v", r)
	}
	if st := s.Stats().Upstreams[0]; !st.Healthy || st.Failures != 0 {
		t.Errorf("a busy upstream was marked failed: %+v", st)
	}
}

func TestQueryLog(t *testing.T) {
	up := startUpstream(t, "127.0.0.1")
	var mu sync.Mutex
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), nil))
	s := testServer(t, Config{Upstreams: []string{up.addr}, Logger: log,
		LogQueriesFrom: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	ask(t, s, "udp", "logged.test.", mdns.TypeA)
	ask(t, s, "udp", "logged.test.", mdns.TypeA)
	s.SetQueryLog(nil)
	ask(t, s, "udp", "unlogged.test.", mdns.TypeA)
	mu.Lock()
	defer mu.Unlock()
	out := buf.String()
	if !strings.Contains(out, "name=logged.test. type=A rcode=NOERROR answer=upstream") ||
		!strings.Contains(out, "answer=cache") || strings.Contains(out, "unlogged") {
		t.Errorf("query log:\n%s", out)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestCacheConcurrentBound(t *testing.T) {
	c := newCache(100)
	now := time.Now()
	p := ttlPolicy{max: DefaultMaxTTL, maxNegative: DefaultMaxNegativeTTL, stale: time.Hour}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				name := "n" + strconv.Itoa(g) + "-" + strconv.Itoa(i) + ".test."
				m := new(mdns.Msg)
				m.Answer = []mdns.RR{&mdns.A{Hdr: mdns.RR_Header{Name: name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 1)}}
				e, ok, err := newEntry(cacheKey{name, mdns.TypeA, mdns.ClassINET}, m, now, p)
				if err != nil || !ok {
					t.Error(err)
					return
				}
				c.put(e, now)
				c.get(e.key)
			}
		})
	}
	wg.Wait()
	n := 0
	for i := range c.shards {
		n += len(c.shards[i].m)
	}
	if n != c.len() || n > 100 {
		t.Errorf("cache holds %d entries (counted %d), bound 100", n, c.len())
	}
}

func TestQueryLocalAddress(t *testing.T) {
	up := startUpstream(t, "127.0.0.1")
	s := testServer(t, Config{Upstreams: []string{up.addr}, QueryLocalAddr4: netip.MustParseAddr("127.0.0.3")})
	ask(t, s, "udp", "src.test.", mdns.TypeA)
	ask(t, s, "tcp", "big.test.", mdns.TypeTXT) // the TCP retry too
	up.mu.Lock()
	defer up.mu.Unlock()
	if len(up.sources) == 0 {
		t.Fatal("upstream saw no query")
	}
	for _, a := range up.sources {
		if a != netip.MustParseAddr("127.0.0.3") {
			t.Errorf("upstream query from %v, want 127.0.0.3", a)
		}
	}
}

// panickyNames fails in the worst way.
type panickyNames struct{}

func (panickyNames) NamesVersion() int64                        { return 1 }
func (panickyNames) LocalHosts(context.Context) ([]Host, error) { panic("adapter bug") }

func TestNamesPanicDoesNotStopTheServer(t *testing.T) {
	up := startUpstream(t, "127.0.0.1")
	s := testServer(t, Config{Upstreams: []string{up.addr}, Domain: "example.net", Names: panickyNames{}})
	time.Sleep(30 * time.Millisecond) // a few refreshes
	if r := ask(t, s, "udp", "a.test.", mdns.TypeA); r.Rcode != mdns.RcodeSuccess {
		t.Errorf("answer %v", r)
	}
	if r := ask(t, s, "udp", "x.example.net.", mdns.TypeA); r.Rcode != mdns.RcodeNameError || !r.Authoritative {
		t.Errorf("local domain with no names loaded: %v, want NXDOMAIN AA", r)
	}
	if s.Stats().Errors == 0 {
		t.Error("panics not counted")
	}
}

func TestStaleWhileUpstreamSlow(t *testing.T) {
	up := startUpstream(t, "127.0.0.1")
	clock := newClock()
	s := testServer(t, Config{Upstreams: []string{up.addr}, Now: clock.Now, UpstreamTimeout: 2 * time.Second,
		StaleAnswerAfter: 50 * time.Millisecond})
	up.delay.Store(0)
	ask(t, s, "udp", "slow.test.", mdns.TypeA)
	up.delay.Store(int64(time.Second))
	clock.Advance(time.Hour)
	start := time.Now()
	if _, ttl := firstA(t, ask(t, s, "udp", "slow.test.", mdns.TypeA)); ttl != staleTTL {
		t.Errorf("TTL %d, want a stale answer", ttl)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("stale answer after %v, want about 50 ms", d)
	}
	// The upstream query went on and refreshed the cache.
	waitFor(t, func() bool {
		e := s.cache.get(cacheKey{"slow.test.", mdns.TypeA, mdns.ClassINET})
		return e != nil && clock.Now().Before(e.expires)
	})
	if _, ttl := firstA(t, ask(t, s, "udp", "slow.test.", mdns.TypeA)); ttl != 300 {
		t.Errorf("TTL %d after the refresh, want 300", ttl)
	}
	if st := s.Stats(); st.Stale != 1 || st.Upstreams[0].Failures != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestDualStackListener(t *testing.T) {
	if _, err := net.ListenPacket("udp", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	up := startUpstream(t, "127.0.0.1")
	s := testServer(t, Config{Addrs: []string{":0"}, Upstreams: []string{up.addr},
		AllowFrom: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}})
	_, port, _ := net.SplitHostPort(s.Addr().String())
	for _, host := range []string{"127.0.0.1", "::1"} {
		for _, network := range []string{"udp", "tcp"} {
			r, err := exchange(net.JoinHostPort(host, port), network, nil, "ds.test.", mdns.TypeA, 0)
			if err != nil || r.Rcode != mdns.RcodeSuccess {
				t.Errorf("%s over %s: %v %v", host, network, r, err)
			}
		}
	}
	// A v4 client of the dual-stack socket is seen as v4, not as ::ffff:…
	r, err := exchange(net.JoinHostPort("127.0.0.1", port), "udp", &net.UDPAddr{IP: net.ParseIP("127.0.0.2")}, "ds.test.", mdns.TypeA, 0)
	if err != nil || r.Rcode != mdns.RcodeRefused {
		t.Errorf("127.0.0.2 on the dual-stack socket: %v %v, want REFUSED", r, err)
	}
}

// TestPortal: a client on the registration portal gets the portal's address
// for every name, over UDP and TCP, and nothing is forwarded for it; other
// clients are answered as usual.
func TestPortal(t *testing.T) {
	up := startUpstream(t, "127.0.0.1")
	portal := netip.MustParseAddr("10.0.0.1")
	captive := netip.MustParseAddr("127.0.0.3")
	s := testServer(t, Config{Upstreams: []string{up.addr}, AllowFrom: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Portal: func(c netip.Addr) (netip.Addr, bool) { return portal, c == captive }})
	for _, network := range []string{"udp", "tcp"} {
		var l net.Addr = &net.UDPAddr{IP: captive.AsSlice()}
		if network == "tcp" {
			l = &net.TCPAddr{IP: captive.AsSlice()}
		}
		r, err := exchange(s.Addr().String(), network, l, "www.Example.com.", mdns.TypeA, 1232)
		if err != nil {
			t.Fatalf("%s: %v", network, err)
		}
		if a, ttl := firstA(t, r); a != "10.0.0.1" || ttl != portalTTL || r.Question[0].Name != "www.Example.com." {
			t.Errorf("%s: portal client got %v", network, r)
		}
		r, err = exchange(s.Addr().String(), network, l, "www.example.com.", mdns.TypeAAAA, 0)
		if err != nil || r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 0 {
			t.Errorf("%s: portal AAAA: %v %v, want an empty answer", network, r, err)
		}
	}
	if n := up.total.Load(); n != 0 {
		t.Errorf("upstream asked %d times for a portal client", n)
	}
	if st := s.Stats(); st.Portal != 4 {
		t.Errorf("portal answers %d, want 4", st.Portal)
	}
	// Everyone else resolves as usual.
	r := ask(t, s, "udp", "allowed.test.", mdns.TypeA)
	if a, _ := firstA(t, r); a == "10.0.0.1" {
		t.Error("a client off the portal got the portal's address")
	}
}
