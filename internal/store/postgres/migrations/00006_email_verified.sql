-- +goose Up
-- OpenID Connect's email_verified: false unless the CLI or an import says so.
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE users DROP COLUMN email_verified;
