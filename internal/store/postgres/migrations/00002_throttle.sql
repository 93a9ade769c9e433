-- +goose Up
-- Attempt counters for brute-force throttling (store.ThrottleStore).
CREATE TABLE throttles (
    key           TEXT PRIMARY KEY,
    count         INTEGER NOT NULL,
    blocked_until TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX throttles_expires_at ON throttles (expires_at);

-- +goose Down
DROP TABLE throttles;
