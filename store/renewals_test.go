package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRenewalsReadThroughLease: a grant's session is held by its lease
// (migration 0013) and a renewal of the same holding is written to the
// lease alone (0012). The history shows the session, extended, found at a
// time only the renewals cover; when the lease is next written whole (here
// a release) the history row is written with the session as it stood, and
// closed.
func TestRenewalsReadThroughLease(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	clock := t0
	st, err := Open(ctx, t.TempDir(), Options{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	raw := func(addr string) (ends, at int64, renewals int, ended string, found bool) {
		t.Helper()
		if err := st.leasesApplied(ctx); err != nil {
			t.Fatal(err)
		}
		err := st.read.QueryRowContext(ctx, `SELECT ends, at, renewals, ended FROM lease_history WHERE address = ? ORDER BY id LIMIT 1`, addr).
			Scan(&ends, &at, &renewals, &ended)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			t.Fatal(err)
		}
		return ends, at, renewals, ended, err == nil
	}
	one := func(q HistoryQuery) HistoryEntry {
		t.Helper()
		h, err := st.LeaseHistory(ctx, q)
		if err != nil || len(h) != 1 {
			t.Fatalf("history %+v: %+v, %v (want one session)", q, h, err)
		}
		return h[0]
	}
	for _, c := range []struct {
		name  string
		grant LeaseOp
		addr  string
	}{
		{"v6", v6grant("2001:db8:4:11::a", t0), "2001:db8:4:11::a"},
		{"v4", grant4("10.10.1.5", "44:32:c8:21:09:e7", StateActive), "10.10.1.5"},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock = t0
			if err := st.CommitLeases(ctx, c.grant); err != nil {
				t.Fatal(err)
			}
			ends := t0.Add(time.Hour)
			for i := range 3 {
				clock = t0.Add(time.Duration(i+1) * 30 * time.Minute)
				ends = clock.Add(time.Hour)
				r := c.grant
				r.Event = EventRenew
				if l := r.V6; l != nil {
					cp := *l
					cp.Ends = ends
					r.V6 = &cp
				} else {
					cp := *r.V4
					cp.Ends = ends
					r.V4 = &cp
				}
				if err := st.CommitLeases(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			// The lease holds the session (0013); the history reads it
			// from there.
			if _, _, _, _, found := raw(c.addr); found {
				t.Fatal("a history row for a session its lease still holds")
			}
			h := one(HistoryQuery{Address: c.addr})
			if h.Renewals != 3 || !h.Ends.Equal(ends) || !h.At.Equal(clock) || h.Ended != "" {
				t.Fatalf("session read through the lease: %+v, want 3 renewals, ends %v, at %v", h, ends, clock)
			}
			// Found at a time only the renewals cover.
			one(HistoryQuery{Address: c.addr, At: t0.Add(2 * time.Hour)})

			// The release: the row takes the session, then is closed.
			clock = t0.Add(100 * time.Minute)
			rel := c.grant
			rel.Event = EventRelease
			if l := rel.V6; l != nil {
				cp := *l
				cp.State, cp.Ends = StateReleased, clock
				rel.V6 = &cp
			} else {
				cp := *rel.V4
				cp.State, cp.Ends = StateReleased, clock
				rel.V4 = &cp
			}
			if err := st.CommitLeases(ctx, rel); err != nil {
				t.Fatal(err)
			}
			rawEnds, at, n, ended, found := raw(c.addr)
			if !found || rawEnds != clock.Unix() || at != clock.Unix() || n != 3 || ended != EventRelease {
				t.Fatalf("history row after the release: ends %d, at %d, %d renewals, ended %q", rawEnds, at, n, ended)
			}
			h = one(HistoryQuery{Address: c.addr})
			if h.Renewals != 3 || !h.Ends.Equal(clock) || h.Ended != EventRelease {
				t.Fatalf("history after the release: %+v", h)
			}
			if h, _ := st.LeaseHistory(ctx, HistoryQuery{Address: c.addr, At: t0.Add(2 * time.Hour)}); len(h) != 0 {
				t.Fatalf("a released session found after its release: %+v", h)
			}
		})
	}
}

// TestRenewalsKeptWhenLeaseReplaced: a lease renewed in place and then
// granted to another device (no release or expiry in between) leaves the
// first session's row with its renewals and end.
func TestRenewalsKeptWhenLeaseReplaced(t *testing.T) {
	ctx := context.Background()
	st := openLeaseStore(t)
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	g := v6grant("2001:db8:4:11::a", t0)
	if err := st.CommitLeases(ctx, g); err != nil {
		t.Fatal(err)
	}
	r := g
	l := *g.V6
	l.Ends = t0.Add(5 * time.Hour)
	r.V6, r.Event = &l, EventRenew
	if err := st.CommitLeases(ctx, r); err != nil {
		t.Fatal(err)
	}
	// Another device, later, and a renewal through another relay for it.
	other := v6grant("2001:db8:4:11::a", t0.Add(6*time.Hour))
	other.V6.DUID, other.V6.MAC = []byte{0, 3, 0, 1, 2, 2, 2, 2, 2, 2}, "02:02:02:02:02:02"
	if err := st.CommitLeases(ctx, other); err != nil {
		t.Fatal(err)
	}
	moved := other
	ml := *other.V6
	ml.LinkAddress, ml.Ends = "2001:db8:4:12::1", ml.Ends.Add(time.Hour)
	moved.V6, moved.Event = &ml, EventRenew
	if err := st.CommitLeases(ctx, moved); err != nil {
		t.Fatal(err)
	}
	h, err := st.AddressHistory(ctx, "2001:db8:4:11::a", 10)
	if err != nil {
		t.Fatal(err)
	}
	// Newest first: the other device's renewal through the new relay (a
	// row of its own, as a changed relay always was), its grant, and the
	// first device's session with its renewal.
	if len(h) != 3 || h[0].Event != EventRenew || h[0].Relay != "2001:db8:4:12::1" || h[1].Event != EventGrant || h[1].MAC != "02:02:02:02:02:02" ||
		h[2].MAC != g.V6.MAC || h[2].Renewals != 1 || !h[2].Ends.Equal(t0.Add(5*time.Hour)) {
		t.Fatalf("history: %+v", h)
	}
}

// TestHistoryByMACFindsOpenSessions: the search by a modem's MAC finds its
// own open sessions and those of the devices behind it, v4 and v6, while
// their leases still hold them and after their rows are written.
func TestHistoryByMACFindsOpenSessions(t *testing.T) {
	ctx := context.Background()
	st := openLeaseStore(t)
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	modem, cpe, router := "44:32:c8:21:09:e7", "02:00:00:00:00:01", "44:32:c8:21:09:e9"
	cm4 := grant4("10.10.1.5", modem, StateActive)
	cpe4 := LeaseOp{Event: EventGrant, ModemMAC: modem, V4: &Lease4{IP: "100.64.0.7", MAC: cpe, Kind: KindCPE, State: StateActive,
		GiAddr: "100.64.0.1", Starts: t0, Ends: t0.Add(time.Hour)}}
	cm6 := v6grant("2001:db8:4:11::4432:c821:9e7", t0)
	pd := v6grant("2001:db8:4:100::", t0)
	pd.V6.Type, pd.V6.PrefixLen, pd.V6.MAC, pd.V6.Kind = "pd", 56, router, KindCPE
	pd.V6.DUID = []byte{0, 3, 0, 1, 0x44, 0x32, 0xc8, 0x21, 0x09, 0xe9}
	if err := st.CommitLeases(ctx, cm4, cpe4, cm6, pd); err != nil {
		t.Fatal(err)
	}
	addrs := func(q HistoryQuery) string {
		t.Helper()
		h, err := st.LeaseHistory(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range h {
			got = append(got, e.Address)
		}
		slices.Sort(got)
		return strings.Join(got, " ")
	}
	all := "10.10.1.5 100.64.0.7 2001:db8:4:100:: 2001:db8:4:11::4432:c821:9e7"
	if got := addrs(HistoryQuery{MAC: modem}); got != all {
		t.Errorf("by the modem's MAC: %s, want %s", got, all)
	}
	if got := addrs(HistoryQuery{MAC: cpe}); got != "100.64.0.7" {
		t.Errorf("by the CPE's MAC: %s", got)
	}
	if got := addrs(HistoryQuery{MAC: router, At: t0.Add(30 * time.Minute)}); got != "2001:db8:4:100::" {
		t.Errorf("by the router's MAC at a time: %s", got)
	}
	// The CPE gives its address back: its row is written and closed, and
	// still found.
	rel := cpe4
	l := *cpe4.V4
	l.State, l.Ends = StateReleased, t0.Add(10*time.Minute)
	rel.V4, rel.Event = &l, EventRelease
	if err := st.CommitLeases(ctx, rel); err != nil {
		t.Fatal(err)
	}
	if got := addrs(HistoryQuery{MAC: modem}); got != all {
		t.Errorf("by the modem's MAC after the release: %s, want %s", got, all)
	}
	if got := addrs(HistoryQuery{MAC: cpe, At: t0.Add(30 * time.Minute)}); got != "" {
		t.Errorf("the released session found after its release: %s", got)
	}
}
