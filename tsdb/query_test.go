package tsdb

import (
	"testing"
	"time"
)

// fillGauge adds a gauge "g" sample every 10 s from 0 to end (seconds);
// PDP p then holds value p+1.
func fillGauge(t *testing.T, db *DB, end float64) {
	t.Helper()
	for s := 0.0; s <= end; s += 10 {
		mustAdd(t, db, "dev", "g", s, s/10)
	}
}

func TestArchiveSelection(t *testing.T) {
	db := openDB(t, t.TempDir(), nil)
	defer db.Close()
	mustDefine(t, db, "dev", tinySchema())
	fillGauge(t, db, 300) // PDPs 0..29 done; 10 s ring holds 24..29, 30 s ring 4..9.
	tests := []struct {
		name      string
		from, to  float64
		step      time.Duration
		wantStart float64
		wantAvg   []float64
	}{
		{"last minute: 10 s ring", 240, 300, 10 * time.Second, 240, []float64{25, 26, 27, 28, 29, 30}},
		{"part of the last minute", 260, 280, 10 * time.Second, 260, []float64{27, 28}},
		{"unaligned range", 265, 281, 10 * time.Second, 260, []float64{27, 28, 29}},
		{"past the 10 s ring: 30 s ring", 230, 300, 30 * time.Second, 210, []float64{23, 26, 29}},
		{"future slots are no data", 280, 320, 10 * time.Second, 280, []float64{29, 30, nan, nan}},
		{"older than every ring: coarsest", 0, 300, 30 * time.Second, 0,
			[]float64{nan, nan, nan, nan, 14, 17, 20, 23, 26, 29}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := query(t, db, "dev", "g", tc.from, tc.to, 100)
			if got.Step != tc.step || !got.Start.Equal(at(tc.wantStart)) || !sameSlice(got.Avg, tc.wantAvg) {
				t.Fatalf("got step %v start %v avg %v, want %v %v %v",
					got.Step, got.Start.Sub(t0), got.Avg, tc.step, tc.wantStart, tc.wantAvg)
			}
		})
	}
}

func TestDownsampling(t *testing.T) {
	db := openDB(t, t.TempDir(), nil)
	defer db.Close()
	mustDefine(t, db, "dev", tinySchema())
	fillGauge(t, db, 90) // 10 s ring: slots 3..8 hold 4..9.
	tests := []struct {
		name          string
		maxPoints     int
		step          time.Duration
		start         float64
		min, avg, max []float64
	}{
		{"no downsampling", 6, 10 * time.Second, 30,
			[]float64{4, 5, 6, 7, 8, 9}, []float64{4, 5, 6, 7, 8, 9}, []float64{4, 5, 6, 7, 8, 9}},
		{"3 slots a point", 2, 30 * time.Second, 30,
			[]float64{4, 7}, []float64{5, 8}, []float64{6, 9}},
		// Runs aligned to multiples of 2 slots: [2,3] [4,5] [6,7] [8,9].
		{"aligned runs", 4, 20 * time.Second, 20,
			[]float64{4, 5, 7, 9}, []float64{4, 5.5, 7.5, 9}, []float64{4, 6, 8, 9}},
		// 6 slots would straddle a boundary of 6: runs of 7, [2..8].
		{"one point", 1, 70 * time.Second, 20,
			[]float64{4}, []float64{6.5}, []float64{9}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := query(t, db, "dev", "g", 30, 90, tc.maxPoints)
			if got.Len() > tc.maxPoints {
				t.Fatalf("%d points, max %d", got.Len(), tc.maxPoints)
			}
			if got.Step != tc.step || !got.Start.Equal(at(tc.start)) {
				t.Fatalf("step %v start %v, want %v %v", got.Step, got.Start.Sub(t0), tc.step, tc.start)
			}
			if !sameSlice(got.Min, tc.min) || !sameSlice(got.Avg, tc.avg) || !sameSlice(got.Max, tc.max) {
				t.Fatalf("min %v avg %v max %v, want %v %v %v", got.Min, got.Avg, got.Max, tc.min, tc.avg, tc.max)
			}
		})
	}
}

func TestDownsamplingKeepsMinMaxOfArchive(t *testing.T) {
	db := openDB(t, t.TempDir(), nil)
	defer db.Close()
	mustDefine(t, db, "dev", tinySchema())
	fillGauge(t, db, 300)
	// The 30 s ring holds slots 4..9 with min 3s+1, avg 3s+2, max 3s+3;
	// runs of 3 would need 3 points ([3..5] [6..8] [9..11]), so runs of 4:
	// [4..7] and [8..11].
	got := query(t, db, "dev", "g", 120, 300, 2)
	want := Series{Step: 120 * time.Second, Min: []float64{13, 25}, Avg: []float64{18.5, 27.5}, Max: []float64{24, 30}}
	if got.Step != want.Step || !sameSlice(got.Min, want.Min) || !sameSlice(got.Avg, want.Avg) || !sameSlice(got.Max, want.Max) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestQueryErrors(t *testing.T) {
	db := openDB(t, t.TempDir(), nil)
	defer db.Close()
	mustDefine(t, db, "dev", tinySchema())
	if _, err := db.Query("dev", "g", at(0), at(10), 0); err == nil {
		t.Error("maxPoints 0 accepted")
	}
	if _, err := db.Query("dev", "g", at(10), at(10), 10); err == nil {
		t.Error("empty range accepted")
	}
	got := query(t, db, "dev", "g", 0, 60, 10)
	if got.Len() != 6 || !sameSlice(got.Avg, []float64{nan, nan, nan, nan, nan, nan}) {
		t.Errorf("series without data: %+v", got)
	}
}

// TestQueryPointBudget checks, over many ranges and budgets, that a query
// never returns more than maxPoints points and that they cover the range.
func TestQueryPointBudget(t *testing.T) {
	db := openDB(t, t.TempDir(), nil)
	defer db.Close()
	mustDefine(t, db, "dev", tinySchema())
	fillGauge(t, db, 300)
	for _, maxPoints := range []int{1, 2, 3, 7, 50, 1000} {
		for _, r := range [][2]float64{{0, 300}, {1, 299}, {-1e9, 300}, {-3e17, 1e6}, {290, 291}, {123, 457}} {
			s := query(t, db, "dev", "g", r[0], r[1], maxPoints)
			if s.Len() > maxPoints || s.Len() == 0 {
				t.Errorf("[%v,%v) max %d: %d points", r[0], r[1], maxPoints, s.Len())
			}
			if s.Start.After(at(r[0])) && r[0] > -1.8e9 || s.Time(s.Len()).Before(at(r[1])) {
				t.Errorf("[%v,%v) max %d: points cover [%v,%v)", r[0], r[1], maxPoints, s.Start.Sub(t0), s.Time(s.Len()).Sub(t0))
			}
		}
	}
}

// TestLongGap checks that a gap longer than every ring blanks the rings
// (old laps must not show up as new data) without a loop per missed slot.
func TestLongGap(t *testing.T) {
	db := openDB(t, t.TempDir(), nil)
	defer db.Close()
	mustDefine(t, db, "dev", tinySchema())
	fillGauge(t, db, 300)
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	const later = 10 * 365 * 24 * 3600 // ten years
	for s := 0.0; s <= 60; s += 10 {
		mustAdd(t, db, "dev", "g", later+s, 100+s)
	}
	got := query(t, db, "dev", "g", later-120, later+60, 100)
	if got.Step != 30*time.Second {
		t.Fatalf("step %v", got.Step)
	}
	for i, v := range got.Avg[:4] {
		if !isNaN(v) {
			t.Errorf("slot %d before the restart: %v, want no data", i, v)
		}
	}
	// [later, later+30): PDPs 110, 120, 130; [later+30, +60): 140, 150, 160.
	if !sameSlice(got.Avg[4:], []float64{120, 150}) {
		t.Errorf("after the gap: %v", got.Avg)
	}
	fine := query(t, db, "dev", "g", later, later+60, 100)
	if !sameSlice(fine.Avg, []float64{110, 120, 130, 140, 150, 160}) {
		t.Errorf("10 s ring after the gap: %v", fine.Avg)
	}
}
