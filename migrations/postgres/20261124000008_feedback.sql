-- The customer's word on a delivery, left from the link in the delivery slip; a second word replaces
-- the first.
CREATE TABLE feedback (
    shipment_id UUID PRIMARY KEY REFERENCES shipments (id),
    rating      BIGINT NOT NULL,               -- 1 to 5
    comment     TEXT,
    left_at     TIMESTAMPTZ NOT NULL
);

-- Stop actions' answers are let go after a week; this finds them.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
