package snmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"ip6m/snmp/snmpsim"
	"ip6m/tsdb"
)

func fastConfig(targets Targets, sink SampleSink) Config {
	return Config{
		Targets: targets, Sink: sink,
		Interval: 200 * time.Millisecond, Timeout: 50 * time.Millisecond, Retries: 1,
		MaxBackoff: 2 * time.Second, Sockets: 2,
	}
}

// Values reach the sink in dBmV, dB and rates, for every modem layout.
func TestPollValues(t *testing.T) {
	tests := []struct {
		name  string
		shape snmpsim.Shape
	}{
		{"docsis2-legacy", snmpsim.Shape{Down: 1, Up: 1, No64BitCtr: true}},
		{"docsis3-1x1", snmpsim.Shape{Down: 1, Up: 1}},
		{"docsis3-8x4", snmpsim.Shape{Down: 8, Up: 4}},
		{"docsis31-8x4-ofdm", snmpsim.Shape{Down: 8, Up: 4, OFDM: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := startSim(t, snmpsim.Config{Modems: 1, Static: true, NoCMTS: true, Shapes: []snmpsim.Shape{tt.shape}, Seed: 7})
			prof := snmpsim.Profile{DsPower: -3.5, DsSNR: 36.2, Micro: 31, UsTx: 44.5, InRate: 125000, OutRate: 20000, CorrRate: 1000, UncRate: 0} // rates high enough that one count more or less in a 200 ms poll does not matter
			sim.SetProfile(0, prof)
			sink := newMemSink()
			targets := &fakeTargets{ts: modemTargets(sim, 0, 1)}
			p := startPoller(t, fastConfig(targets, sink))
			key := targets.ts[0].Key
			waitFor(t, 3*time.Second, "four polls", func() bool { return len(sink.series(key, "dspwr")) >= 4 })

			nDown, nUp := tt.shape.Down, tt.shape.Up
			if tt.shape.OFDM {
				nDown, nUp = nDown+1, nUp+1
			}
			r, ok := p.Reading(key)
			if !ok || r.Err != "" {
				t.Fatalf("reading %+v", r)
			}
			if len(r.Down) != nDown || len(r.Up) != nUp {
				t.Fatalf("channels %d down %d up, want %d %d", len(r.Down), len(r.Up), nDown, nUp)
			}
			// Per channel: the sim's level plus 0.3 dB per channel.
			sum, mn, mx := 0.0, math.Inf(1), math.Inf(-1)
			for i, c := range r.Down {
				want := prof.DsPower + 0.3*float64(i)
				if c.IfType == 277 {
					want = prof.DsPower - 1
				}
				if !near(c.Power, want, 0.051) {
					t.Errorf("down %d (if %d) power %.2f dBmV, want %.1f", i, c.IfIndex, c.Power, want)
				}
				sum += want
				mn, mx = min(mn, want), max(mx, want)
				if !tt.shape.No64BitCtr && c.IfType == 128 {
					if got := sink.last(key, fmt.Sprintf("dspwr.%d", c.IfIndex)); nDown > 1 && !near(got, want, 0.051) {
						t.Errorf("dspwr.%d = %.2f, want %.1f", c.IfIndex, got, want)
					}
				}
			}
			if got := sink.last(key, "dspwr"); !near(got, sum/float64(nDown), 0.051) {
				t.Errorf("dspwr = %.3f, want the average %.3f", got, sum/float64(nDown))
			}
			if nDown > 1 {
				if got := sink.last(key, "dspwr_min"); !near(got, mn, 0.051) {
					t.Errorf("dspwr_min = %.2f, want %.2f", got, mn)
				}
				if got := sink.last(key, "dspwr_max"); !near(got, mx, 0.051) {
					t.Errorf("dspwr_max = %.2f, want %.2f", got, mx)
				}
			}
			if got := r.Down[0].SNR; !near(got, prof.DsSNR, 0.051) {
				t.Errorf("SNR %.2f dB, want %.1f", got, prof.DsSNR)
			}
			if got := sink.last(key, "microref"); !near(got, 31, 0.01) {
				t.Errorf("microref %.1f, want 31", got)
			}
			if got := r.Up[0].Power; !near(got, prof.UsTx, 0.051) {
				t.Errorf("US tx %.2f dBmV, want %.1f", got, prof.UsTx)
			}
			// Rates from the counters (bytes/s; codewords/s summed over channels).
			if !near(r.InRate, prof.InRate, prof.InRate*0.1) || !near(r.OutRate, prof.OutRate, prof.OutRate*0.1) {
				t.Errorf("rates in %.0f out %.0f B/s, want %.0f %.0f", r.InRate, r.OutRate, prof.InRate, prof.OutRate)
			}
			scqam := tt.shape.Down
			if want := prof.CorrRate * float64(scqam); !near(r.CorrectedRate, want, want*0.15+1) {
				t.Errorf("corrected %.1f/s, want %.1f", r.CorrectedRate, want)
			}
			if r.UncorrectedRate != 0 {
				t.Errorf("uncorrected %.2f/s, want 0", r.UncorrectedRate)
			}
			// Counters go to tsdb as one monotonic counter, reset on the first sample only.
			in := sink.series(key, "in")
			if !in[0].Reset {
				t.Error("first counter sample is not a Reset")
			}
			for _, x := range in[1:] {
				if x.Reset {
					t.Errorf("counter sample at %s is a Reset", x.t)
				}
			}
		})
	}
}

// An agent that answers tooBig gets smaller GETs, and the values still
// arrive.
func TestTooBigSplits(t *testing.T) {
	tests := []struct {
		name        string
		maxVarbinds int // the poller's
		agentLimit  int // the simulator's
		wantGets    int
	}{
		{"one GET", 128, 0, 1},
		{"configured split", 20, 0, 3},
		{"agent limit learned", 128, 20, 3}, // 65 → 32 → 16 varbinds per GET
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := startSim(t, snmpsim.Config{Modems: 1, Static: true, NoCMTS: true, MaxGetVarbinds: tt.agentLimit,
				Shapes: []snmpsim.Shape{{Down: 8, Up: 4}}})
			sink := newMemSink()
			targets := &fakeTargets{ts: modemTargets(sim, 0, 1)}
			cfg := fastConfig(targets, sink)
			cfg.MaxVarbinds = tt.maxVarbinds
			p := startPoller(t, cfg)
			key := targets.ts[0].Key
			waitFor(t, 3*time.Second, "two samples", func() bool { return len(sink.series(key, "dspwr.48")) >= 2 })
			r0 := sim.RequestsTo(0)
			n := len(sink.series(key, "dspwr.48"))
			waitFor(t, 2*time.Second, "one more", func() bool { return len(sink.series(key, "dspwr.48")) > n })
			// Requests per cycle: GETs (the discovery walk is over).
			if got := int(sim.RequestsTo(0) - r0); got < tt.wantGets || got > 2*tt.wantGets {
				t.Errorf("%d requests for one cycle, want %d", got, tt.wantGets)
			}
			if got := sink.last(key, "dspwr.48"); !near(got, sim.Profile(0).DsPower+0.3, 0.051) {
				t.Errorf("dspwr.48 %.2f, want %.2f", got, sim.Profile(0).DsPower+0.3)
			}
			_ = p
		})
	}
}

// A reboot (sysUpTime going back) is a counter reset, never a spike.
func TestRebootIsReset(t *testing.T) {
	sim := startSim(t, snmpsim.Config{Modems: 1, Static: true, NoCMTS: true, Seed: 3})
	sink := newMemSink()
	targets := &fakeTargets{ts: modemTargets(sim, 0, 1)}
	p := startPoller(t, fastConfig(targets, sink))
	key := targets.ts[0].Key
	waitFor(t, 3*time.Second, "three polls", func() bool { return len(sink.series(key, "in")) >= 3 })
	before := len(sink.series(key, "in"))
	sim.Reboot(0)
	waitFor(t, 3*time.Second, "three polls after the reboot", func() bool { return len(sink.series(key, "in")) >= before+3 })
	in := sink.series(key, "in")
	resets := 0
	for i, x := range in[before:] {
		if x.Reset {
			resets++
			if i != 0 {
				t.Errorf("the reset is sample %d after the reboot, want the first", i)
			}
		}
	}
	if resets != 1 {
		t.Errorf("%d reset samples after one reboot, want 1", resets)
	}
	r, _ := p.Reading(key)
	if r.Rebooted.IsZero() || r.Uptime > 5*time.Second {
		t.Errorf("reading after reboot: rebooted %v uptime %s", r.Rebooted, r.Uptime)
	}
	if want := sim.Profile(0).InRate; !near(r.InRate, want, want*0.1) {
		t.Errorf("rate after reboot %.0f B/s, want %.0f", r.InRate, want)
	}
}

// Dead modems back off and do not delay the live ones.
func TestDeadModemsBackOff(t *testing.T) {
	const n = 200
	sim := startSim(t, snmpsim.Config{Modems: n, NoCMTS: true, Seed: 11})
	dead := map[int]bool{}
	for i := 0; i < n; i += 10 { // 30 %: 0, 3, 6 of every ten
		for _, j := range []int{i, i + 3, i + 6} {
			dead[j] = true
			sim.SetState(j, snmpsim.Dead)
		}
	}
	sink := newMemSink()
	targets := &fakeTargets{ts: modemTargets(sim, 0, n)}
	cfg := fastConfig(targets, sink)
	cfg.Interval = 400 * time.Millisecond
	cfg.Timeout = 100 * time.Millisecond // 300 ms with the retry: within a cycle
	cfg.MaxBackoff = 6 * time.Second
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p := startPoller(t, cfg)
	const run = 6 * time.Second
	time.Sleep(run)
	cycles := int(run / cfg.Interval)
	minLive, maxDead := cycles, 0
	var gaps []time.Duration // between a live modem's samples: its cycle time
	for i := range n {
		got := int(sim.RequestsTo(i))
		if dead[i] {
			maxDead = max(maxDead, got)
			continue
		}
		xs := sink.series(targets.ts[i].Key, "dspwr")
		minLive = min(minLive, len(xs))
		for j := 1; j < len(xs); j++ {
			gaps = append(gaps, xs[j].t.Sub(xs[j-1].t))
		}
	}
	slices.Sort(gaps)
	p99, worst := gaps[len(gaps)*99/100], gaps[len(gaps)-1]
	s := p.Stats()
	t.Logf("%d cycles of %s: live modems got >= %d samples, cycle time p50 %s p99 %s max %s; dead ones got <= %d requests; late %d of %d; stats %+v",
		cycles, cfg.Interval, minLive, gaps[len(gaps)/2], p99, worst, maxDead, s.Late, s.Cycles, s)
	// A live modem misses at most its first slot and the last one.
	if minLive < cycles-2 {
		t.Errorf("a live modem got %d samples in %d cycles", minLive, cycles)
	}
	// Dead modems never stretch a live modem's cycle: p99 within 20 %
	// of the interval (the machine is shared; scheduling noise only).
	if p99 > cfg.Interval*6/5 {
		t.Errorf("live modems' cycle time p99 %s with 30%% dead, interval %s", p99, cfg.Interval)
	}
	// Without back-off a dead modem would get 2 attempts per cycle.
	if maxDead > 9 {
		t.Errorf("a dead modem got %d requests in %d cycles: no back-off", maxDead, cycles)
	}
	if s.BackedOff < len(dead) {
		t.Errorf("%d devices backed off, want %d", s.BackedOff, len(dead))
	}
}

// The schedule follows the inventory.
func TestInventoryChanges(t *testing.T) {
	sim := startSim(t, snmpsim.Config{Modems: 7, NoCMTS: true, Seed: 5})
	sink := newMemSink()
	all := modemTargets(sim, 0, 7)
	targets := &fakeTargets{ts: all[:5]}
	cfg := fastConfig(targets, sink)
	cfg.Interval = 300 * time.Millisecond
	p := startPoller(t, cfg)
	waitFor(t, 2*time.Second, "the first five", func() bool { return len(sink.series(all[4].Key, "dspwr")) >= 1 })

	tests := []struct {
		name   string
		change func()
		within time.Duration
		check  func() bool
	}{
		{"added modem polled within one refresh and one cycle", func() { targets.set(all[:6]) },
			cfg.RefreshInterval + cfg.Interval + 200*time.Millisecond,
			func() bool { return len(sink.series(all[5].Key, "dspwr")) >= 1 }},
		{"added modem polled within one cycle of Refresh", func() { targets.set(all); p.Refresh() },
			cfg.Interval + 200*time.Millisecond,
			func() bool { return len(sink.series(all[6].Key, "dspwr")) >= 1 }},
		{"removed modem no longer polled", func() { targets.set(all[1:]); p.Refresh() },
			cfg.Interval,
			func() bool { _, ok := p.Reading(all[0].Key); return !ok }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			tt.change()
			waitFor(t, tt.within, tt.name, tt.check)
			t.Logf("took %s", time.Since(start))
		})
	}
	before := sim.RequestsTo(0)
	time.Sleep(3 * cfg.Interval)
	if after := sim.RequestsTo(0); after > before+1 {
		t.Errorf("removed modem got %d requests after removal", after-before)
	}
}

// Reset sends SET docsDevResetNow.0 = true(1) with the write community.
func TestReset(t *testing.T) {
	sim := startSim(t, snmpsim.Config{Modems: 2, NoCMTS: true, Seed: 9})
	p := startPoller(t, fastConfig(&fakeTargets{}, newMemSink()))
	ctx := context.Background()
	tests := []struct {
		name      string
		modem     int
		community string
		wantErr   error
		wantSets  int
	}{
		{"write community", 0, "private", nil, 1},
		{"read community is refused", 1, "public", errNoAccess, 1},
		{"wrong community gets no answer", 1, "nope", ErrTimeout, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Reset(ctx, sim.Addr(tt.modem), tt.community)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && (err == nil || !errors.Is(err, tt.wantErr) && !strings.Contains(err.Error(), tt.wantErr.Error())) {
				t.Fatalf("Reset: %v, want %v", err, tt.wantErr)
			}
			var got []snmpsim.SetRecord
			for _, s := range sim.Sets() {
				if s.Addr == sim.Addr(tt.modem).Addr() && s.Community == "private" {
					got = append(got, s)
				}
			}
			if tt.modem == 0 {
				if len(got) != tt.wantSets || got[0].OID != "."+oidDocsDevResetNow || got[0].Value != 1 {
					t.Errorf("sets %+v, want one docsDevResetNow.0 = 1", got)
				}
			}
		})
	}
}

var errNoAccess = errors.New("NoAccess")

// A CMTS walk says which modems are online even when they do not answer.
func TestCMTSWalk(t *testing.T) {
	for _, noIF3 := range []bool{true, false} {
		t.Run(fmt.Sprintf("noIF3=%v", noIF3), func(t *testing.T) {
			const n = 40
			sim := startSim(t, snmpsim.Config{Modems: n, Static: true, NoIF3: noIF3, Seed: 13,
				Shapes: []snmpsim.Shape{{Down: 1, Up: 1}, {Down: 4, Up: 2}}})
			sim.SetState(1, snmpsim.Mute) // online at the CMTS, no SNMP
			sim.SetState(2, snmpsim.Dead) // offline
			sink := newMemSink()
			ts := modemTargets(sim, 0, n)
			ts[3].Addr = netip.AddrPort{} // no lease: not polled, still seen at the CMTS
			ts = append(ts, cmtsTarget(sim))
			p := startPoller(t, fastConfig(&fakeTargets{ts: ts}, sink))
			waitFor(t, 3*time.Second, "two walks", func() bool { return p.Stats().Walks >= 2 })

			cm, _ := p.Reading("cmts-1")
			if len(cm.Modems) != n {
				t.Fatalf("walk found %d modems, want %d", len(cm.Modems), n)
			}
			if got := sink.last("cmts-1", "online"); got != n-1 {
				t.Errorf("online %v, want %d", got, n-1)
			}
			tests := []struct {
				modem   int
				online  bool
				status  int
				channel int
			}{
				{0, true, CmtsOperational, 1},
				{1, true, CmtsOperational, 2},
				{2, false, CmtsOther, 1},
				{3, true, CmtsOperational, 2},
			}
			for _, tt := range tests {
				key := ts[tt.modem].Key
				r, _ := p.Reading(key)
				if r.CMTS.Online() != tt.online || r.CMTS.Status != tt.status {
					t.Errorf("modem %d: CMTS status %d online %v, want %d %v", tt.modem, r.CMTS.Status, r.CMTS.Online(), tt.status, tt.online)
				}
				if r.CMTS.IP != sim.Addr(tt.modem).Addr() {
					t.Errorf("modem %d: CMTS IP %s, want %s", tt.modem, r.CMTS.IP, sim.Addr(tt.modem).Addr())
				}
				prof := sim.Profile(tt.modem)
				// DOCS-IF3 gives per-channel levels (the sim adds 0.2 dB per
				// channel); the summary is their average.
				rx, snr := prof.UsRx, prof.UsSNR
				if !noIF3 {
					rx += 0.1 * float64(tt.channel-1)
					snr -= 0.1 * float64(tt.channel-1)
				}
				if got := sink.last(key, "usrcv"); !near(got, rx, 0.051) {
					t.Errorf("modem %d: usrcv %.2f, want %.2f", tt.modem, got, rx)
				}
				if got := sink.last(key, "ussnr"); !near(got, snr, 0.051) {
					t.Errorf("modem %d: ussnr %.2f, want %.2f", tt.modem, got, snr)
				}
				wantCh := 0
				if !noIF3 {
					wantCh = tt.channel
				}
				if len(r.CMTS.Up) != wantCh {
					t.Errorf("modem %d: %d upstreams from DOCS-IF3, want %d", tt.modem, len(r.CMTS.Up), wantCh)
				}
				if !noIF3 && tt.channel > 1 {
					if got := sink.last(key, "usrcv.1001"); !near(got, prof.UsRx+0.2, 0.051) {
						t.Errorf("modem %d: usrcv.1001 %.2f, want %.1f", tt.modem, got, prof.UsRx+0.2)
					}
				}
			}
		})
	}
}

// The poller stores into a real tsdb.
func TestTSDB(t *testing.T) {
	sim := startSim(t, snmpsim.Config{Modems: 3, Static: true, Seed: 21, Shapes: []snmpsim.Shape{{Down: 1, Up: 1}, {Down: 8, Up: 4}}})
	db, err := tsdb.Open(t.TempDir(), tsdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ts := append(modemTargets(sim, 0, 3), cmtsTarget(sim))
	cfg := fastConfig(&fakeTargets{ts: ts}, db)
	cfg.Interval = time.Second
	cfg.Archives = []tsdb.Archive{{Step: time.Second, Span: time.Hour}, {Step: time.Minute, Span: 24 * time.Hour}}
	start := time.Now()
	p := startPoller(t, cfg)
	time.Sleep(4500 * time.Millisecond)
	if s := p.Stats(); s.Errors > 0 {
		t.Fatalf("stats %+v", s)
	}
	for i, want := range []int{10, 10 + 3 + 2 + 8 + 2 + 4 + 3 + 2} {
		sc, err := db.Schema(ts[i].Key)
		if err != nil {
			t.Fatal(err)
		}
		if len(sc.Metrics) < want {
			t.Errorf("modem %d has %d metrics, want at least %d", i, len(sc.Metrics), want)
		}
	}
	s, err := db.Query(ts[0].Key, "dspwr", start, time.Now(), 100)
	if err != nil {
		t.Fatal(err)
	}
	known := 0
	for _, v := range s.Avg {
		if !math.IsNaN(v) {
			known++
			if !near(v, sim.Profile(0).DsPower, 0.051) {
				t.Errorf("tsdb dspwr %.2f, want %.1f", v, sim.Profile(0).DsPower)
			}
		}
	}
	if known < 2 {
		t.Errorf("only %d known dspwr slots in %v", known, s.Avg)
	}
	in, err := db.Query(ts[0].Key, "in", start, time.Now(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range in.Avg {
		if !math.IsNaN(v) && !near(v, sim.Profile(0).InRate, sim.Profile(0).InRate*0.25) {
			t.Errorf("tsdb in %.0f B/s, want %.0f", v, sim.Profile(0).InRate)
		}
	}
}

// The default socket is dual stack: IPv4 modems answer through it too.
func TestDualStackSocket(t *testing.T) {
	sim := startSim(t, snmpsim.Config{Modems: 2, NoCMTS: true, Seed: 17})
	sink := newMemSink()
	targets := &fakeTargets{ts: modemTargets(sim, 0, 2)}
	p, err := New(fastConfig(targets, sink)) // ListenAddr "": [::]:0
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitFor(t, 3*time.Second, "samples over the dual-stack socket", func() bool {
		return len(sink.series(targets.ts[1].Key, "dspwr")) >= 2
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := p.Reset(context.Background(), sim.Addr(0), "private"); !errors.Is(err, ErrClosed) {
		t.Errorf("Reset after Run: %v, want ErrClosed", err)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no targets", Config{Sink: newMemSink()}},
		{"no sink", Config{Targets: &fakeTargets{}}},
		{"too many retries", Config{Targets: &fakeTargets{}, Sink: newMemSink(), Retries: 9}},
		{"timeouts longer than the back-off", Config{Targets: &fakeTargets{}, Sink: newMemSink(), Timeout: time.Minute, MaxBackoff: time.Minute}},
		{"bad listen address", Config{Targets: &fakeTargets{}, Sink: newMemSink(), ListenAddr: "nowhere:x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p, err := New(tt.cfg); err == nil {
				p.tr.close()
				t.Error("New accepted it")
			}
		})
	}
}

// IPv6 agents (modems with only a v6 lease) are reached through the
// dual-stack sockets.
func TestIPv6Agent(t *testing.T) {
	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer c.Close()
	got := make(chan *gosnmp.SnmpPacket, 1)
	go func() {
		buf := make([]byte, 2048)
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			return
		}
		dec := &gosnmp.GoSNMP{Version: gosnmp.Version2c}
		req, err := dec.SnmpDecodePacket(buf[:n])
		if err != nil {
			return
		}
		got <- req
		resp := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: req.Community, PDUType: gosnmp.GetResponse,
			RequestID: req.RequestID, Variables: req.Variables}
		b, _ := resp.MarshalMsg()
		c.WriteToUDP(b, from)
	}()
	cfg := fastConfig(&fakeTargets{}, newMemSink()) // ListenAddr "": dual stack
	cfg.Timeout = 500 * time.Millisecond
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	addr := netip.MustParseAddrPort(c.LocalAddr().String())
	if err := p.Reset(context.Background(), addr, "private"); err != nil {
		t.Fatal(err)
	}
	req := <-got
	if req.PDUType != gosnmp.SetRequest || len(req.Variables) != 1 || req.Variables[0].Name != "."+oidDocsDevResetNow || req.Variables[0].Value != 1 || req.Community != "private" {
		t.Errorf("SET %v %+v community %q", req.PDUType, req.Variables, req.Community)
	}
}

// TestModemStateEvents: a modem dropping off and coming back at the CMTS is
// reported once each way; the first walk only learns the states.
func TestModemStateEvents(t *testing.T) {
	const n = 6
	sim := startSim(t, snmpsim.Config{Modems: n, Static: true, Seed: 17})
	sim.SetState(2, snmpsim.Dead)
	ts := append(modemTargets(sim, 0, n), cmtsTarget(sim))
	type change struct {
		cmts, modem string
		online      bool
	}
	var mu sync.Mutex
	var got []change
	cfg := fastConfig(&fakeTargets{ts: ts}, newMemSink())
	cfg.OnModemState = func(cmts, modem string, online bool, _ time.Time) {
		mu.Lock()
		got = append(got, change{cmts, modem, online})
		mu.Unlock()
	}
	p := startPoller(t, cfg)
	waitFor(t, 3*time.Second, "two walks", func() bool { return p.Stats().Walks >= 2 })
	mu.Lock()
	if len(got) != 0 {
		t.Fatalf("steady states reported as changes: %+v", got)
	}
	mu.Unlock()
	sim.SetState(4, snmpsim.Dead)
	sim.SetState(2, snmpsim.Alive)
	waitFor(t, 3*time.Second, "both changes", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 2
	})
	walks := p.Stats().Walks
	waitFor(t, 3*time.Second, "two more walks", func() bool { return p.Stats().Walks >= walks+2 })
	mu.Lock()
	defer mu.Unlock()
	want := map[change]bool{{"cmts-1", ts[4].Key, false}: true, {"cmts-1", ts[2].Key, true}: true}
	if len(got) != 2 || !want[got[0]] || !want[got[1]] {
		t.Errorf("changes %+v, want modem 4 offline and modem 2 online, once each", got)
	}
}
