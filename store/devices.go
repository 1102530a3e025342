package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// MTA is a PacketCable voice adapter, usually embedded in its modem.
type MTA struct {
	Meta
	MAC        string
	ModemID    int64
	PlanID     int64 // 0: the MTA config of its modem's plan
	PhoneLines string
	FixedIPv4  string
	Notes      string
}

var mtaTable = &table[MTA]{
	entity: "MTA",
	name:   "mtas",
	cols:   []string{"mac", "modem_id", "plan_id", "phone_lines", "fixed_ipv4", "notes"},
	meta:   func(m *MTA) *Meta { return &m.Meta },
	values: func(m *MTA) []any {
		return []any{m.MAC, m.ModemID, nullID(m.PlanID), m.PhoneLines, m.FixedIPv4, m.Notes}
	},
	dests: func(m *MTA) []any {
		return []any{&m.MAC, &m.ModemID, nullableID{&m.PlanID}, &m.PhoneLines, &m.FixedIPv4, &m.Notes}
	},
	validate: func(ctx context.Context, tx *sql.Tx, m *MTA) error {
		v := newValidator("MTA")
		v.mac("mac", &m.MAC)
		v.addr("fixed_ipv4", &m.FixedIPv4, 4)
		m.PhoneLines = strings.TrimSpace(m.PhoneLines)
		v.maxLen("phone_lines", m.PhoneLines, 256)
		for _, line := range SplitList(m.PhoneLines) {
			if strings.Trim(line, "+0123456789 -()") != "" {
				v.fail("phone_lines", "%q is not a phone number", line)
			}
		}
		if err := v.ref(ctx, tx, "modem_id", "modems", m.ModemID, true); err != nil {
			return err
		}
		if err := v.ref(ctx, tx, "plan_id", "plans", m.PlanID, false); err != nil {
			return err
		}
		if err := uniqueDevice(ctx, tx, v, "mtas", m.ID, m.MAC, m.FixedIPv4); err != nil {
			return err
		}
		return v.err()
	},
	unique: map[string]string{"mac": "mac"},
}

func (s *Store) CreateMTA(ctx context.Context, actor string, m *MTA) error {
	return mtaTable.create(ctx, s, actor, m)
}
func (s *Store) UpdateMTA(ctx context.Context, actor string, m *MTA) error {
	return mtaTable.update(ctx, s, actor, m)
}
func (s *Store) DeleteMTA(ctx context.Context, actor string, id int64) error {
	return mtaTable.remove(ctx, s, actor, id)
}
func (s *Store) GetMTA(ctx context.Context, id int64) (MTA, error) {
	return mtaTable.get(ctx, s.read, id)
}

// MTAByMAC finds an MTA by its MAC in any notation.
func (s *Store) MTAByMAC(ctx context.Context, mac string) (MTA, error) {
	return mtaTable.byMAC(ctx, s.read, mac)
}

// ListMTAs returns the MTAs of one modem, or one page of all when modemID
// is 0, with the total.
func (s *Store) ListMTAs(ctx context.Context, modemID int64, page Page) ([]MTA, int, error) {
	return listDevices(ctx, s, mtaTable, "mtas", modemID, page)
}

// CPE is a customer device behind a modem that the operator registered
// (most CPEs are dynamic and appear only as leases).
type CPE struct {
	Meta
	MAC       string
	ModemID   int64
	FixedIPv4 string
	Notes     string
}

var cpeTable = &table[CPE]{
	entity: "CPE",
	name:   "cpes",
	cols:   []string{"mac", "modem_id", "fixed_ipv4", "notes"},
	meta:   func(c *CPE) *Meta { return &c.Meta },
	values: func(c *CPE) []any { return []any{c.MAC, c.ModemID, c.FixedIPv4, c.Notes} },
	dests:  func(c *CPE) []any { return []any{&c.MAC, &c.ModemID, &c.FixedIPv4, &c.Notes} },
	validate: func(ctx context.Context, tx *sql.Tx, c *CPE) error {
		v := newValidator("CPE")
		v.mac("mac", &c.MAC)
		v.addr("fixed_ipv4", &c.FixedIPv4, 4)
		if err := v.ref(ctx, tx, "modem_id", "modems", c.ModemID, true); err != nil {
			return err
		}
		if err := uniqueDevice(ctx, tx, v, "cpes", c.ID, c.MAC, c.FixedIPv4); err != nil {
			return err
		}
		return v.err()
	},
	unique: map[string]string{"mac": "mac"},
}

func (s *Store) CreateCPE(ctx context.Context, actor string, c *CPE) error {
	return cpeTable.create(ctx, s, actor, c)
}
func (s *Store) UpdateCPE(ctx context.Context, actor string, c *CPE) error {
	return cpeTable.update(ctx, s, actor, c)
}
func (s *Store) DeleteCPE(ctx context.Context, actor string, id int64) error {
	return cpeTable.remove(ctx, s, actor, id)
}
func (s *Store) GetCPE(ctx context.Context, id int64) (CPE, error) {
	return cpeTable.get(ctx, s.read, id)
}

// ListCPEs returns the CPEs of one modem, or one page of all when modemID
// is 0, with the total.
func (s *Store) ListCPEs(ctx context.Context, modemID int64, page Page) ([]CPE, int, error) {
	return listDevices(ctx, s, cpeTable, "cpes", modemID, page)
}

func listDevices[T any](ctx context.Context, s *Store, t *table[T], tbl string, modemID int64, page Page) ([]T, int, error) {
	where, args := "", []any{}
	if modemID > 0 {
		where, args = "modem_id = ?", []any{modemID}
	}
	total, err := s.count(ctx, tbl, where, args...)
	if err != nil {
		return nil, 0, err
	}
	list, err := t.list(ctx, s.read, where, "mac"+page.limit(), args...)
	return list, total, err
}

// ModemMACs returns the MACs of the modems with these ids, in one query.
func (s *Store) ModemMACs(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.read.QueryContext(ctx, "SELECT id, mac FROM modems WHERE id IN (?"+strings.Repeat(", ?", len(ids)-1)+")", args...)
	if err != nil {
		return nil, fmt.Errorf("modem MACs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var mac string
		if err := rows.Scan(&id, &mac); err != nil {
			return nil, fmt.Errorf("modem MACs: %w", err)
		}
		out[id] = mac
	}
	return out, rows.Err()
}
