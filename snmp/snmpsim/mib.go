package snmpsim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// oid is a parsed object identifier.
type oid []uint32

func parseOID(s string) (oid, error) {
	s = strings.TrimPrefix(s, ".")
	parts := strings.Split(s, ".")
	o := make(oid, 0, len(parts))
	for _, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("parse oid %q: %w", s, err)
		}
		o = append(o, uint32(n))
	}
	return o, nil
}

func mustOID(s string) oid {
	o, err := parseOID(s)
	if err != nil {
		panic(err)
	}
	return o
}

func (o oid) String() string {
	var b strings.Builder
	for _, n := range o {
		b.WriteByte('.')
		b.WriteString(strconv.FormatUint(uint64(n), 10))
	}
	return b.String()
}

func (o oid) with(arcs ...uint32) oid {
	return append(slices.Clip(o), arcs...)
}

func (o oid) hasPrefix(p oid) bool {
	return len(o) >= len(p) && slices.Equal(o[:len(p)], p)
}

// The objects the simulator answers, written from the MIBs independently
// of package snmp so that its tests check one against the other.
var (
	sysUpTime0          = mustOID("1.3.6.1.2.1.1.3.0")                 // SNMPv2-MIB sysUpTime.0
	ifType              = mustOID("1.3.6.1.2.1.2.2.1.3")               // IF-MIB ifType
	ifInOctets          = mustOID("1.3.6.1.2.1.2.2.1.10")              // IF-MIB ifInOctets
	ifOutOctets         = mustOID("1.3.6.1.2.1.2.2.1.16")              // IF-MIB ifOutOctets
	ifHCInOctets        = mustOID("1.3.6.1.2.1.31.1.1.1.6")            // IF-MIB ifHCInOctets
	ifHCOutOctets       = mustOID("1.3.6.1.2.1.31.1.1.1.10")           // IF-MIB ifHCOutOctets
	downChannelPower    = mustOID("1.3.6.1.2.1.10.127.1.1.1.1.6")      // DOCS-IF-MIB docsIfDownChannelPower
	sigQCorrecteds      = mustOID("1.3.6.1.2.1.10.127.1.1.4.1.3")      // docsIfSigQCorrecteds
	sigQUncorrectables  = mustOID("1.3.6.1.2.1.10.127.1.1.4.1.4")      // docsIfSigQUncorrectables
	sigQSignalNoise     = mustOID("1.3.6.1.2.1.10.127.1.1.4.1.5")      // docsIfSigQSignalNoise
	sigQMicroreflection = mustOID("1.3.6.1.2.1.10.127.1.1.4.1.6")      // docsIfSigQMicroreflections
	sigQExtCorrecteds   = mustOID("1.3.6.1.2.1.10.127.1.1.4.1.9")      // docsIfSigQExtCorrecteds
	sigQExtUncorrect    = mustOID("1.3.6.1.2.1.10.127.1.1.4.1.10")     // docsIfSigQExtUncorrectables
	cmStatusTxPower     = mustOID("1.3.6.1.2.1.10.127.1.2.2.1.3")      // docsIfCmStatusTxPower
	if3CmStatusUsTx     = mustOID("1.3.6.1.4.1.4491.2.1.20.1.2.1.1")   // DOCS-IF3-MIB docsIf3CmStatusUsTxPower
	if31OfdmRxPower     = mustOID("1.3.6.1.4.1.4491.2.1.28.1.11.1.3")  // DOCS-IF31-MIB docsIf31CmDsOfdmChannelPowerRxPower
	if31OfdmaTxPower    = mustOID("1.3.6.1.4.1.4491.2.1.28.1.13.1.10") // DOCS-IF31-MIB docsIf31CmUsOfdmaChanTxPower
	docsDevResetNow0    = mustOID("1.3.6.1.2.1.69.1.1.3.0")            // DOCS-CABLE-DEVICE-MIB docsDevResetNow.0
	cmtsCmStatusEntry   = mustOID("1.3.6.1.2.1.10.127.1.3.3.1")        // docsIfCmtsCmStatusEntry
	if3CmtsCmRegMac     = mustOID("1.3.6.1.4.1.4491.2.1.20.1.3.1.2")   // docsIf3CmtsCmRegStatusMacAddr
	if3CmtsCmUsEntry    = mustOID("1.3.6.1.4.1.4491.2.1.20.1.4.1")     // docsIf3CmtsCmUsStatusEntry
)

// docsIfCmtsCmStatusEntry columns the simulator fills.
const (
	cmtsColMac      = 2
	cmtsColIP       = 3
	cmtsColDownIf   = 4
	cmtsColUpIf     = 5
	cmtsColRxPower  = 6
	cmtsColValue    = 9
	cmtsColSNR      = 13
	cmtsColInetType = 20
	cmtsColInetAddr = 21
)

// What an entry of a MIB view is.
type kind uint8

const (
	kUptime kind = iota
	kIfType
	kInOctets
	kOutOctets
	kHCIn
	kHCOut
	kDsPower
	kCorr
	kUncorr
	kSNR
	kMicro
	kExtCorr
	kExtUncorr
	kCmTx
	kUsTx
	kOfdmPower
	kOfdmaTx
	kResetNow
	kCmtsCol    // ch is the column
	kCmtsRegMac // docsIf3CmtsCmRegStatusMacAddr
	kCmtsUsRx   // docsIf3CmtsCmUsStatusRxPower
	kCmtsUsSNR  // docsIf3CmtsCmUsStatusSignalNoise
)

type entry struct {
	oid  oid
	kind kind
	mi   int32 // modem index (CMTS view)
	ch   int32 // channel index, ifType value or column
}

// view is a sorted list of objects, for GET, GETNEXT and GETBULK.
type view []entry

func (v view) sort() {
	slices.SortFunc(v, func(a, b entry) int { return slices.Compare(a.oid, b.oid) })
}

// get finds the exact object.
func (v view) get(o oid) (entry, bool) {
	i, ok := slices.BinarySearchFunc(v, o, func(e entry, t oid) int { return slices.Compare(e.oid, t) })
	if !ok {
		return entry{}, false
	}
	return v[i], true
}

// next finds the first object after o.
func (v view) next(o oid) (entry, bool) {
	i, ok := slices.BinarySearchFunc(v, o, func(e entry, t oid) int { return slices.Compare(e.oid, t) })
	if ok {
		i++
	}
	if i >= len(v) {
		return entry{}, false
	}
	return v[i], true
}

// Shape is the interface layout of a simulated modem.
type Shape struct {
	Down, Up   int  // SC-QAM channels
	OFDM       bool // one OFDM downstream and one OFDMA upstream (DOCSIS 3.1)
	No64BitCtr bool // no ifHC*Octets nor docsIfSigQExt* (DOCSIS 1.x/2.0)
}

// Interface indexes, vendor-like: 1 Ethernet, 2 cable MAC, 3 the first
// downstream, 4 the first upstream, then 48.. more downstreams, 80.. more
// upstreams, 160 OFDM, 170 OFDMA.
func (s Shape) downIf(i int) uint32 {
	if i == 0 {
		return 3
	}
	return uint32(47 + i)
}

func (s Shape) upIf(i int) uint32 {
	if i == 0 {
		return 4
	}
	return uint32(79 + i)
}

const (
	ethIf   = 1
	macIf   = 2
	ofdmIf  = 160
	ofdmaIf = 170
)

// modemView lays out the objects of one shape.
func modemView(s Shape) view {
	var v view
	add := func(o oid, k kind, ch int) { v = append(v, entry{oid: o, kind: k, ch: int32(ch)}) }
	add(sysUpTime0, kUptime, 0)
	add(docsDevResetNow0, kResetNow, 0)
	add(ifType.with(ethIf), kIfType, 6)
	add(ifType.with(macIf), kIfType, 127)
	for _, ifi := range []uint32{ethIf, macIf} {
		add(ifInOctets.with(ifi), kInOctets, int(ifi))
		add(ifOutOctets.with(ifi), kOutOctets, int(ifi))
		if !s.No64BitCtr {
			add(ifHCInOctets.with(ifi), kHCIn, int(ifi))
			add(ifHCOutOctets.with(ifi), kHCOut, int(ifi))
		}
	}
	add(cmStatusTxPower.with(macIf), kCmTx, 0)
	for i := range s.Down {
		ifi := s.downIf(i)
		add(ifType.with(ifi), kIfType, 128)
		add(downChannelPower.with(ifi), kDsPower, i)
		add(sigQCorrecteds.with(ifi), kCorr, i)
		add(sigQUncorrectables.with(ifi), kUncorr, i)
		add(sigQSignalNoise.with(ifi), kSNR, i)
		add(sigQMicroreflection.with(ifi), kMicro, i)
		if !s.No64BitCtr {
			add(sigQExtCorrecteds.with(ifi), kExtCorr, i)
			add(sigQExtUncorrect.with(ifi), kExtUncorr, i)
		}
	}
	for i := range s.Up {
		ifi := s.upIf(i)
		add(ifType.with(ifi), kIfType, 129)
		add(if3CmStatusUsTx.with(ifi), kUsTx, i)
	}
	if s.OFDM {
		add(ifType.with(ofdmIf), kIfType, 277)
		add(ifType.with(ofdmaIf), kIfType, 278)
		add(if31OfdmRxPower.with(ofdmIf, 0), kOfdmPower, 0)
		add(if31OfdmaTxPower.with(ofdmaIf), kOfdmaTx, 0)
	}
	v.sort()
	return v
}

// cmtsView lays out docsIfCmtsCmStatusTable for n modems (index i+1) and,
// with if3, docsIf3CmtsCmRegStatusMacAddr and docsIf3CmtsCmUsStatusTable
// (registration id i+1, upstream channel 1000+ch).
func cmtsView(modems []*modem, if3 bool) view {
	var v view
	for i, m := range modems {
		for _, col := range []uint32{cmtsColMac, cmtsColIP, cmtsColDownIf, cmtsColUpIf, cmtsColRxPower, cmtsColValue, cmtsColSNR, cmtsColInetType, cmtsColInetAddr} {
			v = append(v, entry{oid: cmtsCmStatusEntry.with(col, uint32(i+1)), kind: kCmtsCol, mi: int32(i), ch: int32(col)})
		}
		if !if3 {
			continue
		}
		v = append(v, entry{oid: if3CmtsCmRegMac.with(uint32(i + 1)), kind: kCmtsRegMac, mi: int32(i)})
		for ch := range max(m.shape.Up, 1) {
			ifi := uint32(1000 + ch)
			v = append(v,
				entry{oid: if3CmtsCmUsEntry.with(3, uint32(i+1), ifi), kind: kCmtsUsRx, mi: int32(i), ch: int32(ch)},
				entry{oid: if3CmtsCmUsEntry.with(4, uint32(i+1), ifi), kind: kCmtsUsSNR, mi: int32(i), ch: int32(ch)})
		}
	}
	v.sort()
	return v
}
