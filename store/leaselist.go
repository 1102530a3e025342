package store

import (
	"context"
	"strings"
)

// LeaseFilter narrows ListLeases4 and ListLeases6 to the leases that have
// not ended yet and match every field set.
type LeaseFilter struct {
	// Address is an IPv4 address, an IPv6 address or a delegated prefix's
	// first address, in netip's canonical text.
	Address string
	// MAC is the device's MAC, canonical.
	MAC string
	// ModemID selects a modem's leases and those of the devices behind it.
	ModemID int64
	State   string
	// Type is "na" or "pd" (IPv6 only).
	Type string
}

// where renders f over a lease table whose address column is addrCol.
func (f LeaseFilter) where(addrCol string, now int64) (string, []any) {
	conds, args := []string{"ends > ?"}, []any{now}
	add := func(cond string, arg any) {
		conds, args = append(conds, cond), append(args, arg)
	}
	if f.Address != "" {
		if addrCol == "address" {
			// leases6: through its UNIQUE (type, address, prefix_len) index.
			conds = append(conds, "type IN ('na', 'pd')")
		}
		add(addrCol+" = ?", f.Address)
	}
	if f.MAC != "" {
		add("mac = ?", f.MAC)
	}
	if f.ModemID != 0 {
		add("modem_id = ?", f.ModemID)
	}
	if f.State != "" {
		add("state = ?", f.State)
	}
	if f.Type != "" {
		add("type = ?", f.Type)
	}
	return strings.Join(conds, " AND "), args
}

// ListLeases4 returns one page of the IPv4 leases that have not ended and
// match f, by address, and how many match in all.
func (s *Store) ListLeases4(ctx context.Context, f LeaseFilter, page Page) ([]Lease4, int, error) {
	if err := s.leasesApplied(ctx); err != nil {
		return nil, 0, err
	}
	where, args := f.where("ip", s.unixNow())
	total, err := s.count(ctx, "leases4", where, args...)
	if err != nil {
		return nil, 0, err
	}
	list, err := s.queryLeases4(ctx, "WHERE "+where+" ORDER BY ip"+page.limit(), args...)
	return list, total, err
}

// ListLeases6 is ListLeases4 for IPv6 bindings (addresses and delegated
// prefixes), by type and address.
func (s *Store) ListLeases6(ctx context.Context, f LeaseFilter, page Page) ([]Lease6, int, error) {
	if err := s.leasesApplied(ctx); err != nil {
		return nil, 0, err
	}
	where, args := f.where("address", s.unixNow())
	total, err := s.count(ctx, "leases6", where, args...)
	if err != nil {
		return nil, 0, err
	}
	list, err := s.queryLeases6(ctx, "WHERE "+where+" ORDER BY type, address, prefix_len"+page.limit(), args...)
	return list, total, err
}
