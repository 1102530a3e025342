package dhcpdconf

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ip6m/dhcp"
	"ip6m/store"
)

// TestSettingKeys: this package's setting keys are the DHCP server's.
func TestSettingKeys(t *testing.T) {
	for _, k := range [][2]string{
		{SettingServerIPv4, dhcp.SettingServerIPv4}, {SettingTFTPIPv4, dhcp.SettingTFTPIPv4}, {SettingCMFile, dhcp.SettingCMFile},
		{SettingMTAFile, dhcp.SettingMTAFile}, {SettingPktcRealm, dhcp.SettingPktcRealm}, {SettingPktcProv, dhcp.SettingPktcProv},
		{defaultCMFile, dhcp.DefaultCMFile}, {defaultMTAFile, dhcp.DefaultMTAFile},
		{SettingServerIPv6, dhcp.SettingServerIPv6}, {SettingTFTPIPv6, dhcp.SettingTFTPIPv6},
	} {
		if k[0] != k[1] {
			t.Errorf("%q here, %q in package dhcp", k[0], k[1])
		}
	}
}

// TestRoundTrip: the demo network, exported as a dhcpd.conf by ip6m export
// dhcpd and imported into an empty store, gives the same v4 networks
// (purpose, CMTS, gateway, options, ranges, unknown-modem policy), the same
// modems (enabled, fixed address, CPE limit, CMTS where the file says it),
// the same MTAs and fixed CPEs behind the same modems, and the same
// settings.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := openStore(t)
	if _, err := src.FillDemo(ctx, store.DemoOptions{Modems: 60, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	// Fixed addresses for some MTAs and CPEs (the demo has none).
	mtas, _, _ := src.ListMTAs(ctx, 0, store.Page{})
	cpes, _, _ := src.ListCPEs(ctx, 0, store.Page{})
	if len(mtas) < 3 || len(cpes) < 3 {
		t.Fatalf("demo too small: %d MTAs, %d CPEs", len(mtas), len(cpes))
	}
	for i := range 3 {
		m, _ := src.GetModem(ctx, mtas[i].ModemID)
		n := cmtsNumber(t, src, m.CMTSID)
		mtas[i].FixedIPv4 = fmt.Sprintf("10.%d.0.%d", 10*n+1, 100+i)
		if err := src.UpdateMTA(ctx, "t", &mtas[i]); err != nil {
			t.Fatal(err)
		}
		m, _ = src.GetModem(ctx, cpes[i].ModemID)
		n = cmtsNumber(t, src, m.CMTSID)
		cpes[i].FixedIPv4 = fmt.Sprintf("100.%d.0.%d", 63+n, 2+i)
		if err := src.UpdateCPE(ctx, "t", &cpes[i]); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := dhcp.ExportDHCPD(ctx, src, &buf, "test", time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dhcpd.conf")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := openStore(t)
	rep, err := Import(ctx, dst, path, Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	if len(rep.Files) != 0 {
		t.Errorf("the export's config names are ip6m's own, yet the report lists %+v", rep.Files)
	}
	t.Logf("report:\n%s", rep)

	// Networks (v4: the export is a DHCPv4 file).
	srcNets, dstNets := v4Networks(t, src), v4Networks(t, dst)
	if len(srcNets) != len(dstNets) {
		t.Fatalf("%d v4 networks exported, %d imported", len(srcNets), len(dstNets))
	}
	for pfx, a := range srcNets {
		b, ok := dstNets[pfx]
		if !ok {
			t.Errorf("network %s missing", pfx)
			continue
		}
		if a.Purpose == store.PurposeCPE || a.Purpose == store.PurposeServer {
			// The export sends time and log servers to modems and MTAs only.
			a.TimeServers, a.LogServers, a.TimeOffset = "", "", 0
		}
		type view struct {
			Purpose, CMTS, Gateway, DNS, Time, Log, Domain, Policy string
			Offset, Lease                                          int64
			Ranges                                                 []store.Range
		}
		va := view{a.Purpose, cmtsName(t, src, a.CMTSID), a.Gateway, a.DNSServers, a.TimeServers, a.LogServers, a.Domain, a.UnknownPolicy, a.TimeOffset, a.LeaseTime, a.Ranges}
		vb := view{b.Purpose, cmtsName(t, dst, b.CMTSID), b.Gateway, b.DNSServers, b.TimeServers, b.LogServers, b.Domain, b.UnknownPolicy, b.TimeOffset, b.LeaseTime, b.Ranges}
		if fmt.Sprint(va) != fmt.Sprint(vb) {
			t.Errorf("network %s:\n exported %+v\n imported %+v", pfx, va, vb)
		}
	}

	// Modems.
	srcModems, _, _ := src.ListModems(ctx, store.ModemFilter{}, store.Page{})
	dstModems, _, _ := dst.ListModems(ctx, store.ModemFilter{}, store.Page{})
	if len(srcModems) != len(dstModems) {
		t.Fatalf("%d modems exported, %d imported", len(srcModems), len(dstModems))
	}
	srcPlans, dstPlans := maxCPE(t, src), maxCPE(t, dst)
	for i, a := range srcModems {
		b := dstModems[i]
		if a.MAC != b.MAC || a.Enabled != b.Enabled || a.FixedIPv4 != b.FixedIPv4 {
			t.Errorf("modem %s enabled %v fixed %q, imported %s %v %q", a.MAC, a.Enabled, a.FixedIPv4, b.MAC, b.Enabled, b.FixedIPv4)
		}
		if a.Enabled && srcPlans[a.PlanID] != dstPlans[b.PlanID] {
			t.Errorf("modem %s may have %d CPEs, imported %d", a.MAC, srcPlans[a.PlanID], dstPlans[b.PlanID])
		}
		// The file says a modem's CMTS only through its fixed address.
		if a.FixedIPv4 != "" && a.CMTSName != b.CMTSName || a.FixedIPv4 == "" && b.CMTSID != 0 {
			t.Errorf("modem %s on %q, imported on %q", a.MAC, a.CMTSName, b.CMTSName)
		}
	}

	// MTAs and CPEs with fixed addresses, behind the same modems.
	devices := func(st *store.Store) (out []string) {
		ms, _, _ := st.ListMTAs(ctx, 0, store.Page{})
		for _, d := range ms {
			m, _ := st.GetModem(ctx, d.ModemID)
			out = append(out, fmt.Sprintf("MTA %s fixed %q behind %s", d.MAC, d.FixedIPv4, m.MAC))
		}
		cs, _, _ := st.ListCPEs(ctx, 0, store.Page{})
		for _, d := range cs {
			if d.FixedIPv4 == "" {
				continue // the export writes hosts for fixed CPEs only
			}
			m, _ := st.GetModem(ctx, d.ModemID)
			out = append(out, fmt.Sprintf("CPE %s fixed %q behind %s", d.MAC, d.FixedIPv4, m.MAC))
		}
		slices.Sort(out)
		return out
	}
	if a, b := devices(src), devices(dst); !slices.Equal(a, b) {
		t.Errorf("devices differ:\n exported %s\n imported %s", strings.Join(a, "\n  "), strings.Join(b, "\n  "))
	}

	// Settings as the DHCP server reads them.
	for _, k := range []struct{ key, def string }{{SettingServerIPv4, ""}, {SettingTFTPIPv4, "10.0.0.10"}, {SettingPktcRealm, "BASIC.1"}, {SettingPktcProv, ""}} {
		a, _ := src.Setting(ctx, k.key, k.def)
		b, _ := dst.Setting(ctx, k.key, k.def)
		if a == "" {
			a = k.def
		}
		if a != b {
			t.Errorf("setting %s: %q exported, %q imported", k.key, a, b)
		}
	}

	// The import of the export of the import is the same file.
	var buf2 bytes.Buffer
	if err := dhcp.ExportDHCPD(ctx, dst, &buf2, "test", time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	path2 := filepath.Join(t.TempDir(), "again.conf")
	os.WriteFile(path2, buf2.Bytes(), 0o644)
	again := openStore(t)
	rep2, err := Import(ctx, again, path2, Options{})
	if err != nil {
		t.Fatalf("second round: %v\n%s", err, rep2)
	}
	if rep2.Created.Modems != len(srcModems) || rep2.Created.Networks != len(srcNets) || rep2.Created.Plans != rep.Created.Plans {
		t.Errorf("second round created %+v, the first %+v", rep2.Created, rep.Created)
	}
	if a, b := devices(dst), devices(again); !slices.Equal(a, b) {
		t.Errorf("second round devices differ:\n %s\n %s", strings.Join(a, "\n  "), strings.Join(b, "\n  "))
	}
}

func cmtsNumber(t *testing.T, st *store.Store, id int64) int {
	var n int
	fmt.Sscanf(cmtsName(t, st, id), "CMTS-%d", &n)
	return n
}

func cmtsName(t *testing.T, st *store.Store, id int64) string {
	t.Helper()
	if id == 0 {
		return ""
	}
	c, err := st.GetCMTS(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c.Name
}

func v4Networks(t *testing.T, st *store.Store) map[string]store.Network {
	t.Helper()
	list, err := st.ListNetworks(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.Network{}
	for _, n := range list {
		if n.Family == 4 {
			out[n.Prefix] = n
		}
	}
	return out
}

func maxCPE(t *testing.T, st *store.Store) map[int64]int64 {
	t.Helper()
	list, err := st.ListPlans(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]int64{}
	for _, p := range list {
		out[p.ID] = p.MaxCPE
	}
	return out
}
