-- Where drivers were: points as the phone collected them, kept for a retention period, and each
-- driver's latest point for ETAs.
CREATE TABLE driver_locations (
    driver_id   UUID NOT NULL REFERENCES users (id),
    recorded_at TIMESTAMPTZ NOT NULL,
    lat         DOUBLE PRECISION NOT NULL,
    lon         DOUBLE PRECISION NOT NULL,
    accuracy_m  DOUBLE PRECISION,
    speed_mps   DOUBLE PRECISION,
    heading_deg DOUBLE PRECISION,
    received_at TIMESTAMPTZ NOT NULL
);
-- A batch the phone sends again (its answer was lost) adds nothing.
CREATE UNIQUE INDEX driver_locations_by_driver ON driver_locations (driver_id, recorded_at);
-- For letting go of everyone's old points.
CREATE INDEX driver_locations_by_time ON driver_locations (recorded_at);

CREATE TABLE driver_positions (
    driver_id   UUID PRIMARY KEY REFERENCES users (id),
    recorded_at TIMESTAMPTZ NOT NULL,
    lat         DOUBLE PRECISION NOT NULL,
    lon         DOUBLE PRECISION NOT NULL,
    accuracy_m  DOUBLE PRECISION,
    speed_mps   DOUBLE PRECISION,
    heading_deg DOUBLE PRECISION
);
