package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"ip6m/store"
)

// TestPlanLiveCheck: the check the edit form posts while typing names the
// line of the first error and shows that line.
func TestPlanLiveCheck(t *testing.T) {
	_, ts, _ := newTestServer(t, 1)
	c := newClient(t, ts)
	c.login(store.RoleOperator)
	cases := []struct {
		field, text string
		want        []string
	}{
		{"config", "Main\n{\n\tNetworkAccess 1;\n\tMaxRateDown 5;\n}\n", []string{"Line 4:", "not allowed in Main", "MaxRateDown 5;"}},
		{"config", "Main\n{\n\tMaxCPE {{.MaxCP}};\n}\n", []string{"Line 3:", "MaxCP"}},
		{"config", "Main\n{\n\tNetworkAccess 1;\n\tMaxCPE {{.MaxCPE}};\n}\n", []string{"Compiles:", "bytes for a sample modem"}},
		{"config", "  \n", []string{"is empty"}},
		{"mta_config", "", []string{"No MTA config"}},
	}
	for _, tc := range cases {
		code, body, _ := c.post("/plans/check?field="+tc.field, url.Values{"csrf": {c.csrf}, "name": {"x"}, "max_cpe": {"2"}, tc.field: {tc.text}}, ts.URL)
		if code != http.StatusOK {
			t.Fatalf("check %q: status %d", tc.text, code)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("check of %q lacks %q:\n%s", tc.text, w, body)
			}
		}
	}
	// The check is an operator's tool: a viewer cannot post it.
	v := newClient(t, ts)
	v.login(store.RoleViewer)
	if code, _, _ := v.post("/plans/check?field=config", url.Values{"csrf": {v.csrf}, "config": {"Main { }"}}, ts.URL); code != http.StatusForbidden {
		t.Errorf("viewer check: %d, want 403", code)
	}
	// The edit form wires the check to both templates.
	_, body, _ := c.get("/plans/new")
	for _, w := range []string{`hx-post="/plans/check?field=config"`, `hx-post="/plans/check?field=mta_config"`} {
		if !strings.Contains(body, w) {
			t.Errorf("plan form lacks %s", w)
		}
	}
}

// TestPlanVersionsDiffRollback: saves make versions, a version page diffs
// against the one before, rollback brings an old one back (operators only),
// and the preview compiles any version for a modem.
func TestPlanVersionsDiffRollback(t *testing.T) {
	s, ts, st := newTestServer(t, 3)
	s.cfg.Configs = tftpConfigs(t, st)
	ctx := context.Background()
	modems, _, _ := st.ListModems(ctx, store.ModemFilter{}, store.Page{Size: 1})
	m := modems[0]
	pl, err := st.GetPlan(ctx, m.PlanID)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, ts)
	c.login(store.RoleOperator)
	planURL := fmt.Sprintf("/plans/%d", pl.ID)
	edited := strings.Replace(pl.Config, "NetworkAccess 1;", "NetworkAccess 1;\n\tSnmpMibObject sysContact.0 String \"noc-test\";", 1)
	if edited == pl.Config {
		t.Fatalf("demo plan has no NetworkAccess line:\n%s", pl.Config)
	}
	form := url.Values{"csrf": {c.csrf}, "name": {pl.Name}, "description": {pl.Description}, "max_cpe": {"9"}, "config": {edited}, "mta_config": {pl.MTAConfig}}
	if code, body, _ := c.post(planURL, form, ts.URL); code != http.StatusSeeOther {
		t.Fatalf("save plan: %d\n%s", code, body)
	}

	code, body, _ := c.get(planURL)
	if code != http.StatusOK {
		t.Fatalf("plan page: %d", code)
	}
	for _, w := range []string{"version 2", "roll back to 1", "noc-test", "Preview for a modem", m.MAC, "CM MIC ok"} {
		if !strings.Contains(body, w) {
			t.Errorf("plan page lacks %q", w)
		}
	}

	code, body, _ = c.get(planURL + "/versions/2")
	if code != http.StatusOK {
		t.Fatalf("version page: %d", code)
	}
	for _, w := range []string{"Changes from version 1", `class="dl add"`, "sysContact.0", fmt.Sprintf("changed: %d → 9", pl.MaxCPE), "current"} {
		if !strings.Contains(body, w) {
			t.Errorf("version 2 page lacks %q:\n%s", w, body)
		}
	}
	if strings.Contains(body, `class="dl del"`) {
		t.Error("version 2 only added a line, yet the diff deletes one")
	}

	// Preview of version 1 for the modem: the old config, compiled.
	code, body, _ = c.get(planURL + "/preview?version=1&mac=" + url.QueryEscape(strings.ToUpper(m.MAC)))
	if code != http.StatusOK || !strings.Contains(body, "from version 1") || strings.Contains(body, "noc-test") {
		t.Errorf("preview of version 1: %d\n%s", code, body)
	}
	if _, body, _ = c.get(planURL + "/preview?mac=00:00:00:00:00:01"); !strings.Contains(body, "No modem 00:00:00:00:00:01") {
		t.Errorf("preview for an unknown modem:\n%s", body)
	}

	v := newClient(t, ts)
	v.login(store.RoleViewer)
	if code, _, _ := v.post(planURL+"/rollback", url.Values{"csrf": {v.csrf}, "version": {"1"}}, ts.URL); code != http.StatusForbidden {
		t.Errorf("viewer rollback: %d, want 403", code)
	}
	code, _, h := c.post(planURL+"/rollback", url.Values{"csrf": {c.csrf}, "version": {"1"}}, ts.URL)
	if code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), planURL) {
		t.Fatalf("rollback: %d %q", code, h.Get("Location"))
	}
	now, _ := st.GetPlan(ctx, pl.ID)
	if now.Config != pl.Config || now.MaxCPE != pl.MaxCPE {
		t.Errorf("after rollback the plan is %+v, want version 1", now)
	}
	_, body, _ = c.get(planURL + "/versions/3")
	if !strings.Contains(body, "rollback to version 1") || !strings.Contains(body, `class="dl del"`) {
		t.Errorf("version 3 page:\n%s", body)
	}
	if code, _, _ := c.get(planURL + "/versions/99"); code != http.StatusNotFound {
		t.Errorf("missing version: %d, want 404", code)
	}
}
