package dhcp

import (
	"net"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
)

// packets6 are what a DOCSIS network sends a DHCPv6 server: a CM's Solicit
// and Request through one and three relays, an eRouter's IA_NA + IA_PD
// Request with addresses and prefixes in its IAs, an MTA's Solicit, and a
// bare Information-request.
func packets6(t testing.TB) [][]byte {
	mac := [6]byte{0x44, 0x32, 0xc8, 0x21, 0x09, 0xe7}
	link := netip.MustParseAddr("2001:db8:4:11::1")
	sol := cmSolicit(t, mac)
	sol.AddOption(dhcpv6.OptElapsedTime(1230 * time.Millisecond))
	sol.AddOption(&dhcpv6.OptionGeneric{OptionCode: dhcpv6.OptionRapidCommit})
	adv := &dhcpv6.Message{MessageType: dhcpv6.MessageTypeAdvertise, TransactionID: sol.TransactionID}
	adv.AddOption(dhcpv6.OptServerID(&dhcpv6.DUIDLLT{HWType: iana.HWTypeEthernet, Time: 7, LinkLayerAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}}))
	ia := &dhcpv6.OptIANA{IaId: [4]byte{0, 0, 0, 1}, T1: time.Hour, T2: 2 * time.Hour}
	ia.Options.Add(&dhcpv6.OptIAAddress{IPv6Addr: net.ParseIP("2001:db8:4:11::4432:c821:9e7"), PreferredLifetime: 3 * time.Hour, ValidLifetime: 4 * time.Hour})
	adv.AddOption(ia)
	req := requestFrom(t, sol, adv)

	router := [6]byte{0x44, 0x32, 0xc8, 0x21, 0x09, 0xe9}
	rsol := eRouterSolicit(t, router)
	radv := &dhcpv6.Message{MessageType: dhcpv6.MessageTypeAdvertise, TransactionID: rsol.TransactionID}
	radv.AddOption(dhcpv6.OptServerID(&dhcpv6.DUIDEN{EnterpriseNumber: 4491, EnterpriseIdentifier: []byte("ip6m")}))
	pd := &dhcpv6.OptIAPD{IaId: [4]byte{0, 0, 0, 9}, T1: time.Hour, T2: 2 * time.Hour}
	_, pfx, _ := net.ParseCIDR("2001:db8:4:100::/56")
	pd.Options.Add(&dhcpv6.OptIAPrefix{PreferredLifetime: time.Hour, ValidLifetime: 2 * time.Hour, Prefix: pfx})
	pd.Options.Add(&dhcpv6.OptIAPrefix{ValidLifetime: time.Hour}) // no prefix: length 0
	radv.AddOption(pd)
	radv.AddOption(ia)
	rreq := requestFrom(t, rsol, radv)

	info := &dhcpv6.Message{MessageType: dhcpv6.MessageTypeInformationRequest, TransactionID: dhcpv6.TransactionID{9, 9, 9}}
	info.AddOption(dhcpv6.OptRequestedOption(dhcpv6.OptionDNSRecursiveNameServer, dhcpv6.OptionDomainSearchList))
	return [][]byte{
		relayed(t, sol, link, mac[:], 1),
		relayed(t, req, link, mac[:], 1),
		relayed(t, req, link, mac[:], 3),
		relayed(t, rreq, link, mac[:], 1),
		relayed(t, mtaSolicit(t, [6]byte{0x44, 0x32, 0xc8, 0x21, 0x09, 0xe8}, clTFTPServers, clConfigFile, clCCCv6), link, mac[:], 1),
		info.ToBytes(),
		sol.ToBytes(),
	}
}

// TestParse6 reads the packets of a DOCSIS network on its own path (not
// handing them to the library) to exactly the library's values.
func TestParse6(t *testing.T) {
	for i, pkt := range packets6(t) {
		got, ok := fastParse6(pkt)
		if !ok {
			t.Errorf("packet %d went to the library", i)
			continue
		}
		want, err := dhcpv6.FromBytes(pkt)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("packet %d:\n got %v\nwant %v", i, got, want)
		}
		if s := got.ToBytes(); string(s) != string(pkt) {
			t.Errorf("packet %d packs back to %x, was %x", i, s, pkt)
		}
	}
}

// FuzzParse6: whatever parse6 reads on its own path, the library reads to
// the same values (what it does not, parse6 hands to the library).
func FuzzParse6(f *testing.F) {
	for _, pkt := range packets6(f) {
		f.Add(pkt)
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		got, ok := fastParse6(pkt)
		if !ok {
			return
		}
		want, err := dhcpv6.FromBytes(pkt)
		if err != nil {
			t.Fatalf("read %v; the library refuses it: %v", got, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("\n got %#v\nwant %#v", got, want)
		}
	})
}
