package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"ip6m/internal/events"
	"ip6m/store"
)

// browserLogin logs the browser in as the user named after role.
func browserLogin(t *testing.T, ctx context.Context, base, role string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), role),
		chromedp.SendKeys(chromedp.CSS(`#password`), testUsers[role]),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`nav.menu`)),
	); err != nil {
		t.Fatalf("log in as %s: %v", role, err)
	}
}

// textOf reads the text of the first element matching sel.
func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return text
}

// TestBrowserTroubleshootingDesk is the abuse desk and the support line: a
// CPE's address leads to its modem, whose page shows the leases, the
// config it gets and its graph; a past address at a past time leads to the
// customer; a viewer sees no reset button; the events page streams.
func TestBrowserTroubleshootingDesk(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	s, ts, st := newTestServer(t, 30)
	ctx0 := context.Background()
	m, err := st.ModemByMAC(ctx0, "44:32:c8:21:09:e7")
	if err != nil {
		t.Fatal(err)
	}
	cust, _ := st.GetCustomer(ctx0, m.CustomerID)
	s.cfg.Configs = tftpConfigs(t, st)
	s.cfg.Series = testSeries(t, m.MAC)
	s.cfg.Live = NewLive()
	s.cfg.Events = events.New(0)
	s.cfg.ResetModem = func(context.Context, string) error { return nil }

	now := time.Now().UTC().Truncate(time.Second)
	past := time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)
	for _, op := range []store.LeaseOp{
		// The CPE's lease now, and someone else's lease of the abuse
		// address a month ago.
		{Event: store.EventGrant, ModemMAC: m.MAC, CustomerID: m.CustomerID, V4: &store.Lease4{IP: "100.64.7.23", MAC: "44:32:c8:21:09:e9", Kind: store.KindCPE,
			State: store.StateActive, ModemID: m.ID, GiAddr: "100.64.0.1", Starts: now.Add(-time.Hour), Ends: now.Add(23 * time.Hour)}},
		{Event: store.EventGrant, ModemMAC: m.MAC, CustomerID: m.CustomerID, V4: &store.Lease4{IP: "100.64.9.99", MAC: "44:32:c8:21:09:e9", Kind: store.KindCPE,
			State: store.StateActive, ModemID: m.ID, GiAddr: "100.64.0.1", Starts: past, Ends: past.Add(12 * time.Hour)}},
	} {
		if err := st.CommitLeases(ctx0, op); err != nil {
			t.Fatal(err)
		}
	}

	ctx := browser(t)
	browserLogin(t, ctx, ts.URL, store.RoleViewer)

	// A CPE's address in the search box lands on its modem's page.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#q`), "100.64.7.23\n"),
		chromedp.WaitVisible(chromedp.CSS(`dl.facts`)),
		chromedp.WaitVisible(chromedp.CSS(`#graphs[data-drawn="day"] figure.graph[data-metric="dspwr"] canvas`)),
	); err != nil {
		t.Fatalf("search by a CPE's address: %v", err)
	}
	if h := textOf(t, ctx, "main h1"); !strings.Contains(h, m.MAC) {
		t.Fatalf("the search for a CPE's address landed on %q, want modem %s", h, m.MAC)
	}
	page := textOf(t, ctx, "main")
	for _, want := range []string{"100.64.7.23", "Config it gets", "CM MIC ok", cust.Name} {
		if !strings.Contains(page, want) {
			t.Errorf("modem page lacks %q", want)
		}
	}
	// The decoded config is one click away.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//summary[normalize-space()="Decoded"]`)),
		chromedp.WaitVisible(chromedp.CSS(`pre.config`)),
	); err != nil {
		t.Fatalf("open the decoded config: %v", err)
	}
	if cfg := textOf(t, ctx, "pre.config"); !strings.Contains(cfg, "NetworkAccess 1;") {
		t.Errorf("decoded config:\n%s", cfg)
	}
	// A viewer sees no reset button.
	resets, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("form[action$='/reset'] button")).map(b => b.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(resets) != 0 {
		t.Errorf("a viewer is offered %v", resets)
	}
	screenshot(ctx, t, "7-desk-modem")

	// Who had 100.64.9.99 on the 3rd at 14:05?
	if err := chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/leases"),
		chromedp.WaitVisible(chromedp.CSS(`form.filters input[name=q]`)),
		chromedp.SendKeys(chromedp.CSS(`form.filters input[name=q]`), "100.64.9.99"),
		chromedp.SetValue(chromedp.CSS(`input[name=at]`), "2026-11-03T14:05"),
		chromedp.Submit(chromedp.CSS(`form.filters input[name=q]`)),
		chromedp.WaitVisible(chromedp.CSS(`main table`)),
	); err != nil {
		t.Fatalf("lease history: %v", err)
	}
	if got := textOf(t, ctx, "main table"); !strings.Contains(got, cust.Name) || !strings.Contains(got, m.MAC) {
		t.Errorf("who had 100.64.9.99 at 2026-11-03 14:05: %q, want %s behind %s", got, cust.Name, m.MAC)
	}
	screenshot(ctx, t, "8-desk-history")

	// The events page shows what happens as it happens.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/events"),
		chromedp.WaitVisible(chromedp.CSS(`#live-state`)),
		chromedp.WaitVisible(chromedp.Search(`//span[@id="live-state" and text()="live"]`)),
	); err != nil {
		t.Fatalf("events page: %v", err)
	}
	s.cfg.Events.Publish(events.Event{Kind: events.UnknownModem, CMTS: "CMTS-1", MAC: "00:00:ca:de:ad:01",
		Text: "DHCPv4: no lease for 00:00:ca:de:ad:01: unknown modem 00:00:ca:de:ad:01"})
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.Search(`//ul[@id="events"]/li[contains(., "00:00:ca:de:ad:01")]`))); err != nil {
		t.Fatalf("the event never reached the page: %v", err)
	}
	screenshot(ctx, t, "9-events")
}

// TestBrowserPlanAndImport: an operator types a plan error and sees it at
// its line before saving, then imports a CSV with good and bad lines and
// reads the dry-run report before confirming.
func TestBrowserPlanAndImport(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	_, ts, st := newTestServer(t, 5)
	ctx0 := context.Background()
	plans, _ := st.ListPlans(ctx0)
	pl := plans[0]
	ctx := browser(t)
	browserLogin(t, ctx, ts.URL, store.RoleOperator)

	broken := "Main\n{\n\tNetworkAccess 1;\n\tMaxCPE {{.MaxCPE}};\n\tMaxRateDown 5;\n}\n"
	if err := chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/plans/%d/edit", ts.URL, pl.ID)),
		chromedp.WaitVisible(chromedp.CSS(`#f-config`)),
		chromedp.SetValue(chromedp.CSS(`#f-config`), broken),
		chromedp.SendKeys(chromedp.CSS(`#f-config`), " "), // an input event, as typing gives
		chromedp.WaitVisible(chromedp.CSS(`#c-config .field-error`)),
	); err != nil {
		t.Fatalf("live check: %v", err)
	}
	if got := textOf(t, ctx, "#c-config"); !strings.Contains(got, "Line 5") || !strings.Contains(got, "MaxRateDown 5;") {
		t.Errorf("live check says %q, want line 5 and its text", got)
	}
	screenshot(ctx, t, "10-plan-error")
	// Saving it anyway is refused with the same line.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form.form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.field.invalid`)),
	); err != nil {
		t.Fatalf("save a broken plan: %v", err)
	}
	if got := textOf(t, ctx, ".field.invalid .field-error"); !strings.Contains(got, "line 5") {
		t.Errorf("save error %q, want line 5", got)
	}
	if now, _ := st.GetPlan(ctx0, pl.ID); now.Config != pl.Config {
		t.Error("the broken plan was saved")
	}

	file := "mac,serial,plan\n00:25:90:00:00:01,SN-A," + pl.Name + "\nnot-a-mac,SN-B," + pl.Name + "\n00:25:90:00:00:03,SN-C,No Such Plan\n"
	if err := chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/modems"),
		chromedp.Click(chromedp.Search(`//a[normalize-space()="Import CSV"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-content`)),
		chromedp.SetValue(chromedp.CSS(`#f-content`), file),
		chromedp.Click(chromedp.Search(`//button[normalize-space()="Check (dry run)"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#import-report`)),
	); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	rep := textOf(t, ctx, "#import-report")
	for _, want := range []string{"Dry run: nothing was written", "is not a MAC address", `no plan named "No Such Plan"`} {
		if !strings.Contains(rep, want) {
			t.Errorf("dry-run report lacks %q:\n%s", want, rep)
		}
	}
	if _, err := st.ModemByMAC(ctx0, "00:25:90:00:00:01"); err == nil {
		t.Fatal("the dry run wrote")
	}
	screenshot(ctx, t, "11-import-dry-run")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//button[starts-with(normalize-space(), "Import 1 lines")]`)),
		chromedp.WaitVisible(chromedp.CSS(`#import-report p.flash`)),
	); err != nil {
		t.Fatalf("import: %v", err)
	}
	if m, err := st.ModemByMAC(ctx0, "00:25:90:00:00:01"); err != nil || m.Serial != "SN-A" {
		t.Errorf("after the import: %+v %v", m, err)
	}
}
