package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/mail"
	"strings"
	"unicode"
)

// Customer is a subscriber account.
type Customer struct {
	Meta
	Account string
	Name    string
	Address string
	Phone   string
	Email   string
	Notes   string
	// RegCode is what the customer types, with the account number, to
	// register a new modem on the self-registration page; made when the
	// customer is created.
	RegCode string
}

// redacted keeps the registration code out of the audit log.
func (c Customer) redacted() any {
	c.RegCode = secretMark(c.RegCode)
	return c
}

// newRegCode is a fresh registration code: ten letters and digits that
// cannot be confused when read aloud (no 0/O, 1/I/L), from crypto/rand, or
// from r when it is set (the demo's seed).
func newRegCode(r *mrand.Rand) string {
	const alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
	out := make([]byte, 0, 10)
	var buf [16]byte
	for len(out) < cap(out) {
		if r != nil {
			out = append(out, alphabet[r.IntN(len(alphabet))])
			continue
		}
		rand.Read(buf[:]) // never fails (Go 1.24+)
		for _, b := range buf {
			// Rejection keeps every letter equally likely.
			if int(b) < 256/len(alphabet)*len(alphabet) && len(out) < cap(out) {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}

var customerTable = &table[Customer]{
	entity: "customer",
	name:   "customers",
	cols:   []string{"account", "name", "address", "phone", "email", "notes", "reg_code"},
	meta:   func(c *Customer) *Meta { return &c.Meta },
	values: func(c *Customer) []any {
		return []any{c.Account, c.Name, c.Address, c.Phone, c.Email, c.Notes, c.RegCode}
	},
	dests: func(c *Customer) []any {
		return []any{&c.Account, &c.Name, &c.Address, &c.Phone, &c.Email, &c.Notes, &c.RegCode}
	},
	validate: func(_ context.Context, _ *sql.Tx, c *Customer) error {
		v := newValidator("customer")
		v.required("account", &c.Account)
		v.maxLen("account", c.Account, 32)
		v.required("name", &c.Name)
		v.maxLen("name", c.Name, 128)
		v.maxLen("address", c.Address, 256)
		if c.RegCode = strings.ToUpper(strings.TrimSpace(c.RegCode)); c.RegCode == "" {
			c.RegCode = newRegCode(nil)
		}
		v.maxLen("reg_code", c.RegCode, 32)
		c.Phone = strings.TrimSpace(c.Phone)
		v.maxLen("phone", c.Phone, 32)
		c.Email = strings.TrimSpace(c.Email)
		if c.Email != "" {
			if a, err := mail.ParseAddress(c.Email); err != nil || a.Name != "" {
				v.fail("email", "%q is not an e-mail address", c.Email)
			}
		}
		return v.err()
	},
	unique: map[string]string{"account": "account"},
	refs:   "its modems",
}

func (s *Store) CreateCustomer(ctx context.Context, actor string, c *Customer) error {
	return customerTable.create(ctx, s, actor, c)
}
func (s *Store) UpdateCustomer(ctx context.Context, actor string, c *Customer) error {
	return customerTable.update(ctx, s, actor, c)
}
func (s *Store) DeleteCustomer(ctx context.Context, actor string, id int64) error {
	return customerTable.remove(ctx, s, actor, id)
}
func (s *Store) GetCustomer(ctx context.Context, id int64) (Customer, error) {
	return customerTable.get(ctx, s.read, id)
}

// CustomerByAccount finds the customer whose account number is exactly
// account (surrounding spaces ignored).
func (s *Store) CustomerByAccount(ctx context.Context, account string) (Customer, error) {
	account = strings.TrimSpace(account)
	list, err := customerTable.list(ctx, s.read, "account = ?", "", account)
	if err != nil {
		return Customer{}, err
	}
	if len(list) == 0 {
		return Customer{}, fmt.Errorf("customer %q: %w", account, ErrNotFound)
	}
	return list[0], nil
}

// ListCustomers returns one page of customers whose account or name
// contains q (all when q is empty), by name, and the total count.
func (s *Store) ListCustomers(ctx context.Context, q string, page Page) ([]Customer, int, error) {
	where, args := "", []any{}
	if q = strings.TrimSpace(q); q != "" {
		where = "account LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\'"
		like := "%" + escapeLike(q) + "%"
		args = append(args, like, like)
	}
	total, err := s.count(ctx, "customers", where, args...)
	if err != nil {
		return nil, 0, err
	}
	list, err := customerTable.list(ctx, s.read, where, "name COLLATE NOCASE, id"+page.limit(), args...)
	return list, total, err
}

// ErrBadRegistration is the answer to a wrong account number or
// registration code (which of the two is not said).
var ErrBadRegistration = errors.New("no customer with that account number and registration code")

// CustomerByRegistration returns the customer whose account number and
// registration code these are (the code in any case, spaces and dashes
// ignored), or ErrBadRegistration.
func (s *Store) CustomerByRegistration(ctx context.Context, account, code string) (Customer, error) {
	clean := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return unicode.ToUpper(r)
	}, code)
	list, err := customerTable.list(ctx, s.read, "account = ?", "", strings.TrimSpace(account))
	if err != nil {
		return Customer{}, err
	}
	if len(list) != 1 || list[0].RegCode == "" || subtle.ConstantTimeCompare([]byte(list[0].RegCode), []byte(clean)) != 1 {
		return Customer{}, ErrBadRegistration
	}
	return list[0], nil
}

// NewRegistrationCode gives the customer a fresh registration code (the old
// one stops working), audited without the codes themselves.
func (s *Store) NewRegistrationCode(ctx context.Context, actor string, id int64) (Customer, error) {
	var c Customer
	err := s.inventoryTx(ctx, func(tx *sql.Tx) error {
		before, err := customerTable.get(ctx, tx, id)
		if err != nil {
			return err
		}
		c = before
		c.RegCode = newRegCode(nil)
		if _, err := tx.ExecContext(ctx, "UPDATE customers SET reg_code = ?, updated_at = ? WHERE id = ?", c.RegCode, s.unixNow(), id); err != nil {
			return fmt.Errorf("new registration code for customer %d: %w", id, err)
		}
		return s.audit(ctx, tx, actor, "new registration code", "customer", id, &before, &c)
	})
	return c, err
}
