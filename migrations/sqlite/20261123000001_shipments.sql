-- Shipments, their parcels, and the append-only timeline of status changes.
CREATE TABLE shipments (
    id              BLOB PRIMARY KEY NOT NULL,  -- UUIDv7: creation order, used as the pagination cursor
    tracking_number TEXT NOT NULL UNIQUE,
    merchant        TEXT NOT NULL DEFAULT '',   -- '' when staff created it; else the API key's merchant
    external_ref    TEXT NOT NULL,
    request_digest  TEXT NOT NULL,              -- SHA-256 of the create request as first received
    status          TEXT NOT NULL,
    recipient_name  TEXT NOT NULL,
    recipient_email TEXT NOT NULL,
    recipient_phone TEXT,
    language        TEXT NOT NULL,
    address_lines   TEXT NOT NULL,              -- JSON array of strings
    postal_code     TEXT NOT NULL,
    city            TEXT NOT NULL,
    region          TEXT,
    country         TEXT NOT NULL,
    lat             REAL NOT NULL,
    lon             REAL NOT NULL,
    timezone        TEXT NOT NULL,
    promised_date   TEXT NOT NULL,
    window_start    TEXT NOT NULL,
    window_end      TEXT NOT NULL,
    preferences     TEXT NOT NULL,              -- JSON: how the customer wants to receive
    flags           TEXT NOT NULL,              -- JSON: signature_required, age_check, declared_value_jpy
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (merchant, external_ref)
) STRICT;

CREATE INDEX shipments_status ON shipments (status, id);
CREATE INDEX shipments_merchant ON shipments (merchant, id);
CREATE INDEX shipments_promised_date ON shipments (promised_date, id);

CREATE TABLE parcels (
    shipment_id BLOB NOT NULL REFERENCES shipments (id),
    position    INTEGER NOT NULL,
    barcode     TEXT NOT NULL,
    weight_g    INTEGER NOT NULL,
    PRIMARY KEY (shipment_id, position)
) STRICT;

CREATE INDEX parcels_barcode ON parcels (barcode);

CREATE TABLE shipment_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    shipment_id BLOB NOT NULL REFERENCES shipments (id),
    status      TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    actor       TEXT NOT NULL,
    lat         REAL,
    lon         REAL,
    reason      TEXT,
    note        TEXT
) STRICT;

CREATE INDEX shipment_events_shipment ON shipment_events (shipment_id, id);

CREATE TRIGGER shipment_events_no_update BEFORE UPDATE ON shipment_events
BEGIN
    SELECT RAISE(ABORT, 'shipment_events is append-only');
END;

CREATE TRIGGER shipment_events_no_delete BEFORE DELETE ON shipment_events
BEGIN
    SELECT RAISE(ABORT, 'shipment_events is append-only');
END;
