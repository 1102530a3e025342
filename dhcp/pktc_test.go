package dhcp

import (
	"bytes"
	"context"
	"encoding/hex"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"ip6m/store"
)

// mtaSolicit builds an eMTA's Solicit: DUID-LL, vendor class pktc2.0,
// and option 17 with its vendor ORO and device-id.
func mtaSolicit(t testing.TB, mac [6]byte, oro ...uint16) *dhcpv6.Message {
	t.Helper()
	m, err := dhcpv6.NewSolicit(net.HardwareAddr(mac[:]), dhcpv6.WithRapidCommit,
		dhcpv6.WithClientID(&dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: net.HardwareAddr(mac[:])}))
	if err != nil {
		t.Fatal(err)
	}
	m.AddOption(&dhcpv6.OptVendorClass{EnterpriseNumber: clEnterprise, Data: [][]byte{[]byte("pktc2.0")}})
	var b []byte
	for _, c := range oro {
		b = append(b, byte(c>>8), byte(c))
	}
	m.AddOption(&dhcpv6.OptVendorOpts{EnterpriseNumber: clEnterprise, VendorOpts: dhcpv6.Options{
		&dhcpv6.OptionGeneric{OptionCode: clORO, OptionData: b},
		&dhcpv6.OptionGeneric{OptionCode: clDeviceType, OptionData: []byte("EMTA")},
		&dhcpv6.OptionGeneric{OptionCode: clDeviceID, OptionData: mac[:]},
	}})
	return m
}

// TestV6PacketCable: an eMTA behind the modem gets the CableLabs
// sub-options it asked for, 2170 and 2171 included, byte for byte as the
// golden files say; what it did not ask for it does not get.
func TestV6PacketCable(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings map[string]string
		oro      []uint16
		golden   string
		absent   []uint16
	}{
		{name: "defaults", oro: []uint16{clTFTPServers, clConfigFile, clCCC, clCCCv6}, golden: "mta6_default.golden"},
		{name: "fqdn and timers", settings: map[string]string{SettingPktcProv: "prov.voice.example.net", SettingPktcRealm: "VOICE.EXAMPLE.NET",
			SettingPktcASBackoff: "1000, 30, 5", SettingPktcAPBackoff: "2000,60,3", SettingPktcProvTimer: "10"},
			oro: []uint16{clCCCv6}, golden: "mta6_fqdn_timers.golden", absent: []uint16{clCCC, clTFTPServers}},
		{name: "ipv6 provisioner", settings: map[string]string{SettingPktcProv: "2001:db8::99"},
			oro: []uint16{clCCCv6, clTimeOffset}, golden: "mta6_ipv6_prov.golden", absent: []uint16{clCCC}},
		{name: "not asked", oro: []uint16{clConfigFile}, absent: []uint16{clCCC, clCCCv6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture6(t, "2001:db8:4:200::")
			ctx := context.Background()
			mtaNet := store.Network{CMTSID: f.cmts.ID, Prefix: "2001:db8:4:13::/64", Purpose: store.PurposeMTA, LeaseTime: 86400,
				TimeOffset: 3600, Ranges: []store.Range{{First: "2001:db8:4:13::10", Last: "2001:db8:4:13::20"}}}
			if err := f.st.CreateNetwork(ctx, "t", &mtaNet); err != nil {
				t.Fatal(err)
			}
			// A fixed server DUID (DUID-EN 4491) keeps the DSS_ID golden.
			tc.settings = mergeSettings(tc.settings, map[string]string{SettingServerDUID: "00020000118b0102030405060708090a0b0c"})
			for k, v := range tc.settings {
				if err := f.st.SetSetting(ctx, "t", k, v); err != nil {
					t.Fatal(err)
				}
			}
			f.srv6.conn.Close()
			f.srv6 = f.newServer6(t)
			reply, _ := f.exchange6(t, relayed(t, mtaSolicit(t, macMTA, tc.oro...), netip6("2001:db8:4:13::1"), macModem[:], 1))
			if reply == nil || reply.Options.OneIANA() == nil || reply.Options.OneIANA().Options.OneAddress() == nil {
				t.Fatalf("no address for the eMTA: %v", reply)
			}
			vo := reply.GetOneOption(dhcpv6.OptionVendorOpts)
			if vo == nil {
				t.Fatalf("no option 17 in %v", reply)
			}
			got := map[uint16][]byte{}
			for _, o := range reply.Options.VendorOpt(clEnterprise) {
				got[uint16(o.Code())] = o.ToBytes()
			}
			for _, c := range tc.absent {
				if _, ok := got[c]; ok {
					t.Errorf("sub-option %d sent though not asked for", c)
				}
			}
			if tc.golden == "" {
				return
			}
			checkGolden(t, filepath.Join("testdata", tc.golden), hexDump(vo.ToBytes()))
			if _, ok := got[clCCCv6]; !ok {
				t.Fatal("no CCCv6 (2171)")
			}
		})
	}
}

// TestCCCv6Layout checks the sub-option encoding against the registry's
// layout by hand, independent of the golden files.
func TestCCCv6Layout(t *testing.T) {
	duid := []byte{0, 2, 0, 0, 0x11, 0x8b, 1}
	b := optionCCCv6(duid, netip6("2001:db8::10"), "", "BASIC.1", pktcTimers{provTimer: 5, provSet: true})
	want := []byte{
		0, 1, 0, 7, 0, 2, 0, 0, 0x11, 0x8b, 1, // primary DSS_ID: the server DUID
		0, 3, 0, 17, 1, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, // provisioning server, type 1 (IPv6)
		0, 6, 0, 9, 5, 'B', 'A', 'S', 'I', 'C', 1, '1', 0, // realm, DNS wire form
		0, 7, 0, 1, 0, // no TGT
		0, 8, 0, 1, 5, // provisioning timer
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("CCCv6\n got % x\nwant % x", b, want)
	}
	if c := optionCCC(netip4("10.0.0.10")); !bytes.Equal(c, []byte{0, 1, 0, 4, 10, 0, 0, 10}) {
		t.Fatalf("CCC % x", c)
	}
	if optionCCC(netip6("2001:db8::10")) != nil {
		t.Fatal("CCC with an IPv6 address")
	}
	for _, bad := range []string{"1,2", "a,b,c", "1,2,3,4", "-1,2,3"} {
		if CheckBackoff(bad) == nil {
			t.Errorf("backoff %q accepted", bad)
		}
	}
	for _, bad := range []string{"31", "-1", "x"} {
		if CheckProvTimer(bad) == nil {
			t.Errorf("provisioning timer %q accepted", bad)
		}
	}
}

// TestOption122Timers: the v4 option 122 carries the same timers when set.
func TestOption122Timers(t *testing.T) {
	as, _ := parseBackoff("1000,30,5")
	b := option122(netip4("10.0.0.10"), "", "BASIC.1", pktcTimers{as: as, provTimer: 10, provSet: true})
	want := []byte{1, 4, 10, 0, 0, 10, 3, 5, 1, 10, 0, 0, 10, 4, 12, 0, 0, 0x03, 0xe8, 0, 0, 0, 30, 0, 0, 0, 5,
		6, 9, 5, 'B', 'A', 'S', 'I', 'C', 1, '1', 0, 7, 1, 0, 8, 1, 10}
	if !bytes.Equal(b, want) {
		t.Fatalf("option 122\n got % x\nwant % x", b, want)
	}
}

func mergeSettings(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// hexDump writes bytes as hex, 16 to a line, for golden files people read.
func hexDump(b []byte) []byte {
	var s strings.Builder
	for i := 0; i < len(b); i += 16 {
		s.WriteString(hex.EncodeToString(b[i:min(i+16, len(b))]))
		s.WriteByte('\n')
	}
	return []byte(s.String())
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./dhcp -run %s -update)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update if intended):\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

func netip6(s string) netip.Addr { return netip.MustParseAddr(s) }
func netip4(s string) netip.Addr { return netip.MustParseAddr(s) }
