package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestListLeases(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := newTestStore(t, Options{Now: clock.Now})
	f := newFixture(t, s)
	m := mustCreateModem(t, s, f.modem("44:32:c8:21:09:e7"))
	now := clock.Now()
	var ops []LeaseOp
	for i, ip := range []string{"10.10.1.5", "10.10.1.6", "10.10.1.7"} {
		l := &Lease4{IP: ip, MAC: "02:00:00:00:00:0" + string(rune('1'+i)), Kind: KindCPE, State: StateActive, ModemID: m.ID,
			Starts: now, Ends: now.Add(time.Hour)}
		if i == 2 {
			l.ModemID, l.Ends = 0, now.Add(-time.Minute) // ended: not current
		}
		ops = append(ops, LeaseOp{Event: EventGrant, V4: l})
	}
	ops = append(ops,
		LeaseOp{Event: EventGrant, V6: &Lease6{Type: "na", Address: "2001:db8:4:11::4432:c821:9e7", PrefixLen: 128, DUID: []byte{0, 3, 0, 1, 0x44, 0x32, 0xc8, 0x21, 0x09, 0xe7}, MAC: m.MAC, Kind: KindCM, State: StateActive, ModemID: m.ID, Starts: now, Ends: now.Add(time.Hour)}},
		LeaseOp{Event: EventGrant, V6: &Lease6{Type: "pd", Address: "2001:db8:4:100::", PrefixLen: 64, DUID: []byte{0, 3, 0, 1, 2, 0, 0, 0, 0, 1}, MAC: "02:00:00:00:00:01", Kind: KindCPE, State: StateActive, ModemID: m.ID, Starts: now, Ends: now.Add(time.Hour)}})
	if err := s.CommitLeases(ctx, ops...); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		f     LeaseFilter
		page  Page
		want4 []string
		total int
	}{
		{"all current", LeaseFilter{}, Page{}, []string{"10.10.1.5", "10.10.1.6"}, 2},
		{"a page", LeaseFilter{}, Page{Offset: 1, Size: 1}, []string{"10.10.1.6"}, 2},
		{"by address", LeaseFilter{Address: "10.10.1.6"}, Page{}, []string{"10.10.1.6"}, 1},
		{"ended is not current", LeaseFilter{Address: "10.10.1.7"}, Page{}, nil, 0},
		{"by MAC", LeaseFilter{MAC: "02:00:00:00:00:01"}, Page{}, []string{"10.10.1.5"}, 1},
		{"by modem", LeaseFilter{ModemID: m.ID, State: StateActive}, Page{}, []string{"10.10.1.5", "10.10.1.6"}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			list, total, err := s.ListLeases4(ctx, tc.f, tc.page)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range list {
				got = append(got, l.IP)
			}
			if total != tc.total || len(got) != len(tc.want4) || (len(got) > 0 && got[0] != tc.want4[0]) {
				t.Fatalf("got %v of %d, want %v of %d", got, total, tc.want4, tc.total)
			}
		})
	}
	l6, total, err := s.ListLeases6(ctx, LeaseFilter{Type: "pd"}, Page{Size: 10})
	if err != nil || total != 1 || len(l6) != 1 || l6[0].Address != "2001:db8:4:100::" {
		t.Fatalf("v6 prefixes = %+v, %d, %v", l6, total, err)
	}
}

func TestLeaseHistoryByCustomer(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	f := newFixture(t, s)
	m := mustCreateModem(t, s, f.modem("44:32:c8:21:09:e7"))
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	grant := func(ip string, customer int64, at time.Time) LeaseOp {
		return LeaseOp{Event: EventGrant, ModemMAC: m.MAC, CustomerID: customer, V4: &Lease4{
			IP: ip, MAC: "02:00:00:00:00:01", Kind: KindCPE, State: StateActive, ModemID: m.ID, Starts: at, Ends: at.Add(time.Hour)}}
	}
	// The modem belonged to nobody (customer 0) before it was the
	// customer's: that lease is not the customer's.
	if err := s.CommitLeases(ctx, grant("100.64.0.1", 0, day), grant("100.64.0.2", f.customer.ID, day.Add(24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	h, err := s.LeaseHistory(ctx, HistoryQuery{CustomerID: f.customer.ID})
	if err != nil || len(h) != 1 || h[0].Address != "100.64.0.2" {
		t.Fatalf("history of the customer = %+v, %v", h, err)
	}
	h, err = s.LeaseHistory(ctx, HistoryQuery{CustomerID: f.customer.ID, At: day.Add(30 * time.Minute)})
	if err != nil || len(h) != 0 {
		t.Fatalf("history of the customer on the first day = %+v, %v", h, err)
	}
}

// TestLeaseHistoryByCustomerAfterMove: a lease granted while the modem was
// customer A's is found by A's account after the modem moved to B, and is
// not B's; B's own lease after the move is B's alone.
func TestLeaseHistoryByCustomerAfterMove(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	f := newFixture(t, s)
	a := f.customer
	b := Customer{Account: "C200002", Name: "Kiss Béla"}
	if err := s.CreateCustomer(ctx, "test", &b); err != nil {
		t.Fatal(err)
	}
	m := mustCreateModem(t, s, f.modem("44:32:c8:21:09:e7"))
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	grant := func(ip string, customer int64, at time.Time) LeaseOp {
		return LeaseOp{Event: EventGrant, ModemMAC: m.MAC, CustomerID: customer, V4: &Lease4{
			IP: ip, MAC: "02:00:00:00:00:01", Kind: KindCPE, State: StateActive, ModemID: m.ID, Starts: at, Ends: at.Add(time.Hour)}}
	}
	if err := s.CommitLeases(ctx, grant("100.64.0.1", a.ID, day)); err != nil {
		t.Fatal(err)
	}
	m.CustomerID = b.ID
	if err := s.UpdateModem(ctx, "test", &m); err != nil {
		t.Fatal(err)
	}
	if err := s.CommitLeases(ctx, grant("100.64.0.2", b.ID, day.Add(24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		who  Customer
		at   time.Time
		want []string
	}{
		{a, time.Time{}, []string{"100.64.0.1"}},
		{a, day.Add(30 * time.Minute), []string{"100.64.0.1"}},
		{b, time.Time{}, []string{"100.64.0.2"}},
		{b, day.Add(30 * time.Minute), nil},
	} {
		h, err := s.LeaseHistory(ctx, HistoryQuery{CustomerID: tc.who.ID, At: tc.at})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range h {
			got = append(got, e.Address)
			if e.CustomerID != tc.who.ID {
				t.Errorf("%s: a row of customer %d", tc.who.Account, e.CustomerID)
			}
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("history of %s at %v = %v, want %v", tc.who.Account, tc.at, got, tc.want)
		}
	}
}

// TestLeaseHistoryByCustomerUsesIndex: the search by customer reads the
// customer's rows through lease_history_customer, newest first, without
// a sort or a scan of the table.
func TestLeaseHistoryByCustomerUsesIndex(t *testing.T) {
	s := newTestStore(t, Options{})
	for _, at := range []string{"", " AND starts <= 5 AND ends >= 5"} {
		got := queryPlan(t, s, "SELECT at, address, mac FROM lease_history WHERE customer_id = 1"+at+" ORDER BY starts DESC, id DESC LIMIT 10")
		if !strings.Contains(got, "USING INDEX lease_history_customer") || strings.Contains(got, "TEMP B-TREE") {
			t.Errorf("query plan%s: %s", at, got)
		}
	}
}

func TestCustomerByAccount(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	// More customers whose accounts contain "C1" than a search page
	// holds, all sorting by name before the exact one.
	for i := range 30 {
		c := Customer{Account: "C1" + strings.Repeat("0", 3) + string(rune('A'+i%26)) + string(rune('a'+i/26)), Name: "Aaa " + string(rune('A'+i%26))}
		if err := s.CreateCustomer(ctx, "test", &c); err != nil {
			t.Fatal(err)
		}
	}
	exact := Customer{Account: "C1", Name: "Zöld Zoltán"}
	if err := s.CreateCustomer(ctx, "test", &exact); err != nil {
		t.Fatal(err)
	}
	got, err := s.CustomerByAccount(ctx, " C1 ")
	if err != nil || got.ID != exact.ID {
		t.Fatalf("CustomerByAccount(C1) = %+v, %v", got, err)
	}
	if _, err := s.CustomerByAccount(ctx, "c1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("another case: %v, want ErrNotFound", err)
	}
	if _, err := s.CustomerByAccount(ctx, "C"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a part of accounts: %v, want ErrNotFound", err)
	}
}

// TestLeases6ByAddressUsesIndex: with leases6_address gone, a lookup by
// address goes through the UNIQUE (type, address, prefix_len) index.
func TestLeases6ByAddressUsesIndex(t *testing.T) {
	s := newTestStore(t, Options{})
	for _, q := range []string{
		"SELECT modem_id FROM leases6 WHERE type IN ('na', 'pd') AND address = '2001:db8::1' AND modem_id IS NOT NULL",
		"SELECT id FROM leases6 WHERE ends > 5 AND type IN ('na', 'pd') AND address = '2001:db8::1'",
	} {
		if got := queryPlan(t, s, q); !strings.Contains(got, "USING INDEX sqlite_autoindex_leases6_1 (type=? AND address=?)") {
			t.Errorf("%s: plan %s", q, got)
		}
	}
}

// queryPlan is SQLite's plan for q, its steps joined by "; ".
func queryPlan(t *testing.T, s *Store, q string) string {
	t.Helper()
	rows, err := s.read.Query("EXPLAIN QUERY PLAN " + q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "; ")
}
