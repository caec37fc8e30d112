-- Proof of delivery: what a driver captured at a door (a delivery or a failed attempt), the files
-- kept with it, when drivers reached their stops, and the answers to stop actions kept for retries.

CREATE TABLE proofs (
    id          BLOB PRIMARY KEY NOT NULL,
    shipment_id BLOB NOT NULL REFERENCES shipments (id),
    stop_id     BLOB NOT NULL,                 -- route_stops ids are stable; their rows are replaced by route changes
    driver_id   BLOB NOT NULL REFERENCES users (id),
    outcome     TEXT NOT NULL,                 -- delivered, attempt_failed
    captured_at TEXT NOT NULL,                 -- the phone's clock
    recorded_at TEXT NOT NULL,                 -- the server's, when accepted
    lat         REAL NOT NULL,
    lon         REAL NOT NULL,
    accuracy_m  REAL,
    distance_m  REAL NOT NULL,                 -- from the capture location to where the parcel was due
    flagged     INTEGER NOT NULL,              -- farther than the geofence: for staff review
    details     TEXT NOT NULL,                 -- JSON: method, names, reason, note, scanned barcodes
    sha256      TEXT NOT NULL                  -- over the metadata and the files: a later change shows
) STRICT;

CREATE INDEX proofs_shipment ON proofs (shipment_id, recorded_at);

-- Files are content-addressed: the name is the SHA-256 of the bytes, so one file may serve two proofs.
CREATE TABLE proof_files (
    proof_id BLOB NOT NULL REFERENCES proofs (id),
    position INTEGER NOT NULL,
    role     TEXT NOT NULL,                    -- display, thumbnail, original, signature
    name     TEXT NOT NULL,
    PRIMARY KEY (proof_id, position)
) STRICT;

CREATE INDEX proof_files_name ON proof_files (name);

CREATE TABLE stop_arrivals (
    stop_id     BLOB PRIMARY KEY NOT NULL,
    driver_id   BLOB NOT NULL REFERENCES users (id),
    arrived_at  TEXT NOT NULL,
    lat         REAL NOT NULL,
    lon         REAL NOT NULL,
    accuracy_m  REAL,
    recorded_at TEXT NOT NULL
) STRICT;

-- A stop action's key and answer: a retry with the same key and request gets the same bytes. A row
-- without a status is a request still being handled (or abandoned by a crash, once it is old).
CREATE TABLE idempotency_keys (
    driver_id   BLOB NOT NULL REFERENCES users (id),
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      INTEGER,
    body        BLOB,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (driver_id, key)
) STRICT;
