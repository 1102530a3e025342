package tsdb

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestGoldenV1 opens a store written by format version 1 and left by a
// crash after its last journal was synced (testdata/v1: a device file
// and a journal). Today's code must replay it and read the same data as a
// store fed the same samples. Regenerate with -update only when the
// format changes, with a new version byte and a new folder kept beside.
func TestGoldenV1(t *testing.T) {
	golden := filepath.Join("testdata", "v1")
	fs := makeFeed(21, 100)
	end := fs[99].sec + 1
	if *update {
		dir := t.TempDir()
		db := openDB(t, dir, nil)
		mustDefine(t, db, "dev", tinySchema())
		ingest(t, db, fs[:60])
		if err := db.Flush(); err != nil {
			t.Fatal(err)
		}
		ingest(t, db, fs[60:])
		db.hookAfterJournal = func() error { return errors.New("crash") }
		db.Flush()
		crash(db)
		os.RemoveAll(golden)
		if err := os.MkdirAll(golden, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{fileName("dev"), journalName} {
			b, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(golden, n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	ref := openDB(t, t.TempDir(), nil)
	defer ref.Close()
	mustDefine(t, ref, "dev", tinySchema())
	ingest(t, ref, fs)
	want := snapshot(t, ref, end)

	var log damageLog
	db := openDB(t, copyDir(t, golden), &log)
	defer db.Close()
	if d := log.all(); len(d) != 0 {
		t.Fatalf("damage in the golden store: %v", d)
	}
	sameSnapshots(t, snapshot(t, db, end), want)
	if found, err := db.Check(); err != nil || len(found) != 0 {
		t.Fatalf("Check: %v %v", found, err)
	}
}
