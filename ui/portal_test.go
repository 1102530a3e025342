package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestPortal: a visitor off the portal is told so and cannot register;
// one on it may try ten codes, then waits; the right code registers the
// modem for the customer on their plan, on the relay's CMTS.
func TestPortal(t *testing.T) {
	s, _, st := newTestServer(t, 5)
	ctx := context.Background()
	m, _ := st.ModemByMAC(ctx, "44:32:c8:21:09:e7")
	cust, _ := st.GetCustomer(ctx, m.CustomerID)
	nets, _ := st.ListNetworks(ctx, m.CMTSID)
	relay := strings.Split(nets[0].Prefix, "/")[0]
	onPortal := netip.MustParseAddr("127.0.0.7")
	s.cfg.Portal = func(a netip.Addr) (PortalClient, bool) {
		return PortalClient{ModemMAC: "00:25:90:ab:cd:ef", Relay: relay}, a == onPortal
	}
	reset := make(chan string, 1)
	s.cfg.ResetModem = func(_ context.Context, mac string) error { reset <- mac; return nil }
	h := s.PortalHandler()
	do := func(from, method, path string, form url.Values, cookie string) (int, string, string) {
		var req *http.Request
		if form != nil {
			req = httptest.NewRequest(method, "http://www.example.com"+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", "http://www.example.com")
		} else {
			req = httptest.NewRequest(method, "http://www.example.com"+path, nil)
		}
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: loginCSRFCookie, Value: cookie})
		}
		req.RemoteAddr = from + ":50000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		tok := ""
		for _, c := range w.Result().Cookies() {
			if c.Name == loginCSRFCookie {
				tok = c.Value
			}
		}
		return w.Code, w.Body.String(), tok
	}
	code, body, tok := do("127.0.0.9", "GET", "/", nil, "")
	if code != 200 || !strings.Contains(body, "yours is not one of those") {
		t.Fatalf("off the portal: %d\n%s", code, body)
	}
	if code, _, _ := do("127.0.0.9", "POST", "/register", url.Values{"csrf": {tok}, "account": {cust.Account}, "code": {cust.RegCode}}, tok); code != http.StatusForbidden {
		t.Errorf("registration from off the portal: %d, want 403", code)
	}
	code, body, tok = do("127.0.0.7", "GET", "/any/page", nil, "")
	if code != 200 || !strings.Contains(body, "00:25:90:ab:cd:ef") || regexp.MustCompile(`name="csrf"`).FindString(body) == "" {
		t.Fatalf("on the portal: %d\n%s", code, body)
	}
	if code, _, _ := do("127.0.0.7", "POST", "/register", url.Values{"csrf": {"forged"}, "account": {cust.Account}, "code": {cust.RegCode}}, tok); code != http.StatusForbidden {
		t.Errorf("a forged form: %d, want 403", code)
	}
	for i := range 10 {
		if code, _, _ := do("127.0.0.7", "POST", "/register", url.Values{"csrf": {tok}, "account": {cust.Account}, "code": {"NOPE"}}, tok); code != http.StatusUnauthorized {
			t.Fatalf("wrong code %d: %d, want 401", i, code)
		}
	}
	if code, _, _ := do("127.0.0.7", "POST", "/register", url.Values{"csrf": {tok}, "account": {cust.Account}, "code": {cust.RegCode}}, tok); code != http.StatusTooManyRequests {
		t.Fatalf("after ten wrong codes: %d, want 429", code)
	}
	s.logins = newLoginThrottle() // the wait is over
	code, body, _ = do("127.0.0.7", "POST", "/register", url.Values{"csrf": {tok}, "account": {cust.Account}, "code": {strings.ToLower(cust.RegCode)}}, tok)
	if code != 200 || !strings.Contains(body, "Your modem is registered") {
		t.Fatalf("registration: %d\n%s", code, body)
	}
	got, err := st.ModemByMAC(ctx, "00:25:90:ab:cd:ef")
	if err != nil || got.CustomerID != cust.ID || got.PlanID != m.PlanID || got.CMTSID != m.CMTSID {
		t.Fatalf("registered modem %+v %v; want customer %d, plan %d, CMTS %d", got, err, cust.ID, m.PlanID, m.CMTSID)
	}
	if mac := <-reset; mac != got.MAC {
		t.Errorf("reset %s, want the new modem", mac)
	}
	if trail, _ := st.ListAudit(ctx, "modem", got.ID, 5); len(trail) != 1 || !strings.HasPrefix(trail[0].Actor, "self-registration (") {
		t.Errorf("audit %+v", trail)
	}
}

// TestCustomerNewCode: an operator gives a customer a fresh registration
// code from the customer page; the old one stops working; viewers may not.
func TestCustomerNewCode(t *testing.T) {
	_, ts, st := newTestServer(t, 3)
	ctx := context.Background()
	m, _ := st.ModemByMAC(ctx, "44:32:c8:21:09:e7")
	cust, _ := st.GetCustomer(ctx, m.CustomerID)
	v := newClient(t, ts)
	v.login("viewer")
	if _, body, _ := v.get("/customers/" + idString(cust.ID)); strings.Contains(body, cust.RegCode) {
		t.Error("a viewer sees the registration code")
	}
	if code, _, _ := v.post("/customers/"+idString(cust.ID)+"/regcode", url.Values{"csrf": {v.csrf}}, ts.URL); code != http.StatusForbidden {
		t.Errorf("viewer: %d, want 403", code)
	}
	c := newClient(t, ts)
	c.login("operator")
	if code, _, _ := c.post("/customers/"+idString(cust.ID)+"/regcode", url.Values{"csrf": {c.csrf}}, ts.URL); code != http.StatusSeeOther {
		t.Fatalf("operator: %d, want 303", code)
	}
	now, _ := st.GetCustomer(ctx, cust.ID)
	if now.RegCode == cust.RegCode || len(now.RegCode) != 10 {
		t.Fatalf("code %q after renewal (was %q)", now.RegCode, cust.RegCode)
	}
	if _, err := st.CustomerByRegistration(ctx, cust.Account, cust.RegCode); err == nil {
		t.Error("the old code still works")
	}
	trail, _ := st.ListAudit(ctx, "customer", cust.ID, 5)
	if len(trail) == 0 || trail[0].Action != "new registration code" || strings.Contains(trail[0].After, now.RegCode) || strings.Contains(trail[0].Before, cust.RegCode) {
		t.Errorf("audit %+v", trail)
	}
}
