-- +goose Up
-- Attempt counters for brute-force throttling (store.ThrottleStore).
CREATE TABLE throttles (
    key           TEXT PRIMARY KEY,
    count         INTEGER NOT NULL,
    blocked_until INTEGER NOT NULL, -- Unix microseconds, UTC
    expires_at    INTEGER NOT NULL
);
CREATE INDEX throttles_expires_at ON throttles (expires_at);

-- +goose Down
DROP TABLE throttles;
