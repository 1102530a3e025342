package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestAPITokenListRevokeLastUsed(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := newTestStore(t, Options{Now: clock.Now})
	admin := fastUser(t, s, "admin", RoleAdmin)
	secret, tok, err := s.CreateAPIToken(ctx, "admin", admin, "grafana", RoleViewer, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.ListAPITokens(ctx)
	if err != nil || len(list) != 1 || list[0].UserName != "admin" || list[0].Name != "grafana" || !list[0].LastUsed.IsZero() || !list[0].Expires.Equal(tok.Expires) {
		t.Fatalf("ListAPITokens = %+v, %v", list, err)
	}

	if _, err := s.TokenUser(ctx, secret); err != nil {
		t.Fatal(err)
	}
	first := clock.Now().UTC().Truncate(time.Second)
	if got, _ := s.GetAPIToken(ctx, tok.ID); !got.LastUsed.Equal(first) {
		t.Fatalf("last used %v after a use at %v", got.LastUsed, first)
	}
	clock.Advance(30 * time.Second)
	s.TokenUser(ctx, secret)
	if got, _ := s.GetAPIToken(ctx, tok.ID); !got.LastUsed.Equal(first) {
		t.Errorf("last used %v: recorded again within a minute", got.LastUsed)
	}
	clock.Advance(31 * time.Second)
	s.TokenUser(ctx, secret)
	if got, _ := s.GetAPIToken(ctx, tok.ID); !got.LastUsed.After(first) {
		t.Errorf("last used %v: not recorded after a minute", got.LastUsed)
	}

	if err := s.RevokeAPIToken(ctx, "admin", tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenUser(ctx, secret); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("a revoked token: %v, want ErrBadLogin", err)
	}
	if err := s.RevokeAPIToken(ctx, "admin", tok.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoking twice: %v, want ErrNotFound", err)
	}
	trail := auditTrail(t, s, "api_token", tok.ID)
	if len(trail) != 2 || trail[1].Action != "revoke" || trail[1].Actor != "admin" || trail[1].Before == "" {
		t.Fatalf("token audit = %+v", trail)
	}
}
