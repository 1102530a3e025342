package tsdb

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"time"
)

// Series is the answer to a Query: point i covers [Time(i), Time(i)+Step)
// and holds the minimum, average and maximum of the slots in it; NaN is
// no data.
type Series struct {
	Start         time.Time
	Step          time.Duration
	Min, Avg, Max []float64
}

// Len is the number of points.
func (s Series) Len() int { return len(s.Avg) }

// Time returns the start of point i.
func (s Series) Time(i int) time.Time { return s.Start.Add(time.Duration(i) * s.Step) }

// Query returns one metric of a device over [from, to) as at most
// maxPoints points. It reads the finest archive whose ring reaches back to
// from (or the coarsest if none does) and, when that has more slots than
// maxPoints, merges runs of g slots into one point (min of the minimums,
// mean of the averages, max of the maximums), runs aligned to multiples of
// g slots so points do not shift as time moves on.
func (db *DB) Query(device, metric string, from, to time.Time, maxPoints int) (Series, error) {
	if maxPoints < 1 {
		return Series{}, fmt.Errorf("query %s %s: maxPoints %d", device, metric, maxPoints)
	}
	if !to.After(from) {
		return Series{}, fmt.Errorf("query %s %s: empty range %v to %v", device, metric, from, to)
	}
	d, err := db.lookup(device)
	if err != nil {
		return Series{}, err
	}
	defer d.mu.Unlock()
	j, ok := d.byName[metric]
	if !ok {
		return Series{}, fmt.Errorf("%s: %w %q", device, ErrUnknownMetric, metric)
	}
	fromNs, toNs := max(from.UnixNano(), 0), max(to.UnixNano(), 1)
	k := d.pickArchive(j, fromNs, toNs)
	a := &d.lay.arch[k]
	step := int64(a.step)
	first := fromNs / step
	last := (toNs+step-1)/step - 1
	n := last - first + 1
	// Runs of g slots aligned to multiples of g (origin 0); if a few
	// tries of g do not fit maxPoints, runs start at the first slot.
	g, org := max(1, (n+int64(maxPoints)-1)/int64(maxPoints)), int64(0)
	for try := 0; (last-org)/g-(first-org)/g+1 > int64(maxPoints); try++ {
		if try == 8 {
			g, org = (n+int64(maxPoints)-1)/int64(maxPoints), first
			break
		}
		g++
	}
	outFirst := (first - org) / g
	m := int((last-org)/g - outFirst + 1)
	s := Series{
		Start: time.Unix(0, (org+outFirst*g)*step),
		Step:  time.Duration(g * step),
		Min:   make([]float64, m),
		Avg:   make([]float64, m),
		Max:   make([]float64, m),
	}
	for i := range m {
		s.Min[i], s.Avg[i], s.Max[i] = math.NaN(), math.NaN(), math.NaN()
	}
	oldest, lastDone, ok := d.window(j, k)
	lo, hi := max(first, oldest), min(last, lastDone)
	if !ok || lo > hi {
		return s, nil
	}
	cnt := make([]int32, m)
	err = db.scanSlots(d, j, k, lo, hi, func(i int64, mn, av, mx float64) {
		o := (lo+i-org)/g - outFirst
		if !math.IsNaN(av) {
			if cnt[o] == 0 {
				s.Avg[o] = 0
			}
			s.Avg[o] += av
			cnt[o]++
		}
		if !math.IsNaN(mn) && !(s.Min[o] <= mn) {
			s.Min[o] = mn
		}
		if !math.IsNaN(mx) && !(s.Max[o] >= mx) {
			s.Max[o] = mx
		}
	})
	if err != nil {
		return Series{}, fmt.Errorf("query %s %s: %w", device, metric, err)
	}
	for o, c := range cnt {
		if c > 1 {
			s.Avg[o] /= float64(c)
		}
	}
	return s, nil
}

// pickArchive returns the finest archive whose ring reaches back to from.
func (d *device) pickArchive(j int, from, to int64) int {
	s := &d.series[j]
	for k := range d.lay.arch {
		a := &d.lay.arch[k]
		if s.last == 0 {
			if to-from <= int64(a.step)*a.rows {
				return k
			}
			continue
		}
		_, lastDone, _ := d.window(j, k)
		if (lastDone-a.rows+1)*int64(a.step) <= from {
			return k
		}
	}
	return len(d.lay.arch) - 1
}

// readChunk is the most bytes scanSlots reads at once.
const readChunk = 256 << 10

var readBufs = sync.Pool{New: func() any { b := make([]byte, readChunk); return &b }}

type slotValue struct {
	i          int64
	mn, av, mx float64
}

// scanSlots calls emit, in order, with slot lo+i for i in 0..hi-lo of
// series j in archive k: from the rows kept in memory where they hold it,
// else from the file. d.mu is held.
func (db *DB) scanSlots(d *device, j, k int, lo, hi int64, emit func(i int64, mn, av, mx float64)) error {
	a := &d.lay.arch[k]
	me := &d.series[j].m
	w := me.Encoding.width()
	n := hi - lo + 1
	decode := func(row []byte) (mn, av, mx float64) {
		c := row[a.col[j]:]
		if a.cells == 1 {
			v := getCell(c, me.Encoding, me.Scale)
			return v, v, v
		}
		return getCell(c, me.Encoding, me.Scale), getCell(c[w:], me.Encoding, me.Scale), getCell(c[2*w:], me.Encoding, me.Scale)
	}
	r0 := lo % a.rows
	// Rows kept in memory, newest last, sorted by slot.
	var mem []slotValue
	for _, sets := range [][]*rowSet{d.flight, d.pend} {
		if sets == nil {
			continue
		}
		ps := sets[k]
		for e, r := range ps.rows {
			if !ps.has(e, j) {
				continue
			}
			if i := (r - r0 + a.rows) % a.rows; i < n {
				v := slotValue{i: i}
				v.mn, v.av, v.mx = decode(ps.row(e))
				mem = append(mem, v)
			}
		}
	}
	slices.SortStableFunc(mem, func(x, y slotValue) int { return cmp.Compare(x.i, y.i) })
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	maxPages := max(1, int64(len(*bp)/a.pageBytes))
	nan := math.NaN()
	mi := 0
	for i := int64(0); i < n; {
		r := (r0 + i) % a.rows
		firstPage := r / a.rowsPerPage
		lastPage := min((r+(n-i)-1)/a.rowsPerPage, (a.rows-1)/a.rowsPerPage, firstPage+maxPages-1)
		off := a.off + firstPage*int64(a.pageBytes)
		size := int((lastPage - firstPage + 1) * int64(a.pageBytes))
		if len(*bp) < size {
			*bp = make([]byte, size)
		}
		buf := (*bp)[:size]
		if _, err := d.f.ReadAt(buf, off); err != nil && err != io.EOF {
			return fmt.Errorf("read %s at %d: %w", d.name, off, err)
		}
		for p := firstPage; p <= lastPage; p++ {
			page := buf[(p-firstPage)*int64(a.pageBytes):][:a.pageBytes]
			pOff := a.off + p*int64(a.pageBytes)
			state := checkPage(page, pOff)
			if state == pageBad {
				db.reportPage(d, pOff)
			}
			re := min((p+1)*a.rowsPerPage, a.rows, r+(n-i))
			for rr := r; rr < re; rr, i = rr+1, i+1 {
				for mi < len(mem) && mem[mi].i < i {
					mi++
				}
				switch {
				case mi < len(mem) && mem[mi].i == i:
					for mi+1 < len(mem) && mem[mi+1].i == i {
						mi++ // the newest write of the slot
					}
					emit(i, mem[mi].mn, mem[mi].av, mem[mi].mx)
				case state == pageOK:
					mn, av, mx := decode(page[int(rr%a.rowsPerPage)*a.rowSize:])
					emit(i, mn, av, mx)
				default:
					emit(i, nan, nan, nan)
				}
			}
			r = re
		}
	}
	return nil
}
