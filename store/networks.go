package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"strings"
)

// Network purposes.
const (
	PurposeCM     = "cm"
	PurposeMTA    = "mta"
	PurposeCPE    = "cpe"
	PurposeServer = "server"
)

// Unknown-modem policies of a network.
const (
	PolicyIgnore = "ignore" // no answer
	PolicyWalled = "walled" // an address and the "network access disabled" config
)

// Network is a v4 subnet or a v6 prefix behind a CMTS (or the server's own
// network when CMTSID is 0), with its dynamic ranges and DHCP options.
type Network struct {
	Meta
	CMTSID        int64
	Name          string
	Family        int // 4 or 6, from Prefix
	Prefix        string
	Purpose       string
	Gateway       string
	LeaseTime     int64 // seconds
	MaxLeaseTime  int64 // seconds
	DNSServers    string
	TimeServers   string
	LogServers    string
	TimeOffset    int64 // seconds east of UTC (DHCP option 2, v6 sub-option 38)
	Domain        string
	UnknownPolicy string
	// SelfRegister lets the unknown modems of a walled-garden CM network
	// register themselves (their customer, on ip6m's registration page).
	SelfRegister bool
	Notes        string
	Ranges       []Range
	PDPools      []PDPool
}

// Range is an inclusive dynamic address range.
type Range struct {
	First, Last string
}

// PDPool is an inclusive pool of delegated prefixes of length Len:
// "prefix6 2001:db8:4:100:: 2001:db8:4:200:: /64".
type PDPool struct {
	First, Last string
	Len         int
}

// ParsedPrefix is Prefix as a netip.Prefix (the zero value if invalid).
func (n *Network) ParsedPrefix() netip.Prefix {
	p, _ := netip.ParsePrefix(n.Prefix)
	return p
}

var networkTable = &table[Network]{
	entity: "network",
	name:   "networks",
	cols: []string{"cmts_id", "name", "family", "prefix", "purpose", "gateway", "lease_time", "max_lease_time",
		"dns_servers", "time_servers", "log_servers", "time_offset", "domain", "unknown_policy", "self_register", "notes"},
	meta: func(n *Network) *Meta { return &n.Meta },
	values: func(n *Network) []any {
		return []any{nullID(n.CMTSID), n.Name, n.Family, n.Prefix, n.Purpose, n.Gateway, n.LeaseTime, n.MaxLeaseTime,
			n.DNSServers, n.TimeServers, n.LogServers, n.TimeOffset, n.Domain, n.UnknownPolicy, n.SelfRegister, n.Notes}
	},
	dests: func(n *Network) []any {
		return []any{nullableID{&n.CMTSID}, &n.Name, &n.Family, &n.Prefix, &n.Purpose, &n.Gateway, &n.LeaseTime, &n.MaxLeaseTime,
			&n.DNSServers, &n.TimeServers, &n.LogServers, &n.TimeOffset, &n.Domain, &n.UnknownPolicy, &n.SelfRegister, &n.Notes}
	},
	validate:     validateNetwork,
	unique:       map[string]string{"prefix": "prefix"},
	refs:         "its leases",
	saveChildren: saveNetworkChildren,
	loadChildren: loadNetworkChildren,
}

func validateNetwork(ctx context.Context, tx *sql.Tx, n *Network) error {
	v := newValidator("network")
	n.Name = strings.TrimSpace(n.Name)
	v.maxLen("name", n.Name, 64)
	n.Prefix = strings.TrimSpace(n.Prefix)
	pfx, err := netip.ParsePrefix(n.Prefix)
	switch {
	case n.Prefix == "":
		v.fail("prefix", "is required")
	case err != nil:
		v.fail("prefix", "%q is not a prefix like 10.1.0.0/16 or 2001:db8:4:11::/64", n.Prefix)
	case pfx.Masked() != pfx:
		v.fail("prefix", "%q has host bits set; did you mean %s?", n.Prefix, pfx.Masked())
	default:
		n.Prefix = pfx.String()
		n.Family = 4
		if pfx.Addr().Is6() {
			n.Family = 6
		}
	}
	if n.Purpose == "" {
		n.Purpose = PurposeCPE
	}
	v.oneOf("purpose", n.Purpose, PurposeCM, PurposeMTA, PurposeCPE, PurposeServer)
	if n.Purpose == PurposeCM && err == nil && pfx.Addr().Is6() && pfx.Bits() > 80 {
		// ModemIPv6 puts the 48-bit MAC in the low bits (DeriveIPv6).
		v.fail("prefix", "a cable modem prefix must be /80 or shorter, to hold each modem's MAC")
	}
	if err := v.ref(ctx, tx, "cmts_id", "cmts", n.CMTSID, n.Purpose != PurposeServer); err != nil {
		return err
	}
	fam := n.Family
	inside := func(field string, s *string) {
		v.addr(field, s, fam)
		if *s == "" || !pfx.IsValid() {
			return
		}
		if a, err := netip.ParseAddr(*s); err == nil && !pfx.Contains(a) {
			v.fail(field, "%s is not inside %s", *s, pfx)
		}
	}
	inside("gateway", &n.Gateway)
	if n.LeaseTime == 0 {
		n.LeaseTime = 86400
	}
	if n.MaxLeaseTime == 0 {
		n.MaxLeaseTime = n.LeaseTime
	}
	v.intRange("lease_time", n.LeaseTime, 60, 365*86400)
	v.intRange("max_lease_time", n.MaxLeaseTime, n.LeaseTime, 365*86400)
	v.addrList("dns_servers", &n.DNSServers, fam)
	v.addrList("time_servers", &n.TimeServers, fam)
	v.addrList("log_servers", &n.LogServers, fam)
	v.intRange("time_offset", n.TimeOffset, -86400, 86400)
	n.Domain = strings.TrimSpace(n.Domain)
	v.maxLen("domain", n.Domain, 253)
	if n.UnknownPolicy == "" {
		n.UnknownPolicy = PolicyIgnore
	}
	v.oneOf("unknown_policy", n.UnknownPolicy, PolicyIgnore, PolicyWalled)
	if n.SelfRegister && (n.Purpose != PurposeCM || n.UnknownPolicy != PolicyWalled) {
		v.fail("self_register", "only a cable modem network whose unknown modems get the walled garden can let them register")
	}
	for i := range n.Ranges {
		r := &n.Ranges[i]
		field := fmt.Sprintf("ranges.%d", i)
		inside(field, &r.First)
		inside(field, &r.Last)
		if r.First == "" || r.Last == "" {
			v.fail(field, "needs a first and a last address")
			continue
		}
		a, _ := netip.ParseAddr(r.First)
		b, _ := netip.ParseAddr(r.Last)
		if a.IsValid() && b.IsValid() && b.Less(a) {
			v.fail(field, "first address %s is after last address %s", a, b)
		}
	}
	for i := range n.PDPools {
		p := &n.PDPools[i]
		field := fmt.Sprintf("pd_pools.%d", i)
		if fam != 6 {
			v.fail(field, "prefix delegation needs an IPv6 network")
			continue
		}
		v.addr(field, &p.First, 6)
		v.addr(field, &p.Last, 6)
		v.intRange(field, int64(p.Len), 1, 128)
		a, errA := netip.ParseAddr(p.First)
		b, errB := netip.ParseAddr(p.Last)
		if errA != nil || errB != nil || p.Len < 1 || p.Len > 128 {
			continue
		}
		if b.Less(a) {
			v.fail(field, "first prefix %s is after last prefix %s", a, b)
		}
		for _, x := range []netip.Addr{a, b} {
			if netip.PrefixFrom(x, p.Len).Masked().Addr() != x {
				v.fail(field, "%s is not the start of a /%d", x, p.Len)
			}
		}
	}
	return v.err()
}

func saveNetworkChildren(ctx context.Context, tx *sql.Tx, n *Network) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM network_ranges WHERE network_id = ?`, n.ID); err != nil {
		return fmt.Errorf("save ranges: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM pd_pools WHERE network_id = ?`, n.ID); err != nil {
		return fmt.Errorf("save prefix pools: %w", err)
	}
	for _, r := range n.Ranges {
		if _, err := tx.ExecContext(ctx, `INSERT INTO network_ranges(network_id, first, last) VALUES (?, ?, ?)`, n.ID, r.First, r.Last); err != nil {
			return fmt.Errorf("save ranges: %w", err)
		}
	}
	for _, p := range n.PDPools {
		if _, err := tx.ExecContext(ctx, `INSERT INTO pd_pools(network_id, first, last, delegated_len) VALUES (?, ?, ?, ?)`, n.ID, p.First, p.Last, p.Len); err != nil {
			return fmt.Errorf("save prefix pools: %w", err)
		}
	}
	return nil
}

func loadNetworkChildren(ctx context.Context, q querier, n *Network) error {
	n.Ranges, n.PDPools = nil, nil
	rows, err := q.QueryContext(ctx, `SELECT first, last FROM network_ranges WHERE network_id = ? ORDER BY id`, n.ID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var r Range
		if err := rows.Scan(&r.First, &r.Last); err != nil {
			rows.Close()
			return err
		}
		n.Ranges = append(n.Ranges, r)
	}
	rows.Close()
	rows, err = q.QueryContext(ctx, `SELECT first, last, delegated_len FROM pd_pools WHERE network_id = ? ORDER BY id`, n.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var p PDPool
		if err := rows.Scan(&p.First, &p.Last, &p.Len); err != nil {
			return err
		}
		n.PDPools = append(n.PDPools, p)
	}
	return rows.Err()
}

func (s *Store) CreateNetwork(ctx context.Context, actor string, n *Network) error {
	return networkTable.create(ctx, s, actor, n)
}
func (s *Store) UpdateNetwork(ctx context.Context, actor string, n *Network) error {
	return networkTable.update(ctx, s, actor, n)
}
func (s *Store) DeleteNetwork(ctx context.Context, actor string, id int64) error {
	return networkTable.remove(ctx, s, actor, id)
}
func (s *Store) GetNetwork(ctx context.Context, id int64) (Network, error) {
	return networkTable.get(ctx, s.read, id)
}

// ListNetworks returns every network, v4 first, grouped by CMTS; with
// cmtsID > 0 only that CMTS's networks.
func (s *Store) ListNetworks(ctx context.Context, cmtsID int64) ([]Network, error) {
	if cmtsID > 0 {
		return networkTable.list(ctx, s.read, "cmts_id = ?", "family, purpose, prefix", cmtsID)
	}
	return networkTable.list(ctx, s.read, "", "cmts_id IS NULL, cmts_id, family, purpose, prefix")
}

// CMTSOf returns the CMTS of the network among nets that most narrowly
// contains a (a relay's or a device's address), or 0 when none does.
func CMTSOf(nets []Network, a netip.Addr) int64 {
	a = a.Unmap()
	best, cmts := -1, int64(0)
	for _, n := range nets {
		p, err := netip.ParsePrefix(n.Prefix)
		if err != nil || n.CMTSID == 0 || !p.Contains(a) || p.Bits() <= best {
			continue
		}
		best, cmts = p.Bits(), n.CMTSID
	}
	return cmts
}
