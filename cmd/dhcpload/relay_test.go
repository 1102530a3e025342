package main

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"
)

// testModems returns n modem MACs under the OUI 00:00:ca.
func testModems(t testing.TB, n int) []MAC {
	t.Helper()
	m, err := randomMACs(n, [3]byte{0, 0, 0xca}, 7)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// relayConn binds the relay's socket on 127.0.0.1, a free high port: the
// address the fake server sends its replies to.
func relayConn(t *testing.T) (*net.UDPConn, int) {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return conn, conn.LocalAddr().(*net.UDPAddr).Port
}

// runAgainst runs the relay against a fake server that setup configures.
func runAgainst(t *testing.T, modems []MAC, cfg Config, setup func(*fakeServer)) (Result, *fakeServer) {
	t.Helper()
	conn, port := relayConn(t)
	f := newFakeServer(t, modems, port)
	if setup != nil {
		setup(f)
	}
	f.start()
	cfg.Server = f.addr()
	cfg.Giaddr = netip.MustParseAddr("127.0.0.1")
	cfg.RelayPort = uint16(port)
	cfg.Conn = conn
	cfg.Modems = modems
	if cfg.Duration == 0 {
		cfg.Duration = 20 * time.Second
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Second
	}
	r, err := NewRelay(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.check(t)
	return res, f
}

func TestRelayCompletesExchanges(t *testing.T) {
	tests := []struct {
		name     string
		modems   int
		count    int
		window   int
		mta, cpe int
		kinds    []string // vendor classes the server must have seen
	}{
		{name: "cable modems", modems: 50, count: 300, window: 32, kinds: []string{"docsis3.0"}},
		{name: "one at a time", modems: 5, count: 20, window: 1, kinds: []string{"docsis3.0"}},
		{name: "modems, MTAs and CPEs", modems: 40, count: 400, window: 64, mta: 30, cpe: 30, kinds: []string{"docsis3.0", "pktc1.5", ""}},
		{name: "CPEs only", modems: 10, count: 30, window: 8, cpe: 100, kinds: []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, f := runAgainst(t, testModems(t, tt.modems), Config{
				Count: tt.count, Window: tt.window, Retries: 2, MTAPercent: tt.mta, CPEPercent: tt.cpe, Seed: 3,
			}, nil)
			if res.Started != tt.count || res.Completed != tt.count {
				t.Errorf("started %d, completed %d, want %d each", res.Started, res.Completed, tt.count)
			}
			if res.Sent != int64(2*tt.count) || res.Discovers != tt.count || res.Requests != tt.count {
				t.Errorf("sent %d (%d DISCOVER, %d REQUEST), want %d", res.Sent, res.Discovers, res.Requests, 2*tt.count)
			}
			if res.Received != 2*tt.count || res.Offers != tt.count || res.ACKs != tt.count {
				t.Errorf("received %d (%d OFFER, %d ACK), want %d", res.Received, res.Offers, res.ACKs, 2*tt.count)
			}
			bad := res.NAKs + res.Timeouts + res.Unfinished + res.Drops + res.Retransmits + res.Late + res.Unexpected + res.Malformed + res.BadOption82
			if bad != 0 || res.SendErrors != 0 {
				t.Errorf("unexpected trouble: %+v", res.Counters)
			}
			sum := 0
			for _, n := range res.CompletedBy {
				sum += n
			}
			if sum != tt.count {
				t.Errorf("completed by kind %v, sum %d, want %d", res.CompletedBy, sum, tt.count)
			}
			if tt.mta > 0 && (res.CompletedBy["mta"] == 0 || res.CompletedBy["cpe"] == 0 || res.CompletedBy["cm"] == 0) {
				t.Errorf("mix %d%% MTA %d%% CPE gave %v", tt.mta, tt.cpe, res.CompletedBy)
			}
			f.mu.Lock()
			if f.received != 2*tt.count {
				t.Errorf("server received %d packets, want %d", f.received, 2*tt.count)
			}
			for _, k := range tt.kinds {
				if !f.seenKinds[k] {
					t.Errorf("server saw vendor classes %v, not %q", f.seenKinds, k)
				}
			}
			if len(f.seenKinds) != len(tt.kinds) {
				t.Errorf("server saw vendor classes %v, want only %v", f.seenKinds, tt.kinds)
			}
			f.mu.Unlock()
			if res.Latency.P50 <= 0 || res.Latency.P50 > res.Latency.P90 || res.Latency.P90 > res.Latency.P99 || res.Latency.P99 > res.Latency.Max {
				t.Errorf("latency percentiles out of order: %+v", res.Latency)
			}
			if res.ExchangesPerSec <= 0 {
				t.Errorf("rate %v", res.ExchangesPerSec)
			}
		})
	}
}

func TestRelayCountsTrouble(t *testing.T) {
	const modems, count = 10, 60
	pop := testModems(t, modems)
	tests := []struct {
		name  string
		cfg   Config
		setup func(*fakeServer)
		check func(t *testing.T, res Result, f *fakeServer)
	}{
		{
			name:  "NAK",
			cfg:   Config{Count: count, Window: 16},
			setup: func(f *fakeServer) { f.nak = func(m MAC) bool { return m == pop[3] } },
			check: func(t *testing.T, res Result, f *fakeServer) {
				// modem i does exchanges i, i+10, …: pop[3] six times.
				if res.NAKs != count/modems || res.Completed != count-count/modems {
					t.Errorf("%d NAK, %d completed; want %d and %d", res.NAKs, res.Completed, count/modems, count-count/modems)
				}
				if res.Drops+res.Timeouts+res.Unexpected != 0 {
					t.Errorf("unexpected trouble: %+v", res.Counters)
				}
			},
		},
		{
			name:  "every 7th request dropped",
			cfg:   Config{Count: count, Window: 8, Timeout: 400 * time.Millisecond, Retries: 3},
			setup: func(f *fakeServer) { f.dropEvery = 7 },
			check: func(t *testing.T, res Result, f *fakeServer) {
				f.mu.Lock()
				dropped := f.dropped
				f.mu.Unlock()
				if dropped == 0 {
					t.Fatal("the fake dropped nothing")
				}
				if res.Completed != count || res.Timeouts != 0 {
					t.Errorf("completed %d, timed out %d; want %d and 0", res.Completed, res.Timeouts, count)
				}
				// Every packet the server dropped is a drop and a
				// retransmission; on a loaded machine a reply slower than
				// the timeout adds one more drop and one late reply.
				if d := res.Drops - dropped; d < 0 || d > res.Late || res.Retransmits != res.Drops {
					t.Errorf("drops %d, retransmits %d, late %d; the server dropped %d", res.Drops, res.Retransmits, res.Late, dropped)
				}
				if res.Sent != int64(2*count+res.Retransmits) {
					t.Errorf("sent %d, want %d", res.Sent, 2*count+res.Retransmits)
				}
				if res.DropPercent <= 0 {
					t.Errorf("drop percent %v", res.DropPercent)
				}
			},
		},
		{
			name:  "no reply at all",
			cfg:   Config{Count: 5, Window: 5, Timeout: 50 * time.Millisecond, Retries: 2},
			setup: func(f *fakeServer) { f.silent = true },
			check: func(t *testing.T, res Result, f *fakeServer) {
				if res.Timeouts != 5 || res.Completed != 0 || res.Drops != 15 || res.Retransmits != 10 || res.Sent != 15 {
					t.Errorf("want 5 timeouts, 15 drops, 10 retransmits, 15 sent: %+v", res.Counters)
				}
			},
		},
		{
			name:  "option 82 not echoed",
			cfg:   Config{Count: 20, Window: 4},
			setup: func(f *fakeServer) { f.noEcho = true },
			check: func(t *testing.T, res Result, f *fakeServer) {
				if res.BadOption82 != 40 || res.Completed != 20 {
					t.Errorf("bad option 82 %d, completed %d; want 40 and 20", res.BadOption82, res.Completed)
				}
			},
		},
		{
			name:  "replies with a foreign xid",
			cfg:   Config{Count: 20, Window: 4},
			setup: func(f *fakeServer) { f.bogusEvery = 5 },
			check: func(t *testing.T, res Result, f *fakeServer) {
				f.mu.Lock()
				bogus := f.bogus
				f.mu.Unlock()
				if bogus == 0 || res.Unexpected != bogus || res.Completed != 20 {
					t.Errorf("unexpected %d, completed %d; the server sent %d foreign replies", res.Unexpected, res.Completed, bogus)
				}
				if res.Received != 40+bogus {
					t.Errorf("received %d, want %d", res.Received, 40+bogus)
				}
			},
		},
		{
			name: "relay source port sub-option",
			cfg:  Config{Count: 20, Window: 4, RFC8357: true},
			setup: func(f *fakeServer) {
				f.relayPort = 9 // discard: only 82.19 brings the replies back
			},
			check: func(t *testing.T, res Result, f *fakeServer) {
				if res.Completed != 20 || res.BadOption82 != 0 {
					t.Errorf("completed %d, bad option 82 %d", res.Completed, res.BadOption82)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, f := runAgainst(t, pop, tt.cfg, tt.setup)
			if res.Started != tt.cfg.Count {
				t.Errorf("started %d, want %d", res.Started, tt.cfg.Count)
			}
			if got := res.Completed + res.NAKs + res.Timeouts + res.Unfinished; got != res.Started {
				t.Errorf("completed+NAK+timeouts+unfinished = %d, started %d", got, res.Started)
			}
			tt.check(t, res, f)
		})
	}
}

func TestRelayTimeLimit(t *testing.T) {
	tests := []struct {
		name   string
		silent bool
		rate   float64
	}{
		{name: "server silent", silent: true},
		{name: "rate bound", rate: 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const limit = 300 * time.Millisecond
			begin := time.Now()
			res, _ := runAgainst(t, testModems(t, 100), Config{
				Count: 1_000_000, Window: 64, Duration: limit, Timeout: 5 * time.Second, Rate: tt.rate,
			}, func(f *fakeServer) { f.silent = tt.silent })
			took := time.Since(begin)
			if took > limit+time.Second {
				t.Errorf("run took %v with a time limit of %v", took, limit)
			}
			if res.ElapsedSec < limit.Seconds()*0.9 || res.ElapsedSec > limit.Seconds()+0.5 {
				t.Errorf("elapsed %.3f s, limit %v", res.ElapsedSec, limit)
			}
			if res.Started >= 1_000_000 || res.Completed+res.Unfinished+res.NAKs+res.Timeouts != res.Started {
				t.Errorf("counts do not add up: %+v", res.Counters)
			}
			if tt.silent && (res.Completed != 0 || res.Unfinished != 64 || res.Started != 64) {
				t.Errorf("silent server: want 64 started and unfinished, got %+v", res.Counters)
			}
			if tt.rate > 0 && (res.Started < 5 || res.Started > 25) {
				t.Errorf("rate %v/s for %v started %d exchanges", tt.rate, limit, res.Started)
			}
		})
	}
}

func TestRelayCancel(t *testing.T) {
	conn, port := relayConn(t)
	f := newFakeServer(t, testModems(t, 4), port)
	f.silent = true
	f.start()
	r, err := NewRelay(Config{
		Server: f.addr(), Giaddr: netip.MustParseAddr("127.0.0.1"), Conn: conn, Modems: testModems(t, 4),
		Count: 10, Window: 2, Duration: time.Minute, Timeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	begin := time.Now()
	res, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("cancelled run took %v", d)
	}
	if res.Unfinished != 2 {
		t.Errorf("unfinished %d, want 2", res.Unfinished)
	}
}

func TestConfigValidate(t *testing.T) {
	good := func() Config {
		return Config{
			Server: netip.MustParseAddrPort("127.0.0.1:10067"), Giaddr: netip.MustParseAddr("127.0.0.2"),
			Modems: []MAC{{0, 0, 0xca, 0, 0, 4}}, Count: 1, Duration: time.Second, Window: 1, Timeout: time.Second,
		}
	}
	tests := []struct {
		name   string
		modify func(*Config)
	}{
		{"IPv6 server", func(c *Config) { c.Server = netip.MustParseAddrPort("[::1]:67") }},
		{"server port 0", func(c *Config) { c.Server = netip.MustParseAddrPort("127.0.0.1:0") }},
		{"no giaddr", func(c *Config) { c.Giaddr = netip.Addr{} }},
		{"no modems", func(c *Config) { c.Modems = nil }},
		{"no count", func(c *Config) { c.Count = 0 }},
		{"no time limit", func(c *Config) { c.Duration = 0 }},
		{"no window", func(c *Config) { c.Window = 0 }},
		{"no timeout", func(c *Config) { c.Timeout = 0 }},
		{"negative retries", func(c *Config) { c.Retries = -1 }},
		{"mix over 100", func(c *Config) { c.MTAPercent, c.CPEPercent = 60, 50 }},
		{"negative rate", func(c *Config) { c.Rate = -1 }},
	}
	if _, err := NewRelay(good()); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.modify(&c)
			if _, err := NewRelay(c); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	ten := make([]time.Duration, 10)
	for i := range ten {
		ten[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		in       []time.Duration
		permille int
		want     time.Duration
	}{
		{nil, 500, 0},
		{ten[:1], 990, time.Millisecond},
		{ten, 500, 5 * time.Millisecond},
		{ten, 900, 9 * time.Millisecond},
		{ten, 990, 10 * time.Millisecond},
		{ten, 1000, 10 * time.Millisecond},
		{ten, 1, time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(tt.in, tt.permille); got != tt.want {
			t.Errorf("percentile(%d samples, %d‰) = %v, want %v", len(tt.in), tt.permille, got, tt.want)
		}
	}
}

// BenchmarkExchange runs full relayed DORAs against the in-test fake server
// on loopback: the tool's own ceiling with a server that costs little.
func BenchmarkExchange(b *testing.B) {
	modems := testModems(b, 1000)
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	f := newFakeServer(b, modems, conn.LocalAddr().(*net.UDPAddr).Port)
	f.start()
	r, err := NewRelay(Config{
		Server: f.addr(), Giaddr: netip.MustParseAddr("127.0.0.1"), Conn: conn, Modems: modems,
		Count: b.N, Window: 64, Duration: time.Minute, Timeout: time.Second, Retries: 2,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	res, err := r.Run(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if res.Completed != b.N {
		b.Fatalf("completed %d of %d: %+v", res.Completed, b.N, res.Counters)
	}
	b.ReportMetric(res.ExchangesPerSec, "exchanges/s")
	b.ReportMetric(res.LoadCPU.MicrosPerExchange, "cpu-µs/exchange")
}
