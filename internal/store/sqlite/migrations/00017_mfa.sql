-- +goose Up
-- Second factors (store.MFAStore). Times are Unix microseconds, UTC; an
-- unset one is NULL. Everything of a user goes with the user.

-- A user's TOTP (RFC 6238), sealed; confirmed_at is NULL while the
-- enrolment is pending, last_step the time step of the last code accepted.
CREATE TABLE totp (
    user_id      TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret       BLOB NOT NULL,
    confirmed_at INTEGER,
    last_step    INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
);

-- Single-use recovery codes, by the hex SHA-256 of the normalised code;
-- used_at is NULL until used.
CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, hash)
);

-- WebAuthn credentials; transports space-separated.
CREATE TABLE passkeys (
    id               BLOB PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    public_key       BLOB NOT NULL,
    attestation_type TEXT NOT NULL,
    aaguid           BLOB NOT NULL,
    sign_count       INTEGER NOT NULL,
    transports       TEXT NOT NULL DEFAULT '',
    user_verified    INTEGER NOT NULL,
    backup_eligible  INTEGER NOT NULL,
    backup_state     INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    last_used_at     INTEGER
);
CREATE INDEX passkeys_user_id ON passkeys (user_id, created_at);

-- Ceremonies in progress, by the hex SHA-256 of their handle; user_id is
-- NULL for a passwordless passkey login.
CREATE TABLE challenges (
    hash       TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL,
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    data       BLOB NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX challenges_user_id ON challenges (user_id);
CREATE INDEX challenges_expires_at ON challenges (expires_at);

-- How the user authenticated (RFC 8176 values, space-separated), carried
-- from the session to its codes and refresh tokens; and the clients that
-- require a second factor. Rows from before have neither.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_codes ADD COLUMN amr TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN amr TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN require_mfa INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE clients DROP COLUMN require_mfa;
ALTER TABLE refresh_tokens DROP COLUMN amr;
ALTER TABLE auth_codes DROP COLUMN amr;
ALTER TABLE sessions DROP COLUMN amr;
DROP TABLE challenges;
DROP TABLE passkeys;
DROP TABLE recovery_codes;
DROP TABLE totp;
