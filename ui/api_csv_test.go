package ui

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"ip6m/store"
)

// TestAPIModemsCSV: the export is the modem list's filters as the file the
// import reads back; the import's dry run writes nothing, the import writes
// what the dry run said, audited under the token's user; a broken file is
// a 422 and writes nothing.
func TestAPIModemsCSV(t *testing.T) {
	_, _, st, clients := newAPITest(t, 12)
	ctx := context.Background()
	n, _ := st.Count(ctx)
	viewer, op := clients[store.RoleViewer], clients[store.RoleOperator]

	code, b, h := viewer.do("GET", "/api/v1/modems.csv", nil)
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || !strings.Contains(h.Get("Content-Disposition"), "modems-") {
		t.Fatalf("export: %d %v", code, h)
	}
	recs, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil || len(recs) != n.Modems+1 || strings.Join(recs[0], ",") != strings.Join(store.ModemCSVColumns, ",") {
		t.Fatalf("export: %d records (want %d), header %v, %v", len(recs), n.Modems+1, recs[0], err)
	}
	_, b, _ = viewer.do("GET", "/api/v1/modems.csv?enabled=false", nil)
	if lines := strings.Count(string(b), "\n"); lines != n.ModemsDisabled+1 {
		t.Errorf("disabled modems: %d lines, want %d", lines, n.ModemsDisabled+1)
	}
	code, b, h = viewer.do("GET", "/api/v1/modems.csv?cmts_id=x&format=csv", nil)
	if e := apiErr(t, "bad filter", b, h); code != 400 || e.Error.Fields["cmts_id"] == "" || e.Error.Fields["format"] == "" {
		t.Errorf("bad filters: %d %s", code, b)
	}

	// Change one modem's serial, add a new modem and two broken lines.
	first := recs[1]
	first[1] = "SN-FROM-API"
	var file strings.Builder
	w := csv.NewWriter(&file)
	w.Write(recs[0])
	w.Write(first)
	w.WriteAll(recs[2:])
	w.Write([]string{"02:00:5e:00:00:42", "SN-NEW", "", "", "", first[5], first[6], "", "", "", "yes", ""})
	w.Write([]string{"not-a-mac"})
	w.Write([]string{"02:00:5e:00:00:43", "", "", "", "", "No Such Plan", first[6], "", "", "", "yes", ""})
	w.Flush()
	body := file.String()
	badLine := len(recs) + 2

	importCSV := func(c apiClient, query string, want int) importReportJSON {
		t.Helper()
		code, b, _ := c.send("POST", "/api/v1/modems/import"+query, "text/csv; charset=utf-8", strings.NewReader(body))
		if code != want {
			t.Fatalf("import%s: %d %s, want %d", query, code, b, want)
		}
		var rep importReportJSON
		if want == 200 {
			decodeJSON(t, b, &rep)
		}
		return rep
	}
	importCSV(viewer, "?dry_run=true", http.StatusForbidden)
	dry := importCSV(op, "?dry_run=true", 200)
	if !dry.DryRun || dry.Created != 1 || dry.Updated != 1 || dry.Unchanged != n.Modems-1 || dry.Errors != 2 || len(dry.Rows) != n.Modems+3 {
		t.Fatalf("dry run: %+v", dry)
	}
	if r := dry.Rows[0]; r.Line != 2 || r.Result != "updated" || strings.Join(r.Changes, ",") != "serial" || r.MAC != first[0] {
		t.Errorf("the changed line: %+v", r)
	}
	if r := dry.Rows[len(dry.Rows)-2]; r.Line != badLine || r.Result != "error" || r.MAC != "not-a-mac" || !strings.HasPrefix(r.Reason, "mac:") {
		t.Errorf("the line with a bad MAC: %+v", r)
	}
	if r := dry.Rows[len(dry.Rows)-1]; r.Result != "error" || !strings.Contains(r.Reason, "No Such Plan") || r.Changes == nil {
		t.Errorf("the line with an unknown plan: %+v", r)
	}
	if m, _ := st.ModemByMAC(ctx, first[0]); m.Serial == "SN-FROM-API" {
		t.Fatal("the dry run wrote")
	}
	if _, err := st.ModemByMAC(ctx, "02:00:5e:00:00:42"); err == nil {
		t.Fatal("the dry run created a modem")
	}

	real := importCSV(op, "", 200)
	if real.DryRun || real.Created != 1 || real.Updated != 1 || real.Errors != 2 {
		t.Fatalf("import: %+v", real)
	}
	m, _ := st.ModemByMAC(ctx, first[0])
	if m.Serial != "SN-FROM-API" {
		t.Fatalf("after the import: %+v", m)
	}
	if a, _ := st.ListAudit(ctx, "modem", m.ID, 1); len(a) != 1 || a[0].Actor != store.RoleOperator {
		t.Errorf("the import is not audited under the token's user: %+v", a)
	}
	created, err := st.ModemByMAC(ctx, "02:00:5e:00:00:42")
	if err != nil || created.Serial != "SN-NEW" {
		t.Fatalf("created modem: %+v, %v", created, err)
	}

	before, _ := st.Count(ctx)
	for _, tc := range []struct {
		name, query, contentType, body string
		status                         int
		code, msg                      string
	}{
		{"no mac column", "", "text/csv", "serial,plan\nX,Y\n", 422, "validation", "no mac column"},
		{"unknown column", "?dry_run=false", "text/csv", "mac,colour\n00:25:90:ab:cd:01,red\n", 422, "validation", `unknown column "colour"`},
		{"empty file", "", "text/csv", "", 422, "validation", "empty"},
		{"JSON", "", "application/json", `{"mac": "00:25:90:ab:cd:01"}`, 415, "unsupported_media_type", "text/csv"},
		{"bad dry_run", "?dry_run=maybe", "text/csv", "mac\n00:25:90:ab:cd:01\n", 400, "bad_request", "dry_run"},
		{"too large", "", "text/csv", "mac\n" + strings.Repeat("x", apiMaxCSV), 413, "too_large", "16 MiB"},
	} {
		code, b, h := op.send("POST", "/api/v1/modems/import"+tc.query, tc.contentType, strings.NewReader(tc.body))
		e := apiErr(t, tc.name, b, h)
		if code != tc.status || e.Error.Code != tc.code || !strings.Contains(e.Error.Message, tc.msg) {
			t.Errorf("%s: %d %s, want %d %s with %q", tc.name, code, b, tc.status, tc.code, tc.msg)
		}
	}
	if after, _ := st.Count(ctx); after.Modems != before.Modems {
		t.Errorf("refused imports changed the modems: %d → %d", before.Modems, after.Modems)
	}
	// Plain text is a CSV too (curl --data-binary with -H 'Content-Type: text/plain').
	code, b, _ = op.send("POST", "/api/v1/modems/import?dry_run=1", "text/plain", strings.NewReader("mac;serial\n"+strings.ToUpper(first[0])+";SN-FROM-API\n"))
	var semi importReportJSON
	if decodeJSON(t, b, &semi); code != 200 || semi.Unchanged != 1 {
		t.Errorf("a semicolon file as text/plain: %d %s", code, b)
	}
}
