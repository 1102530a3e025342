package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"ip6m/store"
)

// apiClient calls the API with a bearer token ("" for none).
type apiClient struct {
	t     testing.TB
	base  string
	token string
	hc    *http.Client
}

// apiErrorBody is the error shape every failure must have.
type apiErrorBody struct {
	Error *struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

// do sends body (JSON-encoded unless it is a string) and returns the
// status, the body and the headers.
func (c apiClient) do(method, path string, body any) (int, []byte, http.Header) {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	ct := ""
	if rd != nil {
		ct = "application/json"
	}
	return c.send(method, path, ct, rd)
}

// send sends body as contentType ("": no body and no Content-Type) and
// returns the status, the body and the headers.
func (c apiClient) send(method, path, contentType string, body io.Reader) (int, []byte, http.Header) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	hc := c.hc
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// json calls do and decodes a 2xx answer into out, failing unless the
// status is want.
func (c apiClient) json(method, path string, body any, want int, out any) {
	c.t.Helper()
	code, b, _ := c.do(method, path, body)
	if code != want {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, code, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// decodeJSON decodes an answer's body into out.
func decodeJSON(t testing.TB, b []byte, out any) {
	t.Helper()
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
}

// apiErr decodes an error answer, failing unless it has the error shape.
func apiErr(t testing.TB, what string, b []byte, h http.Header) apiErrorBody {
	t.Helper()
	var e apiErrorBody
	if err := json.Unmarshal(b, &e); err != nil || e.Error == nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("%s: not the JSON error shape: %v %s", what, err, b)
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Fatalf("%s: Content-Type %q", what, h.Get("Content-Type"))
	}
	return e
}

// newAPITest is newTestServer with an API token per role, for the user of
// that role; clients maps the role to its client.
func newAPITest(t testing.TB, modems int) (*Server, *httptest.Server, *store.Store, map[string]apiClient) {
	t.Helper()
	s, ts, st := newTestServer(t, modems)
	clients := map[string]apiClient{}
	for _, role := range store.Roles {
		u, err := st.UserByName(context.Background(), role)
		if err != nil {
			t.Fatal(err)
		}
		secret, _, err := st.CreateAPIToken(context.Background(), "test", u, "test-"+role, role, 0)
		if err != nil {
			t.Fatal(err)
		}
		clients[role] = apiClient{t: t, base: ts.URL, token: secret}
	}
	return s, ts, st, clients
}

// apiPath fills a route pattern's {id} (and a plan version's {v}) with id.
func apiPath(pattern string, id int64) string {
	n := strconv.FormatInt(id, 10)
	return strings.NewReplacer("{id}", n, "{v}", n).Replace(pattern)
}

// TestAPIAuth walks every API route: without a token, with a wrong,
// revoked or expired one, and with a UI session cookie it answers 401; a
// token whose role is too low gets 403; the right role passes.
func TestAPIAuth(t *testing.T) {
	s, ts, st, clients := newAPITest(t, 3)
	ctx := context.Background()
	op, _ := st.UserByName(ctx, store.RoleOperator)
	revoked, tok, err := st.CreateAPIToken(ctx, "test", op, "revoked", store.RoleOperator, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeAPIToken(ctx, "test", tok.ID); err != nil {
		t.Fatal(err)
	}
	// A token lives until the second it was made plus its TTL: 1 ns has
	// expired by the time it is used.
	expired, _, err := st.CreateAPIToken(ctx, "test", op, "expired", store.RoleOperator, time.Nanosecond)
	if err != nil {
		t.Fatal(err)
	}
	browser := newClient(t, ts)
	browser.login(store.RoleAdmin)
	unauthenticated := map[string]apiClient{
		"no token":     {t: t, base: ts.URL},
		"wrong token":  {t: t, base: ts.URL, token: "ip6m_not-a-token"},
		"revoked":      {t: t, base: ts.URL, token: revoked},
		"expired":      {t: t, base: ts.URL, token: expired},
		"admin cookie": {t: t, base: ts.URL, hc: browser.hc},
	}
	routes := 0
	for _, rt := range s.Routes() {
		if !rt.API {
			continue
		}
		routes++
		if rt.Role == "" {
			if rt.Pattern != apiPrefix+"/openapi.json" {
				t.Errorf("%s %s is public", rt.Method, rt.Pattern)
			}
			continue
		}
		// Admins may really change things: aim every call at a missing row
		// (404 is neither 401 nor 403) and send an empty object.
		path := apiPath(rt.Pattern, 999999)
		var body any
		if rt.Method != "GET" && rt.Method != "DELETE" {
			body = map[string]any{}
		}
		for name, c := range unauthenticated {
			code, b, h := c.do(rt.Method, path, body)
			if code != http.StatusUnauthorized {
				t.Errorf("%s %s with %s: %d, want 401", rt.Method, path, name, code)
				continue
			}
			if e := apiErr(t, name, b, h); e.Error.Code != "unauthorized" || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s with %s: %+v, WWW-Authenticate %q", rt.Method, path, name, e.Error, h.Get("WWW-Authenticate"))
			}
		}
		for _, role := range store.Roles {
			code, b, h := clients[role].do(rt.Method, path, body)
			allowed := store.RoleAtLeast(role, rt.Role)
			switch {
			case !allowed && code != http.StatusForbidden:
				t.Errorf("%s %s as %s: %d, want 403", rt.Method, path, role, code)
			case !allowed && apiErr(t, role, b, h).Error.Code != "forbidden":
				t.Errorf("%s %s as %s: code %s", rt.Method, path, role, b)
			case allowed && (code == http.StatusForbidden || code == http.StatusUnauthorized):
				t.Errorf("%s %s as %s: %d, want it allowed: %s", rt.Method, path, role, code, b)
			}
		}
		if rt.Method != "GET" && rt.Role == store.RoleViewer {
			t.Errorf("%s %s changes state but a viewer may use it", rt.Method, rt.Pattern)
		}
		if strings.Contains(rt.Pattern, "/users") || strings.Contains(rt.Pattern, "/tokens") {
			if rt.Role != store.RoleAdmin {
				t.Errorf("%s %s: role %s, want admin", rt.Method, rt.Pattern, rt.Role)
			}
		}
	}
	if routes < 50 {
		t.Fatalf("only %d API routes found", routes)
	}
}

func TestAPIErrors(t *testing.T) {
	_, ts, st, clients := newAPITest(t, 3)
	op := clients[store.RoleOperator]
	ctx := context.Background()
	plans, _ := st.ListPlans(ctx)
	m, _ := st.ModemByMAC(ctx, "44:32:c8:21:09:e7")
	tests := []struct {
		name         string
		method, path string
		body         any
		status       int
		code         string
		fields       []string
	}{
		{"store validation", "POST", "/api/v1/modems", map[string]any{"mac": "44:32:zz", "fixed_ipv4": "2001:db8::1"}, 422, "validation", []string{"mac", "fixed_ipv4", "plan_id"}},
		{"duplicate MAC", "POST", "/api/v1/modems", map[string]any{"mac": m.MAC, "plan_id": plans[0].ID}, 422, "validation", []string{"mac"}},
		{"nested field", "POST", "/api/v1/networks", map[string]any{"prefix": "10.99.0.0/16", "cmts_id": 1, "ranges": []map[string]string{{"first": "10.98.0.1", "last": "10.99.0.9"}}}, 422, "validation", []string{"ranges.0"}},
		{"plan template", "POST", "/api/v1/plans", map[string]any{"name": "Broken", "config": "Main\n{\n\tNoSuchThing 5;\n}\n"}, 422, "validation", []string{"config"}},
		{"wrong type", "POST", "/api/v1/customers", `{"account": 42}`, 422, "validation", []string{"account"}},
		{"unknown field", "POST", "/api/v1/customers", `{"acount": "C1"}`, 400, "bad_request", []string{"acount"}},
		{"not JSON", "POST", "/api/v1/customers", `{"account": `, 400, "bad_request", nil},
		{"two objects", "POST", "/api/v1/customers", `{} {}`, 400, "bad_request", nil},
		{"empty body", "POST", "/api/v1/customers", "", 400, "bad_request", nil},
		{"bad parameter", "GET", "/api/v1/modems?cmts_id=x&limit=0&colour=red", nil, 400, "bad_request", []string{"cmts_id", "limit", "colour"}},
		{"missing row", "GET", "/api/v1/modems/999999", nil, 404, "not_found", nil},
		{"malformed id", "GET", "/api/v1/modems/abc", nil, 404, "not_found", nil},
		{"no such route", "GET", "/api/v1/frobnicate", nil, 404, "not_found", nil},
		{"wrong method", "DELETE", "/api/v1/modems", nil, 405, "method_not_allowed", nil},
		{"in use", "DELETE", apiPath("/api/v1/plans/{id}", m.PlanID), nil, 409, "conflict", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, b, h := op.do(tc.method, tc.path, tc.body)
			if code != tc.status {
				t.Fatalf("%d, want %d: %s", code, tc.status, b)
			}
			e := apiErr(t, tc.name, b, h)
			if e.Error.Code != tc.code {
				t.Errorf("code %q, want %q", e.Error.Code, tc.code)
			}
			for _, f := range tc.fields {
				if e.Error.Fields[f] == "" {
					t.Errorf("no message for field %q in %s", f, b)
				}
			}
		})
	}
	if _, _, h := op.do("DELETE", "/api/v1/modems", nil); h.Get("Allow") != "GET, POST" {
		t.Errorf("405 Allow: %q, want GET, POST", h.Get("Allow"))
	}
	req, _ := http.NewRequest("POST", ts.URL+"/api/v1/customers", strings.NewReader("account=C1"))
	req.Header.Set("Authorization", "Bearer "+op.token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a form body: %v %v, want 415", resp.StatusCode, err)
	}

	// An internal failure is a 500 in the same shape, without internals.
	st.Close()
	code, b, h := op.do("GET", "/api/v1/customers", nil)
	if e := apiErr(t, "closed store", b, h); code != 500 || e.Error.Code != "internal" || strings.Contains(string(b), "sql") {
		t.Fatalf("with the store closed: %d %s", code, b)
	}
}

func TestAPIPagination(t *testing.T) {
	_, _, st, clients := newAPITest(t, 23)
	c := clients[store.RoleViewer]
	n, _ := st.Count(context.Background())
	seen := map[int64]bool{}
	for offset := 0; ; offset += 7 {
		var page listJSON[modemJSON]
		c.json("GET", fmt.Sprintf("/api/v1/modems?limit=7&offset=%d", offset), nil, 200, &page)
		if page.Total != n.Modems || page.Limit != 7 || page.Offset != offset {
			t.Fatalf("page at %d: total %d limit %d offset %d, want total %d", offset, page.Total, page.Limit, page.Offset, n.Modems)
		}
		for _, m := range page.Items {
			if seen[m.ID] {
				t.Fatalf("modem %d on two pages", m.ID)
			}
			seen[m.ID] = true
		}
		if len(page.Items) < 7 {
			break
		}
	}
	if len(seen) != n.Modems {
		t.Fatalf("paged through %d of %d modems", len(seen), n.Modems)
	}
	var empty listJSON[modemJSON]
	c.json("GET", "/api/v1/modems?offset=1000", nil, 200, &empty)
	if empty.Items == nil || len(empty.Items) != 0 {
		t.Fatalf("past the end: %+v, want an empty array", empty)
	}
	// Filters narrow the total; the short lists page in memory the same way.
	var enabled, cmts listJSON[modemJSON]
	c.json("GET", "/api/v1/modems?enabled=false&limit=1000", nil, 200, &enabled)
	if enabled.Total != n.ModemsDisabled {
		t.Fatalf("disabled modems: %d, want %d", enabled.Total, n.ModemsDisabled)
	}
	c.json("GET", "/api/v1/modems?cmts_id=1&q=44:32:c8:21:09:e7", nil, 200, &cmts)
	if cmts.Total != 1 || cmts.Items[0].MAC != "44:32:c8:21:09:e7" {
		t.Fatalf("search: %+v", cmts)
	}
	var nets listJSON[networkJSON]
	c.json("GET", "/api/v1/networks?family=6&limit=2&offset=1", nil, 200, &nets)
	if nets.Total < 3 || len(nets.Items) != 2 || nets.Items[0].Family != 6 {
		t.Fatalf("v6 networks page: %+v", nets)
	}
	if code, _, _ := c.do("GET", "/api/v1/modems?limit=1001", nil); code != 400 {
		t.Fatalf("limit 1001: %d, want 400", code)
	}
}

// TestAPIRoundTrip creates, reads, changes (PATCH and PUT) and deletes one
// of every entity, and checks that the audit log names the token's user.
func TestAPIRoundTrip(t *testing.T) {
	_, _, st, clients := newAPITest(t, 3)
	ctx := context.Background()
	m, _ := st.ModemByMAC(ctx, "44:32:c8:21:09:e7")
	tests := []struct {
		path, entity, role string
		create, patch      map[string]any
		put                map[string]any // a whole object; absent fields take defaults
		field              string         // changed by patch
	}{
		{"cmts", "CMTS", store.RoleOperator,
			map[string]any{"name": "CMTS-9", "mgmt_ipv4": "10.0.9.2", "shared_secret": "s3cret"},
			map[string]any{"notes": "rack 4"}, map[string]any{"name": "CMTS-9b"}, "notes"},
		{"networks", "network", store.RoleOperator,
			map[string]any{"prefix": "10.77.0.0/16", "cmts_id": m.CMTSID, "purpose": "cpe", "dns_servers": []string{"10.77.0.1"}, "ranges": []map[string]string{{"first": "10.77.1.1", "last": "10.77.1.200"}}},
			map[string]any{"name": "overflow"}, map[string]any{"prefix": "10.77.0.0/16", "cmts_id": m.CMTSID}, "name"},
		{"plans", "plan", store.RoleOperator,
			map[string]any{"name": "Tiny", "config": "Main\n{\n\tNetworkAccess 1;\n\tMaxCPE {{.MaxCPE}};\n}\n", "max_cpe": 2},
			map[string]any{"description": "the smallest"}, map[string]any{"name": "Tiny", "config": "Main\n{\n\tNetworkAccess 0;\n}\n"}, "description"},
		{"customers", "customer", store.RoleOperator,
			map[string]any{"account": "C999001", "name": "Test Elek", "email": "elek@example.com"},
			map[string]any{"phone": "+36 1 555 0100"}, map[string]any{"account": "C999001", "name": "Test Elek"}, "phone"},
		{"modems", "modem", store.RoleOperator,
			map[string]any{"mac": "02:00:5e:00:00:01", "plan_id": m.PlanID, "cmts_id": m.CMTSID},
			map[string]any{"serial": "SN-API-1"}, map[string]any{"mac": "0200.5e00.0001", "plan_id": m.PlanID}, "serial"},
		{"mtas", "MTA", store.RoleOperator,
			map[string]any{"mac": "02:00:5e:00:00:02", "modem_id": m.ID, "phone_lines": []string{"+36 1 555 0101"}},
			map[string]any{"notes": "line 2 unused"}, map[string]any{"mac": "02:00:5e:00:00:02", "modem_id": m.ID}, "notes"},
		{"cpes", "CPE", store.RoleOperator,
			map[string]any{"mac": "02:00:5e:00:00:03", "modem_id": m.ID, "fixed_ipv4": "100.64.9.9"},
			map[string]any{"notes": "office router"}, map[string]any{"mac": "02:00:5e:00:00:03", "modem_id": m.ID}, "notes"},
		{"users", "user", store.RoleAdmin,
			map[string]any{"name": "scripts", "role": "operator", "password": "a long enough password"},
			map[string]any{"disabled": true}, map[string]any{"name": "scripts", "role": "viewer"}, "disabled"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			c := clients[tc.role]
			base := "/api/v1/" + tc.path
			code, b, h := c.do("POST", base, tc.create)
			if code != http.StatusCreated {
				t.Fatalf("create: %d %s", code, b)
			}
			var created map[string]any
			json.Unmarshal(b, &created)
			id := int64(created["id"].(float64))
			if h.Get("Location") != apiPath(base+"/{id}", id) {
				t.Errorf("Location %q", h.Get("Location"))
			}
			for _, secret := range []string{"password", "shared_secret", "snmp_write"} {
				if _, ok := created[secret]; ok {
					t.Errorf("the answer shows the write-only %s", secret)
				}
			}
			var got map[string]any
			c.json("GET", apiPath(base+"/{id}", id), nil, 200, &got)
			if fmt.Sprint(got) != fmt.Sprint(created) {
				t.Errorf("get differs from create:\n%v\n%v", got, created)
			}
			var patched map[string]any
			c.json("PATCH", apiPath(base+"/{id}", id), tc.patch, 200, &patched)
			for k, v := range tc.create {
				if k == "password" || k == "shared_secret" || k == "config" || k == "mac" || k == "dns_servers" || k == "ranges" || k == "phone_lines" {
					continue
				}
				if fmt.Sprint(patched[k]) != fmt.Sprint(v) {
					t.Errorf("PATCH changed %s: %v → %v", k, v, patched[k])
				}
			}
			if fmt.Sprint(patched[tc.field]) != fmt.Sprint(tc.patch[tc.field]) {
				t.Errorf("PATCH: %s = %v, want %v", tc.field, patched[tc.field], tc.patch[tc.field])
			}
			var put map[string]any
			c.json("PUT", apiPath(base+"/{id}", id), tc.put, 200, &put)
			if put[tc.field] == patched[tc.field] {
				t.Errorf("PUT without %s kept it (%v); it should take the default", tc.field, put[tc.field])
			}
			c.json("DELETE", apiPath(base+"/{id}", id), nil, 204, nil)
			if code, _, _ := c.do("GET", apiPath(base+"/{id}", id), nil); code != 404 {
				t.Errorf("after delete: %d, want 404", code)
			}
			trail, _ := st.ListAudit(ctx, tc.entity, id, 10)
			if len(trail) != 4 {
				t.Fatalf("%d audit rows, want create, update, update, delete", len(trail))
			}
			for _, a := range trail {
				if a.Actor != tc.role {
					t.Errorf("audit %s by %q, want the token's user %q", a.Action, a.Actor, tc.role)
				}
			}
		})
	}
}

// TestAPIWriteOnlySecrets: a CMTS's secrets are never shown, and a change
// that does not name them keeps them.
func TestAPIWriteOnlySecrets(t *testing.T) {
	_, _, st, clients := newAPITest(t, 0)
	c := clients[store.RoleOperator]
	var created cmtsJSON
	c.json("POST", "/api/v1/cmts", map[string]any{"name": "CMTS-S", "snmp_write": "private", "shared_secret": "mic-key"}, 201, &created)
	if !created.HasSecret || !created.HasSNMPWrite || created.SharedSecret != nil {
		t.Fatalf("created: %+v", created)
	}
	c.json("PUT", apiPath("/api/v1/cmts/{id}", created.ID), map[string]any{"name": "CMTS-S", "notes": "replaced"}, 200, nil)
	got, _ := st.GetCMTS(context.Background(), created.ID)
	if got.SharedSecret != "mic-key" || got.SNMPWrite != "private" || got.Notes != "replaced" {
		t.Fatalf("after a PUT without secrets: %+v", got)
	}
	c.json("PATCH", apiPath("/api/v1/cmts/{id}", created.ID), map[string]any{"shared_secret": ""}, 200, &created)
	if created.HasSecret {
		t.Fatal("an empty shared_secret did not clear it")
	}
}

// TestAPILeaseHistory: who had an address at a time, answered as a chain
// address → device → modem → customer, for v4 and v6; and the current
// leases.
func TestAPILeaseHistory(t *testing.T) {
	_, _, st, clients := newAPITest(t, 5)
	ctx := context.Background()
	m, _ := st.ModemByMAC(ctx, "44:32:c8:21:09:e7")
	cust, _ := st.GetCustomer(ctx, m.CustomerID)
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	cpe, other := "44:32:c8:21:09:e9", "02:00:00:00:00:77"
	now := time.Now()
	ops := []store.LeaseOp{
		{Event: store.EventGrant, ModemMAC: m.MAC, CustomerID: m.CustomerID, V4: &store.Lease4{IP: "100.64.0.23", MAC: cpe, Kind: store.KindCPE,
			State: store.StateActive, ModemID: m.ID, GiAddr: "100.64.0.1", Starts: day, Ends: day.Add(12 * time.Hour)}},
		{Event: store.EventGrant, V4: &store.Lease4{IP: "100.64.0.23", MAC: other, Kind: store.KindCPE,
			State: store.StateActive, GiAddr: "100.64.0.1", Starts: day.Add(24 * time.Hour), Ends: now.Add(time.Hour)}},
		{Event: store.EventGrant, ModemMAC: m.MAC, CustomerID: m.CustomerID, V6: &store.Lease6{Type: "pd", Address: "2001:db8:4:100::", PrefixLen: 56,
			DUID: []byte{0, 3, 0, 1, 0x44, 0x32, 0xc8, 0x21, 0x09, 0xe9}, MAC: cpe, Kind: store.KindCPE, State: store.StateActive, ModemID: m.ID,
			Starts: day, Ends: now.Add(time.Hour)}},
	}
	if err := st.CommitLeases(ctx, ops...); err != nil {
		t.Fatal(err)
	}
	c := clients[store.RoleViewer]
	var ans historyAnswer
	c.json("GET", "/api/v1/leases/history?q=100.64.0.23&at=2026-12-01T10:05", nil, 200, &ans)
	if len(ans.Items) != 1 {
		t.Fatalf("who had 100.64.0.23 at 10:05 on the 1st: %+v", ans.Items)
	}
	h := ans.Items[0]
	if h.Device.MAC != cpe || h.Device.Kind != "cpe" || h.Modem == nil || h.Modem.MAC != m.MAC || h.Modem.ID == nil || *h.Modem.ID != m.ID ||
		h.Customer == nil || h.Customer.Account != cust.Account || h.Customer.Name != cust.Name {
		t.Fatalf("chain: %+v modem %+v customer %+v", h, h.Modem, h.Customer)
	}
	// Follow the chain: the modem and the customer are one GET each.
	var mj modemJSON
	c.json("GET", apiPath("/api/v1/modems/{id}", *h.Modem.ID), nil, 200, &mj)
	var cj customerJSON
	c.json("GET", apiPath("/api/v1/customers/{id}", h.Customer.ID), nil, 200, &cj)
	if mj.CustomerID == nil || *mj.CustomerID != cj.ID || cj.Account != cust.Account {
		t.Fatalf("modem %+v, customer %+v", mj, cj)
	}
	for _, tc := range []struct {
		q    string
		want int
	}{
		{"100.64.0.23", 2},                         // both holders, newest first
		{"2001:db8:4:100::/56", 1},                 // a delegated prefix
		{"2001:db8:4:100::", 1},                    // its first address
		{"4432.c821.09e7", 2},                      // by the modem's MAC: the CPE's v4 and v6
		{cust.Account, 2},                          // by the customer
		{"100.64.0.23&at=2026-12-03T00:00:00Z", 1}, // RFC 3339
	} {
		var a historyAnswer
		c.json("GET", "/api/v1/leases/history?q="+tc.q, nil, 200, &a)
		if len(a.Items) != tc.want {
			t.Errorf("q=%s: %d rows, want %d", tc.q, len(a.Items), tc.want)
		}
	}
	for _, q := range []string{"", "?q=nonsense", "?q=100.64.0.23&at=yesterday"} {
		code, b, hd := c.do("GET", "/api/v1/leases/history"+q, nil)
		if e := apiErr(t, q, b, hd); code != 400 || len(e.Error.Fields) == 0 {
			t.Errorf("history%s: %d %s, want 400 naming the field", q, code, b)
		}
	}

	var v4 listJSON[lease4JSON]
	c.json("GET", "/api/v1/leases/v4?ip=100.64.0.23", nil, 200, &v4)
	if v4.Total != 1 || v4.Items[0].MAC != other {
		t.Fatalf("current lease of 100.64.0.23: %+v", v4)
	}
	var v6 listJSON[lease6JSON]
	c.json("GET", "/api/v1/leases/v6?type=pd&modem_id="+strconv.FormatInt(m.ID, 10), nil, 200, &v6)
	if v6.Total != 1 || v6.Items[0].PrefixLen != 56 || v6.Items[0].DUID != "000300014432c82109e9" {
		t.Fatalf("current prefixes of the modem: %+v", v6)
	}
	if code, _, _ := c.do("GET", "/api/v1/leases/v4?ip=2001:db8::1", nil); code != 400 {
		t.Errorf("a v6 address in the v4 list: %d, want 400", code)
	}
}

// TestAPILeaseHistoryByCustomer: a customer's history holds the leases
// granted while a modem was theirs, also after the modem moved to another
// customer; and an account is found exactly, even when more than a page of
// other accounts contain it and sort before it.
func TestAPILeaseHistoryByCustomer(t *testing.T) {
	_, _, st, clients := newAPITest(t, 3)
	ctx := context.Background()
	m, _ := st.ModemByMAC(ctx, "44:32:c8:21:09:e7")
	a, _ := st.GetCustomer(ctx, m.CustomerID)
	b := store.Customer{Account: "C7", Name: "Zöld Zoltán"}
	if err := st.CreateCustomer(ctx, "test", &b); err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		c := store.Customer{Account: fmt.Sprintf("C7%02d", i), Name: fmt.Sprintf("Aaron %02d", i)}
		if err := st.CreateCustomer(ctx, "test", &c); err != nil {
			t.Fatal(err)
		}
	}
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	grant := func(ip string, customer int64, at time.Time) store.LeaseOp {
		return store.LeaseOp{Event: store.EventGrant, ModemMAC: m.MAC, CustomerID: customer, V4: &store.Lease4{IP: ip, MAC: "44:32:c8:21:09:e9",
			Kind: store.KindCPE, State: store.StateActive, ModemID: m.ID, Starts: at, Ends: at.Add(12 * time.Hour)}}
	}
	if err := st.CommitLeases(ctx, grant("100.64.7.1", a.ID, day)); err != nil {
		t.Fatal(err)
	}
	op := clients[store.RoleOperator]
	op.json("PATCH", apiPath("/api/v1/modems/{id}", m.ID), map[string]any{"customer_id": b.ID}, 200, nil)
	if err := st.CommitLeases(ctx, grant("100.64.7.2", b.ID, day.Add(48*time.Hour))); err != nil {
		t.Fatal(err)
	}
	c := clients[store.RoleViewer]
	for _, tc := range []struct {
		q       string
		want    string // the addresses, newest first
		account string // every row's customer
	}{
		{a.Account, "100.64.7.1", a.Account},
		{a.Account + "&at=2026-11-01T06:00", "100.64.7.1", a.Account},
		{"C7", "100.64.7.2", "C7"},
		{"C7&at=2026-11-01T06:00", "", ""},
	} {
		var ans historyAnswer
		c.json("GET", "/api/v1/leases/history?q="+tc.q, nil, 200, &ans)
		var got []string
		for _, h := range ans.Items {
			got = append(got, h.Address)
			if h.Customer == nil || h.Customer.Account != tc.account {
				t.Errorf("q=%s: %s is shown as %+v's, want %s's", tc.q, h.Address, h.Customer, tc.account)
			}
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("q=%s: %v, want %s", tc.q, got, tc.want)
		}
	}
}

func TestAPIMetrics(t *testing.T) {
	s, _, st, clients := newAPITest(t, 3)
	m, _ := st.ModemByMAC(context.Background(), "44:32:c8:21:09:e7")
	c := clients[store.RoleViewer]
	path := apiPath("/api/v1/modems/{id}/metrics", m.ID)
	if code, b, h := c.do("GET", path, nil); code != 503 || apiErr(t, "no series", b, h).Error.Code != "unavailable" {
		t.Fatalf("without a time-series store: %d %s", code, b)
	}
	s.cfg.Series = testSeries(t, m.MAC)
	var ans metricsAnswer
	c.json("GET", path+"?metric=dspwr&range=hour&points=100", nil, 200, &ans)
	if ans.MAC != m.MAC || len(ans.Series) != 1 || ans.Series[0].Unit != "dBmV" || len(ans.Series[0].Time) == 0 || len(ans.Series[0].Time) > 100 {
		t.Fatalf("dspwr over the hour: %+v", ans)
	}
	known := 0
	for _, v := range ans.Series[0].Avg {
		if v != nil {
			known++
			if *v < 3.4 || *v > 4.2 {
				t.Fatalf("value %v is not what was stored", *v)
			}
		}
	}
	if known == 0 {
		t.Fatal("no known point")
	}
	to := time.Now().Add(-30 * time.Minute)
	c.json("GET", fmt.Sprintf("%s?from=%d&to=%s", path, to.Add(-10*time.Minute).Unix(), to.UTC().Format(time.RFC3339)), nil, 200, &ans)
	if len(ans.Series) != 1 || !ans.To.Equal(to.UTC().Truncate(time.Second)) {
		t.Fatalf("from/to: %+v", ans)
	}
	for _, q := range []string{"?metric=colour", "?range=week", "?range=hour&from=1", "?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", "?points=0"} {
		if code, b, _ := c.do("GET", path+q, nil); code != 400 {
			t.Errorf("metrics%s: %d %s, want 400", q, code, b)
		}
	}
}

func TestAPIModemReset(t *testing.T) {
	s, _, st, clients := newAPITest(t, 3)
	ctx := context.Background()
	m, _ := st.ModemByMAC(ctx, "44:32:c8:21:09:e7")
	path := apiPath("/api/v1/modems/{id}/reset", m.ID)
	op := clients[store.RoleOperator]
	if code, _, _ := op.do("POST", path, nil); code != 503 {
		t.Fatalf("without a poller: %d, want 503", code)
	}
	var resets []string
	fail := false
	s.cfg.ResetModem = func(_ context.Context, mac string) error {
		resets = append(resets, mac)
		if fail {
			return errors.New("no answer from 10.10.1.5")
		}
		return nil
	}
	if code, _, _ := clients[store.RoleViewer].do("POST", path, nil); code != 403 || len(resets) != 0 {
		t.Fatalf("a viewer's reset: %d, resets %v", code, resets)
	}
	var ans resetAnswer
	op.json("POST", path, nil, 202, &ans)
	if ans.MAC != m.MAC || ans.Outcome != "sent" || len(resets) != 1 {
		t.Fatalf("reset: %+v, resets %v", ans, resets)
	}
	fail = true
	code, b, h := op.do("POST", path, nil)
	if e := apiErr(t, "failed reset", b, h); code != 502 || !strings.Contains(e.Error.Message, "no answer") {
		t.Fatalf("a failed reset: %d %s", code, b)
	}
	a, _ := st.ListAudit(ctx, "modem", m.ID, 5)
	if len(a) < 2 || a[0].Action != "reset" || a[0].Actor != store.RoleOperator || !strings.Contains(a[0].After, "failed") || a[1].Action != "reset" {
		t.Fatalf("resets not audited with the token's user: %+v", a)
	}
}

func TestAPITokens(t *testing.T) {
	_, ts, st, clients := newAPITest(t, 0)
	admin := clients[store.RoleAdmin]
	viewer, _ := st.UserByName(context.Background(), store.RoleViewer)
	var made tokenCreated
	admin.json("POST", "/api/v1/tokens", map[string]any{"name": "grafana", "role": "viewer", "user_id": viewer.ID, "expires_in_days": 30}, 201, &made)
	if made.Token.User != store.RoleViewer || made.Token.Expires == nil || !strings.HasPrefix(made.Secret, "ip6m_") {
		t.Fatalf("created: %+v", made)
	}
	grafana := apiClient{t: t, base: ts.URL, token: made.Secret}
	grafana.json("GET", "/api/v1/modems", nil, 200, nil)
	var list listJSON[tokenJSON]
	admin.json("GET", "/api/v1/tokens?user_id="+strconv.FormatInt(viewer.ID, 10), nil, 200, &list)
	if list.Total != 2 || list.Items[0].Name != "grafana" || list.Items[0].LastUsed == nil {
		t.Fatalf("viewer's tokens: %+v", list)
	}
	for _, body := range []map[string]any{
		{"name": "too strong", "role": "admin", "user_id": viewer.ID},
		{"name": "", "role": "viewer"},
		{"name": "forever and more", "role": "viewer", "expires_in_days": 100000},
		{"name": "nobody's", "role": "viewer", "user_id": 999999},
	} {
		if code, b, _ := admin.do("POST", "/api/v1/tokens", body); code != 422 {
			t.Errorf("token %v: %d %s, want 422", body, code, b)
		}
	}
	admin.json("DELETE", apiPath("/api/v1/tokens/{id}", made.Token.ID), nil, 204, nil)
	if code, _, _ := grafana.do("GET", "/api/v1/modems", nil); code != 401 {
		t.Fatalf("a revoked token: %d, want 401", code)
	}
	a, _ := st.ListAudit(context.Background(), "api_token", made.Token.ID, 5)
	if len(a) != 2 || a[0].Action != "revoke" || a[0].Actor != store.RoleAdmin || a[1].Actor != store.RoleAdmin {
		t.Fatalf("token audit: %+v", a)
	}
}

// TestAPIPatchReplacesArrays: a PATCH that names an array replaces it
// whole; one that does not keeps it.
func TestAPIPatchReplacesArrays(t *testing.T) {
	_, _, st, clients := newAPITest(t, 0)
	c := clients[store.RoleOperator]
	ctx := context.Background()
	cm := store.CMTS{Name: "CMTS-A"}
	if err := st.CreateCMTS(ctx, "test", &cm); err != nil {
		t.Fatal(err)
	}
	var n networkJSON
	c.json("POST", "/api/v1/networks", map[string]any{"prefix": "10.50.0.0/16", "cmts_id": cm.ID,
		"ranges": []map[string]string{{"first": "10.50.1.1", "last": "10.50.1.99"}, {"first": "10.50.2.1", "last": "10.50.2.99"}}}, 201, &n)
	path := apiPath("/api/v1/networks/{id}", n.ID)
	c.json("PATCH", path, map[string]any{"notes": "kept ranges"}, 200, &n)
	if len(n.Ranges) != 2 {
		t.Fatalf("a PATCH without ranges changed them: %+v", n.Ranges)
	}
	code, b, _ := c.do("PATCH", path, map[string]any{"ranges": []map[string]string{{"first": "10.50.1.5"}}})
	if code != 422 || !strings.Contains(string(b), "ranges.0") {
		t.Fatalf("a range without its last address: %d %s, want 422 (not merged with the old last)", code, b)
	}
	c.json("PATCH", path, map[string]any{"ranges": []map[string]string{{"first": "10.50.3.1", "last": "10.50.3.9"}}}, 200, &n)
	if len(n.Ranges) != 1 || n.Ranges[0].First != "10.50.3.1" {
		t.Fatalf("ranges after the PATCH: %+v", n.Ranges)
	}
}
