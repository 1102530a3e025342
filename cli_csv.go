package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"ip6m/dhcp"
	"ip6m/store"
)

const importCSVHelp = `Usage: ip6m import csv [--data DIR] [--dry-run] FILE

Creates or updates (by MAC) the modems of a CSV file. The first line names
the columns, any of: mac (required), serial, vendor, model, customer (the
customer's account number), plan, cmts (names), fixed_ipv4, ipv6, prefix6, enabled
(yes/no), notes. A column left out keeps what the modem has; comma- or
semicolon-separated. ip6m export csv writes the same columns.

Every line is checked like a save in the web UI and reported: created,
updated (with the columns that change), unchanged, or error with the reason.
Lines with an error are skipped; the others are written together, each with
its audit row. FILE "-" reads standard input.

Flags:
  --data DIR    data folder (default ./ip6m-data)
  --dry-run     check and report every line, write nothing
`

func runImportCSV(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("import csv", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, importCSVHelp) }
	data := fs.String("data", "./ip6m-data", "data folder")
	dry := fs.Bool("dry-run", false, "check and report, write nothing")
	// FILE may stand before, between or after the flags.
	files, code, ok := parseFlagsAndFiles(fs, args)
	if !ok {
		return code
	}
	if len(files) != 1 {
		fmt.Fprintf(stderr, "ip6m import csv: give one FILE (got %d)\n\n%s", len(files), importCSVHelp)
		return 2
	}
	in := stdin
	if files[0] != "-" {
		f, err := os.Open(files[0])
		if err != nil {
			fmt.Fprintln(stderr, "ip6m import csv:", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	ctx := context.Background()
	st, err := store.Open(ctx, *data, store.Options{})
	if err != nil {
		fmt.Fprintln(stderr, "ip6m import csv:", err)
		return 1
	}
	defer st.Close()
	start := time.Now()
	rep, err := st.ImportModemsCSV(ctx, "ip6m import csv", in, *dry)
	if err != nil {
		fmt.Fprintf(stderr, "ip6m import csv: %s: %v; nothing was written\n", files[0], err)
		return 1
	}
	writeImportReport(stdout, rep)
	fmt.Fprintf(stdout, "(%s, database %s)\n", time.Since(start).Round(time.Millisecond), st.Path())
	if rep.Errors > 0 {
		return 1
	}
	return 0
}

// writeImportReport prints one line per CSV line and the totals.
func writeImportReport(w io.Writer, rep store.ImportReport) {
	for _, r := range rep.Rows {
		line := fmt.Sprintf("line %-6d %-17s %s", r.Line, r.MAC, r.Result)
		switch {
		case r.Reason != "":
			line += ": " + r.Reason
		case len(r.Changes) > 0:
			line += " (" + strings.Join(r.Changes, ", ") + ")"
		}
		fmt.Fprintln(w, line)
	}
	verb := "written"
	if rep.DryRun {
		verb = "would be written (dry run: nothing was written)"
	}
	fmt.Fprintf(w, "\n%d created, %d updated, %d unchanged, %d with errors %s\n", rep.Created, rep.Updated, rep.Unchanged, rep.Errors, verb)
	if rep.Errors > 0 {
		fmt.Fprintln(w, "Lines with errors were skipped; fix them and import the file again (the lines already in are then unchanged).")
	}
}

// modemCSVExporter is what `ip6m export csv` needs of the store.
type modemCSVExporter interface {
	ExportModemsCSV(ctx context.Context, w io.Writer, f store.ModemFilter) error
}

// exportModemsCSV is `ip6m export csv`: every modem, in the columns import
// csv reads.
func exportModemsCSV(ctx context.Context, src dhcp.ExportSource, w io.Writer, _ string, _ time.Time) error {
	ex, ok := src.(modemCSVExporter)
	if !ok {
		return fmt.Errorf("export csv: %T cannot list modems", src)
	}
	return ex.ExportModemsCSV(ctx, w, store.ModemFilter{})
}
