-- +goose Up
-- OpenID Connect's email_verified: false unless the CLI or an import says so.
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE users DROP COLUMN email_verified;
