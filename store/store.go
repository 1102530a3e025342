// Package store is ip6m's inventory, lease and user database: one SQLite file
// (modernc.org/sqlite, pure Go) in WAL mode with versioned migrations.
//
// Reads go through a pool of connections; every write goes through a single
// writer connection (SQLite allows one writer at a time, and one Go-side path
// avoids SQLITE_BUSY storms). Each change to the inventory is committed in one
// transaction together with its audit-log row, so nothing is half-written.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrNotFound is returned when the asked-for row does not exist.
var ErrNotFound = errors.New("not found")

// FileName is the database's name inside the data folder.
const FileName = "ip6m.db"

// Store is the open database.
type Store struct {
	path  string
	read  *sql.DB
	write *sql.DB
	now   func() time.Time

	// The lease committer (leases.go): requests queue on commitQ and one
	// goroutine commits them in batches.
	commitQ       chan *commitReq
	closing       chan struct{}
	committerDone chan struct{}
	closeOnce     sync.Once
	commitMu      sync.RWMutex // held for reading while queueing; Close takes it to stop new requests
	closed        bool

	version atomic.Int64 // bumped after every committed inventory change

	pwCost      int
	dummyHash   func() []byte // a hash to compare against for unknown users
	commitStats struct{ batches, ops, applyErrors atomic.Int64 }
	leaseStmts  leaseStmts // owned by the applier goroutine
	refs        refSets    // owned by the committer goroutine

	// The lease journal (journal.go): the committer makes changes durable
	// there, the applier writes them into the database.
	jr           *journal
	journalLock  *os.File // held (flock) while this process owns the journal
	applyMu      sync.Mutex
	applyQ       []*commitReq  // journaled, not yet in the database
	committedSeq uint64        // the last journal record written
	appliedSeq   uint64        // the last one the database holds
	applyFailed  error         // the last transaction's error, until one succeeds
	appliedCh    chan struct{} // closed (and replaced) after every transaction
	applyKick    chan struct{}
	applyUrgent  chan struct{}
	applyStop    chan struct{}
	applierDone  chan struct{}
	// leaseWatch, when set, sees every committed lease op (ObserveLeases).
	leaseWatch atomic.Pointer[func([]LeaseOp)]
	watchBuf   []LeaseOp // the committer's, for the observer
}

// Options tune Open. The zero value is what `ip6m serve` uses.
type Options struct {
	// Now is the clock used for created/updated times and the audit log;
	// nil means time.Now.
	Now func() time.Time
	// PasswordCost is bcrypt's work factor for new password hashes; 0 means
	// the default (see defaultPasswordCost).
	PasswordCost int
}

// pragmas are applied to every connection. synchronous=FULL makes each
// commit durable on power loss (a lease must survive a power cut); WAL keeps
// readers from blocking the writer.
const pragmas = "_pragma=busy_timeout(10000)" +
	"&_pragma=journal_mode(WAL)" +
	"&_pragma=synchronous(FULL)" +
	"&_pragma=foreign_keys(1)" +
	"&_pragma=temp_store(MEMORY)" +
	"&_pragma=cache_size(-16000)"

// Open opens (creating if needed) the database in dir and brings its schema
// up to date.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	path := filepath.Join(dir, FileName)
	return OpenFile(ctx, path, opts)
}

// OpenFile opens the database file at path.
func OpenFile(ctx context.Context, path string, opts Options) (*Store, error) {
	return openFile(ctx, path, opts, -1)
}

// openFile is OpenFile migrating only up to schema version target (-1: the
// newest); tests use it to build databases as earlier versions left them.
func openFile(ctx context.Context, path string, opts Options, target int) (*Store, error) {
	// SQLite reads the DSN as a URI: escape what would end or change the path.
	dsn := "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path) + "?" + pragmas
	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	n := max(4, runtime.NumCPU()*2)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s := &Store{path: path, read: r, write: w, now: opts.Now,
		commitQ: make(chan *commitReq, maxCommitBatch), closing: make(chan struct{}), committerDone: make(chan struct{}),
		appliedCh: make(chan struct{}), applyKick: make(chan struct{}, 1), applyUrgent: make(chan struct{}, 1),
		applyStop: make(chan struct{}), applierDone: make(chan struct{})}
	if s.now == nil {
		s.now = time.Now
	}
	s.pwCost = opts.PasswordCost
	if s.pwCost == 0 {
		s.pwCost = defaultPasswordCost()
	}
	s.dummyHash = sync.OnceValue(func() []byte {
		h, _ := bcrypt.GenerateFromPassword([]byte("ip6m-timing-equaliser"), s.pwCost)
		return h
	})
	if err := s.migrateTo(ctx, target); err != nil {
		s.closeDB()
		return nil, err
	}
	if target < 0 || target >= 10 {
		// One process owns the lease journal: the server. A command run
		// beside it writes its (rare) lease changes straight into the
		// database, and must neither replay nor trim the server's journal.
		owner, err := lockJournal(path)
		if err != nil {
			s.closeDB()
			return nil, err
		}
		if owner != nil {
			s.journalLock = owner
			if err := s.replayJournal(ctx); err != nil {
				s.closeDB()
				return nil, err
			}
		}
	}
	go s.committer()
	go s.applyLoop()
	return s, nil
}

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// Close closes every connection; the WAL is checkpointed by SQLite.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.commitMu.Lock()
		s.closed = true
		s.commitMu.Unlock()
		close(s.closing)
		<-s.committerDone // queued lease changes are journaled first
		close(s.applyStop)
		<-s.applierDone // and then written into the database
		err = s.closeDB()
	})
	return err
}

// closeDB closes the journal, the statements and the connections.
func (s *Store) closeDB() error {
	var errs []error
	if s.jr != nil {
		errs = append(errs, s.jr.close())
	}
	if s.journalLock != nil {
		errs = append(errs, s.journalLock.Close()) // and with it the lock
	}
	s.leaseStmts.close()
	errs = append(errs, s.read.Close(), s.write.Close())
	return errors.Join(errs...)
}

// tx runs fn in one write transaction (BEGIN IMMEDIATE on the single writer
// connection) and commits it, or rolls it back if fn fails.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	// A panic in fn must not leave the single writer mid-transaction.
	defer func() {
		if v := recover(); v != nil {
			tx.Rollback()
			panic(v)
		}
	}()
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// inventoryTx is tx for changes to the inventory or settings: after a
// successful commit it bumps the inventory version, which services that keep
// a copy of the inventory (DHCP) watch.
func (s *Store) inventoryTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := s.tx(ctx, fn); err != nil {
		return err
	}
	s.version.Add(1)
	return nil
}

// InventoryVersion changes whenever the inventory or a setting changes
// (through this Store), so a cached copy can tell it is stale.
func (s *Store) InventoryVersion() int64 { return s.version.Load() }

// Backup writes a consistent copy of the database to path (which must not
// exist) while the server keeps running: SQLite's VACUUM INTO reads one
// snapshot and writes a compact, standalone file.
func (s *Store) Backup(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("backup: %s already exists", path)
	}
	// Write a temporary file beside the target, sync it, then rename, so a
	// crash never leaves a partial file under the backup's name.
	if err := s.leasesApplied(ctx); err != nil { // every acknowledged lease in the copy
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	tmp := fmt.Sprintf("%s.tmp-%d", path, os.Getpid())
	os.Remove(tmp)
	defer os.Remove(tmp)
	// The read pool is query_only, which SQLite applies to VACUUM INTO's
	// output too; lift it on one connection for the copy and put it back
	// (or drop that connection) so the pool stays read-only.
	conn, err := s.read.Conn(ctx)
	if err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA query_only = 0"); err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	defer func() {
		if _, err := conn.ExecContext(context.Background(), "PRAGMA query_only = 1"); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	if _, err := conn.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	if err := syncFile(tmp); err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	if err := os.Link(tmp, path); err != nil { // fails if path appeared meanwhile
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (s *Store) unixNow() int64 { return s.now().Unix() }
