package main

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ip6m/store"
)

func mustMAC(t testing.TB, s string) MAC {
	t.Helper()
	m, err := parseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseMACList(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{
			name: "every notation",
			in:   "44:32:c8:21:09:e7\n44-32-C8-21-09-E8\n4432.c821.09e9\n4432c82109ea\n0:1e:6b:e6:b4:a5\n",
			want: []string{"44:32:c8:21:09:e7", "44:32:c8:21:09:e8", "44:32:c8:21:09:e9", "44:32:c8:21:09:ea", "00:1e:6b:e6:b4:a5"},
		},
		{
			name: "comments, blanks, CSV and CRLF",
			in:   "# modems\r\n\r\n  44:32:c8:21:09:e7 , customer 1\r\n\t0c:ee:e6:e5:35:2c;x\r\n",
			want: []string{"44:32:c8:21:09:e7", "0c:ee:e6:e5:35:2c"},
		},
		{name: "empty", in: "\n# nothing\n", want: nil},
		{name: "bad MAC names its line", in: "44:32:c8:21:09:e7\nnot-a-mac\n", wantErr: "list:2:"},
		{name: "separators only", in: ",,,\n", wantErr: "list:1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMACList(strings.NewReader(tt.in), "list")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, m := range got {
				s = append(s, m.String())
			}
			if !slices.Equal(s, tt.want) {
				t.Errorf("got %v, want %v", s, tt.want)
			}
		})
	}
}

func TestMACAdd(t *testing.T) {
	tests := []struct {
		in   string
		n    uint64
		want string
	}{
		{"44:32:c8:21:09:e7", 1, "44:32:c8:21:09:e8"},
		{"44:32:c8:21:09:ff", 1, "44:32:c8:21:0a:00"},
		{"ff:ff:ff:ff:ff:fe", 2, "00:00:00:00:00:00"},
	}
	for _, tt := range tests {
		if got := mustMAC(t, tt.in).Add(tt.n).String(); got != tt.want {
			t.Errorf("%s + %d = %s, want %s", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestRandomMACs(t *testing.T) {
	oui, err := parseOUI("00-00-CA")
	if err != nil {
		t.Fatal(err)
	}
	a, err := randomMACs(5000, oui, 42)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := randomMACs(5000, oui, 42)
	c, _ := randomMACs(5000, oui, 43)
	if !slices.Equal(a, b) {
		t.Error("same seed, different MACs")
	}
	if slices.Equal(a, c) {
		t.Error("different seeds, same MACs")
	}
	// Every modem, its MTA (+1) and its CPE (+2) are distinct.
	seen := map[MAC]bool{}
	for _, m := range a {
		if m[0] != 0 || m[1] != 0 || m[2] != 0xca {
			t.Fatalf("%v is not under 00:00:ca", m)
		}
		for k := range uint64(3) {
			if seen[m.Add(k)] {
				t.Fatalf("%v+%d collides", m, k)
			}
			seen[m.Add(k)] = true
		}
	}
	if _, err := randomMACs(maxRandom+1, oui, 1); err == nil {
		t.Error("accepted more random MACs than fit")
	}
	for _, bad := range []string{"00:00", "zz:00:ca", "00:00:ca:01"} {
		if _, err := parseOUI(bad); err == nil {
			t.Errorf("parseOUI(%q) accepted", bad)
		}
	}
}

// makeDB writes an ip6m-like database holding the modems table (the columns
// dhcpload reads) into a fresh data folder.
func makeDB(t *testing.T, rows map[string]int) string {
	t.Helper()
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "ip6m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE modems (id INTEGER PRIMARY KEY, mac TEXT NOT NULL UNIQUE, enabled INTEGER NOT NULL DEFAULT 1)`); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, mac := range keys {
		if _, err := db.Exec(`INSERT INTO modems (mac, enabled) VALUES (?, ?)`, mac, rows[mac]); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestReadDBMACs(t *testing.T) {
	dir := makeDB(t, map[string]int{
		"44:32:c8:21:09:e7": 1,
		"44:32:c8:41:8c:67": 0, // disabled: not part of the load
		"00:1e:6b:e6:b4:a5": 1,
	})
	got, err := readDBMACs(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []MAC{mustMAC(t, "00:1e:6b:e6:b4:a5"), mustMAC(t, "44:32:c8:21:09:e7")}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// Read-only: the file is unchanged and no journal is left behind.
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("data folder holds %v after a read", entries)
	}
	if _, err := readDBMACs(context.Background(), t.TempDir()); err == nil {
		t.Error("a folder without ip6m.db was accepted")
	}
}

func TestLoadPopulation(t *testing.T) {
	dir := makeDB(t, map[string]int{"00:00:ca:00:00:04": 1, "00:00:ca:00:00:08": 1})
	file := filepath.Join(t.TempDir(), "macs.txt")
	if err := os.WriteFile(file, []byte("0000.ca00.0004\n00:00:ca:00:00:0c\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := loadPopulation(context.Background(), PopulationSpec{MACFile: file, DBDir: dir, Random: 3, OUI: [3]byte{2, 0, 0}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	// file (2), random (3), db (2) less the MAC named twice.
	if len(got) != 6 {
		t.Errorf("got %d modems %v, want 6", len(got), got)
	}
	if _, err := loadPopulation(context.Background(), PopulationSpec{}); !errors.Is(err, errNoPopulation) {
		t.Errorf("empty spec: %v", err)
	}
}

// TestReadDBMACsFromStore reads a data folder made by ip6m's own store (the
// real schema, WAL mode) while the store still has it open, as a running
// ip6m would.
func TestReadDBMACsFromStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.FillDemo(ctx, store.DemoOptions{Modems: 40, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	got, err := readDBMACs(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("no modems read")
	}
	enabled := 0
	for _, m := range got {
		mod, err := st.ModemByMAC(ctx, m.String())
		if err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		if !mod.Enabled {
			t.Errorf("%v is disabled but was read", m)
		}
		enabled++
	}
	all, total, err := st.ListModems(ctx, store.ModemFilter{}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, row := range all {
		if row.Enabled {
			want++
		}
	}
	if enabled != want || total < want {
		t.Errorf("read %d modems, the store has %d enabled of %d", enabled, want, total)
	}
}
