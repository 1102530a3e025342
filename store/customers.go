package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/mail"
	"strings"
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
}

var customerTable = &table[Customer]{
	entity: "customer",
	name:   "customers",
	cols:   []string{"account", "name", "address", "phone", "email", "notes"},
	meta:   func(c *Customer) *Meta { return &c.Meta },
	values: func(c *Customer) []any { return []any{c.Account, c.Name, c.Address, c.Phone, c.Email, c.Notes} },
	dests:  func(c *Customer) []any { return []any{&c.Account, &c.Name, &c.Address, &c.Phone, &c.Email, &c.Notes} },
	validate: func(_ context.Context, _ *sql.Tx, c *Customer) error {
		v := newValidator("customer")
		v.required("account", &c.Account)
		v.maxLen("account", c.Account, 32)
		v.required("name", &c.Name)
		v.maxLen("name", c.Name, 128)
		v.maxLen("address", c.Address, 256)
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
