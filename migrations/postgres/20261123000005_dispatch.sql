-- Warehouse dispatch: depots and their delivery zones, drivers, and the routes they drive.
CREATE TABLE depots (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    address    TEXT NOT NULL,
    lat        DOUBLE PRECISION NOT NULL,
    lon        DOUBLE PRECISION NOT NULL,
    timezone   TEXT NOT NULL,                   -- routes are planned on this clock
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE zones (
    id         UUID PRIMARY KEY,
    depot_id   UUID NOT NULL REFERENCES depots (id),
    name       TEXT NOT NULL,
    area       TEXT NOT NULL,                   -- GeoJSON Polygon or MultiPolygon
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (depot_id, name)
);

CREATE TABLE drivers (
    user_id     UUID PRIMARY KEY REFERENCES users (id),
    depot_id    UUID NOT NULL REFERENCES depots (id),
    capacity    BIGINT NOT NULL,                -- parcels
    shift_start TIME NOT NULL,
    shift_end   TIME NOT NULL,
    zones       TEXT NOT NULL,                  -- JSON array of zone ids covered; empty: any
    updated_at  TIMESTAMPTZ NOT NULL
);

-- Where a shipment was received, and the zone it lies in there (NULL: outside every zone, flagged).
ALTER TABLE shipments ADD COLUMN depot_id UUID REFERENCES depots (id);
ALTER TABLE shipments ADD COLUMN zone_id UUID REFERENCES zones (id);
CREATE INDEX shipments_depot ON shipments (depot_id, status);

CREATE TABLE routes (
    id            UUID PRIMARY KEY,
    depot_id      UUID NOT NULL REFERENCES depots (id),
    driver_id     UUID NOT NULL REFERENCES users (id),
    date          DATE NOT NULL,
    status        TEXT NOT NULL,                -- planned, dispatched
    version       BIGINT NOT NULL,              -- bumped by every change; changes compare and set it
    metres        DOUBLE PRECISION NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    dispatched_at TIMESTAMPTZ
);

CREATE INDEX routes_depot_date ON routes (depot_id, date);
CREATE INDEX routes_driver_date ON routes (driver_id, date);

CREATE TABLE route_stops (
    id                   UUID PRIMARY KEY,      -- stable across changes: the driver app refers to it
    route_id             UUID NOT NULL REFERENCES routes (id),
    position             BIGINT NOT NULL,
    shipment_id          UUID NOT NULL REFERENCES shipments (id),
    date                 DATE NOT NULL,         -- the route's: a shipment is on one route a day
    planned_arrival      TIMESTAMPTZ NOT NULL,
    planned_departure    TIMESTAMPTZ NOT NULL,
    late                 BOOLEAN NOT NULL,      -- planned after the customer's window
    metres_from_previous DOUBLE PRECISION NOT NULL,
    UNIQUE (shipment_id, date)
);

CREATE INDEX route_stops_route ON route_stops (route_id, position);

-- What changed on a route after it was dispatched, by whom.
CREATE TABLE route_changes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    route_id   UUID NOT NULL REFERENCES routes (id),
    changed_at TIMESTAMPTZ NOT NULL,
    actor      TEXT NOT NULL,
    change     TEXT NOT NULL                    -- such as 'removed 0123-4567-89AB-CDEF'
);

CREATE INDEX route_changes_route ON route_changes (route_id, id);
