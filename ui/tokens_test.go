package ui

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"ip6m/store"
)

var secretRe = regexp.MustCompile(`value="(ip6m_[A-Za-z0-9_-]+)"`)

// TestTokensPage: an admin makes a token in the UI, sees its secret once,
// uses it on the API, sees when it was last used, and revokes it; all of
// it audited and CSRF-protected, and only for admins.
func TestTokensPage(t *testing.T) {
	_, ts, st := newTestServer(t, 2)
	ctx := context.Background()
	viewer, _ := st.UserByName(ctx, store.RoleViewer)
	admin := newClient(t, ts)
	admin.login(store.RoleAdmin)
	if code, body, _ := admin.get("/tokens"); code != 200 || !strings.Contains(body, "No API tokens yet") || !strings.Contains(body, `href="/tokens"`) {
		t.Fatalf("tokens page: %d", code)
	}
	form := url.Values{"csrf": {admin.csrf}, "name": {"grafana"}, "user_id": {idString(viewer.ID)}, "role": {"admin"}, "expires_in_days": {"30"}}
	code, body, _ := admin.post("/tokens", form, ts.URL)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "cannot be higher than the owner") || !strings.Contains(body, `value="grafana"`) {
		t.Fatalf("a token above its user's role: %d, want 422 with the reason and the name kept", code)
	}
	form.Set("role", "viewer")
	if code, _, _ := admin.post("/tokens", url.Values{"name": {"forged"}, "user_id": {idString(viewer.ID)}, "role": {"viewer"}, "expires_in_days": {"0"}}, ts.URL); code != http.StatusForbidden {
		t.Fatalf("without the CSRF token: %d, want 403", code)
	}
	code, body, _ = admin.post("/tokens", form, ts.URL)
	m := secretRe.FindStringSubmatch(body)
	if code != 200 || m == nil || !strings.Contains(body, "not shown again") || !strings.Contains(body, "curl -H") {
		t.Fatalf("create: %d, secret %v", code, m)
	}
	secret := m[1]
	api := apiClient{t: t, base: ts.URL, token: secret}
	api.json("GET", "/api/v1/modems", nil, 200, nil)
	if code, _, _ := api.do("POST", "/api/v1/customers", map[string]any{"account": "C1", "name": "X"}); code != 403 {
		t.Fatalf("a viewer token writing: %d, want 403", code)
	}

	_, body, _ = admin.get("/tokens")
	if strings.Contains(body, secret) {
		t.Fatal("the secret is shown a second time")
	}
	for _, want := range []string{"grafana", ">viewer<", "just now", "/revoke"} {
		if !strings.Contains(body, want) {
			t.Errorf("token list lacks %q", want)
		}
	}
	op := newClient(t, ts)
	op.login(store.RoleOperator)
	if code, _, _ := op.get("/tokens"); code != http.StatusForbidden {
		t.Fatalf("an operator on the tokens page: %d, want 403", code)
	}

	tokens, _ := st.ListAPITokens(ctx)
	if len(tokens) != 1 || tokens[0].Expires.IsZero() {
		t.Fatalf("tokens: %+v", tokens)
	}
	code, _, h := admin.post("/tokens/"+idString(tokens[0].ID)+"/revoke", url.Values{"csrf": {admin.csrf}}, ts.URL)
	if code != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "Revoked") {
		t.Fatalf("revoke: %d %q", code, h.Get("Location"))
	}
	if code, _, _ := api.do("GET", "/api/v1/modems", nil); code != http.StatusUnauthorized {
		t.Fatalf("the revoked token: %d, want 401", code)
	}
	a, _ := st.ListAudit(ctx, "api_token", tokens[0].ID, 5)
	if len(a) != 2 || a[0].Action != "revoke" || a[1].Action != "create" || a[0].Actor != store.RoleAdmin || a[1].Actor != store.RoleAdmin {
		t.Fatalf("token audit: %+v", a)
	}
	if code, _, _ := admin.post("/tokens/999999/revoke", url.Values{"csrf": {admin.csrf}}, ts.URL); code != http.StatusNotFound {
		t.Fatalf("revoking a missing token: %d, want 404", code)
	}
}
