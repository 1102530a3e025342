package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestRegistrationCode: every customer gets a code on creation; the code
// and the account number together find the customer; the audit log never
// shows the code.
func TestRegistrationCode(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	c := Customer{Account: "C1", Name: "Kovács Anna"}
	if err := s.CreateCustomer(ctx, "t", &c); err != nil {
		t.Fatal(err)
	}
	if len(c.RegCode) != 10 || strings.ContainsAny(c.RegCode, "01ILO") {
		t.Fatalf("registration code %q", c.RegCode)
	}
	other := Customer{Account: "C2", Name: "Nagy Béla"}
	s.CreateCustomer(ctx, "t", &other)
	if other.RegCode == c.RegCode {
		t.Fatal("two customers share a registration code")
	}
	typed := strings.ToLower(c.RegCode[:5]) + "-" + c.RegCode[5:]
	got, err := s.CustomerByRegistration(ctx, " C1 ", typed)
	if err != nil || got.ID != c.ID {
		t.Fatalf("by account and code: %+v, %v", got, err)
	}
	for _, bad := range [][2]string{{"C1", other.RegCode}, {"C2", c.RegCode}, {"C9", c.RegCode}, {"C1", ""}} {
		if _, err := s.CustomerByRegistration(ctx, bad[0], bad[1]); !errors.Is(err, ErrBadRegistration) {
			t.Errorf("account %q code %q: %v, want ErrBadRegistration", bad[0], bad[1], err)
		}
	}
	for _, e := range auditTrail(t, s, "customer", c.ID) {
		if strings.Contains(e.After, c.RegCode) {
			t.Errorf("the audit log shows the registration code: %s", e.After)
		}
	}
}
