package tsdb

import (
	"errors"
	"testing"
	"time"
)

type sample struct {
	sec   float64
	v     float64
	reset bool
}

type want struct {
	from, to      float64
	step          time.Duration
	min, avg, max []float64
}

func addAll(t *testing.T, db *DB, metric string, ss []sample) {
	t.Helper()
	for _, s := range ss {
		if err := db.AddSamples("dev", at(s.sec), []Sample{{Metric: metric, Value: s.v, Reset: s.reset}}); err != nil {
			t.Fatalf("add %s at %v = %v: %v", metric, s.sec, s.v, err)
		}
	}
}

func checkWant(t *testing.T, db *DB, metric string, w want) {
	t.Helper()
	got := query(t, db, "dev", metric, w.from, w.to, 1000)
	if got.Step != w.step {
		t.Errorf("[%v,%v) step %v, want %v", w.from, w.to, got.Step, w.step)
	}
	if !got.Start.Equal(at(w.from)) {
		t.Errorf("[%v,%v) start %v, want %v", w.from, w.to, got.Start.Sub(t0), w.from)
	}
	if !sameSlice(got.Avg, w.avg) {
		t.Errorf("[%v,%v) avg %v, want %v", w.from, w.to, got.Avg, w.avg)
	}
	if w.min != nil && !sameSlice(got.Min, w.min) {
		t.Errorf("[%v,%v) min %v, want %v", w.from, w.to, got.Min, w.min)
	}
	if w.max != nil && !sameSlice(got.Max, w.max) {
		t.Errorf("[%v,%v) max %v, want %v", w.from, w.to, got.Max, w.max)
	}
}

// TestConsolidation checks PDPs (base step, time weighted) and the
// MIN/AVERAGE/MAX of the 30 s archive against values computed by hand.
// A gauge sample at t covers (previous sample, t].
func TestConsolidation(t *testing.T) {
	tests := []struct {
		name    string
		metric  string
		samples []sample
		want    []want
	}{
		{
			name:   "gauge aligned",
			metric: "g",
			// PDP [10p, 10p+10) takes the sample at 10p+10: 1..9.
			samples: []sample{{0, 0, false}, {10, 1, false}, {20, 2, false}, {30, 3, false}, {40, 4, false},
				{50, 5, false}, {60, 6, false}, {70, 7, false}, {80, 8, false}, {90, 9, false}},
			want: []want{
				{from: 30, to: 90, step: 10 * time.Second, avg: []float64{4, 5, 6, 7, 8, 9}},
				{from: 0, to: 90, step: 30 * time.Second,
					min: []float64{1, 4, 7}, avg: []float64{2, 5, 8}, max: []float64{3, 6, 9}},
			},
		},
		{
			name:   "gauge time weighted",
			metric: "g",
			// PDP0: 5 s of 10 (half known: known) = 10; PDP1: 5 s of 10 and
			// 5 s of 20 = 15; PDP2 = 25; PDP3 only 5 s so far, not done.
			samples: []sample{{5, 0, false}, {15, 10, false}, {25, 20, false}, {35, 30, false}},
			want: []want{
				{from: 0, to: 30, step: 10 * time.Second, avg: []float64{10, 15, 25}},
				{from: -60, to: 30, step: 30 * time.Second,
					min: []float64{nan, nan, 10}, avg: []float64{nan, nan, 50.0 / 3}, max: []float64{nan, nan, 25}},
			},
		},
		{
			name:   "gauge less than half a step known",
			metric: "g",
			// (6, 10] is 4 s of PDP0: unknown. PDP1 = 4 s of 10 and 6 s
			// of 20 = 16, PDP2 = 30.
			samples: []sample{{6, 0, false}, {14, 10, false}, {20, 20, false}, {30, 30, false}},
			want: []want{
				{from: 0, to: 30, step: 10 * time.Second, avg: []float64{nan, 16, 30}},
				{from: -60, to: 30, step: 30 * time.Second,
					min: []float64{nan, nan, 16}, avg: []float64{nan, nan, 23}, max: []float64{nan, nan, 30}},
			},
		},
		{
			name:   "gap longer than the heartbeat is no data",
			metric: "g",
			// (20, 60] is 40 s > 20 s heartbeat: PDPs 2..5 unknown.
			samples: []sample{{0, 1, false}, {10, 2, false}, {20, 3, false}, {60, 7, false}, {70, 8, false},
				{80, 9, false}, {90, 10, false}},
			want: []want{
				{from: 30, to: 90, step: 10 * time.Second, avg: []float64{nan, nan, nan, 8, 9, 10}},
				// Slot 0 has 2 of 3 PDPs (xff 0.5): known; slot 1 none.
				{from: 0, to: 90, step: 30 * time.Second,
					min: []float64{2, nan, 8}, avg: []float64{2.5, nan, 9}, max: []float64{3, nan, 10}},
			},
		},
		{
			name:   "one missed poll within the heartbeat is spread",
			metric: "g",
			samples: []sample{{0, 1, false}, {10, 2, false}, {30, 4, false}, {40, 5, false}, {50, 6, false},
				{60, 7, false}},
			want: []want{
				{from: 0, to: 60, step: 10 * time.Second, avg: []float64{2, 4, 4, 5, 6, 7}},
			},
		},
		{
			name:   "xff: one PDP of three is not enough",
			metric: "g",
			samples: []sample{{0, 1, false}, {10, 2, false}, {60, 3, false}, {70, 4, false}, {80, 5, false},
				{90, 6, false}},
			want: []want{
				{from: 0, to: 90, step: 30 * time.Second,
					min: []float64{nan, nan, 4}, avg: []float64{nan, nan, 5}, max: []float64{nan, nan, 6}},
			},
		},
		{
			name:   "NaN gauge is no data, never zero",
			metric: "g",
			samples: []sample{{0, 1, false}, {10, 2, false}, {20, nan, false}, {30, 4, false}, {40, 5, false},
				{50, 6, false}, {60, 7, false}},
			want: []want{
				{from: 0, to: 60, step: 10 * time.Second, avg: []float64{2, nan, 4, 5, 6, 7}},
			},
		},
		{
			name:   "int16 tenths round and saturate",
			metric: "i16",
			samples: []sample{{0, 0, false}, {10, -3.14, false}, {20, 5000, false}, {30, -5000, false},
				{40, 42.25, false}, {50, nan, false}, {60, 0.04, false}},
			want: []want{
				{from: 0, to: 60, step: 10 * time.Second, avg: []float64{-3.1, 3276.7, -3276.7, 42.3, nan, 0}},
			},
		},
		{
			name:   "uint32 thousandths",
			metric: "u32",
			// Rates 0.1/s, 12345.6/s, 0.2/s, then 1/15 per s rounded.
			samples: []sample{{0, 0, false}, {10, 1, false}, {20, 123457, false}, {30, 123459, false},
				{45, 123460, false}},
			want: []want{
				{from: 0, to: 40, step: 10 * time.Second, avg: []float64{0.1, 12345.6, 0.2, 0.067}},
			},
		},
		{
			name:   "64-bit counter rate",
			metric: "c64",
			samples: []sample{{0, 0, false}, {10, 1000, false}, {20, 3000, false}, {25, 3500, false},
				{30, 3600, false}},
			// PDP2 = 5 s at 100/s and 5 s at 20/s.
			want: []want{{from: 0, to: 30, step: 10 * time.Second, avg: []float64{100, 200, 60}}},
		},
		{
			name:    "32-bit wrap",
			metric:  "c32",
			samples: []sample{{0, 4294967000, false}, {10, 200, false}, {20, 1200, false}},
			want:    []want{{from: 0, to: 20, step: 10 * time.Second, avg: []float64{49.6, 100}}},
		},
		{
			name:   "32-bit reset is no data, not a spike",
			metric: "c32",
			// 1e9 -> 5 would be a wrap of 3.29e9 (more than half the range).
			samples: []sample{{0, 1e9, false}, {10, 5, false}, {20, 105, false}},
			want:    []want{{from: 0, to: 20, step: 10 * time.Second, avg: []float64{nan, 10}}},
		},
		{
			name:    "64-bit wrap",
			metric:  "c64",
			samples: []sample{{0, 18446744073709547520, false}, {10, 904, false}, {20, 1904, false}},
			want:    []want{{from: 0, to: 20, step: 10 * time.Second, avg: []float64{500, 100}}},
		},
		{
			name:    "64-bit reset is no data",
			metric:  "c64",
			samples: []sample{{0, 1e12, false}, {10, 10, false}, {20, 1010, false}},
			want:    []want{{from: 0, to: 20, step: 10 * time.Second, avg: []float64{nan, 100}}},
		},
		{
			name:   "reset flag (reboot) is no data even when the counter grew",
			metric: "c64",
			samples: []sample{{0, 0, false}, {10, 1000, false}, {20, 5000, true}, {30, 6000, false},
				{40, 7000, false}},
			want: []want{{from: 0, to: 40, step: 10 * time.Second, avg: []float64{100, nan, 100, 100}}},
		},
		{
			name:   "NaN reading forgets the counter",
			metric: "c64",
			samples: []sample{{0, 0, false}, {10, 1000, false}, {20, nan, false}, {30, 1e6, false},
				{40, 1e6 + 500, false}},
			want: []want{{from: 0, to: 40, step: 10 * time.Second, avg: []float64{100, nan, nan, 50}}},
		},
		{
			name:    "rate above Max is no data",
			metric:  "max50",
			samples: []sample{{0, 0, false}, {10, 1000, false}, {20, 1200, false}},
			want:    []want{{from: 0, to: 20, step: 10 * time.Second, avg: []float64{nan, 20}}},
		},
		{
			name:    "counter gap beyond the heartbeat",
			metric:  "c64",
			samples: []sample{{0, 0, false}, {10, 100, false}, {40, 400, false}, {50, 500, false}},
			want:    []want{{from: 0, to: 50, step: 10 * time.Second, avg: []float64{10, nan, nan, nan, 10}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t, t.TempDir(), nil)
			defer db.Close()
			mustDefine(t, db, "dev", tinySchema())
			addAll(t, db, tc.metric, tc.samples)
			for _, w := range tc.want {
				checkWant(t, db, tc.metric, w)
			}
			// The same answers after a flush (read from disk) and a reopen.
			if err := db.Flush(); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				checkWant(t, db, tc.metric, w)
			}
		})
	}
}

func TestAddErrors(t *testing.T) {
	db := openDB(t, t.TempDir(), nil)
	defer db.Close()
	mustDefine(t, db, "dev", tinySchema())
	mustAdd(t, db, "dev", "g", 10, 1)
	mustAdd(t, db, "dev", "c32", 10, 1)
	tests := []struct {
		name   string
		dev    string
		metric string
		sec    float64
		v      float64
		want   error
	}{
		{"same time", "dev", "g", 10, 1, ErrStale},
		{"older", "dev", "g", 5, 1, ErrStale},
		{"infinity", "dev", "g", 20, inf(), ErrBadValue},
		{"negative counter", "dev", "c32", 20, -1, ErrBadValue},
		{"fractional counter", "dev", "c32", 20, 1.5, ErrBadValue},
		{"32-bit counter too wide", "dev", "c32", 20, 1 << 32, ErrBadValue},
		{"unknown metric", "dev", "nope", 20, 1, ErrUnknownMetric},
		{"unknown device", "nodev", "g", 20, 1, ErrUnknownDevice},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := db.Add(tc.dev, tc.metric, at(tc.sec), tc.v)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Add = %v, want %v", err, tc.want)
			}
		})
	}
}

func inf() float64 { return 1 / zero }

var zero = 0.0

func TestSchemaErrors(t *testing.T) {
	ok := tinySchema()
	tests := []struct {
		name string
		edit func(s *Schema)
	}{
		{"no archives", func(s *Schema) { s.Archives = nil }},
		{"no metrics", func(s *Schema) { s.Metrics = nil }},
		{"fractional step", func(s *Schema) { s.Archives[0].Step = 1500 * time.Millisecond }},
		{"step not a multiple", func(s *Schema) { s.Archives[1].Step = 25 * time.Second }},
		{"span not a multiple", func(s *Schema) { s.Archives[1].Span = 100 * time.Second }},
		{"finer after coarser", func(s *Schema) { s.Archives[0], s.Archives[1] = s.Archives[1], s.Archives[0] }},
		{"duplicate metric", func(s *Schema) { s.Metrics[1].Name = "g" }},
		{"empty name", func(s *Schema) { s.Metrics[0].Name = "" }},
		{"bad kind", func(s *Schema) { s.Metrics[0].Kind = 9 }},
		{"bad encoding", func(s *Schema) { s.Metrics[0].Encoding = 0 }},
		{"negative scale", func(s *Schema) { s.Metrics[0].Scale = -1 }},
	}
	db := openDB(t, t.TempDir(), nil)
	defer db.Close()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tinySchema()
			tc.edit(&s)
			if err := db.Define("dev", s); !errors.Is(err, ErrSchema) {
				t.Fatalf("Define = %v, want ErrSchema", err)
			}
		})
	}
	mustDefine(t, db, "dev", ok)
	if err := db.Define("bad/name/"+string(make([]byte, 100)), ok); err == nil {
		t.Fatal("Define accepted a 110-byte device name")
	}
}
