-- 0009: two fewer indexes on the DHCPv6 write path, where every new binding
-- paid for six B-trees. Nothing looks bindings up by DUID, and a lookup by
-- address uses the UNIQUE (type, address, prefix_len) index with
-- type IN ('na', 'pd').
DROP INDEX leases6_client;
DROP INDEX leases6_address;
