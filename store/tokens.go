package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// tokenTouchEvery is how stale a token's last-used time may get before a
// request records it again: a script calling the API many times a second
// costs one write a minute, not one per call.
const tokenTouchEvery = time.Minute

// APITokenRow is a token as the token list shows it: with its owner's name.
type APITokenRow struct {
	APIToken
	UserName string
}

const tokenRowSelect = `SELECT t.id, t.user_id, t.name, t.role, t.created_at, t.expires_at, t.last_used, u.name
	FROM api_tokens t JOIN users u ON u.id = t.user_id`

func scanTokenRow(sc scanner) (APITokenRow, error) {
	var t APITokenRow
	var created, expires, last int64
	err := sc.Scan(&t.ID, &t.UserID, &t.Name, &t.Role, &created, &expires, &last, &t.UserName)
	t.Created, t.Expires, t.LastUsed = unixUTC(created), unixUTC(expires), unixUTC(last)
	return t, err
}

// ListAPITokens returns every API token (never its secret), newest first.
func (s *Store) ListAPITokens(ctx context.Context) ([]APITokenRow, error) {
	rows, err := s.read.QueryContext(ctx, tokenRowSelect+` ORDER BY t.id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	defer rows.Close()
	var out []APITokenRow
	for rows.Next() {
		t, err := scanTokenRow(rows)
		if err != nil {
			return nil, fmt.Errorf("list API tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// GetAPIToken returns one token by id.
func (s *Store) GetAPIToken(ctx context.Context, id int64) (APITokenRow, error) {
	return getAPIToken(ctx, s.read, id)
}

func getAPIToken(ctx context.Context, q querier, id int64) (APITokenRow, error) {
	t, err := scanTokenRow(q.QueryRowContext(ctx, tokenRowSelect+` WHERE t.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("API token %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("get API token %d: %w", id, err)
	}
	return t, nil
}

// RevokeAPIToken deletes a token, audited; its secret stops working at once.
func (s *Store) RevokeAPIToken(ctx context.Context, actor string, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		before, err := getAPIToken(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = ?`, id); err != nil {
			return fmt.Errorf("revoke API token %d: %w", id, err)
		}
		return s.audit(ctx, tx, actor, "revoke", "api_token", id, before, nil)
	})
}

// touchAPIToken records that token id was used now, unless it was recorded
// less than tokenTouchEvery ago (last is the recorded time, unix seconds).
func (s *Store) touchAPIToken(ctx context.Context, id, last int64) error {
	now := s.unixNow()
	if now-last < int64(tokenTouchEvery/time.Second) {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE api_tokens SET last_used = ? WHERE id = ?`, now, id); err != nil {
			return fmt.Errorf("token last used: %w", err)
		}
		return nil
	})
}
