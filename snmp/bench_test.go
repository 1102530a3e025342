package snmp

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"ip6m/snmp/snmpsim"
	"ip6m/tsdb"
)

// The benchmark runs the simulator in a child process (this test binary,
// re-executed) so that the poller's CPU is measured alone.
const simChildEnv = "IP6M_SNMPSIM_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(simChildEnv); spec != "" {
		os.Exit(runSimChild(spec))
	}
	os.Exit(m.Run())
}

type simSpec struct {
	modems int
	dead   float64
	multi  float64
}

func (s simSpec) config() snmpsim.Config {
	return snmpsim.Config{Modems: s.modems, Dead: s.dead, MultiChannel: s.multi, OFDM: 0.3, Legacy: 0.1, Seed: 42, Readers: 2}
}

func runSimChild(spec string) int {
	var s simSpec
	if _, err := fmt.Sscanf(spec, "%d %g %g", &s.modems, &s.dead, &s.multi); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	sim, err := snmpsim.New(s.config())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // the parent closes stdin (or dies): stop
		bufio.NewReader(os.Stdin).ReadString('\n')
		cancel()
	}()
	fmt.Println(sim.Port())
	sim.Run(ctx)
	return 0
}

// discardSink counts samples; tsdb's own benchmarks measure ingest.
type discardSink struct{ n atomic.Int64 }

func (d *discardSink) Define(string, tsdb.Schema) error { return nil }
func (d *discardSink) Schema(string) (tsdb.Schema, error) {
	return tsdb.Schema{}, tsdb.ErrUnknownDevice
}
func (d *discardSink) AddSamples(_ string, _ time.Time, s []tsdb.Sample) error {
	d.n.Add(int64(len(s)))
	return nil
}

// countingSink counts the samples a real sink takes.
type countingSink struct {
	SampleSink
	n *atomic.Int64
}

func (c countingSink) AddSamples(dev string, t time.Time, s []tsdb.Sample) error {
	c.n.Add(int64(len(s)))
	return c.SampleSink.AddSamples(dev, t, s)
}

func cpuSelf() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuOf reads a process's user+system time from /proc (100 Hz ticks).
func cpuOf(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond
}

// BenchmarkPoller polls N simulated modems (a third of them DOCSIS 3.0
// with 8x4 channels) and their CMTS for one warm-up cycle (discovery) and
// two measured cycles, and reports answered polls/s, poller CPU per poll
// (the CMTS walk's CPU included), the share of late polls, the CMTS walk
// time and the simulator's CPU. Bounded: at most 3 intervals
// per case; run with -benchtime=1x.
func BenchmarkPoller(b *testing.B) {
	cases := []struct {
		modems   int
		dead     float64
		interval time.Duration
		tsdb     bool // store into a real tsdb (small archives) instead of counting
	}{
		{1000, 0, 2 * time.Second, false},
		{1000, 0.3, 2 * time.Second, false},
		{1000, 0, 2 * time.Second, true},
		{10000, 0, 10 * time.Second, false},
		{10000, 0.3, 10 * time.Second, false},
	}
	for _, c := range cases {
		sinkName := "discard"
		if c.tsdb {
			sinkName = "tsdb"
		}
		b.Run(fmt.Sprintf("modems=%d/dead=%.0f%%/every=%s/sink=%s", c.modems, c.dead*100, c.interval, sinkName), func(b *testing.B) {
			spec := simSpec{c.modems, c.dead, 0.33}
			local, err := snmpsim.New(spec.config()) // the same modems, for their addresses
			if err != nil {
				b.Fatal(err)
			}
			local.Close()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), simChildEnv+"="+fmt.Sprintf("%d %g %g", spec.modems, spec.dead, spec.multi))
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			defer func() { stdin.Close(); cmd.Wait() }()
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil {
				b.Fatal(err)
			}
			port, _ := strconv.Atoi(strings.TrimSpace(line))
			ts := append(modemTargets(local, 0, c.modems), cmtsTarget(local))
			for i := range ts {
				ts[i].Addr = netip.AddrPortFrom(ts[i].Addr.Addr(), uint16(port))
			}
			sink := &discardSink{}
			cfg := Config{
				Targets: &fakeTargets{ts: ts}, Sink: sink, Interval: c.interval,
				Timeout: 500 * time.Millisecond, Retries: 1, MaxBackoff: time.Minute, Sockets: 4,
			}
			if c.tsdb {
				// Small archives: the CPU of an Add does not depend on
				// them, and the run must not fill the shared disk.
				db, err := tsdb.Open(b.TempDir(), tsdb.Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { db.Close() })
				cfg.Sink = countingSink{db, &sink.n}
				cfg.Archives = []tsdb.Archive{{Step: c.interval, Span: 10 * time.Minute}}
			}
			p := startPoller(b, cfg)
			time.Sleep(c.interval + c.interval/5) // warm-up: discovery of every modem
			s0, cpu0, sim0, t0, n0 := p.Stats(), cpuSelf(), cpuOf(cmd.Process.Pid), time.Now(), sink.n.Load()
			b.ResetTimer()
			time.Sleep(2 * c.interval)
			b.StopTimer()
			s1, cpu1, sim1, el := p.Stats(), cpuSelf(), cpuOf(cmd.Process.Pid), time.Since(t0)
			polls := float64(s1.Polls - s0.Polls)
			cycles := float64(s1.Cycles - s0.Cycles)
			b.ReportMetric(polls/el.Seconds(), "polls/s")
			b.ReportMetric(float64((cpu1-cpu0).Microseconds())/polls, "cpu-µs/poll")
			b.ReportMetric((cpu1-cpu0).Seconds()/el.Seconds()*100, "cpu-%")
			b.ReportMetric(float64(s1.Late-s0.Late)/cycles*100, "late-%")
			b.ReportMetric(float64(s1.Timeouts-s0.Timeouts)/el.Seconds(), "timeouts/s")
			b.ReportMetric((sim1-sim0).Seconds()/el.Seconds()*100, "sim-cpu-%")
			b.ReportMetric(float64(sink.n.Load()-n0)/el.Seconds(), "samples/s")
			b.ReportMetric(float64(s1.LastWalk.Milliseconds()), "cmts-walk-ms")
			b.Logf("stats %+v", s1)
		})
	}
}
