-- 0003: fewer indexes on the lease write path. A lease commit is on the
-- critical path of every DHCP ACK; the ends indexes served only the
-- start-up load, which reads every row anyway.
DROP INDEX leases4_ends;
DROP INDEX leases6_ends;
