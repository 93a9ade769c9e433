-- +goose Up
-- users_version changes when a user is updated or deleted (disabled,
-- password changed, removed), so that replicas caching users notice.
INSERT INTO meta (name, value) VALUES ('users_version', 0);

-- +goose StatementBegin
CREATE FUNCTION bump_users_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE meta SET value = value + 1 WHERE name = 'users_version';
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER users_changed AFTER UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION bump_users_version();

-- +goose Down
DROP TRIGGER users_changed ON users;
DROP FUNCTION bump_users_version();
DELETE FROM meta WHERE name = 'users_version';
