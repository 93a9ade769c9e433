-- +goose Up
-- clients_version changes when a client is updated or deleted (secret
-- rotated, removed), so that replicas caching clients notice.
INSERT INTO meta (name, value) VALUES ('clients_version', 0);

-- +goose StatementBegin
CREATE FUNCTION bump_clients_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE meta SET value = value + 1 WHERE name = 'clients_version';
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER clients_changed AFTER UPDATE OR DELETE ON clients
    FOR EACH STATEMENT EXECUTE FUNCTION bump_clients_version();

-- +goose Down
DROP TRIGGER clients_changed ON clients;
DROP FUNCTION bump_clients_version();
DELETE FROM meta WHERE name = 'clients_version';
