package dhcp

import (
	"encoding/binary"
	"net"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
)

// parse6 reads a DHCPv6 packet as dhcpv6.FromBytes does, to the same
// values. The options of a relayed DOCSIS exchange (the relay's
// interface-id, remote-id and relay message; the client's DUID, IA_NA,
// IA_PD, their addresses and prefixes, ORO, elapsed time and the CableLabs
// vendor options) are read here without the library's buffer per option
// and per list, half a v6 exchange's allocations; every other option goes
// to the library's own dhcpv6.ParseOption. Anything that does not read
// cleanly (a short header, an option running past its list, bytes left
// over) is handed to dhcpv6.FromBytes whole, so the result and the error
// are the library's. FuzzParse6 holds the two together.
//
// What parse6 reads itself aliases pkt (the addresses, DUIDs, relay and
// vendor option data), without a copy each: the result is good while pkt
// is, and whatever outlives pkt must be copied out of it.
func parse6(pkt []byte) (dhcpv6.DHCPv6, error) {
	if m, ok := fastParse6(pkt); ok {
		return m, nil
	}
	return dhcpv6.FromBytes(pkt)
}

// fastParse6 is parse6's own reading; false when the packet is to go to
// the library.
func fastParse6(b []byte) (dhcpv6.DHCPv6, bool) {
	if len(b) == 0 {
		return nil, false
	}
	switch t := dhcpv6.MessageType(b[0]); t {
	case dhcpv6.MessageTypeRelayForward, dhcpv6.MessageTypeRelayReply:
		if len(b) < 34 {
			return nil, false
		}
		m := &dhcpv6.RelayMessage{MessageType: t, HopCount: b[1],
			LinkAddr: net.IP(b[2:18:18]), PeerAddr: net.IP(b[18:34:34])}
		opts, ok := parseOptions6(b[34:])
		if !ok {
			return nil, false
		}
		m.Options.Options = opts
		return m, true
	default:
		if len(b) < 4 {
			return nil, false
		}
		m := &dhcpv6.Message{MessageType: t}
		copy(m.TransactionID[:], b[1:4])
		opts, ok := parseOptions6(b[4:])
		if !ok {
			return nil, false
		}
		m.Options.Options = opts
		return m, true
	}
}

// parseOptions6 reads a list of options, as dhcpv6.Options.FromBytes does:
// an empty list is an empty slice, not nil.
func parseOptions6(b []byte) (dhcpv6.Options, bool) {
	n := 0
	for rest := b; len(rest) >= 4; n++ {
		l := int(binary.BigEndian.Uint16(rest[2:]))
		if len(rest)-4 < l {
			return nil, false
		}
		rest = rest[4+l:]
	}
	opts := make(dhcpv6.Options, 0, n)
	for len(b) >= 4 {
		code := dhcpv6.OptionCode(binary.BigEndian.Uint16(b))
		l := int(binary.BigEndian.Uint16(b[2:]))
		o, ok := parseOption6(code, b[4:4+l])
		if !ok {
			return nil, false
		}
		opts = append(opts, o)
		b = b[4+l:]
	}
	if len(b) != 0 {
		return nil, false // bytes left over: the library's ErrUnreadBytes
	}
	return opts, true
}

// parseOption6 reads one option's data as dhcpv6.ParseOption does.
func parseOption6(code dhcpv6.OptionCode, b []byte) (dhcpv6.Option, bool) {
	switch code {
	case dhcpv6.OptionClientID, dhcpv6.OptionServerID:
		d, ok := parseDUID(b)
		if !ok {
			return nil, false
		}
		if code == dhcpv6.OptionClientID {
			return dhcpv6.OptClientID(d), true
		}
		return dhcpv6.OptServerID(d), true
	case dhcpv6.OptionIANA, dhcpv6.OptionIAPD:
		if len(b) < 12 {
			return nil, false
		}
		opts, ok := parseOptions6(b[12:])
		if !ok {
			return nil, false
		}
		t1, t2 := seconds6(b[4:]), seconds6(b[8:])
		if code == dhcpv6.OptionIANA {
			o := &dhcpv6.OptIANA{T1: t1, T2: t2}
			copy(o.IaId[:], b)
			o.Options.Options = opts
			return o, true
		}
		o := &dhcpv6.OptIAPD{T1: t1, T2: t2}
		copy(o.IaId[:], b)
		o.Options.Options = opts
		return o, true
	case dhcpv6.OptionIAAddr:
		if len(b) < 24 {
			return nil, false
		}
		opts, ok := parseOptions6(b[24:])
		if !ok {
			return nil, false
		}
		o := &dhcpv6.OptIAAddress{IPv6Addr: net.IP(b[:16:16]), PreferredLifetime: seconds6(b[16:]), ValidLifetime: seconds6(b[20:])}
		o.Options.Options = opts
		return o, true
	case dhcpv6.OptionIAPrefix:
		if len(b) < 25 {
			return nil, false
		}
		opts, ok := parseOptions6(b[25:])
		if !ok {
			return nil, false
		}
		o := &dhcpv6.OptIAPrefix{PreferredLifetime: seconds6(b), ValidLifetime: seconds6(b[4:])}
		if bits := b[8]; bits != 0 {
			o.Prefix = &net.IPNet{IP: net.IP(b[9:25:25]), Mask: net.CIDRMask(int(bits), 128)}
		}
		o.Options.Options = opts
		return o, true
	case dhcpv6.OptionORO:
		if len(b)%2 != 0 {
			return nil, false
		}
		var codes dhcpv6.OptionCodes
		for ; len(b) > 0; b = b[2:] {
			codes.Add(dhcpv6.OptionCode(binary.BigEndian.Uint16(b))) // drops repeats, as the library does
		}
		return dhcpv6.OptRequestedOption(codes...), true
	case dhcpv6.OptionElapsedTime:
		if len(b) != 2 {
			return nil, false
		}
		return dhcpv6.OptElapsedTime(time.Duration(binary.BigEndian.Uint16(b)) * 10 * time.Millisecond), true
	case dhcpv6.OptionVendorClass:
		if len(b) < 4 {
			return nil, false
		}
		o := &dhcpv6.OptVendorClass{EnterpriseNumber: binary.BigEndian.Uint32(b)}
		for b = b[4:]; len(b) >= 2; {
			l := int(binary.BigEndian.Uint16(b))
			if len(b)-2 < l {
				return nil, false
			}
			o.Data = append(o.Data, b[2:2+l:2+l])
			b = b[2+l:]
		}
		if len(o.Data) == 0 || len(b) != 0 {
			return nil, false
		}
		return o, true
	case dhcpv6.OptionVendorOpts:
		if len(b) < 4 {
			return nil, false
		}
		data := b[4:]
		o := &dhcpv6.OptVendorOpts{EnterpriseNumber: binary.BigEndian.Uint32(b), VendorOpts: make(dhcpv6.Options, 0, 4)}
		for len(data) >= 4 {
			l := int(binary.BigEndian.Uint16(data[2:]))
			if len(data)-4 < l {
				return nil, false
			}
			o.VendorOpts = append(o.VendorOpts, &dhcpv6.OptionGeneric{OptionCode: dhcpv6.OptionCode(binary.BigEndian.Uint16(data)), OptionData: data[4 : 4+l : 4+l]})
			data = data[4+l:]
		}
		if len(data) != 0 {
			return nil, false
		}
		return o, true
	case dhcpv6.OptionRelayMsg:
		m, ok := fastParse6(b)
		if !ok {
			return nil, false
		}
		return dhcpv6.OptRelayMessage(m), true
	case dhcpv6.OptionInterfaceID:
		return dhcpv6.OptInterfaceID(b[:len(b):len(b)]), true
	case dhcpv6.OptionRemoteID:
		if len(b) < 4 {
			return nil, false
		}
		return &dhcpv6.OptRemoteID{EnterpriseNumber: binary.BigEndian.Uint32(b), RemoteID: b[4:len(b):len(b)]}, true
	}
	o, err := dhcpv6.ParseOption(code, b)
	return o, err == nil
}

// parseDUID reads a DUID-LL or DUID-LLT (a cable device's) and a DUID-EN
// (ours) here, any other with dhcpv6.DUIDFromBytes.
func parseDUID(b []byte) (dhcpv6.DUID, bool) {
	if len(b) >= 2 {
		switch dhcpv6.DUIDType(binary.BigEndian.Uint16(b)) {
		case dhcpv6.DUID_LL:
			if len(b) < 4 {
				return nil, false
			}
			return &dhcpv6.DUIDLL{HWType: iana.HWType(binary.BigEndian.Uint16(b[2:])), LinkLayerAddr: net.HardwareAddr(b[4:len(b):len(b)])}, true
		case dhcpv6.DUID_LLT:
			if len(b) < 8 {
				return nil, false
			}
			return &dhcpv6.DUIDLLT{HWType: iana.HWType(binary.BigEndian.Uint16(b[2:])), Time: binary.BigEndian.Uint32(b[4:]),
				LinkLayerAddr: net.HardwareAddr(b[8:len(b):len(b)])}, true
		case dhcpv6.DUID_EN:
			if len(b) < 6 {
				return nil, false
			}
			return &dhcpv6.DUIDEN{EnterpriseNumber: binary.BigEndian.Uint32(b[2:]), EnterpriseIdentifier: b[6:len(b):len(b)]}, true
		}
	}
	d, err := dhcpv6.DUIDFromBytes(b)
	return d, err == nil
}

// seconds6 reads a 32-bit lifetime in seconds.
func seconds6(b []byte) time.Duration {
	return time.Duration(binary.BigEndian.Uint32(b)) * time.Second
}
