-- 0005: lease history by customer. The customer a lease was granted for is
-- recorded with it (customer_id), so the search by customer reads that
-- column through its own index instead of going through the modems the
-- customer has now: a modem that moved to another customer since keeps its
-- earlier leases with the earlier customer. Devices without a customer
-- (unknown modems, a modem not yet assigned) are most of the NULLs and are
-- never searched this way, so they stay out of the index.
CREATE INDEX lease_history_customer ON lease_history(customer_id, starts) WHERE customer_id IS NOT NULL;
