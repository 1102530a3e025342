package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrInUse is returned when a row cannot be deleted because others refer to
// it (a plan that modems use, a CMTS with networks).
var ErrInUse = errors.New("in use")

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// Meta is what every inventory row carries.
type Meta struct {
	ID      int64
	Created time.Time
	Updated time.Time
}

// table describes one inventory table for the shared create/read/update/
// delete path: its columns in order, how a T maps to them, and its checks.
type table[T any] struct {
	entity   string   // audit and error name: "modem"
	name     string   // SQL table
	cols     []string // writable columns, without id/created_at/updated_at
	meta     func(*T) *Meta
	values   func(*T) []any
	dests    func(*T) []any
	validate func(context.Context, *sql.Tx, *T) error
	// unique maps a UNIQUE column to the form field it belongs to.
	unique map[string]string
	// refs says, for the in-use error, what refers to this table.
	refs string
	// saveChildren, when set, writes rows that belong to v (a network's
	// ranges) after v itself; loadChildren reads them back.
	saveChildren func(context.Context, *sql.Tx, *T) error
	loadChildren func(context.Context, querier, *T) error
	// afterWrite, when set, runs after every create and update in the same
	// transaction, with who saved v and when (a plan's version history).
	afterWrite func(ctx context.Context, tx *sql.Tx, actor string, at time.Time, v *T) error
}

func (t *table[T]) selectSQL() string {
	return "SELECT id, " + strings.Join(t.cols, ", ") + ", created_at, updated_at FROM " + t.name
}

func (t *table[T]) scan(sc scanner, v *T) error {
	m := t.meta(v)
	var created, updated int64
	dests := append([]any{&m.ID}, t.dests(v)...)
	dests = append(dests, &created, &updated)
	if err := sc.Scan(dests...); err != nil {
		return err
	}
	m.Created, m.Updated = unixUTC(created), unixUTC(updated)
	return nil
}

func (t *table[T]) get(ctx context.Context, q querier, id int64) (T, error) {
	var v T
	err := t.scan(q.QueryRowContext(ctx, t.selectSQL()+" WHERE id = ?", id), &v)
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("%s %d: %w", t.entity, id, ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("get %s %d: %w", t.entity, id, err)
	}
	if t.loadChildren != nil {
		if err := t.loadChildren(ctx, q, &v); err != nil {
			return v, fmt.Errorf("get %s %d: %w", t.entity, id, err)
		}
	}
	return v, nil
}

// byMAC finds the row whose mac column is mac (in any notation).
func (t *table[T]) byMAC(ctx context.Context, q querier, mac string) (T, error) {
	var zero T
	norm, err := NormalizeMAC(mac)
	if err != nil {
		return zero, err
	}
	list, err := t.list(ctx, q, "mac = ?", "", norm)
	if err != nil {
		return zero, err
	}
	if len(list) == 0 {
		return zero, fmt.Errorf("%s %s: %w", t.entity, norm, ErrNotFound)
	}
	return list[0], nil
}

// list returns rows matching where (a SQL fragment after WHERE, may be
// empty) in the given order.
func (t *table[T]) list(ctx context.Context, q querier, where, order string, args ...any) ([]T, error) {
	query := t.selectSQL()
	if where != "" {
		query += " WHERE " + where
	}
	if order != "" {
		query += " ORDER BY " + order
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", t.entity, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := t.scan(rows, &v); err != nil {
			return nil, fmt.Errorf("list %s: %w", t.entity, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", t.entity, err)
	}
	rows.Close()
	if t.loadChildren != nil {
		for i := range out {
			if err := t.loadChildren(ctx, q, &out[i]); err != nil {
				return nil, fmt.Errorf("list %s: %w", t.entity, err)
			}
		}
	}
	return out, nil
}

// create validates v, inserts it and writes the audit row, in one
// transaction. On success v carries its new ID and times.
func (t *table[T]) create(ctx context.Context, s *Store, actor string, v *T) error {
	return s.inventoryTx(ctx, func(tx *sql.Tx) error { return t.createIn(ctx, tx, s, actor, v) })
}

// createIn is create inside the caller's transaction.
func (t *table[T]) createIn(ctx context.Context, tx *sql.Tx, s *Store, actor string, v *T) error {
	// A new row has no ID yet; one left over from a copied struct would
	// make the validators' "other than itself" checks skip that row.
	t.meta(v).ID = 0
	if err := t.validate(ctx, tx, v); err != nil {
		return err
	}
	now := s.now().UTC().Truncate(time.Second)
	m := t.meta(v)
	ph := strings.TrimSuffix(strings.Repeat("?, ", len(t.cols)+2), ", ")
	args := append(t.values(v), now.Unix(), now.Unix())
	err := tx.QueryRowContext(ctx, "INSERT INTO "+t.name+"("+strings.Join(t.cols, ", ")+", created_at, updated_at) VALUES ("+ph+") RETURNING id", args...).Scan(&m.ID)
	if err != nil {
		return t.constraintError(err, "create")
	}
	m.Created, m.Updated = now, now
	if t.saveChildren != nil {
		if err := t.saveChildren(ctx, tx, v); err != nil {
			return err
		}
	}
	if t.afterWrite != nil {
		if err := t.afterWrite(ctx, tx, actor, now, v); err != nil {
			return err
		}
	}
	return s.audit(ctx, tx, actor, "create", t.entity, m.ID, nil, v)
}

// update validates v and replaces the row with v.ID.
func (t *table[T]) update(ctx context.Context, s *Store, actor string, v *T) error {
	return s.inventoryTx(ctx, func(tx *sql.Tx) error { return t.updateIn(ctx, tx, s, actor, v) })
}

// updateIn is update inside the caller's transaction.
func (t *table[T]) updateIn(ctx context.Context, tx *sql.Tx, s *Store, actor string, v *T) error {
	m := t.meta(v)
	before, err := t.get(ctx, tx, m.ID)
	if err != nil {
		return err
	}
	if err := t.validate(ctx, tx, v); err != nil {
		return err
	}
	now := s.now().UTC().Truncate(time.Second)
	set := strings.Join(t.cols, " = ?, ") + " = ?, updated_at = ?"
	args := append(t.values(v), now.Unix(), m.ID)
	if _, err := tx.ExecContext(ctx, "UPDATE "+t.name+" SET "+set+" WHERE id = ?", args...); err != nil {
		return t.constraintError(err, "update")
	}
	m.Created, m.Updated = t.meta(&before).Created, now
	if t.saveChildren != nil {
		if err := t.saveChildren(ctx, tx, v); err != nil {
			return err
		}
	}
	if t.afterWrite != nil {
		if err := t.afterWrite(ctx, tx, actor, now, v); err != nil {
			return err
		}
	}
	return s.audit(ctx, tx, actor, "update", t.entity, m.ID, &before, v)
}

// remove deletes the row with id, auditing what it held.
func (t *table[T]) remove(ctx context.Context, s *Store, actor string, id int64) error {
	return s.inventoryTx(ctx, func(tx *sql.Tx) error { return t.removeIn(ctx, tx, s, actor, id) })
}

// removeIn deletes row id inside tx, with its audit row.
func (t *table[T]) removeIn(ctx context.Context, tx *sql.Tx, s *Store, actor string, id int64) error {
	before, err := t.get(ctx, tx, id)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+t.name+" WHERE id = ?", id); err != nil {
		return t.constraintError(err, "delete")
	}
	return s.audit(ctx, tx, actor, "delete", t.entity, id, &before, nil)
}

// Batch creates many rows in one transaction: all of them, or none (a
// bulk import is thousands of rows; one transaction each would cost one
// fsync each).
type Batch struct {
	s     *Store
	tx    *sql.Tx
	ctx   context.Context
	actor string
}

// InBatch runs fn with a Batch; its creates commit together when fn
// returns nil and roll back together otherwise.
func (s *Store) InBatch(ctx context.Context, actor string, fn func(*Batch) error) error {
	return s.inventoryTx(ctx, func(tx *sql.Tx) error { return fn(&Batch{s: s, tx: tx, ctx: ctx, actor: actor}) })
}

func (b *Batch) CreateModem(m *Modem) error { return modemTable.createIn(b.ctx, b.tx, b.s, b.actor, m) }
func (b *Batch) CreateMTA(m *MTA) error     { return mtaTable.createIn(b.ctx, b.tx, b.s, b.actor, m) }
func (b *Batch) CreateCPE(c *CPE) error     { return cpeTable.createIn(b.ctx, b.tx, b.s, b.actor, c) }

// constraintError turns SQLite constraint failures into errors a person can
// act on: a UNIQUE clash becomes a ValidationError on its field, a foreign
// key that blocks a delete becomes ErrInUse.
func (t *table[T]) constraintError(err error, op string) error {
	msg := err.Error()
	if strings.Contains(msg, "UNIQUE constraint failed") {
		for col, field := range t.unique {
			if strings.Contains(msg, t.name+"."+col) {
				return &ValidationError{Entity: t.entity, Fields: map[string]string{field: "is already used by another " + t.entity}}
			}
		}
	}
	if strings.Contains(msg, "FOREIGN KEY constraint failed") {
		if op == "delete" {
			return fmt.Errorf("delete %s: %w by %s", t.entity, ErrInUse, t.refs)
		}
		return fmt.Errorf("%s %s: a referenced row does not exist: %w", op, t.entity, err)
	}
	return fmt.Errorf("%s %s: %w", op, t.entity, err)
}

// redactor is an entity that hides secrets (shared secrets, password
// hashes) from the audit log.
type redactor interface{ redacted() any }

// secretMark stands for a secret in the audit log.
func secretMark(s string) string {
	if s == "" {
		return ""
	}
	return "(set)"
}

// querier is what reads need: the read pool or a write transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// audit appends one row to the audit log inside tx.
func (s *Store) audit(ctx context.Context, tx *sql.Tx, actor, action, entity string, id int64, before, after any) error {
	enc := func(v any) (string, error) {
		if v == nil {
			return "", nil
		}
		if r, ok := v.(redactor); ok {
			v = r.redacted()
		}
		b, err := json.Marshal(v)
		return string(b), err
	}
	b, err := enc(before)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	a, err := enc(after)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if actor == "" {
		actor = "system"
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_log(at, actor, action, entity, entity_id, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		s.unixNow(), actor, action, entity, id, b, a)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// nullID maps 0 to NULL for optional references.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// nullableID scans an optional reference into an int64 (0 when NULL).
type nullableID struct{ p *int64 }

func (n nullableID) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*n.p = 0
	case int64:
		*n.p = v
	default:
		return fmt.Errorf("unexpected id type %T", src)
	}
	return nil
}

// exists reports whether a row with id exists in tbl; used by validators for
// references so that a bad id is a field error, not a constraint failure.
func exists(ctx context.Context, q querier, tbl string, id int64) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, "SELECT 1 FROM "+tbl+" WHERE id = ?", id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// ref checks an optional (0 allowed unless required) reference.
func (v *validator) ref(ctx context.Context, q querier, field, tbl string, id int64, required bool) error {
	if id == 0 {
		if required {
			v.fail(field, "is required")
		}
		return nil
	}
	ok, err := exists(ctx, q, tbl, id)
	if err != nil {
		return err
	}
	if !ok {
		v.fail(field, "does not exist")
	}
	return nil
}
