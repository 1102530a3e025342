package dhcpdconf

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"ip6m/dhcp"
)

// TestSeed6ServedAsDhcpd6Would imports the seed's dhcpd6.conf and runs
// ip6m's DHCPv6 server on it over real sockets on ::1, with a test relay in
// the CMTS's place (Relay-Forward with the CM link's address), and checks
// that each client gets what the seed's dhcpd6 gave it: the modems their
// fixed-address6 and the CableLabs options of their subnet6, a router
// behind a modem an address from range6 and a /64 from prefix6. The config
// file name is ip6m's own (the import report lists the seed's names it
// replaces); an unknown modem, which dhcpd6 served from range6, is refused
// (the import report says so).
func TestSeed6ServedAsDhcpd6Would(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	if rep, err := Import6(ctx, st, "testdata/seed_dhcpd6.conf", Options{}); err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	srv, err := dhcp.New6(ctx, dhcp.Config6{Addr: "[::1]:0", Inventory: st, Leases: st, Settings: st,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Skipf("DHCPv6 on ::1: %v", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	relay, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	to := srv.Addr().(*net.UDPAddr)
	link := netip.MustParseAddr("2001:db8:4:11::1")

	exchange := func(t *testing.T, m *dhcpv6.Message, remote net.HardwareAddr) *dhcpv6.Message {
		t.Helper()
		r, err := dhcpv6.EncapsulateRelay(m, dhcpv6.MessageTypeRelayForward, link.AsSlice(), net.ParseIP("fe80::1"))
		if err != nil {
			t.Fatal(err)
		}
		r.AddOption(dhcpv6.OptInterfaceID([]byte("cable1/0/0")))
		r.AddOption(&dhcpv6.OptRemoteID{EnterpriseNumber: 4491, RemoteID: remote})
		if _, err := relay.WriteToUDP(r.ToBytes(), to); err != nil {
			t.Fatal(err)
		}
		relay.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
		buf := make([]byte, 4096)
		for {
			n, err := relay.Read(buf)
			if err != nil {
				return nil // silence
			}
			d, err := dhcpv6.FromBytes(buf[:n])
			if err != nil || d.Type() != dhcpv6.MessageTypeRelayReply {
				t.Fatalf("reply %v, %v: want a Relay-Reply", d, err)
			}
			inner, err := d.(*dhcpv6.RelayMessage).GetInnerMessage()
			if err != nil {
				t.Fatal(err)
			}
			if inner.TransactionID == m.TransactionID {
				return inner
			}
		}
	}
	sarr := func(t *testing.T, sol *dhcpv6.Message, remote net.HardwareAddr) *dhcpv6.Message {
		t.Helper()
		adv := exchange(t, sol, remote)
		if adv == nil {
			return nil
		}
		if adv.MessageType != dhcpv6.MessageTypeAdvertise {
			t.Fatalf("answer to Solicit: %v", adv)
		}
		req := &dhcpv6.Message{MessageType: dhcpv6.MessageTypeRequest, TransactionID: dhcpv6.TransactionID{sol.TransactionID[0] ^ 0xff, 1, 2}}
		for _, o := range sol.Options.Options {
			if o.Code() != dhcpv6.OptionIANA && o.Code() != dhcpv6.OptionIAPD {
				req.AddOption(o)
			}
		}
		req.AddOption(adv.GetOneOption(dhcpv6.OptionServerID))
		for _, ia := range adv.Options.IANA() {
			req.AddOption(ia)
		}
		for _, ia := range adv.Options.IAPD() {
			req.AddOption(ia)
		}
		rep := exchange(t, req, remote)
		if rep == nil || rep.MessageType != dhcpv6.MessageTypeReply {
			t.Fatalf("answer to Request: %v", rep)
		}
		return rep
	}

	for i, tc := range []struct {
		mac, addr, file string
	}{
		{"44:32:c8:21:09:e7", "2001:db8:4:11::4432:c821:09e7", "cm/4432c82109e7.cfg"},
		{"44:32:c8:41:8c:67", "2001:db8:4:11::4432:c841:8c67", "cm/4432c8418c67.cfg"},
		{"00:1e:6b:e6:b4:a5", "2001:db8:4:11::001e:6be6:b4a5", "cm/001e6be6b4a5.cfg"},
	} {
		t.Run("modem "+tc.mac, func(t *testing.T) {
			mac, _ := net.ParseMAC(tc.mac)
			rep := sarr(t, cmSolicit6(t, mac, byte(i)), mac)
			if rep == nil {
				t.Fatal("no answer")
			}
			ia := rep.Options.OneIANA()
			if ia == nil || ia.Options.OneAddress() == nil {
				t.Fatalf("no address: %v", rep)
			}
			if got, _ := netip.AddrFromSlice(ia.Options.OneAddress().IPv6Addr); got != netip.MustParseAddr(tc.addr) {
				t.Errorf("address %s, want the seed's fixed-address6 %s", got, tc.addr)
			}
			server := netip.MustParseAddr("2001:db8::10").AsSlice()
			want := map[uint16][]byte{32: server, 33: []byte(tc.file), 34: server, 37: server, 38: {0, 0, 0x0e, 0x10}}
			for _, o := range rep.Options.VendorOpt(4491) {
				if w, ok := want[uint16(o.Code())]; ok {
					if !bytes.Equal(o.ToBytes(), w) {
						t.Errorf("CableLabs sub-option %d = % x, want % x", o.Code(), o.ToBytes(), w)
					}
					delete(want, uint16(o.Code()))
				}
			}
			if len(want) > 0 {
				t.Errorf("sub-options missing: %v", want)
			}
		})
	}
	t.Run("router behind modem-2: range6 and prefix6", func(t *testing.T) {
		modem, _ := net.ParseMAC("44:32:c8:21:09:e7")
		router := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
		sol, err := dhcpv6.NewSolicit(router, dhcpv6.WithClientID(&dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: router}),
			dhcpv6.WithIAPD([4]byte{0, 0, 0, 1}))
		if err != nil {
			t.Fatal(err)
		}
		rep := sarr(t, sol, modem)
		if rep == nil {
			t.Fatal("no answer")
		}
		na, pd := rep.Options.OneIANA(), rep.Options.OneIAPD()
		if na == nil || na.Options.OneAddress() == nil || pd == nil || len(pd.Options.Prefixes()) != 1 {
			t.Fatalf("want an address and a prefix: %v", rep)
		}
		a, _ := netip.AddrFromSlice(na.Options.OneAddress().IPv6Addr)
		if a.Less(netip.MustParseAddr("2001:db8:4:11::2")) || netip.MustParseAddr("2001:db8:4:11::100").Less(a) {
			t.Errorf("address %s is not in range6 2001:db8:4:11::2 2001:db8:4:11::100", a)
		}
		if p := pd.Options.Prefixes()[0].Prefix.String(); p != "2001:db8:4:100::/64" {
			t.Errorf("prefix %s, want the first /64 of prefix6 2001:db8:4:100:: 2001:db8:4:200::", p)
		}
	})
	t.Run("unknown modem is refused", func(t *testing.T) {
		mac := net.HardwareAddr{0, 0, 0xca, 0x99, 0x99, 0x99}
		if rep := exchange(t, cmSolicit6(t, mac, 9), mac); rep != nil {
			t.Fatalf("ip6m answered an unknown modem: %v", rep)
		}
		if r := srv.Refusals(); len(r) == 0 || r[0].MAC != mac.String() {
			t.Errorf("refusals %+v", r)
		}
	})
}

// cmSolicit6 is a DOCSIS 3.0 modem's Solicit: DUID-LL, vendor class
// docsis3.0, option 17 with the ORO 32 33 34 37 38 and device-id.
func cmSolicit6(t *testing.T, mac net.HardwareAddr, xid byte) *dhcpv6.Message {
	t.Helper()
	m, err := dhcpv6.NewSolicit(mac, dhcpv6.WithClientID(&dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: mac}))
	if err != nil {
		t.Fatal(err)
	}
	m.TransactionID = dhcpv6.TransactionID{0x5e, 0xed, xid}
	m.AddOption(&dhcpv6.OptVendorClass{EnterpriseNumber: 4491, Data: [][]byte{[]byte("docsis3.0")}})
	var oro []byte
	for _, c := range []uint16{32, 33, 34, 37, 38} {
		oro = binary.BigEndian.AppendUint16(oro, c)
	}
	m.AddOption(&dhcpv6.OptVendorOpts{EnterpriseNumber: 4491, VendorOpts: dhcpv6.Options{
		&dhcpv6.OptionGeneric{OptionCode: 1, OptionData: oro},
		&dhcpv6.OptionGeneric{OptionCode: 36, OptionData: mac},
	}})
	return m
}
