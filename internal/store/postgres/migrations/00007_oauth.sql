-- +goose Up
-- OAuth 2.0 / OpenID Connect: clients and what the authorization server
-- issues (store.ClientStore, store.GrantStore). NULL marks a time not yet set.
CREATE TABLE clients (
    id                        TEXT PRIMARY KEY,
    name                      TEXT NOT NULL,
    secret_hash               BYTEA NOT NULL, -- SHA-256; empty for a public client
    public                    BOOLEAN NOT NULL,
    redirect_uris             TEXT[] NOT NULL,
    post_logout_redirect_uris TEXT[] NOT NULL,
    grants                    TEXT[] NOT NULL,
    scopes                    TEXT[] NOT NULL,
    audience                  TEXT[] NOT NULL,
    trusted                   BOOLEAN NOT NULL,
    created_at                TIMESTAMPTZ NOT NULL,
    updated_at                TIMESTAMPTZ NOT NULL
);

-- Codes, refresh tokens and sessions are stored by the SHA-256 of the
-- secret, never the secret. A deleted client or user takes them along.
CREATE TABLE auth_codes (
    hash           TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    nonce          TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    session_id     TEXT NOT NULL,
    family         TEXT NOT NULL,
    auth_time      TIMESTAMPTZ NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    redeemed_at    TIMESTAMPTZ
);
CREATE INDEX auth_codes_client_id ON auth_codes (client_id);
CREATE INDEX auth_codes_user_id ON auth_codes (user_id);
CREATE INDEX auth_codes_expires_at ON auth_codes (expires_at);

CREATE TABLE refresh_tokens (
    hash       TEXT PRIMARY KEY,
    family     TEXT NOT NULL,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    session_id TEXT NOT NULL,
    auth_time  TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_client_id ON refresh_tokens (client_id);
CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

CREATE TABLE sessions (
    hash       TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time  TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE consents (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes     TEXT[] NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX consents_client_id ON consents (client_id);

-- Revoked access tokens (kind 'jti') and grants (kind 'family'), kept until
-- the tokens they name have expired anyway.
CREATE TABLE revocations (
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, value)
);
CREATE INDEX revocations_expires_at ON revocations (expires_at);

-- revocations_version changes when a revocation is recorded or extended, so
-- that replicas holding the list reload it. Row triggers: a repeated
-- revocation that changes nothing bumps nothing. Expired rows leave
-- unannounced: readers drop them by their expiry already.
INSERT INTO meta (name, value) VALUES ('revocations_version', 0);

-- +goose StatementBegin
CREATE FUNCTION bump_revocations_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE meta SET value = value + 1 WHERE name = 'revocations_version';
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER revocations_changed AFTER INSERT OR UPDATE ON revocations
    FOR EACH ROW EXECUTE FUNCTION bump_revocations_version();

-- +goose Down
DROP TRIGGER revocations_changed ON revocations;
DROP FUNCTION bump_revocations_version();
DELETE FROM meta WHERE name = 'revocations_version';
DROP TABLE revocations;
DROP TABLE consents;
DROP TABLE sessions;
DROP TABLE refresh_tokens;
DROP TABLE auth_codes;
DROP TABLE clients;
