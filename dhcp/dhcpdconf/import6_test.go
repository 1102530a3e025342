package dhcpdconf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ip6m/dhcp"
	"ip6m/store"
)

// TestImport6Seed imports the seed's dhcpd6.conf (its include and all):
// the report is golden, and the inventory holds the seed's v6 networks and
// modems with the addresses the seed gave them.
func TestImport6Seed(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	rep, err := Import6(ctx, st, "testdata/seed_dhcpd6.conf", Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	golden(t, "seed6_report.golden", rep.String())

	nets, err := st.ListNetworks(ctx, 0)
	if err != nil || len(nets) != 2 {
		t.Fatalf("networks %+v %v", nets, err)
	}
	byPrefix := map[string]store.Network{}
	for _, n := range nets {
		byPrefix[n.Prefix] = n
	}
	srv, cm := byPrefix["2001:db8::/64"], byPrefix["2001:db8:4:11::/64"]
	if srv.Purpose != store.PurposeServer || srv.CMTSID != 0 || len(srv.Ranges) != 1 || srv.Ranges[0] != (store.Range{First: "2001:db8::100", Last: "2001:db8::110"}) {
		t.Errorf("server network %+v", srv)
	}
	if cm.Purpose != store.PurposeCM || cm.TimeServers != "2001:db8::10" || cm.LogServers != "2001:db8::10" || cm.TimeOffset != 3600 ||
		len(cm.Ranges) != 1 || cm.Ranges[0] != (store.Range{First: "2001:db8:4:11::2", Last: "2001:db8:4:11::100"}) ||
		len(cm.PDPools) != 1 || cm.PDPools[0] != (store.PDPool{First: "2001:db8:4:100::", Last: "2001:db8:4:200::", Len: 64}) {
		t.Errorf("modem network %+v", cm)
	}
	if c, _ := st.GetCMTS(ctx, cm.CMTSID); c.Name != "CMTS-1" {
		t.Errorf("modem network on CMTS %q", c.Name)
	}
	modems, _, _ := st.ListModems(ctx, store.ModemFilter{}, store.Page{})
	want := map[string]string{"44:32:c8:21:09:e7": "2001:db8:4:11::4432:c821:9e7", "44:32:c8:41:8c:67": "2001:db8:4:11::4432:c841:8c67",
		"00:1e:6b:e6:b4:a5": "2001:db8:4:11::1e:6be6:b4a5"}
	if len(modems) != len(want) {
		t.Fatalf("%d modems, want %d", len(modems), len(want))
	}
	for _, m := range modems {
		// Every seed address is the MAC-derived one: no override is kept.
		a, _, err := st.ModemIPv6(ctx, m.Modem)
		if err != nil || a.String() != netip.MustParseAddr(want[m.MAC]).String() || m.IPv6 != "" || !m.Enabled || m.CMTSID != cm.CMTSID {
			t.Errorf("modem %s: %s (override %q) %v, want %s", m.MAC, a, m.IPv6, err, want[m.MAC])
		}
	}
	if v, _ := st.Setting(ctx, SettingServerIPv6, ""); v != "2001:db8::10" {
		t.Errorf("server.ipv6 %q", v)
	}
	// Imported again: everything is present, nothing is created.
	rep, err = Import6(ctx, st, "testdata/seed_dhcpd6.conf", Options{})
	if err != nil || rep.Created != (Counts{}) || rep.Present.Modems != 3 || rep.Present.Networks != 2 {
		t.Fatalf("second import: %v\n%s", err, rep)
	}
}

func TestImport6DryRun(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	rep, err := Import6(ctx, st, "testdata/seed_dhcpd6.conf", Options{DryRun: true})
	if err != nil || rep.Created.Modems != 3 || rep.Created.Networks != 2 || !strings.Contains(rep.String(), "dry run, nothing was written") {
		t.Fatalf("%v\n%s", err, rep)
	}
	if c, _ := st.Count(ctx); c.Modems != 0 || c.Networks != 0 || c.CMTS != 0 {
		t.Fatalf("a dry run wrote %+v", c)
	}
}

// TestImport6Hosts: the ways a dhcpd6.conf names a modem, and what is
// reported rather than mapped.
func TestImport6Hosts(t *testing.T) {
	const head = `option space docsis code width 2 length width 2;
option docsis.configuration-file code 33 = text;
option docsis.tftp-servers code 32 = array of ip6-address;
option vsio.docsis code 4491 = encapsulate docsis;
shared-network "Hub-2" {
	subnet6 2001:db8:9:11::/64 {
		option docsis.tftp-servers 2001:db8::20;
		prefix6 2001:db8:9:100:: 2001:db8:9:1ff:: /64;
	}
	subnet6 2001:db8:9:12::/64 { range6 2001:db8:9:12::/112; }
}
`
	for _, tc := range []struct {
		name    string
		hosts   string
		err     string // in the error, when the import must fail
		mac     string // the modem that must exist
		ipv6    string // its IPv6 override
		prefix6 string // its reserved delegated prefix
		cmts    string
		notes   []string // in the report
	}{
		{name: "DUID-LL client-id", hosts: `host a { host-identifier option dhcp6.client-id 0:3:0:1:44:32:c8:21:9:e7; fixed-address6 2001:db8:9:11::4432:c821:9e7; }`,
			mac: "44:32:c8:21:09:e7", cmts: "Hub-2"},
		{name: "DUID-LLT client-id, address not derived", hosts: `host a { host-identifier option dhcp6.client-id 00:01:00:01:2a:bc:de:f0:44:32:c8:21:09:e7; fixed-address6 2001:db8:9:11::77; option docsis.configuration-file "cm/a.cfg"; }`,
			mac: "44:32:c8:21:09:e7", ipv6: "2001:db8:9:11::77", cmts: "Hub-2", notes: []string{`"cm/a.cfg", 1 modem host`}},
		{name: "DUID-EN is reported", hosts: `host a { host-identifier option dhcp6.client-id 0:2:0:0:11:8b:1:2:3; fixed-address6 2001:db8:9:11::5; }`,
			notes: []string{"is not a DUID-LL or DUID-LLT", "host a has no hardware ethernet"}},
		{name: "fixed-prefix6 of a modem is its router's reserved prefix", hosts: `host a { hardware ethernet 44:32:c8:21:09:e7; option docsis.configuration-file "cm/4432c82109e7.cfg"; fixed-prefix6 2001:db8:9:100::/56; }`,
			mac: "44:32:c8:21:09:e7", prefix6: "2001:db8:9:100::/56"},
		{name: "fixed-prefix6 of no modem is reported", hosts: `host pc { hardware ethernet 02:00:00:00:00:01; fixed-prefix6 2001:db8:9:100::/56; }`,
			notes: []string{"fixed-prefix6 2001:db8:9:100::/56 not mapped (the host is not a cable modem"}},
		{name: "fixed-prefix6 too long is reported", hosts: `host a { hardware ethernet 44:32:c8:21:09:e7; option docsis.configuration-file "cm/4432c82109e7.cfg"; fixed-prefix6 2001:db8:9:100::/72; }`,
			mac: "44:32:c8:21:09:e7", notes: []string{"fixed-prefix6 2001:db8:9:100::/72 not mapped (a delegated prefix is /32 to /64)"}},
		{name: "two modems on one prefix", hosts: "host a { hardware ethernet 44:32:c8:21:09:e7; option docsis.configuration-file \"x\"; fixed-prefix6 2001:db8:9:100::/56; }\nhost b { hardware ethernet 44:32:c8:21:09:e9; option docsis.configuration-file \"x\"; fixed-prefix6 2001:db8:9:100::/56; }",
			err: "fixed-prefix6 2001:db8:9:100::/56 of 44:32:c8:21:09:e9 is already 44:32:c8:21:09:e7's"},
		{name: "fixed-prefix6 not a prefix start", hosts: `host a { hardware ethernet 44:32:c8:21:09:e7; fixed-prefix6 2001:db8:9:180::/56; }`,
			err: "fixed-prefix6 2001:db8:9:180::/56 is not an IPv6 prefix"},
		{name: "a host that is no modem", hosts: `host pc { hardware ethernet 02:00:00:00:00:01; fixed-address6 2001:db8:9:12::5; }`,
			notes: []string{"host pc: no config file and no address in a modem network"}},
		{name: "config name already ip6m's is not listed", hosts: `host a { hardware ethernet 44:32:c8:21:09:e7; fixed-address6 2001:db8:9:11::4432:c821:9e7; option docsis.configuration-file "cm/4432c82109e7.cfg"; }`,
			mac: "44:32:c8:21:09:e7", cmts: "Hub-2"},
		{name: "two hosts on one address", hosts: "host a { hardware ethernet 44:32:c8:21:09:e7; fixed-address6 2001:db8:9:11::9; }\nhost b { hardware ethernet 44:32:c8:21:09:e9; fixed-address6 2001:db8:9:11::9; }",
			err: "fixed-address6 2001:db8:9:11::9 of 44:32:c8:21:09:e9 is already 44:32:c8:21:09:e7's"},
		{name: "range outside", hosts: "subnet6 2001:db8:7::/64 { range6 2001:db8:8::1 2001:db8:8::9; }", err: "is not inside subnet6"},
		{name: "bad prefix6", hosts: "subnet6 2001:db8:7::/64 { prefix6 2001:db8:7:100::1 2001:db8:7:1ff:: /64; }", err: "is not the start of a /64"},
		{name: "v4 is skipped", hosts: "subnet 10.0.0.0 netmask 255.0.0.0 { range 10.0.0.1 10.0.0.9; }", notes: []string{"DHCPv4 declarations are skipped"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := openStore(t)
			path := filepath.Join(t.TempDir(), "dhcpd6.conf")
			if err := os.WriteFile(path, []byte(head+tc.hosts+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			rep, err := Import6(ctx, st, path, Options{})
			if tc.err != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(rep.String(), tc.err) {
					t.Fatalf("want an error %q, got %v\n%s", tc.err, err, rep)
				}
				if c, _ := st.Count(ctx); c.Networks != 0 {
					t.Fatal("a file with errors wrote networks")
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, rep)
			}
			for _, n := range tc.notes {
				if !strings.Contains(rep.String(), n) {
					t.Errorf("report lacks %q:\n%s", n, rep)
				}
			}
			modems, _, _ := st.ListModems(ctx, store.ModemFilter{}, store.Page{})
			if tc.mac == "" {
				if len(modems) != 0 {
					t.Fatalf("modems %+v, want none", modems)
				}
				return
			}
			if len(modems) != 1 || modems[0].MAC != tc.mac || modems[0].IPv6 != tc.ipv6 || modems[0].Prefix6 != tc.prefix6 {
				t.Fatalf("modems %+v, want %s with IPv6 %q and prefix %q", modems, tc.mac, tc.ipv6, tc.prefix6)
			}
			if tc.cmts != "" {
				if c, _ := st.GetCMTS(ctx, modems[0].CMTSID); c.Name != tc.cmts {
					t.Errorf("modem on CMTS %q, want %q", c.Name, tc.cmts)
				}
			}
			nets, _ := st.ListNetworks(ctx, 0)
			for _, n := range nets {
				if n.Prefix == "2001:db8:9:12::/64" && (n.Purpose != store.PurposeCPE || len(n.Ranges) != 1 || n.Ranges[0].Last != "2001:db8:9:12::ffff") {
					t.Errorf("CPE network %+v", n)
				}
			}
		})
	}
}

// TestImport6RoundTrip: ip6m export dhcpd6 of the demo network, imported
// into an empty store, gives the same v6 networks and modem addresses; and
// export∘import is a fixed point (the second export is the first's bytes).
func TestImport6RoundTrip(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	src := openStore(t)
	if _, err := src.FillDemo(ctx, store.DemoOptions{Modems: 40, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	// One modem with an IPv6 override, which the export writes as its
	// fixed-address6 and the import must keep.
	ms, _, _ := src.ListModems(ctx, store.ModemFilter{}, store.Page{})
	var override store.Modem
	for _, m := range ms {
		if m.Enabled {
			override = m.Modem
			break
		}
	}
	cm, _ := src.ListNetworks(ctx, override.CMTSID)
	for _, n := range cm {
		if n.Family == 6 && n.Purpose == store.PurposeCM {
			override.IPv6 = netip.MustParsePrefix(n.Prefix).Addr().Next().Next().Next().String()
		}
	}
	if err := src.UpdateModem(ctx, "t", &override); err != nil {
		t.Fatal(err)
	}
	export := func(st *store.Store) []byte {
		var b bytes.Buffer
		if err := dhcp.ExportDHCPD6(ctx, st, &b, "test", at); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	importInto := func(conf []byte) *store.Store {
		path := filepath.Join(t.TempDir(), "dhcpd6.conf")
		if err := os.WriteFile(path, conf, 0o644); err != nil {
			t.Fatal(err)
		}
		dst := openStore(t)
		rep, err := Import6(ctx, dst, path, Options{})
		if err != nil {
			t.Fatalf("%v\n%s", err, rep)
		}
		if len(rep.Files) != 0 {
			t.Errorf("the export's config names are ip6m's own, yet the report lists %+v", rep.Files)
		}
		return dst
	}
	first := export(src)
	dst := importInto(first)

	srcNets, dstNets := v6Networks(t, src), v6Networks(t, dst)
	if len(srcNets) != len(dstNets) {
		t.Fatalf("%d v6 networks exported, %d imported", len(srcNets), len(dstNets))
	}
	for pfx, a := range srcNets {
		b, ok := dstNets[pfx]
		if !ok {
			t.Errorf("network %s missing", pfx)
			continue
		}
		if a.Purpose != store.PurposeCM && a.Purpose != store.PurposeMTA {
			a.TimeServers, a.LogServers, a.TimeOffset = "", "", 0 // the export sends them to modems only
		}
		type view struct {
			Purpose, CMTS, DNS, Time, Log string
			Offset, Lease                 int64
			Ranges                        []store.Range
			Pools                         []store.PDPool
		}
		va := view{a.Purpose, cmtsName(t, src, a.CMTSID), a.DNSServers, a.TimeServers, a.LogServers, a.TimeOffset, a.LeaseTime, a.Ranges, a.PDPools}
		vb := view{b.Purpose, cmtsName(t, dst, b.CMTSID), b.DNSServers, b.TimeServers, b.LogServers, b.TimeOffset, b.LeaseTime, b.Ranges, b.PDPools}
		if fmt.Sprint(va) != fmt.Sprint(vb) {
			t.Errorf("network %s:\n exported %+v\n imported %+v", pfx, va, vb)
		}
	}
	dstModems, _, _ := dst.ListModems(ctx, store.ModemFilter{}, store.Page{})
	got := map[string]netip.Addr{}
	for _, m := range dstModems {
		a, _, err := dst.ModemIPv6(ctx, m.Modem)
		if err != nil {
			t.Fatal(err)
		}
		got[m.MAC] = a
	}
	enabled := 0
	for _, m := range ms {
		if m.MAC == override.MAC {
			m.Modem = override
		}
		if !m.Enabled {
			continue // the export writes no host for disabled modems
		}
		enabled++
		want, _, err := src.ModemIPv6(ctx, m.Modem)
		if err != nil {
			t.Fatal(err)
		}
		if got[m.MAC] != want {
			t.Errorf("modem %s: IPv6 %s after the round trip, want %s", m.MAC, got[m.MAC], want)
		}
	}
	if len(dstModems) != enabled {
		t.Errorf("%d modems imported, %d enabled exported", len(dstModems), enabled)
	}
	if a, b := settingOf(t, src, SettingServerIPv6), settingOf(t, dst, SettingServerIPv6); a != b {
		t.Errorf("server.ipv6 %q, imported %q", a, b)
	}
	// The names the import gives networks show in the export's comments,
	// so the fixed point is reached from the first import on.
	second := export(dst)
	third := export(importInto(second))
	if !bytes.Equal(second, third) {
		t.Errorf("export∘import is not stable:\n%s\n---\n%s", second, third)
	}
}

func v6Networks(t *testing.T, st *store.Store) map[string]store.Network {
	t.Helper()
	nets, err := st.ListNetworks(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.Network{}
	for _, n := range nets {
		if n.Family == 6 {
			out[n.Prefix] = n
		}
	}
	return out
}

func settingOf(t *testing.T, st *store.Store, key string) string {
	t.Helper()
	v, err := st.Setting(context.Background(), key, "")
	if err != nil {
		t.Fatal(err)
	}
	return v
}
