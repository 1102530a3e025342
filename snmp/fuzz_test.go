package snmp

import (
	"math"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// seedResponses are answers as agents send them, for the fuzz corpus.
func seedResponses(t testing.TB) [][]byte {
	pkts := []*gosnmp.SnmpPacket{
		{Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.GetResponse, RequestID: 12345, Variables: []gosnmp.SnmpPDU{
			{Name: "." + oidSysUpTime, Type: gosnmp.TimeTicks, Value: uint32(123456)},
			{Name: "." + oidIfHCInOctets + ".2", Type: gosnmp.Counter64, Value: uint64(1 << 40)},
			{Name: "." + oidIfHCOutOctets + ".2", Type: gosnmp.Counter64, Value: uint64(77)},
			{Name: "." + oidIfInOctets + ".2", Type: gosnmp.Counter32, Value: uint(4294967295)},
			{Name: "." + oidIfOutOctets + ".2", Type: gosnmp.NoSuchInstance},
			{Name: "." + oidDownChannelPower + ".3", Type: gosnmp.Integer, Value: -35},
			{Name: "." + oidSigQSignalNoise + ".3", Type: gosnmp.Integer, Value: 362},
			{Name: "." + oidSigQMicroreflections + ".3", Type: gosnmp.Integer, Value: 31},
			{Name: "." + oidSigQExtCorrecteds + ".3", Type: gosnmp.Counter64, Value: uint64(5)},
		}},
		{Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.GetResponse, RequestID: 7, Error: gosnmp.TooBig},
		{Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.GetResponse, RequestID: 8, Variables: []gosnmp.SnmpPDU{
			{Name: "." + oidCmtsCmStatusMacAddress + ".1", Type: gosnmp.OctetString, Value: []byte{2, 0, 0, 0, 0, 1}},
			{Name: "." + oidCmtsCmStatusIPAddress + ".1", Type: gosnmp.IPAddress, Value: "10.0.0.1"},
			{Name: "." + oidCmtsCmStatusValue + ".1", Type: gosnmp.Integer, Value: 8},
			{Name: "." + oidCmtsCmStatusInetAddress + ".1", Type: gosnmp.OctetString, Value: []byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
			{Name: ".1.3.6.1.2.1.1.1.0", Type: gosnmp.EndOfMibView},
		}},
	}
	var out [][]byte
	for _, p := range pkts {
		b, err := p.MarshalMsg()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzDecodeResponse feeds arbitrary datagrams through what the poller
// does with an answer: decode, match, and turn varbinds into samples and
// CMTS rows. Nothing may panic; a decoded answer re-encodes to the same.
func FuzzDecodeResponse(f *testing.F) {
	for _, b := range seedResponses(f) {
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		dec := &gosnmp.GoSNMP{Version: gosnmp.Version2c}
		pkt, err := decodeResponse(dec, b)
		if err != nil {
			return
		}
		m := &modemState{macIf: 2, down: []channelRef{{3, 128}, {48, 128}}, up: []channelRef{{4, 129}, {80, 129}}}
		m.build(4)
		samples, _ := m.apply(pkt.Variables, time.Unix(1000, 0), time.Second, false)
		for _, s := range samples {
			if math.IsInf(s.Value, 0) {
				t.Errorf("sample %s is infinite", s.Metric)
			}
		}
		var row CMTSModem
		for i, v := range pkt.Variables {
			if o, err := ParseOID(v.Name); err == nil {
				_ = o.String()
			}
			setCmtsColumn(&row, i%len(cmtsColumns), v)
		}
		// decode → encode → decode is stable.
		re, err := pkt.MarshalMsg()
		if err != nil {
			return // gosnmp cannot encode every value it decodes (unknown types)
		}
		again, err := decodeResponse(dec, re)
		if err != nil {
			t.Fatalf("re-encoded answer does not decode: %v", err)
		}
		if again.RequestID != pkt.RequestID || again.Error != pkt.Error || len(again.Variables) != len(pkt.Variables) {
			t.Fatalf("round trip changed the answer: id %d/%d error %v/%v varbinds %d/%d",
				again.RequestID, pkt.RequestID, again.Error, pkt.Error, len(again.Variables), len(pkt.Variables))
		}
		for i := range pkt.Variables {
			if again.Variables[i].Name != pkt.Variables[i].Name || again.Variables[i].Type != pkt.Variables[i].Type {
				t.Fatalf("varbind %d: %s %v became %s %v", i, pkt.Variables[i].Name, pkt.Variables[i].Type, again.Variables[i].Name, again.Variables[i].Type)
			}
		}
	})
}

// The poller's own matching ignores answers to nothing and decodes none
// of a stranger's bytes into a pending call.
func TestDeliverUnmatched(t *testing.T) {
	tr := &transport{pending: map[uint32]*call{}}
	dec := &gosnmp.GoSNMP{Version: gosnmp.Version2c}
	for _, b := range seedResponses(t) {
		pkt, err := decodeResponse(dec, b)
		if err != nil {
			t.Fatal(err)
		}
		tr.deliver(netipAddrPort("127.0.0.1:161"), pkt)
	}
	if got := tr.unmatched.Load(); got != 3 {
		t.Errorf("unmatched %d, want 3", got)
	}
}
