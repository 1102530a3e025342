package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixture is a small inventory most tests start from.
type fixture struct {
	cmts, cmts2    CMTS
	cmNet6         Network
	plan, business Plan
	customer       Customer
}

func newFixture(t *testing.T, s *Store) fixture {
	t.Helper()
	ctx := context.Background()
	var f fixture
	f.cmts = CMTS{Name: "CMTS-1", MgmtIPv4: "10.0.0.2", SNMPRead: "public", SNMPWrite: "wr1te-c0mmunity", SharedSecret: "mic-s3cret"}
	f.cmts2 = CMTS{Name: "CMTS-2", MgmtIPv4: "10.0.0.3"}
	for _, c := range []*CMTS{&f.cmts, &f.cmts2} {
		if err := s.CreateCMTS(ctx, "fixture", c); err != nil {
			t.Fatalf("fixture CMTS: %v", err)
		}
	}
	f.cmNet6 = Network{CMTSID: f.cmts.ID, Name: "CM v6", Prefix: "2001:db8:4:11::/64", Purpose: PurposeCM,
		Ranges:  []Range{{"2001:db8:4:11::2", "2001:db8:4:11::100"}},
		PDPools: []PDPool{{"2001:db8:4:100::", "2001:db8:4:200::", 64}}}
	if err := s.CreateNetwork(ctx, "fixture", &f.cmNet6); err != nil {
		t.Fatalf("fixture network: %v", err)
	}
	f.plan = Plan{Name: "Residential", Config: "Main { NetworkAccess 1; }", MaxCPE: 4}
	f.business = Plan{Name: "Business", Config: "Main { NetworkAccess 1; }", MTAConfig: "Main { }", MaxCPE: 16}
	for _, p := range []*Plan{&f.plan, &f.business} {
		if err := s.CreatePlan(ctx, "fixture", p); err != nil {
			t.Fatalf("fixture plan: %v", err)
		}
	}
	f.customer = Customer{Account: "C100001", Name: "Kovács Anna", Email: "anna@example.com"}
	if err := s.CreateCustomer(ctx, "fixture", &f.customer); err != nil {
		t.Fatalf("fixture customer: %v", err)
	}
	return f
}

func (f fixture) modem(mac string) Modem {
	return Modem{MAC: mac, PlanID: f.plan.ID, CMTSID: f.cmts.ID, CustomerID: f.customer.ID, Enabled: true}
}

func mustCreateModem(t *testing.T, s *Store, m Modem) Modem {
	t.Helper()
	if err := s.CreateModem(context.Background(), "test", &m); err != nil {
		t.Fatalf("CreateModem(%s): %v", m.MAC, err)
	}
	return m
}

// auditTrail returns the audit rows of one entity row, oldest first.
func auditTrail(t *testing.T, s *Store, entity string, id int64) []AuditEntry {
	t.Helper()
	list, err := s.ListAudit(context.Background(), entity, id, 100)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(list)
	return list
}

// checkAuditCycle checks the create/update/delete rows of one entity row.
func checkAuditCycle(t *testing.T, s *Store, entity string, id int64, actor string) {
	t.Helper()
	trail := auditTrail(t, s, entity, id)
	var actions []string
	for _, e := range trail {
		actions = append(actions, e.Action)
		if e.Actor != actor {
			t.Errorf("audit %s %d %s: actor %q, want %q", entity, id, e.Action, e.Actor, actor)
		}
		if e.At.IsZero() {
			t.Errorf("audit %s %d %s: no time", entity, id, e.Action)
		}
		wantBefore, wantAfter := e.Action != "create", e.Action != "delete"
		if (e.Before != "") != wantBefore || (e.After != "") != wantAfter {
			t.Errorf("audit %s %d %s: before %q after %q", entity, id, e.Action, e.Before, e.After)
		}
		for _, js := range []string{e.Before, e.After} {
			if js != "" && !json.Valid([]byte(js)) {
				t.Errorf("audit %s %d %s: not JSON: %s", entity, id, e.Action, js)
			}
		}
	}
	if want := []string{"create", "update", "delete"}; !slices.Equal(actions, want) {
		t.Errorf("audit %s %d: actions %v, want %v", entity, id, actions, want)
	}
}

// auditJSON decodes one side of an audit row.
func auditJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("audit JSON %q: %v", s, err)
	}
	return m
}

func TestCMTSCRUD(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := newTestStore(t, Options{Now: clock.Now})
	c := CMTS{Name: "  CMTS-1 ", MgmtIPv4: "10.0.0.2", MgmtIPv6: "2001:DB8::2", SNMPRead: "public", SNMPWrite: "private", SharedSecret: "s3cret", Notes: "rack A"}
	if err := s.CreateCMTS(ctx, "alice", &c); err != nil {
		t.Fatal(err)
	}
	if c.ID == 0 || c.Name != "CMTS-1" || c.MgmtIPv6 != "2001:db8::2" || !c.Created.Equal(clock.Now()) {
		t.Errorf("after create: %+v", c)
	}
	got, err := s.GetCMTS(ctx, c.ID)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("GetCMTS = %+v, %v; want %+v", got, err, c)
	}
	clock.Advance(time.Minute)
	c.Notes, c.SharedSecret = "rack B", "n3w-secret"
	if err := s.UpdateCMTS(ctx, "alice", &c); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetCMTS(ctx, c.ID)
	if got.Notes != "rack B" || got.SharedSecret != "n3w-secret" || !got.Updated.Equal(clock.Now()) || !got.Created.Equal(clock.Now().Add(-time.Minute)) {
		t.Errorf("after update: %+v", got)
	}
	list, err := s.ListCMTS(ctx)
	if err != nil || len(list) != 1 || list[0].ID != c.ID {
		t.Errorf("ListCMTS = %+v, %v", list, err)
	}
	if err := s.DeleteCMTS(ctx, "alice", c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetCMTS(ctx, c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetCMTS after delete: %v, want ErrNotFound", err)
	}
	checkAuditCycle(t, s, "CMTS", c.ID, "alice")
}

func TestNetworkCRUD(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	f := newFixture(t, s)
	n := Network{CMTSID: f.cmts.ID, Name: "CM v4", Prefix: " 10.10.0.0/16 ", Purpose: PurposeCM, Gateway: "10.10.0.1",
		DNSServers: "10.0.0.10 10.0.0.11", TimeServers: "10.0.0.10", TimeOffset: 3600, Domain: "example.net",
		UnknownPolicy: PolicyWalled, Ranges: []Range{{"10.10.1.0", "10.10.1.255"}, {"10.10.3.0", "10.10.3.9"}}}
	if err := s.CreateNetwork(ctx, "bob", &n); err != nil {
		t.Fatal(err)
	}
	if n.Family != 4 || n.Prefix != "10.10.0.0/16" || n.DNSServers != "10.0.0.10, 10.0.0.11" || n.LeaseTime != 86400 || n.MaxLeaseTime != 86400 {
		t.Errorf("create did not normalise: %+v", n)
	}
	got, err := s.GetNetwork(ctx, n.ID)
	if err != nil || !reflect.DeepEqual(got, n) {
		t.Fatalf("GetNetwork = %+v, %v\nwant %+v", got, err, n)
	}
	v6, err := s.GetNetwork(ctx, f.cmNet6.ID)
	if err != nil || v6.Family != 6 || !reflect.DeepEqual(v6.PDPools, []PDPool{{"2001:db8:4:100::", "2001:db8:4:200::", 64}}) {
		t.Errorf("v6 network = %+v, %v", v6, err)
	}
	// Update replaces the ranges.
	n.Ranges = []Range{{"10.10.9.0", "10.10.9.99"}}
	n.LeaseTime, n.MaxLeaseTime = 3600, 7200
	if err := s.UpdateNetwork(ctx, "bob", &n); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetNetwork(ctx, n.ID)
	if !reflect.DeepEqual(got.Ranges, n.Ranges) || got.LeaseTime != 3600 || got.MaxLeaseTime != 7200 {
		t.Errorf("after update: %+v", got)
	}
	if c := rowCount(t, s, "network_ranges"); c != 2 { // one here, one on the v6 fixture
		t.Errorf("network_ranges has %d rows, want 2", c)
	}
	list, err := s.ListNetworks(ctx, f.cmts.ID)
	if err != nil || len(list) != 2 || list[0].Family != 4 || len(list[1].PDPools) != 1 {
		t.Errorf("ListNetworks = %+v, %v", list, err)
	}
	if list, _ := s.ListNetworks(ctx, f.cmts2.ID); len(list) != 0 {
		t.Errorf("ListNetworks(CMTS-2) = %+v", list)
	}
	if err := s.DeleteNetwork(ctx, "bob", n.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetNetwork(ctx, n.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetNetwork after delete: %v", err)
	}
	if c := rowCount(t, s, "network_ranges"); c != 1 {
		t.Errorf("ranges of the deleted network remain: %d rows", c)
	}
	checkAuditCycle(t, s, "network", n.ID, "bob")
	// A CM prefix up to /80 holds a MAC; other purposes may be longer.
	for _, ok := range []Network{
		{CMTSID: f.cmts.ID, Prefix: "2001:db8:4:13:1::/80", Purpose: PurposeCM},
		{CMTSID: f.cmts.ID, Prefix: "2001:db8:4:14::/120", Purpose: PurposeCPE},
	} {
		if err := s.CreateNetwork(ctx, "bob", &ok); err != nil {
			t.Errorf("create %s %s: %v", ok.Purpose, ok.Prefix, err)
		}
	}
	// The server's own network needs no CMTS.
	srv := Network{Prefix: "10.0.0.0/24", Purpose: PurposeServer}
	if err := s.CreateNetwork(ctx, "bob", &srv); err != nil {
		t.Errorf("server network without CMTS: %v", err)
	}
}

func TestPlanCRUD(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	p := Plan{Name: " Gold ", Description: "fast", Config: "Main { }", MTAConfig: "Main { }", MaxCPE: 8}
	if err := s.CreatePlan(ctx, "carol", &p); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetPlan(ctx, p.ID)
	if err != nil || !reflect.DeepEqual(got, p) || got.Name != "Gold" {
		t.Fatalf("GetPlan = %+v, %v", got, err)
	}
	p.MaxCPE = 0
	if err := s.UpdatePlan(ctx, "carol", &p); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetPlan(ctx, p.ID); got.MaxCPE != 0 {
		t.Errorf("MaxCPE = %d after update", got.MaxCPE)
	}
	if list, err := s.ListPlans(ctx); err != nil || len(list) != 1 {
		t.Errorf("ListPlans = %+v, %v", list, err)
	}
	if err := s.DeletePlan(ctx, "carol", p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetPlan(ctx, p.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetPlan after delete: %v", err)
	}
	checkAuditCycle(t, s, "plan", p.ID, "carol")
}

func TestCustomerCRUD(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	c := Customer{Account: "C1", Name: "Szabó Béla", Address: "Fő utca 1.", Phone: " +36 1 234 5678 ", Email: " bela@example.com "}
	if err := s.CreateCustomer(ctx, "dave", &c); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetCustomer(ctx, c.ID)
	if err != nil || !reflect.DeepEqual(got, c) || got.Email != "bela@example.com" || got.Phone != "+36 1 234 5678" {
		t.Fatalf("GetCustomer = %+v, %v", got, err)
	}
	c.Name = "Szabó Béla Jr."
	if err := s.UpdateCustomer(ctx, "dave", &c); err != nil {
		t.Fatal(err)
	}
	other := Customer{Account: "C2", Name: "Nagy Éva"}
	if err := s.CreateCustomer(ctx, "dave", &other); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string][]string{"": {"Nagy Éva", "Szabó Béla Jr."}, "jr.": {"Szabó Béla Jr."}, "C2": {"Nagy Éva"}, "%": nil} {
		list, total, err := s.ListCustomers(ctx, q, Page{Size: 10})
		var names []string
		for _, c := range list {
			names = append(names, c.Name)
		}
		if err != nil || total != len(want) || !slices.Equal(names, want) {
			t.Errorf("ListCustomers(%q) = %v, %d, %v; want %v", q, names, total, err, want)
		}
	}
	if err := s.DeleteCustomer(ctx, "dave", c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetCustomer(ctx, c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetCustomer after delete: %v", err)
	}
	checkAuditCycle(t, s, "customer", c.ID, "dave")
}

func TestModemCRUD(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	f := newFixture(t, s)
	m := Modem{MAC: "4432.C821.09E7", Serial: " T123 ", Vendor: "Technicolor", Model: "TC7200", CustomerID: f.customer.ID,
		PlanID: f.plan.ID, CMTSID: f.cmts.ID, FixedIPv4: "10.10.0.11", Enabled: true, Notes: "seed modem"}
	if err := s.CreateModem(ctx, "erin", &m); err != nil {
		t.Fatal(err)
	}
	if m.MAC != "44:32:c8:21:09:e7" || m.Serial != "T123" {
		t.Errorf("create did not normalise: %+v", m)
	}
	got, err := s.GetModem(ctx, m.ID)
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("GetModem = %+v, %v\nwant %+v", got, err, m)
	}
	for _, notation := range []string{"44-32-C8-21-09-E7", "4432c82109e7", "44:32:C8:21:9:E7"} {
		if got, err := s.ModemByMAC(ctx, notation); err != nil || got.ID != m.ID {
			t.Errorf("ModemByMAC(%s) = %+v, %v", notation, got, err)
		}
	}
	if _, err := s.ModemByMAC(ctx, "00:00:00:00:00:01"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ModemByMAC(unknown) = %v", err)
	}
	a, ok, err := s.ModemIPv6(ctx, m)
	if err != nil || !ok || a.String() != "2001:db8:4:11:0:4432:c821:9e7" {
		t.Errorf("ModemIPv6 = %v, %v, %v", a, ok, err)
	}
	// Update: plan, disable, an IPv6 override; the MAC may be typed anew
	// in another notation without clashing with itself.
	m.PlanID, m.Enabled, m.IPv6, m.MAC = f.business.ID, false, "2001:DB8:4:11::99", "44-32-c8-21-09-e7"
	if err := s.UpdateModem(ctx, "erin", &m); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetModem(ctx, m.ID)
	if got.PlanID != f.business.ID || got.Enabled || got.IPv6 != "2001:db8:4:11::99" || got.MAC != "44:32:c8:21:09:e7" {
		t.Errorf("after update: %+v", got)
	}
	if a, ok, _ := s.ModemIPv6(ctx, got); !ok || a.String() != "2001:db8:4:11::99" {
		t.Errorf("ModemIPv6 with override = %v %v", a, ok)
	}
	if err := s.DeleteModem(ctx, "erin", m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetModem(ctx, m.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetModem after delete: %v", err)
	}
	checkAuditCycle(t, s, "modem", m.ID, "erin")
}

func TestMTAAndCPECRUD(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	f := newFixture(t, s)
	modem := mustCreateModem(t, s, f.modem("44:32:c8:21:09:e7"))

	mta := MTA{MAC: "4432C82109E8", ModemID: modem.ID, PlanID: f.business.ID, PhoneLines: "+36 1 234 5678, (06) 1-555-0000", FixedIPv4: "10.11.0.20"}
	if err := s.CreateMTA(ctx, "frank", &mta); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetMTA(ctx, mta.ID); err != nil || !reflect.DeepEqual(got, mta) || got.MAC != "44:32:c8:21:09:e8" {
		t.Fatalf("GetMTA = %+v, %v", got, err)
	}
	mta.PlanID, mta.PhoneLines = 0, ""
	if err := s.UpdateMTA(ctx, "frank", &mta); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetMTA(ctx, mta.ID); got.PlanID != 0 || got.PhoneLines != "" {
		t.Errorf("MTA after update: %+v", got)
	}
	if list, total, err := s.ListMTAs(ctx, modem.ID, Page{}); err != nil || total != 1 || len(list) != 1 {
		t.Errorf("ListMTAs = %+v, %d, %v", list, total, err)
	}

	cpe := CPE{MAC: "44-32-c8-21-09-e9", ModemID: modem.ID, FixedIPv4: "100.64.0.50", Notes: "router"}
	if err := s.CreateCPE(ctx, "frank", &cpe); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetCPE(ctx, cpe.ID); err != nil || !reflect.DeepEqual(got, cpe) {
		t.Fatalf("GetCPE = %+v, %v", got, err)
	}
	cpe.FixedIPv4 = ""
	if err := s.UpdateCPE(ctx, "frank", &cpe); err != nil {
		t.Fatal(err)
	}
	if list, total, err := s.ListCPEs(ctx, 0, Page{Size: 5}); err != nil || total != 1 || list[0].FixedIPv4 != "" {
		t.Errorf("ListCPEs = %+v, %d, %v", list, total, err)
	}

	if err := s.DeleteMTA(ctx, "frank", mta.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCPE(ctx, "frank", cpe.ID); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{func() error { _, err := s.GetMTA(ctx, mta.ID); return err }(), func() error { _, err := s.GetCPE(ctx, cpe.ID); return err }()} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("after delete: %v, want ErrNotFound", err)
		}
	}
	checkAuditCycle(t, s, "MTA", mta.ID, "frank")
	checkAuditCycle(t, s, "CPE", cpe.ID, "frank")
}

func TestMissingRows(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	f := newFixture(t, s)
	before := rowCounts(t, s)
	const id = 9999
	for name, err := range map[string]error{
		"get CMTS":       func() error { _, err := s.GetCMTS(ctx, id); return err }(),
		"update CMTS":    s.UpdateCMTS(ctx, "x", &CMTS{Meta: Meta{ID: id}, Name: "n"}),
		"delete CMTS":    s.DeleteCMTS(ctx, "x", id),
		"update network": s.UpdateNetwork(ctx, "x", &Network{Meta: Meta{ID: id}, Prefix: "10.9.0.0/16", CMTSID: f.cmts.ID}),
		"delete network": s.DeleteNetwork(ctx, "x", id),
		"update plan":    s.UpdatePlan(ctx, "x", &Plan{Meta: Meta{ID: id}, Name: "p", Config: "c"}),
		"delete plan":    s.DeletePlan(ctx, "x", id),
		"delete cust":    s.DeleteCustomer(ctx, "x", id),
		"update modem":   s.UpdateModem(ctx, "x", &Modem{Meta: Meta{ID: id}, MAC: "00:00:00:00:00:01", PlanID: f.plan.ID}),
		"delete modem":   s.DeleteModem(ctx, "x", id),
		"delete MTA":     s.DeleteMTA(ctx, "x", id),
		"delete CPE":     s.DeleteCPE(ctx, "x", id),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
	if after := rowCounts(t, s); !reflect.DeepEqual(before, after) {
		t.Errorf("row counts changed: %v -> %v", before, after)
	}
}

// validationCase is one invalid write: run must fail with a ValidationError
// on field whose message contains msg, and change nothing.
type validationCase struct {
	name  string
	run   func(context.Context, *Store, fixture) error
	field string
	msg   string
}

func TestValidationErrors(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	f := newFixture(t, s)
	// Devices the clash cases run into.
	seedModem := mustCreateModem(t, s, Modem{MAC: "44:32:c8:21:09:e7", PlanID: f.plan.ID, CMTSID: f.cmts.ID, FixedIPv4: "10.10.0.11", Enabled: true})
	seedMTA := MTA{MAC: "44:32:c8:21:09:e8", ModemID: seedModem.ID, FixedIPv4: "10.11.0.20"}
	if err := s.CreateMTA(ctx, "t", &seedMTA); err != nil {
		t.Fatal(err)
	}
	seedCPE := CPE{MAC: "44:32:c8:21:09:e9", ModemID: seedModem.ID, FixedIPv4: "100.64.0.50"}
	if err := s.CreateCPE(ctx, "t", &seedCPE); err != nil {
		t.Fatal(err)
	}
	v4net := Network{CMTSID: f.cmts.ID, Prefix: "10.10.0.0/16", Purpose: PurposeCM, Ranges: []Range{{"10.10.1.0", "10.10.1.255"}}}
	if err := s.CreateNetwork(ctx, "t", &v4net); err != nil {
		t.Fatal(err)
	}

	cmts := func(mod func(*CMTS)) func(context.Context, *Store, fixture) error {
		return func(ctx context.Context, s *Store, f fixture) error {
			c := CMTS{Name: "CMTS-9", MgmtIPv4: "10.0.0.9"}
			mod(&c)
			return s.CreateCMTS(ctx, "t", &c)
		}
	}
	network := func(mod func(*Network)) func(context.Context, *Store, fixture) error {
		return func(ctx context.Context, s *Store, f fixture) error {
			n := Network{CMTSID: f.cmts.ID, Prefix: "2001:db8:4:12::/64", Purpose: PurposeCPE}
			mod(&n)
			return s.CreateNetwork(ctx, "t", &n)
		}
	}
	plan := func(mod func(*Plan)) func(context.Context, *Store, fixture) error {
		return func(ctx context.Context, s *Store, f fixture) error {
			p := Plan{Name: "Gold", Config: "Main { }", MaxCPE: 1}
			mod(&p)
			return s.CreatePlan(ctx, "t", &p)
		}
	}
	customer := func(mod func(*Customer)) func(context.Context, *Store, fixture) error {
		return func(ctx context.Context, s *Store, f fixture) error {
			c := Customer{Account: "C9", Name: "Tóth Réka"}
			mod(&c)
			return s.CreateCustomer(ctx, "t", &c)
		}
	}
	modem := func(mod func(*Modem)) func(context.Context, *Store, fixture) error {
		return func(ctx context.Context, s *Store, f fixture) error {
			m := f.modem("00:1e:6b:e6:b4:a5")
			mod(&m)
			return s.CreateModem(ctx, "t", &m)
		}
	}
	mta := func(mod func(*MTA)) func(context.Context, *Store, fixture) error {
		return func(ctx context.Context, s *Store, f fixture) error {
			m := MTA{MAC: "00:1e:6b:e6:b4:a6", ModemID: seedModem.ID}
			mod(&m)
			return s.CreateMTA(ctx, "t", &m)
		}
	}
	cpe := func(mod func(*CPE)) func(context.Context, *Store, fixture) error {
		return func(ctx context.Context, s *Store, f fixture) error {
			c := CPE{MAC: "00:1e:6b:e6:b4:a7", ModemID: seedModem.ID}
			mod(&c)
			return s.CreateCPE(ctx, "t", &c)
		}
	}

	cases := []validationCase{
		// CMTS
		{"CMTS without name", cmts(func(c *CMTS) { c.Name = "  " }), "name", "is required"},
		{"CMTS name too long", cmts(func(c *CMTS) { c.Name = strings.Repeat("x", 65) }), "name", "longer than 64"},
		{"CMTS duplicate name", cmts(func(c *CMTS) { c.Name = "CMTS-1" }), "name", "is already used by another CMTS"},
		{"CMTS duplicate name other case", cmts(func(c *CMTS) { c.Name = "cmts-1" }), "name", "is already used by another CMTS"},
		{"CMTS bad v4", cmts(func(c *CMTS) { c.MgmtIPv4 = "10.0.0.300" }), "mgmt_ipv4", `"10.0.0.300" is not an IP address`},
		{"CMTS v6 in v4 field", cmts(func(c *CMTS) { c.MgmtIPv4 = "2001:db8::2" }), "mgmt_ipv4", "is not an IPv4 address"},
		{"CMTS v4 in v6 field", cmts(func(c *CMTS) { c.MgmtIPv6 = "10.0.0.2" }), "mgmt_ipv6", "is not an IPv6 address"},
		{"CMTS zone", cmts(func(c *CMTS) { c.MgmtIPv6 = "fe80::1%eth0" }), "mgmt_ipv6", "is not an IP address"},
		// Networks
		{"network without prefix", network(func(n *Network) { n.Prefix = "" }), "prefix", "is required"},
		{"network bad prefix", network(func(n *Network) { n.Prefix = "10.10.0.0/33" }), "prefix", `"10.10.0.0/33" is not a prefix`},
		{"network prefix with host bits", network(func(n *Network) { n.Prefix = "10.20.0.1/16" }), "prefix", "has host bits set; did you mean 10.20.0.0/16?"},
		{"network duplicate prefix", network(func(n *Network) { n.Prefix = "2001:db8:4:11::/64" }), "prefix", "is already used by another network"},
		{"network gateway outside prefix", network(func(n *Network) { n.Prefix, n.Gateway = "10.20.0.0/16", "10.21.0.1" }), "gateway", "10.21.0.1 is not inside 10.20.0.0/16"},
		{"network v6 gateway on v4", network(func(n *Network) { n.Prefix, n.Gateway = "10.20.0.0/16", "2001:db8::1" }), "gateway", "is not an IPv4 address"},
		{"network v4 range in v6 network", network(func(n *Network) { n.Ranges = []Range{{"10.0.0.10", "10.0.0.20"}} }), "ranges.0", "is not an IPv6 address"},
		{"network range outside prefix", network(func(n *Network) {
			n.Ranges = []Range{{"2001:db8:4:12::10", "2001:db8:4:12::20"}, {"2001:db8:4:13::1", "2001:db8:4:13::2"}}
		}), "ranges.1", "is not inside 2001:db8:4:12::/64"},
		{"network range reversed", network(func(n *Network) { n.Ranges = []Range{{"2001:db8:4:12::20", "2001:db8:4:12::10"}} }), "ranges.0", "is after last address"},
		{"network range half", network(func(n *Network) { n.Ranges = []Range{{"2001:db8:4:12::20", ""}} }), "ranges.0", "needs a first and a last"},
		{"network PD pool on v4", network(func(n *Network) {
			n.Prefix, n.PDPools = "10.20.0.0/16", []PDPool{{"2001:db8:4:100::", "2001:db8:4:200::", 64}}
		}), "pd_pools.0", "prefix delegation needs an IPv6 network"},
		{"network PD pool not aligned", network(func(n *Network) { n.PDPools = []PDPool{{"2001:db8:4:100::1", "2001:db8:4:200::", 64}} }), "pd_pools.0", "is not the start of a /64"},
		{"network PD pool reversed", network(func(n *Network) { n.PDPools = []PDPool{{"2001:db8:4:200::", "2001:db8:4:100::", 64}} }), "pd_pools.0", "is after last prefix"},
		{"network PD pool length", network(func(n *Network) { n.PDPools = []PDPool{{"2001:db8:4:100::", "2001:db8:4:200::", 0}} }), "pd_pools.0", "between 1 and 128"},
		{"network PD pool v4 address", network(func(n *Network) { n.PDPools = []PDPool{{"10.0.0.0", "2001:db8:4:200::", 64}} }), "pd_pools.0", "is not an IPv6 address"},
		{"network CM v6 prefix too long for MACs", network(func(n *Network) { n.Prefix, n.Purpose = "2001:db8:4:12::/96", PurposeCM }), "prefix", "must be /80 or shorter"},
		{"network CM v6 /81", network(func(n *Network) { n.Prefix, n.Purpose = "2001:db8:4:12::/81", PurposeCM }), "prefix", "must be /80 or shorter"},
		{"network CM without CMTS", network(func(n *Network) { n.CMTSID, n.Purpose = 0, PurposeCM }), "cmts_id", "is required"},
		{"network unknown CMTS", network(func(n *Network) { n.CMTSID = 999 }), "cmts_id", "does not exist"},
		{"network bad purpose", network(func(n *Network) { n.Purpose = "voip" }), "purpose", "must be one of cm, mta, cpe, server"},
		{"network bad policy", network(func(n *Network) { n.UnknownPolicy = "allow" }), "unknown_policy", "must be one of ignore, walled"},
		{"network short lease", network(func(n *Network) { n.LeaseTime = 30 }), "lease_time", "between 60 and"},
		{"network max lease below lease", network(func(n *Network) { n.LeaseTime, n.MaxLeaseTime = 7200, 3600 }), "max_lease_time", "between 7200 and"},
		{"network v4 DNS on v6", network(func(n *Network) { n.DNSServers = "2001:db8::10, 10.0.0.10" }), "dns_servers", `"10.0.0.10" is not an IPv6 address`},
		{"network bad time server", network(func(n *Network) { n.TimeServers = "ntp.example.net" }), "time_servers", "is not an IP address"},
		{"network time offset", network(func(n *Network) { n.TimeOffset = 90000 }), "time_offset", "between -86400 and 86400"},
		// Plans
		{"plan without name", plan(func(p *Plan) { p.Name = "" }), "name", "is required"},
		{"plan without config", plan(func(p *Plan) { p.Config = " \n" }), "config", "is required"},
		{"plan too many CPEs", plan(func(p *Plan) { p.MaxCPE = 255 }), "max_cpe", "between 0 and 254"},
		{"plan duplicate name", plan(func(p *Plan) { p.Name = "residential" }), "name", "is already used by another plan"},
		// Customers
		{"customer without account", customer(func(c *Customer) { c.Account = "" }), "account", "is required"},
		{"customer without name", customer(func(c *Customer) { c.Name = " " }), "name", "is required"},
		{"customer bad e-mail", customer(func(c *Customer) { c.Email = "not an address" }), "email", `"not an address" is not an e-mail address`},
		{"customer e-mail with name", customer(func(c *Customer) { c.Email = "Réka <reka@example.com>" }), "email", "is not an e-mail address"},
		{"customer duplicate account", customer(func(c *Customer) { c.Account = "C100001" }), "account", "is already used by another customer"},
		// Modems
		{"modem bad MAC", modem(func(m *Modem) { m.MAC = "44:32:c8:21:09" }), "mac", `"44:32:c8:21:09" is not a MAC address`},
		{"modem empty MAC", modem(func(m *Modem) { m.MAC = "" }), "mac", "MAC address is empty"},
		{"modem without plan", modem(func(m *Modem) { m.PlanID = 0 }), "plan_id", "is required"},
		{"modem unknown plan", modem(func(m *Modem) { m.PlanID = 999 }), "plan_id", "does not exist"},
		{"modem unknown customer", modem(func(m *Modem) { m.CustomerID = 999 }), "customer_id", "does not exist"},
		{"modem unknown CMTS", modem(func(m *Modem) { m.CMTSID = 999 }), "cmts_id", "does not exist"},
		{"modem MAC of another modem", modem(func(m *Modem) { m.MAC = "4432.C821.09E7" }), "mac", "44:32:c8:21:09:e7 is already used by a modem"},
		{"modem MAC of an MTA", modem(func(m *Modem) { m.MAC = "44-32-C8-21-09-E8" }), "mac", "44:32:c8:21:09:e8 is already used by an MTA"},
		{"modem MAC of a CPE", modem(func(m *Modem) { m.MAC = "4432c82109e9" }), "mac", "44:32:c8:21:09:e9 is already used by a CPE"},
		{"modem duplicate fixed IPv4", modem(func(m *Modem) { m.FixedIPv4 = "10.10.0.11" }), "fixed_ipv4", "10.10.0.11 is already used by a modem"},
		{"modem fixed IPv4 of an MTA", modem(func(m *Modem) { m.FixedIPv4 = "10.11.0.20" }), "fixed_ipv4", "is already used by an MTA"},
		{"modem v6 fixed IPv4", modem(func(m *Modem) { m.FixedIPv4 = "2001:db8::1" }), "fixed_ipv4", "is not an IPv4 address"},
		{"modem v4 IPv6", modem(func(m *Modem) { m.IPv6 = "10.0.0.1" }), "ipv6", "is not an IPv6 address"},
		{"modem serial too long", modem(func(m *Modem) { m.Serial = strings.Repeat("9", 65) }), "serial", "longer than 64"},
		// MTAs
		{"MTA bad MAC", mta(func(m *MTA) { m.MAC = "zz:32:c8:21:09:e8" }), "mac", `"zz:32:c8:21:09:e8" is not a MAC address`},
		{"MTA without modem", mta(func(m *MTA) { m.ModemID = 0 }), "modem_id", "is required"},
		{"MTA unknown modem", mta(func(m *MTA) { m.ModemID = 999 }), "modem_id", "does not exist"},
		{"MTA unknown plan", mta(func(m *MTA) { m.PlanID = 999 }), "plan_id", "does not exist"},
		{"MTA MAC of a modem", mta(func(m *MTA) { m.MAC = "44:32:c8:21:09:e7" }), "mac", "is already used by a modem"},
		{"MTA duplicate MAC", mta(func(m *MTA) { m.MAC = "4432.c821.09e8" }), "mac", "is already used by an MTA"},
		{"MTA bad phone line", mta(func(m *MTA) { m.PhoneLines = "+36 1 234 5678, call me" }), "phone_lines", `"call me" is not a phone number`},
		{"MTA fixed IPv4 of a CPE", mta(func(m *MTA) { m.FixedIPv4 = "100.64.0.50" }), "fixed_ipv4", "is already used by a CPE"},
		// CPEs
		{"CPE bad MAC", cpe(func(c *CPE) { c.MAC = "4432c82109e" }), "mac", `"4432c82109e" is not a MAC address`},
		{"CPE without modem", cpe(func(c *CPE) { c.ModemID = 0 }), "modem_id", "is required"},
		{"CPE MAC of a modem", cpe(func(c *CPE) { c.MAC = "44:32:C8:21:09:E7" }), "mac", "is already used by a modem"},
		{"CPE MAC of an MTA", cpe(func(c *CPE) { c.MAC = "44:32:c8:21:09:e8" }), "mac", "is already used by an MTA"},
		{"CPE bad fixed IPv4", cpe(func(c *CPE) { c.FixedIPv4 = "100.64.0" }), "fixed_ipv4", "is not an IP address"},
		{"CPE fixed IPv4 of a modem", cpe(func(c *CPE) { c.FixedIPv4 = "10.10.0.11" }), "fixed_ipv4", "is already used by a modem"},
		// Updates
		{"update modem to an MTA's MAC", func(ctx context.Context, s *Store, f fixture) error {
			m := seedModem
			m.MAC = "44:32:c8:21:09:e8"
			return s.UpdateModem(ctx, "t", &m)
		}, "mac", "is already used by an MTA"},
		{"update CMTS to another's name", func(ctx context.Context, s *Store, f fixture) error {
			c := f.cmts2
			c.Name = "CMTS-1"
			return s.UpdateCMTS(ctx, "t", &c)
		}, "name", "is already used by another CMTS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := rowCounts(t, s)
			err := tc.run(ctx, s, f)
			fields := validationFields(t, err)
			msg, ok := fields[tc.field]
			if !ok {
				t.Fatalf("no error on field %q: %v", tc.field, err)
			}
			if !strings.Contains(msg, tc.msg) {
				t.Errorf("field %q: %q does not contain %q", tc.field, msg, tc.msg)
			}
			if len(fields) != 1 {
				t.Errorf("more fields than %q failed: %v", tc.field, fields)
			}
			if !strings.Contains(err.Error(), tc.field+": ") {
				t.Errorf("Error() %q does not name the field", err)
			}
			if after := rowCounts(t, s); !reflect.DeepEqual(before, after) {
				t.Errorf("a failed write changed row counts: %v -> %v", before, after)
			}
		})
	}
	// The rows the clashes ran into are as they were.
	if got, _ := s.GetModem(ctx, seedModem.ID); !reflect.DeepEqual(got, seedModem) {
		t.Errorf("seed modem changed: %+v", got)
	}
	if got, _ := s.GetCMTS(ctx, f.cmts2.ID); !reflect.DeepEqual(got, f.cmts2) {
		t.Errorf("CMTS-2 changed: %+v", got)
	}
}

func TestFailedNetworkUpdateKeepsRanges(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	f := newFixture(t, s)
	orig, err := s.GetNetwork(ctx, f.cmNet6.ID)
	if err != nil {
		t.Fatal(err)
	}
	other := Network{CMTSID: f.cmts.ID, Prefix: "2001:db8:4:12::/64", Purpose: PurposeCPE}
	if err := s.CreateNetwork(ctx, "t", &other); err != nil {
		t.Fatal(err)
	}
	before := rowCounts(t, s)
	tests := []struct {
		name  string
		mod   func(*Network)
		field string
	}{
		// Fails in validation, before anything is written.
		{"bad gateway", func(n *Network) { n.Gateway = "2001:db8:5::1" }, "gateway"},
		// Passes validation, fails on the UNIQUE prefix after the ranges
		// would have been replaced if the order were wrong.
		{"prefix clash", func(n *Network) {
			n.Prefix = "2001:db8:4:12::/64"
			n.Ranges = []Range{{"2001:db8:4:12::5", "2001:db8:4:12::6"}}
		}, "prefix"},
		{"bad PD pool", func(n *Network) { n.PDPools = append(n.PDPools, PDPool{"2001:db8:4:300::1", "2001:db8:4:400::", 64}) }, "pd_pools.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := orig
			n.Ranges = []Range{{"2001:db8:4:11::1000", "2001:db8:4:11::2000"}, {"2001:db8:4:11::3000", "2001:db8:4:11::4000"}}
			n.PDPools = slices.Clone(orig.PDPools)
			tc.mod(&n)
			err := s.UpdateNetwork(ctx, "t", &n)
			if fields := validationFields(t, err); fields[tc.field] == "" {
				t.Errorf("error %v is not on field %q", err, tc.field)
			}
			got, err := s.GetNetwork(ctx, orig.ID)
			if err != nil || !reflect.DeepEqual(got, orig) {
				t.Errorf("network after failed update = %+v, %v\nwant %+v", got, err, orig)
			}
			if after := rowCounts(t, s); !reflect.DeepEqual(before, after) {
				t.Errorf("row counts changed: %v -> %v", before, after)
			}
		})
	}
}

func TestAuditRowsAndSecrets(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := newTestStore(t, Options{Now: clock.Now})
	f := newFixture(t, s)
	c := f.cmts
	clock.Advance(time.Hour)
	c.Notes, c.SharedSecret, c.SNMPWrite = "moved", "an0ther-s3cret", "an0ther-wr1te"
	if err := s.UpdateCMTS(ctx, "alice", &c); err != nil {
		t.Fatal(err)
	}
	trail := auditTrail(t, s, "CMTS", c.ID)
	if len(trail) != 2 || trail[0].Actor != "fixture" || trail[1].Actor != "alice" || trail[1].Action != "update" {
		t.Fatalf("CMTS audit trail = %+v", trail)
	}
	if !trail[1].At.Equal(clock.Now()) {
		t.Errorf("audit time %v, want %v", trail[1].At, clock.Now())
	}
	before, after := auditJSON(t, trail[1].Before), auditJSON(t, trail[1].After)
	if before["Notes"] != "" || after["Notes"] != "moved" || after["Name"] != "CMTS-1" {
		t.Errorf("audit before %v after %v", before, after)
	}
	for _, side := range []map[string]any{before, after} {
		if side["SharedSecret"] != "(set)" || side["SNMPWrite"] != "(set)" {
			t.Errorf("secrets not marked: %v", side)
		}
	}
	if err := s.DeleteNetwork(ctx, "", f.cmNet6.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCMTS(ctx, "alice", c.ID); err != nil {
		t.Fatal(err)
	}
	if tr := auditTrail(t, s, "network", f.cmNet6.ID); len(tr) != 2 || tr[1].Actor != "system" {
		t.Errorf("an empty actor is recorded as %q, want system", tr[1].Actor)
	}
	// No secret ever reaches the audit log, whichever row wrote it.
	for _, secret := range []string{"mic-s3cret", "wr1te-c0mmunity", "an0ther-s3cret", "an0ther-wr1te"} {
		var n int
		if err := s.read.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE instr(before, ?) > 0 OR instr(after, ?) > 0`, secret, secret).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("secret %q appears in %d audit rows", secret, n)
		}
	}
	// Every write so far has its row: 2 CMTS + network + 2 plans + customer
	// creates, one update, two deletes.
	if n := rowCount(t, s, "audit_log"); n != 9 {
		t.Errorf("audit_log has %d rows, want 9", n)
	}
}

func TestDeleteInUse(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	f := newFixture(t, s)
	m := mustCreateModem(t, s, f.modem("44:32:c8:21:09:e7"))
	mta := MTA{MAC: "44:32:c8:21:09:e8", ModemID: m.ID, PlanID: f.business.ID}
	if err := s.CreateMTA(ctx, "t", &mta); err != nil {
		t.Fatal(err)
	}
	before := rowCounts(t, s)
	tests := []struct {
		name string
		del  func() error
		get  func() error
	}{
		{"plan used by a modem", func() error { return s.DeletePlan(ctx, "t", f.plan.ID) }, func() error { _, err := s.GetPlan(ctx, f.plan.ID); return err }},
		{"plan used by an MTA", func() error { return s.DeletePlan(ctx, "t", f.business.ID) }, func() error { _, err := s.GetPlan(ctx, f.business.ID); return err }},
		{"CMTS with networks and modems", func() error { return s.DeleteCMTS(ctx, "t", f.cmts.ID) }, func() error { _, err := s.GetCMTS(ctx, f.cmts.ID); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.del()
			if !errors.Is(err, ErrInUse) {
				t.Fatalf("delete = %v, want ErrInUse", err)
			}
			if err := tc.get(); err != nil {
				t.Errorf("row gone after refused delete: %v", err)
			}
			if after := rowCounts(t, s); !reflect.DeepEqual(before, after) {
				t.Errorf("row counts changed: %v -> %v", before, after)
			}
		})
	}
	// Deleting a customer keeps their modem, without a customer.
	if err := s.DeleteCustomer(ctx, "t", f.customer.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetModem(ctx, m.ID); err != nil || got.CustomerID != 0 {
		t.Errorf("modem after its customer was deleted: %+v, %v", got, err)
	}
}

func TestDeleteModemCascades(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	f := newFixture(t, s)
	m := mustCreateModem(t, s, f.modem("44:32:c8:21:09:e7"))
	keep := mustCreateModem(t, s, f.modem("00:1e:6b:e6:b4:a5"))
	var mtaIDs []int64
	for i, mac := range []string{"44:32:c8:21:09:e8", "44:32:c8:21:09:f0"} {
		mta := MTA{MAC: mac, ModemID: m.ID}
		if err := s.CreateMTA(ctx, "t", &mta); err != nil {
			t.Fatal(i, err)
		}
		mtaIDs = append(mtaIDs, mta.ID)
	}
	var cpeIDs []int64
	for _, c := range []CPE{{MAC: "44:32:c8:21:09:e9", ModemID: m.ID}, {MAC: "00:1e:6b:e6:b4:a7", ModemID: keep.ID}} {
		if err := s.CreateCPE(ctx, "t", &c); err != nil {
			t.Fatal(err)
		}
		cpeIDs = append(cpeIDs, c.ID)
	}
	if _, err := s.write.Exec(`INSERT INTO leases4(ip, mac, kind, state, modem_id, starts, ends) VALUES ('10.10.1.5', ?, 'cm', 'active', ?, 1, 2)`, m.MAC, m.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteModem(ctx, "t", m.ID); err != nil {
		t.Fatal(err)
	}
	if _, n, _ := s.ListMTAs(ctx, m.ID, Page{}); n != 0 {
		t.Errorf("%d MTAs of the deleted modem remain", n)
	}
	if _, n, _ := s.ListCPEs(ctx, m.ID, Page{}); n != 0 {
		t.Errorf("%d CPEs of the deleted modem remain", n)
	}
	if n := rowCount(t, s, "cpes"); n != 1 {
		t.Errorf("cpes has %d rows, want the other modem's 1", n)
	}
	// Each device that went with the modem has its own delete in the audit
	// log, with what it was; the other modem's CPE has none.
	for _, d := range []struct {
		entity  string
		id      int64
		deleted bool
	}{{"MTA", mtaIDs[0], true}, {"MTA", mtaIDs[1], true}, {"CPE", cpeIDs[0], true}, {"CPE", cpeIDs[1], false}, {"modem", m.ID, true}} {
		trail := auditTrail(t, s, d.entity, d.id)
		last := trail[len(trail)-1]
		if got := last.Action == "delete"; got != d.deleted {
			t.Errorf("%s %d: last audit action %q, deleted %v", d.entity, d.id, last.Action, d.deleted)
		}
		if d.deleted && (last.Actor != "t" || !strings.Contains(last.Before, `"MAC":`)) {
			t.Errorf("%s %d: delete audit by %q with before %s", d.entity, d.id, last.Actor, last.Before)
		}
	}
	var modemID any
	if err := s.read.QueryRow(`SELECT modem_id FROM leases4 WHERE ip = '10.10.1.5'`).Scan(&modemID); err != nil || modemID != nil {
		t.Errorf("lease of the deleted modem: modem_id %v, %v (want kept, NULL)", modemID, err)
	}
}

// searchFixture is a small inventory with one modem for each way to find it.
type searchFixture struct {
	fixture
	a, b, c Modem
}

func newSearchFixture(t *testing.T, s *Store) searchFixture {
	t.Helper()
	ctx := context.Background()
	sf := searchFixture{fixture: newFixture(t, s)}
	szabo := Customer{Account: "C100002", Name: "Szabó Béla"}
	nagy := Customer{Account: "C100003", Name: "Nagy Péter"}
	for _, c := range []*Customer{&szabo, &nagy} {
		if err := s.CreateCustomer(ctx, "t", c); err != nil {
			t.Fatal(err)
		}
	}
	sf.a = mustCreateModem(t, s, Modem{MAC: "44:32:c8:21:09:e7", Serial: "T00000001", CustomerID: sf.customer.ID, PlanID: sf.plan.ID, CMTSID: sf.cmts.ID, FixedIPv4: "10.10.0.11", Enabled: true})
	sf.b = mustCreateModem(t, s, Modem{MAC: "44:32:c8:41:8c:67", Serial: "T00000002", CustomerID: szabo.ID, PlanID: sf.plan.ID, CMTSID: sf.cmts.ID, Enabled: true, Notes: "in the basement"})
	sf.c = mustCreateModem(t, s, Modem{MAC: "00:1e:6b:e6:b4:a5", Serial: "C00012345", CustomerID: nagy.ID, PlanID: sf.business.ID, CMTSID: sf.cmts2.ID, IPv6: "2001:db8:9::5", Enabled: false})
	if err := s.CreateMTA(ctx, "t", &MTA{MAC: "44:32:c8:21:09:e8", ModemID: sf.a.ID, FixedIPv4: "10.11.0.20"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCPE(ctx, "t", &CPE{MAC: "44:32:c8:41:8c:69", ModemID: sf.b.ID, FixedIPv4: "100.64.0.50"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.Exec(`INSERT INTO leases4(ip, mac, kind, state, modem_id, starts, ends) VALUES ('10.10.5.5', ?, 'cm', 'active', ?, 1, 2)`, sf.b.MAC, sf.b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.Exec(`INSERT INTO leases6(type, address, prefix_len, duid, iaid, mac, kind, state, modem_id, starts, ends)
		VALUES ('pd', '2001:db8:4:1a0::', 64, x'0001', 1, ?, 'cpe', 'active', ?, 1, 2)`, sf.c.MAC, sf.c.ID); err != nil {
		t.Fatal(err)
	}
	return sf
}

func modemMACs(rows []ModemRow) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r.MAC)
	}
	return out
}

func TestListModemsSearch(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	sf := newSearchFixture(t, s)
	a, b, c := sf.a.MAC, sf.b.MAC, sf.c.MAC
	yes, no := true, false
	tests := []struct {
		name string
		f    ModemFilter
		want []string // ordered by MAC
	}{
		{"everything", ModemFilter{}, []string{c, a, b}},
		{"MAC colons", ModemFilter{Query: "44:32:c8:21:09:e7"}, []string{a}},
		{"MAC dashes upper", ModemFilter{Query: "44-32-C8-21-09-E7"}, []string{a}},
		{"MAC cisco", ModemFilter{Query: "4432.c821.09e7"}, []string{a}},
		{"MAC bare", ModemFilter{Query: "4432c82109e7"}, []string{a}},
		{"MAC dhcpd", ModemFilter{Query: "44:32:C8:21:9:E7"}, []string{a}},
		{"MAC with spaces", ModemFilter{Query: "  4432.C841.8C67 "}, []string{b}},
		{"partial MAC colons", ModemFilter{Query: "c8:41"}, []string{b}},
		{"partial MAC dashes", ModemFilter{Query: "E6-B4-A5"}, []string{c}},
		{"partial MAC bare", ModemFilter{Query: "4432"}, []string{a, b}},
		{"partial MAC cisco", ModemFilter{Query: "c821.09"}, []string{a}},
		{"serial", ModemFilter{Query: "T00000002"}, []string{b}},
		{"partial serial", ModemFilter{Query: "0001234"}, []string{c}},
		{"customer name", ModemFilter{Query: "Szabó"}, []string{b}},
		{"customer name other case", ModemFilter{Query: "kovács"}, []string{a}},
		{"customer first name", ModemFilter{Query: "Péter"}, []string{c}},
		{"account", ModemFilter{Query: "C100003"}, []string{c}},
		{"notes", ModemFilter{Query: "basement"}, []string{b}},
		{"fixed IPv4", ModemFilter{Query: "10.10.0.11"}, []string{a}},
		{"leased IPv4", ModemFilter{Query: "10.10.5.5"}, []string{b}},
		{"MTA fixed IPv4", ModemFilter{Query: "10.11.0.20"}, []string{a}},
		{"CPE fixed IPv4", ModemFilter{Query: "100.64.0.50"}, []string{b}},
		{"derived IPv6 seed form", ModemFilter{Query: "2001:db8:4:11::4432:c821:9e7"}, []string{a}},
		{"derived IPv6 RFC 5952 form", ModemFilter{Query: "2001:db8:4:11:0:4432:c821:9e7"}, []string{a}},
		{"derived IPv6 of other seed modem", ModemFilter{Query: "2001:DB8:4:11::4432:C841:8C67"}, []string{b}},
		{"IPv6 override", ModemFilter{Query: "2001:db8:9::5"}, []string{c}},
		{"override hides derived", ModemFilter{Query: "2001:db8:5:11::1e:6be6:b4a5"}, []string{}},
		{"delegated prefix", ModemFilter{Query: "2001:db8:4:1a0::"}, []string{c}},
		{"MTA MAC", ModemFilter{Query: "44-32-C8-21-09-E8"}, []string{a}},
		{"CPE MAC", ModemFilter{Query: "4432.c841.8c69"}, []string{b}},
		{"no match", ModemFilter{Query: "Horváth"}, []string{}},
		{"unknown MAC", ModemFilter{Query: "00:00:00:00:00:01"}, []string{}},
		{"LIKE percent is literal", ModemFilter{Query: "%"}, []string{}},
		{"LIKE underscore is literal", ModemFilter{Query: "T_0000001"}, []string{}},
		{"CMTS filter", ModemFilter{CMTSID: sf.cmts.ID}, []string{a, b}},
		{"plan filter", ModemFilter{PlanID: sf.business.ID}, []string{c}},
		{"enabled", ModemFilter{Enabled: &yes}, []string{a, b}},
		{"disabled", ModemFilter{Enabled: &no}, []string{c}},
		{"query and CMTS", ModemFilter{Query: "T0000000", CMTSID: sf.cmts.ID}, []string{a, b}},
		{"query and other CMTS", ModemFilter{Query: "4432", CMTSID: sf.cmts2.ID}, []string{}},
		{"plan and disabled", ModemFilter{PlanID: sf.plan.ID, Enabled: &no}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, total, err := s.ListModems(ctx, tc.f, Page{Size: 50})
			if err != nil {
				t.Fatal(err)
			}
			if got := modemMACs(rows); !slices.Equal(got, tc.want) || total != len(tc.want) {
				t.Errorf("ListModems(%+v) = %v (total %d), want %v", tc.f, got, total, tc.want)
			}
		})
	}
	// The joined names come along.
	rows, _, _ := s.ListModems(ctx, ModemFilter{Query: a}, Page{})
	if len(rows) != 1 || rows[0].CustomerName != "Kovács Anna" || rows[0].CustomerAccount != "C100001" || rows[0].PlanName != "Residential" || rows[0].CMTSName != "CMTS-1" {
		t.Errorf("modem row = %+v", rows)
	}
}

func TestListModemsPagination(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	f := newFixture(t, s)
	var all []string
	for i := range 25 {
		m := f.modem(fmt.Sprintf("00:11:e6:00:%02x:%02x", i%3, i))
		if i%5 == 0 {
			m.CMTSID = f.cmts2.ID
		}
		all = append(all, mustCreateModem(t, s, m).MAC)
	}
	slices.Sort(all)
	var seen []string
	for off := 0; off < 30; off += 10 {
		rows, total, err := s.ListModems(ctx, ModemFilter{}, Page{Offset: off, Size: 10})
		if err != nil {
			t.Fatal(err)
		}
		if total != 25 {
			t.Errorf("page at %d: total %d, want 25", off, total)
		}
		if want := min(10, 25-off); len(rows) != want {
			t.Errorf("page at %d has %d rows, want %d", off, len(rows), want)
		}
		seen = append(seen, modemMACs(rows)...)
	}
	if !slices.Equal(seen, all) {
		t.Errorf("pages together = %v\nwant %v", seen, all)
	}
	// Filters count before paging.
	rows, total, err := s.ListModems(ctx, ModemFilter{Query: "00:11:e6:00:01"}, Page{Offset: 2, Size: 3})
	if err != nil || total != 8 || len(rows) != 3 {
		t.Errorf("filtered page: %d rows, total %d, %v; want 3 of 8", len(rows), total, err)
	}
	rows, total, _ = s.ListModems(ctx, ModemFilter{CMTSID: f.cmts2.ID}, Page{Size: 2})
	if total != 5 || len(rows) != 2 {
		t.Errorf("CMTS page: %d rows, total %d; want 2 of 5", len(rows), total)
	}
	if rows, total, _ := s.ListModems(ctx, ModemFilter{}, Page{Offset: 100, Size: 10}); len(rows) != 0 || total != 25 {
		t.Errorf("page past the end: %d rows, total %d", len(rows), total)
	}
	if counts, err := s.Count(ctx); err != nil || counts.Modems != 25 || counts.CMTS != 2 || counts.Plans != 2 {
		t.Errorf("Count = %+v, %v", counts, err)
	}
	if per, err := s.ModemsPerCMTS(ctx); err != nil || per[f.cmts2.ID][0] != 5 || per[f.cmts.ID][0] != 20 {
		t.Errorf("ModemsPerCMTS = %v, %v", per, err)
	}
}

// A query that is also a valid bare MAC (twelve hex digits) may be a serial
// or an account number: many modems carry 12-digit serials.
func TestListModemsSearchTwelveDigitSerialAndAccount(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	f := newFixture(t, s)
	acct := Customer{Account: "100200300400", Name: "Farkas Judit"}
	if err := s.CreateCustomer(ctx, "t", &acct); err != nil {
		t.Fatal(err)
	}
	bySerial := f.modem("00:00:ca:11:22:33")
	bySerial.Serial = "123456789012"
	bySerial = mustCreateModem(t, s, bySerial)
	byAccount := f.modem("00:00:ca:11:22:37")
	byAccount.CustomerID = acct.ID
	byAccount = mustCreateModem(t, s, byAccount)
	for q, want := range map[string]string{
		"123456789012": bySerial.MAC,
		"100200300400": byAccount.MAC,
		"0000ca112233": bySerial.MAC, // still a MAC
	} {
		rows, total, err := s.ListModems(ctx, ModemFilter{Query: q}, Page{Size: 10})
		if err != nil || total != 1 || len(rows) != 1 || rows[0].MAC != want {
			t.Errorf("ListModems(%q) = %v (total %d), %v; want %s", q, modemMACs(rows), total, err, want)
		}
	}
}

// Writers from many goroutines queue on the single writer connection; none
// sees SQLITE_BUSY, and readers keep answering meanwhile.
func TestConcurrentWritersAndReaders(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	f := newFixture(t, s)
	const writers, each = 4, 10
	errs := make(chan error, writers*each+100)
	done := make(chan struct{})
	var readers sync.WaitGroup
	for r := range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, _, err := s.ListModems(ctx, ModemFilter{Query: "02:00"}, Page{Size: 10}); err != nil {
					errs <- fmt.Errorf("reader %d: %w", r, err)
					return
				}
			}
		}()
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				m := f.modem(fmt.Sprintf("02:00:00:00:%02x:%02x", w, i))
				if err := s.CreateModem(ctx, fmt.Sprintf("writer%d", w), &m); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
				m.Notes = "touched"
				if err := s.UpdateModem(ctx, fmt.Sprintf("writer%d", w), &m); err != nil {
					errs <- fmt.Errorf("writer %d update: %w", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := rowCount(t, s, "modems"); n != writers*each {
		t.Errorf("%d modems, want %d", n, writers*each)
	}
	var audits int
	s.read.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE entity = 'modem'`).Scan(&audits)
	if audits != 2*writers*each {
		t.Errorf("%d modem audit rows, want %d", audits, 2*writers*each)
	}
}

func TestCancelledContextWritesNothing(t *testing.T) {
	s := newTestStore(t, Options{})
	f := newFixture(t, s)
	before := rowCounts(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := f.modem("02:00:00:00:00:01")
	if err := s.CreateModem(ctx, "t", &m); !errors.Is(err, context.Canceled) {
		t.Errorf("CreateModem with a cancelled context: %v", err)
	}
	if after := rowCounts(t, s); !reflect.DeepEqual(before, after) {
		t.Errorf("row counts changed: %v -> %v", before, after)
	}
	// The writer connection is not left inside a transaction.
	if err := s.CreateModem(context.Background(), "t", &m); err != nil {
		t.Errorf("CreateModem afterwards: %v", err)
	}
}

// Create ignores an ID the caller left in the struct (a copied row, a form's
// hidden field): validation must not treat the copied-from row as "self".
func TestCreateWithStaleIDStillChecksClashes(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	f := newFixture(t, s)
	orig := f.modem("44:32:c8:21:09:e7")
	orig.FixedIPv4 = "10.10.0.11"
	orig = mustCreateModem(t, s, orig)
	mta := MTA{MAC: "44:32:c8:21:09:e8", ModemID: orig.ID, FixedIPv4: "10.11.0.20"}
	if err := s.CreateMTA(ctx, "t", &mta); err != nil {
		t.Fatal(err)
	}
	before := rowCounts(t, s)

	clone := orig
	clone.MAC = "44:32:c8:21:09:f0"
	if err := s.CreateModem(ctx, "t", &clone); validationFields(t, err)["fixed_ipv4"] == "" {
		t.Errorf("modem copied with its ID and fixed IPv4: %v, want a fixed_ipv4 error", err)
	}
	mclone := mta
	mclone.MAC = "44:32:c8:21:09:f1"
	if err := s.CreateMTA(ctx, "t", &mclone); validationFields(t, err)["fixed_ipv4"] == "" {
		t.Errorf("MTA copied with its ID and fixed IPv4: %v, want a fixed_ipv4 error", err)
	}
	if after := rowCounts(t, s); !reflect.DeepEqual(before, after) {
		t.Errorf("row counts changed: %v -> %v", before, after)
	}
}

func TestSettings(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	if v, err := s.Setting(ctx, "server.ipv4", "0.0.0.0"); err != nil || v != "0.0.0.0" {
		t.Errorf("missing setting = %q, %v; want the default", v, err)
	}
	for _, v := range []string{"10.0.0.10", "10.0.0.11"} {
		if err := s.SetSetting(ctx, "admin", "server.ipv4", v); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := s.Setting(ctx, "server.ipv4", ""); err != nil || v != "10.0.0.11" {
		t.Errorf("setting = %q, %v", v, err)
	}
	trail := auditTrail(t, s, "setting:server.ipv4", 0)
	if len(trail) != 2 || trail[1].Before != `"10.0.0.10"` || trail[1].After != `"10.0.0.11"` || trail[1].Actor != "admin" {
		t.Errorf("settings audit = %+v", trail)
	}
}
