package tsdb

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fuzzFiles makes, with the library, a device file holding data and the
// journal of a flush that crashed after the journal was synced.
func fuzzFiles(tb testing.TB) (dev, journal []byte) {
	dir := tb.TempDir()
	db, err := Open(dir, Options{noSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	if err := db.Define("dev", tinySchema()); err != nil {
		tb.Fatal(err)
	}
	fs := makeFeed(1, 60)
	for i, f := range fs {
		if err := db.AddSamples("dev", at(f.sec), f.samples); err != nil {
			tb.Fatal(err)
		}
		if i == 30 {
			if err := db.Flush(); err != nil {
				tb.Fatal(err)
			}
		}
	}
	db.hookAfterJournal = func() error { return errors.New("crash") }
	db.Flush()
	crash(db)
	dev, err = os.ReadFile(filepath.Join(dir, fileName("dev")))
	if err != nil {
		tb.Fatal(err)
	}
	journal, err = os.ReadFile(filepath.Join(dir, journalName))
	if err != nil {
		tb.Fatal(err)
	}
	return dev, journal
}

// exercise opens a store holding the given files and uses it every way a
// caller can; damage must be reported as ErrCorrupt, never as a panic.
func exercise(t *testing.T, dev, journal []byte) {
	dir := t.TempDir()
	if dev != nil {
		if err := os.WriteFile(filepath.Join(dir, fileName("dev")), dev, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if journal != nil {
		if err := os.WriteFile(filepath.Join(dir, journalName), journal, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	damaged := func(dm Damage) {
		if !errors.Is(dm.Err, ErrCorrupt) && !errors.Is(dm.Err, ErrTornJournal) {
			t.Errorf("damage without ErrCorrupt: %v", dm)
		}
	}
	db, err := Open(dir, Options{OnDamage: damaged, noSync: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := db.Check(); err != nil {
		t.Fatalf("Check: %v", err)
	}
	s, err := db.Schema("dev")
	if err != nil {
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnknownDevice) {
			t.Fatalf("Schema: %v", err)
		}
		db.Close()
		return
	}
	// The stored schema is in normal form: encode(decode(b)) == b.
	d := db.devices["dev"]
	head := make([]byte, d.lay.schemaPages*pageSize)
	d.f.ReadAt(head, 0)
	blob, err := decodeBlob(head, fileMagic, 0)
	if err != nil {
		t.Fatalf("schema read back: %v", err)
	}
	if again := encodeSchema("dev", d.fileID, s); !bytes.Equal(again, blob) {
		t.Fatalf("schema does not round-trip")
	}
	for _, m := range s.Metrics {
		for _, span := range []time.Duration{time.Minute, 24 * time.Hour, 1 << 62} {
			if _, err := db.Query("dev", m.Name, at(1000).Add(-span), at(1000), 50); err != nil {
				t.Fatalf("Query %s: %v", m.Name, err)
			}
		}
		for _, tm := range []time.Time{at(1000), at(1010), time.Unix(0, math.MaxInt64/2)} {
			err := db.Add("dev", m.Name, tm, 7)
			if err != nil && !errors.Is(err, ErrStale) {
				t.Fatalf("Add %s: %v", m.Name, err)
			}
		}
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	db, err = Open(dir, Options{OnDamage: damaged, noSync: true})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	s2, err := db.Schema("dev")
	if err != nil {
		t.Fatalf("Schema after reopen: %v", err)
	}
	n1, _ := s.normalize()
	if !equalSchema(n1, s2) {
		t.Fatalf("schema changed across reopen")
	}
}

// FuzzReadFile feeds arbitrary bytes as a device file.
func FuzzReadFile(f *testing.F) {
	dev, _ := fuzzFiles(f)
	f.Add(dev)
	f.Add(dev[:pageSize])
	f.Add(dev[:2*pageSize])
	f.Add(dev[:len(dev)-100])
	f.Add([]byte{})
	f.Add([]byte(fileMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		exercise(t, data, nil)
	})
}

// FuzzJournal feeds arbitrary bytes as the journal next to a good file.
func FuzzJournal(f *testing.F) {
	dev, journal := fuzzFiles(f)
	f.Add(journal)
	f.Add(journal[:len(journal)/2])
	f.Add(journal[:journalHeader])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		exercise(t, dev, data)
	})
}

// FuzzDecode seals arbitrary schema and state blobs in pages with good
// checksums, so the decoders behind the checksums see arbitrary input.
func FuzzDecode(f *testing.F) {
	dev, _ := fuzzFiles(f)
	d := &device{}
	blob, err := decodeBlob(dev, fileMagic, 0)
	if err != nil {
		f.Fatal(err)
	}
	_, _, s, err := decodeSchema(blob)
	if err != nil {
		f.Fatal(err)
	}
	d.setSchema(s, len(blob))
	state, err := decodeBlob(dev[d.lay.stateOff:], stateMagic, d.lay.stateOff)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(blob, state)
	f.Add(blob, state[:len(state)/2])
	f.Add(blob[:len(blob)-1], state)
	f.Fuzz(func(t *testing.T, schema, state []byte) {
		if len(schema) > maxBlob || len(state) > maxBlob {
			return
		}
		file := encodeBlob(fileMagic, schema, 0)
		if _, _, s, err := decodeSchema(schema); err == nil {
			d := &device{}
			d.setSchema(s, len(schema))
			if d.lay.size > 1<<20 {
				return // valid but slow to exercise: every slot is rewritten
			}
			st := encodeBlob(stateMagic, state, d.lay.stateOff/pageSize)
			if need := d.lay.stateOff + int64(len(st)); int64(len(file)) < need {
				file = append(file, make([]byte, need-int64(len(file)))...)
			}
			copy(file[d.lay.stateOff:], st)
			// Data pages: the good file's, where the layouts agree.
			if len(dev) > len(file) {
				file = append(file, dev[len(file):]...)
			}
		}
		exercise(t, file, nil)
	})
}

// FuzzParse runs the in-memory decoders alone (fast, no files): pages,
// schema, state and journal from arbitrary bytes must not panic, and a
// schema that decodes encodes back to the same bytes.
func FuzzParse(f *testing.F) {
	dev, journal := fuzzFiles(f)
	f.Add(dev[:2*pageSize])
	f.Add(journal)
	if blob, err := decodeBlob(dev, fileMagic, 0); err == nil {
		f.Add(blob)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		parseJournal(b)
		decodeBlob(b, fileMagic, 0)
		d := &device{}
		name, id, s, err := decodeSchema(b)
		if err != nil {
			return
		}
		if again := encodeSchema(name, id, s); !bytes.Equal(again, b) {
			t.Fatalf("schema does not round-trip")
		}
		d.setSchema(s, len(b))
		if d.lay.size > maxFileSize+1<<20 {
			t.Fatalf("layout of %d bytes", d.lay.size)
		}
		st := make([]byte, d.lay.stateLen)
		copy(st, b)
		d.decodeState(st)
	})
}
