-- +goose Up
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT false,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    alg          TEXT NOT NULL,
    private_key  BYTEA NOT NULL, -- PKCS#8 DER
    created_at   TIMESTAMPTZ NOT NULL,
    activated_at TIMESTAMPTZ NOT NULL
);

-- meta holds counters that replicas poll to notice changes.
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO meta (name, value) VALUES ('keys_version', 0);

-- +goose StatementBegin
CREATE FUNCTION bump_keys_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE meta SET value = value + 1 WHERE name = 'keys_version';
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER signing_keys_changed AFTER INSERT OR UPDATE OR DELETE ON signing_keys
    FOR EACH STATEMENT EXECUTE FUNCTION bump_keys_version();

-- +goose Down
DROP TRIGGER signing_keys_changed ON signing_keys;
DROP FUNCTION bump_keys_version();
DROP TABLE meta;
DROP TABLE signing_keys;
DROP TABLE users;
