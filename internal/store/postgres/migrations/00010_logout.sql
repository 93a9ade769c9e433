-- +goose Up
-- Logout that works from a back channel (OpenID Connect RP-Initiated and
-- Back-Channel Logout 1.0).
--
-- A session gets a public id, the sid of ID tokens and logout tokens:
-- random, and unrelated to the cookie whose hash is the key. Codes and
-- refresh tokens name their session by it from now on, so that a logout
-- by sid finds them even after the session row has expired.
ALTER TABLE sessions ADD COLUMN id TEXT;
UPDATE sessions SET id = replace(gen_random_uuid()::text, '-', '');
ALTER TABLE sessions ALTER COLUMN id SET NOT NULL;
ALTER TABLE sessions ADD CONSTRAINT sessions_id_key UNIQUE (id);
UPDATE auth_codes SET session_id = COALESCE((SELECT id FROM sessions WHERE sessions.hash = auth_codes.session_id), '')
    WHERE session_id <> '';
UPDATE refresh_tokens SET session_id = COALESCE((SELECT id FROM sessions WHERE sessions.hash = refresh_tokens.session_id), '')
    WHERE session_id <> '';
CREATE INDEX auth_codes_session_id ON auth_codes (session_id);
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);

-- The clients a session issued codes to: they are sent a logout token when
-- it ends. The rows go with the session or the client.
CREATE TABLE session_clients (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    PRIMARY KEY (session_id, client_id)
);
CREATE INDEX session_clients_client_id ON session_clients (client_id);
INSERT INTO session_clients (session_id, client_id)
    SELECT session_id, client_id FROM auth_codes WHERE session_id <> ''
    UNION SELECT session_id, client_id FROM refresh_tokens WHERE session_id <> ''
    ON CONFLICT DO NOTHING;

ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT NOT NULL DEFAULT '';

-- The outbox of logout tokens owed to clients, written in the transaction
-- that ends the session and emptied by the delivery loop.
CREATE TABLE backchannel_logouts (
    session_id TEXT NOT NULL,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    due_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (session_id, client_id)
);
CREATE INDEX backchannel_logouts_due_at ON backchannel_logouts (due_at);
CREATE INDEX backchannel_logouts_client_id ON backchannel_logouts (client_id);

-- +goose Down
DROP TABLE backchannel_logouts;
ALTER TABLE clients DROP COLUMN backchannel_logout_uri;
DROP TABLE session_clients;
DROP INDEX refresh_tokens_session_id;
DROP INDEX auth_codes_session_id;
UPDATE refresh_tokens SET session_id = COALESCE((SELECT hash FROM sessions WHERE sessions.id = refresh_tokens.session_id), '')
    WHERE session_id <> '';
UPDATE auth_codes SET session_id = COALESCE((SELECT hash FROM sessions WHERE sessions.id = auth_codes.session_id), '')
    WHERE session_id <> '';
ALTER TABLE sessions DROP COLUMN id;
