-- Shipments, their parcels, and the append-only timeline of status changes.
CREATE TABLE shipments (
    id              UUID PRIMARY KEY,            -- UUIDv7: creation order, used as the pagination cursor
    tracking_number TEXT NOT NULL UNIQUE,
    merchant        TEXT NOT NULL DEFAULT '',   -- '' when staff created it; else the API key's merchant
    external_ref    TEXT NOT NULL,
    request_digest  TEXT NOT NULL,              -- SHA-256 of the create request as first received
    status          TEXT NOT NULL,
    recipient_name  TEXT NOT NULL,
    recipient_email TEXT NOT NULL,
    recipient_phone TEXT,
    language        TEXT NOT NULL,
    address_lines   TEXT NOT NULL,               -- JSON array of strings
    postal_code     TEXT NOT NULL,
    city            TEXT NOT NULL,
    region          TEXT,
    country         TEXT NOT NULL,
    lat             DOUBLE PRECISION NOT NULL,
    lon             DOUBLE PRECISION NOT NULL,
    timezone        TEXT NOT NULL,
    promised_date   DATE NOT NULL,
    window_start    TIME NOT NULL,
    window_end      TIME NOT NULL,
    preferences     TEXT NOT NULL,               -- JSON: how the customer wants to receive
    flags           TEXT NOT NULL,               -- JSON: signature_required, age_check, declared_value_jpy
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (merchant, external_ref)
);

CREATE INDEX shipments_status ON shipments (status, id);
CREATE INDEX shipments_merchant ON shipments (merchant, id);
CREATE INDEX shipments_promised_date ON shipments (promised_date, id);

CREATE TABLE parcels (
    shipment_id UUID NOT NULL REFERENCES shipments (id),
    position    BIGINT NOT NULL,
    barcode     TEXT NOT NULL,
    weight_g    BIGINT NOT NULL,
    PRIMARY KEY (shipment_id, position)
);

CREATE INDEX parcels_barcode ON parcels (barcode);

CREATE TABLE shipment_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shipment_id UUID NOT NULL REFERENCES shipments (id),
    status      TEXT NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    actor       TEXT NOT NULL,
    lat         DOUBLE PRECISION,
    lon         DOUBLE PRECISION,
    reason      TEXT,
    note        TEXT
);

CREATE INDEX shipment_events_shipment ON shipment_events (shipment_id, id);

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;

CREATE TRIGGER shipment_events_append_only BEFORE UPDATE OR DELETE ON shipment_events
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
