-- Warehouse dispatch: depots and their delivery zones, drivers, and the routes they drive.
CREATE TABLE depots (
    id         BLOB PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL UNIQUE,
    address    TEXT NOT NULL,
    lat        REAL NOT NULL,
    lon        REAL NOT NULL,
    timezone   TEXT NOT NULL,                   -- routes are planned on this clock
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE zones (
    id         BLOB PRIMARY KEY NOT NULL,
    depot_id   BLOB NOT NULL REFERENCES depots (id),
    name       TEXT NOT NULL,
    area       TEXT NOT NULL,                   -- GeoJSON Polygon or MultiPolygon
    created_at TEXT NOT NULL,
    UNIQUE (depot_id, name)
) STRICT;

CREATE TABLE drivers (
    user_id     BLOB PRIMARY KEY NOT NULL REFERENCES users (id),
    depot_id    BLOB NOT NULL REFERENCES depots (id),
    capacity    INTEGER NOT NULL,                -- parcels
    shift_start TEXT NOT NULL,
    shift_end   TEXT NOT NULL,
    zones       TEXT NOT NULL,                  -- JSON array of zone ids covered; empty: any
    updated_at  TEXT NOT NULL
) STRICT;

-- Where a shipment was received, and the zone it lies in there (NULL: outside every zone, flagged).
ALTER TABLE shipments ADD COLUMN depot_id BLOB REFERENCES depots (id);
ALTER TABLE shipments ADD COLUMN zone_id BLOB REFERENCES zones (id);
CREATE INDEX shipments_depot ON shipments (depot_id, status);

CREATE TABLE routes (
    id            BLOB PRIMARY KEY NOT NULL,
    depot_id      BLOB NOT NULL REFERENCES depots (id),
    driver_id     BLOB NOT NULL REFERENCES users (id),
    date          TEXT NOT NULL,
    status        TEXT NOT NULL,                -- planned, dispatched
    version       INTEGER NOT NULL,              -- bumped by every change; changes compare and set it
    metres        REAL NOT NULL,
    created_at    TEXT NOT NULL,
    dispatched_at TEXT
) STRICT;

CREATE INDEX routes_depot_date ON routes (depot_id, date);
CREATE INDEX routes_driver_date ON routes (driver_id, date);

CREATE TABLE route_stops (
    id                   BLOB PRIMARY KEY NOT NULL,      -- stable across changes: the driver app refers to it
    route_id             BLOB NOT NULL REFERENCES routes (id),
    position             INTEGER NOT NULL,
    shipment_id          BLOB NOT NULL REFERENCES shipments (id),
    date                 TEXT NOT NULL,         -- the route's: a shipment is on one route a day
    planned_arrival      TEXT NOT NULL,
    planned_departure    TEXT NOT NULL,
    late                 INTEGER NOT NULL,      -- planned after the customer's window
    metres_from_previous REAL NOT NULL,
    UNIQUE (shipment_id, date)
) STRICT;

CREATE INDEX route_stops_route ON route_stops (route_id, position);

-- What changed on a route after it was dispatched, by whom.
CREATE TABLE route_changes (
    id         INTEGER PRIMARY KEY,
    route_id   BLOB NOT NULL REFERENCES routes (id),
    changed_at TEXT NOT NULL,
    actor      TEXT NOT NULL,
    change     TEXT NOT NULL                    -- such as 'removed 0123-4567-89AB-CDEF'
) STRICT;

CREATE INDEX route_changes_route ON route_changes (route_id, id);
