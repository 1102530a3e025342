package tsdb

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkRRDWriteVolume is the reference for BenchmarkWriteVolume: the
// same modems and polls stored by Debian's rrdtool with the seed's RRDBot
// definition (10 DS, heartbeat 20 s, AVERAGE, MIN and MAX RRAs of
// 17280×10 s, 21600×2 min and 17520×30 min; TSDB_RRD_CF=AVERAGE for the
// seed's AVERAGE-only files). rrdtool runs in pipe mode ("rrdtool -", one
// process, one "update" a modem a poll, as rrdcached or rrdbot do); its
// disk writes are write_bytes of its /proc/PID/io. Pages it dirties are
// flushed every TSDB_BENCH_WRITEBACK_SEC of sample time (default 30, the
// kernel's dirty_expire), as the kernel would do in a real-time run.
// Skipped when rrdtool is not installed.
//
//	TSDB_BENCH_DEVICES=100 go test ./tsdb -run '^$' -bench 'WriteVolume' -benchtime 1x
func BenchmarkRRDWriteVolume(b *testing.B) {
	bin, err := exec.LookPath("rrdtool")
	if err != nil {
		b.Skip("rrdtool not installed")
	}
	devices := envInt("TSDB_BENCH_DEVICES", 200)
	hours := envInt("TSDB_BENCH_HOURS", 1)
	writeback := envInt("TSDB_BENCH_WRITEBACK_SEC", 30)
	cfs := []string{"AVERAGE", "MIN", "MAX"}
	if cf := os.Getenv("TSDB_RRD_CF"); cf != "" {
		cfs = strings.Split(cf, ",")
	}
	for b.Loop() {
		dir := b.TempDir()
		cmd := exec.Command(bin, "-")
		cmd.Dir = dir
		in, err := cmd.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		outPipe, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		out := bufio.NewReader(outPipe)
		w := bufio.NewWriter(in)
		run := func(line string) {
			fmt.Fprintln(w, line)
			w.Flush()
			resp, err := out.ReadString('\n')
			if err != nil {
				b.Fatalf("rrdtool %q: %v", line, err)
			}
			if !strings.HasPrefix(resp, "OK") {
				b.Fatalf("rrdtool %q: %s", line, resp)
			}
		}
		schema := seedSchema()
		var def strings.Builder
		for _, m := range schema.Metrics {
			kind := "GAUGE"
			if m.Kind.counter() {
				kind = "COUNTER"
			}
			fmt.Fprintf(&def, " DS:%s:%s:20:U:U", m.Name, kind)
		}
		for _, cf := range cfs {
			fmt.Fprintf(&def, " RRA:%s:0.5:1:17280 RRA:%s:0.5:12:21600 RRA:%s:0.5:180:17520", cf, cf, cf)
		}
		files := make([]string, devices)
		for i := range devices {
			files[i] = fmt.Sprintf("m%d.rrd", i)
			run(fmt.Sprintf("create %s --start %d --step 10%s", files[i], t0.Unix()-10, def.String()))
		}
		update := func(i, p int) {
			var line strings.Builder
			fmt.Fprintf(&line, "update %s %d", files[i], t0.Unix()+int64(p)*10)
			for _, s := range modemSamples(i, p, nil) {
				if s.Metric == "in" || s.Metric == "out" || s.Metric == "corrected" || s.Metric == "uncorrected" {
					fmt.Fprintf(&line, ":%d", uint64(s.Value))
				} else {
					fmt.Fprintf(&line, ":%.1f", s.Value)
				}
			}
			run(line.String())
		}
		for i := range devices {
			update(i, 0)
		}
		handles := make([]*os.File, devices)
		for i, f := range files {
			if handles[i], err = os.Open(filepath.Join(dir, f)); err != nil {
				b.Fatal(err)
			}
		}
		syncAll := func() {
			for _, h := range handles {
				h.Sync()
			}
		}
		syncAll()
		if os.Getenv("TSDB_BENCH_KEEP_CACHE") == "" {
			// Cached pages left by create (large folios, on recent
			// kernels) would make each update dirty far more than a
			// long-running rrdtool does.
			for _, h := range handles {
				dropCache(h)
			}
		}
		fi, err := os.Stat(filepath.Join(dir, files[0]))
		if err != nil {
			b.Fatal(err)
		}
		io0 := pidWriteBytes(cmd.Process.Pid)
		polls := hours * 360
		samples := 0
		start := time.Now()
		for p := 1; p <= polls; p++ {
			for i := range devices {
				update(i, p)
				samples += len(schema.Metrics)
			}
			if p*10%writeback == 0 {
				syncAll()
			}
		}
		syncAll()
		io1 := pidWriteBytes(cmd.Process.Pid)
		elapsed := time.Since(start)
		in.Close()
		io.Copy(io.Discard, out)
		cmd.Wait()
		for _, h := range handles {
			h.Close()
		}
		perSample := float64(io1-io0) / float64(samples)
		b.ReportMetric(perSample, "proc-B/sample")
		b.ReportMetric(perSample*10, "B/update")
		b.ReportMetric(perSample*10000*10/10/1e6, "MB/s@10k-modems")
		b.ReportMetric(float64(fi.Size()), "bytes/modem")
		b.ReportMetric(float64(samples)/elapsed.Seconds(), "samples/s")
	}
}

// pidWriteBytes is write_bytes of /proc/PID/io, -1 if unreadable.
func pidWriteBytes(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}
