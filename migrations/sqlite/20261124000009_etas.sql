-- Expected arrivals: each dispatched route's latest estimate of its open stops, and the delay windows
-- customers were told.
CREATE TABLE route_etas (
    route_id     BLOB PRIMARY KEY NOT NULL REFERENCES routes (id),
    as_of        TEXT,                          -- the newest sign of the driver it starts from; NULL: the plan
    computed_at  TEXT NOT NULL,
    travel_pace  REAL NOT NULL,                 -- learned from the day: 1.0 drives as planned
    service_pace REAL NOT NULL,
    stops        TEXT NOT NULL                  -- JSON: the open stops in order, each with its expected arrival
) STRICT;

-- The last delay window told for a stop; the count of notices is the compare-and-set that keeps two
-- servers from both telling the customer.
CREATE TABLE stop_delays (
    stop_id      BLOB PRIMARY KEY NOT NULL,
    route_id     BLOB NOT NULL REFERENCES routes (id),
    shipment_id  BLOB NOT NULL REFERENCES shipments (id),
    window_start TEXT NOT NULL,
    window_end   TEXT NOT NULL,
    notices      INTEGER NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;

CREATE INDEX stop_delays_route ON stop_delays (route_id);
-- A route's progress reads each stop's proof.
CREATE INDEX proofs_stop ON proofs (stop_id);
