-- Who may call: staff and driver accounts, their refresh tokens, merchants' API keys, and the keys that sign tokens.
CREATE TABLE users (
    id            BLOB PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL UNIQUE,         -- lower case
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,                -- admin, dispatcher, support, driver
    password_hash TEXT NOT NULL,                -- argon2id PHC string
    created_at    TEXT NOT NULL
) STRICT;

-- Failed logins in a row, per email (whether or not an account has it), and the lock they led to.
CREATE TABLE login_failures (
    email        TEXT PRIMARY KEY NOT NULL,
    failures     INTEGER NOT NULL,
    locked_until TEXT
) STRICT;

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,       -- SHA-256 of the token; the token itself is never stored
    user_id    BLOB NOT NULL REFERENCES users (id),
    family_id  BLOB NOT NULL,                   -- every token descended from one login
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    revoked_at TEXT,
    created_at TEXT NOT NULL
) STRICT;

CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE api_keys (
    id         BLOB PRIMARY KEY NOT NULL,
    merchant   TEXT NOT NULL,
    name       TEXT NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,            -- SHA-256 of the key
    created_at TEXT NOT NULL,
    revoked_at TEXT
) STRICT;

CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY NOT NULL,
    secret     TEXT NOT NULL,                   -- base64
    created_at TEXT NOT NULL
) STRICT;
