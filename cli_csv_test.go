package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ip6m/store"
)

// TestImportExportCSVCLI: ip6m export csv of a demo network, edited, goes
// back in through ip6m import csv: the dry run reports and writes nothing,
// the import writes the good lines and exits 1 for the bad one.
func TestImportExportCSVCLI(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.FillDemo(ctx, store.DemoOptions{Modems: 20, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	file := filepath.Join(dir, "modems.csv")
	var out, errb bytes.Buffer
	if code := runExport([]string{"csv", file, "--data", dir}, nil, &out, &errb); code != 0 {
		t.Fatalf("export csv: %d %s", code, errb.String())
	}
	exported, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(exported)), "\n")
	if len(lines) != 21 || lines[0] != strings.Join(store.ModemCSVColumns, ",") {
		t.Fatalf("export: %d lines, header %q", len(lines), lines[0])
	}
	// Change one serial, add one good and one bad modem.
	fields := strings.Split(lines[1], ",")
	fields[1] = "SN-EDITED"
	lines[1] = strings.Join(fields, ",")
	plan := strings.Split(lines[2], ",")[5]
	lines = append(lines, "00:25:90:00:00:01,SN-NEW,,,,"+plan+",,,,,yes,", "00:25:90:00:00:02,SN-BAD,,,,No Such Plan,,,,,yes,")
	edited := filepath.Join(dir, "edited.csv")
	os.WriteFile(edited, []byte(strings.Join(lines, "\n")+"\n"), 0o644)

	code, stdout, stderr := importRun(t, "csv", "--dry-run", edited, "--data", dir)
	if code != 1 || !strings.Contains(stdout, "1 created, 1 updated, 19 unchanged, 1 with errors would be written (dry run") ||
		!strings.Contains(stdout, `no plan named "No Such Plan"`) || !strings.Contains(stdout, "updated (serial)") {
		t.Fatalf("dry run: %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = importRun(t, "csv", edited, "--data", dir)
	if code != 1 || !strings.Contains(stdout, "1 created, 1 updated, 19 unchanged, 1 with errors written") {
		t.Fatalf("import: %d\n%s%s", code, stdout, stderr)
	}
	st, err = store.Open(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if m, err := st.ModemByMAC(ctx, "00:25:90:00:00:01"); err != nil || m.Serial != "SN-NEW" {
		t.Errorf("imported modem: %+v %v", m, err)
	}
	if _, err := st.ModemByMAC(ctx, "00:25:90:00:00:02"); err == nil {
		t.Error("the bad line was written")
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"csv"}, 2, "give one FILE (got 0)"},
		{[]string{"csv", "-h"}, 0, "Usage: ip6m import csv"},
		{[]string{"csv", filepath.Join(dir, "missing.csv"), "--data", dir}, 1, "no such file"},
	} {
		code, stdout, stderr := importRun(t, tc.args...)
		if code != tc.code || !strings.Contains(stdout+stderr, tc.want) {
			t.Errorf("import %v: %d, want %d with %q:\n%s%s", tc.args, code, tc.code, tc.want, stdout, stderr)
		}
	}
}
