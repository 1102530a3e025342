-- 0013: a new session's history row is written when its lease is next
-- written whole (the session's end, or a new session at its address), not
-- at its grant. Until then the lease holds it: opened is the event that
-- opened it ('grant'; '' once its row is written, or for an offer),
-- opened_at the time of that event, modem_mac and customer_id the owning
-- modem as the history records it, and LeaseHistory reads it from there.
-- A network's first boot then writes each binding once, not twice; the
-- history row is written at the session's end, spread over the lease time.
ALTER TABLE leases4 ADD COLUMN opened TEXT NOT NULL DEFAULT '' CHECK (opened IN ('', 'grant'));
ALTER TABLE leases4 ADD COLUMN opened_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE leases4 ADD COLUMN modem_mac TEXT NOT NULL DEFAULT '';
ALTER TABLE leases4 ADD COLUMN customer_id INTEGER;
ALTER TABLE leases6 ADD COLUMN opened TEXT NOT NULL DEFAULT '' CHECK (opened IN ('', 'grant'));
ALTER TABLE leases6 ADD COLUMN opened_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE leases6 ADD COLUMN modem_mac TEXT NOT NULL DEFAULT '';
ALTER TABLE leases6 ADD COLUMN customer_id INTEGER;

-- The search by MAC finds a modem's devices' open sessions through this
-- (the devices' own through the MAC index); a cable modem's own lease
-- (mac = modem_mac) stays out of it.
CREATE INDEX leases4_modem_mac ON leases4(modem_mac) WHERE modem_mac <> mac AND opened <> '';
CREATE INDEX leases6_modem_mac ON leases6(modem_mac) WHERE modem_mac <> mac AND opened <> '';

-- Written whole again (every upsert sets opened, and starts the renewals
-- from 0), a lease first writes its session: the row of a session it held
-- unwritten, or the renewals of one whose row exists (0012). A renewal
-- leaves opened alone, so these do not even run for it.
DROP TRIGGER leases4_renewals;
DROP TRIGGER leases6_renewals;

CREATE TRIGGER leases4_session AFTER UPDATE OF opened ON leases4
WHEN (old.opened <> '' OR old.renewals > 0) AND new.renewals = 0
BEGIN
	INSERT INTO lease_history(at, event, family, type, address, prefix_len, mac, client_id, iaid, kind,
		modem_id, modem_mac, customer_id, relay, remote_id, circuit_id, starts, ends, renewals)
	SELECT CASE WHEN old.renewals > 0 THEN old.renewed_at ELSE old.opened_at END, old.opened, 4, 'na', old.ip, 32,
		old.mac, old.client_id, NULL, old.kind, old.modem_id, old.modem_mac, old.customer_id, old.giaddr,
		old.remote_id, old.circuit_id, old.starts, old.ends, old.renewals
	WHERE old.opened <> '';
	UPDATE lease_history SET ends = old.ends, at = old.renewed_at, renewals = renewals + old.renewals
	WHERE old.opened = '' AND old.renewals > 0
		AND id = (SELECT MAX(id) FROM lease_history WHERE address = old.ip AND starts = old.starts)
		AND ended = '' AND event IN ('grant', 'renew') AND family = 4 AND mac = old.mac;
END;

CREATE TRIGGER leases6_session AFTER UPDATE OF opened ON leases6
WHEN (old.opened <> '' OR old.renewals > 0) AND new.renewals = 0
BEGIN
	INSERT INTO lease_history(at, event, family, type, address, prefix_len, mac, client_id, iaid, kind,
		modem_id, modem_mac, customer_id, relay, remote_id, circuit_id, starts, ends, renewals)
	SELECT CASE WHEN old.renewals > 0 THEN old.renewed_at ELSE old.opened_at END, old.opened, 6, old.type, old.address,
		old.prefix_len, old.mac, old.duid, old.iaid, old.kind, old.modem_id, old.modem_mac, old.customer_id,
		old.link_address, old.remote_id, NULL, old.starts, old.ends, old.renewals
	WHERE old.opened <> '';
	UPDATE lease_history SET ends = old.ends, at = old.renewed_at, renewals = renewals + old.renewals
	WHERE old.opened = '' AND old.renewals > 0
		AND id = (SELECT MAX(id) FROM lease_history WHERE address = old.address AND starts = old.starts)
		AND ended = '' AND event IN ('grant', 'renew') AND family = 6 AND type = old.type
		AND prefix_len = old.prefix_len AND mac = old.mac;
END;
