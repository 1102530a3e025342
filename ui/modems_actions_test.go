package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"ip6m/store"
)

// TestModemQuickActions: from the modem page an operator disables and
// enables the modem and moves it to another plan, each audited; a viewer
// is offered neither and may not post them.
func TestModemQuickActions(t *testing.T) {
	_, ts, st := newTestServer(t, 3)
	ctx := context.Background()
	m, _ := st.ModemByMAC(ctx, "44:32:c8:21:09:e7")
	page := "/modems/" + idString(m.ID)
	v := newClient(t, ts)
	v.login(store.RoleViewer)
	if _, body, _ := v.get(page); strings.Contains(body, "Change plan") || strings.Contains(body, ">Disable<") {
		t.Error("a viewer is offered the modem's actions")
	}
	for _, path := range []string{page + "/state", page + "/plan"} {
		if code, _, _ := v.post(path, url.Values{"csrf": {v.csrf}, "enabled": {"0"}, "plan_id": {"1"}}, ts.URL); code != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d, want 403", path, code)
		}
	}
	c := newClient(t, ts)
	c.login(store.RoleOperator)
	if _, body, _ := c.get(page); !strings.Contains(body, "Change plan") || !strings.Contains(body, ">Disable<") {
		t.Fatal("an operator is not offered the modem's actions")
	}
	if code, _, h := c.post(page+"/state", url.Values{"csrf": {c.csrf}, "enabled": {"0"}}, ts.URL); code != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "disabled") {
		t.Fatalf("disable: %d %s", code, h.Get("Location"))
	}
	if got, _ := st.GetModem(ctx, m.ID); got.Enabled {
		t.Fatal("the modem is still enabled")
	}
	plans, _ := st.ListPlans(ctx)
	var other store.Plan
	for _, p := range plans {
		if p.ID != m.PlanID {
			other = p
		}
	}
	if code, _, _ := c.post(page+"/plan", url.Values{"csrf": {c.csrf}, "plan_id": {idString(other.ID)}}, ts.URL); code != http.StatusSeeOther {
		t.Fatalf("change plan: %d", code)
	}
	if got, _ := st.GetModem(ctx, m.ID); got.PlanID != other.ID {
		t.Fatalf("plan %d, want %d", got.PlanID, other.ID)
	}
	if _, _, h := c.post(page+"/plan", url.Values{"csrf": {c.csrf}, "plan_id": {"99999"}}, ts.URL); !strings.Contains(h.Get("Location"), "Nothing+was+changed") {
		t.Errorf("a plan that does not exist: %s", h.Get("Location"))
	}
	if code, _, _ := c.post(page+"/state", url.Values{"csrf": {c.csrf}, "enabled": {"1"}}, ts.URL); code != http.StatusSeeOther {
		t.Fatalf("enable: %d", code)
	}
	trail, _ := st.ListAudit(ctx, "modem", m.ID, 10)
	if len(trail) < 3 || trail[0].Actor != store.RoleOperator {
		t.Errorf("audit %+v, want the three changes by the operator", trail)
	}
}
