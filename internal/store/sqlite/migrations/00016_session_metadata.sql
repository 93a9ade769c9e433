-- +goose Up
-- What the user sees of each of their sessions (GET /user/sessions, the
-- account page): the browser's User-Agent and the client's address at
-- sign-in. Sessions from before have neither.
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN address TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE sessions DROP COLUMN address;
ALTER TABLE sessions DROP COLUMN user_agent;
