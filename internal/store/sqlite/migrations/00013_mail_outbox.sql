-- +goose Up
-- The outbox of email (package mail): a request commits the rendered
-- message here and returns; the sender delivers it, on one replica at a
-- time, and deletes it once delivered. A message given up keeps its row,
-- with failed_at set and its bodies cleared.
CREATE TABLE mail_outbox (
    id         TEXT PRIMARY KEY,
    recipient  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    text_body  TEXT NOT NULL,
    html_body  TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    due_at     INTEGER NOT NULL,
    failed_at  INTEGER
);
CREATE INDEX mail_outbox_due_at ON mail_outbox (due_at) WHERE failed_at IS NULL;

-- +goose Down
DROP TABLE mail_outbox;
