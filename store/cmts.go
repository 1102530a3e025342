package store

import (
	"context"
	"database/sql"
)

// CMTS is a cable modem termination system: it relays DHCP for its modems
// and is polled over SNMP for upstream levels.
type CMTS struct {
	Meta
	Name         string
	MgmtIPv4     string
	MgmtIPv6     string
	SNMPRead     string
	SNMPWrite    string
	SharedSecret string // DOCSIS shared secret for the CMTS MIC (TLV 7)
	Notes        string
}

// redacted hides the secrets from the audit log, keeping whether they changed.
func (c CMTS) redacted() any {
	c.SNMPWrite = secretMark(c.SNMPWrite)
	c.SharedSecret = secretMark(c.SharedSecret)
	return c
}

var cmtsTable = &table[CMTS]{
	entity: "CMTS",
	name:   "cmts",
	cols:   []string{"name", "mgmt_ipv4", "mgmt_ipv6", "snmp_read", "snmp_write", "shared_secret", "notes"},
	meta:   func(c *CMTS) *Meta { return &c.Meta },
	values: func(c *CMTS) []any {
		return []any{c.Name, c.MgmtIPv4, c.MgmtIPv6, c.SNMPRead, c.SNMPWrite, c.SharedSecret, c.Notes}
	},
	dests: func(c *CMTS) []any {
		return []any{&c.Name, &c.MgmtIPv4, &c.MgmtIPv6, &c.SNMPRead, &c.SNMPWrite, &c.SharedSecret, &c.Notes}
	},
	validate: func(_ context.Context, _ *sql.Tx, c *CMTS) error {
		v := newValidator("CMTS")
		v.required("name", &c.Name)
		v.maxLen("name", c.Name, 64)
		v.addr("mgmt_ipv4", &c.MgmtIPv4, 4)
		v.addr("mgmt_ipv6", &c.MgmtIPv6, 6)
		v.maxLen("snmp_read", c.SNMPRead, 64)
		v.maxLen("snmp_write", c.SNMPWrite, 64)
		v.maxLen("shared_secret", c.SharedSecret, 64)
		return v.err()
	},
	unique: map[string]string{"name": "name"},
	refs:   "its networks or modems",
}

func (s *Store) CreateCMTS(ctx context.Context, actor string, c *CMTS) error {
	return cmtsTable.create(ctx, s, actor, c)
}
func (s *Store) UpdateCMTS(ctx context.Context, actor string, c *CMTS) error {
	return cmtsTable.update(ctx, s, actor, c)
}
func (s *Store) DeleteCMTS(ctx context.Context, actor string, id int64) error {
	return cmtsTable.remove(ctx, s, actor, id)
}
func (s *Store) GetCMTS(ctx context.Context, id int64) (CMTS, error) {
	return cmtsTable.get(ctx, s.read, id)
}

// ListCMTS returns every CMTS by name.
func (s *Store) ListCMTS(ctx context.Context) ([]CMTS, error) {
	return cmtsTable.list(ctx, s.read, "", "name")
}
