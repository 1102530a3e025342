package store

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newTestStore opens a fresh database in t.TempDir and closes it at the end
// of the test.
func newTestStore(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), t.TempDir(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// openPath opens the database at path and closes it at the end of the test.
func openPath(t testing.TB, path string) *Store {
	t.Helper()
	s, err := OpenFile(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("OpenFile(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func tempDBPath(t testing.TB) string {
	return filepath.Join(t.TempDir(), FileName)
}

// rowCount counts the rows of tbl straight from SQLite.
func rowCount(t testing.TB, s *Store, tbl string) int {
	t.Helper()
	var n int
	if err := s.read.QueryRow("SELECT COUNT(*) FROM " + tbl).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", tbl, err)
	}
	return n
}

// rowCounts counts every inventory table, for "nothing half-written" checks.
func rowCounts(t testing.TB, s *Store) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, tbl := range []string{"cmts", "networks", "network_ranges", "pd_pools", "plans", "customers",
		"modems", "mtas", "cpes", "users", "sessions", "api_tokens", "audit_log", "settings"} {
		out[tbl] = rowCount(t, s, tbl)
	}
	return out
}

// validationFields returns the field errors of a *ValidationError, failing
// the test when err is something else.
func validationFields(t testing.TB, err error) map[string]string {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v (%T), want a *ValidationError", err, err)
	}
	return ve.Fields
}

// The data folder may hold characters a file: URI gives meaning to; the
// database must still land at dir/ip6m.db, with every pragma applied.
func TestOpenPathWithURICharacters(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"plain", "with space", "hash#1", "what?", "percent%20", "amp&mode=ro", "ünïcode"} {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, name)
			s, err := Open(ctx, dir, Options{})
			if err != nil {
				t.Fatalf("Open(%q): %v", dir, err)
			}
			if err := s.CreateCMTS(ctx, "t", &CMTS{Name: "CMTS-1"}); err != nil {
				t.Fatal(err)
			}
			var busy int
			if err := s.write.QueryRow("PRAGMA busy_timeout").Scan(&busy); err != nil || busy != 10000 {
				t.Errorf("busy_timeout = %d, %v", busy, err)
			}
			s.Close()
			if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
				t.Errorf("database not at %s: %v", filepath.Join(dir, FileName), err)
			}
			if ents, _ := os.ReadDir(parent); len(ents) != 1 {
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				t.Errorf("stray files beside the data folder: %v", names)
			}
			s = openPath(t, filepath.Join(dir, FileName))
			if list, err := s.ListCMTS(ctx); err != nil || len(list) != 1 {
				t.Errorf("reopened: %v, %v", list, err)
			}
		})
	}
}
