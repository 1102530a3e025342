package snmp

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Level is a health flag, ordered from best to worst.
type Level uint8

const (
	Unknown Level = iota // never answered, no CMTS view
	Good
	Warning
	Bad
	Offline
)

func (l Level) String() string {
	switch l {
	case Good:
		return "good"
	case Warning:
		return "warning"
	case Bad:
		return "bad"
	case Offline:
		return "offline"
	}
	return "unknown"
}

// Band classifies one value: inside [GoodMin, GoodMax] is good, inside
// [WarnMin, WarnMax] a warning, outside bad. A zero Band classifies
// nothing. Use ±Inf for an open side.
type Band struct {
	GoodMin, GoodMax float64
	WarnMin, WarnMax float64
}

func (b Band) enabled() bool { return b != Band{} }

func (b Band) level(v float64) Level {
	switch {
	case v >= b.GoodMin && v <= b.GoodMax:
		return Good
	case v >= b.WarnMin && v <= b.WarnMax:
		return Warning
	}
	return Bad
}

// Thresholds are the operator's limits. DefaultThresholds gives common
// practice.
type Thresholds struct {
	DsPower Band // dBmV received by the modem, per downstream channel
	DsSNR   Band // dB (MER) per downstream channel
	UsTx    Band // dBmV transmitted by the modem, per upstream channel
	UsRx    Band // dBmV received at the CMTS
	UsSNR   Band // dB at the CMTS, per upstream channel
	Micro   Band // -dBc microreflections (zero: not flagged)
	// UncorrectedBad: uncorrectable codewords rising faster than this per
	// second is bad (0: any rise).
	UncorrectedBad float64
	// Stale is how old a reading may be before the modem counts as not
	// answering, default three poll intervals of 10 s.
	Stale time.Duration
}

var inf = math.Inf(1)

// DefaultThresholds are the usual field limits:
//
//   - downstream power: -7..+7 dBmV good; the ±10 "acceptable" range of
//     most operators' guides and up to ±15 (where a modem still locks,
//     without margin) a warning; beyond ±15 bad;
//   - downstream SNR: ≥ 33 dB good (256-QAM), 30..33 warning, < 30 bad;
//   - upstream transmit: 35..49 dBmV good, 30..53 warning (too low means
//     a hot return path, high means little headroom), beyond bad;
//   - upstream receive at the CMTS: -3..+3 dBmV good (CMTS power control
//     aims at 0), ±6 warning, beyond bad;
//   - upstream SNR at the CMTS: ≥ 29 dB good, 25..29 warning, < 25 bad;
//   - uncorrectable codewords rising: bad.
//
// Microreflections are stored but not flagged by default: there is no
// agreed limit for docsIfSigQMicroreflections across vendors.
func DefaultThresholds() Thresholds {
	return Thresholds{
		DsPower: Band{-7, 7, -15, 15},
		DsSNR:   Band{33, inf, 30, inf},
		UsTx:    Band{35, 49, 30, 53},
		UsRx:    Band{-3, 3, -6, 6},
		UsSNR:   Band{29, inf, 25, inf},
		Stale:   30 * time.Second,
	}
}

// MetricHealth is the flag of one metric, at its worst channel.
type MetricHealth struct {
	Metric string // the tsdb metric name: dspwr, dssnr, uspwr, usrcv, ussnr, microref, uncorrected
	Level  Level
	Value  float64
	Reason string // empty when good
}

// Health is a modem's overall state and why.
type Health struct {
	State   Level
	Reason  string // the worst problems, "; "-separated; empty when good
	Metrics []MetricHealth
}

// Classify flags a modem's reading at time now. The state is offline when
// the CMTS says the modem is not registered, or when neither the modem
// nor its CMTS answered recently; otherwise the worst metric's level.
func Classify(r Reading, now time.Time, th Thresholds) Health {
	if th.Stale <= 0 {
		th.Stale = 30 * time.Second
	}
	answered := !r.Time.IsZero() && now.Sub(r.Time) <= th.Stale && r.Fails == 0
	cmtsFresh := !r.CMTS.Time.IsZero() && now.Sub(r.CMTS.Time) <= th.Stale
	var h Health
	switch {
	case cmtsFresh && !r.CMTS.Online():
		h.State = Offline
		h.Reason = fmt.Sprintf("%s at the CMTS", CmtsStatusText(r.CMTS.Status))
		return h
	case !answered && !cmtsFresh:
		if r.Time.IsZero() && r.LastPoll.IsZero() {
			h.State = Unknown
			h.Reason = "not polled yet"
			return h
		}
		h.State = Offline
		h.Reason = "no SNMP answer"
		if !r.Time.IsZero() {
			h.Reason += " since " + r.Time.UTC().Format(time.DateTime)
		}
		return h
	}
	var reasons []string
	add := func(m MetricHealth) {
		h.Metrics = append(h.Metrics, m)
		if m.Level > h.State {
			h.State = m.Level
		}
		if m.Level > Good {
			reasons = append(reasons, m.Reason)
		}
	}
	if answered {
		if m, ok := worstChannel("dspwr", "downstream power", "dBmV", r.Down, th.DsPower, func(c Channel) float64 { return c.Power }); ok {
			add(m)
		}
		if m, ok := worstChannel("dssnr", "downstream SNR", "dB", r.Down, th.DsSNR, func(c Channel) float64 { return c.SNR }); ok {
			add(m)
		}
		if m, ok := worstChannel("microref", "microreflections", "dBc", r.Down, th.Micro, func(c Channel) float64 { return c.Microreflections }); ok {
			add(m)
		}
		if m, ok := worstChannel("uspwr", "upstream transmit power", "dBmV", r.Up, th.UsTx, func(c Channel) float64 { return c.Power }); ok {
			add(m)
		}
		if u := r.UncorrectedRate; !math.IsNaN(u) {
			m := MetricHealth{Metric: "uncorrected", Level: Good, Value: u}
			if u > th.UncorrectedBad {
				m.Level = Bad
				m.Reason = fmt.Sprintf("uncorrectable codewords rising (%.2f/s)", u)
			}
			add(m)
		}
	} else if !r.LastPoll.IsZero() { // polled (it has an address) but silent
		add(MetricHealth{Metric: "snmp", Level: Warning, Reason: "online at the CMTS but no SNMP answer"})
	}
	if cmtsFresh {
		up := r.CMTS.Up
		if len(up) == 0 {
			up = []Channel{{Power: r.CMTS.RxPower, SNR: r.CMTS.SNR}}
		}
		if m, ok := worstChannel("usrcv", "upstream power at the CMTS", "dBmV", up, th.UsRx, func(c Channel) float64 { return c.Power }); ok {
			add(m)
		}
		if m, ok := worstChannel("ussnr", "upstream SNR at the CMTS", "dB", up, th.UsSNR, func(c Channel) float64 { return c.SNR }); ok {
			add(m)
		}
	}
	if h.State == Unknown {
		h.State = Good
	}
	h.Reason = strings.Join(reasons, "; ")
	return h
}

// worstChannel classifies every channel and keeps the worst (the farthest
// outside the good band on ties).
func worstChannel(metric, what, unit string, chs []Channel, b Band, f func(Channel) float64) (MetricHealth, bool) {
	if !b.enabled() {
		return MetricHealth{}, false
	}
	var worst MetricHealth
	found := false
	dist := -1.0
	var worstCh Channel
	for _, c := range chs {
		v := f(c)
		if math.IsNaN(v) {
			continue
		}
		l := b.level(v)
		d := math.Max(b.GoodMin-v, v-b.GoodMax)
		if !found || l > worst.Level || l == worst.Level && d > dist {
			worst = MetricHealth{Metric: metric, Level: l, Value: v}
			dist, worstCh, found = d, c, true
		}
	}
	if found && worst.Level > Good {
		ch := ""
		if len(chs) > 1 && worstCh.IfIndex != 0 {
			ch = fmt.Sprintf(" on channel %d", worstCh.IfIndex)
		}
		worst.Reason = fmt.Sprintf("%s %.1f %s%s (%s)", what, worst.Value, unit, ch, worst.Level)
	}
	return worst, found
}
