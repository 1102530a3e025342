-- 0002: indexes for the search box: a device by its fixed or overridden
-- address, a v6 binding by address.
CREATE INDEX modems_ipv6 ON modems(ipv6) WHERE ipv6 <> '';
CREATE INDEX mtas_fixed_ipv4 ON mtas(fixed_ipv4) WHERE fixed_ipv4 <> '';
CREATE INDEX cpes_fixed_ipv4 ON cpes(fixed_ipv4) WHERE fixed_ipv4 <> '';
CREATE INDEX leases6_address ON leases6(address);
