-- 0001: the whole inventory, leases, lease history, users and audit log.
-- Times are unix seconds (UTC). MAC addresses are stored canonical:
-- lower case, colon separated ("44:32:c8:21:09:e7"). Addresses are text in
-- Go's canonical netip form.

CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

CREATE TABLE cmts (
	id            INTEGER PRIMARY KEY,
	name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
	mgmt_ipv4     TEXT NOT NULL DEFAULT '',
	mgmt_ipv6     TEXT NOT NULL DEFAULT '',
	snmp_read     TEXT NOT NULL DEFAULT 'public',
	snmp_write    TEXT NOT NULL DEFAULT '',
	shared_secret TEXT NOT NULL DEFAULT '',
	notes         TEXT NOT NULL DEFAULT '',
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) STRICT;

-- A v4 subnet or a v6 prefix. cmts_id is NULL for the server's own networks.
CREATE TABLE networks (
	id             INTEGER PRIMARY KEY,
	cmts_id        INTEGER REFERENCES cmts(id) ON DELETE RESTRICT,
	name           TEXT NOT NULL DEFAULT '',
	family         INTEGER NOT NULL CHECK (family IN (4, 6)),
	prefix         TEXT NOT NULL UNIQUE,
	purpose        TEXT NOT NULL CHECK (purpose IN ('cm', 'mta', 'cpe', 'server')),
	gateway        TEXT NOT NULL DEFAULT '',
	lease_time     INTEGER NOT NULL DEFAULT 86400,
	max_lease_time INTEGER NOT NULL DEFAULT 86400,
	dns_servers    TEXT NOT NULL DEFAULT '',
	time_servers   TEXT NOT NULL DEFAULT '',
	log_servers    TEXT NOT NULL DEFAULT '',
	time_offset    INTEGER NOT NULL DEFAULT 0,
	domain         TEXT NOT NULL DEFAULT '',
	-- what an unknown or disabled modem gets on this network: nothing, or an
	-- address with the walled-garden ("network access disabled") config.
	unknown_policy TEXT NOT NULL DEFAULT 'ignore' CHECK (unknown_policy IN ('ignore', 'walled')),
	notes          TEXT NOT NULL DEFAULT '',
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX networks_cmts ON networks(cmts_id);

-- Dynamic ranges (v4 "range", v6 "range6"), inclusive.
CREATE TABLE network_ranges (
	id         INTEGER PRIMARY KEY,
	network_id INTEGER NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
	first      TEXT NOT NULL,
	last       TEXT NOT NULL
) STRICT;
CREATE INDEX network_ranges_network ON network_ranges(network_id);

-- v6 delegated-prefix pools ("prefix6 FIRST LAST /LEN"), inclusive.
CREATE TABLE pd_pools (
	id            INTEGER PRIMARY KEY,
	network_id    INTEGER NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
	first         TEXT NOT NULL,
	last          TEXT NOT NULL,
	delegated_len INTEGER NOT NULL CHECK (delegated_len BETWEEN 1 AND 128)
) STRICT;
CREATE INDEX pd_pools_network ON pd_pools(network_id);

CREATE TABLE plans (
	id           INTEGER PRIMARY KEY,
	name         TEXT NOT NULL UNIQUE COLLATE NOCASE,
	description  TEXT NOT NULL DEFAULT '',
	config       TEXT NOT NULL DEFAULT '',
	mta_config   TEXT NOT NULL DEFAULT '',
	max_cpe      INTEGER NOT NULL DEFAULT 1 CHECK (max_cpe BETWEEN 0 AND 254),
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE customers (
	id         INTEGER PRIMARY KEY,
	account    TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL,
	address    TEXT NOT NULL DEFAULT '',
	phone      TEXT NOT NULL DEFAULT '',
	email      TEXT NOT NULL DEFAULT '',
	notes      TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX customers_name ON customers(name COLLATE NOCASE);

CREATE TABLE modems (
	id          INTEGER PRIMARY KEY,
	mac         TEXT NOT NULL UNIQUE,
	serial      TEXT NOT NULL DEFAULT '',
	vendor      TEXT NOT NULL DEFAULT '',
	model       TEXT NOT NULL DEFAULT '',
	customer_id INTEGER REFERENCES customers(id) ON DELETE SET NULL,
	plan_id     INTEGER REFERENCES plans(id) ON DELETE RESTRICT,
	cmts_id     INTEGER REFERENCES cmts(id) ON DELETE RESTRICT,
	fixed_ipv4  TEXT NOT NULL DEFAULT '',
	-- empty: derived from the MAC inside the CMTS's CM prefix.
	ipv6        TEXT NOT NULL DEFAULT '',
	enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
	notes       TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX modems_serial ON modems(serial);
CREATE INDEX modems_customer ON modems(customer_id);
CREATE INDEX modems_plan ON modems(plan_id);
CREATE INDEX modems_cmts ON modems(cmts_id);
CREATE INDEX modems_fixed_ipv4 ON modems(fixed_ipv4) WHERE fixed_ipv4 <> '';

CREATE TABLE mtas (
	id          INTEGER PRIMARY KEY,
	mac         TEXT NOT NULL UNIQUE,
	modem_id    INTEGER NOT NULL REFERENCES modems(id) ON DELETE CASCADE,
	plan_id     INTEGER REFERENCES plans(id) ON DELETE RESTRICT,
	phone_lines TEXT NOT NULL DEFAULT '',
	fixed_ipv4  TEXT NOT NULL DEFAULT '',
	notes       TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX mtas_modem ON mtas(modem_id);

CREATE TABLE cpes (
	id         INTEGER PRIMARY KEY,
	mac        TEXT NOT NULL UNIQUE,
	modem_id   INTEGER NOT NULL REFERENCES modems(id) ON DELETE CASCADE,
	fixed_ipv4 TEXT NOT NULL DEFAULT '',
	notes      TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX cpes_modem ON cpes(modem_id);

-- Current v4 leases, one row per address.
CREATE TABLE leases4 (
	ip         TEXT PRIMARY KEY,
	mac        TEXT NOT NULL,
	client_id  BLOB,
	kind       TEXT NOT NULL CHECK (kind IN ('cm', 'mta', 'cpe', 'unknown')),
	state      TEXT NOT NULL CHECK (state IN ('offered', 'active', 'released', 'expired', 'declined')),
	network_id INTEGER REFERENCES networks(id) ON DELETE SET NULL,
	modem_id   INTEGER REFERENCES modems(id) ON DELETE SET NULL,
	giaddr     TEXT NOT NULL DEFAULT '',
	remote_id  BLOB,
	circuit_id BLOB,
	hostname   TEXT NOT NULL DEFAULT '',
	starts     INTEGER NOT NULL,
	ends       INTEGER NOT NULL
) STRICT;
CREATE INDEX leases4_mac ON leases4(mac);
CREATE INDEX leases4_modem ON leases4(modem_id);
CREATE INDEX leases4_ends ON leases4(ends);

-- Current v6 bindings: IA_NA addresses and IA_PD prefixes.
CREATE TABLE leases6 (
	id           INTEGER PRIMARY KEY,
	type         TEXT NOT NULL CHECK (type IN ('na', 'pd')),
	address      TEXT NOT NULL,
	prefix_len   INTEGER NOT NULL DEFAULT 128,
	duid         BLOB NOT NULL,
	iaid         INTEGER NOT NULL,
	mac          TEXT NOT NULL DEFAULT '',
	kind         TEXT NOT NULL CHECK (kind IN ('cm', 'mta', 'cpe', 'unknown')),
	state        TEXT NOT NULL CHECK (state IN ('offered', 'active', 'released', 'expired', 'declined')),
	network_id   INTEGER REFERENCES networks(id) ON DELETE SET NULL,
	modem_id     INTEGER REFERENCES modems(id) ON DELETE SET NULL,
	link_address TEXT NOT NULL DEFAULT '',
	remote_id    BLOB,
	starts       INTEGER NOT NULL,
	ends         INTEGER NOT NULL,
	UNIQUE (type, address, prefix_len)
) STRICT;
CREATE INDEX leases6_client ON leases6(duid, iaid);
CREATE INDEX leases6_mac ON leases6(mac);
CREATE INDEX leases6_modem ON leases6(modem_id);
CREATE INDEX leases6_ends ON leases6(ends);

-- Append-only: who held which address (or prefix) from when to when.
CREATE TABLE lease_history (
	id           INTEGER PRIMARY KEY,
	at           INTEGER NOT NULL,
	event        TEXT NOT NULL CHECK (event IN ('grant', 'renew', 'release', 'expire', 'decline')),
	family       INTEGER NOT NULL CHECK (family IN (4, 6)),
	type         TEXT NOT NULL DEFAULT 'na' CHECK (type IN ('na', 'pd')),
	address      TEXT NOT NULL,
	prefix_len   INTEGER NOT NULL,
	mac          TEXT NOT NULL DEFAULT '',
	client_id    BLOB,
	iaid         INTEGER,
	kind         TEXT NOT NULL,
	modem_id     INTEGER,
	modem_mac    TEXT NOT NULL DEFAULT '',
	customer_id  INTEGER,
	relay        TEXT NOT NULL DEFAULT '',
	remote_id    BLOB,
	circuit_id   BLOB,
	starts       INTEGER NOT NULL,
	ends         INTEGER NOT NULL
) STRICT;
CREATE INDEX lease_history_address ON lease_history(address, starts);
CREATE INDEX lease_history_mac ON lease_history(mac, starts);
CREATE INDEX lease_history_modem ON lease_history(modem_mac, starts);

CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
	password_hash TEXT NOT NULL,
	role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
	disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
	last_login    INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) STRICT;

-- Browser sessions; the cookie holds the token, the table its SHA-256.
CREATE TABLE sessions (
	token_hash TEXT PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	csrf       TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	remote     TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expires ON sessions(expires_at);

CREATE TABLE api_tokens (
	id         INTEGER PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	token_hash TEXT NOT NULL UNIQUE,
	role       TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL DEFAULT 0,
	last_used  INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Every change: who, when, what, before and after (JSON).
CREATE TABLE audit_log (
	id        INTEGER PRIMARY KEY,
	at        INTEGER NOT NULL,
	actor     TEXT NOT NULL,
	action    TEXT NOT NULL,
	entity    TEXT NOT NULL,
	entity_id INTEGER NOT NULL DEFAULT 0,
	before    TEXT NOT NULL DEFAULT '',
	after     TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_entity ON audit_log(entity, entity_id, at);
CREATE INDEX audit_at ON audit_log(at);
