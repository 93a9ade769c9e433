-- +goose Up
-- A revoked key (compromised) leaves the JWKS at once and its tokens are refused.
ALTER TABLE signing_keys ADD COLUMN revoked_at INTEGER;

-- +goose Down
ALTER TABLE signing_keys DROP COLUMN revoked_at;
