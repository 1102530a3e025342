package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Setting returns the value stored under key, or def when there is none.
func (s *Store) Setting(ctx context.Context, key, def string) (string, error) {
	var v string
	err := s.read.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return def, nil
	}
	if err != nil {
		return "", fmt.Errorf("setting %s: %w", key, err)
	}
	return v, nil
}

// SetSetting stores value under key, audited.
func (s *Store) SetSetting(ctx context.Context, actor, key, value string) error {
	return s.inventoryTx(ctx, func(tx *sql.Tx) error {
		var before string
		err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&before)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("set %s: %w", key, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
			return fmt.Errorf("set %s: %w", key, err)
		}
		return s.audit(ctx, tx, actor, "set", "setting:"+key, 0, before, value)
	})
}

// SetSettings stores several values in one transaction (all or nothing),
// auditing each that changed. An empty value removes the key, so its
// default applies again.
func (s *Store) SetSettings(ctx context.Context, actor string, values map[string]string) error {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return s.inventoryTx(ctx, func(tx *sql.Tx) error {
		for _, key := range keys {
			value := values[key]
			var before string
			err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&before)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("set %s: %w", key, err)
			}
			if before == value {
				continue // unchanged (or still absent)
			}
			q, args := `INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, []any{key, value}
			if value == "" {
				q, args = `DELETE FROM settings WHERE key = ?`, []any{key}
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("set %s: %w", key, err)
			}
			if err := s.audit(ctx, tx, actor, "set", "setting:"+key, 0, before, value); err != nil {
				return err
			}
		}
		return nil
	})
}

// RecordAction writes an audit row for an action that changes no row (a
// modem reset over SNMP): who did what to which entity, and the outcome.
func (s *Store) RecordAction(ctx context.Context, actor, action, entity string, id int64, detail string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return s.audit(ctx, tx, actor, action, entity, id, nil, detail)
	})
}

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID       int64
	At       time.Time
	Actor    string
	Action   string
	Entity   string
	EntityID int64
	Before   string
	After    string
}

// ListAudit returns the newest audit rows first; with entity set, only that
// entity's (and with id > 0, only that row's).
func (s *Store) ListAudit(ctx context.Context, entity string, id int64, limit int) ([]AuditEntry, error) {
	q := `SELECT id, at, actor, action, entity, entity_id, before, after FROM audit_log`
	var args []any
	if entity != "" {
		q += ` WHERE entity = ?`
		args = append(args, entity)
		if id > 0 {
			q += ` AND entity_id = ?`
			args = append(args, id)
		}
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, max(limit, 1))
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Entity, &e.EntityID, &e.Before, &e.After); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		e.At = unixUTC(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Counts are the dashboard's inventory totals.
type Counts struct {
	Modems, ModemsDisabled, MTAs, CPEs, CMTS, Plans, Customers, Networks int
	Leases4, Leases6                                                     int
}

// Count returns the inventory totals in one query.
func (s *Store) Count(ctx context.Context) (Counts, error) {
	var c Counts
	if err := s.leasesApplied(ctx); err != nil {
		return c, err
	}
	now := s.unixNow()
	err := s.read.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM modems),
		(SELECT COUNT(*) FROM modems WHERE enabled = 0),
		(SELECT COUNT(*) FROM mtas),
		(SELECT COUNT(*) FROM cpes),
		(SELECT COUNT(*) FROM cmts),
		(SELECT COUNT(*) FROM plans),
		(SELECT COUNT(*) FROM customers),
		(SELECT COUNT(*) FROM networks),
		(SELECT COUNT(*) FROM leases4 WHERE state = 'active' AND ends > ?),
		(SELECT COUNT(*) FROM leases6 WHERE state = 'active' AND ends > ?)`, now, now).
		Scan(&c.Modems, &c.ModemsDisabled, &c.MTAs, &c.CPEs, &c.CMTS, &c.Plans, &c.Customers, &c.Networks, &c.Leases4, &c.Leases6)
	if err != nil {
		return c, fmt.Errorf("counts: %w", err)
	}
	return c, nil
}

// ModemsPerCMTS counts modems (and disabled ones) per CMTS id; 0 is "none".
func (s *Store) ModemsPerCMTS(ctx context.Context) (map[int64][2]int, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT COALESCE(cmts_id, 0), COUNT(*), SUM(enabled = 0) FROM modems GROUP BY cmts_id`)
	if err != nil {
		return nil, fmt.Errorf("modems per CMTS: %w", err)
	}
	defer rows.Close()
	out := map[int64][2]int{}
	for rows.Next() {
		var id int64
		var n, off int
		if err := rows.Scan(&id, &n, &off); err != nil {
			return nil, fmt.Errorf("modems per CMTS: %w", err)
		}
		out[id] = [2]int{n, off}
	}
	return out, rows.Err()
}
