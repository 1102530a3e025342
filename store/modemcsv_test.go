package store

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateCSV = flag.Bool("update-csv", false, "rewrite the CSV import golden report")

// reportText is a stable text form of a report for the golden file.
func reportText(rep ImportReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "dry=%v created=%d updated=%d unchanged=%d errors=%d\n", rep.DryRun, rep.Created, rep.Updated, rep.Unchanged, rep.Errors)
	for _, r := range rep.Rows {
		fmt.Fprintf(&b, "line %d %s %s", r.Line, r.MAC, r.Result)
		if r.Reason != "" {
			fmt.Fprintf(&b, " — %s", r.Reason)
		}
		if len(r.Changes) > 0 {
			fmt.Fprintf(&b, " [%s]", strings.Join(r.Changes, ","))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// TestImportModemsCSV: a file with good and bad lines. The dry run reports
// per line and writes nothing; the import writes exactly the good lines,
// each audited, and reports the same.
func TestImportModemsCSV(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	f := newFixture(t, s)
	existing := mustCreateModem(t, s, f.modem("44:32:c8:21:09:e7"))
	if err := s.CreateMTA(ctx, "test", &MTA{MAC: "44:32:c8:21:09:e8", ModemID: existing.ID}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("testdata", "csv", "mixed.csv"))
	if err != nil {
		t.Fatal(err)
	}
	dry, err := s.ImportModemsCSV(ctx, "alice", bytes.NewReader(data), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, total, _ := s.ListModems(ctx, ModemFilter{}, Page{}); total != 1 {
		t.Fatalf("the dry run wrote: %d modems, want 1", total)
	}
	if m, _ := s.ModemByMAC(ctx, existing.MAC); m.Serial != "" {
		t.Fatalf("the dry run updated modem %s: serial %q", m.MAC, m.Serial)
	}
	real, err := s.ImportModemsCSV(ctx, "alice", bytes.NewReader(data), false)
	if err != nil {
		t.Fatal(err)
	}
	got := reportText(dry) + "---\n" + reportText(real)
	golden := filepath.Join("testdata", "csv", "mixed.golden")
	if *updateCSV {
		os.WriteFile(golden, []byte(got), 0o644)
	}
	want, _ := os.ReadFile(golden)
	if got != string(want) {
		t.Errorf("report differs from %s (-update-csv to rewrite):\n%s", golden, got)
	}
	if dry.Created != real.Created || dry.Updated != real.Updated || dry.Errors != real.Errors {
		t.Errorf("the dry run promised %d/%d/%d, the import did %d/%d/%d", dry.Created, dry.Updated, dry.Errors, real.Created, real.Updated, real.Errors)
	}
	m, err := s.ModemByMAC(ctx, "00:25:90:ab:cd:02")
	if err != nil {
		t.Fatal(err)
	}
	if m.Enabled || m.FixedIPv4 != "10.10.1.50" || m.CMTSID != f.cmts2.ID || m.PlanID != f.business.ID || m.CustomerID != 0 {
		t.Errorf("imported modem = %+v", m)
	}
	if m, _ := s.ModemByMAC(ctx, existing.MAC); m.Serial != "SN-UPDATED" {
		t.Errorf("updated modem serial %q", m.Serial)
	}
	if trail := auditTrail(t, s, "modem", m.ID); len(trail) != 1 || trail[0].Actor != "alice" || trail[0].Action != "create" {
		t.Errorf("audit of an imported modem: %+v", trail)
	}
	// Importing the same file again changes nothing.
	again, err := s.ImportModemsCSV(ctx, "alice", bytes.NewReader(data), false)
	if err != nil {
		t.Fatal(err)
	}
	if again.Created != 0 || again.Updated != 0 || again.Unchanged != real.Created+real.Updated {
		t.Errorf("second import: %s", reportText(again))
	}
}

// TestModemsCSVRoundTrip: an export imports back unchanged, and a
// semicolon-separated file with a byte-order mark reads the same.
func TestModemsCSVRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	if _, err := s.FillDemo(ctx, DemoOptions{Modems: 40, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := s.ExportModemsCSV(ctx, &out, ModemFilter{}); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(out.String(), "\n"); lines != 41 {
		t.Fatalf("export has %d lines, want header + 40", lines)
	}
	rep, err := s.ImportModemsCSV(ctx, "t", bytes.NewReader(out.Bytes()), false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Unchanged != 40 || rep.Errors != 0 {
		t.Errorf("re-import of the export: %s", reportText(rep))
	}
	// A note a spreadsheet would run as a formula is exported defused and
	// imports back as it was.
	list, _, _ := s.ListModems(ctx, ModemFilter{}, Page{Size: 1})
	m := list[0].Modem
	m.Notes = "=HYPERLINK(\"http://x\")"
	if err := s.UpdateModem(ctx, "t", &m); err != nil {
		t.Fatal(err)
	}
	var out2 bytes.Buffer
	if err := s.ExportModemsCSV(ctx, &out2, ModemFilter{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out2.String(), `'=HYPERLINK`) {
		t.Errorf("the export does not defuse a formula:\n%.300s", out2.String())
	}
	if rep, err := s.ImportModemsCSV(ctx, "t", bytes.NewReader(out2.Bytes()), false); err != nil || rep.Unchanged != 40 {
		t.Errorf("re-import of the defused export: %v %s", err, reportText(rep))
	}
	semi := "\xef\xbb\xbfmac;serial\r\n" + strings.ReplaceAll(strings.SplitN(out.String(), "\n", 3)[1], ",", ";") + "\r\n"
	semi = strings.Join(strings.Split(semi, ";")[:2], ";") + "\r\n"
	rep, err = s.ImportModemsCSV(ctx, "t", strings.NewReader(semi), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 1 || rep.Rows[0].Result != "unchanged" {
		t.Errorf("semicolon file: %s", reportText(rep))
	}
}

// TestImportModemsCSVFileErrors: problems with the file itself write
// nothing and say what is wrong.
func TestImportModemsCSVFileErrors(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{"serial,plan\nX,Y\n", "no mac column"},
		{"mac,colour\n00:25:90:ab:cd:01,red\n", `unknown column "colour"`},
		{"mac,MAC\n", `column "mac" twice`},
	} {
		_, err := s.ImportModemsCSV(ctx, "t", strings.NewReader(tc.in), false)
		var ferr *ImportFileError
		if !errors.As(err, &ferr) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("import %q: %v, want an ImportFileError with %q", tc.in, err, tc.want)
		}
	}
	if _, total, _ := s.ListModems(ctx, ModemFilter{}, Page{}); total != 0 {
		t.Errorf("a failed import wrote %d modems", total)
	}
}

func FuzzImportModemsCSV(f *testing.F) {
	data, _ := os.ReadFile(filepath.Join("testdata", "csv", "mixed.csv"))
	f.Add(data)
	f.Add([]byte("mac;serial\n0025.90ab.cdef;x\n"))
	s := newTestStore(f, Options{})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 1<<16 {
			return
		}
		rep, err := s.ImportModemsCSV(ctx, "fuzz", bytes.NewReader(in), true)
		if err != nil {
			return
		}
		if rep.Created+rep.Updated+rep.Unchanged+rep.Errors != len(rep.Rows) {
			t.Fatalf("report counts do not add up: %+v", rep)
		}
	})
}
