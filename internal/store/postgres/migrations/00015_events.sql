-- +goose Up
-- The audit trail (store.EventStore): security events, appended and never
-- updated, deleted only past their retention (--events-retention) by the
-- janitor. No foreign keys: an event outlives the user or client it names.
CREATE TABLE events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL,
    type       TEXT NOT NULL,
    user_id    TEXT NOT NULL DEFAULT '',
    client_id  TEXT NOT NULL DEFAULT '',
    address    TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    request_id TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '{}' -- a JSON object of strings
);
CREATE INDEX events_at ON events (at);
CREATE INDEX events_user_id ON events (user_id, at);
CREATE INDEX events_type ON events (type, at);

-- Append-only: a row, once written, is never changed.
-- +goose StatementBegin
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER events_append_only BEFORE UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();

-- +goose Down
DROP TRIGGER events_append_only ON events;
DROP FUNCTION events_append_only();
DROP TABLE events;
