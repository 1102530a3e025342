package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func v6grant(addr string, starts time.Time) LeaseOp {
	return LeaseOp{Event: EventGrant, ModemMAC: "44:32:c8:21:09:e7", CustomerID: 0, V6: &Lease6{Type: "na", Address: addr, PrefixLen: 128,
		DUID: []byte{0, 3, 0, 1, 0x44, 0x32, 0xc8, 0x21, 0x09, 0xe7}, IAID: 1, MAC: "44:32:c8:21:09:e7",
		Kind: KindCM, State: StateActive, LinkAddress: "2001:db8:4:11::1", RemoteID: []byte{1, 2},
		Starts: starts, Ends: starts.Add(time.Hour)}}
}

// TestJournalReplay: lease changes that reached the journal but not the
// database (a crash between the two) are in the database after the next
// start, exactly once; a torn last record (never acknowledged) is ignored;
// the journal is emptied once the database holds it all.
func TestJournalReplay(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	if err := st.CommitLeases(ctx, v6grant("2001:db8:4:11::a", t0)); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileName)

	// What a crash leaves: records the database does not hold (a renewal of
	// ::a, a grant of ::b), one it does (seq 1, the first grant, written
	// again: it must not be applied twice), and a torn record.
	j, err := openJournal(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	renew := v6grant("2001:db8:4:11::a", t0)
	renew.Event = EventRenew
	renew.V6.Ends = t0.Add(3 * time.Hour)
	for _, ops := range [][]LeaseOp{{v6grant("2001:db8:4:11::a", t0)}, {renew, v6grant("2001:db8:4:11::b", t0)}} {
		if _, err := j.append([]*commitReq{{ops: ops}}, t0.Unix()); err != nil {
			t.Fatal(err)
		}
	}
	seg, end := j.segPath(j.index), j.size
	j.close()
	f, err := os.OpenFile(seg, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0, 0, 1, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3}, end) // torn: says 256 bytes follow
	f.Close()

	st, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	list, err := st.Leases6(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("bindings after replay: %+v", list)
	}
	h, err := st.AddressHistory(ctx, "2001:db8:4:11::a", 10)
	if err != nil || len(h) != 1 || h[0].Renewals != 1 || !h[0].Ends.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("history of ::a after replay (one session, renewed once): %+v, %v", h, err)
	}
	// Replayed and applied: no segment holds records any more.
	paths, _, _ := segments(path)
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.Size() > 0 {
			t.Errorf("segment %s still holds %d bytes", p, fi.Size())
		}
	}
	// New commits go on from the replayed sequence numbers.
	if err := st.CommitLeases(ctx, v6grant("2001:db8:4:11::c", t0)); err != nil {
		t.Fatal(err)
	}
	if l, err := st.Lease6ByAddress(ctx, "2001:db8:4:11::c"); err != nil || l.State != StateActive {
		t.Fatalf("::c: %+v, %v", l, err)
	}
}

// TestJournalRewrittenSegment: once the database holds all of the current
// segment, the segment is written again from its start; the records of its
// earlier round left behind the new ones are not applied again at the next
// start, even where a new record ends exactly where an old one did.
func TestJournalRewrittenSegment(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for i := range 5 {
		if err := st.CommitLeases(ctx, v6grant(fmt.Sprintf("2001:db8:4:11::%x", i+1), t0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.leasesApplied(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileName)
	paths, nums, _ := segments(path)
	if len(paths) != 1 {
		t.Fatalf("segments: %v", paths)
	}
	if recs, _ := readSegment(paths[0]); len(recs) != 0 {
		t.Fatalf("a segment the database holds reads %d records", len(recs))
	}

	// The next round: a renewal of ::1 written over the first record (the
	// same length: "renew" for "grant", a later end), then a crash before
	// the database took it.
	f, err := os.OpenFile(paths[0], os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	j := &journal{base: path, f: f, index: nums[0], lastSeq: 5, filled: fi.Size()}
	renew := v6grant("2001:db8:4:11::1", t0)
	renew.Event = EventRenew
	renew.V6.Ends = t0.Add(3 * time.Hour)
	if seq, err := j.append([]*commitReq{{ops: []LeaseOp{renew}}}, t0.Unix()); err != nil || seq != 6 {
		t.Fatalf("append: %d, %v", seq, err)
	}
	j.close()
	recs, _ := readSegment(paths[0])
	if len(recs) != 5 || recs[0].seq != 6 || recs[1].seq != 2 {
		t.Fatalf("the segment should read the new record, then the earlier round's 2..5: %d records", len(recs))
	}

	st, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range 5 {
		addr := fmt.Sprintf("2001:db8:4:11::%x", i+1)
		h, err := st.AddressHistory(ctx, addr, 10)
		if err != nil || len(h) != 1 {
			t.Fatalf("history of %s: %+v, %v (want one session)", addr, h, err)
		}
		if want := i == 0; (h[0].Renewals == 1) != want {
			t.Errorf("history of %s: %d renewals", addr, h[0].Renewals)
		}
	}
}

// TestJournalSegments: a journal past its segment size goes on in a new
// file; the old ones go once the database holds their records (in a data
// folder whose name would be a glob pattern, too).
func TestJournalSegments(t *testing.T) {
	old := maxSegment
	maxSegment = 512
	defer func() { maxSegment = old }()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data [1]*") // no glob pattern for the segments
	st, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for i := range 40 {
		if err := st.CommitLeases(ctx, v6grant(fmt.Sprintf("2001:db8:4:11::%x", i+1), t0)); err != nil {
			t.Fatal(err)
		}
	}
	if st.jr.index < 3 {
		t.Errorf("40 records in 512-byte segments made only %d segments", st.jr.index)
	}
	if err := st.leasesApplied(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor := time.Now().Add(5 * time.Second)
	for {
		paths, _, _ := segments(st.path)
		if len(paths) <= 1 || time.Now().After(waitFor) {
			if len(paths) > 1 {
				t.Errorf("segments left after everything was applied: %v", paths)
			}
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if list, err := st.Leases6(ctx, t0); err != nil || len(list) != 40 {
		t.Fatalf("%d bindings after reopening, %v", len(list), err)
	}
}

// TestApplyClearsVanishedReferences: a lease whose modem was deleted
// between the check and the database write is still written, without the
// modem (what ON DELETE SET NULL would have made of it).
func TestApplyClearsVanishedReferences(t *testing.T) {
	st := openLeaseStore(t)
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	op := v6grant("2001:db8:4:11::d", t0)
	op.V6.ModemID = 424242
	if err := st.applyWithRetry([]*commitReq{{ops: []LeaseOp{op}, at: t0.Unix(), seq: 1}}); err != nil {
		t.Fatal(err)
	}
	l, err := st.Lease6ByAddress(context.Background(), "2001:db8:4:11::d")
	if err != nil || l.ModemID != 0 {
		t.Fatalf("binding: %+v, %v", l, err)
	}
	if st.commitStats.applyErrors.Load() != 0 {
		t.Errorf("%d apply errors", st.commitStats.applyErrors.Load())
	}
}

// TestJournalRecordRoundTrip: every field of v4 and v6 ops survives the
// journal encoding (times to the second, as the database keeps them; nil
// and empty byte slices told apart).
func TestJournalRecordRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	v4 := grant4("10.10.1.5", "44:32:c8:21:09:e7", StateActive)
	v4.CustomerID = 7
	v4.V4.NetworkID, v4.V4.ModemID, v4.V4.Hostname, v4.V4.ClientID = 3, 9, "cpe-1", []byte{}
	v6 := v6grant("2001:db8:4:100::", t0)
	v6.V6.Type, v6.V6.PrefixLen, v6.V6.IAID, v6.V6.RemoteID = "pd", 56, 0xfffffffe, nil
	ops := []LeaseOp{v4, v6}
	b := make([]byte, 0)
	for i := range ops {
		b = appendOp(b, &ops[i])
	}
	var p []byte
	p = append(p, 0x2a)    // seq 42
	p = append(p, 0x02)    // at 1
	p = append(p, byte(2)) // two ops
	rec, err := decodeRecord(append(p, b...))
	if err != nil {
		t.Fatal(err)
	}
	if rec.seq != 42 || rec.at != 1 || !reflect.DeepEqual(rec.ops, ops) {
		t.Fatalf("round trip:\n got %+v %+v\nwant %+v %+v", rec.ops[0].V4, rec.ops[1].V6, ops[0].V4, ops[1].V6)
	}
}

// FuzzJournalRecord: whatever a journal file holds, reading it never
// panics, and a record that reads back encodes to the same ops.
func FuzzJournalRecord(f *testing.F) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for _, ops := range [][]LeaseOp{{grant4("10.10.1.5", "44:32:c8:21:09:e7", StateActive)}, {v6grant("2001:db8::1", t0), v6grant("2001:db8::2", t0)}} {
		p := []byte{1, 2, byte(len(ops))}
		for i := range ops {
			p = appendOp(p, &ops[i])
		}
		f.Add(p)
	}
	f.Add([]byte{1, 2, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, p []byte) {
		rec, err := decodeRecord(p)
		if err != nil {
			return
		}
		var again []byte
		for i := range rec.ops {
			again = appendOp(again, &rec.ops[i])
		}
		var rec2 journalRecord
		q := []byte{1, 2}
		q = append(q, byte(len(rec.ops)))
		if len(rec.ops) < 128 {
			rec2, err = decodeRecord(append(q, again...))
			if err != nil || !reflect.DeepEqual(rec2.ops, rec.ops) {
				t.Fatalf("re-encoded record reads back as %+v, %v", rec2.ops, err)
			}
		}
	})
}

// TestJournalOneOwner: a second process on the same database (a command
// run beside the server) does not own the journal: it neither replays nor
// trims the server's segments, and writes its lease changes straight into
// the database, where the server reads them.
func TestJournalOneOwner(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	server, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	if server.jr == nil {
		t.Fatal("the first store does not own the journal")
	}
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	if err := server.CommitLeases(ctx, v6grant("2001:db8:4:11::1", t0)); err != nil {
		t.Fatal(err)
	}
	segsBefore, _, _ := segments(server.path)

	cmd, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cmd.jr != nil {
		t.Fatal("a second store owns the journal too")
	}
	if err := cmd.CommitLeases(ctx, v6grant("2001:db8:4:11::2", t0)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	segsAfter, _, _ := segments(server.path)
	if !reflect.DeepEqual(segsBefore, segsAfter) {
		t.Errorf("the second store changed the server's segments: %v -> %v", segsBefore, segsAfter)
	}
	if list, err := server.Leases6(ctx, t0); err != nil || len(list) != 2 {
		t.Fatalf("the server reads %d bindings, %v", len(list), err)
	}
	if err := server.CommitLeases(ctx, v6grant("2001:db8:4:11::3", t0)); err != nil {
		t.Fatalf("the server's journal after the command: %v", err)
	}
}

// TestCommitLeasesThen: the callback hears the outcome once the ops are in
// the journal on disk (a DHCP server sends its reply there); ops the
// database would refuse fail through it; a closed store refuses at once and
// never calls it.
func TestCommitLeasesThen(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	type outcome struct {
		err       error
		journaled uint64
	}
	got := make(chan outcome, 1)
	then := func(err error) {
		// The journal counts a record once it is written and synced.
		st.jr.mu.Lock()
		defer st.jr.mu.Unlock()
		got <- outcome{err, st.jr.lastSeq}
	}
	if err := st.CommitLeasesThen(ctx, []LeaseOp{v6grant("2001:db8:4:11::a", t0)}, then); err != nil {
		t.Fatal(err)
	}
	if o := <-got; o.err != nil || o.journaled != 1 {
		t.Fatalf("granted: %v, %d journal records synced at the callback (want 1)", o.err, o.journaled)
	}
	if _, err := st.Lease6ByAddress(ctx, "2001:db8:4:11::a"); err != nil {
		t.Errorf("after its callback: %v", err)
	}

	bad := v6grant("2001:db8:4:11::b", t0)
	bad.V6.NetworkID = 999
	if err := st.CommitLeasesThen(ctx, []LeaseOp{bad}, then); err != nil {
		t.Fatal(err)
	}
	if o := <-got; o.err == nil {
		t.Error("an op on a network that does not exist succeeded")
	}

	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	err = st.CommitLeasesThen(ctx, []LeaseOp{v6grant("2001:db8:4:11::c", t0)}, func(error) { t.Error("called after Close") })
	if !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

// TestSyncHeld: a sync that keeps its P is asked for only after quickSyncs
// quick ones in a row, and one slow sync ends it; both kinds of sync return
// without error on a written file and leave its data as written (that the
// data reached the disk no test here can see: the SIGKILL tests cover the
// journal's durability).
func TestSyncHeld(t *testing.T) {
	q := 0
	for range quickSyncs - 1 {
		q = nextQuick(q, time.Millisecond)
	}
	if q >= quickSyncs {
		t.Fatalf("held after %d quick syncs", quickSyncs-1)
	}
	if q = nextQuick(q, time.Millisecond); q != quickSyncs {
		t.Fatalf("not held after %d quick syncs: %d", quickSyncs, q)
	}
	if q = nextQuick(q, time.Millisecond); q != quickSyncs {
		t.Fatalf("the count runs on past %d: %d", quickSyncs, q)
	}
	if q = nextQuick(q, 50*time.Millisecond); q != 0 {
		t.Fatalf("a slow sync left %d", q)
	}
	for _, held := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "f")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString("lease"); err != nil {
			t.Fatal(err)
		}
		if err := syncData(f, held); err != nil {
			t.Errorf("held %v: %v", held, err)
		}
		f.Close()
		if b, _ := os.ReadFile(path); string(b) != "lease" {
			t.Errorf("held %v: read back %q", held, b)
		}
	}
}
