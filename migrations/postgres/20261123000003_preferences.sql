-- What customers may choose from, and the record of what they chose.
CREATE TABLE pickup_points (
    id            TEXT PRIMARY KEY,             -- chosen by staff, such as 'lawson-marunouchi'
    name          TEXT NOT NULL,
    address       TEXT NOT NULL,
    lat           DOUBLE PRECISION NOT NULL,
    lon           DOUBLE PRECISION NOT NULL,
    opening_hours TEXT NOT NULL,
    active        BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE delivery_slots (
    id         TEXT PRIMARY KEY,                -- such as '14-16'
    start_time TEXT NOT NULL,                   -- HH:MM
    end_time   TEXT NOT NULL
);

INSERT INTO delivery_slots (id, start_time, end_time) VALUES
    ('08-12', '08:00', '12:00'), ('14-16', '14:00', '16:00'), ('16-18', '16:00', '18:00'),
    ('18-20', '18:00', '20:00'), ('19-21', '19:00', '21:00');

-- Every change of preferences: who, when, and each field's old and new value (access codes masked).
CREATE TABLE preference_changes (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shipment_id UUID NOT NULL REFERENCES shipments (id),
    changed_at  TIMESTAMPTZ NOT NULL,
    actor       TEXT NOT NULL,
    field       TEXT NOT NULL,
    old_value   TEXT,
    new_value   TEXT
);

CREATE INDEX preference_changes_shipment ON preference_changes (shipment_id, id);
