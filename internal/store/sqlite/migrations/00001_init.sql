-- +goose Up
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL, -- Unix microseconds, UTC
    updated_at    INTEGER NOT NULL
);

CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    alg          TEXT NOT NULL,
    private_key  BLOB NOT NULL, -- PKCS#8 DER
    created_at   INTEGER NOT NULL,
    activated_at INTEGER NOT NULL
);

-- meta holds counters that other processes poll to notice changes.
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO meta (name, value) VALUES ('keys_version', 0);

-- +goose StatementBegin
CREATE TRIGGER signing_keys_insert AFTER INSERT ON signing_keys BEGIN
    UPDATE meta SET value = value + 1 WHERE name = 'keys_version';
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER signing_keys_update AFTER UPDATE ON signing_keys BEGIN
    UPDATE meta SET value = value + 1 WHERE name = 'keys_version';
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER signing_keys_delete AFTER DELETE ON signing_keys BEGIN
    UPDATE meta SET value = value + 1 WHERE name = 'keys_version';
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE meta;
DROP TABLE signing_keys;
DROP TABLE users;
