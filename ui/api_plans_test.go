package ui

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"ip6m/store"
)

// brokenConfig does not compile: line 3 names no DOCSIS setting.
const brokenConfig = "Main\n{\n\tNoSuchThing 5;\n}\n"

// editPlanAPI saves a second version of the plan of the modem m over the
// API: one line added and max-CPE 9. It returns the first version.
func editPlanAPI(t *testing.T, st *store.Store, op apiClient, m store.Modem) store.Plan {
	t.Helper()
	pl, err := st.GetPlan(context.Background(), m.PlanID)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(pl.Config, "NetworkAccess 1;", "NetworkAccess 1;\n\tSnmpMibObject sysContact.0 String \"noc-test\";", 1)
	if edited == pl.Config {
		t.Fatalf("demo plan has no NetworkAccess line:\n%s", pl.Config)
	}
	op.json("PATCH", apiPath("/api/v1/plans/{id}", pl.ID), map[string]any{"config": edited, "max_cpe": 9}, 200, nil)
	return pl
}

// TestAPIPlanVersions: saves make versions, listed newest first and paged;
// one version, and the diff between two as the version page shows it.
func TestAPIPlanVersions(t *testing.T) {
	_, _, st, clients := newAPITest(t, 3)
	m, _ := st.ModemByMAC(context.Background(), "44:32:c8:21:09:e7")
	pl := editPlanAPI(t, st, clients[store.RoleOperator], m)
	c := clients[store.RoleViewer]
	base := apiPath("/api/v1/plans/{id}/versions", pl.ID)

	var list listJSON[planVersionJSON]
	c.json("GET", base, nil, 200, &list)
	if list.Total != 2 || len(list.Items) != 2 || list.Items[0].Version != 2 || list.Items[1].Version != 1 {
		t.Fatalf("versions: %+v", list)
	}
	if v := list.Items[0]; v.Actor != store.RoleOperator || v.MaxCPE != 9 || !strings.Contains(v.Config, "noc-test") || v.PlanID != pl.ID || v.At.IsZero() {
		t.Errorf("version 2: %+v", v)
	}
	c.json("GET", base+"?limit=1&offset=1", nil, 200, &list)
	if list.Total != 2 || len(list.Items) != 1 || list.Items[0].Version != 1 {
		t.Errorf("second page: %+v", list)
	}
	var v1 planVersionJSON
	c.json("GET", base+"/1", nil, 200, &v1)
	if v1.Version != 1 || v1.Config != pl.Config || v1.MaxCPE != pl.MaxCPE {
		t.Errorf("version 1: %+v, want the plan as it was", v1)
	}

	var d planDiffJSON
	c.json("GET", base+"/2/diff", nil, 200, &d)
	if d.Against == nil || *d.Against != 1 || strings.Join(d.Changed, " ") != "config max_cpe" || d.MTAConfig != "" {
		t.Fatalf("diff of version 2: %+v", d)
	}
	for _, w := range []string{"--- version 1\n", "+++ version 2\n", "@@ ", "+\tSnmpMibObject sysContact.0 String \"noc-test\";\n", " \tNetworkAccess 1;\n"} {
		if !strings.Contains(d.Config, w) {
			t.Errorf("the diff lacks %q:\n%s", w, d.Config)
		}
	}
	if strings.Contains(d.Config, "\n-") {
		t.Errorf("version 2 only added a line, yet the diff deletes one:\n%s", d.Config)
	}
	c.json("GET", base+"/2/diff?against=2", nil, 200, &d)
	if len(d.Changed) != 0 || d.Config != "" {
		t.Errorf("a version against itself: %+v", d)
	}
	c.json("GET", base+"/1/diff", nil, 200, &d)
	if d.Against != nil || !strings.Contains(d.Config, "--- (none)\n") || strings.Count(d.Config, "\n+") < strings.Count(pl.Config, "\n") {
		t.Errorf("version 1 against nothing: %+v", d)
	}
	c.json("GET", base+"/1/diff?against=2", nil, 200, &d)
	if !strings.Contains(d.Config, "-\tSnmpMibObject") {
		t.Errorf("version 1 against 2 should delete the line:\n%s", d.Config)
	}

	for _, tc := range []struct {
		path   string
		status int
		code   string
	}{
		{base + "/99", 404, "not_found"},
		{base + "/abc", 404, "not_found"},
		{base + "/0", 404, "not_found"},
		{base + "/99/diff", 404, "not_found"},
		{base + "/2/diff?against=99", 404, "not_found"},
		{base + "/2/diff?against=x", 400, "bad_request"},
		{base + "/2/diff?colour=red", 400, "bad_request"},
		{base + "?limit=0", 400, "bad_request"},
		{"/api/v1/plans/999999/versions", 404, "not_found"},
	} {
		code, b, h := c.do("GET", tc.path, nil)
		if e := apiErr(t, tc.path, b, h); code != tc.status || e.Error.Code != tc.code {
			t.Errorf("GET %s: %d %s, want %d %s", tc.path, code, b, tc.status, tc.code)
		}
	}
}

// TestAPIPlanRollback: an operator brings an old version back (audited, a
// new version noted as the rollback); a missing version is a 404, one whose
// template no longer compiles a 422 that changes nothing.
func TestAPIPlanRollback(t *testing.T) {
	_, _, st, clients := newAPITest(t, 3)
	ctx := context.Background()
	m, _ := st.ModemByMAC(ctx, "44:32:c8:21:09:e7")
	op := clients[store.RoleOperator]
	pl := editPlanAPI(t, st, op, m)
	path := apiPath("/api/v1/plans/{id}/rollback", pl.ID)

	if code, _, _ := clients[store.RoleViewer].do("POST", path, map[string]any{"version": 1}); code != http.StatusForbidden {
		t.Fatalf("a viewer's rollback: %d, want 403", code)
	}
	var back planJSON
	op.json("POST", path, map[string]any{"version": 1}, 200, &back)
	if back.Config != pl.Config || back.MaxCPE != pl.MaxCPE || back.Name != pl.Name {
		t.Fatalf("after the rollback: %+v, want version 1", back)
	}
	now, _ := st.GetPlan(ctx, pl.ID)
	if now.Config != pl.Config {
		t.Fatal("the rollback did not reach the store")
	}
	v3, err := st.PlanVersion(ctx, pl.ID, 3)
	if err != nil || v3.Note != "rollback to version 1" || v3.Actor != store.RoleOperator {
		t.Fatalf("version 3: %+v, %v", v3, err)
	}
	a, _ := st.ListAudit(ctx, "plan", pl.ID, 5)
	if len(a) == 0 || a[0].Action != "rollback" || a[0].Actor != store.RoleOperator {
		t.Errorf("the rollback is not audited under the token's user: %+v", a)
	}

	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"missing version", map[string]any{"version": 99}, 404, "not_found", ""},
		{"no version", map[string]any{}, 422, "validation", "version"},
		{"version 0", map[string]any{"version": 0}, 422, "validation", "version"},
		{"wrong type", `{"version": "1"}`, 422, "validation", "version"},
		{"unknown field", map[string]any{"version": 1, "force": true}, 400, "bad_request", "force"},
	} {
		code, b, h := op.do("POST", path, tc.body)
		e := apiErr(t, tc.name, b, h)
		if code != tc.status || e.Error.Code != tc.code || (tc.field != "" && e.Error.Fields[tc.field] == "") {
			t.Errorf("%s: %d %s, want %d %s naming %q", tc.name, code, b, tc.status, tc.code, tc.field)
		}
	}
	if code, _, _ := op.do("POST", "/api/v1/plans/999999/rollback", map[string]any{"version": 1}); code != 404 {
		t.Errorf("a missing plan: %d, want 404", code)
	}

	// A plan whose first version no longer compiles (saved before the
	// check, or by a compiler that accepted more).
	old := store.Plan{Name: "Legacy", Config: brokenConfig, MaxCPE: 1}
	if err := st.CreatePlan(ctx, "test", &old); err != nil {
		t.Fatal(err)
	}
	good := old
	good.Config = "Main\n{\n\tNetworkAccess 1;\n}\n"
	if err := st.UpdatePlan(ctx, "test", &good); err != nil {
		t.Fatal(err)
	}
	code, b, h := op.do("POST", apiPath("/api/v1/plans/{id}/rollback", old.ID), map[string]any{"version": 1})
	if e := apiErr(t, "broken version", b, h); code != 422 || !strings.Contains(e.Error.Fields["config"], "line 3") {
		t.Fatalf("rollback to a version that does not compile: %d %s, want 422 naming config's line 3", code, b)
	}
	if now, _ := st.GetPlan(ctx, old.ID); now.Config != good.Config {
		t.Errorf("a refused rollback changed the plan: %+v", now)
	}
}

// TestAPIPlanPreview: the plan, or an old version of it, compiled for a
// modem through the TFTP server's builder, as the plan page previews it.
func TestAPIPlanPreview(t *testing.T) {
	s, _, st, clients := newAPITest(t, 3)
	ctx := context.Background()
	m, _ := st.ModemByMAC(ctx, "44:32:c8:21:09:e7")
	op := clients[store.RoleOperator]
	pl := editPlanAPI(t, st, op, m)
	path := apiPath("/api/v1/plans/{id}/preview", pl.ID)

	code, b, h := op.do("POST", path, map[string]any{"mac": m.MAC})
	if e := apiErr(t, "no TFTP", b, h); code != 503 || e.Error.Code != "unavailable" {
		t.Fatalf("without TFTP: %d %s, want 503", code, b)
	}
	s.cfg.Configs = tftpConfigs(t, st)

	var now, v1 planPreviewJSON
	op.json("POST", path, map[string]any{"mac": strings.ToUpper(m.MAC)}, 200, &now)
	if now.MAC != m.MAC || now.Version != nil || now.Size == 0 || !strings.Contains(now.Decoded, "noc-test") ||
		!strings.Contains(now.Decoded, "NetworkAccess 1;") || !strings.Contains(now.MICs, "CM MIC ok") {
		t.Fatalf("preview of the plan as it is: %+v", now)
	}
	op.json("POST", path, map[string]any{"mac": m.MAC, "version": 1}, 200, &v1)
	if v1.Version == nil || *v1.Version != 1 || strings.Contains(v1.Decoded, "noc-test") || v1.Size >= now.Size {
		t.Fatalf("preview of version 1: %+v", v1)
	}

	broken := store.Plan{Name: "Broken", Config: brokenConfig, MaxCPE: 1}
	if err := st.CreatePlan(ctx, "test", &broken); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		path   string
		body   any
		status int
		field  string
	}{
		{"no MAC", path, map[string]any{}, 422, "mac"},
		{"not a MAC", path, map[string]any{"mac": "zz:zz"}, 422, "mac"},
		{"unknown modem", path, map[string]any{"mac": "00:00:00:00:00:01"}, 422, "mac"},
		{"negative version", path, map[string]any{"mac": m.MAC, "version": -1}, 422, "version"},
		{"missing version", path, map[string]any{"mac": m.MAC, "version": 99}, 404, ""},
		{"missing plan", "/api/v1/plans/999999/preview", map[string]any{"mac": m.MAC}, 404, ""},
		{"template does not compile", apiPath("/api/v1/plans/{id}/preview", broken.ID), map[string]any{"mac": m.MAC}, 422, "config"},
		{"unknown field", path, map[string]any{"mac": m.MAC, "modem": 1}, 400, "modem"},
	} {
		code, b, h := op.do("POST", tc.path, tc.body)
		e := apiErr(t, tc.name, b, h)
		if code != tc.status || (tc.field != "" && e.Error.Fields[tc.field] == "") {
			t.Errorf("%s: %d %s, want %d naming %q", tc.name, code, b, tc.status, tc.field)
		}
	}
	if code, _, _ := clients[store.RoleViewer].do("POST", path, map[string]any{"mac": m.MAC}); code != 403 {
		t.Errorf("a viewer's preview: %d, want 403", code)
	}
}

// TestAPIPlanCheck: the editor's check of a template being typed: where
// the first error is, or how big it compiles.
func TestAPIPlanCheck(t *testing.T) {
	_, _, _, clients := newAPITest(t, 0)
	op := clients[store.RoleOperator]
	for _, tc := range []struct {
		name   string
		config string
		ok     bool
		line   int
		msg    string
	}{
		{"compiles", "Main\n{\n\tNetworkAccess 1;\n\tMaxCPE {{.MaxCPE}};\n}\n", true, 0, "Compiles"},
		{"CRLF", "Main\r\n{\r\n\tNetworkAccess 1;\r\n}\r\n", true, 0, "Compiles"},
		{"unknown setting", brokenConfig, false, 3, "NoSuchThing"},
		{"template error", "Main\n{\n\tNetworkAccess 1;\n\tMaxCPE {{.Nope}};\n}\n", false, 4, "Nope"},
		{"empty", "  \n", false, 0, "empty"},
	} {
		var ans checkAnswer
		op.json("POST", "/api/v1/plans/check", map[string]any{"config": tc.config, "max_cpe": 3}, 200, &ans)
		if ans.OK != tc.ok || ans.Line != tc.line || !strings.Contains(ans.Message, tc.msg) || (ans.OK != (ans.Size > 0)) {
			t.Errorf("%s: %+v, want ok %v at line %d with %q", tc.name, ans, tc.ok, tc.line, tc.msg)
		}
	}
	for _, tc := range []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"max_cpe too big", map[string]any{"config": "Main\n{\n}\n", "max_cpe": 300}, 422, "max_cpe"},
		{"config not a string", `{"config": 5}`, 422, "config"},
		{"unknown field", map[string]any{"config": "", "field": "mta_config"}, 400, "field"},
		{"not JSON", "Main {", 400, ""},
	} {
		code, b, h := op.do("POST", "/api/v1/plans/check", tc.body)
		e := apiErr(t, tc.name, b, h)
		if code != tc.status || (tc.field != "" && e.Error.Fields[tc.field] == "") {
			t.Errorf("%s: %d %s, want %d naming %q", tc.name, code, b, tc.status, tc.field)
		}
	}
	if code, _, _ := clients[store.RoleViewer].do("POST", "/api/v1/plans/check", map[string]any{"config": ""}); code != 403 {
		t.Errorf("a viewer's check: %d, want 403", code)
	}
}
