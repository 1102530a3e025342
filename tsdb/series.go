package tsdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrStale is returned for a sample not newer than the series' last one.
var ErrStale = errors.New("sample not newer than the last one")

// ErrBadValue is returned for a value that cannot be stored: an infinity,
// or a counter reading that is negative, fractional or too wide.
var ErrBadValue = errors.New("bad value")

// series is the consolidation state of one (device, metric): the RRD
// "PDP prep" and "CDP prep". It is saved in the state pages at each flush.
type series struct {
	m          Metric
	last       int64 // Unix ns of the last sample; 0 = none yet
	raw        uint64
	haveRaw    bool // raw is a usable counter baseline
	clearRings bool // state was lost: the first sample blanks every ring
	pdpKnown   int64
	pdpSum     float64 // value × seconds over the known part of the PDP
	acc        []cdpAcc
}

// cdpAcc accumulates the PDPs of the current slot of one archive.
type cdpAcc struct {
	n             uint32 // known PDPs
	sum, min, max float64
}

func (c *cdpAcc) add(v float64, n int64) {
	if c.n == 0 {
		c.min, c.max = v, v
	} else {
		c.min, c.max = min(c.min, v), max(c.max, v)
	}
	c.n += uint32(n)
	c.sum += v * float64(n)
}

// add ingests one sample of series j. d.mu is held.
func (d *device) add(j int, t time.Time, v float64, reset bool) error {
	s := &d.series[j]
	tn := t.UnixNano()
	if tn <= 0 {
		return fmt.Errorf("%s %s at %v: %w: time before 1970", d.name, s.m.Name, t, ErrBadValue)
	}
	if s.last != 0 && tn <= s.last {
		return fmt.Errorf("%s %s at %v: %w (last %v)", d.name, s.m.Name, t.UTC(), ErrStale, time.Unix(0, s.last).UTC())
	}
	if math.IsInf(v, 0) {
		return fmt.Errorf("%s %s: %w: %v", d.name, s.m.Name, ErrBadValue, v)
	}
	known := !math.IsNaN(v)
	val := v
	if s.m.Kind.counter() {
		if !known {
			s.haveRaw = false
		} else {
			limit := math.Ldexp(1, 64)
			if s.m.Kind == Counter32 {
				limit = math.Ldexp(1, 32)
			}
			if v < 0 || v >= limit || v != math.Trunc(v) {
				return fmt.Errorf("%s %s: %w: counter reading %v", d.name, s.m.Name, ErrBadValue, v)
			}
			x := uint64(v)
			if !s.haveRaw || reset || s.last == 0 {
				known = false
			} else {
				delta := x - s.raw
				half := uint64(1) << 63
				if s.m.Kind == Counter32 {
					delta &= math.MaxUint32
					half = 1 << 31
				}
				if x < s.raw && delta >= half {
					known = false // a reset, not a wrap
				}
				val = float64(delta) / (float64(tn-s.last) / 1e9)
			}
			s.raw, s.haveRaw = x, true
		}
	}
	if known && s.m.Max > 0 && val > s.m.Max {
		known = false
	}
	d.dirty = true
	if s.last == 0 {
		if s.clearRings {
			d.clearRings(j)
			s.clearRings = false
		}
		s.last = tn
		return nil
	}
	if tn-s.last > int64(s.m.Heartbeat) {
		known = false
	}
	d.advance(j, tn, val, known)
	return nil
}

// advance spreads value v (known or not) over (last, t] of series j,
// completing PDPs as their end is passed.
func (d *device) advance(j int, t int64, v float64, known bool) {
	s := &d.series[j]
	base := int64(d.lay.arch[0].step)
	p := s.last / base
	for s.last < t {
		end := (p + 1) * base
		if t < end {
			if known {
				s.pdpKnown += t - s.last
				s.pdpSum += v * float64(t-s.last) / 1e9
			}
			s.last = t
			return
		}
		if known {
			s.pdpKnown += end - s.last
			s.pdpSum += v * float64(end-s.last) / 1e9
		}
		pv, pk := math.NaN(), false
		if s.pdpKnown*2 >= base {
			pv, pk = s.pdpSum/(float64(s.pdpKnown)/1e9), true
		}
		s.pdpKnown, s.pdpSum = 0, 0
		d.feed(j, p, 1, pv, pk)
		p++
		s.last = end
		if n := (t - s.last) / base; n > 0 {
			d.feed(j, p, n, v, known)
			p += n
			s.last += n * base
		}
	}
}

// feed adds n consecutive PDPs starting at index p, all with value v (or
// unknown), to every archive of series j.
func (d *device) feed(j int, p, n int64, v float64, known bool) {
	s := &d.series[j]
	if !known {
		v = math.NaN()
	}
	for k := range d.lay.arch {
		a := &d.lay.arch[k]
		if a.steps == 1 {
			first := p
			if n > a.rows {
				first = p + n - a.rows
			}
			for slot := first; slot < p+n; slot++ {
				d.put(k, j, slot, v, v, v)
			}
			continue
		}
		acc := &s.acc[k]
		q, left := p, n
		for left > 0 {
			c := q / a.steps
			end := (c + 1) * a.steps
			take := min(left, end-q)
			if known {
				acc.add(v, take)
			}
			q += take
			left -= take
			if q < end {
				break
			}
			if float64(acc.n) >= (1-XFF)*float64(a.steps) {
				d.put(k, j, c, acc.min, acc.sum/float64(acc.n), acc.max)
			} else {
				d.put(k, j, c, math.NaN(), math.NaN(), math.NaN())
			}
			*acc = cdpAcc{}
			if full := left / a.steps; full > 0 {
				first := c + 1
				if full > a.rows {
					first = c + 1 + full - a.rows
				}
				for slot := first; slot <= c+full; slot++ {
					d.put(k, j, slot, v, v, v)
				}
				q += full * a.steps
				left -= full * a.steps
			}
		}
	}
}

// put stores one slot of series j in archive k (pending until flushed).
func (d *device) put(k, j int, slot int64, mn, avg, mx float64) {
	a := &d.lay.arch[k]
	m := &d.series[j].m
	b := d.pend[k].cell(slot%a.rows, j)
	if a.cells == 1 {
		putCell(b, m.Encoding, m.Scale, avg)
		return
	}
	w := m.Encoding.width()
	putCell(b, m.Encoding, m.Scale, mn)
	putCell(b[w:], m.Encoding, m.Scale, avg)
	putCell(b[2*w:], m.Encoding, m.Scale, mx)
}

// clearRings writes "no data" over every slot of series j.
func (d *device) clearRings(j int) {
	for k := range d.lay.arch {
		for r := int64(0); r < d.lay.arch[k].rows; r++ {
			d.put(k, j, r, math.NaN(), math.NaN(), math.NaN())
		}
	}
}

// window returns the slots of archive k that hold data of series j:
// (lastDone-rows, lastDone]. ok is false when there are none.
func (d *device) window(j, k int) (oldest, lastDone int64, ok bool) {
	s := &d.series[j]
	if s.last == 0 {
		return 0, 0, false
	}
	a := &d.lay.arch[k]
	pdp := s.last / int64(d.lay.arch[0].step)
	lastDone = pdp/a.steps - 1
	if lastDone < 0 {
		return 0, 0, false
	}
	return max(0, lastDone-a.rows+1), lastDone, true
}

// State blob: u64 flush sequence, then per series a fixed-size record.

func (d *device) encodeState() []byte {
	b := make([]byte, 0, d.lay.stateLen)
	b = binary.LittleEndian.AppendUint64(b, d.seq)
	for i := range d.series {
		s := &d.series[i]
		b = binary.LittleEndian.AppendUint64(b, uint64(s.last))
		b = binary.LittleEndian.AppendUint64(b, s.raw)
		var flags byte
		if s.haveRaw {
			flags |= 1
		}
		if s.clearRings {
			flags |= 2
		}
		b = append(b, flags)
		b = binary.LittleEndian.AppendUint64(b, uint64(s.pdpKnown))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.pdpSum))
		for _, c := range s.acc {
			b = binary.LittleEndian.AppendUint32(b, c.n)
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.sum))
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.min))
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.max))
		}
	}
	return b
}

func (d *device) decodeState(b []byte) error {
	if len(b) != d.lay.stateLen {
		return corruptf("state of %d bytes, want %d", len(b), d.lay.stateLen)
	}
	r := &reader{b: b}
	d.seq = r.u64()
	base := int64(d.lay.arch[0].step)
	for i := range d.series {
		s := &d.series[i]
		s.last = int64(r.u64())
		s.raw = r.u64()
		flags := r.u8()
		s.haveRaw, s.clearRings = flags&1 != 0, flags&2 != 0
		s.pdpKnown = int64(r.u64())
		s.pdpSum = r.f64()
		for k := range s.acc {
			s.acc[k] = cdpAcc{n: r.u32(), sum: r.f64(), min: r.f64(), max: r.f64()}
			if int64(s.acc[k].n) > d.lay.arch[k].steps {
				return corruptf("series %q: archive %d holds %d PDPs", s.m.Name, k, s.acc[k].n)
			}
		}
		if s.last < 0 || s.pdpKnown < 0 || s.pdpKnown > base || flags > 3 {
			return corruptf("series %q: bad state", s.m.Name)
		}
		if s.m.Kind == Counter32 && s.raw > math.MaxUint32 {
			return corruptf("series %q: 32-bit counter reading %d", s.m.Name, s.raw)
		}
	}
	return r.err
}
