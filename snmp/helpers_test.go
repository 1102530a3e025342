package snmp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"sync"
	"testing"
	"time"

	"ip6m/snmp/snmpsim"
	"ip6m/tsdb"
)

// memSink is a SampleSink that keeps everything in memory.
type memSink struct {
	mu      sync.Mutex
	schemas map[string]tsdb.Schema
	samples map[string][]stored
	defines int
}

type stored struct {
	t time.Time
	tsdb.Sample
}

func newMemSink() *memSink {
	return &memSink{schemas: map[string]tsdb.Schema{}, samples: map[string][]stored{}}
}

func (s *memSink) Define(device string, sc tsdb.Schema) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.schemas[device] = sc
	s.defines++
	return nil
}

func (s *memSink) Schema(device string) (tsdb.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, ok := s.schemas[device]
	if !ok {
		return tsdb.Schema{}, tsdb.ErrUnknownDevice
	}
	return sc, nil
}

func (s *memSink) AddSamples(device string, t time.Time, samples []tsdb.Sample) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, ok := s.schemas[device]
	if !ok {
		return fmt.Errorf("%s: %w", device, tsdb.ErrUnknownDevice)
	}
	known := map[string]bool{}
	for _, m := range sc.Metrics {
		known[m.Name] = true
	}
	for _, x := range samples {
		if !known[x.Metric] {
			return fmt.Errorf("%s: %w %q", device, tsdb.ErrUnknownMetric, x.Metric)
		}
		s.samples[device] = append(s.samples[device], stored{t, x})
	}
	return nil
}

// series returns the samples of one metric.
func (s *memSink) series(device, metric string) []stored {
	s.mu.Lock()
	defer s.mu.Unlock()
	var r []stored
	for _, x := range s.samples[device] {
		if x.Metric == metric {
			r = append(r, x)
		}
	}
	return r
}

// last returns the latest value of a metric (NaN: none).
func (s *memSink) last(device, metric string) float64 {
	xs := s.series(device, metric)
	if len(xs) == 0 {
		return math.NaN()
	}
	return xs[len(xs)-1].Value
}

// fakeTargets is an inventory the test changes.
type fakeTargets struct {
	mu  sync.Mutex
	ts  []Target
	err error
}

func (f *fakeTargets) PollTargets(context.Context) ([]Target, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return append([]Target(nil), f.ts...), nil
}

func (f *fakeTargets) set(ts []Target) {
	f.mu.Lock()
	f.ts = ts
	f.mu.Unlock()
}

// startSim runs a simulator until the test ends.
func startSim(t testing.TB, cfg snmpsim.Config) *snmpsim.Sim {
	t.Helper()
	sim, err := snmpsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sim.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return sim
}

// modemTargets lists sim's modems i in [from, to).
func modemTargets(sim *snmpsim.Sim, from, to int) []Target {
	var ts []Target
	for i := from; i < to; i++ {
		mac := sim.Profile(i).MAC
		ts = append(ts, Target{Key: mac.String(), Kind: Modem, Addr: sim.Addr(i), Community: "public", MAC: mac})
	}
	return ts
}

func cmtsTarget(sim *snmpsim.Sim) Target {
	return Target{Key: "cmts-1", Kind: CMTS, Addr: sim.CMTSAddr(), Community: "public"}
}

// startPoller runs a poller until the test ends.
func startPoller(t testing.TB, cfg Config) *Poller {
	t.Helper()
	if cfg.ListenAddr == "" {
		cfg.ListenAddr = "127.0.0.1:0"
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Error(err)
		}
	})
	return p
}

// waitFor polls cond until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func netipAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
