package dhcpdconf

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ip6m/store"
)

var update = flag.Bool("update", false, "rewrite the golden reports under testdata/")

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir(), store.Options{
		Now: func() time.Time { return time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC) }, PasswordCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./dhcp/dhcpdconf -update)", err)
	}
	if string(want) != got {
		t.Errorf("report differs from %s (run with -update if intended):\n%s", path, got)
	}
}

// writeFiles writes name → content under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestImportSeed imports the seed's dhcpd.conf and checks the inventory it
// makes: the report is golden, and the modems, MTAs, networks and settings
// are what the seed's classes, subnets and hosts say.
func TestImportSeed(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	rep, err := Import(ctx, st, "testdata/seed_dhcpd.conf", Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	golden(t, "seed_report.golden", rep.String())

	cmts, _ := st.ListCMTS(ctx)
	if len(cmts) != 1 || cmts[0].Name != "CMTS-1" {
		t.Fatalf("CMTS: %+v", cmts)
	}
	nets, _ := st.ListNetworks(ctx, 0)
	byPrefix := map[string]store.Network{}
	for _, n := range nets {
		byPrefix[n.Prefix] = n
	}
	if len(nets) != 3 {
		t.Fatalf("%d networks, want 3: %+v", len(nets), nets)
	}
	cpe := byPrefix["203.0.113.0/24"]
	if cpe.Purpose != store.PurposeCPE || cpe.CMTSID != cmts[0].ID || cpe.Gateway != "203.0.113.1" || cpe.DNSServers != "192.0.2.53, 192.0.2.54" ||
		cpe.TimeServers != "192.0.2.10" || cpe.LogServers != "192.0.2.10" || cpe.TimeOffset != 7200 || cpe.LeaseTime != 7200 ||
		cpe.MaxLeaseTime != 7200 || len(cpe.Ranges) != 1 || cpe.Ranges[0] != (store.Range{First: "203.0.113.10", Last: "203.0.113.250"}) ||
		cpe.UnknownPolicy != store.PolicyIgnore || cpe.Domain != "" {
		t.Errorf("CPE network: %+v", cpe)
	}
	if srv := byPrefix["192.0.2.0/24"]; srv.Purpose != store.PurposeServer || srv.CMTSID != 0 {
		t.Errorf("server network: %+v", srv)
	}
	if cm := byPrefix["198.51.100.0/24"]; cm.Purpose != store.PurposeCM || cm.CMTSID != cmts[0].ID || cm.Gateway != "198.51.100.1" ||
		cm.TimeOffset != 7200 || cm.LeaseTime != 86400 || cm.UnknownPolicy != store.PolicyIgnore || len(cm.Ranges) != 0 {
		t.Errorf("CM network: %+v", cm)
	}
	plans, _ := st.ListPlans(ctx)
	if len(plans) != 1 || plans[0].Name != DefaultPlanName || plans[0].MaxCPE != 1 || plans[0].Config != planConfig {
		t.Fatalf("plans: %+v", plans)
	}
	wantModems := map[string]string{ // MAC → fixed address
		"44:32:c8:21:09:e7": "198.51.100.2", "44:32:c8:41:8c:67": "198.51.100.3", "00:1e:6b:e6:b4:a5": "198.51.100.4",
		"0c:ee:e6:e5:35:2c": "", "90:6e:bb:54:f0:d0": "", "00:11:e6:f2:2c:94": "",
	}
	modems, _, _ := st.ListModems(ctx, store.ModemFilter{}, store.Page{})
	if len(modems) != len(wantModems) {
		t.Fatalf("%d modems, want %d", len(modems), len(wantModems))
	}
	for _, m := range modems {
		fixed, ok := wantModems[m.MAC]
		if !ok || m.FixedIPv4 != fixed || !m.Enabled || m.PlanID != plans[0].ID || m.CMTSID != cmts[0].ID {
			t.Errorf("modem %+v", m.Modem)
		}
	}
	mtas, _, _ := st.ListMTAs(ctx, 0, store.Page{})
	if len(mtas) != 5 {
		t.Fatalf("%d MTAs, want 5 (every modem of the class rule but 90:6e:bb:54:f0:d0)", len(mtas))
	}
	for _, d := range mtas {
		mm, err := st.GetModem(ctx, d.ModemID)
		mb, _ := store.MACBytes(mm.MAC)
		mb[5]++
		if err != nil || d.MAC != macString(mb[:]) {
			t.Errorf("MTA %s belongs to modem %s (%v), want the modem one below it", d.MAC, mm.MAC, err)
		}
	}
	for key, want := range map[string]string{SettingServerIPv4: "192.0.2.10", SettingTFTPIPv4: "192.0.2.10", SettingPktcRealm: "BASIC.1", SettingPktcProv: ""} {
		if v, _ := st.Setting(ctx, key, ""); v != want {
			t.Errorf("setting %s = %q, want %q", key, v, want)
		}
	}

	// A second import finds everything present and writes nothing new.
	rep2, err := Import(ctx, st, "testdata/seed_dhcpd.conf", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Created != (Counts{}) || rep2.Present.Modems != 6 || rep2.Present.MTAs != 5 || rep2.Present.Networks != 3 || rep2.Present.Plans != 1 {
		t.Errorf("second import: created %+v, present %+v", rep2.Created, rep2.Present)
	}
}

// TestImportDryRun: a dry run maps and counts everything and writes
// nothing.
func TestImportDryRun(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	v := st.InventoryVersion()
	rep, err := Import(ctx, st, "testdata/seed_dhcpd.conf", Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created.Modems != 6 || rep.Created.MTAs != 5 || rep.Created.Networks != 3 || !strings.Contains(rep.String(), "dry run, nothing was written") {
		t.Errorf("dry run report:\n%s", rep)
	}
	c, err := st.Count(ctx)
	if err != nil || c != (store.Counts{}) || st.InventoryVersion() != v {
		t.Fatalf("dry run wrote: %+v %v", c, err)
	}
	if s, _ := st.Setting(ctx, SettingServerIPv4, ""); s != "" {
		t.Fatalf("dry run set server.ipv4 = %q", s)
	}
}

// TestImportOptions: --cmts names the CMTS of networks the file does not
// place, --plan puts every modem on an existing plan, and an unknown plan
// is an error.
func TestImportOptions(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"dhcpd.conf": `
subnet 10.1.0.0 netmask 255.255.0.0 {
	option routers 10.1.0.1;
	pool { deny unknown-clients; range 10.1.1.1 10.1.1.100; }
}
host a { hardware ethernet 00:00:ca:00:00:01; fixed-address 10.1.0.10; }
host b { hardware ethernet 00:00:ca:00:00:05; deny booting; }
`})
	st := openStore(t)
	p := store.Plan{Name: "Gold", Config: "Main { NetworkAccess 1; }", MaxCPE: 3}
	if err := st.CreatePlan(ctx, "t", &p); err != nil {
		t.Fatal(err)
	}
	if _, err := Import(ctx, st, filepath.Join(dir, "dhcpd.conf"), Options{Plan: "Silver"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown plan: %v", err)
	}
	rep, err := Import(ctx, st, filepath.Join(dir, "dhcpd.conf"), Options{Plan: "gold", CMTS: "Hub North"})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	cmts, _ := st.ListCMTS(ctx)
	plans, _ := st.ListPlans(ctx)
	if len(cmts) != 1 || cmts[0].Name != "Hub North" || len(plans) != 1 {
		t.Fatalf("CMTS %+v plans %+v", cmts, plans)
	}
	nets, _ := st.ListNetworks(ctx, 0)
	if len(nets) != 1 || nets[0].Purpose != store.PurposeCM || nets[0].UnknownPolicy != store.PolicyIgnore || nets[0].LeaseTime != 43200 || nets[0].MaxLeaseTime != 86400 {
		t.Fatalf("network %+v", nets)
	}
	for _, tc := range []struct {
		mac     string
		enabled bool
		fixed   string
	}{{"00:00:ca:00:00:01", true, "10.1.0.10"}, {"00:00:ca:00:00:05", false, ""}} {
		m, err := st.ModemByMAC(ctx, tc.mac)
		if err != nil || m.Enabled != tc.enabled || m.FixedIPv4 != tc.fixed || m.PlanID != p.ID || m.CMTSID != cmts[0].ID {
			t.Errorf("modem %s: %+v %v", tc.mac, m, err)
		}
	}
}

// TestImportIncludes: include files are read relative to the including
// file's folder, nested; a cycle and a missing file are errors at the
// include's line.
func TestImportIncludes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"dhcpd.conf": "server-identifier 10.0.0.10;\ninclude \"conf.d/subnets.conf\";\n",
		"conf.d/subnets.conf": `shared-network "CMTS-7" {
	subnet 10.7.0.0 netmask 255.255.0.0 { option routers 10.7.0.1; }
	include "hosts/hosts.conf";
}
`,
		"conf.d/hosts/hosts.conf": "host m1 { hardware ethernet 00:00:ca:07:00:01; fixed-address 10.7.0.20; }\n",
		"cycle.conf":              "include \"cycle2.conf\";\n",
		"cycle2.conf":             "\n\ninclude \"cycle.conf\";\n",
		"missing.conf":            "# nothing\ninclude \"nope.conf\";\n",
	})
	st := openStore(t)
	rep, err := Import(ctx, st, filepath.Join(dir, "dhcpd.conf"), Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	m, err := st.ModemByMAC(ctx, "00:00:ca:07:00:01")
	if err != nil || m.FixedIPv4 != "10.7.0.20" {
		t.Fatalf("modem from a nested include: %+v %v", m, err)
	}
	cmts, _ := st.ListCMTS(ctx)
	if len(cmts) != 1 || cmts[0].Name != "CMTS-7" || m.CMTSID != cmts[0].ID {
		t.Fatalf("CMTS %+v", cmts)
	}
	for _, tc := range []struct{ file, want string }{
		{"cycle.conf", "cycle2.conf:3: include \"cycle.conf\": "},
		{"missing.conf", "missing.conf:2: include \"nope.conf\": "},
	} {
		_, err := Import(ctx, st, filepath.Join(dir, tc.file), Options{DryRun: true})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.file, err, tc.want)
		}
	}
}

// TestImportErrors: a malformed or unmappable file is refused as a whole,
// every error with its line, and nothing is written.
func TestImportErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, conf string
		want       []string
	}{
		{"unterminated string", "option domain-name \"example.net;\n", []string{"x.conf:1: unterminated string"}},
		{"missing semicolon", "subnet 10.0.0.0 netmask 255.0.0.0 {\n\toption routers 10.0.0.1\n}\n", []string{"x.conf:3: missing ';' after '10.0.0.1' (statement at line 2)"}},
		{"unclosed block", "\nsubnet 10.0.0.0 netmask 255.0.0.0 {\n", []string{"x.conf:2: block opened here is not closed"}},
		{"stray brace", "authoritative;\n}\n", []string{"x.conf:2: unexpected '}'"}},
		{"mapping errors", `subnet 10.0.0.1 netmask 255.0.0.0 { }
subnet 10.1.0.0 netmask 255.255.0.0 {
	option routers 10.2.0.1;
	range 10.1.0.10 10.1.0.5;
	range 10.9.0.1 10.9.0.2;
}
host a {
	hardware ethernet 00:00:ca:00:00;
	fixed-address 10.1.0.300;
}
host b { hardware ethernet 00:00:ca:00:00:02; fixed-address 10.1.0.7; }
host c { hardware ethernet 00:00:ca:00:00:03; fixed-address 10.1.0.7; }
default-lease-time 10;
`, []string{
			"x.conf:1: subnet 10.0.0.1 netmask 255.0.0.0 has host bits set; did you mean 10.0.0.0?",
			"x.conf:3: option routers 10.2.0.1 is not inside subnet 10.1.0.0/16",
			"x.conf:4: range 10.1.0.10 10.1.0.5: the first address is after the last",
			"x.conf:5: range 10.9.0.1 10.9.0.2 is not inside its subnet 10.1.0.0/16",
			`x.conf:8: hardware ethernet: "00:00:ca:00:00" is not a MAC address`,
			"x.conf:9: fixed-address 10.1.0.300 is not an IPv4 address",
			"x.conf:12: fixed-address 10.1.0.7 of 00:00:ca:00:00:03 is already 00:00:ca:00:00:02's",
			"x.conf:13: subnet 10.1.0.0/16: lease times must be between 60 seconds and a year",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"x.conf": tc.conf})
			st := openStore(t)
			t.Chdir(dir)
			rep, err := Import(ctx, st, "x.conf", Options{})
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid\n%s", err, rep)
			}
			out := rep.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("report lacks %q:\n%s", w, out)
				}
			}
			if c, _ := st.Count(ctx); c != (store.Counts{}) {
				t.Errorf("a refused import wrote %+v", c)
			}
		})
	}
}

// TestImportHostsSpreadOverLines: a host block may put its words on any
// lines, MACs in any notation, several hosts on one line.
func TestImportHostsSpreadOverLines(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"d.conf": `subnet 10.5.0.0 netmask 255.255.0.0 { pool { range 10.5.1.1 10.5.1.9; } }
host
  spread
{
	hardware
		ethernet
		00-00-CA-05-00-01
	;
	fixed-address
		10.5.0.11 ;
	filename
	"cm/gold.cfg"
	;
}
host dotted { hardware ethernet 0000.ca05.0002; filename "cm/gold.cfg"; } host bare { hardware ethernet 0000ca050003; }
host onedigit { hardware ethernet 0:0:ca:5:0:4; }
`})
	st := openStore(t)
	rep, err := Import(ctx, st, filepath.Join(dir, "d.conf"), Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	for _, mac := range []string{"00:00:ca:05:00:01", "00:00:ca:05:00:02", "00:00:ca:05:00:03", "00:00:ca:05:00:04"} {
		if _, err := st.ModemByMAC(ctx, mac); err != nil {
			t.Errorf("modem %s: %v", mac, err)
		}
	}
	if m, _ := st.ModemByMAC(ctx, "00:00:ca:05:00:01"); m.FixedIPv4 != "10.5.0.11" {
		t.Errorf("spread host: %+v", m)
	}
	if len(rep.Files) != 1 || rep.Files[0].Name != "cm/gold.cfg" || rep.Files[0].Hosts != 2 || rep.Files[0].First.Line != 11 {
		t.Errorf("files: %+v", rep.Files)
	}
	nets, _ := st.ListNetworks(ctx, 0)
	if len(nets) != 1 || nets[0].UnknownPolicy != store.PolicyWalled || nets[0].Purpose != store.PurposeCM {
		t.Errorf("network: %+v", nets)
	}
}

// TestImportStoreFailure: when the store refuses an object the checks let
// through (here a modem created by someone else between check and write),
// the import stops there, says which object and where, and what it wrote
// before: the CMTS, plan and networks; the modems go in one transaction per
// chunk, so none of the failing chunk is written.
func TestImportStoreFailure(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	stmts, err := ParseFile("testdata/seed_dhcpd.conf", ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := loadInventory(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	rep := &Report{File: "testdata/seed_dhcpd.conf"}
	b := mapStmts(rep, stmts, inv, Options{CMTS: "CMTS-1"})
	if len(rep.Errors) > 0 {
		t.Fatal(rep.Errors)
	}
	// Someone takes modem-3's fixed address meanwhile.
	p := store.Plan{Name: "Other", Config: "Main { NetworkAccess 1; }"}
	if err := st.CreatePlan(ctx, "t", &p); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateModem(ctx, "t", &store.Modem{MAC: "00:00:ca:00:00:99", PlanID: p.ID, FixedIPv4: "198.51.100.3"}); err != nil {
		t.Fatal(err)
	}
	err = b.write(ctx, st, "import", rep)
	if err == nil {
		t.Fatal("write succeeded")
	}
	out := rep.done().String()
	for _, want := range []string{
		"stopped by the store at modem 44:32:c8:41:8c:67 (testdata/seed_dhcpd.conf:88): invalid modem: fixed_ipv4: 198.51.100.3 is already used by a modem",
		"modems             6         0         0",
		"networks           3         0         3",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if _, err := st.ModemByMAC(ctx, "44:32:c8:21:09:e7"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a modem of the failed chunk was written: %v", err)
	}
	if c, _ := st.Count(ctx); c.Modems != 1 || c.MTAs != 0 || c.Networks != 3 {
		t.Errorf("after the failure: %+v", c)
	}
}

// TestImportCableISP imports a hand-written dhcpd.conf (testdata/
// cable_dhcpd.conf and its include): two CMTSes as shared-networks, vendor
// classes, the dhcpd manual's spawning CPE class with a lease limit, a
// hardware class of known modems, MTA and CPE hosts, groups, skipped
// if/on blocks.
func TestImportCableISP(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	rep, err := Import(ctx, st, "testdata/cable_dhcpd.conf", Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	golden(t, "cable_report.golden", rep.String())

	cmts := map[int64]string{}
	list, _ := st.ListCMTS(ctx)
	for _, c := range list {
		cmts[c.ID] = c.Name
	}
	nets, _ := st.ListNetworks(ctx, 0)
	got := map[string]string{}
	for _, n := range nets {
		got[n.Prefix] = fmt.Sprintf("%s %s gw=%s lease=%d/%d offset=%d dns=%s time=%s log=%s domain=%s policy=%s ranges=%v",
			n.Purpose, cmts[n.CMTSID], n.Gateway, n.LeaseTime, n.MaxLeaseTime, n.TimeOffset, n.DNSServers, n.TimeServers, n.LogServers, n.Domain, n.UnknownPolicy, n.Ranges)
	}
	common := "dns=192.0.2.53, 192.0.2.54 time=192.0.2.10 log=192.0.2.11 domain=cable.example.net"
	for pfx, want := range map[string]string{
		"10.10.0.0/16":  "cm CMTS-A gw=10.10.0.1 lease=3600/7200 offset=3600 " + common + " policy=walled ranges=[{10.10.1.1 10.10.1.254}]",
		"10.11.0.0/16":  "mta CMTS-A gw=10.11.0.1 lease=3600/7200 offset=3600 " + common + " policy=ignore ranges=[{10.11.1.1 10.11.1.254}]",
		"100.64.0.0/16": "cpe CMTS-A gw=100.64.0.1 lease=1800/7200 offset=7200 " + common + " policy=ignore ranges=[{100.64.0.10 100.64.3.254}]",
		"10.20.0.0/16":  "cm CMTS-B gw=10.20.0.1 lease=3600/7200 offset=3600 " + common + " policy=ignore ranges=[{10.20.1.1 10.20.1.254}]",
		"100.65.0.0/16": "cpe CMTS-B gw=100.65.0.1 lease=3600/7200 offset=3600 " + common + " policy=ignore ranges=[{100.65.0.10 100.65.0.200}]",
		"192.0.2.0/24":  "server  gw= lease=3600/7200 offset=3600 " + common + " policy=ignore ranges=[]",
	} {
		if got[pfx] != want {
			t.Errorf("network %s:\n got %s\nwant %s", pfx, got[pfx], want)
		}
	}
	plans, _ := st.ListPlans(ctx)
	if len(plans) != 1 || plans[0].MaxCPE != 3 {
		t.Errorf("plans: %+v (want one, max CPE 3 from the lease limit)", plans)
	}
	modems, _, _ := st.ListModems(ctx, store.ModemFilter{}, store.Page{})
	gotModems := map[string]string{}
	for _, m := range modems {
		gotModems[m.MAC] = fmt.Sprintf("%v %s %s", m.Enabled, m.FixedIPv4, m.CMTSName)
	}
	for mac, want := range map[string]string{
		"00:00:ca:10:00:01": "true  ", "00:00:ca:10:00:02": "true 10.10.0.20 CMTS-A", "00:00:ca:10:00:10": "true  ",
		"00:00:ca:10:00:03": "false  ", "00:00:ca:10:00:06": "false  ", "00:00:ca:20:00:01": "true 10.20.0.21 CMTS-B",
		"00:00:ca:20:00:02": "true  ", "00:00:ca:10:01:00": "true 10.10.0.100 CMTS-A", "00:00:ca:10:01:10": "true 10.10.0.101 CMTS-A",
	} {
		if gotModems[mac] != want {
			t.Errorf("modem %s: %q, want %q", mac, gotModems[mac], want)
		}
	}
	if len(modems) != 9 {
		t.Errorf("%d modems, want 9", len(modems))
	}
	mtas, _, _ := st.ListMTAs(ctx, 0, store.Page{})
	cpes, _, _ := st.ListCPEs(ctx, 0, store.Page{})
	var devs []string
	for _, d := range mtas {
		m, _ := st.GetModem(ctx, d.ModemID)
		devs = append(devs, "MTA "+d.MAC+" "+d.FixedIPv4+" of "+m.MAC)
	}
	for _, d := range cpes {
		m, _ := st.GetModem(ctx, d.ModemID)
		devs = append(devs, "CPE "+d.MAC+" "+d.FixedIPv4+" of "+m.MAC)
	}
	want := "MTA 00:00:ca:10:00:04  of 00:00:ca:10:00:03|MTA 00:00:ca:10:01:01 10.11.0.100 of 00:00:ca:10:01:00|CPE 00:00:ca:10:00:05 100.64.0.5 of 00:00:ca:10:00:03"
	if strings.Join(devs, "|") != want {
		t.Errorf("devices:\n got %s\nwant %s", strings.Join(devs, "|"), want)
	}
	for key, want := range map[string]string{SettingServerIPv4: "192.0.2.10", SettingTFTPIPv4: "192.0.2.20", SettingPktcRealm: "BASIC.1", SettingPktcProv: "prov.example.net"} {
		if v, _ := st.Setting(ctx, key, ""); v != want {
			t.Errorf("setting %s = %q, want %q", key, v, want)
		}
	}
}

// TestTestdataIsDhcpdSyntax: the test files are real dhcpd.conf files, as
// ISC dhcpd reads them (dhcpd -t), when dhcpd is installed.
func TestTestdataIsDhcpdSyntax(t *testing.T) {
	dhcpd, err := exec.LookPath("dhcpd")
	if err != nil {
		t.Skip("ISC dhcpd not installed (apt-get install isc-dhcp-server); syntax not checked")
	}
	for _, f := range []string{"seed_dhcpd.conf", "cable_dhcpd.conf"} {
		lf := filepath.Join(t.TempDir(), "dhcpd.leases")
		os.WriteFile(lf, nil, 0o644)
		cmd := exec.Command(dhcpd, "-t", "-4", "-cf", f, "-lf", lf)
		cmd.Dir = "testdata" // dhcpd reads includes relative to its working folder
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("dhcpd -t rejects %s: %v\n%s", f, err, out)
		}
	}
}

// TestImportModemCMTS: a modem's CMTS is its fixed address's network's, else
// the block it is declared in, else the remote-id class naming it when that
// is a CMTS of the file, else the only CMTS; otherwise it is left open.
func TestImportModemCMTS(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"d.conf": `
shared-network "North" {
	subnet 10.1.0.0 netmask 255.255.0.0 {
		pool { range 10.1.1.1 10.1.1.9; }
		host a { hardware ethernet 00:00:ca:00:00:01; }
	}
	host b { hardware ethernet 00:00:ca:00:00:02; }
}
shared-network "South" {
	subnet 10.2.0.0 netmask 255.255.0.0 { pool { allow members of "South"; range 10.2.1.1 10.2.1.9; } }
	subnet 10.3.0.0 netmask 255.255.0.0 { }
}
host c { hardware ethernet 00:00:ca:00:00:03; }
host d { hardware ethernet 00:00:ca:00:00:05; fixed-address 10.3.0.5; }
class "Ghost" { match if option agent.remote-id = 00:00:ca:00:00:04; }
class "South" { match if option agent.remote-id = 00:00:ca:00:00:07; }
`})
	st := openStore(t)
	rep, err := Import(ctx, st, filepath.Join(dir, "d.conf"), Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	for mac, want := range map[string]string{
		"00:00:ca:00:00:01": "North", "00:00:ca:00:00:02": "North", "00:00:ca:00:00:03": "",
		"00:00:ca:00:00:04": "", "00:00:ca:00:00:05": "South", "00:00:ca:00:00:07": "South",
	} {
		m, err := st.ModemByMAC(ctx, mac)
		if err != nil {
			t.Errorf("modem %s: %v", mac, err)
			continue
		}
		if got := cmtsName(t, st, m.CMTSID); got != want {
			t.Errorf("modem %s on %q, want %q", mac, got, want)
		}
	}
}
