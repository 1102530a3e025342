-- 0006: one lease_history row per lease session. A renewal extends its
-- session's row instead of adding one, and a release, expiry or decline
-- closes it: with the seed's two-hour leases every device renews every
-- hour, 8,760 rows a year per device, some 350 million for 10,000 modems
-- with their MTAs and CPEs, where one row per session (grant to its end)
-- answers "who had this address then" just as well. renewals counts the
-- renewals folded into the row, ended says how the session ended ('' while
-- it runs), and at is the time of the row's last event.
ALTER TABLE lease_history ADD COLUMN renewals INTEGER NOT NULL DEFAULT 0;
ALTER TABLE lease_history ADD COLUMN ended TEXT NOT NULL DEFAULT '' CHECK (ended IN ('', 'release', 'expire', 'decline'));
