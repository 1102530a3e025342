package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

const testPassword = "correct horse battery"

// fastUser inserts a user whose password (testPassword) is hashed at
// bcrypt's lowest cost, for tests that are not about hashing: bcrypt at the
// real cost takes seconds per hash under the race detector on a busy box.
// Authenticate honours the cost stored in the hash. No audit row is written.
func fastUser(t *testing.T, s *Store, name, role string) User {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	err = s.write.QueryRow(`INSERT INTO users(name, password_hash, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		name, string(hash), role, s.unixNow(), s.unixNow()).Scan(&id)
	if err != nil {
		t.Fatalf("insert user %s: %v", name, err)
	}
	u, err := s.GetUser(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// mustCreateUser creates a user through CreateUser (bcrypt at full cost).
func mustCreateUser(t *testing.T, s *Store, name, role string) User {
	t.Helper()
	u := User{Name: name, Role: role, Password: testPassword}
	if err := s.CreateUser(context.Background(), "setup", &u); err != nil {
		t.Fatalf("CreateUser(%s): %v", name, err)
	}
	return u
}

func TestCreateUserValidation(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	admin := mustCreateUser(t, s, "admin", RoleAdmin)
	var hash string
	if err := s.read.QueryRow(`SELECT password_hash FROM users WHERE id = ?`, admin.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost != s.pwCost {
		t.Errorf("stored hash cost %d, %v; want bcrypt at %d", cost, err, s.pwCost)
	}
	if admin.Password != "" {
		t.Error("CreateUser left the password in the struct")
	}
	if u, err := s.Authenticate(ctx, "admin", testPassword); err != nil || u.ID != admin.ID || u.Role != RoleAdmin {
		t.Errorf("Authenticate after CreateUser = %+v, %v", u, err)
	}
	tests := []struct {
		name  string
		u     User
		field string
		msg   string
	}{
		{"short password", User{Name: "op", Role: RoleOperator, Password: "123456789"}, "password", "at least 10 characters"},
		{"no password", User{Name: "op", Role: RoleOperator}, "password", "at least 10 characters"},
		{"password over 72 bytes", User{Name: "op", Role: RoleOperator, Password: strings.Repeat("p", 73)}, "password", "at most 72 bytes"},
		{"no name", User{Name: " ", Role: RoleOperator, Password: testPassword}, "name", "is required"},
		{"name with space", User{Name: "jane doe", Role: RoleOperator, Password: testPassword}, "name", "must not contain spaces"},
		{"name with slash", User{Name: "ops/jane", Role: RoleOperator, Password: testPassword}, "name", "must not contain spaces or slashes"},
		{"bad role", User{Name: "op", Role: "root", Password: testPassword}, "role", "must be one of admin, operator, viewer"},
		{"no role", User{Name: "op", Password: testPassword}, "role", "must be one of"},
		{"duplicate name", User{Name: "ADMIN", Role: RoleViewer, Password: testPassword}, "name", "is already used by another user"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := rowCounts(t, s)
			u := tc.u
			fields := validationFields(t, s.CreateUser(ctx, "t", &u))
			if !strings.Contains(fields[tc.field], tc.msg) {
				t.Errorf("fields %v: %q should say %q", fields, tc.field, tc.msg)
			}
			if after := rowCounts(t, s); !reflect.DeepEqual(before, after) {
				t.Errorf("row counts changed: %v -> %v", before, after)
			}
		})
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 1 {
		t.Errorf("CountUsers = %d, %v", n, err)
	}
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	alice := fastUser(t, s, "alice", RoleOperator)
	bob := fastUser(t, s, "bob", RoleViewer)
	bob.Disabled = true
	if err := s.UpdateUser(ctx, "t", &bob); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, user, password string
		ok                   bool
	}{
		{"good", "alice", testPassword, true},
		{"name with spaces and other case", " Alice ", testPassword, true},
		{"bad password", "alice", testPassword + "!", false},
		{"empty password", "alice", "", false},
		{"disabled", "bob", testPassword, false},
		{"unknown", "mallory", testPassword, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := s.Authenticate(ctx, tc.user, tc.password)
			if tc.ok {
				if err != nil || u.ID != alice.ID || u.Role != RoleOperator {
					t.Errorf("Authenticate = %+v, %v", u, err)
				}
				return
			}
			if !errors.Is(err, ErrBadLogin) || u.ID != 0 {
				t.Errorf("Authenticate = %+v, %v; want ErrBadLogin", u, err)
			}
		})
	}
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := newTestStore(t, Options{Now: clock.Now})
	admin := fastUser(t, s, "admin", RoleAdmin)
	op := fastUser(t, s, "op", RoleOperator)

	tok, sess, err := s.CreateSession(ctx, op, time.Hour, "192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	if tok == "" || sess.CSRF == "" || tok == sess.CSRF || !sess.Expires.Equal(clock.Now().Add(time.Hour)) {
		t.Fatalf("CreateSession = %q, %+v", tok, sess)
	}
	var stored int
	s.read.QueryRow(`SELECT COUNT(*) FROM sessions WHERE token_hash = ?`, tok).Scan(&stored)
	if stored != 0 {
		t.Error("the session token is stored in clear")
	}
	got, err := s.SessionByToken(ctx, tok)
	if err != nil || got.User.ID != op.ID || got.User.Role != RoleOperator || got.CSRF != sess.CSRF || !got.Expires.Equal(sess.Expires) {
		t.Fatalf("SessionByToken = %+v, %v", got, err)
	}
	if u, _ := s.GetUser(ctx, op.ID); !u.LastLogin.Equal(clock.Now()) {
		t.Errorf("last login = %v, want %v", u.LastLogin, clock.Now())
	}
	if _, err := s.SessionByToken(ctx, tok+"x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown token: %v", err)
	}

	clock.Advance(59 * time.Minute)
	if _, err := s.SessionByToken(ctx, tok); err != nil {
		t.Errorf("session before expiry: %v", err)
	}
	clock.Advance(time.Minute)
	if _, err := s.SessionByToken(ctx, tok); !errors.Is(err, ErrNotFound) {
		t.Errorf("session at expiry: %v, want ErrNotFound", err)
	}
	// A new session sweeps the expired ones away.
	clock.Advance(time.Second)
	tok2, _, err := s.CreateSession(ctx, admin, time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := rowCount(t, s, "sessions"); n != 1 {
		t.Errorf("%d sessions stored, want the live one", n)
	}
	if err := s.DeleteSession(ctx, tok2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByToken(ctx, tok2); !errors.Is(err, ErrNotFound) {
		t.Errorf("session after logout: %v", err)
	}
	if err := s.DeleteSession(ctx, "never-existed"); err != nil {
		t.Errorf("logging out twice: %v", err)
	}
}

func TestUserChangesEndSessions(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	fastUser(t, s, "admin", RoleAdmin)
	op := fastUser(t, s, "op", RoleOperator)
	other := fastUser(t, s, "other", RoleViewer)
	login := func(u User) string {
		tok, _, err := s.CreateSession(ctx, u, time.Hour, "")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	otherTok := login(other)

	t.Run("role change keeps the session with the new role", func(t *testing.T) {
		tok := login(op)
		u := op
		u.Role = RoleViewer
		if err := s.UpdateUser(ctx, "admin", &u); err != nil {
			t.Fatal(err)
		}
		sess, err := s.SessionByToken(ctx, tok)
		if err != nil || sess.User.Role != RoleViewer {
			t.Errorf("session after demotion: %+v, %v", sess, err)
		}
	})
	t.Run("password change", func(t *testing.T) {
		tok := login(op)
		if err := s.SetPassword(ctx, "admin", "op", "a new long password"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionByToken(ctx, tok); !errors.Is(err, ErrNotFound) {
			t.Errorf("session after password change: %v", err)
		}
		if _, err := s.Authenticate(ctx, "op", testPassword); !errors.Is(err, ErrBadLogin) {
			t.Errorf("old password: %v", err)
		}
		if _, err := s.Authenticate(ctx, "op", "a new long password"); err != nil {
			t.Errorf("new password: %v", err)
		}
		if err := s.SetPassword(ctx, "admin", "op", "short"); validationFields(t, err)["password"] == "" {
			t.Errorf("short new password: %v", err)
		}
		if err := s.SetPassword(ctx, "admin", "op", ""); validationFields(t, err)["password"] == "" {
			t.Errorf("empty new password: %v", err)
		}
		if err := s.SetPassword(ctx, "admin", "nobody", "a new long password"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown user: %v", err)
		}
	})
	t.Run("disable", func(t *testing.T) {
		u, _ := s.UserByName(ctx, "op")
		tok := login(u)
		u.Disabled = true
		if err := s.UpdateUser(ctx, "admin", &u); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionByToken(ctx, tok); !errors.Is(err, ErrNotFound) {
			t.Errorf("session after disabling: %v", err)
		}
	})
	if _, err := s.SessionByToken(ctx, otherTok); err != nil {
		t.Errorf("another user's session ended too: %v", err)
	}
}

func TestLastAdmin(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	root := fastUser(t, s, "root", RoleAdmin)
	// A disabled admin is no stand-in.
	sleeper := fastUser(t, s, "sleeper", RoleAdmin)
	sleeper.Disabled = true
	if err := s.UpdateUser(ctx, "root", &sleeper); err != nil {
		t.Fatal(err)
	}
	refused := []struct {
		name string
		do   func() error
	}{
		{"demote", func() error { u := root; u.Role = RoleOperator; return s.UpdateUser(ctx, "root", &u) }},
		{"disable", func() error { u := root; u.Disabled = true; return s.UpdateUser(ctx, "root", &u) }},
		{"delete", func() error { return s.DeleteUser(ctx, "root", root.ID) }},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if !strings.Contains(validationFields(t, err)["role"], "last enabled admin") {
				t.Errorf("%s the last admin: %v", tc.name, err)
			}
			if u, err := s.GetUser(ctx, root.ID); err != nil || u.Role != RoleAdmin || u.Disabled {
				t.Errorf("root after refused %s: %+v, %v", tc.name, u, err)
			}
		})
	}
	// Deleting the disabled admin is fine; so is editing the last admin
	// without taking power away.
	if err := s.DeleteUser(ctx, "root", sleeper.ID); err != nil {
		t.Errorf("delete disabled admin: %v", err)
	}
	u := root
	u.Name = "rooted"
	if err := s.UpdateUser(ctx, "root", &u); err != nil {
		t.Errorf("rename last admin: %v", err)
	}
	// With a second enabled admin, the first may step down.
	second := fastUser(t, s, "second", RoleAdmin)
	u.Role = RoleViewer
	if err := s.UpdateUser(ctx, "second", &u); err != nil {
		t.Fatalf("demote with another admin: %v", err)
	}
	if err := s.DeleteUser(ctx, "second", second.ID); err == nil {
		t.Error("deleted the now last admin")
	}
	if err := s.DeleteUser(ctx, "second", u.ID); err != nil {
		t.Errorf("delete the viewer: %v", err)
	}
	if _, err := s.GetUser(ctx, u.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted user: %v", err)
	}
	if list, err := s.ListUsers(ctx); err != nil || len(list) != 1 || list[0].Name != "second" {
		t.Errorf("ListUsers = %+v, %v", list, err)
	}
}

func TestAPITokens(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := newTestStore(t, Options{Now: clock.Now})
	admin := fastUser(t, s, "admin", RoleAdmin)
	op := fastUser(t, s, "op", RoleOperator)

	for _, tc := range []struct {
		name, tokName, role, field string
	}{
		{"above owner's role", "ci", RoleAdmin, "role"},
		{"unknown role", "ci", "root", "role"},
		{"no name", " ", RoleViewer, "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.CreateAPIToken(ctx, "op", op, tc.tokName, tc.role, 0)
			if validationFields(t, err)[tc.field] == "" {
				t.Errorf("CreateAPIToken: %v, want an error on %s", err, tc.field)
			}
		})
	}
	if n := rowCount(t, s, "api_tokens"); n != 0 {
		t.Fatalf("%d tokens stored after refusals", n)
	}

	viewerSecret, tok, err := s.CreateAPIToken(ctx, "op", op, "grafana", RoleViewer, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(viewerSecret, "ip6m_") || tok.UserID != op.ID || !tok.Expires.IsZero() {
		t.Errorf("token = %q, %+v", viewerSecret, tok)
	}
	sameSecret, _, err := s.CreateAPIToken(ctx, "op", op, "scripts", RoleOperator, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	adminSecret, _, err := s.CreateAPIToken(ctx, "admin", admin, "backup", RoleAdmin, 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, secret := range map[string]string{"viewer": viewerSecret, "operator": sameSecret, "admin": adminSecret} {
		var n int
		s.read.QueryRow(`SELECT COUNT(*) FROM api_tokens WHERE token_hash = ? OR instr(name, ?) > 0`, secret, secret).Scan(&n)
		if n != 0 {
			t.Errorf("%s token secret stored in clear", name)
		}
	}
	check := func(name, secret string, wantID int64, wantRole string) {
		t.Helper()
		u, err := s.TokenUser(ctx, secret)
		if wantID == 0 {
			if !errors.Is(err, ErrBadLogin) {
				t.Errorf("%s: TokenUser = %+v, %v; want ErrBadLogin", name, u, err)
			}
			return
		}
		if err != nil || u.ID != wantID || u.Role != wantRole {
			t.Errorf("%s: TokenUser = %+v, %v; want user %d as %s", name, u, err, wantID, wantRole)
		}
	}
	check("viewer token acts as viewer", viewerSecret, op.ID, RoleViewer)
	check("operator token", sameSecret, op.ID, RoleOperator)
	check("admin token", adminSecret, admin.ID, RoleAdmin)
	check("unknown token", "ip6m_nope", 0, "")

	clock.Advance(time.Hour)
	check("expired token", sameSecret, 0, "")
	check("token without expiry", viewerSecret, op.ID, RoleViewer)

	// Demoting the owner caps the token at the owner's new role.
	a2 := fastUser(t, s, "admin2", RoleAdmin)
	_ = a2
	admin.Role = RoleViewer
	if err := s.UpdateUser(ctx, "admin2", &admin); err != nil {
		t.Fatal(err)
	}
	check("admin token of a demoted owner", adminSecret, admin.ID, RoleViewer)
	// Disabling the owner stops their tokens.
	op.Disabled = true
	if err := s.UpdateUser(ctx, "admin2", &op); err != nil {
		t.Fatal(err)
	}
	check("token of a disabled owner", viewerSecret, 0, "")
}

func TestUserAuditHasNoSecrets(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	admin := fastUser(t, s, "admin", RoleAdmin)
	op := mustCreateUser(t, s, "op", RoleOperator)
	var firstHash, hash string
	if err := s.read.QueryRow(`SELECT password_hash FROM users WHERE id = ?`, op.ID).Scan(&firstHash); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(ctx, "admin", "op", "second password!"); err != nil {
		t.Fatal(err)
	}
	if err := s.read.QueryRow(`SELECT password_hash FROM users WHERE id = ?`, op.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	secret, _, err := s.CreateAPIToken(ctx, "admin", admin, "ci", RoleOperator, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "admin", op.ID); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$2") {
		t.Fatalf("password hash %q is not bcrypt", hash)
	}
	trail := auditTrail(t, s, "user", op.ID)
	if len(trail) != 3 || !strings.Contains(trail[1].After, `"PasswordChanged":true`) {
		t.Errorf("op's audit trail = %+v", trail)
	}
	if tr := auditTrail(t, s, "api_token", 0); len(tr) != 1 || tr[0].Action != "create" || tr[0].Actor != "admin" {
		t.Errorf("API token audit = %+v", tr)
	}
	for _, needle := range []string{firstHash, hash, "$2a$", "$2b$", testPassword, "second password!", secret, tokenHash(secret), "Password\":\""} {
		var n int
		if err := s.read.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE instr(before, ?) > 0 OR instr(after, ?) > 0`, needle, needle).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%q appears in %d audit rows", needle, n)
		}
	}
}

func TestRoleAtLeast(t *testing.T) {
	tests := []struct {
		role, need string
		want       bool
	}{
		{RoleAdmin, RoleAdmin, true},
		{RoleAdmin, RoleOperator, true},
		{RoleAdmin, RoleViewer, true},
		{RoleOperator, RoleAdmin, false},
		{RoleOperator, RoleOperator, true},
		{RoleOperator, RoleViewer, true},
		{RoleViewer, RoleAdmin, false},
		{RoleViewer, RoleOperator, false},
		{RoleViewer, RoleViewer, true},
		{"", RoleViewer, false},
		{"root", RoleViewer, false},
		{"Admin", RoleViewer, false},
	}
	for _, tc := range tests {
		t.Run(tc.role+">="+tc.need, func(t *testing.T) {
			if got := RoleAtLeast(tc.role, tc.need); got != tc.want {
				t.Errorf("RoleAtLeast(%q, %q) = %v", tc.role, tc.need, got)
			}
		})
	}
}

// TestPasswordCost: production hashes use bcryptCost; test binaries default
// to bcrypt.MinCost (defaultPasswordCost) unless asked otherwise.
func TestPasswordCost(t *testing.T) {
	if got := defaultPasswordCost(); got != bcrypt.MinCost {
		t.Fatalf("default cost under go test = %d, want %d", got, bcrypt.MinCost)
	}
	s := newTestStore(t, Options{PasswordCost: bcryptCost})
	u := User{Name: "prod", Role: RoleAdmin, Password: testPassword}
	if err := s.CreateUser(context.Background(), "test", &u); err != nil {
		t.Fatal(err)
	}
	var hash string
	if err := s.read.QueryRow(`SELECT password_hash FROM users WHERE id = ?`, u.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost != bcryptCost {
		t.Fatalf("hash cost %d (%v), want %d", cost, err, bcryptCost)
	}
}
