package snmp

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"

	"github.com/gosnmp/gosnmp"

	"ip6m/tsdb"
)

// cmtsState is owned by the goroutine walking the CMTS.
type cmtsState struct {
	if3       int8 // DOCS-IF3 tables: 0 unknown, 1 answered, -1 not supported
	if3Skips  int  // walks since the tables were found missing
	wasOnline map[string]bool
}

// Columns of one CMTS walk.
var (
	cmtsColumns = []OID{
		mustOID(oidCmtsCmStatusMacAddress),
		mustOID(oidCmtsCmStatusIPAddress),
		mustOID(oidCmtsCmStatusRxPower),
		mustOID(oidCmtsCmStatusValue),
		mustOID(oidCmtsCmStatusSignalNoise),
		mustOID(oidCmtsCmStatusInetAddress),
	}
	cmts3Columns = []OID{
		mustOID(oidIf3CmtsCmRegStatusMacAddr),
		mustOID(oidIf3CmtsCmUsStatusRxPower),
		mustOID(oidIf3CmtsCmUsStatusSignalNoise),
	}
)

const if3RetryWalks = 60 // walks before asking an agent without DOCS-IF3 again

func (p *Poller) pollCMTS(ctx context.Context, d *device, t Target, retries int) error {
	st := d.cmts
	now := p.cfg.Now()
	rows, err := p.walkCMTS(ctx, st, t, retries)
	d.readMu.Lock()
	d.reading.Kind = CMTS
	d.reading.Addr = t.Addr
	d.reading.LastPoll = now
	if err != nil {
		d.reading.Err = err.Error()
		d.reading.Fails++
		first := d.reading.Fails == 1
		d.readMu.Unlock()
		p.stats.walkErrors.Add(1)
		if first {
			p.log.Warn("CMTS walk failed: modem states from it are stale", "cmts", t.Key, "addr", t.Addr, "err", err)
		}
		return err
	}
	if d.reading.Fails > 0 {
		p.log.Info("CMTS answers again", "cmts", t.Key)
	}
	done := p.cfg.Now()
	p.stats.walkTime.Store(int64(done.Sub(now)))
	d.reading.Err, d.reading.Fails, d.reading.Time = "", 0, done
	d.readMu.Unlock()
	p.stats.walks.Add(1)

	p.mu.Lock()
	byMAC := p.byMAC
	p.mu.Unlock()
	online := 0
	nowOnline := make(map[string]bool)
	for i := range rows {
		row := &rows[i]
		on := cmtsOnline(row.Status)
		if on {
			online++
		}
		md := byMAC[row.MAC.String()]
		if md == nil || len(row.MAC) == 0 {
			continue
		}
		row.Key = md.key
		nowOnline[row.Key] = on
		view := CMTSView{CMTS: t.Key, Time: done, Status: row.Status, IP: row.IP, Up: row.Up}
		view.RxPower, view.SNR = row.RxPower, row.SNR
		chs := row.Up
		if len(chs) == 0 {
			chs = []Channel{{Power: row.RxPower, SNR: row.SNR}}
		} else {
			_, view.RxPower, _, _ = channelStats(chs, func(c Channel) float64 { return c.Power })
			view.SNR, _, _, _ = channelStats(chs, func(c Channel) float64 { return c.SNR })
		}
		md.readMu.Lock()
		md.reading.CMTS = view
		md.readMu.Unlock()
		var samples []tsdb.Sample
		samples = appendGauges(samples, "usrcv", chs, func(c Channel) float64 { return c.Power }, true, !p.cfg.SummaryOnly)
		samples = appendGauges(samples, "ussnr", chs, func(c Channel) float64 { return c.SNR }, false, !p.cfg.SummaryOnly)
		if err := p.store(md, row.Key, done, samples); err != nil {
			p.log.Debug("store cmts view", "modem", row.Key, "err", err)
		}
		if on && !st.wasOnline[row.Key] {
			p.wakeDevice(md) // back online: poll it at its next slot
		}
	}
	if fn := p.cfg.OnModemState; fn != nil && st.wasOnline != nil {
		for key, on := range nowOnline {
			if on != st.wasOnline[key] {
				fn(t.Key, key, on, done)
			}
		}
		for key, was := range st.wasOnline {
			if _, seen := nowOnline[key]; was && !seen {
				fn(t.Key, key, false, done) // gone from the CMTS's table
			}
		}
	}
	st.wasOnline = nowOnline
	d.readMu.Lock()
	d.reading.Modems = rows
	d.readMu.Unlock()
	return p.store(d, t.Key, done, []tsdb.Sample{
		{Metric: "modems", Value: float64(len(rows))},
		{Metric: "online", Value: float64(online)},
	})
}

// walkCMTS reads docsIfCmtsCmStatusTable and, where the CMTS has it, the
// per-upstream docsIf3CmtsCmUsStatusTable.
func (p *Poller) walkCMTS(ctx context.Context, st *cmtsState, t Target, retries int) ([]CMTSModem, error) {
	nan := math.NaN()
	byIndex := make(map[uint32]*CMTSModem)
	var order []uint32
	row := func(i uint32) *CMTSModem {
		r := byIndex[i]
		if r == nil {
			r = &CMTSModem{Index: i, RxPower: nan, SNR: nan}
			byIndex[i] = r
			order = append(order, i)
		}
		return r
	}
	err := p.tr.walk(ctx, t.Addr, t.Community, cmtsColumns, p.cfg.WalkRepetitions, p.timeoutOf(t), retries,
		func(col int, inst OID, v gosnmp.SnmpPDU) {
			if len(inst) == 1 {
				setCmtsColumn(row(inst[0]), col, v)
			}
		})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", t.Key, err)
	}
	if st.if3 < 0 {
		st.if3Skips++
		if st.if3Skips < if3RetryWalks {
			return collect(byIndex, order), nil
		}
	}
	macByID := make(map[uint32]string)
	type usRow struct {
		id, ch uint32
	}
	us := make(map[usRow]*Channel)
	var usOrder []usRow
	got := false
	err = p.tr.walk(ctx, t.Addr, t.Community, cmts3Columns, p.cfg.WalkRepetitions, p.timeoutOf(t), retries,
		func(col int, inst OID, v gosnmp.SnmpPDU) {
			got = true
			if col == 0 {
				if b, ok := v.Value.([]byte); ok && len(b) == 6 && len(inst) == 1 {
					macByID[inst[0]] = string(b)
				}
				return
			}
			if len(inst) != 2 {
				return
			}
			n, isInt := intValue(v)
			if !isInt {
				return
			}
			k := usRow{inst[0], inst[1]}
			c := us[k]
			if c == nil {
				c = &Channel{IfIndex: inst[1], IfType: ifTypeUpstream, Power: nan, SNR: nan, Microreflections: nan}
				us[k] = c
				usOrder = append(usOrder, k)
			}
			if col == 1 {
				c.Power = float64(n) / 10
			} else {
				c.SNR = float64(n) / 10
			}
		})
	if err != nil {
		// The main table answered: keep it, and say why the rest is missing.
		p.log.Debug("walk docsIf3CmtsCmUsStatusTable", "cmts", t.Key, "err", err)
		return collect(byIndex, order), nil
	}
	if !got {
		st.if3, st.if3Skips = -1, 0
		return collect(byIndex, order), nil
	}
	st.if3 = 1
	byMAC := make(map[string]*CMTSModem, len(byIndex))
	for _, r := range byIndex {
		if r.MAC != nil {
			byMAC[string(r.MAC)] = r
		}
	}
	for _, k := range usOrder {
		if r := byMAC[macByID[k.id]]; r != nil {
			r.Up = append(r.Up, *us[k])
		}
	}
	return collect(byIndex, order), nil
}

// setCmtsColumn stores one value of docsIfCmtsCmStatusTable (col indexes
// cmtsColumns) in its row.
func setCmtsColumn(r *CMTSModem, col int, v gosnmp.SnmpPDU) {
	n, isInt := intValue(v)
	switch col {
	case 0:
		if b, ok := v.Value.([]byte); ok && len(b) == 6 {
			r.MAC = net.HardwareAddr(slices.Clone(b))
		}
	case 1:
		if s, ok := v.Value.(string); ok && !r.IP.IsValid() {
			r.IP, _ = netip.ParseAddr(s)
		}
	case 2:
		if isInt {
			r.RxPower = float64(n) / 10
		}
	case 3:
		if isInt {
			r.Status = int(n)
		}
	case 4:
		if isInt {
			r.SNR = float64(n) / 10
		}
	case 5:
		if b, ok := v.Value.([]byte); ok {
			if a, ok := netip.AddrFromSlice(b); ok && (a.Is6() || !r.IP.IsValid()) {
				r.IP = a.Unmap()
			}
		}
	}
}

func collect(byIndex map[uint32]*CMTSModem, order []uint32) []CMTSModem {
	rows := make([]CMTSModem, 0, len(order))
	for _, i := range order {
		rows = append(rows, *byIndex[i])
	}
	return rows
}
