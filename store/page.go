package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Page selects one page of a list: Size rows after skipping Offset.
type Page struct {
	Offset int
	Size   int
}

// limit renders the page as a LIMIT clause (Size 0 means all rows).
func (p Page) limit() string {
	if p.Size <= 0 {
		return ""
	}
	return fmt.Sprintf(" LIMIT %d OFFSET %d", p.Size, max(p.Offset, 0))
}

// count returns the number of rows of tbl matching where.
func (s *Store) count(ctx context.Context, tbl, where string, args ...any) (int, error) {
	q := "SELECT COUNT(*) FROM " + tbl
	if where != "" {
		q += " WHERE " + where
	}
	var n int
	if err := s.read.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", tbl, err)
	}
	return n, nil
}

// escapeLike escapes LIKE's wildcards so user input matches literally.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// unixUTC converts stored unix seconds to a UTC time (zero stays zero).
func unixUTC(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}
