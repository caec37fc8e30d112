-- Proof of delivery: what a driver captured at a door (a delivery or a failed attempt), the files
-- kept with it, when drivers reached their stops, and the answers to stop actions kept for retries.

CREATE TABLE proofs (
    id          UUID PRIMARY KEY,
    shipment_id UUID NOT NULL REFERENCES shipments (id),
    stop_id     UUID NOT NULL,                 -- route_stops ids are stable; their rows are replaced by route changes
    driver_id   UUID NOT NULL REFERENCES users (id),
    outcome     TEXT NOT NULL,                 -- delivered, attempt_failed
    captured_at TIMESTAMPTZ NOT NULL,          -- the phone's clock
    recorded_at TIMESTAMPTZ NOT NULL,          -- the server's, when accepted
    lat         DOUBLE PRECISION NOT NULL,
    lon         DOUBLE PRECISION NOT NULL,
    accuracy_m  DOUBLE PRECISION,
    distance_m  DOUBLE PRECISION NOT NULL,     -- from the capture location to where the parcel was due
    flagged     BOOLEAN NOT NULL,              -- farther than the geofence: for staff review
    details     TEXT NOT NULL,                 -- JSON: method, names, reason, note, scanned barcodes
    sha256      TEXT NOT NULL                  -- over the metadata and the files: a later change shows
);

CREATE INDEX proofs_shipment ON proofs (shipment_id, recorded_at);

-- Files are content-addressed: the name is the SHA-256 of the bytes, so one file may serve two proofs.
CREATE TABLE proof_files (
    proof_id UUID NOT NULL REFERENCES proofs (id),
    position BIGINT NOT NULL,
    role     TEXT NOT NULL,                    -- display, thumbnail, original, signature
    name     TEXT NOT NULL,
    PRIMARY KEY (proof_id, position)
);

CREATE INDEX proof_files_name ON proof_files (name);

CREATE TABLE stop_arrivals (
    stop_id     UUID PRIMARY KEY,
    driver_id   UUID NOT NULL REFERENCES users (id),
    arrived_at  TIMESTAMPTZ NOT NULL,
    lat         DOUBLE PRECISION NOT NULL,
    lon         DOUBLE PRECISION NOT NULL,
    accuracy_m  DOUBLE PRECISION,
    recorded_at TIMESTAMPTZ NOT NULL
);

-- A stop action's key and answer: a retry with the same key and request gets the same bytes. A row
-- without a status is a request still being handled (or abandoned by a crash, once it is old).
CREATE TABLE idempotency_keys (
    driver_id   UUID NOT NULL REFERENCES users (id),
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      BIGINT,
    body        BYTEA,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (driver_id, key)
);
