-- The phone's own store: the day as last fetched, the actions waiting to reach the server, and the
-- positions not yet sent. Nothing here is lost by a crash: every write is a committed transaction.

-- The manifest of each day as the server last sent it, with its ETag for revalidation.
CREATE TABLE manifests (
    date TEXT PRIMARY KEY,
    etag TEXT,
    body TEXT NOT NULL,
    fetched_at TEXT NOT NULL
);

-- Every stop action, in the order the driver made them. The key is made when the action is queued and
-- sent with every attempt, so the server applies it once however often it arrives.
CREATE TABLE actions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('arrive', 'deliver', 'fail')),
    stop_id TEXT NOT NULL,
    shipment_id TEXT NOT NULL,
    tracking_number TEXT NOT NULL,
    -- The JSON part exactly as it will be sent, every time.
    report TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'done', 'rejected')),
    attempts INTEGER NOT NULL DEFAULT 0,
    -- Why the last attempt did not go through (a problem document, or what the network said).
    last_error TEXT,
    -- The server's answer, once applied.
    receipt TEXT,
    queued_at TEXT NOT NULL,
    settled_at TEXT
);
CREATE INDEX actions_by_stop ON actions (stop_id);

-- The photos and signature of an action: copies in the app's own folder, named by their hash.
CREATE TABLE action_files (
    action_seq INTEGER NOT NULL REFERENCES actions (seq),
    position INTEGER NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('signature', 'photo')),
    file TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    PRIMARY KEY (action_seq, position)
);

-- Where the phone has been; sent in batches, oldest first.
CREATE TABLE positions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    point TEXT NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX positions_unsent ON positions (sent, id);
