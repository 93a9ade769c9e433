-- +goose Up
-- The instant before which the user's tokens, codes and refresh tokens are
-- refused (a password change, a disable); NULL means none.
ALTER TABLE users ADD COLUMN tokens_valid_after TIMESTAMPTZ;

-- +goose Down
ALTER TABLE users DROP COLUMN tokens_valid_after;
