-- 0011: the history's MAC index leaves out the rows of cable modems
-- themselves (mac = modem_mac): a search by MAC finds those through the
-- modem_mac index anyway, and a reboot storm's rows are mostly theirs, so
-- each of them writes one B-tree fewer.
DROP INDEX lease_history_mac;
CREATE INDEX lease_history_mac ON lease_history(mac, starts) WHERE mac <> modem_mac;
