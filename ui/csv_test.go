package ui

import (
	"bytes"
	"context"
	"encoding/csv"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"ip6m/store"
)

// TestListCSV: every list downloads as CSV with the filters on screen and
// all pages; modems in the columns the import reads.
func TestListCSV(t *testing.T) {
	_, ts, st := newTestServer(t, 60)
	c := newClient(t, ts)
	c.login(store.RoleViewer)
	ctx := context.Background()

	_, body, _ := c.get("/modems")
	if !strings.Contains(body, "Download as CSV") || strings.Contains(body, "Import CSV") {
		t.Error("a viewer's modems list: want a CSV download and no import button")
	}
	resp, err := c.hc.Get(ts.URL + "/modems?format=csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") || !strings.Contains(resp.Header.Get("Content-Disposition"), "modems-") {
		t.Errorf("headers %v", resp.Header)
	}
	if len(recs) != 61 || strings.Join(recs[0], ",") != strings.Join(store.ModemCSVColumns, ",") {
		t.Fatalf("modems CSV: %d records, header %v; want 60 modems in the import columns", len(recs), recs[0])
	}

	// The filter applies: one plan's modems only.
	plans, _ := st.ListPlans(ctx)
	_, total, _ := st.ListModems(ctx, store.ModemFilter{PlanID: plans[0].ID}, store.Page{})
	_, body, _ = c.get("/modems?format=csv&plan=" + idString(plans[0].ID))
	if n := strings.Count(body, "\n") - 1; n != total {
		t.Errorf("filtered CSV has %d modems, want %d", n, total)
	}

	// A generic list: the table as shown.
	_, body, _ = c.get("/customers?format=csv")
	if !strings.HasPrefix(body, "Account,Name,Address,Phone,E-mail\n") || strings.Count(body, "\n") < 2 {
		t.Errorf("customers CSV:\n%.300s", body)
	}
}

func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{"=cmd|' /C calc'!A0": "'=cmd|' /C calc'!A0", "+1": "'+1", "@x": "'@x", "-3.5": "-3.5", "plain": "plain", "": ""} {
		if got := store.CSVSafe(in); got != want {
			t.Errorf("CSVSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestModemImportPage: upload a CSV with good and bad lines, see the dry
// run report, confirm, and the good lines are in; viewers may not.
func TestModemImportPage(t *testing.T) {
	_, ts, st := newTestServer(t, 3)
	ctx := context.Background()
	plans, _ := st.ListPlans(ctx)
	c := newClient(t, ts)
	c.login(store.RoleOperator)
	_, body, _ := c.get("/modems")
	if !strings.Contains(body, `href="/modems/import"`) {
		t.Error("an operator's modems list has no import button")
	}
	file := "mac,serial,plan\n00:25:90:00:00:01,SN-A," + plans[0].Name + "\nnot-a-mac,SN-B," + plans[0].Name + "\n00:25:90:00:00:03,SN-C,Nope\n"

	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", c.csrf)
	fw, _ := mw.CreateFormFile("file", "modems.csv")
	fw.Write([]byte(file))
	mw.Close()
	req, _ := http.NewRequest("POST", ts.URL+"/modems/import", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", ts.URL)
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.ReadFrom(resp.Body)
	resp.Body.Close()
	body = out.String()
	for _, w := range []string{"Dry run: nothing was written", "Lines with errors", "is not a MAC address", `no plan named &#34;Nope&#34;`, "Import 1 lines", "(skip 2 with errors)"} {
		if !strings.Contains(body, w) {
			t.Errorf("dry-run report lacks %q", w)
		}
	}
	if _, err := st.ModemByMAC(ctx, "00:25:90:00:00:01"); err == nil {
		t.Fatal("the dry run wrote a modem")
	}

	v := newClient(t, ts)
	v.login(store.RoleViewer)
	if code, _, _ := v.post("/modems/import", url.Values{"csrf": {v.csrf}, "content": {file}, "confirm": {"1"}}, ts.URL); code != http.StatusForbidden {
		t.Errorf("viewer import: %d, want 403", code)
	}

	code, body, _ := c.post("/modems/import", url.Values{"csrf": {c.csrf}, "content": {file}, "confirm": {"1"}}, ts.URL)
	if code != http.StatusOK || !strings.Contains(body, "Imported: 1 created") || !strings.Contains(body, "2 lines with errors were skipped") {
		t.Errorf("import: %d\n%s", code, body)
	}
	if m, err := st.ModemByMAC(ctx, "00:25:90:00:00:01"); err != nil || m.Serial != "SN-A" {
		t.Errorf("imported modem %+v %v", m, err)
	}

	// A file that is not a modem CSV writes nothing and says why.
	code, body, _ = c.post("/modems/import", url.Values{"csrf": {c.csrf}, "content": {"serial\nx\n"}}, ts.URL)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "no mac column") {
		t.Errorf("bad file: %d", code)
	}
}

// TestLeaseHistoryCSV: the abuse desk's answer downloads as CSV.
func TestLeaseHistoryCSV(t *testing.T) {
	_, ts, st := newTestServer(t, 3)
	ctx := context.Background()
	m, _ := st.ModemByMAC(ctx, "44:32:c8:21:09:e7")
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	op := store.LeaseOp{Event: store.EventGrant, ModemMAC: m.MAC, CustomerID: m.CustomerID, V4: &store.Lease4{
		IP: "100.64.0.23", MAC: "44:32:c8:21:09:e9", Kind: store.KindCPE, State: store.StateActive, ModemID: m.ID, GiAddr: "100.64.0.1",
		Starts: day, Ends: day.Add(12 * time.Hour)}}
	if err := st.CommitLeases(ctx, op); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, ts)
	c.login(store.RoleViewer)
	_, body, _ := c.get("/leases?q=100.64.0.23")
	if !strings.Contains(body, "Download as CSV") {
		t.Fatal("lease history result has no CSV download")
	}
	_, body, _ = c.get("/leases?q=100.64.0.23&format=csv")
	if !strings.HasPrefix(body, "From,Until,Event,Address,Device,Modem,Customer,Relay\n") || !strings.Contains(body, "100.64.0.23") || !strings.Contains(body, m.MAC) {
		t.Errorf("history CSV:\n%s", body)
	}
}
