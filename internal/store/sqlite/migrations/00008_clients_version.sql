-- +goose Up
-- clients_version changes when a client is updated or deleted (secret
-- rotated, removed), so that processes caching clients notice.
INSERT INTO meta (name, value) VALUES ('clients_version', 0);

-- +goose StatementBegin
CREATE TRIGGER clients_update AFTER UPDATE ON clients BEGIN
    UPDATE meta SET value = value + 1 WHERE name = 'clients_version';
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER clients_delete AFTER DELETE ON clients BEGIN
    UPDATE meta SET value = value + 1 WHERE name = 'clients_version';
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER clients_delete;
DROP TRIGGER clients_update;
DELETE FROM meta WHERE name = 'clients_version';
