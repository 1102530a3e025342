-- 0008: a delegated prefix reserved for a modem: the router behind it (the
-- first CPE asking for a prefix) always gets this one, and the pools never
-- hand it to anyone else (dhcpd6's fixed-prefix6).
ALTER TABLE modems ADD COLUMN prefix6 TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX modems_prefix6 ON modems(prefix6) WHERE prefix6 <> '';
