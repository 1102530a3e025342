package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func fillDemo(t testing.TB, s *Store, opts DemoOptions) DemoResult {
	t.Helper()
	res, err := s.FillDemo(context.Background(), opts)
	if err != nil {
		t.Fatalf("FillDemo(%+v): %v", opts, err)
	}
	return res
}

func TestFillDemoDefault(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	res := fillDemo(t, s, DemoOptions{Seed: 1})
	if res.CMTS != 3 || res.Plans != 3 || res.Modems != DefaultDemoModems || res.Customers != DefaultDemoModems || res.MTAs == 0 || res.CPEs == 0 || res.Networks != 17 {
		t.Errorf("FillDemo = %+v", res)
	}
	counts, err := s.Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts.CMTS != res.CMTS || counts.Plans != res.Plans || counts.Modems != res.Modems || counts.MTAs != res.MTAs ||
		counts.CPEs != res.CPEs || counts.Customers != res.Customers || counts.Networks != res.Networks {
		t.Errorf("Count = %+v, FillDemo said %+v", counts, res)
	}
	if counts.ModemsDisabled == 0 || counts.ModemsDisabled > res.Modems/10 {
		t.Errorf("%d of %d modems disabled", counts.ModemsDisabled, res.Modems)
	}

	cmtsList, err := s.ListCMTS(ctx)
	if err != nil || len(cmtsList) != 3 || cmtsList[0].Name != "CMTS-1" {
		t.Fatalf("ListCMTS = %+v, %v", cmtsList, err)
	}
	cmts1 := cmtsList[0]
	for _, mac := range []string{"44:32:c8:21:09:e7", "44:32:c8:41:8c:67", "00:1e:6b:e6:b4:a5"} {
		m, err := s.ModemByMAC(ctx, mac)
		if err != nil {
			t.Errorf("seed modem %s: %v", mac, err)
			continue
		}
		if m.CMTSID != cmts1.ID || !m.Enabled || m.PlanID == 0 || m.CustomerID == 0 {
			t.Errorf("seed modem %s = %+v, want enabled on CMTS-1 with a plan and customer", mac, m)
		}
		// As in the seed, the embedded MTA is the modem's MAC + 1.
		b, _ := MACBytes(mac)
		mtas, _, _ := s.ListMTAs(ctx, m.ID, Page{})
		if len(mtas) != 1 || mtas[0].MAC != formatMAC(macPlus(b, 1)) {
			t.Errorf("seed modem %s MTAs = %+v", mac, mtas)
		}
	}
	a, ok, err := s.ModemIPv6(ctx, mustModemByMAC(t, s, "44:32:c8:21:09:e7"))
	if err != nil || !ok || a != netip.MustParseAddr("2001:db8:4:11::4432:c821:9e7") {
		t.Errorf("seed modem IPv6 = %v, %v, %v", a, ok, err)
	}

	nets, err := s.ListNetworks(ctx, cmts1.ID)
	if err != nil {
		t.Fatal(err)
	}
	var seedNet *Network
	purposes := map[string]int{}
	for i, n := range nets {
		purposes[fmt.Sprintf("%s v%d", n.Purpose, n.Family)]++
		if n.Prefix == "2001:db8:4:11::/64" {
			seedNet = &nets[i]
		}
	}
	if seedNet == nil {
		t.Fatalf("no 2001:db8:4:11::/64 on CMTS-1: %+v", nets)
	}
	if seedNet.Purpose != PurposeCM || !reflect.DeepEqual(seedNet.PDPools, []PDPool{{"2001:db8:4:100::", "2001:db8:4:200::", 64}}) {
		t.Errorf("seed v6 network = %+v", seedNet)
	}
	for _, want := range []string{"cm v4", "mta v4", "cpe v4", "cm v6", "cpe v6"} {
		if purposes[want] != 1 {
			t.Errorf("CMTS-1 has %d %s networks, want 1 (%v)", purposes[want], want, purposes)
		}
	}
	plans, err := s.ListPlans(ctx)
	if err != nil || len(plans) != 3 {
		t.Fatalf("ListPlans = %+v, %v", plans, err)
	}
	for _, p := range plans {
		if !strings.Contains(p.Config, "NetworkAccess") || p.MTAConfig == "" {
			t.Errorf("plan %s: config %.60q…, MTA config %d bytes", p.Name, p.Config, len(p.MTAConfig))
		}
	}
	if v, _ := s.Setting(ctx, "demo", ""); v != "1" {
		t.Errorf("setting demo = %q", v)
	}
	if audit, _ := s.ListAudit(ctx, "inventory", 0, 10); len(audit) != 1 || audit[0].Action != "demo" {
		t.Errorf("demo audit rows = %+v", audit)
	}
}

func mustModemByMAC(t *testing.T, s *Store, mac string) Modem {
	t.Helper()
	m, err := s.ModemByMAC(context.Background(), mac)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// dumpRows renders every row of the given tables as text.
func dumpRows(t *testing.T, s *Store, tables ...string) string {
	t.Helper()
	var b strings.Builder
	for _, tbl := range tables {
		rows, err := s.read.Query("SELECT * FROM " + tbl + " ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %v\n", tbl, vals)
		}
		rows.Close()
	}
	return b.String()
}

func TestFillDemoDeterministic(t *testing.T) {
	tables := []string{"cmts", "networks", "network_ranges", "pd_pools", "plans", "customers", "modems", "mtas", "cpes"}
	build := func(seed int64) string {
		clock := newFakeClock()
		s := newTestStore(t, Options{Now: clock.Now})
		fillDemo(t, s, DemoOptions{Modems: 200, Seed: seed})
		return dumpRows(t, s, tables...)
	}
	a, b := build(7), build(7)
	if a != b {
		t.Errorf("two demo networks from seed 7 differ:\n%s", lineDiff(a, b))
	}
	if c := build(8); c == a {
		t.Error("seeds 7 and 8 give the same demo network")
	}
}

func TestFillDemoRefusesNonEmpty(t *testing.T) {
	ctx := context.Background()
	t.Run("after a demo", func(t *testing.T) {
		s := newTestStore(t, Options{})
		fillDemo(t, s, DemoOptions{Modems: 20})
		before := rowCounts(t, s)
		if _, err := s.FillDemo(ctx, DemoOptions{Modems: 20, Seed: 2}); err == nil || !strings.Contains(err.Error(), "already holds an inventory") {
			t.Errorf("second FillDemo: %v", err)
		}
		if after := rowCounts(t, s); !reflect.DeepEqual(before, after) {
			t.Errorf("refused demo changed rows: %v -> %v", before, after)
		}
	})
	t.Run("with one CMTS", func(t *testing.T) {
		s := newTestStore(t, Options{})
		if err := s.CreateCMTS(ctx, "t", &CMTS{Name: "mine"}); err != nil {
			t.Fatal(err)
		}
		before := rowCounts(t, s)
		if _, err := s.FillDemo(ctx, DemoOptions{}); err == nil {
			t.Error("FillDemo filled a database that has a CMTS")
		}
		if after := rowCounts(t, s); !reflect.DeepEqual(before, after) {
			t.Errorf("refused demo changed rows: %v -> %v", before, after)
		}
	})
	t.Run("bad size", func(t *testing.T) {
		s := newTestStore(t, Options{})
		for _, n := range []int{-1, 200_001} {
			if _, err := s.FillDemo(ctx, DemoOptions{Modems: n}); err == nil {
				t.Errorf("FillDemo(%d modems) accepted", n)
			}
		}
	})
}

// validateAll runs each entity's own validation over every row the demo
// wrote (in a read transaction, as the create path would) and checks that
// the row passes unchanged: what the demo writes is what an operator could
// have typed.
func validateAll(t *testing.T, s *Store) int {
	t.Helper()
	ctx := context.Background()
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	n := 0
	n += validateTable(t, ctx, tx, cmtsTable)
	n += validateTable(t, ctx, tx, networkTable)
	n += validateTable(t, ctx, tx, planTable)
	n += validateTable(t, ctx, tx, customerTable)
	n += validateTable(t, ctx, tx, modemTable)
	n += validateTable(t, ctx, tx, mtaTable)
	n += validateTable(t, ctx, tx, cpeTable)
	return n
}

func validateTable[T any](t *testing.T, ctx context.Context, tx *sql.Tx, tbl *table[T]) int {
	t.Helper()
	rows, err := tbl.list(ctx, tx, "", "id")
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for _, row := range rows {
		v := row
		if err := tbl.validate(ctx, tx, &v); err != nil {
			if bad++; bad <= 5 {
				t.Errorf("demo %s %d fails validation: %v\n%+v", tbl.entity, tbl.meta(&row).ID, err, row)
			}
			continue
		}
		if !reflect.DeepEqual(v, row) {
			if bad++; bad <= 5 {
				t.Errorf("demo %s %d is not stored canonical:\nstored    %+v\nvalidated %+v", tbl.entity, tbl.meta(&row).ID, row, v)
			}
		}
	}
	if len(rows) == 0 {
		t.Errorf("demo wrote no %s rows", tbl.entity)
	}
	return len(rows)
}

func TestFillDemoRowsPassValidation(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := newTestStore(t, Options{Now: clock.Now})
	fillDemo(t, s, DemoOptions{Seed: 3})
	n := validateAll(t, s)
	t.Logf("validated %d demo rows", n)

	// And through the normal write path: a sample saved back unchanged.
	before := dumpRows(t, s, "cmts", "networks", "network_ranges", "pd_pools", "plans", "customers", "modems", "mtas", "cpes")
	cmtsList, _ := s.ListCMTS(ctx)
	for _, c := range cmtsList {
		if err := s.UpdateCMTS(ctx, "t", &c); err != nil {
			t.Errorf("update demo CMTS %s: %v", c.Name, err)
		}
	}
	nets, _ := s.ListNetworks(ctx, 0)
	for _, n := range nets {
		if err := s.UpdateNetwork(ctx, "t", &n); err != nil {
			t.Errorf("update demo network %s: %v", n.Prefix, err)
		}
	}
	plans, _ := s.ListPlans(ctx)
	for _, p := range plans {
		if err := s.UpdatePlan(ctx, "t", &p); err != nil {
			t.Errorf("update demo plan %s: %v", p.Name, err)
		}
	}
	rows, _, _ := s.ListModems(ctx, ModemFilter{}, Page{Size: 20})
	for _, r := range rows {
		m := r.Modem
		if err := s.UpdateModem(ctx, "t", &m); err != nil {
			t.Errorf("update demo modem %s: %v", m.MAC, err)
		}
		if r.CustomerID != 0 {
			c, err := s.GetCustomer(ctx, r.CustomerID)
			if err == nil {
				err = s.UpdateCustomer(ctx, "t", &c)
			}
			if err != nil {
				t.Errorf("update demo customer of %s: %v", m.MAC, err)
			}
		}
		mtas, _, _ := s.ListMTAs(ctx, m.ID, Page{})
		for _, x := range mtas {
			if err := s.UpdateMTA(ctx, "t", &x); err != nil {
				t.Errorf("update demo MTA %s: %v", x.MAC, err)
			}
		}
		cpes, _, _ := s.ListCPEs(ctx, m.ID, Page{})
		for _, x := range cpes {
			if err := s.UpdateCPE(ctx, "t", &x); err != nil {
				t.Errorf("update demo CPE %s: %v", x.MAC, err)
			}
		}
	}
	// Nothing but updated_at may have moved, and the clock has not.
	if after := dumpRows(t, s, "cmts", "networks", "network_ranges", "pd_pools", "plans", "customers", "modems", "mtas", "cpes"); after != before && !sameButRangeIDs(before, after) {
		t.Errorf("saving demo rows unchanged changed them:\n%s", lineDiff(before, after))
	}
}

// sameButRangeIDs compares two dumps ignoring the ids of network_ranges and
// pd_pools rows, which an update rewrites.
func sameButRangeIDs(a, b string) bool {
	norm := func(s string) []string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, "network_ranges [") || strings.HasPrefix(l, "pd_pools [") {
				f := strings.Fields(l)
				l = f[0] + " " + strings.Join(f[2:], " ")
			}
			out = append(out, l)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(norm(a), norm(b))
}

func TestFillDemo10000(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000-modem demo skipped in -short mode")
	}
	s := newTestStore(t, Options{})
	start := time.Now()
	res := fillDemo(t, s, DemoOptions{Modems: 10_000, Seed: 1})
	t.Logf("FillDemo(10000) took %v: %+v", time.Since(start), res)
	if res.Modems != 10_000 || res.Customers != 10_000 {
		t.Errorf("FillDemo = %+v", res)
	}
	var total, distinct int
	err := s.read.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT mac) FROM (
		SELECT mac FROM modems UNION ALL SELECT mac FROM mtas UNION ALL SELECT mac FROM cpes)`).Scan(&total, &distinct)
	if err != nil {
		t.Fatal(err)
	}
	if total != res.Modems+res.MTAs+res.CPEs || distinct != total {
		t.Errorf("%d MACs, %d distinct, want %d", total, distinct, res.Modems+res.MTAs+res.CPEs)
	}
	err = s.read.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT ip) FROM (
		SELECT fixed_ipv4 AS ip FROM modems WHERE fixed_ipv4 <> '' UNION ALL SELECT fixed_ipv4 FROM mtas WHERE fixed_ipv4 <> ''
		UNION ALL SELECT fixed_ipv4 FROM cpes WHERE fixed_ipv4 <> '')`).Scan(&total, &distinct)
	if err != nil || total != distinct {
		t.Errorf("%d fixed IPv4 addresses, %d distinct, %v", total, distinct, err)
	}
	start = time.Now()
	n := validateAll(t, s)
	t.Logf("validated %d rows in %v", n, time.Since(start))
}
