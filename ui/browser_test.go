package ui

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"ip6m/store"
	"ip6m/tsdb"
)

// chromium finds Debian's headless browser; without it the browser tests
// skip, except in CI (CI=true), where .ci/run installs it and a missing
// browser is a failure.
func chromium(t *testing.T) string {
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium not found; .ci/run installs Debian's chromium package")
	}
	t.Skip("chromium not found (apt-get install chromium); skipping the browser test")
	return ""
}

// browser starts a headless Chromium with the flags that keep it off the
// network, and returns a context to drive it.
func browser(t *testing.T) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel3)
	return ctx
}

// screenshot saves the page as PNG when IP6M_SCREENSHOTS names a folder.
func screenshot(ctx context.Context, t *testing.T, name string) {
	dir := os.Getenv("IP6M_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
}

// TestBrowserModemWorkflow is what an operator does first: log in, create
// a modem, find it by its MAC written another way, edit it.
func TestBrowserModemWorkflow(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	_, ts, st := newTestServer(t, 30)
	ctx := browser(t)
	// do runs steps and then reads the text of the element sel.
	do := func(what, sel string, steps ...chromedp.Action[chromedp.Void]) string {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: read %s: %v", what, sel, err)
		}
		return text
	}

	// Log in, coming from a deep link.
	do("log in", "h1",
		chromedp.Navigate(ts.URL+"/modems"),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), store.RoleOperator),
		chromedp.SendKeys(chromedp.CSS(`#password`), testUsers[store.RoleOperator]),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`#results`)),
	)
	url, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || !strings.HasSuffix(url, "/modems") {
		t.Fatalf("after login at %s (%v), want back at /modems", url, err)
	}
	screenshot(ctx, t, "1-modems")

	// Create a modem, the MAC in Cisco notation.
	text := do("create modem", "main h1",
		chromedp.Click(chromedp.CSS(`a.button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-mac`)),
		chromedp.SendKeys(chromedp.CSS(`#f-mac`), "0025.90AB.CDEF"),
		chromedp.SendKeys(chromedp.CSS(`#f-serial`), "BRW-000123"),
		chromedp.SendKeys(chromedp.CSS(`#f-vendor`), "Technicolor"),
		chromedp.SetValue(chromedp.CSS(`#f-plan_id`), "1"),
		chromedp.SetValue(chromedp.CSS(`#f-cmts_id`), "1"),
		chromedp.Click(chromedp.CSS(`form.form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash`)),
	)
	if !strings.Contains(text, "00:25:90:ab:cd:ef") {
		t.Fatalf("modem page heading %q, want the canonical MAC", text)
	}
	screenshot(ctx, t, "2-created")

	// Find it from the search box with the MAC written with dashes.
	text = do("search", "main h1",
		chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#q`)),
		chromedp.SendKeys(chromedp.CSS(`#q`), "00-25-90-AB-CD-EF\n"),
		chromedp.WaitVisible(chromedp.CSS(`dl.facts`)),
	)
	if !strings.Contains(text, "00:25:90:ab:cd:ef") {
		t.Fatalf("search landed on %q, want the new modem", text)
	}

	// Edit it: new serial, disabled.
	text = do("edit", "main",
		chromedp.Click(chromedp.Search(`//a[normalize-space()="Edit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-serial`)),
		chromedp.Clear(chromedp.CSS(`#f-serial`)),
		chromedp.SendKeys(chromedp.CSS(`#f-serial`), "BRW-999999"),
		chromedp.Click(chromedp.CSS(`#f-enabled`)),
		chromedp.Click(chromedp.CSS(`form.form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash`)),
	)
	screenshot(ctx, t, "3-edited")
	if !strings.Contains(text, "BRW-999999") || !strings.Contains(text, "disabled") {
		t.Fatalf("modem page after edit lacks the new serial or state:\n%s", text)
	}
	m, err := st.ModemByMAC(context.Background(), "0025.90ab.cdef")
	if err != nil {
		t.Fatal(err)
	}
	if m.Serial != "BRW-999999" || m.Enabled {
		t.Fatalf("stored modem %+v, want serial BRW-999999 and disabled", m)
	}

	// Search-as-you-type on the list narrows it without a page load.
	text = do("search as you type", "#results",
		chromedp.Navigate(ts.URL+"/modems"),
		chromedp.WaitVisible(chromedp.CSS(`.filters input[type=search]`)),
		chromedp.SendKeys(chromedp.CSS(`.filters input[type=search]`), "BRW-9999"),
		chromedp.WaitVisible(chromedp.Search(`//td[contains(., "BRW-999999")]`)),
	)
	if !strings.Contains(text, "1 in all") {
		t.Fatalf("filtered list: %q, want one modem", text)
	}
	screenshot(ctx, t, "4-filtered")

	// The other pages render in the browser (and, with IP6M_SCREENSHOTS,
	// are saved for a person to look at).
	for i, p := range []string{"/", "/networks", "/plans/1", "/plans/1/versions/1", "/cmts", "/customers/1", "/audit", "/events", "/modems/unknown", "/modems/import"} {
		do("open "+p, "main h1",
			chromedp.Navigate(ts.URL+p),
			chromedp.WaitVisible(chromedp.CSS(`main h1`)),
		)
		screenshot(ctx, t, fmt.Sprintf("5-%d%s", i, strings.ReplaceAll(p, "/", "_")))
	}
}

// subscribed reports whether a browser listens to device's live samples.
func subscribed(l *Live, device string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.subs[device]) > 0
}

// TestBrowserModemGraphs opens a modem page and sees its signal graph draw
// (uPlot, from the time-series store), with the range buttons working.
func TestBrowserModemGraphs(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	s, ts, st := newTestServer(t, 3)
	m, err := st.ModemByMAC(context.Background(), "44:32:c8:21:09:e7")
	if err != nil {
		t.Fatal(err)
	}
	s.cfg.Series = testSeries(t, m.MAC)
	s.cfg.Live = NewLive()
	ctx := browser(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), store.RoleViewer),
		chromedp.SendKeys(chromedp.CSS(`#password`), testUsers[store.RoleViewer]),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`nav.menu`)), // the dashboard, not the login page's h1
		chromedp.Navigate(fmt.Sprintf("%s/modems/%d", ts.URL, m.ID)),
		chromedp.WaitVisible(chromedp.CSS(`#graphs[data-drawn="day"] figure.graph[data-metric="dspwr"] canvas`)),
		chromedp.Click(chromedp.CSS(`button[data-range="hour"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#graphs[data-drawn="hour"] figure.graph[data-metric="dspwr"] canvas`)),
	); err != nil {
		t.Fatalf("graph: %v", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`figure.graph .u-title`)))
	if err != nil || !strings.Contains(title, "Downstream power") {
		t.Fatalf("graph title %q, %v", title, err)
	}
	screenshot(ctx, t, "6-graphs")

	// Live mode: a sample published by the poller reaches the open graph.
	before, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`figure.graph[data-metric="dspwr"]`), "data-points"))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !subscribed(s.cfg.Live, m.MAC) {
		if time.Now().After(deadline) {
			t.Fatal("the page never opened its live websocket")
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.cfg.Live.Publish(m.MAC, time.Now(), []tsdb.Sample{{Metric: "dspwr", Value: 5.5}, {Metric: "in", Value: 1e9}},
		func(metric string) bool { return metric == "dspwr" })
	var want int
	fmt.Sscan(before.Value, &want)
	want++
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`figure.graph[data-metric="dspwr"][data-points="%d"]`, want)))); err != nil {
		t.Fatalf("the live point never arrived (had %s points): %v", before.Value, err)
	}
}
