package store

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// Modems in bulk, as CSV: the export writes ModemCSVColumns, the import
// reads any subset of them (mac is required) by their header names, so an
// export edited in a spreadsheet goes back in as it is.

// ModemCSVColumns are a modem CSV's columns, in export order. customer is
// the customer's account number, plan and cmts are names.
var ModemCSVColumns = []string{"mac", "serial", "vendor", "model", "customer", "plan", "cmts", "fixed_ipv4", "ipv6", "prefix6", "enabled", "notes"}

// csvAliases are other header names people use for a column.
var csvAliases = map[string]string{
	"customer_account": "customer", "account": "customer", "customer_id": "customer",
	"plan_name": "plan", "cmts_name": "cmts",
	"fixed_ip": "fixed_ipv4", "ip": "fixed_ipv4", "ipv4": "fixed_ipv4", "fixed_prefix6": "prefix6", "prefix": "prefix6",
	"serial_number": "serial", "mac_address": "mac",
}

// MaxImportRows bounds one CSV import.
const MaxImportRows = 100_000

// ImportRow is the outcome of one CSV line.
type ImportRow struct {
	Line   int    // the line in the file (the header is line 1)
	MAC    string // as normalised, or as written when it is not a MAC
	Result string // "created", "updated", "unchanged" or "error"
	// Reason is why a row is an error, one "field: message" per problem;
	// Changes lists the columns an update changes.
	Reason  string
	Changes []string
}

// ImportReport is what a CSV import did, or, dry, would do.
type ImportReport struct {
	DryRun                              bool
	Rows                                []ImportRow
	Created, Updated, Unchanged, Errors int
}

// ImportFileError is a problem with an import file itself rather than with
// one of its lines (its header, its quoting, its length): nothing was
// imported.
type ImportFileError struct{ Err error }

func (e *ImportFileError) Error() string { return e.Err.Error() }
func (e *ImportFileError) Unwrap() error { return e.Err }

// errDryRun rolls a dry run's transaction back.
var errDryRun = errors.New("dry run")

// ImportModemsCSV creates or updates (by MAC) the modems of a CSV file.
// Each line is validated like a save in the UI and written with its audit
// row; a line with an error is reported and skipped, the others are written
// together in one transaction. With dryRun nothing is written, and the
// report says per line what an import would do (lines are checked in order
// against the lines before them, exactly as the import would). A problem
// with the file itself (no header, an unknown column, no mac column, more
// than MaxImportRows lines) is an *ImportFileError and nothing is written.
func (s *Store) ImportModemsCSV(ctx context.Context, actor string, r io.Reader, dryRun bool) (ImportReport, error) {
	rep := ImportReport{DryRun: dryRun}
	cr, cols, err := openModemCSV(r)
	if err != nil {
		return rep, &ImportFileError{err}
	}
	err = s.inventoryTx(ctx, func(tx *sql.Tx) error {
		im := modemImporter{s: s, tx: tx, actor: actor, cols: cols, seen: map[string]int{}}
		if err := im.loadNames(ctx); err != nil {
			return err
		}
		for n := 0; ; n++ {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return &ImportFileError{err} // a csv.ParseError names its line
			}
			line, _ := cr.FieldPos(0)
			if n >= MaxImportRows {
				return &ImportFileError{fmt.Errorf("line %d: more than %d modems in one file; split it", line, MaxImportRows)}
			}
			if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
				continue // a blank line
			}
			row, err := im.row(ctx, line, rec)
			if err != nil {
				return err
			}
			rep.Rows = append(rep.Rows, row)
			switch row.Result {
			case "created":
				rep.Created++
			case "updated":
				rep.Updated++
			case "unchanged":
				rep.Unchanged++
			default:
				rep.Errors++
			}
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	return rep, err
}

// openModemCSV reads the header: the delimiter is a comma, or a semicolon
// when the header has semicolons and no commas (spreadsheets in many
// locales write those); a UTF-8 byte-order mark is skipped.
func openModemCSV(r io.Reader) (*csv.Reader, []string, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	head, err := br.Peek(64 << 10) // the header line, or as much of it as there is
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, nil, err
	}
	if i := bytes.IndexAny(head, "\r\n"); i >= 0 {
		head = head[:i]
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.LazyQuotes = true // spreadsheets write stray quotes
	if bytes.Contains(head, []byte{';'}) && !bytes.Contains(head, []byte{','}) {
		cr.Comma = ';'
	}
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, errors.New("the file is empty: the first line must name the columns (mac, serial, customer, plan, cmts, …)")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	cols := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		h = strings.ReplaceAll(strings.ReplaceAll(h, " ", "_"), "-", "_")
		if a, ok := csvAliases[h]; ok {
			h = a
		}
		if !slices.Contains(ModemCSVColumns, h) {
			return nil, nil, fmt.Errorf("header: unknown column %q (known: %s)", header[i], strings.Join(ModemCSVColumns, ", "))
		}
		if seen[h] {
			return nil, nil, fmt.Errorf("header: column %q twice", h)
		}
		seen[h] = true
		cols[i] = h
	}
	if !seen["mac"] {
		return nil, nil, errors.New("header: no mac column (the MAC says which modem a line is)")
	}
	return cr, cols, nil
}

// modemImporter turns CSV lines into modem saves inside one transaction.
type modemImporter struct {
	s     *Store
	tx    *sql.Tx
	actor string
	cols  []string
	seen  map[string]int // MAC → the line it was on
	plans map[string]int64
	cmts  map[string]int64
}

func (im *modemImporter) loadNames(ctx context.Context) error {
	load := func(q string) (map[string]int64, error) {
		rows, err := im.tx.QueryContext(ctx, q)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		m := map[string]int64{}
		for rows.Next() {
			var id int64
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				return nil, err
			}
			m[strings.ToLower(name)] = id
		}
		return m, rows.Err()
	}
	var err error
	if im.plans, err = load("SELECT id, name FROM plans"); err != nil {
		return fmt.Errorf("plans: %w", err)
	}
	if im.cmts, err = load("SELECT id, name FROM cmts"); err != nil {
		return fmt.Errorf("CMTSes: %w", err)
	}
	return nil
}

// row imports one line. A line's own problems come back in the row; only a
// database failure is an error.
func (im *modemImporter) row(ctx context.Context, line int, rec []string) (ImportRow, error) {
	row := ImportRow{Line: line, Result: "error"}
	if len(rec) > len(im.cols) {
		row.Reason = fmt.Sprintf("%d values for %d columns", len(rec), len(im.cols))
		return row, nil
	}
	vals := map[string]string{}
	for i, v := range rec {
		vals[im.cols[i]] = csvUnsafe(strings.TrimSpace(v))
	}
	row.MAC = vals["mac"]
	mac, err := NormalizeMAC(vals["mac"])
	if err != nil {
		row.Reason = "mac: " + err.Error()
		return row, nil
	}
	row.MAC = mac
	if first, dup := im.seen[mac]; dup {
		row.Reason = fmt.Sprintf("mac: %s is also on line %d", mac, first)
		return row, nil
	}
	im.seen[mac] = line

	m, err := modemTable.byMAC(ctx, im.tx, mac)
	exists := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return row, err
	}
	if !exists {
		m = Modem{MAC: mac, Enabled: true}
	}
	before := m
	var problems []string
	for _, c := range im.cols {
		v, ok := vals[c]
		if !ok {
			continue // a short line leaves the rest as they are
		}
		switch c {
		case "serial":
			m.Serial = v
		case "vendor":
			m.Vendor = v
		case "model":
			m.Model = v
		case "fixed_ipv4":
			m.FixedIPv4 = v
		case "ipv6":
			m.IPv6 = v
		case "prefix6":
			m.Prefix6 = v
		case "notes":
			m.Notes = v
		case "enabled":
			b, ok := parseCSVBool(v)
			if !ok {
				problems = append(problems, fmt.Sprintf("enabled: %q is not yes or no", v))
			}
			m.Enabled = b
		case "plan":
			m.PlanID = byName(im.plans, "plan", "plan", v, &problems)
		case "cmts":
			m.CMTSID = byName(im.cmts, "cmts", "CMTS", v, &problems)
		case "customer":
			m.CustomerID = 0
			if v != "" {
				err := im.tx.QueryRowContext(ctx, "SELECT id FROM customers WHERE account = ?", v).Scan(&m.CustomerID)
				if errors.Is(err, sql.ErrNoRows) {
					problems = append(problems, fmt.Sprintf("customer: no customer with account %q", v))
				} else if err != nil {
					return row, err
				}
			}
		}
	}
	if len(problems) > 0 {
		row.Reason = strings.Join(problems, "; ")
		return row, nil
	}
	if exists {
		row.Changes = modemChanges(before, m)
		if len(row.Changes) == 0 {
			row.Result = "unchanged"
			return row, nil
		}
		err = modemTable.updateIn(ctx, im.tx, im.s, im.actor, &m)
	} else {
		err = modemTable.createIn(ctx, im.tx, im.s, im.actor, &m)
	}
	var verr *ValidationError
	switch {
	case errors.As(err, &verr):
		row.Reason = verr.fieldsText()
		row.Changes = nil
		return row, nil
	case err != nil:
		return row, err
	}
	row.Result = map[bool]string{true: "updated", false: "created"}[exists]
	return row, nil
}

// byName is the id of the row named v (any case) in names; 0 for an empty
// v, or, with a problem noted, for a name that is not there.
func byName(names map[string]int64, column, what, v string, problems *[]string) int64 {
	if v == "" {
		return 0
	}
	id, ok := names[strings.ToLower(v)]
	if !ok {
		*problems = append(*problems, fmt.Sprintf("%s: no %s named %q", column, what, v))
	}
	return id
}

// fieldsText is "field: message; field: message", by field name.
func (e *ValidationError) fieldsText() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		name := strings.TrimSuffix(k, "_id")
		parts[i] = name + ": " + e.Fields[k]
	}
	return strings.Join(parts, "; ")
}

// modemChanges names the columns that differ between a and b.
func modemChanges(a, b Modem) []string {
	var out []string
	add := func(name string, differ bool) {
		if differ {
			out = append(out, name)
		}
	}
	add("serial", a.Serial != b.Serial)
	add("vendor", a.Vendor != b.Vendor)
	add("model", a.Model != b.Model)
	add("customer", a.CustomerID != b.CustomerID)
	add("plan", a.PlanID != b.PlanID)
	add("cmts", a.CMTSID != b.CMTSID)
	add("fixed_ipv4", a.FixedIPv4 != b.FixedIPv4)
	add("ipv6", a.IPv6 != b.IPv6)
	add("prefix6", a.Prefix6 != b.Prefix6)
	add("enabled", a.Enabled != b.Enabled)
	add("notes", a.Notes != b.Notes)
	return out
}

func parseCSVBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "", "1", "yes", "y", "true", "on", "enabled":
		return true, true
	case "0", "no", "n", "false", "off", "disabled":
		return false, true
	}
	return true, false
}

// ExportModemsCSV writes the modems matching f as CSV with
// ModemCSVColumns, in MAC order: a file ImportModemsCSV reads back.
func (s *Store) ExportModemsCSV(ctx context.Context, w io.Writer, f ModemFilter) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(ModemCSVColumns); err != nil {
		return err
	}
	const batch = 1000
	for off := 0; ; off += batch {
		list, _, err := s.ListModems(ctx, f, Page{Offset: off, Size: batch})
		if err != nil {
			return err
		}
		for _, m := range list {
			enabled := "yes"
			if !m.Enabled {
				enabled = "no"
			}
			rec := []string{m.MAC, CSVSafe(m.Serial), CSVSafe(m.Vendor), CSVSafe(m.Model), CSVSafe(m.CustomerAccount), CSVSafe(m.PlanName), CSVSafe(m.CMTSName),
				m.FixedIPv4, m.IPv6, m.Prefix6, enabled, CSVSafe(m.Notes)}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		if len(list) < batch {
			break
		}
	}
	cw.Flush()
	return cw.Error()
}

// CSVSafe keeps a spreadsheet from running a cell as a formula: a value
// starting with = + @ or a tab or CR gets a leading apostrophe (which the
// import takes off again, so an export imports back unchanged).
func CSVSafe(v string) string {
	if v != "" && strings.ContainsRune("=+@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// csvUnsafe undoes CSVSafe.
func csvUnsafe(v string) string {
	if len(v) > 1 && v[0] == '\'' && strings.ContainsRune("=+@\t\r", rune(v[1])) {
		return v[1:]
	}
	return v
}
