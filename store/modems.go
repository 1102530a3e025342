package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Modem is a cable modem: the unit everything else hangs off.
type Modem struct {
	Meta
	MAC        string
	Serial     string
	Vendor     string
	Model      string
	CustomerID int64
	PlanID     int64
	CMTSID     int64
	FixedIPv4  string
	IPv6       string // override; empty means derived from the MAC
	// Prefix6 is a delegated prefix reserved for the router behind the
	// modem, e.g. 2001:db8:4:180::/56; empty: from the pools.
	Prefix6 string
	Enabled bool
	Notes   string
}

var modemTable = &table[Modem]{
	entity: "modem",
	name:   "modems",
	cols:   []string{"mac", "serial", "vendor", "model", "customer_id", "plan_id", "cmts_id", "fixed_ipv4", "ipv6", "prefix6", "enabled", "notes"},
	meta:   func(m *Modem) *Meta { return &m.Meta },
	values: func(m *Modem) []any {
		return []any{m.MAC, m.Serial, m.Vendor, m.Model, nullID(m.CustomerID), nullID(m.PlanID), nullID(m.CMTSID), m.FixedIPv4, m.IPv6, m.Prefix6, m.Enabled, m.Notes}
	},
	dests: func(m *Modem) []any {
		return []any{&m.MAC, &m.Serial, &m.Vendor, &m.Model, nullableID{&m.CustomerID}, nullableID{&m.PlanID}, nullableID{&m.CMTSID}, &m.FixedIPv4, &m.IPv6, &m.Prefix6, &m.Enabled, &m.Notes}
	},
	validate: func(ctx context.Context, tx *sql.Tx, m *Modem) error {
		v := newValidator("modem")
		v.mac("mac", &m.MAC)
		m.Serial = strings.TrimSpace(m.Serial)
		v.maxLen("serial", m.Serial, 64)
		m.Vendor, m.Model = strings.TrimSpace(m.Vendor), strings.TrimSpace(m.Model)
		v.maxLen("vendor", m.Vendor, 64)
		v.maxLen("model", m.Model, 64)
		v.addr("fixed_ipv4", &m.FixedIPv4, 4)
		v.addr("ipv6", &m.IPv6, 6)
		if m.Prefix6 = strings.TrimSpace(m.Prefix6); m.Prefix6 != "" {
			p, err := netip.ParsePrefix(m.Prefix6)
			switch {
			case err != nil || !p.Addr().Is6() || p.Addr().Is4In6():
				v.fail("prefix6", "%q is not an IPv6 prefix like 2001:db8:4:180::/56", m.Prefix6)
			case p.Bits() < 32 || p.Bits() > 64:
				v.fail("prefix6", "a delegated prefix is /32 to /64, not /%d", p.Bits())
			case p.Masked() != p:
				v.fail("prefix6", "%s has bits set past /%d: did you mean %s?", p, p.Bits(), p.Masked())
			default:
				m.Prefix6 = p.String()
				var other string
				err := tx.QueryRowContext(ctx, "SELECT mac FROM modems WHERE prefix6 = ? AND prefix6 <> '' AND id <> ?", m.Prefix6, m.ID).Scan(&other)
				if err == nil {
					v.fail("prefix6", "%s is reserved for modem %s", m.Prefix6, other)
				} else if !errors.Is(err, sql.ErrNoRows) {
					return err
				}
			}
		}
		for _, r := range []struct {
			field, tbl string
			id         int64
			required   bool
		}{{"customer_id", "customers", m.CustomerID, false}, {"plan_id", "plans", m.PlanID, true}, {"cmts_id", "cmts", m.CMTSID, false}} {
			if err := v.ref(ctx, tx, r.field, r.tbl, r.id, r.required); err != nil {
				return err
			}
		}
		if err := uniqueDevice(ctx, tx, v, "modems", m.ID, m.MAC, m.FixedIPv4); err != nil {
			return err
		}
		return v.err()
	},
	unique: map[string]string{"mac": "mac"},
	refs:   "its MTAs",
}

// uniqueDevice checks that mac is no other device's (modem, MTA or CPE: one
// MAC is one device) and that a fixed IPv4 address is no other device's.
func uniqueDevice(ctx context.Context, tx *sql.Tx, v *validator, self string, id int64, mac, ip string) error {
	for _, tbl := range []string{"modems", "mtas", "cpes"} {
		what := map[string]string{"modems": "a modem", "mtas": "an MTA", "cpes": "a CPE"}[tbl]
		check := func(col, val, field string) error {
			if val == "" {
				return nil
			}
			var other int64
			// "<> ''" lets SQLite use the partial fixed_ipv4 indexes.
			err := tx.QueryRowContext(ctx, "SELECT id FROM "+tbl+" WHERE "+col+" = ? AND "+col+" <> '' AND NOT (? = ? AND id = ?) LIMIT 1", val, tbl, self, id).Scan(&other)
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			v.fail(field, "%s is already used by %s", val, what)
			return nil
		}
		if err := check("mac", mac, "mac"); err != nil {
			return err
		}
		if err := check("fixed_ipv4", ip, "fixed_ipv4"); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) CreateModem(ctx context.Context, actor string, m *Modem) error {
	return modemTable.create(ctx, s, actor, m)
}
func (s *Store) UpdateModem(ctx context.Context, actor string, m *Modem) error {
	return modemTable.update(ctx, s, actor, m)
}

// DeleteModem deletes a modem with the MTAs and CPEs behind it, each with
// its own audit row, so the audit log says what went with the modem.
func (s *Store) DeleteModem(ctx context.Context, actor string, id int64) error {
	return s.inventoryTx(ctx, func(tx *sql.Tx) error {
		for _, dev := range []struct {
			table  string
			remove func(context.Context, *sql.Tx, *Store, string, int64) error
		}{{"mtas", mtaTable.removeIn}, {"cpes", cpeTable.removeIn}} {
			ids, err := idsWhere(ctx, tx, "SELECT id FROM "+dev.table+" WHERE modem_id = ? ORDER BY id", id)
			if err != nil {
				return err
			}
			for _, d := range ids {
				if err := dev.remove(ctx, tx, s, actor, d); err != nil {
					return err
				}
			}
		}
		return modemTable.removeIn(ctx, tx, s, actor, id)
	})
}

// idsWhere returns the ids a query selects.
func idsWhere(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
func (s *Store) GetModem(ctx context.Context, id int64) (Modem, error) {
	return modemTable.get(ctx, s.read, id)
}

// ModemByMAC finds a modem by its MAC in any notation.
func (s *Store) ModemByMAC(ctx context.Context, mac string) (Modem, error) {
	return modemTable.byMAC(ctx, s.read, mac)
}

// ModemRow is a modem with the names a list shows beside it.
type ModemRow struct {
	Modem
	CustomerName    string
	CustomerAccount string
	PlanName        string
	CMTSName        string
}

// ModemFilter narrows ListModems. Query is what a person typed in the search
// box: a MAC in any notation (whole or in part), an IPv4/IPv6 address, a
// serial, or a customer's name or account number.
type ModemFilter struct {
	Query      string
	CMTSID     int64
	PlanID     int64
	CustomerID int64
	// Enabled filters by state when not nil.
	Enabled *bool
	// MACs, when not nil, keeps only these modems (e.g. the sick ones).
	MACs []string
}

// where renders the filter as SQL over modems m and customers c.
func (f ModemFilter) where() (string, []any) {
	var conds []string
	var args []any
	if f.CMTSID > 0 {
		conds = append(conds, "m.cmts_id = ?")
		args = append(args, f.CMTSID)
	}
	if f.PlanID > 0 {
		conds = append(conds, "m.plan_id = ?")
		args = append(args, f.PlanID)
	}
	if f.CustomerID > 0 {
		conds = append(conds, "m.customer_id = ?")
		args = append(args, f.CustomerID)
	}
	if f.Enabled != nil {
		conds = append(conds, "m.enabled = ?")
		args = append(args, *f.Enabled)
	}
	if f.MACs != nil {
		if len(f.MACs) == 0 {
			conds = append(conds, "0")
		} else {
			conds = append(conds, "m.mac IN (?"+strings.Repeat(", ?", len(f.MACs)-1)+")")
			for _, m := range f.MACs {
				args = append(args, m)
			}
		}
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		cond, a := searchCond(q)
		conds = append(conds, cond)
		args = append(args, a...)
	}
	return strings.Join(conds, " AND "), args
}

// searchCond decides what q is and matches it where it can be.
func searchCond(q string) (string, []any) {
	if mac, err := NormalizeMAC(q); err == nil {
		// A whole MAC: the modem itself, or the modem an MTA/CPE hangs off.
		// Twelve digits may also be a serial or an account number.
		return `(m.mac = ? OR m.id IN (SELECT modem_id FROM mtas WHERE mac = ?) OR m.id IN (SELECT modem_id FROM cpes WHERE mac = ?)
			OR m.serial = ? OR m.customer_id IN (SELECT id FROM customers WHERE account = ?))`,
			[]any{mac, mac, mac, q, q}
	}
	if a, err := netip.ParseAddr(q); err == nil {
		// Every way a device holds an address, each an indexed lookup; the
		// union is materialised once and joined by rowid.
		ip := a.Unmap().String()
		ids := `SELECT id FROM modems WHERE fixed_ipv4 = ? AND fixed_ipv4 <> ''
			UNION SELECT id FROM modems WHERE ipv6 = ? AND ipv6 <> ''
			UNION SELECT modem_id FROM leases4 WHERE ip = ? AND modem_id IS NOT NULL
			UNION SELECT modem_id FROM leases6 WHERE type IN ('na', 'pd') AND address = ? AND modem_id IS NOT NULL
			UNION SELECT modem_id FROM mtas WHERE fixed_ipv4 = ? AND fixed_ipv4 <> ''
			UNION SELECT modem_id FROM cpes WHERE fixed_ipv4 = ? AND fixed_ipv4 <> ''`
		args := []any{ip, ip, ip, ip, ip, ip}
		if a.Is6() && !a.Is4In6() {
			// A derived CM address carries the MAC in its low 48 bits.
			b := a.As16()
			var mb [6]byte
			copy(mb[:], b[10:])
			ids += ` UNION SELECT id FROM modems WHERE mac = ? AND ipv6 = ''`
			args = append(args, formatMAC(mb))
		}
		return "m.id IN (" + ids + ")", args
	}
	like := "%" + escapeLike(q) + "%"
	cond := `(m.serial LIKE ? ESCAPE '\' OR c.name LIKE ? ESCAPE '\' OR c.account LIKE ? ESCAPE '\' OR m.notes LIKE ? ESCAPE '\'`
	args := []any{like, like, like, like}
	if hex := macDigits(q); len(hex) >= 4 {
		// Part of a MAC in any notation: compare hex digits only.
		cond += ` OR replace(m.mac, ':', '') LIKE ?`
		args = append(args, "%"+hex+"%")
	}
	return cond + ")", args
}

// macDigits returns q's hex digits in lower case if q looks like part of a
// MAC (hex digits and separators only), else "".
func macDigits(q string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(q) {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'f':
			b.WriteRune(r)
		case r == ':' || r == '-' || r == '.':
		default:
			return ""
		}
	}
	return b.String()
}

const modemRowSelect = `SELECT m.id, m.mac, m.serial, m.vendor, m.model, m.customer_id, m.plan_id, m.cmts_id,
	m.fixed_ipv4, m.ipv6, m.prefix6, m.enabled, m.notes, m.created_at, m.updated_at,
	COALESCE(c.name, ''), COALESCE(c.account, ''), COALESCE(p.name, ''), COALESCE(t.name, '')
	FROM modems m
	LEFT JOIN customers c ON c.id = m.customer_id
	LEFT JOIN plans p ON p.id = m.plan_id
	LEFT JOIN cmts t ON t.id = m.cmts_id`

// ListModems returns one page of the modems matching f, ordered by MAC, and
// how many match in all.
func (s *Store) ListModems(ctx context.Context, f ModemFilter, page Page) ([]ModemRow, int, error) {
	if strings.TrimSpace(f.Query) != "" { // a search by address reads the leases
		if err := s.leasesApplied(ctx); err != nil {
			return nil, 0, err
		}
	}
	where, args := f.where()
	if where != "" {
		where = " WHERE " + where
	}
	var total int
	err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM modems m LEFT JOIN customers c ON c.id = m.customer_id`+where, args...).Scan(&total)
	if err != nil {
		return nil, 0, fmt.Errorf("count modems: %w", err)
	}
	rows, err := s.read.QueryContext(ctx, modemRowSelect+where+" ORDER BY m.mac"+page.limit(), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list modems: %w", err)
	}
	defer rows.Close()
	var out []ModemRow
	for rows.Next() {
		var r ModemRow
		var created, updated int64
		if err := rows.Scan(&r.ID, &r.MAC, &r.Serial, &r.Vendor, &r.Model, nullableID{&r.CustomerID}, nullableID{&r.PlanID}, nullableID{&r.CMTSID},
			&r.FixedIPv4, &r.IPv6, &r.Prefix6, &r.Enabled, &r.Notes, &created, &updated,
			&r.CustomerName, &r.CustomerAccount, &r.PlanName, &r.CMTSName); err != nil {
			return nil, 0, fmt.Errorf("list modems: %w", err)
		}
		r.Created, r.Updated = unixUTC(created), unixUTC(updated)
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// ModemIPv6 is the modem's IPv6 address: its override, else derived from
// its MAC inside the CM prefix of its CMTS. ok is false when it has neither.
func (s *Store) ModemIPv6(ctx context.Context, m Modem) (netip.Addr, bool, error) {
	if m.IPv6 != "" {
		a, err := netip.ParseAddr(m.IPv6)
		return a, err == nil, err
	}
	if m.CMTSID == 0 {
		return netip.Addr{}, false, nil
	}
	var pfx string
	err := s.read.QueryRowContext(ctx, `SELECT prefix FROM networks WHERE cmts_id = ? AND family = 6 AND purpose = 'cm' ORDER BY id LIMIT 1`, m.CMTSID).Scan(&pfx)
	if errors.Is(err, sql.ErrNoRows) {
		return netip.Addr{}, false, nil
	}
	if err != nil {
		return netip.Addr{}, false, fmt.Errorf("modem %s IPv6: %w", m.MAC, err)
	}
	p, err := netip.ParsePrefix(pfx)
	if err != nil {
		return netip.Addr{}, false, fmt.Errorf("modem %s IPv6: %w", m.MAC, err)
	}
	a, err := DeriveIPv6(p, m.MAC)
	if err != nil {
		return netip.Addr{}, false, err
	}
	return a, true, nil
}
