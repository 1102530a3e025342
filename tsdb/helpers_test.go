package tsdb

import (
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// t0 is aligned to every step used in the tests (10 s, 30 s, 30 min).
var t0 = time.Unix(1_800_000_000, 0)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

var nan = math.NaN()

// tinySchema has a 10 s ring of 6 slots and a 30 s ring of 6 slots, so
// consolidation can be checked by hand.
func tinySchema() Schema {
	return Schema{
		Archives: []Archive{
			{Step: 10 * time.Second, Span: time.Minute},
			{Step: 30 * time.Second, Span: 3 * time.Minute},
		},
		Metrics: []Metric{
			{Name: "g", Kind: Gauge, Encoding: Float64},
			{Name: "c32", Kind: Counter32, Encoding: Float64},
			{Name: "c64", Kind: Counter64, Encoding: Float64},
			{Name: "i16", Kind: Gauge, Encoding: Int16, Scale: 0.1},
			{Name: "max50", Kind: Counter64, Encoding: Float64, Max: 50},
			{Name: "u32", Kind: Counter64, Encoding: Uint32, Scale: 0.001},
		},
	}
}

// seedSchema is the seed's RRDBot modem: 4 counters, 6 gauges, the seed's
// archives, in the native widths.
func seedSchema() Schema {
	g := func(name string) Metric { return Metric{Name: name, Kind: Gauge, Encoding: Int16, Scale: 0.1} }
	c := func(name string, k Kind, scale float64) Metric {
		return Metric{Name: name, Kind: k, Encoding: Uint32, Scale: scale}
	}
	return Schema{
		Archives: DefaultArchives(),
		Metrics: []Metric{
			c("in", Counter64, 1), c("out", Counter64, 1),
			c("corrected", Counter32, 0.001), c("uncorrected", Counter32, 0.001),
			g("dspwr"), g("uspwr"), g("dssnr"), g("microref"), g("usrcv"), g("ussnr"),
		},
	}
}

// damageLog collects the damage a DB reports.
type damageLog struct {
	mu sync.Mutex
	d  []Damage
}

func (l *damageLog) add(d Damage) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *damageLog) all() []Damage {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Damage(nil), l.d...)
}

func openDB(t testing.TB, dir string, log *damageLog) *DB {
	t.Helper()
	opts := Options{}
	if log != nil {
		opts.OnDamage = log.add
	}
	db, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

func mustDefine(t testing.TB, db *DB, dev string, s Schema) {
	t.Helper()
	if err := db.Define(dev, s); err != nil {
		t.Fatalf("Define %s: %v", dev, err)
	}
}

func mustAdd(t testing.TB, db *DB, dev, metric string, sec, v float64) {
	t.Helper()
	if err := db.Add(dev, metric, at(sec), v); err != nil {
		t.Fatalf("Add %s %s at %v = %v: %v", dev, metric, sec, v, err)
	}
}

func query(t testing.TB, db *DB, dev, metric string, from, to float64, maxPoints int) Series {
	t.Helper()
	s, err := db.Query(dev, metric, at(from), at(to), maxPoints)
	if err != nil {
		t.Fatalf("Query %s %s: %v", dev, metric, err)
	}
	return s
}

func same(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-9*max(1, math.Abs(a), math.Abs(b))
}

func sameSlice(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !same(a[i], b[i]) {
			return false
		}
	}
	return true
}

// crash drops a DB as a killed process would: files closed, nothing
// flushed, memory lost.
func crash(db *DB) {
	db.mu.Lock()
	db.closed = true
	for _, d := range db.devices {
		if d.f != nil {
			d.f.Close()
		}
	}
	db.mu.Unlock()
	db.journal.Close()
	db.lock.Close()
}

func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		out.Close()
	}
	return dst
}
