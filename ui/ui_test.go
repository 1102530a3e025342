package ui

import (
	"context"
	"encoding/json"
	"io"
	"ip6m/tftp"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"ip6m/dhcp"
	"ip6m/store"
	"ip6m/tsdb"
)

// testPasswords are the users every test server has.
var testUsers = map[string]string{
	store.RoleAdmin:    "admin-password-1",
	store.RoleOperator: "operator-password-1",
	store.RoleViewer:   "viewer-password-1",
}

// newTestServer starts the UI over a fresh store with a small demo network
// and one user per role (named after the role).
func newTestServer(t testing.TB, modems int) (*Server, *httptest.Server, *store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if modems > 0 {
		if _, err := st.FillDemo(ctx, store.DemoOptions{Modems: modems, Seed: 1}); err != nil {
			t.Fatal(err)
		}
	}
	for role, pw := range testUsers {
		if err := st.CreateUser(ctx, "test", &store.User{Name: role, Role: role, Password: pw}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(Config{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts, st
}

// client is a browser-like HTTP client: cookies, no automatic redirects,
// Origin set on POSTs.
type client struct {
	t    testing.TB
	base string
	hc   *http.Client
	csrf string
}

func newClient(t testing.TB, ts *httptest.Server) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: ts.URL, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) get(path string) (int, string, http.Header) {
	c.t.Helper()
	resp, err := c.hc.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfRe.FindSubmatch(b); m != nil {
		c.csrf = string(m[1])
	}
	return resp.StatusCode, string(b), resp.Header
}

func (c *client) post(path string, form url.Values, origin string) (int, string, http.Header) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// login logs in as the user named after role and keeps the session's CSRF
// token.
func (c *client) login(role string) {
	c.t.Helper()
	c.get("/login")
	code, _, h := c.post("/login", url.Values{"csrf": {c.csrf}, "name": {role}, "password": {testUsers[role]}, "next": {"/"}}, c.base)
	if code != http.StatusSeeOther || h.Get("Location") != "/" {
		c.t.Fatalf("login as %s: status %d, location %q", role, code, h.Get("Location"))
	}
	c.get("/") // picks up the session's CSRF token from the page
}

func TestLogin(t *testing.T) {
	_, ts, _ := newTestServer(t, 5)
	c := newClient(t, ts)

	if code, _, h := c.get("/modems"); code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
		t.Fatalf("anonymous GET /modems: %d %q, want redirect to /login", code, h.Get("Location"))
	}
	c.get("/login")
	code, body, _ := c.post("/login", url.Values{"csrf": {c.csrf}, "name": {"admin"}, "password": {"wrong-password"}}, ts.URL)
	if code != http.StatusUnauthorized || !strings.Contains(body, "Wrong user name or password") {
		t.Fatalf("bad password: %d, body without the error message", code)
	}
	code, _, _ = c.post("/login", url.Values{"csrf": {"forged"}, "name": {"admin"}, "password": {testUsers["admin"]}}, ts.URL)
	if code != http.StatusForbidden {
		t.Fatalf("login with a forged CSRF token: %d, want 403", code)
	}
	c.get("/login")
	code, _, h := c.post("/login", url.Values{"csrf": {c.csrf}, "name": {"admin"}, "password": {testUsers["admin"]}, "next": {"//evil.example/"}}, ts.URL)
	if code != http.StatusSeeOther || h.Get("Location") != "/" {
		t.Fatalf("login: %d to %q, want 303 to / (an off-site next is dropped)", code, h.Get("Location"))
	}
	var sess *http.Cookie
	for _, ck := range (&http.Response{Header: h}).Cookies() {
		if ck.Name == sessionCookie && ck.Value != "" {
			sess = ck
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v: want HttpOnly and SameSite=Strict", sess)
	}
	if code, body, _ := c.get("/"); code != 200 || !strings.Contains(body, "Dashboard") {
		t.Fatalf("dashboard after login: %d", code)
	}
	if code, _, _ := c.post("/logout", url.Values{"csrf": {c.csrf}}, ts.URL); code != http.StatusSeeOther {
		t.Fatalf("logout: %d", code)
	}
	if code, _, _ := c.get("/"); code != http.StatusSeeOther {
		t.Fatalf("after logout GET /: %d, want a redirect to the login page", code)
	}
}

func TestCSRF(t *testing.T) {
	_, ts, _ := newTestServer(t, 5)
	c := newClient(t, ts)
	c.login(store.RoleOperator)
	form := url.Values{"name": {"CMTS-9"}, "snmp_read": {"public"}}
	tests := []struct {
		name   string
		token  string
		origin string
		want   int
	}{
		{"no token", "", ts.URL, http.StatusForbidden},
		{"wrong token", "not-the-token", ts.URL, http.StatusForbidden},
		{"right token, foreign origin", c.csrf, "http://evil.example", http.StatusForbidden},
		{"right token, same origin", c.csrf, ts.URL, http.StatusSeeOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			if tc.token != "" {
				f.Set("csrf", tc.token)
			}
			if code, _, _ := c.post("/cmts", f, tc.origin); code != tc.want {
				t.Fatalf("POST /cmts: %d, want %d", code, tc.want)
			}
		})
	}
}

// TestRoles walks every registered route: a viewer gets 403 on every
// route that needs more (every write), an operator on the admin ones, and
// an admin passes the role check everywhere.
func TestRoles(t *testing.T) {
	s, ts, _ := newTestServer(t, 5)
	clients := map[string]*client{}
	for _, role := range store.Roles {
		clients[role] = newClient(t, ts)
		clients[role].login(role)
	}
	writes := 0
	for _, rt := range s.Routes() {
		if rt.Role == "" || rt.Pattern == "/logout" || rt.API { // the API takes tokens, not sessions: api_test.go
			continue
		}
		path := strings.TrimSuffix(rt.Pattern, "{$}")
		for _, role := range store.Roles {
			c := clients[role]
			// Admins may really change things: aim them at a missing row
			// (404 is not 403) so they do not delete the other test users.
			id := "1"
			if role == store.RoleAdmin {
				id = "999999"
			}
			path := strings.ReplaceAll(path, "{id}", id)
			var code int
			if rt.Method == "POST" {
				code, _, _ = c.post(path, url.Values{"csrf": {c.csrf}}, ts.URL)
			} else {
				code, _, _ = c.get(path)
			}
			allowed := store.RoleAtLeast(role, rt.Role)
			if !allowed && code != http.StatusForbidden {
				t.Errorf("%s %s as %s: %d, want 403", rt.Method, path, role, code)
			}
			if allowed && code == http.StatusForbidden {
				t.Errorf("%s %s as %s: 403, want it allowed", rt.Method, path, role)
			}
		}
		if rt.Method == "POST" || rt.Role != store.RoleViewer {
			writes++
			if rt.Role == store.RoleViewer {
				t.Errorf("%s %s changes state but a viewer may use it", rt.Method, rt.Pattern)
			}
		}
	}
	if writes < 30 {
		t.Fatalf("only %d write routes found; the route table is not being walked", writes)
	}
}

func TestModemFormErrors(t *testing.T) {
	_, ts, st := newTestServer(t, 5)
	c := newClient(t, ts)
	c.login(store.RoleOperator)
	before, _ := st.Count(context.Background())
	code, body, _ := c.post("/modems", url.Values{"csrf": {c.csrf}, "mac": {"44:32:zz"}, "serial": {"SN-typed-1"}, "fixed_ipv4": {"2001:db8::1"}}, ts.URL)
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("bad modem: %d, want 422", code)
	}
	for _, want := range []string{`is not a MAC address`, `value="SN-typed-1"`, `is not an IPv4 address`, `plan_id`, `nothing was saved`} {
		if !strings.Contains(body, want) {
			t.Errorf("form page lacks %q", want)
		}
	}
	after, _ := st.Count(context.Background())
	if after.Modems != before.Modems {
		t.Fatalf("modems %d → %d after a failed create", before.Modems, after.Modems)
	}
}

func TestSearch(t *testing.T) {
	_, ts, _ := newTestServer(t, 50)
	c := newClient(t, ts)
	c.login(store.RoleViewer)
	tests := []struct{ q, wantPrefix string }{
		{"44:32:c8:21:09:e7", "/modems/"},
		{"4432.C821.09E7", "/modems/"},
		{"44-32-c8-21-09-e8", "/modems/"}, // the seed modem's MTA → its modem
		{"2001:db8:4:11::4432:c821:9e7", "/modems/"},
		{"CMTS-2", "/cmts/"},
		{"C100001", "/modems/"},  // the customer's only modem
		{"Kovács", "/modems?q="}, // several customers: their modems
		{"10.10.200.1", "/networks/"},
		{"no such thing at all", "/modems?q="},
	}
	for _, tc := range tests {
		t.Run(tc.q, func(t *testing.T) {
			code, _, h := c.get("/search?q=" + url.QueryEscape(tc.q))
			if code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), tc.wantPrefix) {
				t.Fatalf("search %q: %d → %q, want %s…", tc.q, code, h.Get("Location"), tc.wantPrefix)
			}
		})
	}
}

func TestPagesRender(t *testing.T) {
	_, ts, _ := newTestServer(t, 20)
	c := newClient(t, ts)
	c.login(store.RoleAdmin)
	for _, p := range []string{"/", "/modems", "/modems?q=44&cmts=1&state=enabled", "/modems/1", "/modems/1/edit", "/modems/new",
		"/cmts", "/cmts/1", "/networks", "/networks/3", "/plans", "/plans/1", "/customers", "/customers/1", "/customers/1/edit",
		"/mtas", "/cpes", "/users", "/users/1", "/audit", "/static/app.css", "/static/htmx.min.js"} {
		code, body, h := c.get(p)
		if code != 200 {
			t.Errorf("GET %s: %d", p, code)
			continue
		}
		if strings.HasPrefix(h.Get("Content-Type"), "text/html") && !strings.Contains(body, "</html>") {
			t.Errorf("GET %s: not a whole page", p)
		}
	}
	if code, _, _ := c.get("/modems/999999"); code != http.StatusNotFound {
		t.Errorf("missing modem: %d, want 404", code)
	}
}

func TestLoginThrottle(t *testing.T) {
	_, ts, _ := newTestServer(t, 0)
	c := newClient(t, ts)
	c.get("/login")
	try := func(pw string) int {
		code, _, _ := c.post("/login", url.Values{"csrf": {c.csrf}, "name": {"admin"}, "password": {pw}}, ts.URL)
		return code
	}
	for i := 0; i < 10; i++ {
		if code := try("guess-" + strconv.Itoa(i)); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i, code)
		}
	}
	if code := try(testUsers["admin"]); code != http.StatusTooManyRequests {
		t.Fatalf("after 10 failures even the right password: %d, want 429", code)
	}
}

func TestPlanTemplateChecked(t *testing.T) {
	_, ts, _ := newTestServer(t, 3)
	c := newClient(t, ts)
	c.login(store.RoleOperator)
	bad := "Main\n{\n\tNetworkAccess 1;\n\tMaxCPE {{.MaxCPE}};\n\tMaxRateDown 5;\n}\n"
	code, body, _ := c.post("/plans", url.Values{"csrf": {c.csrf}, "name": {"Broken"}, "max_cpe": {"2"}, "config": {bad}}, ts.URL)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "line 5") {
		t.Fatalf("plan with an unknown keyword on line 5: %d, want 422 naming line 5", code)
	}
	good := "Main\n{\n\tNetworkAccess 1;\n\tMaxCPE {{.MaxCPE}};\n}\n"
	if code, _, _ := c.post("/plans", url.Values{"csrf": {c.csrf}, "name": {"Tiny"}, "max_cpe": {"2"}, "config": {good}}, ts.URL); code != http.StatusSeeOther {
		t.Fatalf("good plan: %d, want 303", code)
	}
}

func TestModemPageShowsLeases(t *testing.T) {
	_, ts, st := newTestServer(t, 5)
	m, err := st.ModemByMAC(context.Background(), "44:32:c8:21:09:e7")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	err = st.CommitLeases(context.Background(), store.LeaseOp{Event: store.EventGrant, ModemMAC: m.MAC, V4: &store.Lease4{
		IP: "10.10.1.77", MAC: m.MAC, Kind: store.KindCM, State: store.StateActive, ModemID: m.ID, GiAddr: "10.10.0.1",
		Starts: now, Ends: now.Add(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, ts)
	c.login(store.RoleViewer)
	code, body, _ := c.get("/modems/" + strconv.FormatInt(m.ID, 10))
	if code != 200 || !strings.Contains(body, "10.10.1.77") || !strings.Contains(body, "active") {
		t.Fatalf("modem page (%d) does not show its active lease", code)
	}
	if code, _, h := c.get("/search?q=10.10.1.77"); code != http.StatusSeeOther || h.Get("Location") != "/modems/"+strconv.FormatInt(m.ID, 10) {
		t.Fatalf("search by leased address: %d → %q", code, h.Get("Location"))
	}
}

func TestDashboardServices(t *testing.T) {
	s, ts, _ := newTestServer(t, 2)
	s.cfg.Services = []Service{{Name: "DHCPv4", Addr: "0.0.0.0:67", Counters: func() []Counter {
		return []Counter{{Name: "replied", Value: 4242}, {Name: "dropped: rate limit (per MAC)", Value: 7}}
	}}}
	c := newClient(t, ts)
	c.login(store.RoleViewer)
	_, body, _ := c.get("/")
	for _, want := range []string{"<b>DHCPv4</b>", "0.0.0.0:67", "4242", "dropped: rate limit (per MAC)"} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
}

type fakePreviewer map[string]dhcp.Preview

func (f fakePreviewer) Preview(mac string) (dhcp.Preview, error) { return f[mac], nil }
func (f fakePreviewer) Refusals() []dhcp.Refusal {
	var out []dhcp.Refusal
	for mac, p := range f {
		if p.Refuse != "" {
			out = append(out, dhcp.Refusal{Time: time.Now(), MAC: mac, Relay: "10.10.0.1", Reason: p.Refuse, Count: 4})
		}
	}
	return out
}

func TestModemPageDHCPPreview(t *testing.T) {
	s, ts, st := newTestServer(t, 3)
	m, _ := st.ModemByMAC(context.Background(), "44:32:c8:21:09:e7")
	d, _ := st.ModemByMAC(context.Background(), "44:32:c8:41:8c:67")
	s.cfg.DHCP4 = fakePreviewer{
		m.MAC: {Kind: "cm", Network: "10.10.0.0/16 (CMTS-1 cm v4)", File: "cm/4432c82109e7.cfg", Leased: "10.10.1.9"},
		d.MAC: {Kind: "cm", Refuse: "the modem is disabled"},
	}
	c := newClient(t, ts)
	c.login(store.RoleViewer)
	_, body, _ := c.get("/modems/" + strconv.FormatInt(m.ID, 10))
	for _, want := range []string{"served", "cm/4432c82109e7.cfg", "10.10.1.9", "(leased now)"} {
		if !strings.Contains(body, want) {
			t.Errorf("modem page lacks %q", want)
		}
	}
	_, body, _ = c.get("/modems/" + strconv.FormatInt(d.ID, 10))
	if !strings.Contains(body, "no lease") || !strings.Contains(body, "the modem is disabled") || !strings.Contains(body, "(4 times)") {
		t.Error("a refused modem's page does not say why and how often")
	}
	s.cfg.DHCP4 = nil
	_, body, _ = c.get("/modems/" + strconv.FormatInt(m.ID, 10))
	if !strings.Contains(body, "DHCPv4 does not run in this process") {
		t.Error("without DHCP the page does not say so")
	}
}

func TestSettingsPage(t *testing.T) {
	_, ts, st := newTestServer(t, 0)
	c := newClient(t, ts)
	c.login(store.RoleAdmin)
	if code, body, _ := c.get("/settings"); code != 200 || !strings.Contains(body, "cm/{mac}.cfg") {
		t.Fatalf("settings page: %d, want the default config name shown", code)
	}
	form := url.Values{"csrf": {c.csrf}, "server.ipv4": {"10.0.0.10"}, "dhcp.cm_file": {"cm/static.cfg"}}
	code, body, _ := c.post("/settings", form, ts.URL)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "must contain {mac}") {
		t.Fatalf("a config name without {mac}: %d, want 422 with the reason", code)
	}
	if v, _ := st.Setting(context.Background(), "server.ipv4", ""); v != "" {
		t.Fatal("a rejected form saved part of its values")
	}
	form.Set("dhcp.cm_file", "docsis/{mac}.bin")
	if code, _, _ := c.post("/settings", form, ts.URL); code != http.StatusSeeOther {
		t.Fatalf("good settings: %d", code)
	}
	if v, _ := st.Setting(context.Background(), "dhcp.cm_file", ""); v != "docsis/{mac}.bin" {
		t.Fatalf("dhcp.cm_file = %q", v)
	}
	if v, _ := st.Setting(context.Background(), "server.ipv4", ""); v != "10.0.0.10" {
		t.Fatalf("server.ipv4 = %q", v)
	}
}

func TestSettingsEmptyMeansDefault(t *testing.T) {
	_, ts, st := newTestServer(t, 0)
	c := newClient(t, ts)
	c.login(store.RoleAdmin)
	c.get("/settings")
	if code, _, _ := c.post("/settings", url.Values{"csrf": {c.csrf}}, ts.URL); code != http.StatusSeeOther {
		t.Fatalf("empty settings: %d", code)
	}
	if v, _ := st.Setting(context.Background(), "dhcp.cm_file", "DEFAULT"); v != "DEFAULT" {
		t.Fatalf("an empty field stored %q instead of leaving the default", v)
	}
	if _, body, _ := c.get("/settings"); !strings.Contains(body, `value="cm/{mac}.cfg"`) {
		t.Fatal("the page does not show the default after saving empty fields")
	}
}

func TestLeaseHistoryPage(t *testing.T) {
	_, ts, st := newTestServer(t, 5)
	ctx := context.Background()
	m, _ := st.ModemByMAC(ctx, "44:32:c8:21:09:e7")
	cust, _ := st.GetCustomer(ctx, m.CustomerID)
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	cpe := "44:32:c8:21:09:e9"
	for i, who := range []string{cpe, "02:00:00:00:00:77"} {
		op := store.LeaseOp{Event: store.EventGrant, ModemMAC: m.MAC, CustomerID: m.CustomerID, V4: &store.Lease4{
			IP: "100.64.0.23", MAC: who, Kind: store.KindCPE, State: store.StateActive, ModemID: m.ID, GiAddr: "100.64.0.1",
			Starts: day.Add(time.Duration(i) * 24 * time.Hour), Ends: day.Add(time.Duration(i)*24*time.Hour + 12*time.Hour)}}
		if i == 1 {
			op.ModemMAC, op.CustomerID = "", 0
		}
		if err := st.CommitLeases(ctx, op); err != nil {
			t.Fatal(err)
		}
	}
	c := newClient(t, ts)
	c.login(store.RoleViewer)
	code, body, _ := c.get("/leases?q=100.64.0.23&at=2026-12-01T10:05")
	if code != 200 || !strings.Contains(body, cpe) || !strings.Contains(body, cust.Name) || strings.Contains(body, "02:00:00:00:00:77") {
		t.Fatalf("who had 100.64.0.23 on the 1st: %d; want the CPE %s of %s only", code, cpe, cust.Name)
	}
	if _, body, _ := c.get("/leases?q=100.64.0.23"); !strings.Contains(body, "02:00:00:00:00:77") || !strings.Contains(body, cpe) {
		t.Fatal("without a time both holders should be listed")
	}
	if _, body, _ := c.get("/leases?q=" + url.QueryEscape("4432.c821.09e7")); !strings.Contains(body, "100.64.0.23") {
		t.Fatal("by the modem's MAC the CPE's lease should be listed")
	}
	if code, _, _ := c.get("/leases?q=nonsense"); code != http.StatusUnprocessableEntity {
		t.Fatalf("a bad query: %d, want 422", code)
	}
}

func TestDashboardEvents(t *testing.T) {
	s, ts, _ := newTestServer(t, 1)
	s.cfg.Services = []Service{{Name: "TFTP", Events: func() []Event {
		return []Event{{At: time.Now(), Text: `refused "cm/4432c82109e7.cfg" to 10.1.2.3: not the lease holder`}}
	}}}
	c := newClient(t, ts)
	c.login(store.RoleViewer)
	if _, body, _ := c.get("/"); !strings.Contains(body, "not the lease holder") || !strings.Contains(body, "10.1.2.3") {
		t.Fatal("the dashboard does not list the refused TFTP request")
	}
}

func TestModemReset(t *testing.T) {
	s, ts, st := newTestServer(t, 3)
	m, _ := st.ModemByMAC(context.Background(), "44:32:c8:21:09:e7")
	var reset []string
	s.cfg.ResetModem = func(_ context.Context, mac string) error {
		reset = append(reset, mac)
		return nil
	}
	path := "/modems/" + strconv.FormatInt(m.ID, 10) + "/reset"
	viewer := newClient(t, ts)
	viewer.login(store.RoleViewer)
	if code, _, _ := viewer.post(path, url.Values{"csrf": {viewer.csrf}}, ts.URL); code != http.StatusForbidden || len(reset) != 0 {
		t.Fatalf("a viewer's reset: %d, resets %v", code, reset)
	}
	op := newClient(t, ts)
	op.login(store.RoleOperator)
	code, _, h := op.post(path, url.Values{"csrf": {op.csrf}}, ts.URL)
	if code != http.StatusSeeOther || len(reset) != 1 || reset[0] != m.MAC || !strings.Contains(h.Get("Location"), "Reset+sent") {
		t.Fatalf("operator reset: %d %q, resets %v", code, h.Get("Location"), reset)
	}
	a, _ := st.ListAudit(context.Background(), "modem", m.ID, 5)
	if len(a) == 0 || a[0].Action != "reset" || a[0].Actor != store.RoleOperator {
		t.Fatalf("reset not audited: %+v", a)
	}
}

// testSeries is a small tsdb with a modem's downstream power over the last
// hour, for the graph tests.
func testSeries(t *testing.T, mac string) *tsdb.DB {
	t.Helper()
	db, err := tsdb.Open(t.TempDir(), tsdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Define(mac, tsdb.Schema{Archives: tsdb.DefaultArchives(), Metrics: []tsdb.Metric{
		{Name: "dspwr", Kind: tsdb.Gauge, Encoding: tsdb.Int16, Scale: 0.1},
	}}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(10 * time.Second)
	for i := 360; i >= 0; i-- {
		if err := db.Add(mac, "dspwr", now.Add(-time.Duration(i)*10*time.Second), 3.5+float64(i%7)/10); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func TestModemSeries(t *testing.T) {
	s, ts, st := newTestServer(t, 3)
	m, _ := st.ModemByMAC(context.Background(), "44:32:c8:21:09:e7")
	c := newClient(t, ts)
	c.login(store.RoleViewer)
	path := "/modems/" + strconv.FormatInt(m.ID, 10) + "/series?range=hour"
	if _, body, _ := c.get(path); strings.TrimSpace(body) != "[]" {
		t.Fatalf("without a time-series store: %q, want []", body)
	}
	s.cfg.Series = testSeries(t, m.MAC)
	code, body, _ := c.get(path)
	var got []struct {
		Metric string     `json:"metric"`
		Unit   string     `json:"unit"`
		T      []int64    `json:"t"`
		Avg    []*float64 `json:"avg"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || code != 200 || len(got) != 1 || got[0].Metric != "dspwr" || got[0].Unit != "dBmV" {
		t.Fatalf("series: %d %v %s", code, err, body)
	}
	known := 0
	for _, v := range got[0].Avg {
		if v != nil {
			known++
			if *v < 3.4 || *v > 4.2 {
				t.Fatalf("value %v out of what was stored", *v)
			}
		}
	}
	if known < 300 || len(got[0].T) != len(got[0].Avg) {
		t.Fatalf("%d known points of %d", known, len(got[0].Avg))
	}
}

// TestLiveDropsSlowClients: the poller never waits for a browser; one that
// does not read is dropped once its buffer is full.
func TestLiveDropsSlowClients(t *testing.T) {
	l := NewLive()
	slow := l.subscribe("m")
	fast := l.subscribe("m")
	gauge := func(string) bool { return true }
	for i := range 40 {
		l.Publish("m", time.Unix(int64(i), 0), []tsdb.Sample{{Metric: "dspwr", Value: 1}}, gauge)
		<-fast
	}
	n := 0
	for range slow {
		n++
	}
	if n != 32 {
		t.Fatalf("the slow client got %d messages before being dropped, want its buffer of 32", n)
	}
	if !subscribed(l, "m") {
		t.Fatal("the fast client was dropped too")
	}
	l.unsubscribe("m", fast)
	if subscribed(l, "m") {
		t.Fatal("unsubscribe left the device listed")
	}
}

func TestModemHealth(t *testing.T) {
	s, ts, st := newTestServer(t, 20)
	m, _ := st.ModemByMAC(context.Background(), "44:32:c8:21:09:e7")
	s.cfg.Health = func() map[string]HealthFlag {
		return map[string]HealthFlag{m.MAC: {State: "bad", Reason: "downstream power -16.2 dBmV"}}
	}
	c := newClient(t, ts)
	c.login(store.RoleViewer)
	code, body, _ := c.get("/modems?health=sick")
	if code != 200 || !strings.Contains(body, m.MAC) || !strings.Contains(body, "1 in all") {
		t.Fatalf("sick modems: %d, want only %s", code, m.MAC)
	}
	if _, body, _ := c.get("/modems/" + strconv.FormatInt(m.ID, 10)); !strings.Contains(body, "downstream power -16.2 dBmV") {
		t.Fatal("the modem page does not say why it is sick")
	}
	if _, body, _ := c.get("/"); !strings.Contains(body, `href="/modems?health=bad"`) {
		t.Fatal("the dashboard has no health tiles")
	}
	if _, body, _ := c.get("/modems?health=good"); !strings.Contains(body, "No modems match") {
		t.Fatal("a health filter with no modem should list none")
	}
}

func TestCMTSPageUpstream(t *testing.T) {
	s, ts, st := newTestServer(t, 5)
	list, _ := st.ListCMTS(context.Background())
	c := newClient(t, ts)
	c.login(store.RoleViewer)
	path := "/cmts/" + strconv.FormatInt(list[0].ID, 10)
	if _, body, _ := c.get(path); !strings.Contains(body, "No report from this CMTS yet") {
		t.Fatal("without a poller the CMTS page should say there is no report")
	}
	s.cfg.Upstream = func(id int64) ([]UpstreamRow, time.Time, bool) {
		return []UpstreamRow{{MAC: "44:32:c8:21:09:e7", IP: "10.10.1.5", Online: true, RxPower: 7.5, SNR: 24.1, RxState: "bad", SNRState: "bad"}}, time.Now(), true
	}
	_, body, _ := c.get(path)
	for _, want := range []string{"44:32:c8:21:09:e7", "7.5 dBmV", "24.1 dB", `class="badge bad"`, "online"} {
		if !strings.Contains(body, want) {
			t.Errorf("CMTS page lacks %q", want)
		}
	}
}

// tftpConfigs is the real TFTP server's config builder over st (not
// listening): what the UI previews is what a modem would download.
func tftpConfigs(t testing.TB, st *store.Store) *tftp.Server {
	t.Helper()
	srv, err := tftp.New(tftp.Config{Addr: "127.0.0.1:0", Source: st})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func TestModemPageConfig(t *testing.T) {
	s, ts, st := newTestServer(t, 3)
	m, _ := st.ModemByMAC(context.Background(), "44:32:c8:21:09:e7")
	s.cfg.Configs = tftpConfigs(t, st)
	c := newClient(t, ts)
	c.login(store.RoleViewer)
	_, body, _ := c.get("/modems/" + strconv.FormatInt(m.ID, 10))
	for _, want := range []string{"Config it gets", "NetworkAccess 1;", "CM MIC ok", "CMTS MIC ok"} {
		if !strings.Contains(body, want) {
			t.Errorf("modem page lacks %q", want)
		}
	}
}

// TestModemPageLastFetch: the config section says when the modem last
// downloaded its config, or warns that it has not since TFTP started.
func TestModemPageLastFetch(t *testing.T) {
	s, ts, st := newTestServer(t, 3)
	ctx := context.Background()
	fetched, _ := st.ModemByMAC(ctx, "44:32:c8:21:09:e7")
	s.cfg.Configs = tftpConfigs(t, st)
	at := time.Now().Add(-3 * time.Minute)
	s.cfg.LastFetch = func(mac string) (Fetch, bool) {
		if mac == fetched.MAC {
			return Fetch{At: at, From: "10.10.1.5", Name: "cm/4432C82109E7.cfg", Bytes: 488}, true
		}
		return Fetch{}, false
	}
	c := newClient(t, ts)
	c.login(store.RoleViewer)
	_, body, _ := c.get("/modems/" + strconv.FormatInt(fetched.ID, 10))
	for _, want := range []string{"Last fetched 3 min ago", "from 10.10.1.5 as <code>cm/4432C82109E7.cfg</code>, 488 bytes"} {
		if !strings.Contains(body, want) {
			t.Errorf("modem page lacks %q", want)
		}
	}
	list, _, err := st.ListModems(ctx, store.ModemFilter{}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range list {
		if m.MAC == fetched.MAC {
			continue
		}
		_, body, _ = c.get("/modems/" + strconv.FormatInt(m.ID, 10))
		if !strings.Contains(body, "Not fetched since ip6m started") || strings.Contains(body, "Last fetched") {
			t.Errorf("modem %s never fetched: the page does not say so", m.MAC)
		}
		break
	}
}

// TestModemPageTFTPRefusals: the modem page lists the refused TFTP
// requests asked from its lease addresses or naming its config, and not
// the others.
func TestModemPageTFTPRefusals(t *testing.T) {
	s, ts, st := newTestServer(t, 5)
	ctx := context.Background()
	m, _ := st.ModemByMAC(ctx, "44:32:c8:21:09:e7")
	now := time.Now()
	if err := st.CommitLeases(ctx, store.LeaseOp{Event: store.EventGrant, ModemMAC: m.MAC, V4: &store.Lease4{
		IP: "10.10.1.77", MAC: m.MAC, Kind: store.KindCM, State: store.StateActive, ModemID: m.ID, GiAddr: "10.10.0.1",
		Starts: now, Ends: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	s.cfg.TFTPRefusals = func() []TFTPRefusal {
		return []TFTPRefusal{
			{At: now.Add(-5 * time.Minute), From: "10.10.1.77", Name: "cm/001E6BE6B4A5.cfg", Reason: "not lease holder", Detail: "asked-from-its-address"},
			{At: now.Add(-4 * time.Minute), From: "10.10.9.9", Name: "cm/4432C82109E7.cfg", Reason: "not lease holder", Detail: "naming-its-config"},
			{At: now.Add(-3 * time.Minute), From: "10.10.9.9", Name: "cm/001E6BE6B4A5.cfg", Reason: "not lease holder", Detail: "someone-else"},
		}
	}
	c := newClient(t, ts)
	c.login(store.RoleViewer)
	_, body, _ := c.get("/modems/" + strconv.FormatInt(m.ID, 10))
	if !strings.Contains(body, "Refused config downloads") {
		t.Fatal("no refused config downloads section")
	}
	a, b := strings.Index(body, "naming-its-config"), strings.Index(body, "asked-from-its-address")
	if a < 0 || b < 0 || a > b {
		t.Errorf("refusals missing or not newest first: %d %d", a, b)
	}
	if strings.Contains(body, "someone-else") {
		t.Error("another modem's refusal shows on this modem's page")
	}
}
