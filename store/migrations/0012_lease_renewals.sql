-- 0012: a renewal is written to its lease alone. Until now each renewal
-- updated two rows, the lease and its session's history row (a reboot
-- storm is all renewals: every modem asks for the binding it still holds).
-- Now the lease counts the renewals since it was last written whole
-- (renewals) and the time of the last (renewed_at), and its session's
-- history row is read through it (LeaseHistory): the row's end, time and
-- renewals are the lease's while the lease is that session's and has
-- renewals of its own. When the lease is written whole again (a new
-- session, or the session's end), these triggers first bring the history
-- row up to date, so it holds the session as it stood, as the lease did.
ALTER TABLE leases4 ADD COLUMN renewals INTEGER NOT NULL DEFAULT 0;
ALTER TABLE leases4 ADD COLUMN renewed_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE leases6 ADD COLUMN renewals INTEGER NOT NULL DEFAULT 0;
ALTER TABLE leases6 ADD COLUMN renewed_at INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER leases4_renewals AFTER UPDATE OF renewals ON leases4
WHEN old.renewals > 0 AND new.renewals = 0
BEGIN
	UPDATE lease_history SET ends = old.ends, at = old.renewed_at, renewals = renewals + old.renewals
	WHERE id = (SELECT MAX(id) FROM lease_history WHERE address = old.ip AND starts = old.starts)
		AND ended = '' AND event IN ('grant', 'renew') AND family = 4 AND mac = old.mac;
END;

CREATE TRIGGER leases6_renewals AFTER UPDATE OF renewals ON leases6
WHEN old.renewals > 0 AND new.renewals = 0
BEGIN
	UPDATE lease_history SET ends = old.ends, at = old.renewed_at, renewals = renewals + old.renewals
	WHERE id = (SELECT MAX(id) FROM lease_history WHERE address = old.address AND starts = old.starts)
		AND ended = '' AND event IN ('grant', 'renew') AND family = 6 AND type = old.type
		AND prefix_len = old.prefix_len AND mac = old.mac;
END;
