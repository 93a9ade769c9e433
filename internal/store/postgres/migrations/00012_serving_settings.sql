-- +goose Up
-- The settings of the running servers that the signing keys' schedule
-- depends on (store.ServingSettings), so that keys added by the CLI follow
-- the servers' --jwks-max-age and --token-ttl. value is a duration in
-- nanoseconds; reported_at is when a server last reported it.
CREATE TABLE serving_settings (
    name        TEXT PRIMARY KEY,
    value       BIGINT NOT NULL,
    reported_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE serving_settings;
