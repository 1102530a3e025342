package dns

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// upstreamServer is an in-test resolver on loopback: a miekg/dns server on
// UDP and TCP answering from a small fixed zone, counting what it is asked.
type upstreamServer struct {
	t    testing.TB
	addr string
	udp  *mdns.Server
	tcp  *mdns.Server

	delay atomic.Int64 // nanoseconds to wait before answering slow.test

	mu      sync.Mutex
	counts  map[string]int // "udp slow.test. A" → queries
	names   []string       // question names as received (letter case kept)
	sources []netip.Addr   // where the queries came from
	total   atomic.Int64
}

func startUpstream(t testing.TB, host string) *upstreamServer {
	t.Helper()
	u := &upstreamServer{t: t, counts: map[string]int{}}
	u.delay.Store(int64(200 * time.Millisecond))
	var pc net.PacketConn
	var ln net.Listener
	for try := 0; ; try++ {
		var err error
		pc, err = net.ListenPacket("udp", net.JoinHostPort(host, "0"))
		if err != nil {
			t.Skipf("cannot listen on %s: %v", host, err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
		if try > 5 {
			t.Fatal(err)
		}
	}
	u.addr = pc.LocalAddr().String()
	h := mdns.HandlerFunc(u.serve)
	started := make(chan struct{}, 2)
	u.udp = &mdns.Server{PacketConn: pc, Handler: h, NotifyStartedFunc: func() { started <- struct{}{} }}
	u.tcp = &mdns.Server{Listener: ln, Handler: h, NotifyStartedFunc: func() { started <- struct{}{} }}
	go u.udp.ActivateAndServe()
	go u.tcp.ActivateAndServe()
	<-started
	<-started
	t.Cleanup(u.stop)
	return u
}

func (u *upstreamServer) stop() {
	u.udp.Shutdown()
	u.tcp.Shutdown()
}

func (u *upstreamServer) count(proto, name string, qtype uint16) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.counts[proto+" "+name+" "+mdns.Type(qtype).String()]
}

func (u *upstreamServer) serve(w mdns.ResponseWriter, r *mdns.Msg) {
	if len(r.Question) != 1 {
		return
	}
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	proto := "udp"
	if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
		proto = "tcp"
	}
	u.mu.Lock()
	u.counts[proto+" "+name+" "+mdns.Type(q.Qtype).String()]++
	u.names = append(u.names, q.Name)
	if ap, err := netip.ParseAddrPort(w.RemoteAddr().String()); err == nil {
		u.sources = append(u.sources, ap.Addr())
	}
	u.mu.Unlock()
	u.total.Add(1)

	m := new(mdns.Msg)
	m.SetReply(r)
	m.RecursionAvailable = true
	soa := &mdns.SOA{Hdr: mdns.RR_Header{Name: "test.", Rrtype: mdns.TypeSOA, Class: mdns.ClassINET, Ttl: 600},
		Ns: "ns.test.", Mbox: "hostmaster.test.", Serial: 1, Refresh: 1, Retry: 1, Expire: 1, Minttl: 60}
	a := func(ip string, ttl uint32) mdns.RR {
		return &mdns.A{Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: ttl}, A: net.ParseIP(ip)}
	}
	switch {
	case name == "nx.test.":
		m.Rcode = mdns.RcodeNameError
		m.Ns = []mdns.RR{soa}
	case name == "nosoa.test.":
		m.Rcode = mdns.RcodeNameError
	case name == "fail.test.":
		m.Rcode = mdns.RcodeServerFailure
	case name == "short.test." && q.Qtype == mdns.TypeA:
		m.Answer = []mdns.RR{a("192.0.2.5", 5)}
	case name == "slow.test." && q.Qtype == mdns.TypeA:
		time.Sleep(time.Duration(u.delay.Load()))
		m.Answer = []mdns.RR{a("192.0.2.7", 300)}
	case name == "big.test." && q.Qtype == mdns.TypeTXT:
		for i := range 40 {
			m.Answer = append(m.Answer, &mdns.TXT{Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeTXT, Class: mdns.ClassINET, Ttl: 300},
				Txt: []string{strings.Repeat(string(rune('a'+i%26)), 100)}})
		}
		if proto == "udp" {
			m.Answer = nil
			m.Truncated = true
		}
	case q.Qtype == mdns.TypeA:
		m.Answer = []mdns.RR{a("192.0.2.1", 300)}
	default:
		m.Ns = []mdns.RR{soa} // NODATA
	}
	w.WriteMsg(m)
}

// testServer starts a Server on 127.0.0.1 (or host) with cfg filled in for
// tests and stops it when the test ends.
func testServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.Addrs == nil {
		cfg.Addrs = []string{"127.0.0.1:0"}
	}
	if cfg.AllowFrom == nil && cfg.Networks == nil {
		cfg.AllowFrom = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	}
	if cfg.UpstreamTimeout == 0 {
		cfg.UpstreamTimeout = 300 * time.Millisecond
	}
	if cfg.RefreshInterval == 0 {
		cfg.RefreshInterval = 10 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = discard()
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
		}
	})
	// Wait until Run has loaded what it loads first.
	waitFor(t, func() bool { return s.running.Load() })
	time.Sleep(5 * time.Millisecond)
	return s
}

func waitFor(t testing.TB, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ask sends one question over net ("udp" or "tcp") from the system's
// choice of source address and returns the answer.
func ask(t testing.TB, s *Server, network, name string, qtype uint16) *mdns.Msg {
	t.Helper()
	r, err := exchange(s.Addr().String(), network, nil, name, qtype, 0)
	if err != nil {
		t.Fatalf("%s %s: %v", name, mdns.Type(qtype), err)
	}
	return r
}

func exchange(addr, network string, local net.Addr, name string, qtype uint16, edns uint16) (*mdns.Msg, error) {
	c := &mdns.Client{Net: network, Timeout: 3 * time.Second}
	if local != nil {
		c.Dialer = &net.Dialer{LocalAddr: local, Timeout: 3 * time.Second}
	}
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	if edns > 0 {
		m.SetEdns0(edns, false)
	}
	r, _, err := c.Exchange(m, addr)
	return r, err
}

// fakeNames is a Names the tests edit.
type fakeNames struct {
	mu      sync.Mutex
	version int64
	hosts   []Host
}

func (f *fakeNames) NamesVersion() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.version
}

func (f *fakeNames) LocalHosts(context.Context) ([]Host, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Host(nil), f.hosts...), nil
}

func (f *fakeNames) set(hosts ...Host) {
	f.mu.Lock()
	f.hosts = hosts
	f.version++
	f.mu.Unlock()
}

// fakeNetworks is a Networks the tests edit.
type fakeNetworks struct {
	mu       sync.Mutex
	version  int64
	prefixes []netip.Prefix
}

func (f *fakeNetworks) NetworksVersion() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.version
}

func (f *fakeNetworks) ClientPrefixes(context.Context) ([]netip.Prefix, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]netip.Prefix(nil), f.prefixes...), nil
}

func (f *fakeNetworks) set(ps ...netip.Prefix) {
	f.mu.Lock()
	f.prefixes = ps
	f.version++
	f.mu.Unlock()
}

func firstA(t testing.TB, r *mdns.Msg) (string, uint32) {
	t.Helper()
	for _, rr := range r.Answer {
		if a, ok := rr.(*mdns.A); ok {
			return a.A.String(), a.Hdr.Ttl
		}
	}
	t.Fatalf("no A record in %v", r)
	return "", 0
}
