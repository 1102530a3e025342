package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func openLeaseStore(t testing.TB) *Store {
	t.Helper()
	st, err := Open(context.Background(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func grant4(ip, mac string, state string) LeaseOp {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	return LeaseOp{Event: EventGrant, ModemMAC: mac, V4: &Lease4{
		IP: ip, MAC: mac, Kind: KindCM, State: state, GiAddr: "10.10.0.1",
		RemoteID: []byte{0x44, 0x32, 0xc8, 0x21, 0x09, 0xe7}, CircuitID: []byte("cable1/0"),
		Starts: now, Ends: now.Add(time.Hour),
	}}
}

func TestCommitLeases(t *testing.T) {
	ctx := context.Background()
	st := openLeaseStore(t)
	if err := st.CommitLeases(ctx, grant4("10.10.1.5", "44:32:c8:21:09:e7", StateOffered)); err != nil {
		t.Fatal(err)
	}
	if h, _ := st.AddressHistory(ctx, "10.10.1.5", 10); len(h) != 0 {
		t.Fatalf("an offer made history: %+v", h)
	}
	if err := st.CommitLeases(ctx, grant4("10.10.1.5", "44:32:c8:21:09:e7", StateActive)); err != nil {
		t.Fatal(err)
	}
	v6 := LeaseOp{Event: EventGrant, ModemMAC: "44:32:c8:21:09:e7", V6: &Lease6{Type: "pd", Address: "2001:db8:4:100::", PrefixLen: 64,
		DUID: []byte{0, 3, 0, 1, 0x44, 0x32, 0xc8, 0x21, 0x09, 0xe9}, IAID: 7, Kind: KindCPE, State: StateActive,
		Starts: time.Unix(1_800_000_000, 0), Ends: time.Unix(1_800_003_600, 0)}}
	if err := st.CommitLeases(ctx, v6); err != nil {
		t.Fatal(err)
	}
	l4, err := st.Leases4(ctx, time.Unix(0, 0))
	if err != nil || len(l4) != 1 || l4[0].State != StateActive || string(l4[0].CircuitID) != "cable1/0" {
		t.Fatalf("leases4 = %+v, %v", l4, err)
	}
	l6, err := st.Leases6(ctx, time.Unix(0, 0))
	if err != nil || len(l6) != 1 || l6[0].IAID != 7 || l6[0].PrefixLen != 64 {
		t.Fatalf("leases6 = %+v, %v", l6, err)
	}
	h, err := st.AddressHistory(ctx, "10.10.1.5", 10)
	if err != nil || len(h) != 1 || h[0].Event != EventGrant || h[0].ModemMAC != "44:32:c8:21:09:e7" || h[0].Relay != "10.10.0.1" {
		t.Fatalf("history = %+v, %v", h, err)
	}
	if err := st.CommitLeases(ctx, LeaseOp{Event: EventGrant}); err == nil {
		t.Fatal("an op with neither V4 nor V6 was accepted")
	}
	bad := grant4("10.10.1.6", "44:32:c8:21:09:e7", StateActive)
	bad.Event = "stolen"
	if err := st.CommitLeases(ctx, bad); err == nil {
		t.Fatal("an unknown event was accepted")
	}
}

// TestCommitLeasesConcurrent: many callers at once are all durable, share
// transactions, and one bad op fails only its own caller.
func TestCommitLeasesConcurrent(t *testing.T) {
	ctx := context.Background()
	st := openLeaseStore(t)
	const n = 400
	var mu sync.Mutex
	observed := map[string]bool{}
	st.ObserveLeases(func(ops []LeaseOp) {
		mu.Lock()
		for _, op := range ops {
			observed[op.V4.MAC] = true
		}
		mu.Unlock()
	})
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			op := grant4(fmt.Sprintf("10.10.%d.%d", i/250, i%250+1), fmt.Sprintf("00:00:ca:00:%02x:%02x", i/256, i%256), StateActive)
			if i == 17 {
				op.V4.NetworkID = 999999 // no such network: a foreign key failure
			}
			errs[i] = st.CommitLeases(ctx, op)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (err != nil) != (i == 17) {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	l4, err := st.Leases4(ctx, time.Unix(0, 0))
	if err != nil || len(l4) != n-1 {
		t.Fatalf("%d leases stored (%v), want %d", len(l4), err, n-1)
	}
	// The observer saw exactly the committed ops, the failed one not.
	mu.Lock()
	if len(observed) != n-1 || observed[fmt.Sprintf("00:00:ca:00:%02x:%02x", 0, 17)] {
		t.Errorf("the observer saw %d ops (want %d) or the failed one", len(observed), n-1)
	}
	mu.Unlock()
	cs := st.CommitStats()
	t.Logf("%d requests in %d transactions", cs.Requests, cs.Batches)
	if cs.Batches >= cs.Requests {
		t.Logf("no batching happened this run (the machine may be idle enough to commit each alone)")
	}
}

func TestCommitLeasesAfterClose(t *testing.T) {
	st, err := Open(context.Background(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := st.CommitLeases(context.Background(), grant4("10.10.1.5", "44:32:c8:21:09:e7", StateActive)); !errors.Is(err, ErrClosed) {
		t.Fatalf("commit after close: %v, want ErrClosed", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

// BenchmarkCommitLeases measures durable (fsync'd) lease commits from many
// concurrent callers, as a DHCP server under a reboot storm makes them.
func BenchmarkCommitLeases(b *testing.B) {
	st := openLeaseStore(b)
	ctx := context.Background()
	b.SetParallelism(32)
	var mu sync.Mutex
	next := 0
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			i := next
			next++
			mu.Unlock()
			op := grant4(fmt.Sprintf("10.%d.%d.%d", 10+i/65000, i/250%260, i%250+1), fmt.Sprintf("00:00:ca:%02x:%02x:%02x", i>>16&255, i>>8&255, i&255), StateActive)
			if err := st.CommitLeases(ctx, op); err != nil {
				b.Fatal(err)
			}
		}
	})
	cs := st.CommitStats()
	b.ReportMetric(float64(cs.Requests)/float64(max(cs.Batches, 1)), "leases/txn")
}

// BenchmarkCommitLeases6 measures durable commits of new DHCPv6 bindings
// (a cable modem's IA_NA, as a reboot storm makes them: each a new binding
// and a new history session) from many concurrent callers.
func BenchmarkCommitLeases6(b *testing.B) {
	st := openLeaseStore(b)
	ctx := context.Background()
	b.SetParallelism(32)
	var next atomic.Int64
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			mac := fmt.Sprintf("00:00:ca:%02x:%02x:%02x", i>>16&255, i>>8&255, i&255)
			op := LeaseOp{Event: EventGrant, ModemMAC: mac, V6: &Lease6{Type: "na",
				Address: fmt.Sprintf("2001:db8:4:11::ca:%x", i), PrefixLen: 128,
				DUID: []byte{0, 3, 0, 1, 0, 0, 0xca, byte(i >> 16), byte(i >> 8), byte(i)}, IAID: 1,
				MAC: mac, Kind: KindCM, State: StateActive, LinkAddress: "2001:db8:4:11::1",
				RemoteID: []byte{0, 0, 0x11, 0x8b, 0, 0, 0xca, byte(i >> 16), byte(i >> 8), byte(i)},
				Starts:   now, Ends: now.Add(time.Hour)}}
			if err := st.CommitLeases(ctx, op); err != nil {
				b.Fatal(err)
			}
		}
	})
	cs := st.CommitStats()
	b.ReportMetric(float64(cs.Requests)/float64(max(cs.Batches, 1)), "leases/txn")
}

func TestLease4ByIPAndMTAByMAC(t *testing.T) {
	ctx := context.Background()
	st := openLeaseStore(t)
	if _, err := st.Lease4ByIP(ctx, "10.10.1.5"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing lease: %v, want ErrNotFound", err)
	}
	if err := st.CommitLeases(ctx, grant4("10.10.1.5", "44:32:c8:21:09:e7", StateActive)); err != nil {
		t.Fatal(err)
	}
	l, err := st.Lease4ByIP(ctx, "10.10.1.5")
	if err != nil || l.MAC != "44:32:c8:21:09:e7" {
		t.Fatalf("Lease4ByIP = %+v, %v", l, err)
	}
	if _, err := st.FillDemo(ctx, DemoOptions{Modems: 3}); err != nil {
		t.Fatal(err)
	}
	m, err := st.MTAByMAC(ctx, "4432.c821.09e8")
	if err != nil || m.MAC != "44:32:c8:21:09:e8" {
		t.Fatalf("MTAByMAC = %+v, %v", m, err)
	}
	if _, err := st.MTAByMAC(ctx, "00:00:00:00:00:01"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing MTA: %v", err)
	}
}

// TestRenewPath6: the v6 renewal of the same binding (same device, kind,
// modem, relay and start) updates its end and remote-id in place and
// counts the renewal on the lease (migration 0012); a "renewal" that does
// not match the stored row (another relay, DUID or kind) replaces the row
// as a full upsert, its count starting again.
func TestRenewPath6(t *testing.T) {
	ctx := context.Background()
	st := openLeaseStore(t)
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	g := v6grant("2001:db8:4:11::a", t0)
	if err := st.CommitLeases(ctx, g); err != nil {
		t.Fatal(err)
	}
	cur := *g.V6
	renew := func(name string, edit func(l *Lease6), wantRenewals int) {
		t.Helper()
		l := cur
		l.Ends = l.Ends.Add(time.Hour)
		l.RemoteID = []byte{byte(wantRenewals), 9}
		edit(&l)
		if err := st.CommitLeases(ctx, LeaseOp{Event: EventRenew, ModemMAC: g.ModemMAC, V6: &l}); err != nil {
			t.Fatal(err)
		}
		got, err := st.Lease6ByAddress(ctx, l.Address)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Ends.Equal(l.Ends) || string(got.DUID) != string(l.DUID) || got.Kind != l.Kind || got.LinkAddress != l.LinkAddress || string(got.RemoteID) != string(l.RemoteID) {
			t.Fatalf("%s: after the renewal: %+v, want %+v", name, got, l)
		}
		var n int
		if err := st.read.QueryRowContext(ctx, "SELECT renewals FROM leases6 WHERE type = 'na' AND address = ?", l.Address).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != wantRenewals {
			t.Fatalf("%s: %d renewals counted on the lease, want %d (%s)", name, n, wantRenewals, map[bool]string{true: "in place", false: "a full upsert"}[wantRenewals > 0])
		}
		cur = l
	}
	renew("same holding", func(*Lease6) {}, 1)
	renew("same holding again", func(*Lease6) {}, 2)
	renew("another relay", func(l *Lease6) { l.LinkAddress = "2001:db8:4:11::2" }, 0)
	renew("same holding behind the new relay", func(*Lease6) {}, 1)
	renew("another DUID", func(l *Lease6) { l.DUID = []byte{0, 3, 0, 1, 1, 2, 3, 4, 5, 6} }, 0)
	renew("another kind", func(l *Lease6) { l.Kind = KindCPE }, 0)
}

// TestRenewPath: a renewal of the same holding updates the end time; a
// "renewal" that does not match the stored row (another MAC) falls back to
// the full upsert, so the row is always what the server said.
func TestRenewPath(t *testing.T) {
	ctx := context.Background()
	st := openLeaseStore(t)
	g := grant4("10.10.1.5", "44:32:c8:21:09:e7", StateActive)
	if err := st.CommitLeases(ctx, g); err != nil {
		t.Fatal(err)
	}
	r := g
	l := *g.V4
	l.Ends = l.Ends.Add(time.Hour)
	r.V4, r.Event = &l, EventRenew
	if err := st.CommitLeases(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, _ := st.Lease4ByIP(ctx, "10.10.1.5")
	if !got.Ends.Equal(l.Ends) || got.MAC != l.MAC {
		t.Fatalf("after renew: %+v", got)
	}
	other := l
	other.MAC = "00:00:ca:00:00:01"
	r.V4 = &other
	if err := st.CommitLeases(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Lease4ByIP(ctx, "10.10.1.5"); got.MAC != other.MAC {
		t.Fatalf("a renewal for another MAC did not replace the row: %+v", got)
	}
	// The history: the grant, extended by its renewal (one row, not two),
	// and the other MAC's "renewal" as a row of its own.
	h, _ := st.AddressHistory(ctx, "10.10.1.5", 10)
	if len(h) != 2 || h[0].Event != EventRenew || h[0].MAC != other.MAC || h[0].Renewals != 0 ||
		h[1].Event != EventGrant || h[1].Renewals != 1 || !h[1].Ends.Equal(l.Ends) {
		t.Fatalf("history: %+v", h)
	}
	// More renewals of the other MAC's lease extend its row.
	for i := range 5 {
		o := other
		o.Ends = o.Ends.Add(time.Duration(i+1) * time.Hour)
		r.V4 = &o
		if err := st.CommitLeases(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	h, _ = st.AddressHistory(ctx, "10.10.1.5", 10)
	if len(h) != 2 || h[0].Renewals != 5 || !h[0].Ends.Equal(other.Ends.Add(5*time.Hour)) {
		t.Fatalf("history after five more renewals: %+v", h)
	}
	// A renewal through another relay (the modem moved) starts a new row.
	moved := other
	moved.Ends = moved.Ends.Add(6 * time.Hour)
	moved.GiAddr = "10.99.0.1"
	r.V4 = &moved
	if err := st.CommitLeases(ctx, r); err != nil {
		t.Fatal(err)
	}
	if h, _ = st.AddressHistory(ctx, "10.10.1.5", 10); len(h) != 3 || h[0].Relay != "10.99.0.1" {
		t.Fatalf("history after a renewal through another relay: %+v", h)
	}
}

func TestLease6ByAddress(t *testing.T) {
	ctx := context.Background()
	st := openLeaseStore(t)
	op := LeaseOp{Event: EventGrant, V6: &Lease6{Type: "na", Address: "2001:db8:4:11::4432:c821:9e7", PrefixLen: 128, DUID: []byte{0, 3, 0, 1, 1, 2, 3, 4, 5, 6},
		IAID: 1, MAC: "44:32:c8:21:09:e7", Kind: KindCM, State: StateActive, Starts: time.Unix(1_800_000_000, 0), Ends: time.Unix(1_800_086_400, 0)}}
	if err := st.CommitLeases(ctx, op); err != nil {
		t.Fatal(err)
	}
	l, err := st.Lease6ByAddress(ctx, "2001:db8:4:11::4432:c821:9e7")
	if err != nil || l.MAC != "44:32:c8:21:09:e7" || l.IAID != 1 {
		t.Fatalf("Lease6ByAddress = %+v, %v", l, err)
	}
	if _, err := st.Lease6ByAddress(ctx, "2001:db8::1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing binding: %v", err)
	}
}

// TestCommitLeases6Batched: new bindings go in multi-row INSERTs, yet every
// op still sees the ones before it in the same commit — a release right
// after its grant closes that grant's session, a renewal extends it — and a
// commit of more bindings than one statement takes keeps them all.
func TestCommitLeases6Batched(t *testing.T) {
	ctx := context.Background()
	st := openLeaseStore(t)
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	op := func(event, addr string, starts time.Time, state string) LeaseOp {
		return LeaseOp{Event: event, ModemMAC: "44:32:c8:21:09:e7", V6: &Lease6{Type: "na", Address: addr, PrefixLen: 128,
			DUID: []byte{0, 3, 0, 1, 0x44, 0x32, 0xc8, 0x21, 0x09, 0xe7}, IAID: 1, MAC: "44:32:c8:21:09:e7",
			Kind: KindCM, State: state, LinkAddress: "2001:db8:4:11::1", Starts: starts, Ends: starts.Add(time.Hour)}}
	}
	t1 := t0.Add(10 * time.Minute)
	renew := op(EventRenew, "2001:db8:4:11::b", t0, StateActive)
	renew.V6.Ends = t0.Add(2 * time.Hour)
	ops := []LeaseOp{
		op(EventGrant, "2001:db8:4:11::a", t0, StateActive),
		op(EventRelease, "2001:db8:4:11::a", t0, StateReleased),
		op(EventGrant, "2001:db8:4:11::a", t1, StateActive),
		op(EventGrant, "2001:db8:4:11::b", t0, StateActive),
		renew,
	}
	for i := range 100 {
		ops = append(ops, op(EventGrant, fmt.Sprintf("2001:db8:4:12::%x", i+1), t0, StateActive))
	}
	if err := st.CommitLeases(ctx, ops...); err != nil {
		t.Fatal(err)
	}
	h, err := st.AddressHistory(ctx, "2001:db8:4:11::a", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 {
		t.Fatalf("history of ::a: %+v", h)
	}
	for _, e := range h {
		switch {
		case e.Starts.Equal(t0) && e.Ended == "release":
		case e.Starts.Equal(t1) && e.Ended == "":
		default:
			t.Errorf("history of ::a: %+v", e)
		}
	}
	h, err = st.AddressHistory(ctx, "2001:db8:4:11::b", 10)
	if err != nil || len(h) != 1 || h[0].Renewals != 1 || !h[0].Ends.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("history of ::b: %+v, %v", h, err)
	}
	list, err := st.Leases6(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 102 {
		t.Fatalf("%d bindings, want 102", len(list))
	}
	for _, l := range list {
		if l.Address == "2001:db8:4:11::a" && (l.State != StateActive || !l.Starts.Equal(t1)) {
			t.Errorf("binding ::a: %+v", l)
		}
	}
	for i := range 100 {
		if h, err := st.AddressHistory(ctx, fmt.Sprintf("2001:db8:4:12::%x", i+1), 10); err != nil || len(h) != 1 {
			t.Fatalf("history of binding %d: %+v, %v", i, h, err)
		}
	}
}

// TestCommitLeases4Batched: v4 grants go in multi-row INSERTs too; an
// offer and its grant in one transaction leave the grant, and a release
// after a grant in the same transaction closes its session.
func TestCommitLeases4Batched(t *testing.T) {
	ctx := context.Background()
	st := openLeaseStore(t)
	offer := grant4("10.10.1.7", "44:32:c8:21:09:e7", StateOffered)
	ack := grant4("10.10.1.7", "44:32:c8:21:09:e7", StateActive)
	g := grant4("10.10.1.8", "44:32:c8:21:09:e8", StateActive)
	rel := grant4("10.10.1.8", "44:32:c8:21:09:e8", StateReleased)
	rel.Event = EventRelease
	if err := st.CommitLeases(ctx, offer, ack, g, rel); err != nil {
		t.Fatal(err)
	}
	if l, err := st.Lease4ByIP(ctx, "10.10.1.7"); err != nil || l.State != StateActive {
		t.Fatalf("10.10.1.7: %+v, %v", l, err)
	}
	if h, err := st.AddressHistory(ctx, "10.10.1.7", 10); err != nil || len(h) != 1 || h[0].Ended != "" {
		t.Fatalf("history of 10.10.1.7: %+v, %v", h, err)
	}
	if h, err := st.AddressHistory(ctx, "10.10.1.8", 10); err != nil || len(h) != 1 || h[0].Ended != "release" {
		t.Fatalf("history of 10.10.1.8: %+v, %v", h, err)
	}
}
