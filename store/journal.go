package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The lease journal is where a lease change becomes durable. The committer
// appends each group of changes to it as one record and syncs it (a
// sequential write of a few hundred bytes per lease) before the callers
// reply to their clients; the applier writes the changes into the database
// afterwards, many groups per transaction. A database commit rewrites every
// index page its rows touch, and a lease's keys (address, MAC, modem) land
// on pages all over each index, so one commit per group of a reboot storm
// rewrote most index pages every time: a fifth of a DHCPv6 exchange went
// there. The database records, in the same transaction, the last record it
// holds; at start-up the records after it are applied again, so a crash at
// any point loses nothing that was acknowledged.
//
// The journal is a series of segment files beside the database
// (ip6m.db-leases-000001, …). A segment is deleted, or written again from
// its start while it is the one written, once the database holds all its
// records; a new segment is begun when the current one would pass
// maxSegment bytes, so a long storm does not grow one file without end.
//
// Records are written over zeros: a segment grows in zero-filled steps
// (fillStep) ahead of its records, so the sync after most records has only
// their data blocks to flush (fdatasync), not a new file length and newly
// allocated blocks as well. On this box's ext4 that halves the CPU of a sync
// and takes 40% off its wait (append + fsync 244 µs, 99 µs CPU; over zeros
// + fdatasync 140 µs, 55 µs CPU). A segment written again from its start
// keeps its blocks.
//
// A record is: payload length (uint32), CRC-32C of the payload (uint32),
// payload: sequence number (uvarint), time of the commit (varint, Unix
// seconds), number of ops (uvarint), the ops. The first header that is
// zero, torn (a crash while the record was written, so never acknowledged)
// or fails its checksum ends a segment's records. What lies beyond is zeros,
// or records of an earlier round of a rewritten segment, which the database
// held before the segment was written again (the replay skips records it
// holds, by sequence number).

var maxSegment int64 = 16 << 20 // a variable for the tests

// fillStep is how far ahead of its records a segment is zero-filled.
const fillStep = 1 << 20

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// journal is the segment files; the committer writes, the applier trims.
type journal struct {
	mu      sync.Mutex
	base    string // the database path; segments are base-leases-NNNNNN
	f       *os.File
	index   int    // the current segment's number
	size    int64  // the length of its records
	filled  int64  // how much of it is zero-filled or written
	lastSeq uint64 // of the last record written
	old     []segment
	buf     []byte
	quick   int // syncs in a row that took under quickSync
}

// A sync keeps its P (syncData's held) once quickSyncs syncs in a row have
// each taken under quickSync; one slower sync ends that. The one sync that
// finds the disk slow may hold up the process's garbage collection that
// long; a disk that has slowed down is not asked again until it has been
// quick quickSyncs times. Here a storm's syncs take 0.2 ms at the median
// and up to 6-9 ms: with a 2 ms bound four in five syncs went the slow way.
const (
	quickSync  = 20 * time.Millisecond
	quickSyncs = 64
)

// nextQuick counts a sync that took took into quick.
func nextQuick(quick int, took time.Duration) int {
	if took < quickSync {
		return min(quick+1, quickSyncs)
	}
	return 0
}

// segment is a closed segment file and the last record in it.
type segment struct {
	path    string
	lastSeq uint64
}

func (j *journal) segPath(i int) string { return fmt.Sprintf("%s-leases-%06d", j.base, i) }

// segments lists the segment files of the database at base, oldest first.
func segments(base string) ([]string, []int, error) {
	// Listed rather than globbed: the data folder's path may hold * or [.
	entries, err := os.ReadDir(filepath.Dir(base))
	if err != nil {
		return nil, nil, err
	}
	prefix := filepath.Base(base) + "-leases-"
	type seg struct {
		path string
		n    int
	}
	var segs []seg
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || e.IsDir() {
			continue
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n <= 0 {
			continue
		}
		segs = append(segs, seg{filepath.Join(filepath.Dir(base), e.Name()), n})
	}
	slices.SortFunc(segs, func(a, b seg) int { return a.n - b.n })
	paths, nums := make([]string, len(segs)), make([]int, len(segs))
	for i, s := range segs {
		paths[i], nums[i] = s.path, s.n
	}
	return paths, nums, nil
}

// lockJournal takes the lease journal of the database at path for this
// process: it returns the lock file, held until closed, or nil when another
// process holds it.
func lockJournal(path string) (*os.File, error) {
	f, err := os.OpenFile(path+"-leases.lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lease journal lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil
		}
		return nil, fmt.Errorf("lease journal lock: %w", err)
	}
	return f, nil
}

// journalRecord is one group of lease changes as read back.
type journalRecord struct {
	seq uint64
	at  int64
	ops []LeaseOp
}

// readSegment returns the whole records of a segment file, in order; a torn
// or corrupt tail ends the list.
func readSegment(path string) ([]journalRecord, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []journalRecord
	for len(b) >= 8 {
		n := binary.BigEndian.Uint32(b)
		sum := binary.BigEndian.Uint32(b[4:])
		if n == 0 || uint64(n) > uint64(len(b)-8) || crc32.Checksum(b[8:8+n], crcTable) != sum {
			break
		}
		rec, err := decodeRecord(b[8 : 8+n])
		if err != nil {
			break
		}
		out = append(out, rec)
		b = b[8+n:]
	}
	return out, nil
}

// openJournal opens the journal of the database at base for appending after
// the records replay found (lastSeq the newest of them), starting a new
// segment after the existing ones.
func openJournal(base string, lastSeq uint64) (*journal, error) {
	j := &journal{base: base, lastSeq: lastSeq}
	paths, nums, err := segments(base)
	if err != nil {
		return nil, err
	}
	for i, p := range paths {
		j.old = append(j.old, segment{path: p, lastSeq: lastSeq})
		j.index = nums[i]
	}
	if err := j.begin(); err != nil {
		return nil, err
	}
	return j, nil
}

// begin starts the next segment (j.mu held or not yet shared).
func (j *journal) begin() error {
	j.index++
	f, err := os.OpenFile(j.segPath(j.index), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("lease journal: %w", err)
	}
	if d, err := os.Open(filepath.Dir(j.base)); err == nil {
		d.Sync() // the new file's name, before records in it are relied on
		d.Close()
	}
	j.f, j.size, j.filled = f, 0, 0
	return nil
}

// zeros is what a segment is filled with ahead of its records.
var zeros = make([]byte, fillStep)

// write writes p at the segment's end, zero-filling the next fillStep bytes
// first when p would pass what is filled, and syncs it.
func (j *journal) write(p []byte) error {
	end := j.size + int64(len(p))
	grow := end > j.filled
	if grow {
		to := max(end, min(j.filled+fillStep, maxSegment))
		for j.filled < to {
			n, err := j.f.WriteAt(zeros[:min(int64(len(zeros)), to-j.filled)], j.filled)
			j.filled += int64(n)
			if err != nil {
				return err
			}
		}
	}
	if _, err := j.f.WriteAt(p, j.size); err != nil {
		return err
	}
	if grow {
		return j.f.Sync() // the new length and blocks go with this record
	}
	start := time.Now()
	err := syncData(j.f, j.quick >= quickSyncs)
	j.quick = nextQuick(j.quick, time.Since(start))
	return err
}

// append writes one record of reqs' ops, committed at at, and syncs it. It
// returns the record's sequence number.
func (j *journal) append(reqs []*commitReq, at int64) (uint64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return 0, ErrClosed
	}
	seq := j.lastSeq + 1
	nops := 0
	for _, r := range reqs {
		nops += len(r.ops)
	}
	p := j.buf[:0]
	p = append(p, 0, 0, 0, 0, 0, 0, 0, 0)
	p = binary.AppendUvarint(p, seq)
	p = binary.AppendVarint(p, at)
	p = binary.AppendUvarint(p, uint64(nops))
	for _, r := range reqs {
		for i := range r.ops {
			p = appendOp(p, &r.ops[i])
		}
	}
	binary.BigEndian.PutUint32(p, uint32(len(p)-8))
	binary.BigEndian.PutUint32(p[4:], crc32.Checksum(p[8:], crcTable))
	j.buf = p
	if j.size > 0 && j.size+int64(len(p)) > maxSegment {
		if err := j.f.Close(); err != nil {
			return 0, fmt.Errorf("lease journal: %w", err)
		}
		j.old = append(j.old, segment{path: j.segPath(j.index), lastSeq: j.lastSeq})
		if err := j.begin(); err != nil {
			j.f = nil
			return 0, err
		}
	}
	if err := j.write(p); err != nil {
		// The record is not acknowledged. Its header is zeroed, so a
		// replay stops there, and the next record goes in its place.
		j.f.WriteAt(zeros[:8], j.size)
		return 0, fmt.Errorf("lease journal: %w", err)
	}
	j.size += int64(len(p))
	j.lastSeq = seq
	return seq, nil
}

// trim drops what the database holds (every record up to applied): closed
// segments whole, the current one when all of it is applied.
func (j *journal) trim(applied uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	var errs []error
	keep := j.old[:0]
	for _, s := range j.old {
		if s.lastSeq <= applied {
			if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
				keep = append(keep, s)
			}
			continue
		}
		keep = append(keep, s)
	}
	j.old = keep
	if j.f != nil && j.size > 0 && j.lastSeq <= applied {
		// Written again from its start, over its blocks. Its first header
		// zeroed, it reads as empty until then (no sync needed: its
		// records are in the database either way).
		if _, err := j.f.WriteAt(zeros[:8], 0); err != nil {
			errs = append(errs, err)
		} else {
			j.size = 0
		}
	}
	return errors.Join(errs...)
}

func (j *journal) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

// The op encoding: strings and byte slices with their length first (byte
// slices length+1, 0 for nil), integers as varints, times as Unix seconds
// (what the database keeps).

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, v []byte) []byte {
	if v == nil {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(v))+1)
	return append(b, v...)
}

func appendOp(b []byte, op *LeaseOp) []byte {
	b = appendStr(b, op.Event)
	b = appendStr(b, op.ModemMAC)
	b = binary.AppendVarint(b, op.CustomerID)
	if l := op.V4; l != nil {
		b = append(b, 4)
		b = appendStr(b, l.IP)
		b = appendStr(b, l.MAC)
		b = appendBytes(b, l.ClientID)
		b = appendStr(b, l.Kind)
		b = appendStr(b, l.State)
		b = binary.AppendVarint(b, l.NetworkID)
		b = binary.AppendVarint(b, l.ModemID)
		b = appendStr(b, l.GiAddr)
		b = appendBytes(b, l.RemoteID)
		b = appendBytes(b, l.CircuitID)
		b = appendStr(b, l.Hostname)
		b = binary.AppendVarint(b, l.Starts.Unix())
		return binary.AppendVarint(b, l.Ends.Unix())
	}
	l := op.V6
	b = append(b, 6)
	b = appendStr(b, l.Type)
	b = appendStr(b, l.Address)
	b = binary.AppendVarint(b, int64(l.PrefixLen))
	b = appendBytes(b, l.DUID)
	b = binary.AppendUvarint(b, uint64(l.IAID))
	b = appendStr(b, l.MAC)
	b = appendStr(b, l.Kind)
	b = appendStr(b, l.State)
	b = binary.AppendVarint(b, l.NetworkID)
	b = binary.AppendVarint(b, l.ModemID)
	b = appendStr(b, l.LinkAddress)
	b = appendBytes(b, l.RemoteID)
	b = binary.AppendVarint(b, l.Starts.Unix())
	return binary.AppendVarint(b, l.Ends.Unix())
}

var errBadRecord = errors.New("lease journal: malformed record")

// reader takes a record apart; any read past the end sets err.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err, r.b = errBadRecord, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err, r.b = errBadRecord, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) take(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.err, r.b = errBadRecord, nil
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) str() string { return string(r.take(r.uvarint())) }

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if n == 0 || r.err != nil {
		return nil
	}
	return append([]byte{}, r.take(n-1)...)
}

func (r *reader) byte1() byte {
	v := r.take(1)
	if len(v) == 0 {
		return 0
	}
	return v[0]
}

func decodeRecord(p []byte) (journalRecord, error) {
	r := &reader{b: p}
	rec := journalRecord{seq: r.uvarint(), at: r.varint()}
	n := r.uvarint()
	if r.err != nil || n > uint64(len(p)) {
		return rec, errBadRecord
	}
	rec.ops = make([]LeaseOp, 0, n)
	for range n {
		op := LeaseOp{Event: r.str(), ModemMAC: r.str(), CustomerID: r.varint()}
		switch r.byte1() {
		case 4:
			l := &Lease4{IP: r.str(), MAC: r.str(), ClientID: r.bytes(), Kind: r.str(), State: r.str(),
				NetworkID: r.varint(), ModemID: r.varint(), GiAddr: r.str(), RemoteID: r.bytes(), CircuitID: r.bytes(),
				Hostname: r.str()}
			l.Starts, l.Ends = unixUTC(r.varint()), unixUTC(r.varint())
			op.V4 = l
		case 6:
			l := &Lease6{Type: r.str(), Address: r.str(), PrefixLen: int(r.varint()), DUID: r.bytes(),
				IAID: uint32(r.uvarint()), MAC: r.str(), Kind: r.str(), State: r.str(), NetworkID: r.varint(),
				ModemID: r.varint(), LinkAddress: r.str(), RemoteID: r.bytes()}
			l.Starts, l.Ends = unixUTC(r.varint()), unixUTC(r.varint())
			op.V6 = l
		default:
			return rec, errBadRecord
		}
		if r.err != nil {
			return rec, r.err
		}
		rec.ops = append(rec.ops, op)
	}
	if len(r.b) != 0 {
		return rec, errBadRecord
	}
	return rec, nil
}

// replayJournal applies the journal's records the database does not hold
// yet (a crash came between their sync and their transaction), then opens
// the journal for new records.
func (s *Store) replayJournal(ctx context.Context) error {
	var applied int64
	if err := s.write.QueryRowContext(ctx, "SELECT applied FROM lease_journal WHERE id = 1").Scan(&applied); err != nil {
		return fmt.Errorf("lease journal: %w", err)
	}
	last := uint64(applied)
	paths, _, err := segments(s.path)
	if err != nil {
		return fmt.Errorf("lease journal: %w", err)
	}
	var todo []*commitReq
	for _, p := range paths {
		recs, err := readSegment(p)
		if err != nil {
			return fmt.Errorf("lease journal: %w", err)
		}
		for _, rec := range recs {
			last = max(last, rec.seq)
			if rec.seq <= uint64(applied) {
				continue
			}
			todo = append(todo, &commitReq{ops: rec.ops, at: rec.at, seq: rec.seq})
		}
	}
	if len(todo) > 0 {
		if err := s.applyWithRetry(todo); err != nil {
			return err
		}
	}
	if s.jr, err = openJournal(s.path, last); err != nil {
		return err
	}
	s.appliedSeq = last
	return s.jr.trim(last)
}

// applyLoop writes the journaled changes into the database until Close, in
// as few transactions as keep up: while one is written the next groups
// gather.
func (s *Store) applyLoop() {
	defer close(s.applierDone)
	for {
		select {
		case <-s.applyKick:
		case <-s.applyStop:
			s.applyPending() // what fails stays in the journal for the next start
			return
		}
		gap := applyGap
		if !s.applyPending() {
			// Try again after a second, new changes or not.
			gap = time.Second
			select {
			case s.applyKick <- struct{}{}:
			default:
			}
		}
		// Let a storm's groups gather into the next transaction; a
		// reader waiting for them (leasesApplied) ends the pause.
		t := time.NewTimer(gap)
		select {
		case <-t.C:
		case <-s.applyUrgent:
		case <-s.applyStop:
		}
		t.Stop()
	}
}

// applyGap is the pause between two transactions of the applier. In a
// storm a longer pause makes fewer, larger transactions: a page many leases
// touch is written once per transaction, and the DHCP handlers are
// interrupted less often by a transaction on one of the box's cores.
// Measured with dhcp6_kea.sh at 32 exchanges in flight (medians of 7, the
// applier's work after the run counted): 20 ms 14.2-14.8k exchanges/s at
// 77 µs CPU each, 100 ms 15.4k at 73-76 µs, 250 ms 16.4-16.6k at 74-75 µs.
// Readers do not wait for it: a read urges the applier on
// (leasesApplied).
const applyGap = 250 * time.Millisecond

// queueApply hands journaled requests to the applier.
func (s *Store) queueApply(reqs []*commitReq) {
	s.applyMu.Lock()
	s.applyQ = append(s.applyQ, reqs...)
	s.committedSeq = reqs[len(reqs)-1].seq
	s.applyMu.Unlock()
	select {
	case s.applyKick <- struct{}{}:
	default:
	}
}

// applyPending writes the queued changes; false if the database refused.
func (s *Store) applyPending() bool {
	s.applyMu.Lock()
	reqs := s.applyQ
	s.applyQ = nil
	s.applyMu.Unlock()
	if len(reqs) == 0 {
		return true
	}
	last := reqs[len(reqs)-1].seq
	if err := s.applyWithRetry(reqs); err != nil {
		// The database cannot be written (disk full, I/O error): the
		// changes stay in the journal and first in the queue, for the
		// next try (or the replay at the next start).
		s.commitStats.applyErrors.Add(1)
		s.applyMu.Lock()
		s.applyQ = append(reqs, s.applyQ...)
		s.applyFailed = err
		close(s.appliedCh)
		s.appliedCh = make(chan struct{})
		s.applyMu.Unlock()
		return false
	}
	s.applyMu.Lock()
	s.appliedSeq, s.applyFailed = last, nil
	close(s.appliedCh)
	s.appliedCh = make(chan struct{})
	s.applyMu.Unlock()
	if err := s.jr.trim(last); err != nil {
		s.commitStats.applyErrors.Add(1)
	}
	return true
}

// applyWithRetry writes reqs (in journal order) in one transaction that
// also records the last one's sequence number. Should that fail, it writes
// them op by op, each with the references to a network or modem that
// vanished meanwhile cleared (as ON DELETE SET NULL would have done had the
// lease been written first); an op the database still refuses is counted
// and skipped rather than holding every later lease back.
func (s *Store) applyWithRetry(reqs []*commitReq) error {
	last := reqs[len(reqs)-1].seq
	if err := s.applyLeaseOps(reqs, last); err == nil {
		return nil
	}
	for _, r := range reqs {
		for _, op := range r.ops {
			one := []*commitReq{{ops: []LeaseOp{op}, at: r.at}}
			if s.applyLeaseOps(one, 0) == nil {
				continue
			}
			if op.V4 != nil {
				l := *op.V4
				l.NetworkID, l.ModemID = 0, 0
				op.V4 = &l
			} else {
				l := *op.V6
				l.NetworkID, l.ModemID = 0, 0
				op.V6 = &l
			}
			one[0].ops[0] = op
			if s.applyLeaseOps(one, 0) != nil {
				s.commitStats.applyErrors.Add(1)
			}
		}
	}
	return s.tx(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec("UPDATE lease_journal SET applied = ? WHERE id = 1", int64(last))
		return err
	})
}

// leasesApplied waits until the database holds every lease change
// committed before the call, so a read sees what was acknowledged.
func (s *Store) leasesApplied(ctx context.Context) error {
	s.applyMu.Lock()
	target := s.committedSeq
	s.applyMu.Unlock()
	urged := false
	for {
		s.applyMu.Lock()
		applied, failed, ch := s.appliedSeq, s.applyFailed, s.appliedCh
		s.applyMu.Unlock()
		if applied >= target {
			return nil
		}
		if failed != nil {
			return fmt.Errorf("leases not yet in the database: %w", failed)
		}
		if !urged {
			select {
			case s.applyUrgent <- struct{}{}:
			default:
			}
			urged = true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
