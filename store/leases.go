package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Device kinds a lease is for.
const (
	KindCM      = "cm"
	KindMTA     = "mta"
	KindCPE     = "cpe"
	KindUnknown = "unknown"
)

// Lease states.
const (
	StateOffered  = "offered"
	StateActive   = "active"
	StateReleased = "released"
	StateExpired  = "expired"
	StateDeclined = "declined"
)

// Lease history events.
const (
	EventGrant   = "grant"
	EventRenew   = "renew"
	EventRelease = "release"
	EventExpire  = "expire"
	EventDecline = "decline"
)

// ErrClosed is returned by calls on a closed store.
var ErrClosed = errors.New("store closed")

// Lease4 is one IPv4 lease, keyed by its address.
type Lease4 struct {
	IP        string
	MAC       string
	ClientID  []byte
	Kind      string
	State     string
	NetworkID int64
	ModemID   int64
	GiAddr    string
	RemoteID  []byte
	CircuitID []byte
	Hostname  string
	Starts    time.Time
	Ends      time.Time
}

// Lease6 is one IPv6 binding: an IA_NA address or an IA_PD prefix.
type Lease6 struct {
	Type        string // "na" or "pd"
	Address     string
	PrefixLen   int
	DUID        []byte
	IAID        uint32
	MAC         string
	Kind        string
	State       string
	NetworkID   int64
	ModemID     int64
	LinkAddress string
	RemoteID    []byte
	Starts      time.Time
	Ends        time.Time
}

// LeaseOp is one change to the current leases, recorded in the lease
// history as Event. Exactly one of V4 and V6 is set. ModemMAC and
// CustomerID describe the owning modem for the history (who had the
// address), as they were at the time.
type LeaseOp struct {
	Event      string
	V4         *Lease4
	V6         *Lease6
	ModemMAC   string
	CustomerID int64
}

// commitReq is one caller's ops waiting for the committer.
type commitReq struct {
	ops  []LeaseOp
	done chan error // CommitLeases waits here; nil for CommitLeasesThen
	then func(error)
	at   int64  // Unix time of the commit: the history rows' time
	seq  uint64 // the journal record holding ops
}

// finish tells the caller the outcome.
func (r *commitReq) finish(err error) {
	if r.then != nil {
		r.then(err)
		return
	}
	r.done <- err
}

// maxCommitBatch bounds one group commit; more waiting callers go in the
// next transaction.
const maxCommitBatch = 512

// CommitLeases makes ops durable: it returns once they are committed and
// synced to disk, so a DHCP server may answer the client. Concurrent callers
// share transactions (group commit): while one batch is being synced the next
// one gathers, so durability costs one fsync per batch, not per lease.
func (s *Store) CommitLeases(ctx context.Context, ops ...LeaseOp) error {
	req := &commitReq{ops: ops, done: make(chan error, 1)}
	if err := s.enqueue(ctx, req); err != nil {
		return err
	}
	// Once queued the ops will be committed even if ctx ends, so wait for
	// the outcome rather than report a failure that did not happen.
	return <-req.done
}

// CommitLeasesThen is CommitLeases without the wait: once ops are queued it
// returns nil, and then is called with the outcome when they are durable
// (or have failed). It is called on the committer's goroutine, before the
// next group is written, so it must be quick and must not commit leases
// itself: a DHCP server sends its reply there. It returns an error, and
// then is not called, when ops are malformed, the store is closed, or ctx
// ends before there is room in the queue.
func (s *Store) CommitLeasesThen(ctx context.Context, ops []LeaseOp, then func(error)) error {
	return s.enqueue(ctx, &commitReq{ops: ops, then: then})
}

// enqueue hands req to the committer.
func (s *Store) enqueue(ctx context.Context, req *commitReq) error {
	for i := range req.ops {
		if (req.ops[i].V4 == nil) == (req.ops[i].V6 == nil) {
			return fmt.Errorf("commit leases: op %d needs exactly one of V4 and V6", i)
		}
	}
	s.commitMu.RLock()
	defer s.commitMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	select {
	case s.commitQ <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// committer is the single goroutine that writes lease changes.
func (s *Store) committer() {
	defer close(s.committerDone)
	for {
		var first *commitReq
		select {
		case first = <-s.commitQ:
		case <-s.closing:
			// Commit what is still queued, then stop.
			for {
				select {
				case r := <-s.commitQ:
					s.commitBatch([]*commitReq{r})
				default:
					return
				}
			}
		}
		batch := []*commitReq{first}
		n := len(first.ops)
	gather:
		for n < maxCommitBatch {
			select {
			case r := <-s.commitQ:
				batch = append(batch, r)
				n += len(r.ops)
			default:
				break gather
			}
		}
		s.commitBatch(batch)
	}
}

// commitBatch makes a batch durable: the requests whose ops the database
// would refuse fail at once, the others go into one journal record, synced,
// and are answered; the applier then writes them into the database.
func (s *Store) commitBatch(batch []*commitReq) {
	s.commitStats.batches.Add(1)
	s.commitStats.ops.Add(int64(len(batch)))
	good := make([]*commitReq, 0, len(batch))
	for _, r := range batch {
		if err := s.checkOps(r.ops); err != nil {
			r.finish(err)
			continue
		}
		good = append(good, r)
	}
	if len(good) == 0 {
		return
	}
	if s.jr == nil {
		s.commitDirect(good)
		return
	}
	at := s.unixNow()
	seq, err := s.jr.append(good, at)
	if err == nil {
		for _, r := range good {
			r.at, r.seq = at, seq
		}
		// Queued (and counted as committed) before any caller hears of
		// it, so a read right after its commit waits for it.
		s.queueApply(good)
	}
	// The callers first (their replies wait), the observer after.
	for _, r := range good {
		r.finish(err)
	}
	if err != nil {
		return
	}
	s.watchCommitted(good)
}

// commitDirect writes a batch straight into the database, in one
// transaction, when this process does not own the lease journal (another
// ip6m holds it: a command run beside the server). If the batch fails,
// each request is tried alone so one bad op fails only its own caller.
func (s *Store) commitDirect(batch []*commitReq) {
	at := s.unixNow()
	for _, r := range batch {
		r.at = at
	}
	err := s.applyLeaseOps(batch, 0)
	if err == nil || len(batch) == 1 {
		for _, r := range batch {
			r.finish(err)
		}
		if err == nil {
			s.watchCommitted(batch)
		}
		return
	}
	for _, r := range batch {
		err := s.applyLeaseOps([]*commitReq{r}, 0)
		r.finish(err)
		if err == nil {
			s.watchCommitted([]*commitReq{r})
		}
	}
}

// checkOps refuses what the database would: unknown events, kinds, states
// and binding types, and references to networks or modems that do not
// exist. The applier must never meet an op it cannot write.
func (s *Store) checkOps(ops []LeaseOp) error {
	for i := range ops {
		op := &ops[i]
		switch op.Event {
		case EventGrant, EventRenew, EventRelease, EventExpire, EventDecline:
		default:
			return fmt.Errorf("commit leases: unknown event %q", op.Event)
		}
		var kind, state string
		var netID, modemID int64
		if l := op.V4; l != nil {
			kind, state, netID, modemID = l.Kind, l.State, l.NetworkID, l.ModemID
		} else {
			l := op.V6
			if l.Type != "na" && l.Type != "pd" {
				return fmt.Errorf("commit leases: binding type %q", l.Type)
			}
			kind, state, netID, modemID = l.Kind, l.State, l.NetworkID, l.ModemID
		}
		switch kind {
		case KindCM, KindMTA, KindCPE, KindUnknown:
		default:
			return fmt.Errorf("commit leases: device kind %q", kind)
		}
		switch state {
		case StateOffered, StateActive, StateReleased, StateExpired, StateDeclined:
		default:
			return fmt.Errorf("commit leases: lease state %q", state)
		}
		if err := s.refs.check(s, netID, modemID); err != nil {
			return err
		}
	}
	return nil
}

// refSets are the ids of the networks and modems, as of an inventory
// version, for checking a lease's references before it is journaled.
type refSets struct {
	version      int64
	loaded       bool
	nets, modems map[int64]struct{}
}

func (r *refSets) check(s *Store, netID, modemID int64) error {
	if netID == 0 && modemID == 0 {
		return nil
	}
	if v := s.version.Load(); !r.loaded || v != r.version {
		if err := r.load(s); err != nil {
			return fmt.Errorf("commit leases: %w", err)
		}
		r.version, r.loaded = v, true
	}
	if _, ok := r.nets[netID]; netID != 0 && !ok {
		return fmt.Errorf("commit leases: no network %d", netID)
	}
	if _, ok := r.modems[modemID]; modemID != 0 && !ok {
		return fmt.Errorf("commit leases: no modem %d", modemID)
	}
	return nil
}

func (r *refSets) load(s *Store) error {
	ids := func(q string) (map[int64]struct{}, error) {
		rows, err := s.read.Query(q)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := map[int64]struct{}{}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			out[id] = struct{}{}
		}
		return out, rows.Err()
	}
	var err error
	if r.nets, err = ids("SELECT id FROM networks"); err != nil {
		return err
	}
	r.modems, err = ids("SELECT id FROM modems")
	return err
}

// ObserveLeases has fn called with the lease ops of every group once it is
// durable, in commit order, on the committer's goroutine: fn must return at
// once (hand the ops on, never block) and must not keep the slice, which is
// reused. It replaces an earlier observer; nil removes it.
func (s *Store) ObserveLeases(fn func([]LeaseOp)) {
	if fn == nil {
		s.leaseWatch.Store(nil)
		return
	}
	s.leaseWatch.Store(&fn)
}

// watchCommitted shows the observer a committed group's ops (committer
// goroutine only).
func (s *Store) watchCommitted(reqs []*commitReq) {
	fn := s.leaseWatch.Load()
	if fn == nil {
		return
	}
	ops := s.watchBuf[:0]
	for _, r := range reqs {
		ops = append(ops, r.ops...)
	}
	(*fn)(ops)
	clear(ops) // nothing kept alive by the buffer
	s.watchBuf = ops[:0]
}

// applyLeaseOps writes batch into the database in one transaction, and
// records lastSeq (unless 0) as the last journal record it holds.
func (s *Store) applyLeaseOps(batch []*commitReq, lastSeq uint64) error {
	ctx := context.Background()
	if err := s.prepareLeaseStmts(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		// The statements were prepared once on the single writer
		// connection; tx.Stmt reuses them on it.
		// One-row upserts: the multi-row sets' smallest.
		up4 := tx.StmtContext(ctx, s.leaseStmts.bind4.stmts[1])
		ren4 := tx.StmtContext(ctx, s.leaseStmts.ren4)
		ren6 := tx.StmtContext(ctx, s.leaseStmts.ren6)
		up6 := tx.StmtContext(ctx, s.leaseStmts.bind6.stmts[1])
		hist := tx.StmtContext(ctx, s.leaseStmts.hist)
		renHist := tx.StmtContext(ctx, s.leaseStmts.renHist)
		endHist := tx.StmtContext(ctx, s.leaseStmts.endHist)
		// New leases and bindings (the bulk of a reboot storm) go in
		// multi-row INSERTs, each statement's fixed cost shared by up to 64
		// rows. Whatever else comes writes them first, so every statement
		// sees the ops before it applied.
		bind4, bind6 := &s.leaseStmts.bind4, &s.leaseStmts.bind6
		flush := func() error {
			if err := bind4.flush(ctx, tx); err != nil {
				return fmt.Errorf("leases: %w", err)
			}
			if err := bind6.flush(ctx, tx); err != nil {
				return fmt.Errorf("bindings: %w", err)
			}
			return nil
		}
		defer bind4.reset()
		defer bind6.reset()
		for _, r := range batch {
			now := r.at
			for _, op := range r.ops { // checked by checkOps before they were committed
				// A grant opens a session the lease holds until it is
				// next written whole, when its trigger writes the
				// session's history row (migration 0013).
				if op.V4 != nil && op.Event == EventGrant {
					bind4.add(lease4Args(now, &op)...)
					continue
				}
				if op.V6 != nil && op.Event == EventGrant {
					bind6.add(lease6Args(now, &op)...)
					continue
				}
				if err := flush(); err != nil {
					return err
				}
				if l := op.V4; l != nil {
					// A renewal of the same holding (device, modem, relay,
					// start) changes only columns no index covers, and its
					// session's history row is read through the lease
					// (migration 0012): one UPDATE of the lease is all.
					if op.Event == EventRenew {
						res, err := ren4.ExecContext(ctx, l.State, l.Ends.Unix(), l.RemoteID, l.CircuitID, now,
							l.IP, l.MAC, nullID(l.ModemID), l.Starts.Unix(), l.GiAddr, l.Kind)
						if err != nil {
							return fmt.Errorf("lease %s: %w", l.IP, err)
						}
						if n, _ := res.RowsAffected(); n == 1 {
							continue
						}
					}
					if _, err := up4.ExecContext(ctx, lease4Args(now, &op)...); err != nil {
						return fmt.Errorf("lease %s: %w", l.IP, err)
					}
					if l.State == StateOffered {
						continue // offers are not history: nobody held the address yet
					}
					if op.Event == EventRenew {
						res, err := renHist.ExecContext(ctx, l.Ends.Unix(), now, l.IP, l.Starts.Unix(), 4, "na", 32, l.MAC, nil, op.ModemMAC, l.GiAddr, l.Kind)
						if err != nil {
							return fmt.Errorf("lease history %s: %w", l.IP, err)
						}
						if n, _ := res.RowsAffected(); n == 1 {
							continue
						}
					}
					if endsSession(op.Event) {
						res, err := endHist.ExecContext(ctx, l.Ends.Unix(), op.Event, now, l.IP, l.Starts.Unix(), 4, "na", 32, l.MAC)
						if err != nil {
							return fmt.Errorf("lease history %s: %w", l.IP, err)
						}
						if n, _ := res.RowsAffected(); n == 1 {
							continue
						}
					}
					if _, err := hist.ExecContext(ctx, history4Args(now, &op)...); err != nil {
						return fmt.Errorf("lease history %s: %w", l.IP, err)
					}
					continue
				}
				l := op.V6
				// As for v4: a renewal of the same holding is one UPDATE
				// of the binding.
				if op.Event == EventRenew {
					res, err := ren6.ExecContext(ctx, l.State, l.Ends.Unix(), l.RemoteID, now,
						l.Type, l.Address, l.PrefixLen, l.DUID, int64(l.IAID), l.MAC, l.Kind, nullID(l.NetworkID), nullID(l.ModemID), l.Starts.Unix(), l.LinkAddress)
					if err != nil {
						return fmt.Errorf("binding %s/%d: %w", l.Address, l.PrefixLen, err)
					}
					if n, _ := res.RowsAffected(); n == 1 {
						continue
					}
				}
				if _, err := up6.ExecContext(ctx, lease6Args(now, &op)...); err != nil {
					return fmt.Errorf("binding %s/%d: %w", l.Address, l.PrefixLen, err)
				}
				if l.State == StateOffered {
					continue
				}
				if op.Event == EventRenew {
					res, err := renHist.ExecContext(ctx, l.Ends.Unix(), now, l.Address, l.Starts.Unix(), 6, l.Type, l.PrefixLen, l.MAC, int64(l.IAID), op.ModemMAC, l.LinkAddress, l.Kind)
					if err != nil {
						return fmt.Errorf("binding history %s/%d: %w", l.Address, l.PrefixLen, err)
					}
					if n, _ := res.RowsAffected(); n == 1 {
						continue
					}
				}
				if endsSession(op.Event) {
					res, err := endHist.ExecContext(ctx, l.Ends.Unix(), op.Event, now, l.Address, l.Starts.Unix(), 6, l.Type, l.PrefixLen, l.MAC)
					if err != nil {
						return fmt.Errorf("binding history %s/%d: %w", l.Address, l.PrefixLen, err)
					}
					if n, _ := res.RowsAffected(); n == 1 {
						continue
					}
				}
				if _, err := hist.ExecContext(ctx, history6Args(now, &op)...); err != nil {
					return fmt.Errorf("binding history %s/%d: %w", l.Address, l.PrefixLen, err)
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
		if lastSeq > 0 {
			if _, err := tx.ExecContext(ctx, "UPDATE lease_journal SET applied = ? WHERE id = 1", int64(lastSeq)); err != nil {
				return fmt.Errorf("lease journal: %w", err)
			}
		}
		return nil
	})
}

// The columns of a lease, a binding and a history row, in the order of
// the INSERTs below.
func lease4Args(at int64, op *LeaseOp) []any {
	l := op.V4
	opened, openedAt := session(at, op, l.State)
	return []any{l.IP, l.MAC, l.ClientID, l.Kind, l.State, nullID(l.NetworkID), nullID(l.ModemID),
		l.GiAddr, l.RemoteID, l.CircuitID, l.Hostname, l.Starts.Unix(), l.Ends.Unix(),
		opened, openedAt, op.ModemMAC, nullID(op.CustomerID)}
}

func lease6Args(at int64, op *LeaseOp) []any {
	l := op.V6
	opened, openedAt := session(at, op, l.State)
	return []any{l.Type, l.Address, l.PrefixLen, l.DUID, int64(l.IAID), l.MAC, l.Kind, l.State,
		nullID(l.NetworkID), nullID(l.ModemID), l.LinkAddress, l.RemoteID, l.Starts.Unix(), l.Ends.Unix(),
		opened, openedAt, op.ModemMAC, nullID(op.CustomerID)}
}

// session is the session a lease written whole by op holds unwritten: a
// grant's (not an offer's: nobody holds the address yet), opened at at.
// Any other op writes its history row itself.
func session(at int64, op *LeaseOp, state string) (string, int64) {
	if op.Event == EventGrant && state != StateOffered {
		return EventGrant, at
	}
	return "", 0
}

func history4Args(at int64, op *LeaseOp) []any {
	l := op.V4
	return []any{at, op.Event, 4, "na", l.IP, 32, l.MAC, l.ClientID, nil, l.Kind,
		nullID(l.ModemID), op.ModemMAC, nullID(op.CustomerID), l.GiAddr, l.RemoteID, l.CircuitID, l.Starts.Unix(), l.Ends.Unix()}
}

func history6Args(at int64, op *LeaseOp) []any {
	l := op.V6
	return []any{at, op.Event, 6, l.Type, l.Address, l.PrefixLen, l.MAC, l.DUID, int64(l.IAID), l.Kind,
		nullID(l.ModemID), op.ModemMAC, nullID(op.CustomerID), l.LinkAddress, l.RemoteID, nil, l.Starts.Unix(), l.Ends.Unix()}
}

// multiInsert gathers the rows of one INSERT statement (head, then
// "VALUES (?, …), …", then tail) and writes them in as few statements as it
// can: chunks of 64, 32, … 1 rows, each statement prepared beforehand on
// the writer connection (which a transaction holds, so nothing can be
// prepared on it then).
type multiInsert struct {
	cols  int
	stmts map[int]*sql.Stmt // by row count
	args  []any
	rows  int
}

const maxInsertRows = 64

func newMultiInsert(db *sql.DB, head string, cols int, tail string) (multiInsert, error) {
	row := "(" + strings.Repeat("?, ", cols-1) + "?)"
	m := multiInsert{cols: cols, stmts: map[int]*sql.Stmt{}}
	for n := 1; n <= maxInsertRows; n *= 2 {
		st, err := db.Prepare(head + " VALUES " + strings.Repeat(row+", ", n-1) + row + " " + tail)
		if err != nil {
			m.close()
			return multiInsert{}, err
		}
		m.stmts[n] = st
	}
	return m, nil
}

func (m *multiInsert) add(args ...any) {
	m.args = append(m.args, args...)
	m.rows++
}

func (m *multiInsert) reset() {
	clear(m.args)
	m.args, m.rows = m.args[:0], 0
}

func (m *multiInsert) flush(ctx context.Context, tx *sql.Tx) error {
	defer m.reset()
	off := 0
	for m.rows > 0 {
		n := maxInsertRows
		for n > m.rows {
			n /= 2
		}
		if _, err := tx.StmtContext(ctx, m.stmts[n]).ExecContext(ctx, m.args[off:off+n*m.cols]...); err != nil {
			return err
		}
		off += n * m.cols
		m.rows -= n
	}
	return nil
}

func (m *multiInsert) close() {
	for _, st := range m.stmts {
		st.Close()
	}
	clear(m.stmts)
}

// endsSession reports whether event ends a lease session.
func endsSession(event string) bool {
	return event == EventRelease || event == EventExpire || event == EventDecline
}

// leaseStmts are the lease write path's statements, prepared once.
type leaseStmts struct {
	ren4, ren6, hist, renHist, endHist *sql.Stmt
	bind4, bind6                       multiInsert // leases and bindings, 1 to 64 at a time
}

// close closes whichever of the statements were prepared.
func (ls *leaseStmts) close() {
	for _, st := range []*sql.Stmt{ls.ren4, ls.ren6, ls.hist, ls.renHist, ls.endHist} {
		if st != nil {
			st.Close()
		}
	}
	ls.bind4.close()
	ls.bind6.close()
}

// upsert4 makes an INSERT of a lease replace the one of its address. Its
// session and renewals start again (the lease's trigger, migration 0013,
// first writes the session it held to the history).
const upsert4 = `ON CONFLICT(ip) DO UPDATE SET mac = excluded.mac, client_id = excluded.client_id, kind = excluded.kind, state = excluded.state,
	network_id = excluded.network_id, modem_id = excluded.modem_id, giaddr = excluded.giaddr, remote_id = excluded.remote_id,
	circuit_id = excluded.circuit_id, hostname = excluded.hostname, starts = excluded.starts, ends = excluded.ends,
	opened = excluded.opened, opened_at = excluded.opened_at, modem_mac = excluded.modem_mac, customer_id = excluded.customer_id,
	renewals = 0, renewed_at = 0`

// upsert6 makes an INSERT of a binding replace the one at its address (its
// renewals as upsert4's).
const upsert6 = `ON CONFLICT(type, address, prefix_len) DO UPDATE SET duid = excluded.duid, iaid = excluded.iaid, mac = excluded.mac, kind = excluded.kind,
	state = excluded.state, network_id = excluded.network_id, modem_id = excluded.modem_id, link_address = excluded.link_address,
	remote_id = excluded.remote_id, starts = excluded.starts, ends = excluded.ends,
	opened = excluded.opened, opened_at = excluded.opened_at, modem_mac = excluded.modem_mac, customer_id = excluded.customer_id,
	renewals = 0, renewed_at = 0`

// prepareLeaseStmts prepares the lease statements on first use (only the
// applier calls it, and the replay at start-up before the applier runs).
func (s *Store) prepareLeaseStmts() error {
	if s.leaseStmts.ren4 != nil {
		return nil
	}
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = s.write.Prepare(q)
		return st
	}
	ls := leaseStmts{
		// A history row of its own (a renewal or end whose session row
		// is not found); a grant's row the lease's trigger writes.
		hist: prep(`INSERT INTO lease_history(at, event, family, type, address, prefix_len, mac, client_id, iaid, kind,
			modem_id, modem_mac, customer_id, relay, remote_id, circuit_id, starts, ends)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		// A renewal of the same holding: the active lease of the same
		// device, modem, relay and start (what its session's history row
		// records).
		ren4: prep(`UPDATE leases4 SET state = ?, ends = ?, remote_id = ?, circuit_id = ?, renewals = renewals + 1, renewed_at = ?
			WHERE ip = ? AND mac = ? AND modem_id IS ? AND starts = ? AND giaddr = ? AND kind = ? AND state = 'active'`),
		ren6: prep(`UPDATE leases6 SET state = ?, ends = ?, remote_id = ?, renewals = renewals + 1, renewed_at = ?
			WHERE type = ? AND address = ? AND prefix_len = ? AND duid = ? AND iaid = ? AND mac = ? AND kind = ?
				AND network_id IS ? AND modem_id IS ? AND starts = ? AND link_address = ? AND state = 'active'`),
		// A renewal extends the session's row: the newest row of the
		// address with the lease's start, if it is the same device behind
		// the same relay and modem. Only ends, at and renewals change, and
		// no index covers them.
		renHist: prep(`UPDATE lease_history SET ends = ?, at = ?, renewals = renewals + 1
			WHERE id = (SELECT id FROM lease_history WHERE address = ? AND starts = ? ORDER BY id DESC LIMIT 1)
				AND event IN ('grant', 'renew') AND ended = '' AND family = ? AND type = ? AND prefix_len = ? AND mac = ?
				AND iaid IS ? AND modem_mac = ? AND relay = ? AND kind = ?`),
		// A release, expiry or decline closes the session's row there, so
		// a search at a later time does not find the device that gave the
		// address back.
		endHist: prep(`UPDATE lease_history SET ends = MIN(ends, ?), ended = ?, at = ?
			WHERE id = (SELECT id FROM lease_history WHERE address = ? AND starts = ? ORDER BY id DESC LIMIT 1)
				AND event IN ('grant', 'renew') AND ended = '' AND family = ? AND type = ? AND prefix_len = ? AND mac = ?`),
	}
	if err == nil {
		ls.bind6, err = newMultiInsert(s.write, `INSERT INTO leases6(type, address, prefix_len, duid, iaid, mac, kind, state, network_id, modem_id, link_address, remote_id, starts, ends,
			opened, opened_at, modem_mac, customer_id)`, 18,
			upsert6)
	}
	if err == nil {
		ls.bind4, err = newMultiInsert(s.write, `INSERT INTO leases4(ip, mac, client_id, kind, state, network_id, modem_id, giaddr, remote_id, circuit_id, hostname, starts, ends,
			opened, opened_at, modem_mac, customer_id)`, 17,
			upsert4)
	}
	if err != nil {
		ls.close()
		return fmt.Errorf("prepare lease statements: %w", err)
	}
	s.leaseStmts = ls
	return nil
}

// CommitStats says how well group commit batches: ops per transaction.
type CommitStats struct {
	Batches, Requests int64
	// Pending is how many journaled requests the database does not hold
	// yet; ApplyErrors counts the database's refusals to take them.
	Pending, ApplyErrors int64
}

// CommitStats returns the lease committer's counters.
func (s *Store) CommitStats() CommitStats {
	s.applyMu.Lock()
	pending := len(s.applyQ)
	s.applyMu.Unlock()
	return CommitStats{Batches: s.commitStats.batches.Load(), Requests: s.commitStats.ops.Load(),
		Pending: int64(pending), ApplyErrors: s.commitStats.applyErrors.Load()}
}

// Lease4ByIP returns the lease of ip (in any state), or ErrNotFound.
func (s *Store) Lease4ByIP(ctx context.Context, ip string) (Lease4, error) {
	list, err := s.queryLeases4(ctx, `WHERE ip = ?`, ip)
	if err != nil {
		return Lease4{}, err
	}
	if len(list) == 0 {
		return Lease4{}, fmt.Errorf("lease %s: %w", ip, ErrNotFound)
	}
	return list[0], nil
}

// ModemLeases4 returns the v4 leases of a modem and of the devices behind
// it (its MTAs and CPEs), newest first.
func (s *Store) ModemLeases4(ctx context.Context, modemID int64) ([]Lease4, error) {
	return s.queryLeases4(ctx, `WHERE modem_id = ? ORDER BY starts DESC LIMIT 100`, modemID)
}

// UnknownLeases4 returns the active v4 leases of devices the inventory did
// not know when they asked (the walled garden: kind "unknown"), newest
// first, at most 1,000.
func (s *Store) UnknownLeases4(ctx context.Context, now time.Time) ([]Lease4, error) {
	return s.queryLeases4(ctx, `WHERE kind = ? AND state = ? AND ends > ? ORDER BY starts DESC LIMIT 1000`, KindUnknown, StateActive, now.Unix())
}

// UnknownLeases6 is UnknownLeases4 for IPv6 bindings (walled-garden modems
// provisioned over IPv6).
func (s *Store) UnknownLeases6(ctx context.Context, now time.Time) ([]Lease6, error) {
	return s.queryLeases6(ctx, `WHERE kind = ? AND state = ? AND ends > ? ORDER BY starts DESC LIMIT 1000`, KindUnknown, StateActive, now.Unix())
}

// PortalLeases4 returns the active v4 leases of CPEs behind no known modem:
// those on the self-registration portal.
func (s *Store) PortalLeases4(ctx context.Context, now time.Time) ([]Lease4, error) {
	return s.queryLeases4(ctx, `WHERE kind = ? AND modem_id IS NULL AND state = ? AND ends > ?`, KindCPE, StateActive, now.Unix())
}

// ActiveLeases4ByMAC returns the active v4 leases a device holds, newest
// first.
func (s *Store) ActiveLeases4ByMAC(ctx context.Context, mac string, now time.Time) ([]Lease4, error) {
	norm, err := NormalizeMAC(mac)
	if err != nil {
		return nil, err
	}
	return s.queryLeases4(ctx, `WHERE mac = ? AND state = ? AND ends > ? ORDER BY starts DESC`, norm, StateActive, now.Unix())
}

// Leases4 returns the v4 leases whose end is after since (every lease a
// DHCP server must know at start), by address.
func (s *Store) Leases4(ctx context.Context, since time.Time) ([]Lease4, error) {
	return s.queryLeases4(ctx, `WHERE ends > ? ORDER BY ip`, since.Unix())
}

func (s *Store) queryLeases4(ctx context.Context, where string, args ...any) ([]Lease4, error) {
	if err := s.leasesApplied(ctx); err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, `SELECT ip, mac, client_id, kind, state, network_id, modem_id, giaddr, remote_id, circuit_id, hostname, starts, ends
		FROM leases4 `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("leases: %w", err)
	}
	defer rows.Close()
	var out []Lease4
	for rows.Next() {
		var l Lease4
		var starts, ends int64
		if err := rows.Scan(&l.IP, &l.MAC, &l.ClientID, &l.Kind, &l.State, nullableID{&l.NetworkID}, nullableID{&l.ModemID},
			&l.GiAddr, &l.RemoteID, &l.CircuitID, &l.Hostname, &starts, &ends); err != nil {
			return nil, fmt.Errorf("leases: %w", err)
		}
		l.Starts, l.Ends = unixUTC(starts), unixUTC(ends)
		out = append(out, l)
	}
	return out, rows.Err()
}

// Leases6 returns the v6 bindings whose end is after since.
func (s *Store) Leases6(ctx context.Context, since time.Time) ([]Lease6, error) {
	return s.queryLeases6(ctx, `WHERE ends > ? ORDER BY type, address`, since.Unix())
}

// Lease6ByAddress returns the IA_NA binding of an IPv6 address, or
// ErrNotFound.
func (s *Store) Lease6ByAddress(ctx context.Context, addr string) (Lease6, error) {
	list, err := s.queryLeases6(ctx, `WHERE type = 'na' AND address = ? AND prefix_len = 128`, addr)
	if err != nil {
		return Lease6{}, err
	}
	if len(list) == 0 {
		return Lease6{}, fmt.Errorf("binding %s: %w", addr, ErrNotFound)
	}
	return list[0], nil
}

func (s *Store) queryLeases6(ctx context.Context, where string, args ...any) ([]Lease6, error) {
	if err := s.leasesApplied(ctx); err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, `SELECT type, address, prefix_len, duid, iaid, mac, kind, state, network_id, modem_id, link_address, remote_id, starts, ends
		FROM leases6 `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("bindings: %w", err)
	}
	defer rows.Close()
	var out []Lease6
	for rows.Next() {
		var l Lease6
		var iaid, starts, ends int64
		if err := rows.Scan(&l.Type, &l.Address, &l.PrefixLen, &l.DUID, &iaid, &l.MAC, &l.Kind, &l.State, nullableID{&l.NetworkID}, nullableID{&l.ModemID},
			&l.LinkAddress, &l.RemoteID, &starts, &ends); err != nil {
			return nil, fmt.Errorf("bindings: %w", err)
		}
		l.IAID, l.Starts, l.Ends = uint32(iaid), unixUTC(starts), unixUTC(ends)
		out = append(out, l)
	}
	return out, rows.Err()
}

// HistoryEntry is one row of the lease history.
type HistoryEntry struct {
	At         time.Time
	Event      string
	Family     int
	Type       string
	Address    string
	PrefixLen  int
	MAC        string
	Kind       string
	ModemMAC   string
	CustomerID int64
	Relay      string
	Starts     time.Time
	Ends       time.Time
	// Renewals is how many renewals extended the lease; Ended how its
	// session ended ("release", "expire", "decline"; "" while it runs).
	// At is the time of the row's last event.
	Renewals int
	Ended    string
}

// HistoryQuery selects lease history rows: by address (v4, v6 address or
// delegated prefix start), by MAC (of the device or its owning modem) or by
// customer, optionally only the rows whose lease covered the time At.
type HistoryQuery struct {
	Address string
	MAC     string
	// CustomerID selects the leases granted while the device's modem
	// belonged to the customer, as recorded with each lease: a modem that
	// has since moved to another customer keeps its earlier leases here,
	// and one that moved to this customer brings none of its earlier
	// owner's.
	CustomerID int64
	At         time.Time
	Limit      int
}

// LeaseHistory answers "who had this address then" (and "what did this
// device have"), newest first.
func (s *Store) LeaseHistory(ctx context.Context, q HistoryQuery) ([]HistoryEntry, error) {
	if err := s.leasesApplied(ctx); err != nil {
		return nil, err
	}
	// Three sources, each with its own conditions: the history rows (h,
	// read through their lease where it renewed them, 0012), and the
	// sessions leases4 and leases6 hold unwritten (0013).
	var hConds, l4Conds, l6Conds []string
	var hArgs, l4Args, l6Args []any
	switch {
	case q.Address != "":
		hConds, hArgs = append(hConds, "h.address = ?"), append(hArgs, q.Address)
		l4Conds, l4Args = append(l4Conds, "ip = ?"), append(l4Args, q.Address)
		l6Conds, l6Args = append(l6Conds, "type IN ('na', 'pd') AND address = ?"), append(l6Args, q.Address)
	case q.MAC != "":
		mac, err := NormalizeMAC(q.MAC)
		if err != nil {
			return nil, err
		}
		// lease_history_mac leaves out a modem's own rows (mac =
		// modem_mac): the second half finds those; the "mac <> modem_mac"
		// lets SQLite use that partial index for the first. The leases'
		// modem_mac indexes hold only their devices' open sessions.
		hConds, hArgs = append(hConds, "h.id IN (SELECT id FROM lease_history WHERE mac = ? AND mac <> modem_mac UNION SELECT id FROM lease_history WHERE modem_mac = ?)"), append(hArgs, mac, mac)
		l4Conds, l4Args = append(l4Conds, "rowid IN (SELECT rowid FROM leases4 WHERE mac = ? UNION SELECT rowid FROM leases4 WHERE modem_mac = ? AND modem_mac <> mac AND opened <> '')"), append(l4Args, mac, mac)
		l6Conds, l6Args = append(l6Conds, "id IN (SELECT id FROM leases6 WHERE mac = ? UNION SELECT id FROM leases6 WHERE modem_mac = ? AND modem_mac <> mac AND opened <> '')"), append(l6Args, mac, mac)
	case q.CustomerID != 0:
		// The customer as recorded at the time (lease_history_customer;
		// the leases, one row per address, are read whole).
		hConds, hArgs = append(hConds, "h.customer_id = ?"), append(hArgs, q.CustomerID)
		l4Conds, l4Args = append(l4Conds, "customer_id = ?"), append(l4Args, q.CustomerID)
		l6Conds, l6Args = append(l6Conds, "customer_id = ?"), append(l6Args, q.CustomerID)
	default:
		return nil, errors.New("lease history: give an address, a MAC or a customer")
	}
	if !q.At.IsZero() {
		// The sessions that covered the time; a row of its own for a
		// session's end (one whose start was not recorded) is no holder.
		at := q.At.Unix()
		hConds, hArgs = append(hConds, "h.event IN ('grant', 'renew') AND h.starts <= ? AND "+historyEnds+" >= ?"), append(hArgs, at, at)
		l4Conds, l4Args = append(l4Conds, "starts <= ? AND ends >= ?"), append(l4Args, at, at)
		l6Conds, l6Args = append(l6Conds, "starts <= ? AND ends >= ?"), append(l6Args, at, at)
	}
	limit := q.Limit
	if limit <= 0 || limit > 10000 {
		limit = 500
	}
	args := append(append(append(hArgs, l4Args...), l6Args...), limit)
	// An unwritten session sorts after every row of the same start (it is
	// the newest): its sort key is past any history id.
	rows, err := s.read.QueryContext(ctx, `SELECT at, event, family, type, address, prefix_len, mac, kind, modem_mac, customer, relay, starts, ends, renewals, ended FROM (
		SELECT COALESCE(l4.renewed_at, l6.renewed_at, h.at) AS at, h.event AS event, h.family AS family, h.type AS type, h.address AS address,
			h.prefix_len AS prefix_len, h.mac AS mac, h.kind AS kind, h.modem_mac AS modem_mac, COALESCE(h.customer_id, 0) AS customer,
			h.relay AS relay, h.starts AS starts, `+historyEnds+` AS ends, h.renewals + COALESCE(l4.renewals, l6.renewals, 0) AS renewals,
			h.ended AS ended, h.id AS sort
		FROM `+historyWithLeases+` WHERE `+strings.Join(hConds, " AND ")+`
		UNION ALL
		SELECT CASE WHEN renewals > 0 THEN renewed_at ELSE opened_at END, opened, 4, 'na', ip, 32, mac, kind, modem_mac, COALESCE(customer_id, 0),
			giaddr, starts, ends, renewals, '', 4611686018427387904 + rowid
		FROM leases4 WHERE opened <> '' AND `+strings.Join(l4Conds, " AND ")+`
		UNION ALL
		SELECT CASE WHEN renewals > 0 THEN renewed_at ELSE opened_at END, opened, 6, type, address, prefix_len, mac, kind, modem_mac, COALESCE(customer_id, 0),
			link_address, starts, ends, renewals, '', 4611686018427387904 + id
		FROM leases6 WHERE opened <> '' AND `+strings.Join(l6Conds, " AND ")+`
	) ORDER BY starts DESC, sort DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("lease history: %w", err)
	}
	defer rows.Close()
	var out []HistoryEntry
	for rows.Next() {
		var h HistoryEntry
		var at, starts, ends int64
		if err := rows.Scan(&at, &h.Event, &h.Family, &h.Type, &h.Address, &h.PrefixLen, &h.MAC, &h.Kind, &h.ModemMAC, &h.CustomerID, &h.Relay, &starts, &ends, &h.Renewals, &h.Ended); err != nil {
			return nil, fmt.Errorf("lease history: %w", err)
		}
		h.At, h.Starts, h.Ends = unixUTC(at), unixUTC(starts), unixUTC(ends)
		out = append(out, h)
	}
	return out, rows.Err()
}

// historyWithLeases is the lease history (h) with, for a session still
// open, its lease or binding (l4, l6) when that has renewed it since it was
// last written whole: a renewal is written to the lease alone (migration
// 0012), and the session's row is the newest of its address and start. A
// lease holding a session of its own, unwritten (0013), renews that one.
const historyWithLeases = `lease_history h
	LEFT JOIN leases4 l4 ON h.family = 4 AND h.ended = '' AND h.event IN ('grant', 'renew') AND l4.ip = h.address
		AND l4.starts = h.starts AND l4.mac = h.mac AND l4.renewals > 0 AND l4.opened = ''
		AND h.id = (SELECT MAX(x.id) FROM lease_history x WHERE x.address = h.address AND x.starts = h.starts)
	LEFT JOIN leases6 l6 ON h.family = 6 AND h.ended = '' AND h.event IN ('grant', 'renew') AND l6.type = h.type
		AND l6.address = h.address AND l6.prefix_len = h.prefix_len AND l6.starts = h.starts AND l6.mac = h.mac AND l6.renewals > 0
		AND l6.opened = ''
		AND h.id = (SELECT MAX(x.id) FROM lease_history x WHERE x.address = h.address AND x.starts = h.starts)`

// historyEnds is a history row's end, its lease's where it is read
// through the lease.
const historyEnds = "COALESCE(l4.ends, l6.ends, h.ends)"

// AddressHistory returns who held address over time, newest first.
func (s *Store) AddressHistory(ctx context.Context, address string, limit int) ([]HistoryEntry, error) {
	return s.LeaseHistory(ctx, HistoryQuery{Address: address, Limit: limit})
}
