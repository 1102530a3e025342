package snmp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/gosnmp/gosnmp"

	"ip6m/tsdb"
)

// What one varbind of a modem's GET is.
type fieldKind uint8

const (
	fUptime fieldKind = iota
	fHCIn
	fHCOut
	fIn
	fOut
	fDsPower
	fSNR
	fMicro
	fCorr
	fUncorr
	fExtCorr
	fExtUncorr
	fCmTxPower   // docsIfCmStatusTxPower on the MAC interface
	fUsTxPower   // docsIf3CmStatusUsTxPower per upstream
	fOfdmPower   // docsIf31CmDsOfdmChannelPowerRxPower, band 0
	fOfdmaTx     // docsIf31CmUsOfdmaChanTxPower
	numFieldKind // count
)

type field struct {
	kind fieldKind
	ch   int // index into down or up
}

type channelRef struct {
	ifIndex uint32
	ifType  int
}

// Counter accumulators: one monotonic 64-bit total per metric, summing the
// wrap-corrected deltas of its raw counters (one per channel for the
// codewords), so that a multi-channel sum and a 32-bit fallback are still
// one clean counter for tsdb.
const (
	accIn = iota
	accOut
	accCorr
	accUncorr
	numAcc
)

type rawCounter struct {
	v    uint64
	bits uint
}

type counterAcc struct {
	total uint64
	last  map[uint32]rawCounter
}

// add folds in one raw reading; it reports false when the reading cannot
// be compared with the last (first one, other width, reset).
func (a *counterAcc) add(key uint32, v uint64, bits uint) bool {
	if a.last == nil {
		a.last = make(map[uint32]rawCounter)
	}
	prev, had := a.last[key]
	a.last[key] = rawCounter{v, bits}
	if !had || prev.bits != bits {
		return false
	}
	var d uint64
	if bits == 32 {
		d = uint64(uint32(v) - uint32(prev.v))
		if d > 1<<31 {
			return false // went back: reset, not a wrap
		}
	} else {
		d = v - prev.v
		if d > 1<<63 {
			return false
		}
	}
	a.total += d
	return true
}

// modemState is owned by the goroutine polling the modem.
type modemState struct {
	discovered bool
	addr       netip.AddrPort // discovered at
	macIf      uint32
	down, up   []channelRef
	hc, ext    int8 // 0 unknown, 1 present, -1 absent
	fields     []field
	reqs       [][]gosnmp.SnmpPDU
	maxVB      int // varbinds per GET, halved at each tooBig

	acc      [numAcc]counterAcc
	prevAcc  [numAcc]uint64
	started  bool // a sample was stored since the process started
	lastUp   uint32
	haveUp   bool // lastUp came from the last answer
	lastTime time.Time
}

func (p *Poller) pollModem(ctx context.Context, d *device, t Target, retries int) error {
	m := d.modem
	now := p.cfg.Now()
	err := p.modemCycle(ctx, d, m, t, retries)
	d.readMu.Lock()
	d.reading.Kind = Modem
	d.reading.Addr = t.Addr
	d.reading.LastPoll = now
	if err != nil {
		d.reading.Err = err.Error()
		if errors.Is(err, ErrTimeout) {
			d.reading.Fails++
		}
	} else {
		d.reading.Err = ""
		d.reading.Fails = 0
	}
	d.readMu.Unlock()
	return err
}

func (p *Poller) modemCycle(ctx context.Context, d *device, m *modemState, t Target, retries int) error {
	if !m.discovered || m.addr != t.Addr {
		if err := p.discover(ctx, m, t, retries); err != nil {
			return err
		}
	}
	if m.maxVB == 0 {
		m.maxVB = p.cfg.MaxVarbinds
	}
	if m.reqs == nil {
		m.build(m.maxVB)
	}
	vbs := make([]gosnmp.SnmpPDU, 0, len(m.fields))
	for _, chunk := range m.reqs {
		req := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: t.Community, PDUType: gosnmp.GetRequest, Variables: chunk}
		resp, err := p.tr.exchange(ctx, t.Addr, req, p.timeoutOf(t), retries)
		if err != nil {
			return fmt.Errorf("get %s: %w", t.Key, err)
		}
		if resp.Error == gosnmp.TooBig && len(chunk) > 1 {
			// The agent's limit: halve the GETs for this modem from now on.
			m.maxVB = len(chunk) / 2
			m.reqs = nil
			return fmt.Errorf("get %s: tooBig with %d varbinds", t.Key, len(chunk))
		}
		if resp.Error != gosnmp.NoError {
			return fmt.Errorf("get %s: %v (index %d)", t.Key, resp.Error, resp.ErrorIndex)
		}
		if len(resp.Variables) != len(chunk) {
			return fmt.Errorf("get %s: %d varbinds in the answer for %d asked", t.Key, len(resp.Variables), len(chunk))
		}
		for i := range chunk {
			if !sameOID(resp.Variables[i].Name, chunk[i].Name) {
				return fmt.Errorf("get %s: answer has %s where %s was asked", t.Key, resp.Variables[i].Name, chunk[i].Name)
			}
		}
		vbs = append(vbs, resp.Variables...)
	}
	now := p.cfg.Now()
	samples, r := m.apply(vbs, now, p.rebootSlack(t), p.cfg.SummaryOnly)
	if err := p.store(d, t.Key, now, samples); err != nil {
		return err
	}
	d.readMu.Lock()
	d.reading.Time = now
	d.reading.Uptime = r.Uptime
	if !r.Rebooted.IsZero() {
		d.reading.Rebooted = r.Rebooted
	}
	d.reading.InRate, d.reading.OutRate = r.InRate, r.OutRate
	d.reading.CorrectedRate, d.reading.UncorrectedRate = r.CorrectedRate, r.UncorrectedRate
	d.reading.Down, d.reading.Up = r.Down, r.Up
	d.readMu.Unlock()
	return nil
}

func sameOID(a, b string) bool {
	if len(a) > 0 && a[0] == '.' {
		a = a[1:]
	}
	if len(b) > 0 && b[0] == '.' {
		b = b[1:]
	}
	return a == b
}

func (p *Poller) timeoutOf(t Target) time.Duration {
	if t.Timeout > 0 {
		return t.Timeout
	}
	return p.cfg.Timeout
}

// rebootSlack is how much sysUpTime may lag the time between two answers
// without meaning a reboot: the answers' own delays, at most all attempts.
func (p *Poller) rebootSlack(t Target) time.Duration {
	return 2*time.Second + p.timeoutOf(t)*time.Duration(1<<(p.cfg.Retries+1)-1)
}

// discover walks ifType once to find the modem's channels.
func (p *Poller) discover(ctx context.Context, m *modemState, t Target, retries int) error {
	var down, up []channelRef
	var macIf uint32
	err := p.tr.walk(ctx, t.Addr, t.Community, []OID{mustOID(oidIfType)}, 48, p.timeoutOf(t), retries,
		func(_ int, inst OID, v gosnmp.SnmpPDU) {
			n, ok := intValue(v)
			if !ok || len(inst) != 1 {
				return
			}
			switch ref := (channelRef{inst[0], int(n)}); n {
			case ifTypeMacLayer:
				if macIf == 0 {
					macIf = inst[0]
				}
			case ifTypeDownstream, ifTypeOfdmDown:
				down = append(down, ref)
			case ifTypeUpstream, ifTypeUpstreamCh, ifTypeOfdmaUp:
				up = append(up, ref)
			}
		})
	if err != nil {
		return fmt.Errorf("discover %s: %w", t.Key, err)
	}
	// A DOCSIS 1.x/2.0 layout when ifType says nothing useful:
	// 2 the cable MAC, 3 downstream, 4 upstream.
	if macIf == 0 {
		macIf = 2
	}
	if len(down) == 0 {
		down = []channelRef{{3, ifTypeDownstream}}
	}
	if len(up) == 0 {
		up = []channelRef{{4, ifTypeUpstream}}
	}
	m.discovered, m.addr, m.macIf, m.down, m.up = true, t.Addr, macIf, down, up
	m.reqs = nil
	return nil
}

// build lays out the GET: every OID of the modem, split in chunks of at
// most maxVB varbinds (one chunk unless the modem has many channels).
func (m *modemState) build(maxVB int) {
	var fs []field
	var names []string
	add := func(k fieldKind, ch int, oid string, idx ...uint32) {
		s := oid
		for _, i := range idx {
			s += "." + strconv.FormatUint(uint64(i), 10)
		}
		fs = append(fs, field{k, ch})
		names = append(names, s)
	}
	add(fUptime, 0, oidSysUpTime)
	if m.hc >= 0 {
		add(fHCIn, 0, oidIfHCInOctets, m.macIf)
		add(fHCOut, 0, oidIfHCOutOctets, m.macIf)
	}
	if m.hc <= 0 {
		add(fIn, 0, oidIfInOctets, m.macIf)
		add(fOut, 0, oidIfOutOctets, m.macIf)
	}
	for i, c := range m.down {
		if c.ifType == ifTypeOfdmDown {
			add(fOfdmPower, i, oidIf31CmDsOfdmChannelPowerRxPower, c.ifIndex, 0)
			continue
		}
		add(fDsPower, i, oidDownChannelPower, c.ifIndex)
		add(fSNR, i, oidSigQSignalNoise, c.ifIndex)
		add(fMicro, i, oidSigQMicroreflections, c.ifIndex)
		if m.ext >= 0 {
			add(fExtCorr, i, oidSigQExtCorrecteds, c.ifIndex)
			add(fExtUncorr, i, oidSigQExtUncorrectables, c.ifIndex)
		}
		if m.ext <= 0 {
			add(fCorr, i, oidSigQCorrecteds, c.ifIndex)
			add(fUncorr, i, oidSigQUncorrectables, c.ifIndex)
		}
	}
	scqamUp := 0
	for _, c := range m.up {
		if c.ifType != ifTypeOfdmaUp {
			scqamUp++
		}
	}
	for i, c := range m.up {
		switch {
		case c.ifType == ifTypeOfdmaUp:
			add(fOfdmaTx, i, oidIf31CmUsOfdmaChanTxPower, c.ifIndex)
		case scqamUp == 1:
			add(fCmTxPower, i, oidCmStatusTxPower, m.macIf)
		default:
			add(fUsTxPower, i, oidIf3CmStatusUsTxPower, c.ifIndex)
		}
	}
	m.fields = fs
	m.reqs = nil
	for len(names) > 0 {
		n := min(len(names), max(maxVB, 1))
		chunk := make([]gosnmp.SnmpPDU, n)
		for i := range n {
			chunk[i] = gosnmp.SnmpPDU{Name: names[i], Type: gosnmp.Null}
		}
		m.reqs = append(m.reqs, chunk)
		names = names[n:]
	}
}

// apply turns the answer to the modem's GET (vbs, in field order) into
// samples and a reading.
func (m *modemState) apply(vbs []gosnmp.SnmpPDU, now time.Time, slack time.Duration, summaryOnly bool) ([]tsdb.Sample, Reading) {
	var r Reading
	nan := math.NaN()
	r.InRate, r.OutRate, r.CorrectedRate, r.UncorrectedRate = nan, nan, nan, nan
	r.Down = make([]Channel, len(m.down))
	for i, c := range m.down {
		r.Down[i] = Channel{IfIndex: c.ifIndex, IfType: c.ifType, Power: nan, SNR: nan, Microreflections: nan}
	}
	r.Up = make([]Channel, len(m.up))
	for i, c := range m.up {
		r.Up[i] = Channel{IfIndex: c.ifIndex, IfType: c.ifType, Power: nan, SNR: nan, Microreflections: nan}
	}
	type raw struct {
		v    uint64
		bits uint
		ok   bool
	}
	var in, out [2]raw // [0] HC, [1] 32-bit
	corr := make([][2]raw, len(m.down))
	uncorr := make([][2]raw, len(m.down))
	var uptime uint32
	haveUptime := false
	missingChannel := false
	seen := [numFieldKind]bool{}
	present := [numFieldKind]bool{}
	for i, v := range vbs {
		if i >= len(m.fields) {
			break
		}
		f := m.fields[i]
		seen[f.kind] = true
		if isException(v.Type) {
			switch f.kind {
			case fDsPower, fSNR, fUsTxPower, fCmTxPower, fOfdmPower, fOfdmaTx:
				missingChannel = true
			}
			continue
		}
		present[f.kind] = true
		n, isInt := intValue(v)
		cv, bits, isCounter := counterValue(v)
		tenths := float64(n) / 10
		switch f.kind {
		case fUptime:
			if isInt && v.Type == gosnmp.TimeTicks {
				uptime, haveUptime = uint32(n), true
			}
		case fHCIn:
			in[0] = raw{cv, bits, isCounter}
		case fHCOut:
			out[0] = raw{cv, bits, isCounter}
		case fIn:
			in[1] = raw{cv, bits, isCounter}
		case fOut:
			out[1] = raw{cv, bits, isCounter}
		case fCorr:
			corr[f.ch][1] = raw{cv, bits, isCounter}
		case fUncorr:
			uncorr[f.ch][1] = raw{cv, bits, isCounter}
		case fExtCorr:
			corr[f.ch][0] = raw{cv, bits, isCounter}
		case fExtUncorr:
			uncorr[f.ch][0] = raw{cv, bits, isCounter}
		case fDsPower, fOfdmPower:
			if isInt {
				r.Down[f.ch].Power = tenths
			}
		case fSNR:
			if isInt {
				r.Down[f.ch].SNR = tenths
			}
		case fMicro:
			if isInt {
				r.Down[f.ch].Microreflections = float64(n)
			}
		case fCmTxPower, fUsTxPower, fOfdmaTx:
			if isInt {
				r.Up[f.ch].Power = tenths
			}
		}
	}
	// Learn which counter flavour the modem has; the next GET asks only for it.
	learn := func(flag *int8, hi, lo fieldKind) {
		if *flag != 0 || !seen[hi] {
			return
		}
		switch {
		case present[hi]:
			*flag = 1
			m.reqs = nil
		case present[lo]:
			*flag = -1
			m.reqs = nil
		}
	}
	learn(&m.hc, fHCIn, fIn)
	learn(&m.ext, fExtCorr, fCorr)
	if missingChannel {
		m.discovered = false // channels changed: walk ifType again
	}

	// A reboot: sysUpTime went back, or is shorter than the time since
	// the last answer.
	reset := !m.started
	prevUp, hadUp := m.lastUp, m.haveUp
	if haveUptime {
		r.Uptime = time.Duration(uptime) * 10 * time.Millisecond
		if m.started && !m.lastTime.IsZero() &&
			(uptime < m.lastUp || r.Uptime+slack < now.Sub(m.lastTime)) {
			reset = true
			r.Rebooted = now
			for i := range m.acc {
				m.acc[i].last = nil
			}
			m.discovered = false
		}
		m.lastUp = uptime
	}
	m.haveUp = haveUptime
	// Rates divide by the agent's own clock between the two answers when
	// it gives one: the counters were read on that clock, while the
	// poller's receive times carry the network's and the host's jitter.
	elapsed := now.Sub(m.lastTime).Seconds()
	if haveUptime && hadUp && !reset && uptime > prevUp {
		elapsed = float64(uptime-prevUp) / 100
	}
	m.lastTime = now
	m.started = true

	pick := func(rs [2]raw) (raw, bool) {
		if rs[0].ok {
			return rs[0], true
		}
		return rs[1], rs[1].ok
	}
	var samples []tsdb.Sample
	counter := func(name string, a int, rate *float64, keys []uint32, rs [][2]raw) {
		ok, any := true, false
		for i, k := range keys {
			x, have := pick(rs[i])
			if !have {
				ok = false
				continue
			}
			any = true
			if !m.acc[a].add(k, x.v, x.bits) {
				ok = false
			}
		}
		if !any {
			samples = append(samples, tsdb.Sample{Metric: name, Value: nan})
			return
		}
		if ok && !reset && elapsed > 0 {
			*rate = float64(m.acc[a].total-m.prevAcc[a]) / elapsed
		}
		m.prevAcc[a] = m.acc[a].total
		samples = append(samples, tsdb.Sample{Metric: name, Value: float64(m.acc[a].total), Reset: reset || !ok})
	}
	counter("in", accIn, &r.InRate, []uint32{0}, [][2]raw{in})
	counter("out", accOut, &r.OutRate, []uint32{0}, [][2]raw{out})
	keys := make([]uint32, len(m.down))
	for i, c := range m.down {
		keys[i] = c.ifIndex
	}
	cw := make([]uint32, 0, len(keys))
	var corrRaw, uncorrRaw [][2]raw
	for i, c := range m.down {
		if c.ifType != ifTypeOfdmDown {
			cw = append(cw, keys[i])
			corrRaw = append(corrRaw, corr[i])
			uncorrRaw = append(uncorrRaw, uncorr[i])
		}
	}
	counter("corrected", accCorr, &r.CorrectedRate, cw, corrRaw)
	counter("uncorrected", accUncorr, &r.UncorrectedRate, cw, uncorrRaw)

	samples = appendGauges(samples, "dspwr", r.Down, func(c Channel) float64 { return c.Power }, true, !summaryOnly)
	samples = appendGauges(samples, "dssnr", r.Down, func(c Channel) float64 { return c.SNR }, false, !summaryOnly)
	samples = appendGauges(samples, "microref", r.Down, func(c Channel) float64 { return c.Microreflections }, false, false)
	samples = appendGauges(samples, "uspwr", r.Up, func(c Channel) float64 { return c.Power }, true, !summaryOnly)
	return samples, r
}

// appendGauges adds the summary of a per-channel gauge: name is the
// average, and with more than one channel name_min (and name_max for
// powers) and, perChannel, name.<ifIndex> for each channel.
func appendGauges(s []tsdb.Sample, name string, chs []Channel, f func(Channel) float64, withMax, perChannel bool) []tsdb.Sample {
	mn, avg, mx, _ := channelStats(chs, f)
	s = append(s, tsdb.Sample{Metric: name, Value: avg})
	if len(chs) <= 1 {
		return s
	}
	s = append(s, tsdb.Sample{Metric: name + "_min", Value: mn})
	if withMax {
		s = append(s, tsdb.Sample{Metric: name + "_max", Value: mx})
	}
	if perChannel {
		for _, c := range chs {
			s = append(s, tsdb.Sample{Metric: name + "." + strconv.FormatUint(uint64(c.IfIndex), 10), Value: f(c)})
		}
	}
	return s
}

// baseMetrics are the seed's ten series, defined for every modem.
var baseMetrics = []string{"in", "out", "corrected", "uncorrected", "dspwr", "uspwr", "dssnr", "microref", "usrcv", "ussnr"}

// metricFor gives the storage of a metric by its name.
func (p *Poller) metricFor(name string, interval time.Duration) tsdb.Metric {
	var hb time.Duration
	if base := p.cfg.Archives[0].Step; interval > base {
		hb = 2 * interval
	}
	switch name {
	case "in", "out":
		return tsdb.Metric{Name: name, Kind: tsdb.Counter64, Encoding: tsdb.Uint32, Heartbeat: hb}
	case "corrected", "uncorrected":
		return tsdb.Metric{Name: name, Kind: tsdb.Counter64, Encoding: tsdb.Uint32, Scale: 0.001, Heartbeat: hb}
	case "modems", "online":
		return tsdb.Metric{Name: name, Kind: tsdb.Gauge, Encoding: tsdb.Uint32, Heartbeat: hb}
	}
	return tsdb.Metric{Name: name, Kind: tsdb.Gauge, Encoding: tsdb.Int16, Scale: 0.1, Heartbeat: hb}
}

// store defines any metric the device's schema lacks (keeping the ones
// it has, so a restart never drops a series) and adds the samples.
func (p *Poller) store(d *device, key string, now time.Time, samples []tsdb.Sample) error {
	p.mu.Lock()
	interval := d.interval
	p.mu.Unlock()
	d.schemaMu.Lock()
	defer d.schemaMu.Unlock()
	var missing []string
	if d.defined == nil {
		missing = append(missing, baseMetricsFor(d)...)
	}
	for _, s := range samples {
		if !d.defined[s.Metric] && !slices.Contains(missing, s.Metric) {
			missing = append(missing, s.Metric)
		}
	}
	if len(missing) > 0 {
		want := maps.Clone(d.defined)
		ms := slices.Clone(d.metrics)
		if d.defined == nil {
			want = map[string]bool{}
			if old, err := p.cfg.Sink.Schema(key); err == nil {
				for _, m := range old.Metrics {
					want[m.Name] = true
					ms = append(ms, m)
				}
			}
		}
		for _, n := range missing {
			if !want[n] {
				want[n] = true
				ms = append(ms, p.metricFor(n, interval))
			}
		}
		// Stored metrics keep their order and storage: tsdb rewrites a
		// device whose metrics change, and keeps the series it knows.
		if err := p.cfg.Sink.Define(key, tsdb.Schema{Archives: p.cfg.Archives, Metrics: ms}); err != nil {
			d.defined, d.metrics = nil, nil
			return fmt.Errorf("define %s: %w", key, err)
		}
		d.defined, d.metrics = want, ms
	}
	if err := p.cfg.Sink.AddSamples(key, now, samples); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

func baseMetricsFor(d *device) []string {
	if d.cmts != nil {
		return []string{"modems", "online"}
	}
	return baseMetrics
}
