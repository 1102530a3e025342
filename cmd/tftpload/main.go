// Command tftpload is a TFTP load generator: many simulated cable modems
// fetch their configs concurrently, then one or more clients fetch a large
// (firmware) file, and it reports transfers per second, latency percentiles,
// failures and throughput, with --server-pid also the server's CPU time per
// transfer, so that ip6m and another server (tftpd-hpa serving static files
// of the same names) can be compared on the same box.
//
// The names come from a data folder (--data: the enabled modems of its
// inventory, named by its dhcp.cm_file setting) or from a file with one
// name per line (--names). Each simulated modem sends from its own address
// when --src gives a prefix (127.1.0.0/16: all of 127/8 reaches lo on
// Linux); with --grant, tftpload also gives each of those addresses an
// active lease for its modem in the data folder, so that ip6m's anti-theft
// check passes. --grant writes into the data folder: use it only on a test
// folder.
//
// Every run is bounded by -n (config transfers) and --duration (wall time
// of the config phase; the file phase has its own bound). The server must
// be on a loopback address.
//
// Typical run against `ip6m serve --data /tmp/ip6m --demo --demo-modems
// 10000 --tftp 127.0.0.1:1069`:
//
//	tftpload --server 127.0.0.1:1069 --data /tmp/ip6m --src 127.1.0.0/16 --grant \
//	    -c 50 -n 100000 --duration 20s --file fw/cm-fw.bin --file-blksize 1468
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"ip6m/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tftpload:", err)
		os.Exit(1)
	}
}

// Bounds.
const (
	maxConcurrency = 10_000
	maxTransfers   = 10_000_000
	maxDuration    = time.Hour
)

type config struct {
	server      netip.AddrPort
	data        string
	names       string
	src         netip.Prefix
	grant       bool
	concurrency int
	n           int
	duration    time.Duration
	timeout     time.Duration
	retries     int
	blksize     int
	file        string
	fileCount   int
	fileBlksize int
	fileTimeout time.Duration
	serverPID   int
}

func parseFlags(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("tftpload", flag.ContinueOnError)
	fs.SetOutput(out)
	server := fs.String("server", "127.0.0.1:69", "TFTP server `address` (loopback only)")
	fs.StringVar(&c.data, "data", "", "ip6m data `folder` to take the modems' config names from")
	fs.StringVar(&c.names, "names", "", "`file` with one name to fetch per line (instead of --data)")
	src := fs.String("src", "", "give each simulated modem its own source address from this loopback `prefix`, e.g. 127.1.0.0/16")
	fs.BoolVar(&c.grant, "grant", false, "with --data and --src: give each source address an active lease for its modem in the data folder (a test folder!)")
	fs.IntVar(&c.concurrency, "c", 50, "concurrent simulated modems")
	fs.IntVar(&c.n, "n", 100_000, "config transfers at most")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "config phase length at most")
	fs.DurationVar(&c.timeout, "timeout", time.Second, "wait for a packet before resending")
	fs.IntVar(&c.retries, "retries", 5, "resends before a transfer fails")
	fs.IntVar(&c.blksize, "blksize", 0, "blksize to ask for config transfers (0: none, 512-byte blocks)")
	fs.StringVar(&c.file, "file", "", "large `name` to fetch after the configs (firmware)")
	fs.IntVar(&c.fileCount, "file-count", 1, "concurrent fetches of --file")
	fs.IntVar(&c.fileBlksize, "file-blksize", 1468, "blksize to ask for --file (512: none)")
	fs.DurationVar(&c.fileTimeout, "file-duration", 2*time.Minute, "file phase length at most")
	fs.IntVar(&c.serverPID, "server-pid", 0, "server process `pid`, to report its CPU time per transfer")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if c.server, err = netip.ParseAddrPort(*server); err != nil {
		return c, fmt.Errorf("--server: %w", err)
	}
	c.server = netip.AddrPortFrom(c.server.Addr().Unmap(), c.server.Port())
	if !c.server.Addr().IsLoopback() {
		return c, fmt.Errorf("--server %s is not a loopback address", c.server)
	}
	if *src != "" {
		if c.src, err = netip.ParsePrefix(*src); err != nil {
			return c, fmt.Errorf("--src: %w", err)
		}
		c.src = c.src.Masked()
		if !c.src.Addr().IsLoopback() || c.src.Addr().Is4() != c.server.Addr().Is4() {
			return c, fmt.Errorf("--src %s must be a loopback prefix of the server's family", c.src)
		}
	}
	switch {
	case c.data == "" && c.names == "" && c.file == "":
		return c, errors.New("nothing to fetch: give --data or --names, and/or --file")
	case c.data != "" && c.names != "":
		return c, errors.New("give --data or --names, not both")
	case c.grant && (c.data == "" || !c.src.IsValid()):
		return c, errors.New("--grant needs --data and --src")
	case c.concurrency < 1 || c.concurrency > maxConcurrency:
		return c, fmt.Errorf("-c %d is not in 1..%d", c.concurrency, maxConcurrency)
	case c.n < 1 || c.n > maxTransfers:
		return c, fmt.Errorf("-n %d is not in 1..%d", c.n, maxTransfers)
	case c.duration <= 0 || c.duration > maxDuration || c.fileTimeout <= 0 || c.fileTimeout > maxDuration:
		return c, fmt.Errorf("--duration and --file-duration must be in (0, %v]", maxDuration)
	case c.timeout <= 0 || c.retries < 0:
		return c, errors.New("--timeout must be positive and --retries not negative")
	case c.blksize != 0 && (c.blksize < 512 || c.blksize > 65464), c.fileBlksize < 512 || c.fileBlksize > 65464:
		return c, errors.New("blksize must be in 512..65464")
	case c.fileCount < 1 || c.fileCount > 1000:
		return c, errors.New("--file-count must be in 1..1000")
	}
	return c, nil
}

// target is one simulated modem: the name it fetches and where from.
type target struct {
	name string
	mac  string
	src  netip.Addr
}

func run(ctx context.Context, args []string, out io.Writer) error {
	cfg, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	targets, err := loadTargets(ctx, cfg)
	if err != nil {
		return err
	}
	if cfg.grant {
		if err := grantLeases(ctx, cfg.data, targets); err != nil {
			return err
		}
	}
	cpu0, _ := procCPU(cfg.serverPID)
	if len(targets) > 0 {
		r := loadConfigs(ctx, cfg, targets)
		cpu1, err := procCPU(cfg.serverPID)
		r.write(out, "configs", cfg.serverPID != 0 && err == nil, cpu1-cpu0)
		cpu0 = cpu1
	}
	if cfg.file != "" {
		fctx, cancel := context.WithTimeout(ctx, cfg.fileTimeout)
		defer cancel()
		cl := &client{timeout: cfg.timeout, retries: cfg.retries, blksize: cfg.fileBlksize}
		r := newResult()
		start := time.Now()
		var wg sync.WaitGroup
		for range cfg.fileCount {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				n, err := cl.get(fctx, cfg.server, netip.Addr{}, cfg.file)
				r.add(time.Since(t0), n, err)
			}()
		}
		wg.Wait()
		r.elapsed = time.Since(start)
		cpu1, err := procCPU(cfg.serverPID)
		r.write(out, fmt.Sprintf("file %s (blksize %d)", cfg.file, cfg.fileBlksize), cfg.serverPID != 0 && err == nil, cpu1-cpu0)
	}
	return ctx.Err()
}

// loadTargets reads the names to fetch and gives each its source address.
func loadTargets(ctx context.Context, cfg config) ([]target, error) {
	var ts []target
	switch {
	case cfg.data != "":
		if _, err := os.Stat(filepath.Join(cfg.data, store.FileName)); err != nil {
			return nil, fmt.Errorf("--data: %w", err)
		}
		st, err := store.Open(ctx, cfg.data, store.Options{})
		if err != nil {
			return nil, err
		}
		defer st.Close()
		pattern, err := st.Setting(ctx, "dhcp.cm_file", "cm/{mac}.cfg")
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(pattern) == "" {
			pattern = "cm/{mac}.cfg"
		}
		on := true
		modems, _, err := st.ListModems(ctx, store.ModemFilter{Enabled: &on}, store.Page{})
		if err != nil {
			return nil, err
		}
		for _, m := range modems {
			ts = append(ts, target{name: strings.ReplaceAll(pattern, "{mac}", strings.ReplaceAll(m.MAC, ":", "")), mac: m.MAC})
		}
	case cfg.names != "":
		f, err := os.Open(cfg.names)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if name := strings.TrimSpace(sc.Text()); name != "" && !strings.HasPrefix(name, "#") {
				ts = append(ts, target{name: name})
			}
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
	default:
		return nil, nil
	}
	if len(ts) == 0 {
		return nil, errors.New("no names to fetch")
	}
	if cfg.src.IsValid() {
		a := cfg.src.Addr().Next() // skip the network address
		for i := range ts {
			if !cfg.src.Contains(a) {
				return nil, fmt.Errorf("--src %s has fewer addresses than the %d modems", cfg.src, len(ts))
			}
			ts[i].src = a
			a = a.Next()
		}
	}
	return ts, nil
}

// grantLeases gives each target's source address an active lease for its
// modem, valid for an hour.
func grantLeases(ctx context.Context, data string, ts []target) error {
	st, err := store.Open(ctx, data, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	for chunk := range slices.Chunk(ts, 500) {
		ops := make([]store.LeaseOp, 0, len(chunk))
		for _, t := range chunk {
			ops = append(ops, store.LeaseOp{Event: store.EventGrant, V4: &store.Lease4{IP: t.src.String(), MAC: t.mac,
				Kind: store.KindCM, State: store.StateActive, Hostname: "tftpload", Starts: now, Ends: now.Add(time.Hour)}})
		}
		if err := st.CommitLeases(ctx, ops...); err != nil {
			return fmt.Errorf("grant leases: %w", err)
		}
	}
	return nil
}

// loadConfigs runs the config phase: cfg.concurrency workers take the
// targets in turn until -n transfers or --duration.
func loadConfigs(ctx context.Context, cfg config, ts []target) *result {
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	cl := &client{timeout: cfg.timeout, retries: cfg.retries, blksize: cfg.blksize}
	r := newResult()
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range cfg.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(cfg.n) {
					return
				}
				t := ts[i%int64(len(ts))]
				t0 := time.Now()
				n, err := cl.get(ctx, cfg.server, t.src, t.name)
				if ctx.Err() != nil && err != nil {
					return // cut off by --duration: not a failure
				}
				r.add(time.Since(t0), n, err)
			}
		}()
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	return r
}

// result gathers one phase's outcome.
type result struct {
	mu      sync.Mutex
	ok      int
	bytes   int64
	lat     []time.Duration
	fails   map[string]int
	elapsed time.Duration
}

func newResult() *result { return &result{fails: map[string]int{}} }

func (r *result) add(d time.Duration, n int64, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.fails[err.Error()]++
		return
	}
	r.ok++
	r.bytes += n
	r.lat = append(r.lat, d)
}

func (r *result) write(w io.Writer, what string, cpu bool, cpuTime time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	failed := 0
	for _, n := range r.fails {
		failed += n
	}
	secs := r.elapsed.Seconds()
	fmt.Fprintf(w, "%s: %d transfers, %d failed in %.2fs: %.1f transfers/s, %.2f MB/s (%d bytes)\n",
		what, r.ok, failed, secs, float64(r.ok)/secs, float64(r.bytes)/secs/1e6, r.bytes)
	if len(r.lat) > 0 {
		sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
		q := func(p float64) time.Duration { return r.lat[min(len(r.lat)-1, int(p*float64(len(r.lat))))] }
		fmt.Fprintf(w, "  latency p50 %v  p90 %v  p99 %v  max %v\n", q(0.5), q(0.9), q(0.99), r.lat[len(r.lat)-1])
	}
	if cpu && r.ok > 0 {
		fmt.Fprintf(w, "  server CPU %v: %v per transfer\n", cpuTime.Round(time.Millisecond), (cpuTime / time.Duration(r.ok)).Round(time.Microsecond))
	}
	msgs := make([]string, 0, len(r.fails))
	for m := range r.fails {
		msgs = append(msgs, m)
	}
	sort.Slice(msgs, func(i, j int) bool { return r.fails[msgs[i]] > r.fails[msgs[j]] })
	for i, m := range msgs {
		if i == 5 {
			fmt.Fprintf(w, "  … %d more kinds of failure\n", len(msgs)-5)
			break
		}
		fmt.Fprintf(w, "  failed %d× %s\n", r.fails[m], m)
	}
}

// procCPU returns the user+system CPU time of process pid and its
// waited-for children (0: none).
func procCPU(pid int) (time.Duration, error) {
	if pid == 0 {
		return 0, errors.New("no pid")
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	// utime, stime, and cutime, cstime of waited-for children (tftpd-hpa
	// forks a child per transfer).
	var ticks int64
	for _, i := range []int{11, 12, 13, 14} {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: bad times", pid)
		}
		ticks += v
	}
	const hz = 100 // USER_HZ on Linux
	return time.Duration(ticks) * time.Second / hz, nil
}
