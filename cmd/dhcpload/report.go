package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// Result is what a run reports, as text or (--json) as this JSON.
type Result struct {
	Server     string  `json:"server"`
	Relay      string  `json:"relay"`
	Modems     int     `json:"modems"`
	Window     int     `json:"window"`
	ElapsedSec float64 `json:"elapsed_s"`
	Counters
	ExchangesPerSec float64      `json:"exchanges_per_s"`
	DropPercent     float64      `json:"drop_percent"` // drops / requests sent
	Latency         LatencyStats `json:"latency_ms"`   // DISCOVER sent → ACK received
	LoadCPU         *CPU         `json:"dhcpload_cpu,omitempty"`
	ServerCPU       *CPU         `json:"server_cpu,omitempty"`
	ACKed           []Lease      `json:"-"` // with Config.RecordACKs
}

// Lease is one address a server ACKed during the run.
type Lease struct {
	Kind  Kind
	MAC   MAC // chaddr
	Modem MAC // remote-id
	IP    netip.Addr
}

// writeACKs writes one line per ACKed lease: client MAC, address, device
// kind, modem MAC (remote-id), tab-separated.
func writeACKs(w io.Writer, leases []Lease) error {
	bw := bufio.NewWriter(w)
	for _, l := range leases {
		fmt.Fprintf(bw, "%s\t%s\t%s\t%s\n", l.MAC, l.IP, l.Kind, l.Modem)
	}
	return bw.Flush()
}

// LatencyStats are in milliseconds.
type LatencyStats struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// CPU is a process's CPU time over the run and per completed exchange.
type CPU struct {
	Seconds           float64 `json:"cpu_s"`
	MicrosPerExchange float64 `json:"us_per_exchange"`
}

func newCPU(d time.Duration, completed int) *CPU {
	c := &CPU{Seconds: d.Seconds()}
	if completed > 0 {
		c.MicrosPerExchange = float64(d.Microseconds()) / float64(completed)
	}
	return c
}

func newResult(cfg Config, c Counters, lat []time.Duration, elapsed time.Duration) Result {
	res := Result{
		Server:     cfg.Server.String(),
		Relay:      fmt.Sprintf("%v:%d", cfg.Giaddr, cfg.RelayPort),
		Modems:     len(cfg.Modems),
		Window:     cfg.Window,
		ElapsedSec: elapsed.Seconds(),
		Counters:   c,
	}
	if cfg.Conn != nil {
		res.Relay = cfg.Conn.LocalAddr().String()
	}
	if elapsed > 0 {
		res.ExchangesPerSec = float64(c.Completed) / elapsed.Seconds()
	}
	if c.Sent > 0 {
		res.DropPercent = 100 * float64(c.Drops) / float64(c.Sent)
	}
	res.Latency = latencyStats(lat)
	return res
}

// latencyStats are the percentiles of lat, in milliseconds.
func latencyStats(lat []time.Duration) LatencyStats {
	s := sortedCopy(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return LatencyStats{
		P50: ms(percentile(s, 500)),
		P90: ms(percentile(s, 900)),
		P99: ms(percentile(s, 990)),
		Max: ms(percentile(s, 1000)),
	}
}

func (r Result) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r Result) writeText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "dhcpload: relay %s -> server %s, %d modems, window %d\n", r.Relay, r.Server, r.Modems, r.Window)
	fmt.Fprintf(&b, "exchanges  %d started, %d completed", r.Started, r.Completed)
	if len(r.CompletedBy) > 0 {
		var parts []string
		for _, k := range []Kind{KindCM, KindMTA, KindCPE} {
			if n := r.CompletedBy[k.String()]; n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", k, n))
			}
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(parts, ", "))
	}
	fmt.Fprintf(&b, ", %d NAK, %d timed out, %d unfinished at the time limit\n", r.NAKs, r.Timeouts, r.Unfinished)
	fmt.Fprintf(&b, "rate       %.1f exchanges/s over %.3f s\n", r.ExchangesPerSec, r.ElapsedSec)
	fmt.Fprintf(&b, "latency    p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms (DISCOVER -> ACK)\n",
		r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
	fmt.Fprintf(&b, "sent       %d packets (%d DISCOVER, %d REQUEST, %d retransmitted), %d send errors\n",
		r.Sent, r.Discovers, r.Requests, r.Retransmits, r.SendErrors)
	fmt.Fprintf(&b, "received   %d packets (%d OFFER, %d ACK, %d NAK), %d late, %d unexpected, %d malformed, %d without our option 82\n",
		r.Received, r.Offers, r.ACKs, r.NAKs, r.Late, r.Unexpected, r.Malformed, r.BadOption82)
	fmt.Fprintf(&b, "drops      %d unanswered within the timeout (%.3f%% of sent)\n", r.Drops, r.DropPercent)
	if r.ServerCPU != nil {
		fmt.Fprintf(&b, "server cpu %.2f s, %.1f µs per exchange\n", r.ServerCPU.Seconds, r.ServerCPU.MicrosPerExchange)
	}
	if r.LoadCPU != nil {
		fmt.Fprintf(&b, "own cpu    %.2f s, %.1f µs per exchange\n", r.LoadCPU.Seconds, r.LoadCPU.MicrosPerExchange)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// userHZ is the unit of utime/stime in /proc/PID/stat: USER_HZ, which the
// kernel fixes at 100 for that interface on every architecture.
const userHZ = 100

// settledCPU returns pid's CPU time once it has stopped growing: none used
// over half a second (longer than any pause between its own batches of
// deferred work), or 3 s after the call. A server may finish work after its
// replies (ip6m writes its lease journal into the database a few
// milliseconds later); this counts that work against the run too.
func settledCPU(pid int) (time.Duration, error) {
	last, err := procCPU(pid)
	for deadline := time.Now().Add(3 * time.Second); err == nil && time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		var now time.Duration
		if now, err = procCPU(pid); err == nil {
			if now == last {
				return now, nil
			}
			last = now
		}
	}
	return last, err
}

// procCPU returns utime+stime of pid (all its threads) from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseProcStat(string(b))
}

// parseProcStat reads fields 14 (utime) and 15 (stime) of a /proc/PID/stat
// line. The command name (field 2) may hold spaces and parentheses, so the
// fields are counted from the last ')'.
func parseProcStat(s string) (time.Duration, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("proc stat %q: no ')' after the command name", s)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return 0, fmt.Errorf("proc stat %q: %d fields after the command name, want at least 13", s, len(f))
	}
	var ticks int64
	for _, field := range f[11:13] {
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("proc stat: utime/stime %q: %w", field, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}
