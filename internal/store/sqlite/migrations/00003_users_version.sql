-- +goose Up
-- users_version changes when a user is updated or deleted (disabled,
-- password changed, removed), so that processes caching users notice.
INSERT INTO meta (name, value) VALUES ('users_version', 0);

-- +goose StatementBegin
CREATE TRIGGER users_update AFTER UPDATE ON users BEGIN
    UPDATE meta SET value = value + 1 WHERE name = 'users_version';
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER users_delete AFTER DELETE ON users BEGIN
    UPDATE meta SET value = value + 1 WHERE name = 'users_version';
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER users_delete;
DROP TRIGGER users_update;
DELETE FROM meta WHERE name = 'users_version';
