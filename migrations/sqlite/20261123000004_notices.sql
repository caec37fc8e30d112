-- The transactional outbox: each notice is written in the transaction of the change that causes it, then
-- claimed, sent and marked by a worker.
CREATE TABLE notices (
    id              BLOB PRIMARY KEY NOT NULL,
    shipment_id     BLOB NOT NULL REFERENCES shipments (id),
    kind            TEXT NOT NULL,              -- dispatched, attempt_failed, ...
    sequence        INTEGER NOT NULL,           -- the n-th notice of this kind for this shipment
    recipient       TEXT NOT NULL,
    language        TEXT NOT NULL,
    message_id      TEXT NOT NULL UNIQUE,       -- stable: a resend after a crash carries the same id
    status          TEXT NOT NULL,              -- pending, sending, sent, failed, expired, suppressed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    claimed_until   TEXT,                       -- a worker's lease; past it, another may claim
    last_error      TEXT,
    payload         TEXT NOT NULL,              -- JSON: what the notice says beyond the shipment
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    UNIQUE (shipment_id, kind, sequence)
) STRICT;

CREATE INDEX notices_due ON notices (status, next_attempt_at);
CREATE INDEX notices_shipment ON notices (shipment_id, created_at);
