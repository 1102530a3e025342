package dhcp

import (
	"encoding/binary"
	"net"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
)

// appendReply6 packs reply wrapped in a Relay-Reply for each relay the
// request came through (relays outermost first) into b, byte for byte as
// dhcpv6.NewRelayReplFromRelayForw(relays[0], reply).ToBytes() does, but in
// one buffer: the library packs every level and every option list into a
// buffer of its own and copies it into the next, a fifth of a v6 exchange's
// allocations. TestAppendReply6MatchesLibrary holds the two together.
func appendReply6(b []byte, relays []*dhcpv6.RelayMessage, reply *dhcpv6.Message) []byte {
	if len(relays) == 0 {
		b = append(b, byte(reply.MessageType))
		b = append(b, reply.TransactionID[:]...)
		return appendOptions6(b, reply.Options.Options)
	}
	rf := relays[0]
	// The library counts the levels from the inside: the innermost
	// Relay-Reply has hop count 0.
	b = append(b, byte(dhcpv6.MessageTypeRelayReply), byte(len(relays)-1))
	b = appendIP16(b, rf.LinkAddr)
	b = appendIP16(b, rf.PeerAddr)
	at := len(b)
	b = append(b, 0, byte(dhcpv6.OptionRelayMsg), 0, 0)
	b = appendReply6(b, relays[1:], reply)
	binary.BigEndian.PutUint16(b[at+2:], uint16(len(b)-at-4))
	// RFC 8415 §19.3: the interface-id goes back to the relay agent (and
	// the library echoes the remote-id too).
	if o := rf.GetOneOption(dhcpv6.OptionInterfaceID); o != nil {
		b = appendOptions6(b, []dhcpv6.Option{o})
	}
	if o := rf.GetOneOption(dhcpv6.OptionRemoteID); o != nil {
		b = appendOptions6(b, []dhcpv6.Option{o})
	}
	return b
}

// appendOptions6 packs opts as the library's Options.ToBytes does. The
// options of every reply (IA_NA, IA_PD and their addresses, prefixes and
// status codes, the CableLabs vendor options) are packed in place; the
// library would pack each into a buffer of its own and copy it out.
func appendOptions6(b []byte, opts []dhcpv6.Option) []byte {
	for _, o := range opts {
		at := len(b)
		b = binary.BigEndian.AppendUint16(b, uint16(o.Code()))
		b = append(b, 0, 0)
		b = appendOptionValue6(b, o)
		binary.BigEndian.PutUint16(b[at+2:], uint16(len(b)-at-4))
	}
	return b
}

func appendOptionValue6(b []byte, o dhcpv6.Option) []byte {
	switch o := o.(type) {
	case *dhcpv6.OptIANA:
		b = append(b, o.IaId[:]...)
		b = appendSeconds6(appendSeconds6(b, o.T1), o.T2)
		return appendOptions6(b, o.Options.Options)
	case *dhcpv6.OptIAPD:
		b = append(b, o.IaId[:]...)
		b = appendSeconds6(appendSeconds6(b, o.T1), o.T2)
		return appendOptions6(b, o.Options.Options)
	case *dhcpv6.OptIAAddress:
		b = appendIP16(b, o.IPv6Addr)
		b = appendSeconds6(appendSeconds6(b, o.PreferredLifetime), o.ValidLifetime)
		return appendOptions6(b, o.Options.Options)
	case *dhcpv6.OptIAPrefix:
		b = appendSeconds6(appendSeconds6(b, o.PreferredLifetime), o.ValidLifetime)
		if o.Prefix != nil {
			bits, _ := o.Prefix.Mask.Size()
			b = appendIP16(append(b, byte(bits)), o.Prefix.IP)
		} else {
			b = appendIP16(append(b, 0), nil)
		}
		return appendOptions6(b, o.Options.Options)
	case *dhcpv6.OptStatusCode:
		b = binary.BigEndian.AppendUint16(b, uint16(o.StatusCode))
		return append(b, o.StatusMessage...)
	case *dhcpv6.OptVendorOpts:
		b = binary.BigEndian.AppendUint32(b, o.EnterpriseNumber)
		return appendOptions6(b, o.VendorOpts)
	case *dhcpv6.OptRemoteID:
		b = binary.BigEndian.AppendUint32(b, o.EnterpriseNumber)
		return append(b, o.RemoteID...)
	}
	return append(b, o.ToBytes()...)
}

// appendSeconds6 packs a lifetime as the library does: whole seconds,
// rounded.
func appendSeconds6(b []byte, d time.Duration) []byte {
	return binary.BigEndian.AppendUint32(b, uint32(d.Round(time.Second)/time.Second))
}

func appendIP16(b []byte, ip net.IP) []byte {
	if ip16 := ip.To16(); ip16 != nil {
		return append(b, ip16...)
	}
	var zero [net.IPv6len]byte
	return append(b, zero[:]...)
}
