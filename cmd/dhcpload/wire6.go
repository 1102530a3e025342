package main

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv6"
)

// The v6 relay's packets are built and read here in their bytes: the
// library's objects cost dhcpload about as much CPU per exchange as the
// server under test spends, on the two cores they share. TestWire6 holds
// what is built here to the library's encoding, and FuzzReadReply6 holds
// what is read to the library's reading.

// appendOpt6 appends one option: code, length, data.
func appendOpt6(b []byte, code uint16, data ...[]byte) []byte {
	n := 0
	for _, d := range data {
		n += len(d)
	}
	b = binary.BigEndian.AppendUint16(b, code)
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	for _, d := range data {
		b = append(b, d...)
	}
	return b
}

// solicitOptions6 are the options of the exchange's Solicit (and of its
// Request) but its IA_NA and IA_PD, as solicit6 has them: client id,
// elapsed time, ORO, and for a modem the CableLabs vendor class and vendor
// options.
func solicitOptions6(ex *exchange6) []byte {
	b := make([]byte, 0, 96)
	b = appendOpt6(b, uint16(dhcpv6.OptionClientID), []byte{0, 3, 0, 1}, ex.mac[:])
	b = appendOpt6(b, uint16(dhcpv6.OptionElapsedTime), []byte{0, 0})
	b = appendOpt6(b, uint16(dhcpv6.OptionORO), []byte{0, byte(dhcpv6.OptionDNSRecursiveNameServer)})
	if ex.kind == KindCPE {
		return b
	}
	b = appendOpt6(b, uint16(dhcpv6.OptionVendorClass), []byte{0, 0, 0x11, 0x8b, 0, 9}, []byte("docsis3.0"))
	var sub []byte
	sub = appendOpt6(sub, 1, []byte{0, 32, 0, 33, 0, 34, 0, 37, 0, 38})
	sub = appendOpt6(sub, 2, []byte("ECM"))
	sub = appendOpt6(sub, 36, ex.mac[:])
	return appendOpt6(b, uint16(dhcpv6.OptionVendorOpts), []byte{0, 0, 0x11, 0x8b}, sub)
}

// solicitBytes6 is solicit6's message in its bytes: the options of
// solicitOptions6 with the IA_NA (IAID 1), and for a router an IA_PD (IAID
// 2), where solicit6 puts them.
func solicitBytes6(ex *exchange6, opts []byte) []byte {
	b := make([]byte, 0, len(opts)+48)
	b = append(b, byte(dhcpv6.MessageTypeSolicit), byte(ex.xid>>16), byte(ex.xid>>8), byte(ex.xid))
	// ClientID (14 bytes) and ElapsedTime (6) come first, then the IAs.
	b = append(b, opts[:20]...)
	b = appendOpt6(b, uint16(dhcpv6.OptionIANA), []byte{0, 0, 0, 1}, make([]byte, 8))
	if ex.kind == KindCPE {
		b = appendOpt6(b, uint16(dhcpv6.OptionIAPD), []byte{0, 0, 0, 2}, make([]byte, 8))
	}
	return append(b, opts[20:]...)
}

// relayForwardBytes6 wraps msg as relayForward does: the modem's link,
// the device's link-local peer address, then the relay message, the
// interface-id, the remote-id (the modem's MAC) and the relay source port.
func (r *Relay6) relayForwardBytes6(ex *exchange6, msg []byte) []byte {
	b := make([]byte, 0, len(msg)+80)
	b = append(b, byte(dhcpv6.MessageTypeRelayForward), 0)
	link := r.cfg.Link.As16()
	b = append(b, link[:]...)
	b = append(b, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, ex.mac[0]^2, ex.mac[1], ex.mac[2], 0xff, 0xfe, ex.mac[3], ex.mac[4], ex.mac[5])
	b = appendOpt6(b, uint16(dhcpv6.OptionRelayMsg), msg)
	b = appendOpt6(b, uint16(dhcpv6.OptionInterfaceID), r.ifaceID)
	b = appendOpt6(b, uint16(dhcpv6.OptionRemoteID), []byte{0, 0, 0x11, 0x8b}, ex.modem[:])
	return appendOpt6(b, 135, []byte{byte(r.port >> 8), byte(r.port)})
}

// reply6 is what the relay reads from a Relay-Reply.
type reply6 struct {
	typ        dhcpv6.MessageType // of the innermost message
	xid        uint32
	ifaceID    []byte   // the outer Relay-Reply's interface-id
	serverID   []byte   // the first server id option, whole
	ias        [][]byte // the IA_NA options, then the IA_PD options, whole
	naAddr     bool     // the first IA_NA holds an address
	pdPrefix   bool     // the first IA_PD holds a prefix
	configFile bool     // CableLabs sub-option 33, not empty
}

var errWire6 = errors.New("malformed DHCPv6 message")

// options6 calls fn with each option of a list; an option running past the
// list, or bytes left over, is an error.
func options6(b []byte, fn func(code uint16, data, whole []byte) error) error {
	for len(b) > 0 {
		if len(b) < 4 {
			return errWire6
		}
		l := int(binary.BigEndian.Uint16(b[2:]))
		if len(b)-4 < l {
			return errWire6
		}
		if err := fn(binary.BigEndian.Uint16(b), b[4:4+l], b[:4+l]); err != nil {
			return err
		}
		b = b[4+l:]
	}
	return nil
}

// readReply6 reads a Relay-Reply (through any number of relay levels) to
// what the relay needs. Its slices alias b. A packet that is not a
// Relay-Reply gives ok false; one that does not read cleanly an error.
func readReply6(b []byte) (rep reply6, ok bool, err error) {
	if len(b) < 1 {
		return rep, false, errWire6
	}
	if dhcpv6.MessageType(b[0]) != dhcpv6.MessageTypeRelayReply {
		if len(b) < 4 {
			return rep, false, errWire6
		}
		return rep, false, nil
	}
	outer := true
	for {
		if len(b) < 34 {
			return rep, false, errWire6
		}
		var inner []byte
		err := options6(b[34:], func(code uint16, data, _ []byte) error {
			switch dhcpv6.OptionCode(code) {
			case dhcpv6.OptionRelayMsg:
				if inner == nil {
					inner = data
				}
			case dhcpv6.OptionInterfaceID:
				if outer && rep.ifaceID == nil {
					rep.ifaceID = data
				}
			}
			return nil
		})
		if err != nil {
			return rep, false, err
		}
		if inner == nil {
			return rep, false, errWire6
		}
		outer = false
		b = inner
		if len(b) < 4 {
			return rep, false, errWire6
		}
		if t := dhcpv6.MessageType(b[0]); t != dhcpv6.MessageTypeRelayReply && t != dhcpv6.MessageTypeRelayForward {
			break
		}
	}
	rep.typ = dhcpv6.MessageType(b[0])
	rep.xid = uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	var nas, pds [][]byte
	vendor := false
	err = options6(b[4:], func(code uint16, data, whole []byte) error {
		switch dhcpv6.OptionCode(code) {
		case dhcpv6.OptionServerID:
			if rep.serverID == nil {
				rep.serverID = whole
			}
		case dhcpv6.OptionIANA:
			has, err := holds6(data, dhcpv6.OptionIAAddr, 24)
			if err != nil {
				return err
			}
			if nas == nil {
				rep.naAddr = has
			}
			nas = append(nas, whole)
		case dhcpv6.OptionIAPD:
			has, err := holds6(data, dhcpv6.OptionIAPrefix, 25)
			if err != nil {
				return err
			}
			if pds == nil {
				rep.pdPrefix = has
			}
			pds = append(pds, whole)
		case dhcpv6.OptionVendorOpts:
			// The first CableLabs one counts, as for the library's
			// VendorOpt.
			if len(data) < 4 || binary.BigEndian.Uint32(data) != 4491 || vendor {
				return nil
			}
			vendor = true
			return options6(data[4:], func(c uint16, d, _ []byte) error {
				if c == 33 && len(d) > 0 {
					rep.configFile = true
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return rep, false, err
	}
	rep.ias = append(nas, pds...)
	return rep, true, nil
}

// holds6 reports whether an IA_NA's or IA_PD's data holds an option of
// code (an address or a prefix), each at least size bytes long.
func holds6(ia []byte, code dhcpv6.OptionCode, size int) (bool, error) {
	if len(ia) < 12 {
		return false, errWire6
	}
	has := false
	err := options6(ia[12:], func(c uint16, d, _ []byte) error {
		if dhcpv6.OptionCode(c) == code {
			if len(d) < size {
				return errWire6
			}
			has = true
		}
		return nil
	})
	return has, err
}

// granted6 is granted for a reply read by readReply6.
func (rep *reply6) granted6(kind Kind) bool {
	if !rep.naAddr {
		return false
	}
	return kind != KindCPE || rep.pdPrefix
}

// requestBytes6 is the Request after an Advertise, as the client builds it
// (RFC 8415 §18.2.2): the Solicit's options but its IAs, the server's id,
// and the IAs the Advertise offered.
func requestBytes6(xid uint32, solOpts []byte, adv *reply6) []byte {
	n := 4 + len(solOpts) + len(adv.serverID)
	for _, ia := range adv.ias {
		n += len(ia)
	}
	b := make([]byte, 0, n)
	b = append(b, byte(dhcpv6.MessageTypeRequest), byte(xid>>16), byte(xid>>8), byte(xid))
	b = append(b, solOpts...)
	b = append(b, adv.serverID...)
	for _, ia := range adv.ias {
		b = append(b, ia...)
	}
	return b
}

// linkLocal6 is a device's link-local address from its MAC (EUI-64).
func linkLocal6(mac MAC) netip.Addr {
	return netip.AddrFrom16([16]byte{0xfe, 0x80, 8: mac[0] ^ 2, 9: mac[1], 10: mac[2], 11: 0xff, 12: 0xfe, 13: mac[3], 14: mac[4], 15: mac[5]})
}
