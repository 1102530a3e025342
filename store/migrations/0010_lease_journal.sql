-- 0010: lease changes become durable in the lease journal (segment files
-- beside the database) and reach these tables shortly after, many at a
-- time; applied is the sequence number of the last journal record these
-- tables hold, written in the same transaction, so the records after it are
-- applied again at start-up.
CREATE TABLE lease_journal (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	applied INTEGER NOT NULL
) STRICT;
INSERT INTO lease_journal (id, applied) VALUES (1, 0);
