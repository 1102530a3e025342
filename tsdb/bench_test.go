package tsdb

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Benchmarks. Run them bounded, e.g.
//
//	go test ./tsdb -run '^$' -bench . -benchtime 2s
//	TSDB_BENCH_DEVICES=1000 TSDB_BENCH_HOURS=2 go test ./tsdb -run '^$' -bench WriteVolume -benchtime 1x

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func devName(i int) string {
	return fmt.Sprintf("00:10:%02x:%02x:%02x:%02x", byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
}

// noise is a deterministic pseudo-random number in [0, 1).
func noise(a, b, c int) float64 {
	x := uint64(a)*0x9E3779B97F4A7C15 ^ uint64(b)*0xBF58476D1CE4E5B9 ^ uint64(c)*0x94D049BB133111EB
	x ^= x >> 31
	x *= 0xD6E8FEB86659FD93
	x ^= x >> 32
	return float64(x>>11) / (1 << 53)
}

// modemSamples is one poll of the seed's 10 series: traffic and levels
// varying as a real modem's do (not compressible to nothing).
func modemSamples(i, poll int, buf []Sample) []Sample {
	p := uint64(poll)
	n := func(k int) float64 { return noise(i, poll, k) }
	g := float64((i+poll/60)%20) / 10
	return append(buf[:0],
		Sample{Metric: "in", Value: float64(p*12345*uint64(1+i%7) + uint64(n(1)*10000))},
		Sample{Metric: "out", Value: float64(p*2345 + uint64(n(2)*2000))},
		Sample{Metric: "corrected", Value: float64(p*3 + uint64(n(3)*3))},
		Sample{Metric: "uncorrected", Value: float64(p / 10)},
		Sample{Metric: "dspwr", Value: 1.5 + g + n(4)},
		Sample{Metric: "uspwr", Value: 42 + g + n(5)},
		Sample{Metric: "dssnr", Value: 38 - g + n(6)},
		Sample{Metric: "microref", Value: 30 + g + n(7)},
		Sample{Metric: "usrcv", Value: 0.5 - g + n(8)},
		Sample{Metric: "ussnr", Value: 33 + g + n(9)},
	)
}

// prefill writes plausible values into every slot of a device's rings, as
// after a year of use, so that pages written later carry real old data
// (blank pages would flatter the journal's compression).
func prefill(b *testing.B, db *DB, name string, seed int) {
	d, err := db.lookup(name)
	if err != nil {
		b.Fatal(err)
	}
	defer d.mu.Unlock()
	for k := range d.lay.arch {
		a := &d.lay.arch[k]
		buf := make([]byte, a.pages*int64(a.pageBytes))
		for p := int64(0); p < a.pages; p++ {
			page := buf[p*int64(a.pageBytes):][:a.pageBytes]
			for r := int64(0); r < a.rowsPerPage; r++ {
				row := page[int(r)*a.rowSize:]
				for j, m := range d.schema.Metrics {
					w := m.Encoding.width()
					base := 1e6 * noise(seed, j, 0)
					if m.Encoding == Int16 {
						base = 40 * noise(seed, j, 0)
					}
					for c := range a.cells {
						v := base * (0.9 + 0.2*noise(seed, int(p*a.rowsPerPage+r), j*3+c))
						putCell(row[a.col[j]+c*w:], m.Encoding, m.Scale, v)
					}
				}
			}
			sealPage(page, a.off+p*int64(a.pageBytes))
		}
		if _, err := d.f.WriteAt(buf, a.off); err != nil {
			b.Fatal(err)
		}
	}
	if err := d.f.Sync(); err != nil {
		b.Fatal(err)
	}
	dropCache(d.f) // as after a year of 4 KiB writes: no large folios cached
}

func newBenchDB(b *testing.B, dir string, devices int, sparse bool) *DB {
	b.Helper()
	db, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	db.sparse = sparse
	s := seedSchema()
	for i := range devices {
		if err := db.Define(devName(i), s); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// BenchmarkIngest is the poller's path on one core: AddSamples of the
// seed's 10 series, round robin over 1,000 modems, 10 s apart. Files are
// sparse here (nothing is flushed).
func BenchmarkIngest(b *testing.B) {
	const devices = 1000
	db := newBenchDB(b, b.TempDir(), devices, true)
	defer db.Close()
	names := make([]string, devices)
	for i := range names {
		names[i] = devName(i)
	}
	buf := make([]Sample, 0, 10)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	n := 0
	for poll := 1; n < b.N; poll++ {
		t := t0.Add(time.Duration(poll) * 10 * time.Second)
		for i := 0; i < devices && n < b.N; i++ {
			buf = modemSamples(i, poll, buf)
			if err := db.AddSamples(names[i], t.Add(time.Duration(i)*time.Millisecond), buf); err != nil {
				b.Fatal(err)
			}
			n += len(buf)
		}
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "samples/s")
	b.StopTimer()
	db.Flush()
}

// BenchmarkQuery reads graphs of one metric from a modem holding a full
// year of 10 s samples (built once, flushed daily, about 10 s to build).
func BenchmarkQuery(b *testing.B) {
	dir := b.TempDir()
	db := newBenchDB(b, dir, 1, false)
	defer db.Close()
	name := devName(0)
	year := 365 * 24 * time.Hour
	polls := int(year / (10 * time.Second))
	for p := 1; p <= polls; p++ {
		t := t0.Add(time.Duration(p) * 10 * time.Second)
		g := float64(p%1000) / 100
		if err := db.AddSamples(name, t, []Sample{
			{Metric: "dspwr", Value: g},
			{Metric: "in", Value: float64(uint64(p)*1000 + uint64(p%5)*100)},
		}); err != nil {
			b.Fatal(err)
		}
		if p%8640 == 0 {
			if err := db.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := db.Flush(); err != nil {
		b.Fatal(err)
	}
	end := t0.Add(year)
	for _, tc := range []struct {
		name   string
		metric string
		span   time.Duration
	}{
		{"year/dspwr", "dspwr", year},
		{"year/in", "in", year},
		{"month/in", "in", 30 * 24 * time.Hour},
		{"day/in", "in", 24 * time.Hour},
		{"hour/in", "in", time.Hour},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var s Series
			for b.Loop() {
				var err error
				s, err = db.Query(name, tc.metric, end.Add(-tc.span), end, 1000)
				if err != nil {
					b.Fatal(err)
				}
			}
			known := 0
			for _, v := range s.Avg {
				if !isNaN(v) {
					known++
				}
			}
			if known < s.Len()*9/10 {
				b.Fatalf("%d of %d points known", known, s.Len())
			}
			b.ReportMetric(float64(s.Len()), "points")
		})
	}
}

// BenchmarkOpen opens a store of 10,000 modems × 10 series (the files are
// sparse to spare 38 GB of disk: Open lists the folder, and loading a
// device reads only its schema and state pages, so the measure is the
// same). "open" is Open alone (devices load lazily); "open+load" also
// loads every device's schema and state, as the first poll cycle does.
func BenchmarkOpen(b *testing.B) {
	devices := envInt("TSDB_BENCH_OPEN_DEVICES", 10000)
	dir := b.TempDir()
	db := newBenchDB(b, dir, devices, true)
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	b.Run("open", func(b *testing.B) {
		for b.Loop() {
			db, err := Open(dir, Options{})
			if err != nil {
				b.Fatal(err)
			}
			if len(db.Devices()) != devices {
				b.Fatalf("%d devices", len(db.Devices()))
			}
			db.Close()
		}
		b.ReportMetric(float64(devices), "devices")
	})
	loadAll := func(b *testing.B) *DB {
		db, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range db.Devices() {
			if _, err := db.Schema(n); err != nil {
				b.Fatal(err)
			}
		}
		if st := db.Stats(); st.Series != devices*10 {
			b.Fatalf("%d series", st.Series)
		}
		return db
	}
	b.Run("open+load", func(b *testing.B) {
		for b.Loop() {
			loadAll(b).Close()
		}
		b.StopTimer()
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		db := loadAll(b)
		runtime.GC()
		runtime.ReadMemStats(&m1)
		db.Close()
		b.ReportMetric(float64(devices), "devices")
		b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/float64(devices), "heap-B/device")
	})
}

// BenchmarkBytesPerModem reports the file size of a seed modem (10 series,
// MIN/AVG/MAX, the seed's archives) and the disk blocks it holds.
func BenchmarkBytesPerModem(b *testing.B) {
	dir := b.TempDir()
	db := newBenchDB(b, dir, 1, false)
	defer db.Close()
	for b.Loop() {
		fi, err := os.Stat(filepath.Join(dir, fileName(devName(0))))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(fi.Size()), "bytes/modem")
		b.ReportMetric(float64(diskBytes(fi)), "disk-bytes/modem")
	}
}

// procWriteBytes is write_bytes of /proc/self/io: bytes this process
// caused to be sent to storage (-1 where there is no /proc).
func procWriteBytes() int64 {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "write_bytes: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}

// BenchmarkWriteVolume measures disk writes for the lead's comparison with
// rrdtool: TSDB_BENCH_DEVICES modems (default 200) polled every 10 s for
// TSDB_BENCH_HOURS of sample time (default 1), flushed every
// TSDB_BENCH_FLUSH_MIN minutes of sample time (default 5), with real
// preallocated files filled with a year of plausible values
// (TSDB_BENCH_BLANK=1: empty). It reports bytes written per sample from Stats and
// from /proc/self/io, and the disk write rate this means at 10,000 modems.
func BenchmarkWriteVolume(b *testing.B) {
	devices := envInt("TSDB_BENCH_DEVICES", 200)
	hours := envInt("TSDB_BENCH_HOURS", 1)
	flushMin := envInt("TSDB_BENCH_FLUSH_MIN", 5)
	readers := os.Getenv("TSDB_BENCH_QUERIES") != ""
	for b.Loop() {
		dir := b.TempDir()
		db := newBenchDB(b, dir, devices, false)
		names := make([]string, devices)
		for i := range names {
			names[i] = devName(i)
		}
		if os.Getenv("TSDB_BENCH_BLANK") == "" {
			for i := range devices {
				prefill(b, db, names[i], i)
			}
		}
		// Start with every device already past its first poll and flushed.
		buf := make([]Sample, 0, 10)
		for i := range devices {
			if err := db.AddSamples(names[i], t0, modemSamples(i, 0, buf)); err != nil {
				b.Fatal(err)
			}
		}
		if err := db.Flush(); err != nil {
			b.Fatal(err)
		}
		st0, io0 := db.Stats(), procWriteBytes()
		polls := hours * 360
		flushEvery := flushMin * 6
		samples := 0
		for p := 1; p <= polls; p++ {
			t := t0.Add(time.Duration(p) * 10 * time.Second)
			for i := range devices {
				buf = modemSamples(i, p, buf)
				if err := db.AddSamples(names[i], t, buf); err != nil {
					b.Fatal(err)
				}
				samples += len(buf)
			}
			if p%flushEvery == 0 {
				if err := db.Flush(); err != nil {
					b.Fatal(err)
				}
			}
			if readers && p%flushEvery == flushEvery/2 {
				// The UI reads graphs between flushes: page cache state
				// (e.g. large folios from readahead) must not inflate writes.
				for i := range devices {
					for _, span := range []time.Duration{time.Hour, 48 * time.Hour, 365 * 24 * time.Hour} {
						if _, err := db.Query(names[i], "in", t.Add(-span), t, 500); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
		}
		st1, io1 := db.Stats(), procWriteBytes()
		db.Close()
		perSample := float64(st1.BytesWritten-st0.BytesWritten) / float64(samples)
		b.ReportMetric(perSample, "B/sample")
		b.ReportMetric(float64(io1-io0)/float64(samples), "proc-B/sample")
		b.ReportMetric(perSample*10000*10/10/1e6, "MB/s@10k-modems")
		flushes := st1.Flushes - st0.Flushes
		b.ReportMetric(float64(st1.BytesWritten-st0.BytesWritten)/float64(flushes)/float64(devices), "B/modem/flush")
		b.ReportMetric(float64(st1.LastFlush.Milliseconds()), "ms/flush")
	}
}
