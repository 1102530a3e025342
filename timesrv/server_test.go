package timesrv

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// testClock is a clock the test sets; it stands still in between.
type testClock struct{ ns atomic.Int64 }

func newClock(t time.Time) *testClock {
	c := new(testClock)
	c.Set(t)
	return c
}

func (c *testClock) Set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *testClock) Now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) Add(d time.Duration) { c.ns.Add(int64(d)) }

// Limits high enough that a test which is not about the rate limit never hits it.
const (
	noLimitRate  = 1e9
	noLimitBurst = 1 << 30
)

// start makes a server from cfg (quiet unless cfg has a logger) and runs it
// until the test ends.
func start(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	run(tb, s)
	return s
}

// run runs s until the test ends and checks that Run then returns nil.
func run(tb testing.TB, s *Server) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Run: %v", err)
		}
	})
}

// loopbacks returns the loopback listen addresses to test on, leaving out
// IPv6 where the machine has none.
func loopbacks(t *testing.T) []string {
	addrs := []string{"127.0.0.1:0"}
	if c, err := net.ListenPacket("udp6", "[::1]:0"); err == nil {
		c.Close()
		addrs = append(addrs, "[::1]:0")
	} else {
		t.Logf("no IPv6 loopback (%v): testing IPv4 only", err)
	}
	return addrs
}

func dialUDP(t testing.TB, laddr string, to net.Addr) *net.UDPConn {
	t.Helper()
	var la *net.UDPAddr
	if laddr != "" {
		la = net.UDPAddrFromAddrPort(netip.MustParseAddrPort(laddr))
	}
	c, err := net.DialUDP("udp", la, to.(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// askUDP sends payload on c and returns the reply, or an error if none comes
// within wait.
func askUDP(c *net.UDPConn, payload []byte, wait time.Duration) ([]byte, error) {
	if _, err := c.Write(payload); err != nil {
		return nil, err
	}
	return readUDP(c, wait)
}

func readUDP(c *net.UDPConn, wait time.Duration) ([]byte, error) {
	buf := make([]byte, 70000)
	c.SetReadDeadline(time.Now().Add(wait))
	n, err := c.Read(buf)
	return buf[:n], err
}

// askTCP connects to addr and returns all the server sent before closing.
func askTCP(addr net.Addr) ([]byte, error) {
	c, err := net.DialTimeout("tcp", addr.String(), 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	return io.ReadAll(c)
}

// eventually waits up to 5 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func TestReplies(t *testing.T) {
	for _, addr := range loopbacks(t) {
		t.Run(addr, func(t *testing.T) {
			clk := newClock(time.Now())
			s := start(t, Config{Addr: addr, Now: clk.Now, RatePerSecond: noLimitRate, Burst: noLimitBurst})
			c := dialUDP(t, "", s.UDPAddr())
			for _, tc := range rfc868Cases() {
				t.Run(tc.name, func(t *testing.T) {
					clk.Set(tc.at)
					got, err := askUDP(c, nil, 2*time.Second)
					if err != nil {
						t.Fatalf("udp: %v", err)
					}
					if !bytes.Equal(got, be32(tc.want)) {
						t.Errorf("udp reply % x, want % x (%d)", got, be32(tc.want), tc.want)
					}
					got, err = askTCP(s.TCPAddr())
					if err != nil {
						t.Fatalf("tcp: %v", err)
					}
					if !bytes.Equal(got, be32(tc.want)) {
						t.Errorf("tcp reply % x, want % x (%d)", got, be32(tc.want), tc.want)
					}
				})
			}
			n := uint64(len(rfc868Cases()))
			want := Stats{UDPRequests: n, TCPRequests: n}
			eventually(t, "stats", func() bool { return s.Stats() == want })
		})
	}
}

// TestDatagramSizes checks that a datagram of any size, empty and the
// largest there is included, gets exactly one 4-byte reply.
func TestDatagramSizes(t *testing.T) {
	at := date(2026, 12, 4, 21, 37, 0)
	for _, addr := range loopbacks(t) {
		t.Run(addr, func(t *testing.T) {
			s := start(t, Config{Addr: addr, Now: newClock(at).Now, RatePerSecond: noLimitRate, Burst: noLimitBurst})
			c := dialUDP(t, "", s.UDPAddr())
			for _, size := range []int{0, 1, 3, 4, 5, 48, 512, 1400, udpReadSize, udpReadSize + 1, 9000, 65507} {
				payload := bytes.Repeat([]byte{0xa5}, size)
				got, err := askUDP(c, payload, 2*time.Second)
				if err != nil {
					t.Fatalf("%d bytes: %v", size, err)
				}
				if !bytes.Equal(got, be32(4005409020)) {
					t.Errorf("%d bytes: reply % x, want % x", size, got, be32(4005409020))
				}
				// One reply only.
				if extra, err := readUDP(c, 20*time.Millisecond); err == nil {
					t.Errorf("%d bytes: a second reply % x", size, extra)
				}
			}
		})
	}
}

// TestDualStack checks that a listen address without a host answers IPv4
// and IPv6 clients on the one port.
func TestDualStack(t *testing.T) {
	if len(loopbacks(t)) < 2 {
		t.Skip("no IPv6 loopback")
	}
	clk := newClock(date(2026, 12, 4, 21, 37, 0))
	s := start(t, Config{Addr: ":0", Now: clk.Now})
	port := s.UDPAddr().(*net.UDPAddr).Port
	tport := s.TCPAddr().(*net.TCPAddr).Port
	for _, host := range []string{"127.0.0.1", "::1"} {
		to := net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(host), uint16(port)))
		got, err := askUDP(dialUDP(t, "", to), nil, 2*time.Second)
		if err != nil || !bytes.Equal(got, be32(4005409020)) {
			t.Errorf("udp via %s: % x, %v", host, got, err)
		}
		got, err = askTCP(net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(host), uint16(tport))))
		if err != nil || !bytes.Equal(got, be32(4005409020)) {
			t.Errorf("tcp via %s: % x, %v", host, got, err)
		}
	}
}

func TestRateLimit(t *testing.T) {
	clk := newClock(date(2026, 12, 4, 21, 37, 0)) // stands still: no refill until the test moves it
	s := start(t, Config{Addr: "127.0.0.1:0", Now: clk.Now, RatePerSecond: 1, Burst: 3})
	a := dialUDP(t, "", s.UDPAddr())
	for range 10 {
		if _, err := a.Write([]byte("time?")); err != nil {
			t.Fatal(err)
		}
	}
	// Wait for 7 drops, then for the 3 replies that went out, then make sure
	// there is no fourth.
	eventually(t, "7 requests rate limited", func() bool { return s.Stats().RateLimited == 7 })
	for i := range 3 {
		if got, err := readUDP(a, 2*time.Second); err != nil || len(got) != 4 {
			t.Fatalf("reply %d of the burst: % x, %v", i+1, got, err)
		}
	}
	if got, err := readUDP(a, 100*time.Millisecond); err == nil {
		t.Errorf("10 requests at once with burst 3: a fourth reply % x", got)
	}
	if st := s.Stats(); st.UDPRequests != 10 || st.RateLimited != 7 {
		t.Errorf("stats %+v, want 10 UDP requests, 7 rate limited", st)
	}

	// Another source is still served.
	b, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)}, s.UDPAddr().(*net.UDPAddr))
	if err != nil {
		t.Logf("no 127.0.0.2 (%v): not checking that another source is still served", err)
	} else {
		defer b.Close()
		if got, err := askUDP(b, nil, 2*time.Second); err != nil || len(got) != 4 {
			t.Errorf("other source while the first is limited: % x, %v", got, err)
		}
	}

	// TCP from the limited source shares its bucket: closed without a reply.
	if got, err := askTCP(s.TCPAddr()); err != nil || len(got) != 0 {
		t.Errorf("tcp from a limited source: % x, %v; want closed without data", got, err)
	}
	if got := s.Stats().RateLimited; got != 8 {
		t.Errorf("RateLimited = %d, want 8", got)
	}

	// A second later the bucket has one token again.
	clk.Add(time.Second)
	if got, err := askUDP(a, nil, 2*time.Second); err != nil || len(got) != 4 {
		t.Errorf("after a second: % x, %v", got, err)
	}
	if got, err := askUDP(a, nil, 100*time.Millisecond); err == nil {
		t.Errorf("second request after a second answered: % x", got)
	}
}

// TestGarbage sends random datagrams of random sizes; each gets its 4 bytes
// and nothing counts as an error.
func TestGarbage(t *testing.T) {
	at := date(2036, 2, 7, 6, 28, 16)
	rng := rand.New(rand.NewChaCha8([32]byte{'i', 'p', '6', 'm'}))
	for _, addr := range loopbacks(t) {
		t.Run(addr, func(t *testing.T) {
			s := start(t, Config{Addr: addr, Now: newClock(at).Now, RatePerSecond: noLimitRate, Burst: noLimitBurst})
			c := dialUDP(t, "", s.UDPAddr())
			const n = 300
			for i := range n {
				size := rng.IntN(64)
				switch i % 10 {
				case 0:
					size = rng.IntN(65508)
				case 1:
					size = 1200 + rng.IntN(400)
				}
				payload := make([]byte, size)
				for j := range payload {
					payload[j] = byte(rng.Uint32())
				}
				got, err := askUDP(c, payload, 2*time.Second)
				if err != nil || !bytes.Equal(got, be32(0)) {
					t.Fatalf("datagram %d (%d bytes): % x, %v", i, size, got, err)
				}
			}
			if st := s.Stats(); st.UDPRequests != n || st.Errors != 0 {
				t.Errorf("stats %+v, want %d requests and no errors", st, n)
			}
		})
	}
}

// TestPanicRecovered makes the clock panic: the request goes unanswered, the
// panic is counted, and the server keeps serving.
func TestPanicRecovered(t *testing.T) {
	var broken atomic.Bool
	now := func() time.Time {
		if broken.Load() {
			panic("clock broke")
		}
		return date(2026, 12, 4, 21, 37, 0)
	}
	s := start(t, Config{Addr: "127.0.0.1:0", Now: now})
	c := dialUDP(t, "", s.UDPAddr())

	broken.Store(true)
	if got, err := askUDP(c, nil, 200*time.Millisecond); err == nil {
		t.Errorf("udp answered with a broken clock: % x", got)
	}
	if got, err := askTCP(s.TCPAddr()); len(got) != 0 {
		t.Errorf("tcp answered with a broken clock: % x, %v", got, err)
	}
	eventually(t, "2 errors", func() bool { return s.Stats().Errors == 2 })

	broken.Store(false)
	if got, err := askUDP(c, nil, 2*time.Second); err != nil || len(got) != 4 {
		t.Errorf("udp after the panic: % x, %v", got, err)
	}
	if got, err := askTCP(s.TCPAddr()); err != nil || len(got) != 4 {
		t.Errorf("tcp after the panic: % x, %v", got, err)
	}
}

// TestLoopPorts checks that datagrams from the ports of answer-anything
// services go unanswered. Binding those ports needs privileges; the ports
// that cannot be bound are skipped.
func TestLoopPorts(t *testing.T) {
	s := start(t, Config{Addr: "127.0.0.1:0"})
	tried := 0
	for _, port := range []int{7, 13, 17, 19, 37} {
		c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}, s.UDPAddr().(*net.UDPAddr))
		if err != nil {
			t.Logf("port %d: %v", port, err)
			continue
		}
		tried++
		got, err := askUDP(c, nil, 100*time.Millisecond)
		c.Close()
		if err == nil {
			t.Errorf("datagram from port %d answered: % x", port, got)
		}
	}
	if tried == 0 {
		t.Skip("cannot bind any of the low ports (not root?)")
	}
	eventually(t, "LoopPorts to count every datagram", func() bool { return s.Stats().LoopPorts == uint64(tried) })
	if st := s.Stats(); st.UDPRequests != uint64(tried) || st.RateLimited != 0 || st.Errors != 0 {
		t.Errorf("stats %+v, want %d UDP requests, all of them LoopPorts", st, tried)
	}
}

// TestTCPCap holds connections open in a slow clock until the cap is reached:
// the next connection is closed unanswered and counted.
func TestTCPCap(t *testing.T) {
	entered := make(chan struct{}, 10)
	release := make(chan struct{})
	now := func() time.Time {
		entered <- struct{}{}
		<-release
		return date(2026, 12, 4, 21, 37, 0)
	}
	s, err := New(Config{Addr: "127.0.0.1:0", Now: now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	s.maxConns = 2
	run(t, s)
	unblock := sync.OnceFunc(func() { close(release) })
	t.Cleanup(unblock) // runs before the server stops

	type result struct {
		got []byte
		err error
	}
	results := make(chan result, 2)
	for range 2 {
		go func() {
			got, err := askTCP(s.TCPAddr())
			results <- result{got, err}
		}()
		<-entered
	}
	got, err := askTCP(s.TCPAddr())
	if err != nil || len(got) != 0 {
		t.Errorf("connection over the cap: % x, %v; want closed without data", got, err)
	}
	if st := s.Stats(); st.TCPBusy != 1 || st.TCPRequests != 2 {
		t.Errorf("stats %+v, want 2 requests and 1 busy", st)
	}
	unblock()
	for range 2 {
		if r := <-results; r.err != nil || !bytes.Equal(r.got, be32(4005409020)) {
			t.Errorf("held connection: % x, %v", r.got, r.err)
		}
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no address", Config{}, "listen address is empty"},
		{"no port", Config{Addr: "127.0.0.1"}, "missing port"},
		{"bad port", Config{Addr: "127.0.0.1:70000"}, "invalid port"},
		{"negative rate", Config{Addr: "127.0.0.1:0", RatePerSecond: -1}, "rate -1 per second"},
		{"NaN rate", Config{Addr: "127.0.0.1:0", RatePerSecond: math.NaN()}, "rate NaN per second"},
		{"infinite rate", Config{Addr: "127.0.0.1:0", RatePerSecond: math.Inf(1)}, "rate +Inf per second"},
		{"negative burst", Config{Addr: "127.0.0.1:0", Burst: -2}, "burst -2 is negative"},
		{"not an address of this host", Config{Addr: "192.0.2.1:0"}, "cannot assign requested address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.cfg)
			if err == nil {
				run(t, s)
				t.Fatalf("New(%+v) succeeded", tc.cfg)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "time server: ") {
				t.Errorf("New(%+v) = %q, want it to start with \"time server: \" and contain %q", tc.cfg, err, tc.want)
			}
		})
	}
}

// TestNewAddressInUse checks that a bind error keeps its errno, for either
// socket, and that a failed New leaves nothing bound.
func TestNewAddressInUse(t *testing.T) {
	t.Run("udp", func(t *testing.T) {
		taken, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer taken.Close()
		_, err = New(Config{Addr: taken.LocalAddr().String()})
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("New on a taken UDP port: %v, want EADDRINUSE", err)
		}
	})
	t.Run("tcp", func(t *testing.T) {
		taken, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer taken.Close()
		addr := taken.Addr().String()
		_, err = New(Config{Addr: addr})
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("New on a taken TCP port: %v, want EADDRINUSE", err)
		}
		// The UDP socket New bound first was released.
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			t.Fatalf("UDP port still bound after the failed New: %v", err)
		}
		c.Close()
	})
}

// TestRun checks that Run returns nil once its context is done, having
// released both ports, and that a Server runs only once.
func TestRun(t *testing.T) {
	s, err := New(Config{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	if got, err := askTCP(s.TCPAddr()); err != nil || len(got) != 4 {
		t.Fatalf("tcp: % x, %v", got, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	u, err := net.ListenPacket("udp", s.UDPAddr().String())
	if err != nil {
		t.Errorf("UDP port not released: %v", err)
	} else {
		u.Close()
	}
	l, err := net.Listen("tcp", s.TCPAddr().String())
	if err != nil {
		t.Errorf("TCP port not released: %v", err)
	} else {
		l.Close()
	}
	if err := s.Run(context.Background()); err == nil {
		t.Error("second Run returned nil")
	}
}

// lockedBuffer is an io.Writer for a log handler shared by goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func TestLogs(t *testing.T) {
	var out lockedBuffer
	log := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(Config{Addr: "127.0.0.1:0", Logger: log, Now: newClock(date(2026, 12, 4, 21, 37, 0)).Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	if got, err := askUDP(dialUDP(t, "", s.UDPAddr()), []byte("x"), 2*time.Second); err != nil || len(got) != 4 {
		t.Fatalf("udp: % x, %v", got, err)
	}
	if got, err := askTCP(s.TCPAddr()); err != nil || len(got) != 4 {
		t.Fatalf("tcp: % x, %v", got, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	type record struct {
		Level     string
		Msg       string
		Component string
		Proto     string
		RFC868    uint32
	}
	var got []record
	for line := range strings.Lines(out.String()) {
		var r record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if r.Component != "time" {
			t.Errorf("log line without component=time: %s", line)
		}
		got = append(got, record{Level: r.Level, Msg: r.Msg, Component: r.Component, Proto: r.Proto, RFC868: r.RFC868})
	}
	want := []record{
		{"INFO", "time server listening", "time", "", 0},
		{"DEBUG", "time request", "time", "udp", 4005409020},
		{"DEBUG", "time request", "time", "tcp", 4005409020},
		{"INFO", "time server stopped", "time", "", 0},
	}
	// The two requests' records can come in either order: each is logged
	// after its reply went out.
	if len(got) == len(want) {
		slices.SortFunc(got[1:3], func(a, b record) int { return strings.Compare(b.Proto, a.Proto) })
	}
	if !slices.Equal(got, want) {
		t.Errorf("log records:\n%+v\nwant\n%+v\nfull log:\n%s", got, want, out.String())
	}
}

// TestQuery reads the time with the package's own client.
func TestQuery(t *testing.T) {
	at := date(2036, 2, 7, 6, 28, 17)
	for _, addr := range loopbacks(t) {
		t.Run(addr, func(t *testing.T) {
			s := start(t, Config{Addr: addr, Now: newClock(at).Now})
			for _, q := range []struct{ network, addr string }{
				{"udp", s.UDPAddr().String()},
				{"tcp", s.TCPAddr().String()},
			} {
				v, err := Query(context.Background(), q.network, q.addr)
				if err != nil {
					t.Fatalf("Query(%s, %s): %v", q.network, q.addr, err)
				}
				// A client whose clock is a year off still reads the right instant.
				if got := Time(v, at.AddDate(-1, 0, 0)); !got.Equal(at) || v != 1 {
					t.Errorf("Query(%s, %s) = %d = %v, want 1 = %v", q.network, q.addr, v, got, at)
				}
			}
		})
	}
}

func TestQueryErrors(t *testing.T) {
	t.Run("udp no reply", func(t *testing.T) {
		silent, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer silent.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if _, err := Query(ctx, "udp", silent.LocalAddr().String()); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Query to a silent server: %v, want DeadlineExceeded", err)
		}
	})
	t.Run("tcp short reply", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err == nil {
				c.Write([]byte{1, 2})
				c.Close()
			}
		}()
		if _, err := Query(context.Background(), "tcp", ln.Addr().String()); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("Query to a server sending 2 bytes: %v, want ErrUnexpectedEOF", err)
		}
	})
	t.Run("udp long reply", func(t *testing.T) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		go func() {
			buf := make([]byte, 64)
			if _, from, err := pc.ReadFrom(buf); err == nil {
				pc.WriteTo([]byte{1, 2, 3, 4, 5, 6, 7, 8}, from)
			}
		}()
		if _, err := Query(context.Background(), "udp", pc.LocalAddr().String()); err == nil || !strings.Contains(err.Error(), "8 bytes") {
			t.Errorf("Query to a server sending 8 bytes: %v", err)
		}
	})
}

// FuzzUDP sends whatever the fuzzer makes up to a running server: every
// datagram gets exactly the 4 bytes of the (fixed) time.
func FuzzUDP(f *testing.F) {
	for _, seed := range [][]byte{nil, {0}, {0, 0, 0, 0}, []byte("time?\n"), bytes.Repeat([]byte{0xff}, 1400)} {
		f.Add(seed)
	}
	s := start(f, Config{Addr: "127.0.0.1:0", Now: newClock(date(2036, 2, 7, 6, 28, 15)).Now,
		RatePerSecond: noLimitRate, Burst: noLimitBurst})
	c := dialUDP(f, "", s.UDPAddr())
	f.Fuzz(func(t *testing.T, payload []byte) {
		if len(payload) > 65507 {
			t.Skip("larger than a UDP datagram can be")
		}
		got, err := askUDP(c, payload, 2*time.Second)
		if err != nil || !bytes.Equal(got, be32(4294967295)) {
			t.Fatalf("%d bytes: % x, %v", len(payload), got, err)
		}
	})
}

// BenchmarkUDP measures round trips over loopback: 4 client sockets per
// CPU, each waiting for its reply before sending the next request. Client
// and server share the machine, so this is a floor for the server alone.
func BenchmarkUDP(b *testing.B) {
	s := start(b, Config{Addr: "127.0.0.1:0", RatePerSecond: noLimitRate, Burst: noLimitBurst})
	var lost atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.DialUDP("udp", nil, s.UDPAddr().(*net.UDPAddr))
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		buf := make([]byte, 64)
		for pb.Next() {
			for {
				if _, err := c.Write(nil); err != nil {
					b.Error(err)
					return
				}
				c.SetReadDeadline(time.Now().Add(time.Second))
				if n, err := c.Read(buf); err == nil && n == 4 {
					break
				}
				lost.Add(1)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	if n := lost.Load(); n > 0 {
		b.Logf("%d requests lost and sent again", n)
	}
}

// TestMain keeps slog.Default quiet for servers made without a logger.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}
