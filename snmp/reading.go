package snmp

import (
	"math"
	"net"
	"net/netip"
	"slices"
	"time"
)

// Reading is the latest state of a device, for the UI and for Classify.
// Values are in dBmV, dB, -dBc, bytes/s and codewords/s; NaN is unknown.
type Reading struct {
	Key  string
	Kind Kind
	Addr netip.AddrPort

	Time     time.Time // last answer (zero: never answered)
	LastPoll time.Time // last attempt
	Err      string    // last attempt's error, "" when it answered
	Fails    int       // attempts without an answer in a row

	Uptime   time.Duration
	Rebooted time.Time // last reboot seen (sysUpTime going back)

	InRate, OutRate                float64
	CorrectedRate, UncorrectedRate float64

	Down []Channel // downstream channels (SC-QAM and OFDM)
	Up   []Channel // upstream channels, Power is the transmit power

	// CMTS is the modem as its CMTS sees it (zero Time: not seen).
	CMTS CMTSView

	// Modems is a CMTS's table from its last walk (Kind CMTS).
	Modems []CMTSModem
}

// Channel is one RF channel of a modem.
type Channel struct {
	IfIndex          uint32
	IfType           int
	Power            float64 // dBmV: received (downstream) or transmitted (upstream)
	SNR              float64 // dB
	Microreflections float64 // -dBc
}

// CMTSView is what the CMTS reported about a modem.
type CMTSView struct {
	CMTS    string // the CMTS's key
	Time    time.Time
	Status  int     // docsIfCmtsCmStatusValue
	RxPower float64 // dBmV, upstream receive power (average over channels)
	SNR     float64 // dB, upstream SNR (worst channel)
	IP      netip.Addr
	Up      []Channel // per upstream channel (DOCS-IF3), Power is the receive power
}

// Online reports whether the CMTS sees the modem registered.
func (v CMTSView) Online() bool { return !v.Time.IsZero() && cmtsOnline(v.Status) }

// CMTSModem is one row of a CMTS's modem table.
type CMTSModem struct {
	Index   uint32 // docsIfCmtsCmStatusIndex
	MAC     net.HardwareAddr
	IP      netip.Addr
	Status  int
	RxPower float64
	SNR     float64
	Up      []Channel
	Key     string // the Target with this MAC, if any
}

func (r Reading) clone() Reading {
	r.Down = slices.Clone(r.Down)
	r.Up = slices.Clone(r.Up)
	r.CMTS.Up = slices.Clone(r.CMTS.Up)
	r.Modems = slices.Clone(r.Modems)
	return r
}

// channelStats returns min, mean and max of the known values.
func channelStats(chs []Channel, f func(Channel) float64) (mn, avg, mx float64, n int) {
	mn, mx = math.Inf(1), math.Inf(-1)
	sum := 0.0
	for _, c := range chs {
		v := f(c)
		if math.IsNaN(v) {
			continue
		}
		n++
		sum += v
		mn = min(mn, v)
		mx = max(mx, v)
	}
	if n == 0 {
		return math.NaN(), math.NaN(), math.NaN(), 0
	}
	return mn, sum / float64(n), mx, n
}
