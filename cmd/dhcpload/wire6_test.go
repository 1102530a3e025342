package main

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
)

// The library-built packets and readings that wire6.go replaces, kept
// here as what its bytes are held to.

// duid6 is a device's DUID-LL.
func duid6(mac MAC) *dhcpv6.DUIDLL {
	return &dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: net.HardwareAddr(append([]byte(nil), mac[:]...))}
}

// solicit6 builds the client's Solicit.
func solicit6(ex *exchange6) *dhcpv6.Message {
	m := &dhcpv6.Message{MessageType: dhcpv6.MessageTypeSolicit}
	m.TransactionID = dhcpv6.TransactionID{byte(ex.xid >> 16), byte(ex.xid >> 8), byte(ex.xid)}
	m.AddOption(dhcpv6.OptClientID(duid6(ex.mac)))
	m.AddOption(dhcpv6.OptElapsedTime(0))
	m.AddOption(&dhcpv6.OptIANA{IaId: [4]byte{0, 0, 0, 1}})
	if ex.kind == KindCPE {
		m.AddOption(&dhcpv6.OptIAPD{IaId: [4]byte{0, 0, 0, 2}})
		m.AddOption(dhcpv6.OptRequestedOption(dhcpv6.OptionDNSRecursiveNameServer))
		return m
	}
	// Option 17 itself is not in the ORO: the CableLabs ORO inside it asks
	// for its sub-options (and with 17 in the ORO, Kea 2.2 answers an empty
	// option 17, measured).
	m.AddOption(dhcpv6.OptRequestedOption(dhcpv6.OptionDNSRecursiveNameServer))
	m.AddOption(&dhcpv6.OptVendorClass{EnterpriseNumber: 4491, Data: [][]byte{[]byte("docsis3.0")}})
	var oro []byte
	for _, c := range []uint16{32, 33, 34, 37, 38} {
		oro = binary.BigEndian.AppendUint16(oro, c)
	}
	m.AddOption(&dhcpv6.OptVendorOpts{EnterpriseNumber: 4491, VendorOpts: dhcpv6.Options{
		&dhcpv6.OptionGeneric{OptionCode: 1, OptionData: oro},
		&dhcpv6.OptionGeneric{OptionCode: 2, OptionData: []byte("ECM")},
		&dhcpv6.OptionGeneric{OptionCode: 36, OptionData: append([]byte(nil), ex.mac[:]...)},
	}})
	return m
}

// relayForward wraps a client message as the CMTS does.
func (r *Relay6) relayForward(ex *exchange6, m *dhcpv6.Message) []byte {
	peer := netip.AddrFrom16([16]byte{0xfe, 0x80, 8: ex.mac[0] ^ 2, 9: ex.mac[1], 10: ex.mac[2], 11: 0xff, 12: 0xfe, 13: ex.mac[3], 14: ex.mac[4], 15: ex.mac[5]})
	rm := &dhcpv6.RelayMessage{MessageType: dhcpv6.MessageTypeRelayForward, LinkAddr: r.cfg.Link.AsSlice(), PeerAddr: peer.AsSlice()}
	rm.Options.Add(dhcpv6.OptRelayMessage(m))
	rm.Options.Add(dhcpv6.OptInterfaceID(r.ifaceID))
	rm.Options.Add(&dhcpv6.OptRemoteID{EnterpriseNumber: 4491, RemoteID: append([]byte(nil), ex.modem[:]...)})
	rm.Options.Add(&dhcpv6.OptionGeneric{OptionCode: 135, OptionData: binary.BigEndian.AppendUint16(nil, r.port)})
	return rm.ToBytes()
}

// hasConfigFile reports whether a reply names a config file (option 17,
// enterprise 4491, sub-option 33), as a modem's must.
func hasConfigFile(m *dhcpv6.Message) bool {
	for _, o := range m.Options.VendorOpt(4491) {
		if o.Code() == 33 && len(o.ToBytes()) > 0 {
			return true
		}
	}
	return false
}

// granted reports whether a reply gives the client an address (and, for
// an eRouter, a prefix).
func granted(m *dhcpv6.Message, kind Kind) bool {
	na := m.Options.OneIANA()
	if na == nil || na.Options.OneAddress() == nil {
		return false
	}
	if kind == KindCPE {
		pd := m.Options.OneIAPD()
		return pd != nil && len(pd.Options.Prefixes()) > 0
	}
	return true
}

// libRequest6 is the Request the library-built relay sent after an
// Advertise.
func libRequest6(sol, adv *dhcpv6.Message) *dhcpv6.Message {
	req := &dhcpv6.Message{MessageType: dhcpv6.MessageTypeRequest, TransactionID: adv.TransactionID}
	for _, o := range sol.Options.Options {
		if o.Code() != dhcpv6.OptionIANA && o.Code() != dhcpv6.OptionIAPD {
			req.AddOption(o)
		}
	}
	if sid := adv.GetOneOption(dhcpv6.OptionServerID); sid != nil {
		req.AddOption(sid)
	}
	for _, ia := range adv.Options.IANA() {
		req.AddOption(ia)
	}
	for _, ia := range adv.Options.IAPD() {
		req.AddOption(ia)
	}
	return req
}

func testRelay6(t testing.TB) *Relay6 {
	t.Helper()
	r, err := NewRelay6(Config6{Server: netip.MustParseAddrPort("[::1]:10547"), Bind: netip.MustParseAddrPort("[::1]:0"),
		Link: netip.MustParseAddr("2001:db8:4:11::1"), Modems: []MAC{{0, 0, 0xca, 0, 0, 4}}, Count: 1, Duration: time.Second, Window: 1, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r.port = 40123
	return r
}

// serverReply6 is what a server answers msg with, in a Relay-Reply
// through fwd: the client's and a server's ids, an address per IA_NA and
// a prefix per IA_PD (or NoAddrsAvail), and the CableLabs options.
func serverReply6(t testing.TB, fwd *dhcpv6.RelayMessage, msg *dhcpv6.Message, typ dhcpv6.MessageType, refuse bool) []byte {
	t.Helper()
	reply := &dhcpv6.Message{MessageType: typ, TransactionID: msg.TransactionID}
	reply.AddOption(dhcpv6.OptClientID(msg.Options.ClientID()))
	reply.AddOption(dhcpv6.OptServerID(&dhcpv6.DUIDEN{EnterpriseNumber: 4491, EnterpriseIdentifier: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}))
	for _, ia := range msg.Options.IANA() {
		out := &dhcpv6.OptIANA{IaId: ia.IaId, T1: 30 * time.Minute, T2: 48 * time.Minute}
		if refuse {
			out.Options.Add(&dhcpv6.OptStatusCode{StatusCode: iana.StatusNoAddrsAvail, StatusMessage: "none"})
		} else {
			out.Options.Add(&dhcpv6.OptIAAddress{IPv6Addr: net.ParseIP("2001:db8:4:11::ca:4"), PreferredLifetime: time.Hour, ValidLifetime: 2 * time.Hour})
		}
		reply.AddOption(out)
	}
	for _, ia := range msg.Options.IAPD() {
		out := &dhcpv6.OptIAPD{IaId: ia.IaId, T1: time.Hour}
		out.Options.Add(&dhcpv6.OptIAPrefix{PreferredLifetime: time.Hour, ValidLifetime: time.Hour,
			Prefix: &net.IPNet{IP: net.ParseIP("2001:db8:4:100::"), Mask: net.CIDRMask(56, 128)}})
		reply.AddOption(out)
	}
	reply.AddOption(&dhcpv6.OptVendorOpts{EnterpriseNumber: 4491, VendorOpts: dhcpv6.Options{
		&dhcpv6.OptionGeneric{OptionCode: 32, OptionData: net.ParseIP("2001:db8::10")},
		&dhcpv6.OptionGeneric{OptionCode: 33, OptionData: []byte("cm/gold.cfg")},
	}})
	rr, err := dhcpv6.NewRelayReplFromRelayForw(fwd, reply)
	if err != nil {
		t.Fatal(err)
	}
	return rr.ToBytes()
}

// TestWire6: the Solicit, the Relay-Forward around it, what is read from
// the server's Advertise and Reply, and the Request after the Advertise are
// byte for byte (and reading for reading) what the library makes of them,
// for a modem and for an eRouter, granted and refused.
func TestWire6(t *testing.T) {
	r := testRelay6(t)
	for _, kind := range []Kind{KindCM, KindCPE} {
		for _, refuse := range []bool{false, true} {
			ex := &exchange6{xid: 0x1f2e3d, kind: kind, mac: MAC{0, 0, 0xca, 0, 0, 4}.Add(kind.macOffset()), modem: MAC{0, 0, 0xca, 0, 0, 4}}
			sol := solicit6(ex)
			ex.solOpts = solicitOptions6(ex)
			solB := solicitBytes6(ex, ex.solOpts)
			if want := sol.ToBytes(); !bytes.Equal(solB, want) {
				t.Fatalf("%v Solicit\n got %x\nwant %x", kind, solB, want)
			}
			fwdB := r.relayForwardBytes6(ex, solB)
			if want := r.relayForward(ex, sol); !bytes.Equal(fwdB, want) {
				t.Fatalf("%v Relay-Forward\n got %x\nwant %x", kind, fwdB, want)
			}
			d, err := dhcpv6.FromBytes(fwdB)
			if err != nil {
				t.Fatal(err)
			}
			fwd := d.(*dhcpv6.RelayMessage)
			for _, typ := range []dhcpv6.MessageType{dhcpv6.MessageTypeAdvertise, dhcpv6.MessageTypeReply} {
				pkt := serverReply6(t, fwd, sol, typ, refuse)
				rep, ok, err := readReply6(pkt)
				if err != nil || !ok {
					t.Fatalf("%v %v: %v, %v", kind, typ, ok, err)
				}
				ld, _ := dhcpv6.FromBytes(pkt)
				msg, _ := ld.(*dhcpv6.RelayMessage).GetInnerMessage()
				if rep.typ != typ || rep.xid != ex.xid || !bytes.Equal(rep.ifaceID, r.ifaceID) {
					t.Errorf("%v %v: read %v xid %x interface-id %q", kind, typ, rep.typ, rep.xid, rep.ifaceID)
				}
				if got, want := rep.granted6(kind), granted(msg, kind); got != want || got == refuse {
					t.Errorf("%v %v refused %v: granted %v, the library %v", kind, typ, refuse, got, want)
				}
				if rep.configFile != hasConfigFile(msg) || !rep.configFile {
					t.Errorf("%v %v: config file %v", kind, typ, rep.configFile)
				}
				if typ != dhcpv6.MessageTypeAdvertise {
					continue
				}
				got := requestBytes6(ex.xid, ex.solOpts, &rep)
				if want := libRequest6(sol, msg).ToBytes(); !bytes.Equal(got, want) {
					t.Errorf("%v Request\n got %x\nwant %x", kind, got, want)
				}
			}
		}
	}
	if _, ok, err := readReply6(fwdBytes(t, r)); ok || err != nil {
		t.Errorf("a Relay-Forward read as a Relay-Reply: %v, %v", ok, err)
	}
}

func fwdBytes(t testing.TB, r *Relay6) []byte {
	ex := &exchange6{xid: 1, kind: KindCM, mac: MAC{0, 0, 0xca, 0, 0, 4}, modem: MAC{0, 0, 0xca, 0, 0, 4}}
	return r.relayForwardBytes6(ex, solicitBytes6(ex, solicitOptions6(ex)))
}

// FuzzReadReply6: whatever the library reads as a Relay-Reply around a
// client message, readReply6 reads too, to the same message type,
// transaction id, interface-id, grant (for a modem and for an eRouter) and
// config file.
func FuzzReadReply6(f *testing.F) {
	r := testRelay6(f)
	for _, kind := range []Kind{KindCM, KindCPE} {
		ex := &exchange6{xid: 0x1f2e3d, kind: kind, mac: MAC{0, 0, 0xca, 0, 0, 4}, modem: MAC{0, 0, 0xca, 0, 0, 4}}
		sol := solicit6(ex)
		d, _ := dhcpv6.FromBytes(r.relayForward(ex, sol))
		f.Add(serverReply6(f, d.(*dhcpv6.RelayMessage), sol, dhcpv6.MessageTypeAdvertise, false))
		f.Add(serverReply6(f, d.(*dhcpv6.RelayMessage), sol, dhcpv6.MessageTypeReply, true))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, ok, err := readReply6(b)
		d, lerr := dhcpv6.FromBytes(b)
		if lerr != nil {
			return
		}
		rm, isRelay := d.(*dhcpv6.RelayMessage)
		if !isRelay || rm.MessageType != dhcpv6.MessageTypeRelayReply {
			if ok {
				t.Fatalf("read a %v as a Relay-Reply", d.Type())
			}
			return
		}
		msg, merr := rm.GetInnerMessage()
		if merr != nil {
			return
		}
		if err != nil || !ok {
			t.Fatalf("the library reads it, readReply6 does not: %v, %v", ok, err)
		}
		xid := uint32(msg.TransactionID[0])<<16 | uint32(msg.TransactionID[1])<<8 | uint32(msg.TransactionID[2])
		if rep.typ != msg.MessageType || rep.xid != xid || !bytes.Equal(rep.ifaceID, rm.Options.InterfaceID()) {
			t.Fatalf("read %v %x %x; the library %v %x %x", rep.typ, rep.xid, rep.ifaceID, msg.MessageType, xid, rm.Options.InterfaceID())
		}
		for _, kind := range []Kind{KindCM, KindCPE} {
			if rep.granted6(kind) != granted(msg, kind) {
				t.Fatalf("%v granted %v, the library %v", kind, rep.granted6(kind), granted(msg, kind))
			}
		}
		if rep.configFile != hasConfigFile(msg) {
			t.Fatalf("config file %v, the library %v", rep.configFile, hasConfigFile(msg))
		}
	})
}
