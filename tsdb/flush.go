package tsdb

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// The journal makes each flush atomic: the new images of every page are
// written to it and synced before any page is overwritten in place, so a
// torn in-place write is redone at the next Open and a torn journal means
// the files were not touched yet.
//
// Journal: magic "IP6MTSJR", version byte, flags byte (1: the records
// are deflated), 2 zero bytes, u32 records, u64 total length, u64 length
// of the records before compression; the records, each u16 name length,
// file name, u64 file ID, u64 offset, u32 length, page bytes; u32 crc32c
// of everything before it. Deflate (fastest level) halves the journal or
// better: state pages are mostly padding and rings hold slowly varying
// values.

const (
	journalMagic  = "IP6MTSJR"
	journalName   = "journal"
	journalHeader = 32
	maxJournal    = 256 << 20 // records of one commit, uncompressed
)

// ErrTornJournal is reported (as Damage) when the journal of the last
// flush was not written completely: that flush is lost, older data is not.
var ErrTornJournal = errors.New("torn journal: the last flush before the crash is lost")

type pageImage struct {
	off  int64
	data []byte
}

type devImage struct {
	d     *device
	pages []pageImage
	bytes int
}

func (db *DB) openJournal() error {
	path := filepath.Join(db.dir, journalName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	db.journal = f
	if err := db.replay(); err != nil {
		f.Close()
		return err
	}
	return db.syncDir()
}

// replay redoes a complete journal left by a crash and clears it.
func (db *DB) replay() error {
	b, err := io.ReadAll(io.NewSectionReader(db.journal, 0, 1<<62))
	if err != nil {
		return fmt.Errorf("read journal: %w", err)
	}
	recs, err := parseJournal(b)
	if err != nil {
		db.damage(Damage{File: db.journal.Name(), Err: fmt.Errorf("%w: %w", ErrTornJournal, err)})
		return db.clearJournal(true)
	}
	if recs == nil {
		return nil
	}
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}()
	for _, r := range recs {
		f, ok := files[r.file]
		if !ok {
			f, err = db.openForReplay(r.file, r.fileID)
			if err != nil {
				return err
			}
			files[r.file] = f
		}
		if f == nil {
			continue // deleted or recreated since
		}
		// Files never grow: a record past the end is not ours.
		if fi, err := f.Stat(); err != nil || r.off+int64(len(r.data)) > fi.Size() {
			db.damage(Damage{File: db.journal.Name(), Offset: r.off,
				Err: corruptf("journal record for %s at %d is past the end of the file", r.file, r.off)})
			continue
		}
		if _, err := f.WriteAt(r.data, r.off); err != nil {
			return fmt.Errorf("replay journal into %s: %w", r.file, err)
		}
		db.stats.bytesWritten.Add(int64(len(r.data)))
	}
	for name, f := range files {
		if f == nil {
			continue
		}
		if err := db.datasync(f); err != nil {
			return fmt.Errorf("replay journal into %s: %w", name, err)
		}
	}
	return db.clearJournal(true)
}

// openForReplay opens a device file named in the journal if it is still
// the same file (same file ID); otherwise it returns nil.
func (db *DB) openForReplay(file string, fileID uint64) (*os.File, error) {
	if _, ok := deviceName(file); !ok {
		return nil, nil
	}
	f, err := os.OpenFile(filepath.Join(db.dir, file), os.O_RDWR, 0)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("replay journal: %w", err)
	}
	first := make([]byte, pageSize)
	if _, err := f.ReadAt(first, 0); err != nil {
		f.Close()
		return nil, nil
	}
	// The file ID is the first field of the schema blob.
	if _, err := blobLen(first, fileMagic, 0); err != nil ||
		binary.LittleEndian.Uint64(first[blobPrefix:]) != fileID {
		f.Close()
		return nil, nil
	}
	return f, nil
}

type journalRecord struct {
	file   string
	fileID uint64
	off    int64
	data   []byte
}

// parseJournal returns nil, nil for an empty (cleared) journal.
func parseJournal(b []byte) ([]journalRecord, error) {
	if len(b) < journalHeader || allZero(b[:journalHeader]) {
		return nil, nil
	}
	if string(b[:8]) != journalMagic {
		return nil, corruptf("journal magic %q", b[:8])
	}
	if b[8] != FormatVersion {
		return nil, corruptf("journal version %d", b[8])
	}
	flags := b[9]
	n := int(binary.LittleEndian.Uint32(b[12:16]))
	total := binary.LittleEndian.Uint64(b[16:24])
	raw := binary.LittleEndian.Uint64(b[24:32])
	if total < journalHeader+4 || total > uint64(len(b)) {
		return nil, corruptf("journal of %d bytes, header says %d", len(b), total)
	}
	if flags > 1 || raw > maxJournal {
		return nil, corruptf("journal flags %#x, %d bytes of records", flags, raw)
	}
	b = b[:total]
	if binary.LittleEndian.Uint32(b[len(b)-4:]) != crc32.Checksum(b[:len(b)-4], castagnoli) {
		return nil, corruptf("journal checksum mismatch")
	}
	body := b[journalHeader : len(b)-4]
	if flags&1 != 0 {
		zr := flate.NewReader(bytes.NewReader(body))
		var buf bytes.Buffer
		buf.Grow(int(min(raw, uint64(len(body))*64)))
		if _, err := io.Copy(&buf, io.LimitReader(zr, int64(raw)+1)); err != nil {
			return nil, corruptf("journal records: %v", err)
		}
		body = buf.Bytes()
	}
	if uint64(len(body)) != raw {
		return nil, corruptf("journal records of %d bytes, header says %d", len(body), raw)
	}
	r := &reader{b: body}
	recs := make([]journalRecord, 0, min(n, len(body)/pageSize))
	for i := 0; i < n; i++ {
		var rec journalRecord
		rec.file = string(r.next(int(r.u16())))
		rec.fileID = r.u64()
		rec.off = int64(r.u64())
		rec.data = r.next(int(r.u32()))
		if r.err != nil {
			return nil, r.err
		}
		if rec.off < 0 || rec.off%pageSize != 0 {
			return nil, corruptf("journal record %d: offset %d", i, rec.off)
		}
		recs = append(recs, rec)
	}
	if r.off != len(body) {
		return nil, corruptf("journal: %d trailing bytes", len(body)-r.off)
	}
	return recs, nil
}

func (db *DB) clearJournal(sync bool) error {
	if _, err := db.journal.WriteAt(make([]byte, journalHeader), 0); err != nil {
		return fmt.Errorf("clear journal: %w", err)
	}
	if sync {
		db.stats.syncs.Add(1)
		if err := db.datasync(db.journal); err != nil {
			return fmt.Errorf("clear journal: %w", err)
		}
	}
	return nil
}

// datasync makes the data of f durable (tests may turn it off).
func (db *DB) datasync(f *os.File) error {
	if db.opts.noSync {
		return nil
	}
	return datasync(f)
}

// syncDir makes the names in the root folder durable.
func (db *DB) syncDir() error {
	if db.opts.noSync {
		return nil
	}
	dir := db.dir
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// Flush writes every row kept in memory and the series state to disk.
func (db *DB) Flush() error {
	db.flushMu.Lock()
	defer db.flushMu.Unlock()
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return ErrClosed
	}
	devs := make([]*device, 0, len(db.devices))
	for _, d := range db.devices {
		devs = append(devs, d)
	}
	db.mu.RUnlock()
	start := db.opts.Now()
	slices.SortFunc(devs, func(a, b *device) int { return strings.Compare(a.name, b.name) })
	var batch []devImage
	size := 0
	var errs []error
	for _, d := range devs {
		img, err := db.prepare(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if img.d == nil {
			continue
		}
		batch = append(batch, img)
		size += img.bytes
		if size >= db.opts.JournalBytes {
			if err := db.commit(batch); err != nil {
				errs = append(errs, err)
			}
			batch, size = batch[:0], 0
		}
	}
	if len(batch) > 0 {
		if err := db.commit(batch); err != nil {
			errs = append(errs, err)
		}
	}
	if db.dirDirty.Swap(false) {
		if err := db.syncDir(); err != nil {
			db.dirDirty.Store(true)
			errs = append(errs, err)
		}
	}
	db.stats.flushes.Add(1)
	db.stats.lastFlushNs.Store(int64(db.opts.Now().Sub(start)))
	if err := errors.Join(errs...); err != nil {
		db.stats.flushErrors.Add(1)
		db.stats.lastError.Store(&err)
		return err
	}
	return nil
}

// prepare moves the pending rows of d into flight and builds the new
// images of its state pages and of every page they touch.
func (db *DB) prepare(d *device) (devImage, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.loaded || d.deleted || !d.dirty && !d.hasPending() {
		return devImage{}, nil
	}
	d.seq++
	img := devImage{d: d}
	state := encodeBlob(stateMagic, d.encodeState(), d.lay.stateOff/pageSize)
	img.pages = append(img.pages, pageImage{off: d.lay.stateOff, data: state})
	img.bytes += len(state)
	d.flight = d.pend
	d.pend = make([]*rowSet, len(d.lay.arch))
	for k := range d.lay.arch {
		d.pend[k] = newRowSet(&d.lay.arch[k], len(d.series))
	}
	for k := range d.lay.arch {
		a := &d.lay.arch[k]
		fl := d.flight[k]
		if fl.len() == 0 {
			continue
		}
		order := make([]int, fl.len())
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(x, y int) int { return int(fl.rows[x] - fl.rows[y]) })
		var page []byte
		var pageOff int64 = -1
		for _, i := range order {
			off, rowOff := a.pageOf(fl.rows[i])
			if off != pageOff {
				if page != nil {
					sealPage(page, pageOff)
					img.pages = append(img.pages, pageImage{off: pageOff, data: page})
					img.bytes += len(page)
				}
				var err error
				page, err = db.readPage(d, a, off)
				if err != nil {
					d.pend, d.flight = db.restore(d), nil
					return devImage{}, err
				}
				pageOff = off
			}
			row := page[rowOff : rowOff+a.rowSize]
			src := fl.row(i)
			for j := range d.series {
				if fl.has(i, j) {
					w := a.cells * d.series[j].m.Encoding.width()
					copy(row[a.col[j]:a.col[j]+w], src[a.col[j]:])
				}
			}
		}
		sealPage(page, pageOff)
		img.pages = append(img.pages, pageImage{off: pageOff, data: page})
		img.bytes += len(page)
	}
	d.dirty = false
	return img, nil
}

// restore puts the flight rows back under the pending ones after a failed
// flush. d.mu is held.
func (db *DB) restore(d *device) []*rowSet {
	if d.flight == nil {
		return d.pend
	}
	for k := range d.pend {
		if d.flight[k] != nil {
			d.pend[k].mergeOlder(d.flight[k], d.schema.Metrics)
		}
	}
	d.dirty = true
	return d.pend
}

func (d *device) hasPending() bool {
	for _, p := range d.pend {
		if p.len() > 0 {
			return true
		}
	}
	return false
}

// readPage reads the page of archive a at off for rewriting: a blank or
// damaged page starts as all "no data". d.mu is held.
func (db *DB) readPage(d *device, a *archLayout, off int64) ([]byte, error) {
	page := make([]byte, a.pageBytes)
	if _, err := d.f.ReadAt(page, off); err != nil && err != io.EOF {
		return nil, fmt.Errorf("read %s at %d: %w", d.name, off, err)
	}
	switch checkPage(page, off) {
	case pageBlank:
		blankPage(page, a, d.schema.Metrics)
	case pageBad:
		db.reportPage(d, off)
		blankPage(page, a, d.schema.Metrics)
	}
	return page, nil
}

func (db *DB) reportPage(d *device, off int64) {
	if d.badPages[off] {
		return
	}
	if d.badPages == nil {
		d.badPages = map[int64]bool{}
	}
	d.badPages[off] = true
	db.damage(Damage{Device: d.name, File: d.path, Offset: off,
		Err: corruptf("page checksum mismatch: its slots read as no data")})
}

// commit writes a batch through the journal.
func (db *DB) commit(batch []devImage) (err error) {
	defer func() {
		if err != nil {
			for _, img := range batch {
				img.d.mu.Lock()
				img.d.pend, img.d.flight = db.restore(img.d), nil
				img.d.mu.Unlock()
			}
		}
	}()
	recs := db.journalRecs[:0]
	n := 0
	for _, img := range batch {
		fn := filepath.Base(img.d.path)
		for _, p := range img.pages {
			recs = binary.LittleEndian.AppendUint16(recs, uint16(len(fn)))
			recs = append(recs, fn...)
			recs = binary.LittleEndian.AppendUint64(recs, img.d.fileID)
			recs = binary.LittleEndian.AppendUint64(recs, uint64(p.off))
			recs = binary.LittleEndian.AppendUint32(recs, uint32(len(p.data)))
			recs = append(recs, p.data...)
			n++
		}
	}
	db.journalRecs = recs
	jb := bytes.NewBuffer(db.journalBuf[:0])
	jb.Write(make([]byte, journalHeader))
	if db.deflate == nil {
		db.deflate, _ = flate.NewWriter(jb, flate.BestSpeed)
	} else {
		db.deflate.Reset(jb)
	}
	if _, err := db.deflate.Write(recs); err != nil {
		return fmt.Errorf("compress journal: %w", err)
	}
	if err := db.deflate.Close(); err != nil {
		return fmt.Errorf("compress journal: %w", err)
	}
	j := jb.Bytes()
	db.journalBuf = j
	copy(j, journalMagic)
	j[8] = FormatVersion
	j[9] = 1
	binary.LittleEndian.PutUint32(j[12:], uint32(n))
	binary.LittleEndian.PutUint64(j[16:], uint64(len(j)+4))
	binary.LittleEndian.PutUint64(j[24:], uint64(len(recs)))
	j = binary.LittleEndian.AppendUint32(j, crc32.Checksum(j, castagnoli))
	if _, err := db.journal.WriteAt(j, 0); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	db.stats.syncs.Add(1)
	if err := db.datasync(db.journal); err != nil {
		return fmt.Errorf("sync journal: %w", err)
	}
	db.stats.bytesWritten.Add(int64(len(j)))
	db.stats.journalCommit.Add(1)
	if db.hookAfterJournal != nil {
		if err := db.hookAfterJournal(); err != nil {
			return err
		}
	}
	// From here the flush is durable: an error leaves the journal to be
	// replayed at the next Open, and the rows stay pending to be retried.
	var errs []error
	for _, img := range batch {
		d := img.d
		d.mu.Lock()
		if d.deleted {
			d.mu.Unlock()
			continue
		}
		for _, p := range img.pages {
			if _, err := d.f.WriteAt(p.data, p.off); err != nil {
				errs = append(errs, fmt.Errorf("write %s at %d: %w", d.name, p.off, err))
				break
			}
			db.stats.bytesWritten.Add(int64(len(p.data)))
			db.stats.pagesWritten.Add(int64(len(p.data) / pageSize))
			delete(d.badPages, p.off)
		}
		d.mu.Unlock()
	}
	if len(errs) == 0 {
		errs = db.syncAll(batch)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, img := range batch {
		img.d.mu.Lock()
		img.d.flight = nil
		img.d.mu.Unlock()
	}
	if db.dirDirty.Swap(false) {
		if err := db.syncDir(); err != nil {
			db.dirDirty.Store(true)
			return err
		}
	}
	return db.clearJournal(false)
}

// syncWorkers is how many fdatasync calls run at once: the disk serves
// them in parallel and the file system groups their journal commits.
const syncWorkers = 8

// syncAll makes the in-place writes of a batch durable.
func (db *DB) syncAll(batch []devImage) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	next := make(chan *device)
	for range min(syncWorkers, len(batch)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range next {
				// No d.mu: d.f only changes under flushMu, which is held,
				// and Add must not wait for the disk.
				db.stats.syncs.Add(1)
				if err := db.datasync(d.f); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("sync %s: %w", d.name, err))
					mu.Unlock()
				}
			}
		}()
	}
	for _, img := range batch {
		if !img.d.deleted {
			next <- img.d
		}
	}
	close(next)
	wg.Wait()
	return errs
}
