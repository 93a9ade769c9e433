-- +goose Up
-- One-time tokens sent by mail (store.OneTimeToken): email verification,
-- password recovery, email change. Stored by the SHA-256 of the link's
-- token and the HMAC of the 6-digit code, never either itself. A user has
-- at most one live token of a purpose: a new one deletes the older. used_at
-- is NULL until used.
CREATE TABLE one_time_tokens (
    hash       TEXT PRIMARY KEY,
    code_mac   TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX one_time_tokens_user_purpose ON one_time_tokens (user_id, purpose);
CREATE INDEX one_time_tokens_expires_at ON one_time_tokens (expires_at);

-- +goose Down
DROP TABLE one_time_tokens;
