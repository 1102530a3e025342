package tsdb

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

const fileExt = ".tsdb"

// device is one file: every series of one device, rows interleaved.
type device struct {
	mu       sync.Mutex
	name     string
	path     string
	loaded   bool
	deleted  bool
	f        *os.File
	fileID   uint64
	schema   Schema
	lay      layout
	series   []series
	byName   map[string]int
	pend     []*rowSet // per archive, written since the last flush
	flight   []*rowSet // per archive, being flushed; nil when no flush runs
	dirty    bool      // state changed since the last flush
	seq      uint64    // flushes of this file
	badPages map[int64]bool
}

// fileName maps a device name to a file name: letters, digits, '-' and
// '_' are kept, every other byte is %XX.
func fileName(device string) string {
	var b strings.Builder
	for i := 0; i < len(device); i++ {
		c := device[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String() + fileExt
}

// deviceName is the inverse of fileName; ok is false for other names.
func deviceName(file string) (string, bool) {
	s, ok := strings.CutSuffix(file, fileExt)
	if !ok || s == "" {
		return "", false
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) {
				return "", false
			}
			var x byte
			for _, h := range []byte(s[i+1 : i+3]) {
				switch {
				case h >= '0' && h <= '9':
					x = x<<4 | (h - '0')
				case h >= 'A' && h <= 'F':
					x = x<<4 | (h - 'A' + 10)
				default:
					return "", false
				}
			}
			b = append(b, x)
			i += 2
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_':
			b = append(b, c)
		default:
			return "", false
		}
	}
	name := string(b)
	if fileName(name) != file {
		return "", false
	}
	return name, true
}

func checkDeviceName(name string) error {
	if name == "" || len(name) > maxDeviceName {
		return fmt.Errorf("device name %q: empty or longer than %d bytes", name, maxDeviceName)
	}
	return nil
}

// setSchema installs a normalized schema with fresh series state.
func (d *device) setSchema(s Schema, schemaLen int) {
	d.schema = s
	d.lay = newLayout(s, schemaLen)
	d.series = make([]series, len(s.Metrics))
	d.byName = make(map[string]int, len(s.Metrics))
	for j, m := range s.Metrics {
		d.series[j] = series{m: m, acc: make([]cdpAcc, len(s.Archives))}
		d.byName[m.Name] = j
	}
	d.pend = make([]*rowSet, len(d.lay.arch))
	for k := range d.lay.arch {
		d.pend[k] = newRowSet(&d.lay.arch[k], len(s.Metrics))
	}
	d.flight = nil
	d.badPages = nil
}

var headBufs = sync.Pool{New: func() any { b := make([]byte, 2*pageSize); return &b }}

// load reads the schema and state of an existing file. d.mu is held.
// Damage to the state is reported and repaired (the series restart and
// blank their rings); damage to the schema makes the file unusable: it is
// renamed aside and ErrCorrupt returned.
func (db *DB) load(d *device) error {
	f, err := os.OpenFile(d.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", d.name, err)
	}
	if err := db.loadFile(d, f); err != nil {
		f.Close()
		if errors.Is(err, ErrCorrupt) {
			db.damage(Damage{Device: d.name, File: d.path, Err: err})
			if rerr := os.Rename(d.path, d.path+".damaged"); rerr != nil {
				return fmt.Errorf("load %s: %w (and set aside: %v)", d.name, err, rerr)
			}
			db.dirDirty.Store(true)
		}
		return fmt.Errorf("load %s: %w", d.name, err)
	}
	return nil
}

func (db *DB) loadFile(d *device, f *os.File) error {
	// One read gets the schema and, for most devices, the state too.
	hp := headBufs.Get().(*[]byte)
	defer headBufs.Put(hp)
	head := *hp
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return err
	}
	head = head[:n/pageSize*pageSize]
	if len(head) == 0 {
		return corruptf("file shorter than one page")
	}
	bl, err := blobLen(head[:pageSize], fileMagic, 0)
	if err != nil {
		return err
	}
	if np := blobPages(bl); np*pageSize > len(head) {
		head = make([]byte, np*pageSize)
		if _, err := f.ReadAt(head, 0); err != nil {
			if err == io.EOF {
				return corruptf("schema pages cut short")
			}
			return err
		}
	}
	blob, err := decodeBlob(head, fileMagic, 0)
	if err != nil {
		return err
	}
	name, fileID, s, err := decodeSchema(blob)
	if err != nil {
		return err
	}
	if name != d.name {
		return corruptf("file of device %q holds device %q", d.name, name)
	}
	d.setSchema(s, len(blob))
	d.fileID = fileID
	d.f = f
	adviseRandom(f)
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() < d.lay.size {
		db.damage(Damage{Device: d.name, File: d.path, Offset: fi.Size(),
			Err: corruptf("file is %d bytes, want %d: the missing slots read as no data", fi.Size(), d.lay.size)})
		if err := allocate(f, d.lay.size); err != nil {
			return err
		}
	}
	var st []byte
	if end := d.lay.stateOff + int64(d.lay.statePages*pageSize); end <= int64(len(head)) {
		st = head[d.lay.stateOff:end]
	} else {
		st = make([]byte, d.lay.statePages*pageSize)
		if _, err := f.ReadAt(st, d.lay.stateOff); err != nil && err != io.EOF {
			return err
		}
	}
	sb, err := decodeBlob(st, stateMagic, d.lay.stateOff)
	if err == nil {
		err = d.decodeState(sb)
	}
	if err != nil {
		db.damage(Damage{Device: d.name, File: d.path, Offset: d.lay.stateOff,
			Err: fmt.Errorf("series state: %w: every series of the device starts again", err)})
		for j := range d.series {
			d.series[j] = series{m: d.series[j].m, acc: make([]cdpAcc, len(s.Archives)), clearRings: true}
		}
		d.dirty = true
	}
	d.loaded = true
	return nil
}

// create writes a new, empty device file: temp file, fsync, rename.
// d.mu is held.
func (db *DB) create(d *device, s Schema) error {
	fileID := rand.Uint64() | 1
	blob := encodeSchema(d.name, fileID, s)
	d.setSchema(s, len(blob))
	d.fileID = fileID
	head := encodeBlob(fileMagic, blob, 0)
	state := encodeBlob(stateMagic, d.encodeState(), d.lay.stateOff/pageSize)
	tmp := d.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", d.name, err)
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("create %s: %w", d.name, err)
	}
	if _, err := f.WriteAt(head, 0); err != nil {
		return fail(err)
	}
	if _, err := f.WriteAt(state, d.lay.stateOff); err != nil {
		return fail(err)
	}
	alloc := allocate
	if db.sparse {
		alloc = (*os.File).Truncate
	}
	if err := alloc(f, d.lay.size); err != nil {
		return fail(err)
	}
	if err := db.datasync(f); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, d.path); err != nil {
		return fail(err)
	}
	db.stats.bytesWritten.Add(int64(len(head) + len(state)))
	db.dirDirty.Store(true)
	adviseRandom(f)
	d.f = f
	d.loaded = true
	d.dirty = false
	return nil
}

// closeFile releases the file of a loaded device. d.mu is held.
func (d *device) closeFile() error {
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	d.loaded = false
	return err
}

func devicePath(dir, name string) string { return filepath.Join(dir, fileName(name)) }
