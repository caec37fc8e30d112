-- Where drivers were: points as the phone collected them, kept for a retention period, and each
-- driver's latest point for ETAs.
CREATE TABLE driver_locations (
    driver_id   BLOB NOT NULL REFERENCES users (id),
    recorded_at TEXT NOT NULL,
    lat         REAL NOT NULL,
    lon         REAL NOT NULL,
    accuracy_m  REAL,
    speed_mps   REAL,
    heading_deg REAL,
    received_at TEXT NOT NULL
) STRICT;
-- A batch the phone sends again (its answer was lost) adds nothing.
CREATE UNIQUE INDEX driver_locations_by_driver ON driver_locations (driver_id, recorded_at);
-- For letting go of everyone's old points.
CREATE INDEX driver_locations_by_time ON driver_locations (recorded_at);

CREATE TABLE driver_positions (
    driver_id   BLOB PRIMARY KEY NOT NULL REFERENCES users (id),
    recorded_at TEXT NOT NULL,
    lat         REAL NOT NULL,
    lon         REAL NOT NULL,
    accuracy_m  REAL,
    speed_mps   REAL,
    heading_deg REAL
) STRICT;
