package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Roles, from most to least powerful.
const (
	RoleAdmin    = "admin"    // everything, users and settings included
	RoleOperator = "operator" // inventory and actions
	RoleViewer   = "viewer"   // read only
)

// Roles lists the roles in order of power.
var Roles = []string{RoleAdmin, RoleOperator, RoleViewer}

// ErrBadLogin is returned for a wrong user name or password (the two are not
// told apart, so a caller cannot probe for user names).
var ErrBadLogin = errors.New("wrong user name or password")

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 10

// bcryptCost is bcrypt's work factor: about 50–100 ms per login on the
// target box.
const bcryptCost = 11

// defaultPasswordCost is bcryptCost, except inside `go test` binaries, where
// bcrypt.MinCost keeps tests (above all under the race detector, which makes
// bcrypt ~30× slower) fast. A production binary is never a test binary.
func defaultPasswordCost() int {
	if testing.Testing() {
		return bcrypt.MinCost
	}
	return bcryptCost
}

// User is a person who logs in to the UI.
type User struct {
	Meta
	Name      string
	Role      string
	Disabled  bool
	LastLogin time.Time
	// Password is only read by CreateUser/SetPassword; it is never stored or
	// returned.
	Password string `json:"-"`
}

func validateUser(u *User, needPassword bool) *validator {
	v := newValidator("user")
	v.required("name", &u.Name)
	v.maxLen("name", u.Name, 64)
	if strings.ContainsAny(u.Name, " \t\r\n/") {
		v.fail("name", "must not contain spaces or slashes")
	}
	v.oneOf("role", u.Role, Roles...)
	if needPassword || u.Password != "" {
		checkPassword(v, u.Password)
	}
	return v
}

func checkPassword(v *validator, pw string) {
	switch {
	case len(pw) < MinPasswordLen:
		v.fail("password", "must be at least %d characters", MinPasswordLen)
	case len(pw) > 72:
		v.fail("password", "must be at most 72 bytes")
	}
}

// CreateUser adds a user with u.Password hashed with bcrypt.
func (s *Store) CreateUser(ctx context.Context, actor string, u *User) error {
	if err := validateUser(u, true).err(); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(u.Password), s.pwCost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	u.Password = ""
	return s.tx(ctx, func(tx *sql.Tx) error {
		now := s.unixNow()
		err := tx.QueryRowContext(ctx, `INSERT INTO users(name, password_hash, role, disabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			u.Name, string(hash), u.Role, u.Disabled, now, now).Scan(&u.ID)
		if err != nil {
			if strings.Contains(err.Error(), "UNIQUE constraint failed") {
				return &ValidationError{Entity: "user", Fields: map[string]string{"name": "is already used by another user"}}
			}
			return fmt.Errorf("create user: %w", err)
		}
		u.Created, u.Updated = unixUTC(now), unixUTC(now)
		return s.audit(ctx, tx, actor, "create", "user", u.ID, nil, u)
	})
}

// UpdateUser changes a user's role and disabled flag (and password, when
// u.Password is set). Disabling a user or changing their password ends
// their sessions. The last enabled admin cannot be demoted or disabled.
func (s *Store) UpdateUser(ctx context.Context, actor string, u *User) error {
	if err := validateUser(u, false).err(); err != nil {
		return err
	}
	var hash []byte
	if u.Password != "" {
		var err error
		if hash, err = bcrypt.GenerateFromPassword([]byte(u.Password), s.pwCost); err != nil {
			return fmt.Errorf("hash password: %w", err)
		}
	}
	u.Password = ""
	return s.tx(ctx, func(tx *sql.Tx) error {
		before, err := getUser(ctx, tx, "id = ?", u.ID)
		if err != nil {
			return err
		}
		if before.Role == RoleAdmin && !before.Disabled && (u.Role != RoleAdmin || u.Disabled) {
			if err := lastAdminCheck(ctx, tx, u.ID); err != nil {
				return err
			}
		}
		now := s.unixNow()
		if _, err := tx.ExecContext(ctx, `UPDATE users SET name = ?, role = ?, disabled = ?, updated_at = ? WHERE id = ?`,
			u.Name, u.Role, u.Disabled, now, u.ID); err != nil {
			if strings.Contains(err.Error(), "UNIQUE constraint failed") {
				return &ValidationError{Entity: "user", Fields: map[string]string{"name": "is already used by another user"}}
			}
			return fmt.Errorf("update user: %w", err)
		}
		if hash != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, string(hash), u.ID); err != nil {
				return fmt.Errorf("update user: %w", err)
			}
		}
		if hash != nil || u.Disabled {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, u.ID); err != nil {
				return fmt.Errorf("update user: %w", err)
			}
		}
		u.Created, u.Updated, u.LastLogin = before.Created, unixUTC(now), before.LastLogin
		return s.audit(ctx, tx, actor, "update", "user", u.ID, before, struct {
			User
			PasswordChanged bool `json:",omitempty"`
		}{*u, hash != nil})
	})
}

func lastAdminCheck(ctx context.Context, tx *sql.Tx, id int64) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0 AND id <> ?`, id).Scan(&n); err != nil {
		return fmt.Errorf("count admins: %w", err)
	}
	if n == 0 {
		return &ValidationError{Entity: "user", Fields: map[string]string{"role": "is the last enabled admin; make another admin first"}}
	}
	return nil
}

// SetPassword sets a user's password by name (the CLI's `user passwd`).
func (s *Store) SetPassword(ctx context.Context, actor, name, password string) error {
	u, err := s.UserByName(ctx, name)
	if err != nil {
		return err
	}
	u.Password = password
	if u.Password == "" {
		return &ValidationError{Entity: "user", Fields: map[string]string{"password": "is required"}}
	}
	return s.UpdateUser(ctx, actor, &u)
}

// DeleteUser removes a user and their sessions and tokens; the last enabled
// admin cannot be removed.
func (s *Store) DeleteUser(ctx context.Context, actor string, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		before, err := getUser(ctx, tx, "id = ?", id)
		if err != nil {
			return err
		}
		if before.Role == RoleAdmin && !before.Disabled {
			if err := lastAdminCheck(ctx, tx, id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		return s.audit(ctx, tx, actor, "delete", "user", id, before, nil)
	})
}

const userCols = `id, name, role, disabled, last_login, created_at, updated_at`

func scanUser(sc scanner) (User, error) {
	var u User
	var last, created, updated int64
	err := sc.Scan(&u.ID, &u.Name, &u.Role, &u.Disabled, &last, &created, &updated)
	u.LastLogin, u.Created, u.Updated = unixUTC(last), unixUTC(created), unixUTC(updated)
	return u, err
}

func getUser(ctx context.Context, q querier, where string, arg any) (User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %v: %w", arg, ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

func (s *Store) GetUser(ctx context.Context, id int64) (User, error) {
	return getUser(ctx, s.read, "id = ?", id)
}

func (s *Store) UserByName(ctx context.Context, name string) (User, error) {
	return getUser(ctx, s.read, "name = ?", strings.TrimSpace(name))
}

// ListUsers returns every user by name.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CountUsers is how many users exist (0 on a fresh database).
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	return s.count(ctx, "users", "")
}

// Authenticate checks a name and password and returns the user.
func (s *Store) Authenticate(ctx context.Context, name, password string) (User, error) {
	var hash string
	var u User
	var last, created, updated int64
	err := s.read.QueryRowContext(ctx, `SELECT `+userCols+`, password_hash FROM users WHERE name = ?`, strings.TrimSpace(name)).
		Scan(&u.ID, &u.Name, &u.Role, &u.Disabled, &last, &created, &updated, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password))
		return User{}, ErrBadLogin
	}
	if err != nil {
		return User{}, fmt.Errorf("authenticate: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil || u.Disabled {
		return User{}, ErrBadLogin
	}
	u.LastLogin, u.Created, u.Updated = unixUTC(last), unixUTC(created), unixUTC(updated)
	return u, nil
}

// Session is a logged-in browser.
type Session struct {
	User    User
	CSRF    string
	Expires time.Time
}

// randomToken returns n random bytes as URL-safe base64.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func tokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// CreateSession starts a session for u lasting ttl and returns the cookie
// token (only its hash is stored) and the session.
func (s *Store) CreateSession(ctx context.Context, u User, ttl time.Duration, remote string) (string, Session, error) {
	tok := randomToken(32)
	sess := Session{User: u, CSRF: randomToken(32), Expires: s.now().Add(ttl).UTC().Truncate(time.Second)}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.unixNow()
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions(token_hash, user_id, csrf, created_at, expires_at, remote) VALUES (?, ?, ?, ?, ?, ?)`,
			tokenHash(tok), u.ID, sess.CSRF, now, sess.Expires.Unix(), remote); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE users SET last_login = ? WHERE id = ?`, now, u.ID)
		return err
	})
	if err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	return tok, sess, nil
}

// SessionByToken returns the live session for a cookie token.
func (s *Store) SessionByToken(ctx context.Context, tok string) (Session, error) {
	var sess Session
	var exp, last, created, updated int64
	u := &sess.User
	err := s.read.QueryRowContext(ctx, `SELECT u.id, u.name, u.role, u.disabled, u.last_login, u.created_at, u.updated_at, s.csrf, s.expires_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`, tokenHash(tok)).
		Scan(&u.ID, &u.Name, &u.Role, &u.Disabled, &last, &created, &updated, &sess.CSRF, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, fmt.Errorf("session: %w", ErrNotFound)
	}
	if err != nil {
		return Session{}, fmt.Errorf("session: %w", err)
	}
	u.LastLogin, u.Created, u.Updated = unixUTC(last), unixUTC(created), unixUTC(updated)
	sess.Expires = unixUTC(exp)
	if !sess.Expires.After(s.now()) || u.Disabled {
		return Session{}, fmt.Errorf("session: %w", ErrNotFound)
	}
	return sess, nil
}

// DeleteSession ends the session with this cookie token (logout).
func (s *Store) DeleteSession(ctx context.Context, tok string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash(tok))
		return err
	})
}

// APIToken is a bearer token for scripts; only its hash is stored.
type APIToken struct {
	ID       int64
	UserID   int64
	Name     string
	Role     string
	Created  time.Time
	Expires  time.Time // zero: never
	LastUsed time.Time
}

// CreateAPIToken makes a token for user u with a role no higher than u's,
// and returns the secret once.
func (s *Store) CreateAPIToken(ctx context.Context, actor string, u User, name, role string, ttl time.Duration) (string, APIToken, error) {
	v := newValidator("API token")
	v.required("name", &name)
	v.maxLen("name", name, 64)
	v.oneOf("role", role, Roles...)
	if roleRank(role) < roleRank(u.Role) {
		v.fail("role", "cannot be higher than the owner's role (%s)", u.Role)
	}
	if err := v.err(); err != nil {
		return "", APIToken{}, err
	}
	secret := "ip6m_" + randomToken(32)
	t := APIToken{UserID: u.ID, Name: name, Role: role, Created: s.now().UTC().Truncate(time.Second)}
	if ttl > 0 {
		t.Expires = t.Created.Add(ttl)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var exp int64
		if !t.Expires.IsZero() {
			exp = t.Expires.Unix()
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO api_tokens(user_id, name, token_hash, role, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			u.ID, name, tokenHash(secret), role, t.Created.Unix(), exp).Scan(&t.ID)
		if err != nil {
			return fmt.Errorf("create API token: %w", err)
		}
		return s.audit(ctx, tx, actor, "create", "api_token", t.ID, nil, t)
	})
	if err != nil {
		return "", APIToken{}, err
	}
	return secret, t, nil
}

// TokenUser resolves a bearer token to its user, acting with the token's
// role (never more than the user's own), and records when the token was
// last used (at most once a minute, see tokenTouchEvery).
func (s *Store) TokenUser(ctx context.Context, secret string) (User, error) {
	var id, userID, exp, last int64
	var role string
	err := s.read.QueryRowContext(ctx, `SELECT id, user_id, role, expires_at, last_used FROM api_tokens WHERE token_hash = ?`, tokenHash(secret)).
		Scan(&id, &userID, &role, &exp, &last)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && exp != 0 && exp <= s.unixNow()) {
		return User{}, ErrBadLogin
	}
	if err != nil {
		return User{}, fmt.Errorf("token: %w", err)
	}
	u, err := s.GetUser(ctx, userID)
	if err != nil || u.Disabled {
		return User{}, ErrBadLogin
	}
	if roleRank(role) > roleRank(u.Role) {
		u.Role = role
	}
	if err := s.touchAPIToken(ctx, id, last); err != nil {
		return User{}, err
	}
	return u, nil
}

// roleRank orders roles: admin 0, operator 1, viewer 2, unknown 3.
func roleRank(r string) int {
	for i, x := range Roles {
		if x == r {
			return i
		}
	}
	return len(Roles)
}

// RoleAtLeast reports whether role has at least the power of need.
func RoleAtLeast(role, need string) bool {
	return roleRank(role) <= roleRank(need)
}
