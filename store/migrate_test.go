package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dumpSchema renders sqlite_master (tables, indexes, triggers, views) in a
// stable order, one object per block.
func dumpSchema(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query(`SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name`)
	if err != nil {
		t.Fatalf("read schema: %v", err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var typ, name, text string
		if err := rows.Scan(&typ, &name, &text); err != nil {
			t.Fatalf("read schema: %v", err)
		}
		fmt.Fprintf(&b, "-- %s %s\n%s;\n\n", typ, name, text)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read schema: %v", err)
	}
	return b.String()
}

func schemaVersionOf(t *testing.T, s *Store) int {
	t.Helper()
	v, err := s.schemaVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMigrationsAreNumberedWithoutGaps(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || SchemaVersion() != len(ms) {
		t.Fatalf("SchemaVersion() = %d with %d migrations", SchemaVersion(), len(ms))
	}
	for i, m := range ms {
		if m.version != i+1 || !strings.HasPrefix(m.name, fmt.Sprintf("%04d_", i+1)) {
			t.Errorf("migration %d is %d %q", i, m.version, m.name)
		}
	}
}

func TestMigrateEmptyToLatestMatchesGolden(t *testing.T) {
	s := newTestStore(t, Options{})
	if got, want := schemaVersionOf(t, s), SchemaVersion(); got != want {
		t.Fatalf("schema version = %d, want %d", got, want)
	}
	got := dumpSchema(t, s.read)
	golden := filepath.Join("testdata", "schema.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./store/ -run Golden -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("schema differs from %s (run with -update if the change is intended):\n%s", golden, lineDiff(string(want), got))
	}
}

// lineDiff lists the lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	w, g := in(want), in(got)
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}

func TestReopenIsNoOp(t *testing.T) {
	ctx := context.Background()
	path := tempDBPath(t)
	clock := newFakeClock()
	s, err := OpenFile(ctx, path, Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	c := CMTS{Name: "CMTS-1"}
	if err := s.CreateCMTS(ctx, "test", &c); err != nil {
		t.Fatal(err)
	}
	schema := dumpSchema(t, s.read)
	applied := appliedMigrations(t, s.read)
	s.Close()

	clock.Advance(time.Hour)
	for i := range 2 {
		s, err := OpenFile(ctx, path, Options{Now: clock.Now})
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		if got := dumpSchema(t, s.read); got != schema {
			t.Errorf("reopen %d changed the schema:\n%s", i, lineDiff(schema, got))
		}
		if got := appliedMigrations(t, s.read); got != applied {
			t.Errorf("reopen %d: schema_migrations = %q, want %q", i, got, applied)
		}
		if _, err := s.GetCMTS(ctx, c.ID); err != nil {
			t.Errorf("reopen %d: %v", i, err)
		}
		s.Close()
	}
}

func appliedMigrations(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query(`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var v, at int64
		var name string
		if err := rows.Scan(&v, &name, &at); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%d %s %d\n", v, name, at)
	}
	return b.String()
}

// versionSeeds insert rows into a database at (at least) the given schema
// version, with plain SQL as that version's binary would have written them.
// Later migrations only add columns, so rows written at version v stay
// valid; a migration that changes that must add its own seed here.
var versionSeeds = []struct {
	since int
	sql   string
	// check is a query that must return 1 after migrating to the latest.
	check string
}{
	{1, `INSERT INTO cmts(id, name, shared_secret, created_at, updated_at) VALUES (1, 'CMTS-1', 'secret', 1, 1)`,
		`SELECT COUNT(*) = 1 FROM cmts WHERE name = 'CMTS-1' AND shared_secret = 'secret'`},
	{1, `INSERT INTO networks(id, cmts_id, family, prefix, purpose, created_at, updated_at) VALUES (1, 1, 6, '2001:db8:4:11::/64', 'cm', 1, 1)`,
		`SELECT COUNT(*) = 1 FROM networks WHERE prefix = '2001:db8:4:11::/64'`},
	{1, `INSERT INTO pd_pools(network_id, first, last, delegated_len) VALUES (1, '2001:db8:4:100::', '2001:db8:4:200::', 64)`,
		`SELECT COUNT(*) = 1 FROM pd_pools WHERE delegated_len = 64`},
	{1, `INSERT INTO plans(id, name, config, created_at, updated_at) VALUES (1, 'Basic', 'Main { }', 1, 1)`,
		`SELECT COUNT(*) = 1 FROM plans WHERE name = 'Basic'`},
	{1, `INSERT INTO customers(id, account, name, created_at, updated_at) VALUES (1, 'C1', 'Nagy Anna', 1, 1)`,
		`SELECT COUNT(*) = 1 FROM customers WHERE account = 'C1'`},
	{1, `INSERT INTO modems(id, mac, customer_id, plan_id, cmts_id, created_at, updated_at) VALUES (1, '44:32:c8:21:09:e7', 1, 1, 1, 1, 1)`,
		`SELECT COUNT(*) = 1 FROM modems WHERE mac = '44:32:c8:21:09:e7' AND enabled = 1`},
	{1, `INSERT INTO mtas(mac, modem_id, created_at, updated_at) VALUES ('44:32:c8:21:09:e8', 1, 1, 1)`,
		`SELECT COUNT(*) = 1 FROM mtas WHERE modem_id = 1`},
	{1, `INSERT INTO cpes(mac, modem_id, created_at, updated_at) VALUES ('44:32:c8:21:09:e9', 1, 1, 1)`,
		`SELECT COUNT(*) = 1 FROM cpes WHERE modem_id = 1`},
	{1, `INSERT INTO users(id, name, password_hash, role, created_at, updated_at) VALUES (1, 'admin', 'x', 'admin', 1, 1)`,
		`SELECT COUNT(*) = 1 FROM users WHERE name = 'admin'`},
	{1, `INSERT INTO audit_log(at, actor, action, entity) VALUES (1, 'system', 'create', 'cmts')`,
		`SELECT COUNT(*) = 1 FROM audit_log`},
}

func TestMigrateFromEveryEarlierVersion(t *testing.T) {
	ctx := context.Background()
	latest := SchemaVersion()
	for v := 0; v <= latest; v++ {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			path := tempDBPath(t)
			old, err := openFile(ctx, path, Options{}, v)
			if err != nil {
				t.Fatalf("build version %d: %v", v, err)
			}
			if got := schemaVersionOf(t, old); got != v {
				t.Fatalf("built database is at version %d, want %d", got, v)
			}
			for _, seed := range versionSeeds {
				if seed.since <= v {
					if _, err := old.write.Exec(seed.sql); err != nil {
						t.Fatalf("seed at version %d: %s: %v", v, seed.sql, err)
					}
				}
			}
			old.Close()

			s := openPath(t, path)
			if got := schemaVersionOf(t, s); got != latest {
				t.Errorf("after migrating: version %d, want %d", got, latest)
			}
			for _, seed := range versionSeeds {
				if seed.since > v {
					continue
				}
				var ok bool
				if err := s.read.QueryRow(seed.check).Scan(&ok); err != nil || !ok {
					t.Errorf("row lost in migration: %s: ok=%v err=%v", seed.check, ok, err)
				}
			}
			var fk int
			if err := s.read.QueryRow(`SELECT COUNT(*) FROM pragma_foreign_key_check`).Scan(&fk); err != nil || fk != 0 {
				t.Errorf("foreign key check: %d violations, err %v", fk, err)
			}
			// The migrated database has the same schema as a fresh one.
			fresh := newTestStore(t, Options{})
			if got, want := dumpSchema(t, s.read), dumpSchema(t, fresh.read); got != want {
				t.Errorf("schema after migrating from v%d differs from a fresh database:\n%s", v, lineDiff(want, got))
			}
		})
	}
}

func TestNewerDatabaseRefused(t *testing.T) {
	ctx := context.Background()
	path := tempDBPath(t)
	s := openPath(t, path)
	newer := SchemaVersion() + 1
	if _, err := s.write.Exec(`INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, 'future.sql', 0)`, newer); err != nil {
		t.Fatal(err)
	}
	schema := dumpSchema(t, s.read)
	s.Close()

	_, err := OpenFile(ctx, path, Options{})
	if err == nil {
		t.Fatal("OpenFile accepted a database from a newer ip6m")
	}
	for _, want := range []string{fmt.Sprint(newer), "newer than this ip6m", "use a newer binary"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	// Refused, not touched.
	raw := openRawForTest(t, path)
	if got := dumpSchema(t, raw); got != schema {
		t.Errorf("refused database was changed:\n%s", lineDiff(schema, got))
	}
}

// openRawForTest opens path with database/sql only, running no migrations.
func openRawForTest(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestPragmasOnEveryConnection(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	want := map[string]string{
		"journal_mode": "wal",
		"foreign_keys": "1",
		"synchronous":  "2", // FULL
		"busy_timeout": "10000",
	}
	check := func(t *testing.T, who string, q interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}) {
		t.Helper()
		for p, w := range want {
			var got string
			if err := q.QueryRowContext(ctx, "PRAGMA "+p).Scan(&got); err != nil {
				t.Errorf("%s: PRAGMA %s: %v", who, p, err)
				continue
			}
			if got != w {
				t.Errorf("%s: PRAGMA %s = %s, want %s", who, p, got, w)
			}
		}
	}
	t.Run("write", func(t *testing.T) {
		wc, err := s.write.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer wc.Close()
		check(t, "writer", wc)
		var qo string
		wc.QueryRowContext(ctx, "PRAGMA query_only").Scan(&qo)
		if qo != "0" {
			t.Errorf("writer: query_only = %s", qo)
		}
	})
	t.Run("read", func(t *testing.T) {
		// Hold several connections at once so the pool has to open new ones.
		var conns []*sql.Conn
		for i := range 4 {
			c, err := s.read.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			check(t, fmt.Sprintf("reader %d", i), c)
			if _, err := c.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES ('x', 'y')`); err == nil {
				t.Errorf("reader %d accepted a write", i)
			}
		}
		for _, c := range conns {
			c.Close()
		}
	})
	t.Run("after backup", func(t *testing.T) {
		// Backup lifts query_only on one reader; the pool must stay read-only.
		if err := s.Backup(ctx, filepath.Join(t.TempDir(), "copy.db")); err != nil {
			t.Fatal(err)
		}
		var conns []*sql.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for i := range 4 {
			c, err := s.read.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			if _, err := c.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES ('x', 'y')`); err == nil {
				t.Errorf("reader %d accepted a write after a backup", i)
			}
		}
	})
}
