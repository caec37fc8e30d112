-- The running servers, each with a lease it renews while it runs. A stop action's idempotency key
-- remembers which server holds it: once that server's lease has run out, the request died with it and
-- a retry takes the key over at once.
CREATE TABLE server_instances (
    id          UUID PRIMARY KEY,
    started_at  TIMESTAMPTZ NOT NULL,
    lease_until TIMESTAMPTZ NOT NULL
);

ALTER TABLE idempotency_keys ADD COLUMN holder UUID;
