package tsdb

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// feed is a deterministic stream of samples for every tiny metric, with
// jitter, missed polls, NaN and counter resets.
type feedSample struct {
	sec     float64
	samples []Sample
}

func makeFeed(seed uint64, n int) []feedSample {
	r := rand.New(rand.NewPCG(seed, 1))
	var out []feedSample
	sec := 3.0
	c32, c64 := uint64(4294960000), uint64(1<<40)
	for i := 0; i < n; i++ {
		sec += 10 + (r.Float64()-0.5)*6
		if r.IntN(20) == 0 {
			sec += 10 * float64(r.IntN(5)) // missed polls
		}
		c32 = (c32 + uint64(r.IntN(5000))) & 0xFFFFFFFF
		c64 += uint64(r.IntN(1 << 20))
		g := r.NormFloat64() * 5
		reset := false
		if r.IntN(50) == 0 {
			c64 = uint64(r.IntN(1000))
			reset = r.IntN(2) == 0
		}
		ss := []Sample{
			{Metric: "g", Value: g},
			{Metric: "c32", Value: float64(c32)},
			{Metric: "c64", Value: float64(c64), Reset: reset},
			{Metric: "i16", Value: g * 3},
			{Metric: "max50", Value: float64(c64 / 1000)},
			{Metric: "u32", Value: float64(c64 % 1000000)},
		}
		if r.IntN(30) == 0 {
			ss[0].Value = nan
		}
		out = append(out, feedSample{sec: sec, samples: ss})
	}
	return out
}

func ingest(t *testing.T, db *DB, fs []feedSample) {
	t.Helper()
	for _, f := range fs {
		if err := db.AddSamples("dev", at(f.sec), f.samples); err != nil {
			t.Fatalf("AddSamples at %v: %v", f.sec, err)
		}
	}
}

// snapshot is every query answer of interest.
func snapshot(t *testing.T, db *DB, end float64) map[string]Series {
	t.Helper()
	out := map[string]Series{}
	for _, m := range tinySchema().Metrics {
		for _, r := range [][2]float64{{end - 60, end}, {end - 180, end}, {0, end}} {
			s := query(t, db, "dev", m.Name, r[0], r[1], 1000)
			out[m.Name+"/"+time.Duration(r[0]*1e9).String()] = s
		}
	}
	return out
}

func sameSnapshots(t *testing.T, got, want map[string]Series) {
	t.Helper()
	for k, w := range want {
		g := got[k]
		if g.Step != w.Step || !g.Start.Equal(w.Start) || !sameSlice(g.Min, w.Min) ||
			!sameSlice(g.Avg, w.Avg) || !sameSlice(g.Max, w.Max) {
			t.Errorf("%s:\n got %v %v %v\nwant %v %v %v", k, g.Min, g.Avg, g.Max, w.Min, w.Avg, w.Max)
		}
	}
}

// TestReopen checks that closing and reopening at any point (mid-PDP,
// mid-slot) gives exactly the same data as a store that never stopped.
func TestReopen(t *testing.T) {
	fs := makeFeed(7, 120)
	end := fs[len(fs)-1].sec + 1
	ref := openDB(t, t.TempDir(), nil)
	defer ref.Close()
	mustDefine(t, ref, "dev", tinySchema())
	ingest(t, ref, fs)
	want := snapshot(t, ref, end)

	for _, cuts := range [][]int{{1}, {17, 18, 60}, {5, 33, 34, 90, 119}} {
		t.Run("", func(t *testing.T) {
			dir := t.TempDir()
			db := openDB(t, dir, nil)
			mustDefine(t, db, "dev", tinySchema())
			prev := 0
			for _, c := range append(cuts, len(fs)) {
				ingest(t, db, fs[prev:c])
				prev = c
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
				db = openDB(t, dir, nil)
				mustDefine(t, db, "dev", tinySchema()) // no-op: same schema
			}
			sameSnapshots(t, snapshot(t, db, end), want)
			db.Close()
		})
	}
}

// crashAfterJournal makes a store whose last flush crashed after its
// journal was synced and before any page was written in place. It returns
// the folder and the snapshots of the first (complete) and second flush.
func crashAfterJournal(t *testing.T) (dir string, first, second map[string]Series, end1, end2 float64) {
	fs := makeFeed(11, 100)
	end1, end2 = fs[49].sec+1, fs[99].sec+1
	dir = t.TempDir()
	db := openDB(t, dir, nil)
	mustDefine(t, db, "dev", tinySchema())
	mustDefine(t, db, "dev2", tinySchema())
	ingest(t, db, fs[:50])
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	first = snapshot(t, db, end2)
	ingest(t, db, fs[50:])
	second = snapshot(t, db, end2)
	db.hookAfterJournal = func() error { return errors.New("simulated crash") }
	if err := db.Flush(); err == nil {
		t.Fatal("flush did not crash")
	}
	crash(db)
	return dir, first, second, end1, end2
}

func TestCrash(t *testing.T) {
	base, first, second, _, end := crashAfterJournal(t)
	devPath := func(dir string) string { return filepath.Join(dir, fileName("dev")) }
	tests := []struct {
		name       string
		damage     func(t *testing.T, dir string) // what the crash left
		want       func() map[string]Series
		wantDamage error
	}{
		{
			name:   "journal synced, pages not written: replayed",
			damage: func(t *testing.T, dir string) {},
			want:   func() map[string]Series { return second },
		},
		{
			name: "torn in-place write: replayed",
			damage: func(t *testing.T, dir string) {
				// Half of the state page and of the first data page
				// overwritten with garbage, as a torn write would.
				f, err := os.OpenFile(devPath(dir), os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				garbage := make([]byte, pageSize/2)
				for i := range garbage {
					garbage[i] = byte(i*7 + 1)
				}
				f.WriteAt(garbage, pageSize)
				f.WriteAt(garbage, 2*pageSize+100)
			},
			want: func() map[string]Series { return second },
		},
		{
			name: "torn journal: last flush lost, older data intact",
			damage: func(t *testing.T, dir string) {
				p := filepath.Join(dir, journalName)
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.Truncate(p, fi.Size()/2); err != nil {
					t.Fatal(err)
				}
			},
			want:       func() map[string]Series { return first },
			wantDamage: ErrTornJournal,
		},
		{
			name: "journal with a flipped bit: last flush lost",
			damage: func(t *testing.T, dir string) {
				p := filepath.Join(dir, journalName)
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				b[len(b)/2] ^= 0x10
				os.WriteFile(p, b, 0o644)
			},
			want:       func() map[string]Series { return first },
			wantDamage: ErrTornJournal,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, base)
			tc.damage(t, dir)
			var log damageLog
			db := openDB(t, dir, &log)
			defer db.Close()
			sameSnapshots(t, snapshot(t, db, end), tc.want())
			dm := log.all()
			switch {
			case tc.wantDamage == nil && len(dm) > 0:
				t.Errorf("damage reported: %v", dm)
			case tc.wantDamage != nil && (len(dm) != 1 || !errors.Is(dm[0].Err, tc.wantDamage)):
				t.Errorf("damage %v, want one %v", dm, tc.wantDamage)
			}
			// The store goes on: new samples after the recovered state.
			fs := makeFeed(11, 100)
			last := fs[49].sec
			if tc.wantDamage == nil {
				last = fs[99].sec
			}
			mustAdd(t, db, "dev", "g", last+10, 1)
			if err := db.Flush(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestDamage corrupts a store at rest (bit rot, a torn write whose
// journal is gone, a cut file): the damage is reported, the rest is read.
func TestDamage(t *testing.T) {
	fs := makeFeed(5, 60)
	end := fs[59].sec + 1
	base := t.TempDir()
	db := openDB(t, base, nil)
	mustDefine(t, db, "dev", tinySchema())
	ingest(t, db, fs)
	want := snapshot(t, db, end)
	lay := db.devices["dev"].lay
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	a0, a1 := lay.arch[0], lay.arch[1]
	tests := []struct {
		name       string
		damage     func(f *os.File)
		wantOffset int64
		wantQuery  func(t *testing.T, db *DB)
	}{
		{
			name:       "data page of the 30 s ring",
			damage:     func(f *os.File) { f.WriteAt([]byte{0xFF, 0xEE}, a1.off+10) },
			wantOffset: a1.off,
			wantQuery: func(t *testing.T, db *DB) {
				// The 10 s ring is intact.
				for _, m := range []string{"g", "c64"} {
					got := query(t, db, "dev", m, end-60, end, 1000)
					w := want[m+"/"+time.Duration((end-60)*1e9).String()]
					if !sameSlice(got.Avg, w.Avg) {
						t.Errorf("%s 10 s ring changed: %v, want %v", m, got.Avg, w.Avg)
					}
					all := query(t, db, "dev", m, 0, end, 1000)
					for i, v := range all.Avg {
						if !isNaN(v) {
							t.Errorf("%s slot %d of the damaged page: %v, want no data", m, i, v)
						}
					}
				}
			},
		},
		{
			name:       "data page of the 10 s ring",
			damage:     func(f *os.File) { f.WriteAt([]byte{1, 2, 3}, a0.off+int64(a0.pageBytes/2)) },
			wantOffset: a0.off,
			wantQuery: func(t *testing.T, db *DB) {
				w := want["g/"+time.Duration(0).String()]
				got := query(t, db, "dev", "g", 0, end, 1000)
				if !sameSlice(got.Avg, w.Avg) {
					t.Errorf("30 s ring changed: %v, want %v", got.Avg, w.Avg)
				}
			},
		},
		{
			name:       "state page",
			damage:     func(f *os.File) { f.WriteAt([]byte{9}, lay.stateOff+20) },
			wantOffset: lay.stateOff,
			wantQuery: func(t *testing.T, db *DB) {
				// State is lost: the series restart empty and go on.
				got := query(t, db, "dev", "g", 0, end, 1000)
				for _, v := range got.Avg {
					if !isNaN(v) {
						t.Fatalf("data after state loss: %v", got.Avg)
					}
				}
				e := float64(int(end/10)*10 + 10)
				mustAdd(t, db, "dev", "g", e+10, 1)
				mustAdd(t, db, "dev", "g", e+20, 2)
				mustAdd(t, db, "dev", "g", e+30, 3)
				if got := query(t, db, "dev", "g", e-30, e+30, 10); !sameSlice(got.Avg, []float64{nan, nan, nan, nan, 2, 3}) {
					t.Fatalf("after restart: %v", got.Avg)
				}
			},
		},
		{
			name:       "file cut before the 30 s ring",
			damage:     func(f *os.File) { f.Truncate(a1.off) },
			wantOffset: a1.off,
			wantQuery: func(t *testing.T, db *DB) {
				w := want["g/"+time.Duration((end-60)*1e9).String()]
				got := query(t, db, "dev", "g", end-60, end, 1000)
				if !sameSlice(got.Avg, w.Avg) {
					t.Errorf("10 s ring changed: %v, want %v", got.Avg, w.Avg)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, base)
			f, err := os.OpenFile(filepath.Join(dir, fileName("dev")), os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			tc.damage(f)
			f.Close()
			var log damageLog
			db := openDB(t, dir, &log)
			defer db.Close()
			found, err := db.Check()
			if err != nil {
				t.Fatal(err)
			}
			if len(found) != 1 || found[0].Offset != tc.wantOffset || !errors.Is(found[0].Err, ErrCorrupt) {
				t.Fatalf("Check found %v, want one at %d", found, tc.wantOffset)
			}
			if got := log.all(); len(got) != 1 {
				t.Fatalf("OnDamage got %v, want one report", got)
			}
			tc.wantQuery(t, db)
		})
	}
}

func isNaN(v float64) bool { return v != v }

func TestDamagedSchemaSetAside(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir, nil)
	mustDefine(t, db, "dev", tinySchema())
	mustDefine(t, db, "other", tinySchema())
	db.Close()
	p := filepath.Join(dir, fileName("dev"))
	f, _ := os.OpenFile(p, os.O_RDWR, 0)
	f.WriteAt([]byte("X"), 30)
	f.Close()
	var log damageLog
	db = openDB(t, dir, &log)
	defer db.Close()
	if _, err := db.Query("dev", "g", at(0), at(10), 10); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Query of damaged file: %v, want ErrCorrupt", err)
	}
	if len(log.all()) != 1 {
		t.Fatalf("damage %v", log.all())
	}
	if _, err := os.Stat(p + ".damaged"); err != nil {
		t.Fatalf("not set aside: %v", err)
	}
	mustDefine(t, db, "dev", tinySchema()) // created anew
	mustAdd(t, db, "dev", "g", 10, 1)
	query(t, db, "other", "g", 0, 10, 10)
}

func TestDefineChangedMetrics(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir, nil)
	mustDefine(t, db, "dev", tinySchema())
	fillGauge(t, db, 300)
	db.Flush()
	fillGaugeFrom(t, db, 310, 340)
	want := query(t, db, "dev", "g", 0, 350, 100)
	s := tinySchema()
	s.Metrics = append([]Metric{{Name: "new", Kind: Gauge, Encoding: Int16}}, s.Metrics[0], s.Metrics[3])
	mustDefine(t, db, "dev", s)
	got := query(t, db, "dev", "g", 0, 350, 100)
	if !sameSlice(got.Avg, want.Avg) || !sameSlice(got.Min, want.Min) {
		t.Fatalf("after redefine: %v, want %v", got.Avg, want.Avg)
	}
	if _, err := db.Query("dev", "c64", at(0), at(10), 10); !errors.Is(err, ErrUnknownMetric) {
		t.Fatalf("removed metric: %v", err)
	}
	fillGaugeFrom(t, db, 350, 400)
	mustAdd(t, db, "dev", "new", 400, 1)
	db.Close()
	db = openDB(t, dir, nil)
	defer db.Close()
	ref := openDB(t, t.TempDir(), nil)
	defer ref.Close()
	mustDefine(t, ref, "dev", tinySchema())
	fillGauge(t, ref, 300)
	fillGaugeFrom(t, ref, 310, 400)
	for _, r := range [][2]float64{{0, 410}, {350, 410}} {
		got, want := query(t, db, "dev", "g", r[0], r[1], 100), query(t, ref, "dev", "g", r[0], r[1], 100)
		if !sameSlice(got.Avg, want.Avg) || !sameSlice(got.Max, want.Max) {
			t.Fatalf("after reopen %v: %v, want %v", r, got.Avg, want.Avg)
		}
	}
	other := s
	other.Archives = other.Archives[:1]
	if err := db.Define("dev", other); !errors.Is(err, ErrArchivesChanged) {
		t.Fatalf("Define with other archives: %v", err)
	}
}

func fillGaugeFrom(t *testing.T, db *DB, from, end float64) {
	for s := from; s <= end; s += 10 {
		mustAdd(t, db, "dev", "g", s, s/10)
	}
}

func TestDelete(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir, nil)
	mustDefine(t, db, "dev", tinySchema())
	fillGauge(t, db, 100)
	if err := db.Delete("dev"); err != nil {
		t.Fatal(err)
	}
	if err := db.Add("dev", "g", at(200), 1); !errors.Is(err, ErrUnknownDevice) {
		t.Fatalf("Add after Delete: %v", err)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	mustDefine(t, db, "dev", tinySchema())
	got := query(t, db, "dev", "g", 0, 60, 10)
	for _, v := range got.Avg {
		if !isNaN(v) {
			t.Fatalf("data survived Delete: %v", got.Avg)
		}
	}
	db.Close()
	db = openDB(t, dir, nil)
	defer db.Close()
	if d := db.Devices(); len(d) != 1 || d[0] != "dev" {
		t.Fatalf("Devices = %v", d)
	}
}

func TestFileNames(t *testing.T) {
	for _, name := range []string{"00:11:22:aa:bb:cc", "cmts-1", "a/b", ".", "..", "x%41", "ü", "A_b-9"} {
		fn := fileName(name)
		if filepath.Base(fn) != fn || fn == "."+fileExt {
			t.Errorf("%q -> unsafe %q", name, fn)
		}
		back, ok := deviceName(fn)
		if !ok || back != name {
			t.Errorf("%q -> %q -> %q, %v", name, fn, back, ok)
		}
	}
	for _, fn := range []string{"journal", "LOCK", "x.tsdb.tmp", "%4.tsdb", "%41.tsdb", "a.b.tsdb", ".tsdb"} {
		if n, ok := deviceName(fn); ok {
			t.Errorf("%q taken as device %q", fn, n)
		}
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir, nil)
	defer db.Close()
	if db2, err := Open(dir, Options{}); err == nil {
		db2.Close()
		t.Fatal("second Open of the same folder succeeded")
	}
}

// TestConcurrent runs a poller, a reader and the flusher together (run
// with -race).
func TestConcurrent(t *testing.T) {
	db := openDB(t, t.TempDir(), nil)
	defer db.Close()
	const devs = 20
	for i := range devs {
		mustDefine(t, db, string(rune('a'+i)), tinySchema())
	}
	fs := makeFeed(3, 300)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for _, f := range fs {
			for i := range devs {
				if err := db.AddSamples(string(rune('a'+i)), at(f.sec), f.samples); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	stop := make(chan struct{})
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := db.Query("c", "g", at(0), at(4000), 200); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := db.Flush(); err != nil {
				t.Error(err)
				return
			}
			db.Stats()
		}
	}()
	wg.Add(1)
	go func() { // the inventory: modems come and go, a schema grows
		defer wg.Done()
		grown := tinySchema()
		grown.Metrics = append(grown.Metrics, Metric{Name: "extra", Kind: Gauge, Encoding: Int16})
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			name := fmt.Sprint("tmp", i%3)
			if err := db.Define(name, tinySchema()); err != nil {
				t.Error(err)
				return
			}
			if err := db.Add(name, "g", at(float64(i+1)), 1); err != nil {
				t.Error(err)
				return
			}
			if err := db.Define(name, grown); err != nil {
				t.Error(err)
				return
			}
			if err := db.Delete(name); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	time.Sleep(10 * time.Millisecond)
	for db.Stats().Samples < int64(len(fs)*devs*6) {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	// Every device got the same samples.
	for i := 1; i < devs; i++ {
		for _, m := range tinySchema().Metrics {
			a := query(t, db, "a", m.Name, 0, fs[len(fs)-1].sec+1, 1000)
			b := query(t, db, string(rune('a'+i)), m.Name, 0, fs[len(fs)-1].sec+1, 1000)
			if !sameSlice(a.Avg, b.Avg) {
				t.Fatalf("device %d differs", i)
			}
		}
	}
}

func TestRunFlushes(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{FlushInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mustDefine(t, db, "dev", tinySchema())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- db.Run(ctx) }()
	fillGauge(t, db, 100)
	deadline := time.Now().Add(5 * time.Second)
	for st := db.Stats(); (st.PendingRows > 0 || st.Flushes == 0) && time.Now().Before(deadline); st = db.Stats() {
		time.Sleep(5 * time.Millisecond)
	}
	st := db.Stats()
	if st.PendingRows != 0 || st.Flushes == 0 || st.BytesWritten == 0 || st.PagesWritten == 0 {
		t.Fatalf("Run did not flush: %+v", st)
	}
	if st.Devices != 1 || st.Loaded != 1 || st.Series != len(tinySchema().Metrics) || st.Samples != 11 {
		t.Fatalf("stats %+v", st)
	}
	mustAdd(t, db, "dev", "g", 110, 1)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if db.Stats().PendingRows != 0 {
		t.Fatal("Run did not flush when stopped")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if err := db.Add("dev", "g", at(120), 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close: %v", err)
	}
}

// TestFlushRetry fails a flush after its journal, keeps going, and checks
// that the rows kept for the retry (merged under newer ones) all land.
func TestFlushRetry(t *testing.T) {
	fs := makeFeed(13, 90)
	end := fs[89].sec + 1
	ref := openDB(t, t.TempDir(), nil)
	defer ref.Close()
	mustDefine(t, ref, "dev", tinySchema())
	ingest(t, ref, fs)
	want := snapshot(t, ref, end)

	dir := t.TempDir()
	db := openDB(t, dir, nil)
	mustDefine(t, db, "dev", tinySchema())
	ingest(t, db, fs[:40])
	db.hookAfterJournal = func() error { return errors.New("disk full") }
	if err := db.Flush(); err == nil {
		t.Fatal("flush did not fail")
	}
	if st := db.Stats(); st.FlushErrors != 1 || st.LastError == nil || st.PendingRows == 0 {
		t.Fatalf("stats after a failed flush: %+v", st)
	}
	db.hookAfterJournal = nil
	ingest(t, db, fs[40:70])
	ref70 := openDB(t, t.TempDir(), nil)
	defer ref70.Close()
	mustDefine(t, ref70, "dev", tinySchema())
	ingest(t, ref70, fs[:70])
	sameSnapshots(t, snapshot(t, db, end), snapshot(t, ref70, end)) // reads merge memory
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	ingest(t, db, fs[70:])
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDB(t, dir, nil)
	defer db.Close()
	sameSnapshots(t, snapshot(t, db, end), want)
}

// TestHugeSchema is a regression test from fuzzing: a header (checksum
// intact) may declare rings of any size; a device is capped at 64 MiB so
// that neither Define nor a damaged header allocates without bound.
func TestHugeSchema(t *testing.T) {
	s := tinySchema()
	s.Archives[1].Span = 1 << 20 * s.Archives[1].Step
	s.Metrics[0].Encoding = Float64
	for range 100 {
		s.Metrics = append(s.Metrics, Metric{Name: fmt.Sprint("m", len(s.Metrics)), Kind: Gauge, Encoding: Float64})
	}
	db := openDB(t, t.TempDir(), nil)
	defer db.Close()
	if err := db.Define("dev", s); !errors.Is(err, ErrSchema) {
		t.Fatalf("Define of a %d-row ring: %v", s.Archives[1].Rows(), err)
	}
	if _, _, _, err := decodeSchema(encodeSchema("dev", 1, s)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("decode of a huge schema: %v", err)
	}
}

// TestJournalPastEnd is a regression test from fuzzing: a journal record
// (checksum intact) past the end of its file is reported, not written.
func TestJournalPastEnd(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir, nil)
	mustDefine(t, db, "dev", tinySchema())
	fileID := db.devices["dev"].fileID
	size := db.devices["dev"].lay.size
	db.Close()
	fn := fileName("dev")
	j := make([]byte, journalHeader)
	copy(j, journalMagic)
	j[8] = FormatVersion
	binary.LittleEndian.PutUint32(j[12:], 1)
	j = binary.LittleEndian.AppendUint16(j, uint16(len(fn)))
	j = append(j, fn...)
	j = binary.LittleEndian.AppendUint64(j, fileID)
	j = binary.LittleEndian.AppendUint64(j, uint64(1<<40))
	j = binary.LittleEndian.AppendUint32(j, pageSize)
	j = append(j, make([]byte, pageSize)...)
	binary.LittleEndian.PutUint64(j[16:], uint64(len(j)+4))
	binary.LittleEndian.PutUint64(j[24:], uint64(len(j)-journalHeader)) // not deflated
	j = binary.LittleEndian.AppendUint32(j, crc32.Checksum(j, castagnoli))
	if err := os.WriteFile(filepath.Join(dir, journalName), j, 0o644); err != nil {
		t.Fatal(err)
	}
	var log damageLog
	db = openDB(t, dir, &log)
	defer db.Close()
	if d := log.all(); len(d) != 1 || d[0].Offset != 1<<40 {
		t.Fatalf("damage %v", d)
	}
	if fi, err := os.Stat(filepath.Join(dir, fn)); err != nil || fi.Size() != size {
		t.Fatalf("file grew: %v %v", fi.Size(), err)
	}
}
