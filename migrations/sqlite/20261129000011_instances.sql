-- The running servers, each with a lease it renews while it runs. A stop action's idempotency key
-- remembers which server holds it: once that server's lease has run out, the request died with it and
-- a retry takes the key over at once.
CREATE TABLE server_instances (
    id          BLOB PRIMARY KEY NOT NULL,
    started_at  TEXT NOT NULL,
    lease_until TEXT NOT NULL
) STRICT;

ALTER TABLE idempotency_keys ADD COLUMN holder BLOB;
