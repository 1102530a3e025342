package tsdb

import (
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// ErrUnknownDevice is returned for a device that was never defined.
	ErrUnknownDevice = errors.New("unknown device")
	// ErrUnknownMetric is returned for a metric the device does not have.
	ErrUnknownMetric = errors.New("unknown metric")
	// ErrArchivesChanged is returned by Define when a device exists with
	// other archives; its data cannot be kept, so it must be deleted first.
	ErrArchivesChanged = errors.New("archives differ from the stored ones")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("tsdb closed")
)

// Options configure a DB. The zero value is usable.
type Options struct {
	// FlushInterval is how often Run writes the rows kept in memory; a
	// crash loses at most this much. Zero means 5 minutes.
	FlushInterval time.Duration
	// OnDamage is called, possibly from several goroutines, for every
	// damage found in the files: a torn journal, a bad checksum, a
	// truncated file. Damaged slots read as no data. It runs with the
	// device locked, so it must not call the DB (log, count, or hand off).
	OnDamage func(Damage)
	// Now is the clock used only to time flushes for Stats. Nil means
	// time.Now.
	Now func() time.Time
	// JournalBytes bounds the pages of one journal commit, and so the
	// memory a flush uses. Zero means 8 MiB; at most 64 MiB.
	JournalBytes int

	noSync bool // tests: skip fsync, keep everything else
}

// Damage is one problem found on disk.
type Damage struct {
	Device string // empty for the journal
	File   string
	Offset int64
	Err    error
}

func (d Damage) String() string {
	return fmt.Sprintf("%s at %d: %v", d.File, d.Offset, d.Err)
}

// DB is a store of devices, each a fixed-size file under one folder. It
// is safe for concurrent use.
type DB struct {
	dir     string
	opts    Options
	lock    *os.File
	journal *os.File

	mu      sync.RWMutex
	devices map[string]*device
	closed  bool

	flushMu     sync.Mutex // and what follows up to dirDirty
	journalRecs []byte
	journalBuf  []byte
	deflate     *flate.Writer
	dirDirty    atomic.Bool
	checkMu     sync.Mutex
	collect     func(Damage) // set while Check runs

	sparse           bool         // benchmarks: do not preallocate files
	hookAfterJournal func() error // tests: simulate a crash after the journal is synced
	stats            stats
}

type stats struct {
	bytesWritten  atomic.Int64
	pagesWritten  atomic.Int64
	flushes       atomic.Int64
	samples       atomic.Int64
	damaged       atomic.Int64
	lastFlushNs   atomic.Int64
	syncs         atomic.Int64
	journalCommit atomic.Int64
	flushErrors   atomic.Int64
	lastError     atomic.Pointer[error]
}

// Stats are counters since Open.
type Stats struct {
	Devices       int   // device files
	Loaded        int   // devices whose state is in memory
	Series        int   // series of the loaded devices
	Samples       int64 // samples added
	Flushes       int64
	BytesWritten  int64 // journal and device files, including headers of new files
	PagesWritten  int64 // device pages written in place
	Syncs         int64 // fsync/fdatasync calls
	Damaged       int64 // Damage reports
	LastFlush     time.Duration
	FlushErrors   int64 // failed flushes; their rows were kept for the next
	LastError     error // of the last failed flush
	PendingRows   int   // rows kept in memory, not yet durable
	JournalCommit int64
}

// Open opens or creates a store in dir. Devices are listed but loaded
// lazily, at their first use; a journal left by a crash is replayed first.
func Open(dir string, opts Options) (*DB, error) {
	if opts.FlushInterval == 0 {
		opts.FlushInterval = 5 * time.Minute
	}
	if opts.FlushInterval < 0 {
		return nil, fmt.Errorf("open %s: flush interval %v", dir, opts.FlushInterval)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.JournalBytes <= 0 {
		opts.JournalBytes = 8 << 20
	}
	// One device's pages may exceed the batch; leave it room under the cap.
	opts.JournalBytes = min(opts.JournalBytes, maxJournal/4)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	db := &DB{dir: dir, opts: opts, devices: make(map[string]*device)}
	lock, err := lockDir(filepath.Join(dir, "LOCK"))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	db.lock = lock
	if err := db.openJournal(); err != nil {
		lock.Close()
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		db.journal.Close()
		lock.Close()
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	for _, e := range ents {
		n := e.Name()
		if strings.HasSuffix(n, fileExt+".tmp") {
			os.Remove(filepath.Join(dir, n)) // a create that did not finish
			continue
		}
		name, ok := deviceName(n)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		db.devices[name] = &device{name: name, path: filepath.Join(dir, n)}
	}
	return db, nil
}

func (db *DB) damage(d Damage) {
	db.stats.damaged.Add(1)
	db.checkMu.Lock()
	if db.collect != nil {
		db.collect(d)
	}
	db.checkMu.Unlock()
	if db.opts.OnDamage != nil {
		db.opts.OnDamage(d)
	}
}

// lookup returns the loaded device, loading it on first use. On success
// d.mu is held.
func (db *DB) lookup(name string) (*device, error) {
	db.mu.RLock()
	d := db.devices[name]
	closed := db.closed
	db.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	if d == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownDevice, name)
	}
	d.mu.Lock()
	if d.deleted {
		d.mu.Unlock()
		return nil, fmt.Errorf("%w %q", ErrUnknownDevice, name)
	}
	if !d.loaded {
		if err := db.load(d); err != nil {
			if errors.Is(err, ErrCorrupt) {
				d.deleted = true
				db.mu.Lock()
				if db.devices[name] == d {
					delete(db.devices, name)
				}
				db.mu.Unlock()
			}
			d.mu.Unlock()
			return nil, err
		}
	}
	return d, nil
}

// Define creates the device with schema s, or checks an existing one. A
// device whose metrics changed (same archives) is rewritten once: series
// kept by name, kind, encoding and scale keep their data, new ones start
// empty, removed ones are dropped.
func (db *DB) Define(name string, s Schema) error {
	if err := checkDeviceName(name); err != nil {
		return fmt.Errorf("define: %w", err)
	}
	ns, err := s.normalize()
	if err != nil {
		return fmt.Errorf("define %s: %w", name, err)
	}
	db.flushMu.Lock()
	defer db.flushMu.Unlock()
	for {
		d, err := db.lookup(name)
		if err == nil {
			defer d.mu.Unlock()
			if equalSchema(d.schema, ns) {
				return nil
			}
			if !equalArchives(d.schema.Archives, ns.Archives) {
				return fmt.Errorf("define %s: %w", name, ErrArchivesChanged)
			}
			return db.rebuild(d, ns)
		}
		if errors.Is(err, ErrCorrupt) {
			continue // set aside; create it anew
		}
		if !errors.Is(err, ErrUnknownDevice) {
			return fmt.Errorf("define: %w", err)
		}
		d = &device{name: name, path: devicePath(db.dir, name)}
		d.mu.Lock()
		db.mu.Lock()
		if db.closed {
			db.mu.Unlock()
			d.mu.Unlock()
			return ErrClosed
		}
		if db.devices[name] != nil {
			db.mu.Unlock()
			d.mu.Unlock()
			continue // raced with another Define
		}
		db.devices[name] = d
		db.mu.Unlock()
		err = db.create(d, ns)
		if err != nil {
			d.deleted = true
			db.mu.Lock()
			delete(db.devices, name)
			db.mu.Unlock()
		}
		d.mu.Unlock()
		return err
	}
}

// Schema returns the schema of a device.
func (db *DB) Schema(device string) (Schema, error) {
	d, err := db.lookup(device)
	if err != nil {
		return Schema{}, err
	}
	defer d.mu.Unlock()
	return Schema{
		Archives: slices.Clone(d.schema.Archives),
		Metrics:  slices.Clone(d.schema.Metrics),
	}, nil
}

// Devices returns the names of all devices, sorted.
func (db *DB) Devices() []string {
	db.mu.RLock()
	names := make([]string, 0, len(db.devices))
	for n := range db.devices {
		names = append(names, n)
	}
	db.mu.RUnlock()
	slices.Sort(names)
	return names
}

// Sample is one reading of a metric, for AddSamples.
type Sample struct {
	Metric string
	// Value is a gauge value or a counter reading (exact up to 2^53).
	// NaN is "no data": the time since the last sample is unknown and a
	// counter forgets its last reading.
	Value float64
	// Reset says that a counter restarted (the device rebooted): the time
	// since the last sample is unknown and Value is the new baseline.
	Reset bool
}

// Add stores one sample of a metric taken at t: a gauge value or a
// counter reading (NaN: no data). Times must increase per series
// (ErrStale otherwise); the sample covers the time since the series'
// previous one. It only changes memory: Flush (or Run) makes it durable.
func (db *DB) Add(device, metric string, t time.Time, v float64) error {
	d, err := db.lookup(device)
	if err != nil {
		return err
	}
	defer d.mu.Unlock()
	j, ok := d.byName[metric]
	if !ok {
		return fmt.Errorf("%s: %w %q", device, ErrUnknownMetric, metric)
	}
	db.stats.samples.Add(1)
	return d.add(j, t, v, false)
}

// AddSamples stores the samples of one device taken at t. Every sample is
// tried; the errors are joined.
func (db *DB) AddSamples(device string, t time.Time, samples []Sample) error {
	d, err := db.lookup(device)
	if err != nil {
		return err
	}
	defer d.mu.Unlock()
	var errs []error
	for _, s := range samples {
		j, ok := d.byName[s.Metric]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %w %q", device, ErrUnknownMetric, s.Metric))
			continue
		}
		if err := d.add(j, t, s.Value, s.Reset); err != nil {
			errs = append(errs, err)
		}
	}
	db.stats.samples.Add(int64(len(samples)))
	return errors.Join(errs...)
}

// Delete removes a device and its file.
func (db *DB) Delete(device string) error {
	db.flushMu.Lock()
	defer db.flushMu.Unlock()
	db.mu.Lock()
	d := db.devices[device]
	if d == nil {
		db.mu.Unlock()
		return fmt.Errorf("delete: %w %q", ErrUnknownDevice, device)
	}
	delete(db.devices, device)
	db.mu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.deleted = true
	cerr := d.closeFile()
	if err := os.Remove(d.path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("delete %s: %w", device, err)
	}
	db.dirDirty.Store(true)
	if cerr != nil {
		return fmt.Errorf("delete %s: %w", device, cerr)
	}
	return nil
}

// Run flushes every FlushInterval until ctx is done, then flushes once
// more and returns that flush's error. A failed flush does not stop Run:
// its rows stay in memory for the next one, and Stats reports the error.
func (db *DB) Run(ctx context.Context) error {
	tick := time.NewTicker(db.opts.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return db.Flush()
		case <-tick.C:
			if err := db.Flush(); errors.Is(err, ErrClosed) {
				return err
			}
		}
	}
}

// Close flushes and closes every file. The DB cannot be used afterwards.
func (db *DB) Close() error {
	ferr := db.Flush()
	db.flushMu.Lock()
	defer db.flushMu.Unlock()
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return ErrClosed
	}
	db.closed = true
	devs := make([]*device, 0, len(db.devices))
	for _, d := range db.devices {
		devs = append(devs, d)
	}
	db.mu.Unlock()
	var errs []error
	if ferr != nil {
		errs = append(errs, ferr)
	}
	for _, d := range devs {
		d.mu.Lock()
		if err := d.closeFile(); err != nil {
			errs = append(errs, err)
		}
		d.mu.Unlock()
	}
	if err := db.journal.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := db.lock.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Stats returns counters since Open.
func (db *DB) Stats() Stats {
	st := Stats{
		Samples:       db.stats.samples.Load(),
		Flushes:       db.stats.flushes.Load(),
		BytesWritten:  db.stats.bytesWritten.Load(),
		PagesWritten:  db.stats.pagesWritten.Load(),
		Syncs:         db.stats.syncs.Load(),
		Damaged:       db.stats.damaged.Load(),
		LastFlush:     time.Duration(db.stats.lastFlushNs.Load()),
		JournalCommit: db.stats.journalCommit.Load(),
		FlushErrors:   db.stats.flushErrors.Load(),
	}
	if e := db.stats.lastError.Load(); e != nil {
		st.LastError = *e
	}
	db.mu.RLock()
	devs := make([]*device, 0, len(db.devices))
	for _, d := range db.devices {
		devs = append(devs, d)
	}
	db.mu.RUnlock()
	st.Devices = len(devs)
	for _, d := range devs {
		d.mu.Lock()
		if d.loaded {
			st.Loaded++
			st.Series += len(d.series)
			for _, p := range d.pend {
				st.PendingRows += p.len()
			}
			for _, p := range d.flight {
				st.PendingRows += p.len()
			}
		}
		d.mu.Unlock()
	}
	return st
}
