-- Who may call: staff and driver accounts, their refresh tokens, merchants' API keys, and the keys that sign tokens.
CREATE TABLE users (
    id            UUID PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,         -- lower case
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,                -- admin, dispatcher, support, driver
    password_hash TEXT NOT NULL,                -- argon2id PHC string
    created_at    TIMESTAMPTZ NOT NULL
);

-- Failed logins in a row, per email (whether or not an account has it), and the lock they led to.
CREATE TABLE login_failures (
    email        TEXT PRIMARY KEY,
    failures     BIGINT NOT NULL,
    locked_until TIMESTAMPTZ
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,                -- SHA-256 of the token; the token itself is never stored
    user_id    UUID NOT NULL REFERENCES users (id),
    family_id  UUID NOT NULL,                   -- every token descended from one login
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE api_keys (
    id         UUID PRIMARY KEY,
    merchant   TEXT NOT NULL,
    name       TEXT NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,            -- SHA-256 of the key
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);

CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,                   -- base64
    created_at TIMESTAMPTZ NOT NULL
);
