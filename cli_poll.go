package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"ip6m/snmp"
	"ip6m/store"
	"ip6m/tsdb"
	"ip6m/ui"
)

// SettingSNMPCommunity is the read community the poller uses for modems
// (CMTSes have their own, in the inventory).
const SettingSNMPCommunity = "snmp.community"

// pollTargets gives the SNMP poller the inventory: every enabled modem at
// the address of its current lease, and every CMTS at its management
// address.
type pollTargets struct{ st *store.Store }

func (p pollTargets) PollTargets(ctx context.Context) ([]snmp.Target, error) {
	community, err := p.st.Setting(ctx, SettingSNMPCommunity, "public")
	if err != nil {
		return nil, err
	}
	modems, _, err := p.st.ListModems(ctx, store.ModemFilter{Enabled: new(true)}, store.Page{})
	if err != nil {
		return nil, err
	}
	leases, err := p.st.Leases4(ctx, time.Now())
	if err != nil {
		return nil, err
	}
	addr := make(map[string]netip.Addr, len(leases))
	for _, l := range leases {
		if l.Kind == store.KindCM && l.State == store.StateActive {
			if a, err := netip.ParseAddr(l.IP); err == nil {
				addr[l.MAC] = a
			}
		}
	}
	cmtsList, err := p.st.ListCMTS(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]snmp.Target, 0, len(modems)+len(cmtsList))
	for _, c := range cmtsList {
		mgmt := c.MgmtIPv4
		if mgmt == "" {
			mgmt = c.MgmtIPv6
		}
		a, err := netip.ParseAddr(mgmt)
		if err != nil {
			continue // no management address: nothing to poll
		}
		out = append(out, snmp.Target{Key: fmt.Sprintf("cmts-%d", c.ID), Kind: snmp.CMTS, Addr: netip.AddrPortFrom(a, 161), Community: c.SNMPRead})
	}
	for _, m := range modems {
		mac, err := net.ParseMAC(m.MAC)
		if err != nil {
			return nil, err
		}
		t := snmp.Target{Key: m.MAC, Kind: snmp.Modem, Community: community, MAC: mac}
		if a, ok := addr[m.MAC]; ok {
			t.Addr = netip.AddrPortFrom(a, 161)
		}
		out = append(out, t)
	}
	return out, nil
}

// SettingSNMPWriteCommunity is the community for SNMP SETs to modems
// (a reset); it must match the modem's config (docsDevNmAccess).
const SettingSNMPWriteCommunity = "snmp.write_community"

// resetByLease resets a modem at the address of its current lease.
func resetByLease(ctx context.Context, st *store.Store, p *snmp.Poller, mac string) error {
	m, err := st.ModemByMAC(ctx, mac)
	if err != nil {
		return err
	}
	leases, err := st.ModemLeases4(ctx, m.ID)
	if err != nil {
		return err
	}
	now := time.Now()
	// A modem registered while it sat in the walled garden holds a lease
	// granted before the inventory knew it (kind unknown, no modem).
	byMAC, err := st.ActiveLeases4ByMAC(ctx, m.MAC, now)
	if err != nil {
		return err
	}
	leases = append(leases, byMAC...)
	for _, l := range leases {
		if l.MAC == m.MAC && (l.Kind == store.KindCM || l.Kind == store.KindUnknown) && l.State == store.StateActive && l.Ends.After(now) {
			a, err := netip.ParseAddr(l.IP)
			if err != nil {
				return err
			}
			community, err := st.Setting(ctx, SettingSNMPWriteCommunity, "private")
			if err != nil {
				return err
			}
			return p.Reset(ctx, netip.AddrPortFrom(a, 161), community)
		}
	}
	return fmt.Errorf("modem %s holds no active lease, so it cannot be reached", mac)
}

// liveSink stores samples in the time-series store and streams the gauges
// to the browsers showing the device's graphs.
type liveSink struct {
	*tsdb.DB
	live *ui.Live
}

func (l liveSink) AddSamples(device string, t time.Time, samples []tsdb.Sample) error {
	err := l.DB.AddSamples(device, t, samples)
	l.live.Publish(device, t, samples, isGauge)
	return err
}

// isGauge tells the level metrics (dBmV, dB) from counters: dspwr,
// dspwr_min, dspwr.3 and so on.
func isGauge(metric string) bool {
	base, _, _ := strings.Cut(metric, ".")
	base = strings.TrimSuffix(strings.TrimSuffix(base, "_min"), "_max")
	switch base {
	case "dspwr", "dssnr", "uspwr", "usrcv", "ussnr", "microref":
		return true
	}
	return false
}

// healthFlags classifies every polled modem's last reading.
func healthFlags(p *snmp.Poller) map[string]ui.HealthFlag {
	now := time.Now()
	th := snmp.DefaultThresholds()
	out := map[string]ui.HealthFlag{}
	for _, r := range p.Readings() {
		if r.Kind != snmp.Modem {
			continue
		}
		h := snmp.Classify(r, now, th)
		out[r.Key] = ui.HealthFlag{State: h.State.String(), Reason: h.Reason}
	}
	return out
}

// upstreamRows is a CMTS's modem table from its last walk, with the
// health of each modem's upstream levels.
func upstreamRows(p *snmp.Poller, cmtsID int64) ([]ui.UpstreamRow, time.Time, bool) {
	key := fmt.Sprintf("cmts-%d", cmtsID)
	th := snmp.DefaultThresholds()
	for _, r := range p.Readings() {
		if r.Kind != snmp.CMTS || r.Key != key {
			continue
		}
		if r.Time.IsZero() {
			return nil, time.Time{}, false
		}
		rows := make([]ui.UpstreamRow, 0, len(r.Modems))
		for _, m := range r.Modems {
			row := ui.UpstreamRow{MAC: m.MAC.String(), Online: snmp.CMTSView{Time: r.Time, Status: m.Status}.Online(),
				RxPower: m.RxPower, SNR: m.SNR, RxState: bandState(m.RxPower, th.UsRx), SNRState: bandState(m.SNR, th.UsSNR)}
			if m.IP.IsValid() {
				row.IP = m.IP.String()
			}
			rows = append(rows, row)
		}
		return rows, r.Time, true
	}
	return nil, time.Time{}, false
}

// bandState names where v falls in a band: good, warning or bad.
func bandState(v float64, b snmp.Band) string {
	switch {
	case v >= b.GoodMin && v <= b.GoodMax:
		return "good"
	case v >= b.WarnMin && v <= b.WarnMax:
		return "warning"
	}
	return "bad"
}
