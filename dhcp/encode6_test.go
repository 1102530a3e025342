package dhcp

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
)

// TestAppendReply6MatchesLibrary: the one-buffer packing of a reply, bare
// or wrapped through one or several relays (with and without interface-id
// and remote-id), is the library's byte for byte.
func TestAppendReply6MatchesLibrary(t *testing.T) {
	reply := &dhcpv6.Message{MessageType: dhcpv6.MessageTypeReply, TransactionID: dhcpv6.TransactionID{1, 2, 3}}
	reply.AddOption(dhcpv6.OptClientID(&dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: net.HardwareAddr{0x44, 0x32, 0xc8, 0x21, 0x09, 0xe7}}))
	reply.AddOption(dhcpv6.OptServerID(&dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}}))
	ia := &dhcpv6.OptIANA{IaId: [4]byte{0, 0, 0, 1}, T1: 1800, T2: 2880}
	ia.Options.Add(&dhcpv6.OptIAAddress{IPv6Addr: net.ParseIP("2001:db8:4:11::4432:c821:9e7"), PreferredLifetime: 3600, ValidLifetime: 7200})
	reply.AddOption(ia)
	reply.AddOption(dhcpv6.OptDNS(net.ParseIP("2001:db8::53")))
	// An eRouter's prefix, a refused IA with its status code, and the
	// CableLabs vendor options (sub-options 32 and 33).
	pd := &dhcpv6.OptIAPD{IaId: [4]byte{0, 0, 0, 2}, T1: 1800 * time.Second, T2: 2880*time.Second + 600*time.Millisecond}
	_, pfx, _ := net.ParseCIDR("2001:db8:4:100::/56")
	pd.Options.Add(&dhcpv6.OptIAPrefix{PreferredLifetime: 3600 * time.Second, ValidLifetime: 7200 * time.Second, Prefix: pfx})
	pd.Options.Add(&dhcpv6.OptIAPrefix{PreferredLifetime: time.Second})
	reply.AddOption(pd)
	refused := &dhcpv6.OptIANA{IaId: [4]byte{0, 0, 0, 3}}
	refused.Options.Add(&dhcpv6.OptStatusCode{StatusCode: iana.StatusNoAddrsAvail, StatusMessage: "no address available"})
	reply.AddOption(refused)
	reply.AddOption(&dhcpv6.OptVendorOpts{EnterpriseNumber: 4491, VendorOpts: dhcpv6.Options{
		&dhcpv6.OptionGeneric{OptionCode: 32, OptionData: net.ParseIP("2001:db8::69").To16()},
		&dhcpv6.OptionGeneric{OptionCode: 33, OptionData: []byte("cm-gold.cfg")},
	}})

	relayChain := func(levels int, iid, rid bool) []*dhcpv6.RelayMessage {
		var m dhcpv6.DHCPv6 = &dhcpv6.Message{MessageType: dhcpv6.MessageTypeRequest, TransactionID: reply.TransactionID}
		for i := range levels {
			rm, err := dhcpv6.EncapsulateRelay(m, dhcpv6.MessageTypeRelayForward,
				net.ParseIP("2001:db8:4:11::1").To16(), net.IPv6linklocalallnodes)
			if err != nil {
				t.Fatal(err)
			}
			if iid {
				rm.AddOption(dhcpv6.OptInterfaceID([]byte{'c', 'a', 'b', byte('0' + i)}))
			}
			if rid {
				rm.AddOption(&dhcpv6.OptRemoteID{EnterpriseNumber: 4491, RemoteID: []byte{0x44, 0x32, 0xc8, 0x21, 0x09, byte(i)}})
			}
			m = rm
		}
		// As handle6 sees them: parsed from the wire, outermost first.
		d, err := dhcpv6.FromBytes(m.ToBytes())
		if err != nil {
			t.Fatal(err)
		}
		var out []*dhcpv6.RelayMessage
		for d.IsRelay() {
			rm := d.(*dhcpv6.RelayMessage)
			out = append(out, rm)
			if d, err = rm.Options.RelayMessage(), nil; d == nil {
				t.Fatal("relay without a message")
			}
		}
		return out
	}
	for _, c := range []struct {
		name     string
		levels   int
		iid, rid bool
	}{
		{"direct", 0, false, false},
		{"one relay", 1, false, false},
		{"one relay with interface-id", 1, true, false},
		{"one relay with interface-id and remote-id", 1, true, true},
		{"three relays", 3, true, true},
		{"two relays with remote-id", 2, false, true},
	} {
		relays := relayChain(c.levels, c.iid, c.rid)
		var want []byte
		if len(relays) == 0 {
			want = reply.ToBytes()
		} else {
			w, err := dhcpv6.NewRelayReplFromRelayForw(relays[0], reply)
			if err != nil {
				t.Fatal(err)
			}
			want = w.ToBytes()
		}
		if got := appendReply6(nil, relays, reply); !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %x\nwant %x", c.name, got, want)
		}
	}
}
