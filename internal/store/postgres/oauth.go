package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/inkan-dev/inkan/internal/store"
)

// isForeignKey reports whether err is a foreign key violation: the client or
// user a row names does not exist.
func isForeignKey(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}

// insertError maps the constraint violations of an INSERT to the store's
// sentinels: a taken key is ErrConflict, a missing client or user ErrNotFound.
func insertError(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case isUnique(err):
		return fmt.Errorf("%s: %w", what, store.ErrConflict)
	case isForeignKey(err):
		return fmt.Errorf("%s: no such client or user: %w", what, store.ErrNotFound)
	default:
		return fmt.Errorf("%s: %w", what, err)
	}
}

// Lists are TEXT[] NOT NULL: nil is written as the empty array, and the
// empty array reads back as nil.
func toArray(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

func fromArray(xs []string) []string {
	if len(xs) == 0 {
		return nil
	}
	return xs
}

// An AMR (RFC 8176 method names) is stored space-separated; an empty one
// reads back as nil.
func toAMR(amr []string) string { return strings.Join(amr, " ") }

func fromAMR(s string) []string {
	if f := strings.Fields(s); len(f) > 0 {
		return f
	}
	return nil
}

// An unset time (zero) is stored as NULL.
func toNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = utc(t)
	return &t
}

func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return utc(*t)
}

// Clients.

const clientColumns = "id, name, secret_hash, public, redirect_uris, post_logout_redirect_uris, grants, scopes, audience, trusted, backchannel_logout_uri, created_at, updated_at, require_mfa"

func scanClient(row pgx.Row) (store.Client, error) {
	var c store.Client
	if err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &c.Public, &c.RedirectURIs, &c.PostLogoutRedirectURIs, &c.Grants, &c.Scopes,
		&c.Audience, &c.Trusted, &c.BackchannelLogoutURI, &c.CreatedAt, &c.UpdatedAt, &c.RequireMFA); err != nil {
		return store.Client{}, err
	}
	if len(c.SecretHash) == 0 {
		c.SecretHash = nil
	}
	c.RedirectURIs, c.PostLogoutRedirectURIs = fromArray(c.RedirectURIs), fromArray(c.PostLogoutRedirectURIs)
	c.Grants, c.Scopes, c.Audience = fromArray(c.Grants), fromArray(c.Scopes), fromArray(c.Audience)
	c.CreatedAt, c.UpdatedAt = utc(c.CreatedAt), utc(c.UpdatedAt)
	return c, nil
}

func clientArgs(c store.Client) []any {
	return []any{c.ID, c.Name, append([]byte{}, c.SecretHash...), c.Public, toArray(c.RedirectURIs), toArray(c.PostLogoutRedirectURIs),
		toArray(c.Grants), toArray(c.Scopes), toArray(c.Audience), c.Trusted, c.BackchannelLogoutURI, utc(c.CreatedAt), utc(c.UpdatedAt), c.RequireMFA}
}

// CreateClient inserts c; a taken id is store.ErrConflict.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	_, err := s.pool.Exec(ctx, "INSERT INTO clients ("+clientColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
		clientArgs(c)...)
	return insertError("create client", err)
}

func getClient(ctx context.Context, q querier, id string, forUpdate bool) (store.Client, error) {
	sql := "SELECT " + clientColumns + " FROM clients WHERE id = $1"
	if forUpdate {
		sql += " FOR UPDATE"
	}
	c, err := scanClient(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Client{}, fmt.Errorf("get client %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Client{}, fmt.Errorf("get client %q: %w", id, err)
	}
	return c, nil
}

// GetClient returns the client with the given id.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	return getClient(ctx, s.pool, id, false)
}

// ListClients returns every client, oldest first.
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+clientColumns+" FROM clients ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	clients, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Client, error) { return scanClient(r) })
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return clients, nil
}

// UpdateClient replaces the client with update(old) under a row lock, so
// concurrent updates from any replica apply one after another.
func (s *Store) UpdateClient(ctx context.Context, id string, update func(store.Client) (store.Client, error)) (store.Client, error) {
	var nc store.Client
	err := s.tx(ctx, func(tx pgx.Tx) error {
		old, err := getClient(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if nc, err = update(old); err != nil {
			return err
		}
		nc.ID = old.ID
		nc.CreatedAt, nc.UpdatedAt = utc(nc.CreatedAt), utc(nc.UpdatedAt)
		a := clientArgs(nc)
		_, err = tx.Exec(ctx,
			`UPDATE clients SET name = $1, secret_hash = $2, public = $3, redirect_uris = $4, post_logout_redirect_uris = $5,
			 grants = $6, scopes = $7, audience = $8, trusted = $9, backchannel_logout_uri = $10, created_at = $11, updated_at = $12,
			 require_mfa = $13 WHERE id = $14`,
			append(a[1:], id)...)
		if err != nil {
			return fmt.Errorf("update client %q: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return store.Client{}, err
	}
	return nc, nil
}

// DeleteClient removes the client; its codes, refresh tokens, consents and
// queued back-channel logouts go with it (ON DELETE CASCADE). A missing one is store.ErrNotFound.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	return s.deleteRow(ctx, "clients", "id", id)
}

// Authorization codes.

const authCodeColumns = "hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge, session_id, family, auth_time, created_at, expires_at, redeemed_at, amr"

func scanAuthCode(row pgx.Row) (store.AuthCode, error) {
	var c store.AuthCode
	var redeemed *time.Time
	var amr string
	if err := row.Scan(&c.Hash, &c.ClientID, &c.UserID, &c.RedirectURI, &c.Scope, &c.Nonce, &c.CodeChallenge, &c.SessionID, &c.Family,
		&c.AuthTime, &c.CreatedAt, &c.ExpiresAt, &redeemed, &amr); err != nil {
		return store.AuthCode{}, err
	}
	c.AMR = fromAMR(amr)
	c.AuthTime, c.CreatedAt, c.ExpiresAt, c.RedeemedAt = utc(c.AuthTime), utc(c.CreatedAt), utc(c.ExpiresAt), fromNull(redeemed)
	return c, nil
}

// CreateAuthCode inserts c, and remembers its client under its session, in
// one statement; a taken hash is store.ErrConflict, and a missing client,
// user or session store.ErrNotFound.
func (s *Store) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	args := []any{c.Hash, c.ClientID, c.UserID, c.RedirectURI, c.Scope, c.Nonce, c.CodeChallenge, c.SessionID, c.Family,
		utc(c.AuthTime), utc(c.CreatedAt), utc(c.ExpiresAt), toNull(c.RedeemedAt), toAMR(c.AMR)}
	insert := "INSERT INTO auth_codes (" + authCodeColumns + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
	if c.SessionID != "" {
		insert = "WITH code AS (" + insert + " RETURNING session_id, client_id) " +
			"INSERT INTO session_clients (session_id, client_id) SELECT session_id, client_id FROM code ON CONFLICT DO NOTHING"
	}
	_, err := s.pool.Exec(ctx, insert, args...)
	return insertError("create auth code", err)
}

// GetAuthCode returns a code as stored.
func (s *Store) GetAuthCode(ctx context.Context, hash string) (store.AuthCode, error) {
	c, err := scanAuthCode(s.pool.QueryRow(ctx, "SELECT "+authCodeColumns+" FROM auth_codes WHERE hash = $1", hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.AuthCode{}, fmt.Errorf("get auth code: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.AuthCode{}, fmt.Errorf("get auth code: %w", err)
	}
	return c, nil
}

// RedeemAuthCode marks the code redeemed with one conditional UPDATE: of
// parallel redemptions, from any replica, the row lock lets exactly one
// find it unredeemed. The losers read the code as the winner left it.
func (s *Store) RedeemAuthCode(ctx context.Context, hash string, now time.Time) (store.AuthCode, error) {
	for try := 0; ; try++ {
		c, err := scanAuthCode(s.pool.QueryRow(ctx,
			"UPDATE auth_codes SET redeemed_at = $2 WHERE hash = $1 AND redeemed_at IS NULL RETURNING "+authCodeColumns, hash, utc(now)))
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return store.AuthCode{}, fmt.Errorf("redeem auth code: %w", err)
		}
		c, err = scanAuthCode(s.pool.QueryRow(ctx, "SELECT "+authCodeColumns+" FROM auth_codes WHERE hash = $1", hash))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return store.AuthCode{}, fmt.Errorf("redeem auth code: %w", store.ErrNotFound)
		case err != nil:
			return store.AuthCode{}, fmt.Errorf("redeem auth code: %w", err)
		case !c.RedeemedAt.IsZero() || try > 0:
			return c, fmt.Errorf("redeem auth code: redeemed before: %w", store.ErrConflict)
		}
		// Inserted between the two statements: try once more.
	}
}

// Refresh tokens.

const refreshTokenColumns = "hash, family, client_id, user_id, scope, session_id, auth_time, created_at, expires_at, used_at, amr"

func scanRefreshToken(row pgx.Row) (store.RefreshToken, error) {
	var t store.RefreshToken
	var used *time.Time
	var amr string
	if err := row.Scan(&t.Hash, &t.Family, &t.ClientID, &t.UserID, &t.Scope, &t.SessionID, &t.AuthTime, &t.CreatedAt, &t.ExpiresAt, &used, &amr); err != nil {
		return store.RefreshToken{}, err
	}
	t.AMR = fromAMR(amr)
	t.AuthTime, t.CreatedAt, t.ExpiresAt, t.UsedAt = utc(t.AuthTime), utc(t.CreatedAt), utc(t.ExpiresAt), fromNull(used)
	return t, nil
}

// CreateRefreshToken inserts t; a taken hash is store.ErrConflict, and a
// missing client or user store.ErrNotFound.
func (s *Store) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	_, err := s.pool.Exec(ctx, "INSERT INTO refresh_tokens ("+refreshTokenColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
		t.Hash, t.Family, t.ClientID, t.UserID, t.Scope, t.SessionID, utc(t.AuthTime), utc(t.CreatedAt), utc(t.ExpiresAt), toNull(t.UsedAt), toAMR(t.AMR))
	return insertError("create refresh token", err)
}

// GetRefreshToken returns the refresh token with the given hash.
func (s *Store) GetRefreshToken(ctx context.Context, hash string) (store.RefreshToken, error) {
	t, err := scanRefreshToken(s.pool.QueryRow(ctx, "SELECT "+refreshTokenColumns+" FROM refresh_tokens WHERE hash = $1", hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.RefreshToken{}, fmt.Errorf("get refresh token: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("get refresh token: %w", err)
	}
	return t, nil
}

// RotateRefreshToken marks the token used (if unused) under its row lock
// and inserts its successor (if absent) in one transaction.
func (s *Store) RotateRefreshToken(ctx context.Context, hash string, now time.Time, next store.RefreshToken) (store.RefreshToken, error) {
	var t store.RefreshToken
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		t, err = scanRefreshToken(tx.QueryRow(ctx, "SELECT "+refreshTokenColumns+" FROM refresh_tokens WHERE hash = $1 FOR UPDATE", hash))
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		if t.UsedAt.IsZero() {
			if _, err := tx.Exec(ctx, "UPDATE refresh_tokens SET used_at = $2 WHERE hash = $1", hash, utc(now)); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, "INSERT INTO refresh_tokens ("+refreshTokenColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (hash) DO NOTHING",
			next.Hash, next.Family, next.ClientID, next.UserID, next.Scope, next.SessionID, utc(next.AuthTime), utc(next.CreatedAt), utc(next.ExpiresAt), toNull(next.UsedAt),
			toAMR(next.AMR))
		return err
	})
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	return t, nil
}

// DeleteUserGrants deletes the user's refresh tokens, sessions and
// authorization codes in one transaction.
func (s *Store) DeleteUserGrants(ctx context.Context, userID string) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		for _, table := range []string{"refresh_tokens", "sessions", "auth_codes"} {
			if _, err := tx.Exec(ctx, "DELETE FROM "+table+" WHERE user_id = $1", userID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete user grants: %w", err)
	}
	return nil
}

// Sessions.

// CreateSession inserts a session; a taken hash or id is
// store.ErrConflict, and a missing user store.ErrNotFound.
func (s *Store) CreateSession(ctx context.Context, se store.Session) error {
	_, err := s.pool.Exec(ctx, "INSERT INTO sessions ("+sessionColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		se.Hash, se.ID, se.UserID, utc(se.AuthTime), utc(se.CreatedAt), utc(se.ExpiresAt), se.UserAgent, se.Address, toAMR(se.AMR))
	return insertError("create session", err)
}

// GetSession returns the session with the given hash.
func (s *Store) GetSession(ctx context.Context, hash string) (store.Session, error) {
	se, err := scanSession(s.pool.QueryRow(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE hash = $1", hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Session{}, fmt.Errorf("get session: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("get session: %w", err)
	}
	return se, nil
}

// DeleteSession removes the session; a missing one is store.ErrNotFound.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	return s.deleteRow(ctx, "sessions", "hash", hash)
}

// EndSession ends the session, its refresh tokens and unredeemed codes,
// and queues its back-channel logouts, in one transaction. The session row
// is locked first, so that a code issued under it at the same time either
// commits before (and is deleted) or finds the session gone.
func (s *Store) EndSession(ctx context.Context, id, userID string, now time.Time) error {
	if id == "" { // the password grant's tokens have no session
		return fmt.Errorf("end session: %w", store.ErrNotFound)
	}
	ended := false
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var owner string
		switch err := tx.QueryRow(ctx, "SELECT user_id FROM sessions WHERE id = $1 FOR UPDATE", id).Scan(&owner); {
		case errors.Is(err, pgx.ErrNoRows): // expired: its tokens and codes may remain
		case err != nil:
			return err
		case owner != userID:
			return nil
		}
		if _, err := tx.Exec(ctx,
			`INSERT INTO backchannel_logouts (session_id, client_id, user_id, attempts, created_at, due_at)
			 SELECT $1, id, $2, 0, $3, $3 FROM clients WHERE backchannel_logout_uri <> '' AND id IN (
			     SELECT client_id FROM session_clients WHERE session_id = $1
			     UNION SELECT client_id FROM refresh_tokens WHERE session_id = $1 AND user_id = $2)
			 ON CONFLICT DO NOTHING`,
			id, userID, utc(now)); err != nil {
			return err
		}
		for _, q := range []string{
			"DELETE FROM refresh_tokens WHERE session_id = $1 AND user_id = $2",
			"DELETE FROM auth_codes WHERE session_id = $1 AND user_id = $2 AND redeemed_at IS NULL",
			"DELETE FROM sessions WHERE id = $1 AND user_id = $2",
		} {
			tag, err := tx.Exec(ctx, q, id, userID)
			if err != nil {
				return err
			}
			if tag.RowsAffected() > 0 {
				ended = true
			}
		}
		return nil
	})
	switch {
	case err != nil:
		return fmt.Errorf("end session: %w", err)
	case !ended:
		return fmt.Errorf("end session: %w", store.ErrNotFound)
	}
	return nil
}

// Back-channel logouts.

const backchannelColumns = "session_id, client_id, user_id, attempts, created_at, due_at"

func scanBackchannelLogout(row pgx.Row) (store.BackchannelLogout, error) {
	var b store.BackchannelLogout
	if err := row.Scan(&b.SessionID, &b.ClientID, &b.UserID, &b.Attempts, &b.CreatedAt, &b.DueAt); err != nil {
		return store.BackchannelLogout{}, err
	}
	b.CreatedAt, b.DueAt = utc(b.CreatedAt), utc(b.DueAt)
	return b, nil
}

// ListBackchannelLogouts returns up to limit queued logouts due at now.
func (s *Store) ListBackchannelLogouts(ctx context.Context, now time.Time, limit int) ([]store.BackchannelLogout, error) {
	rows, err := s.pool.Query(ctx,
		"SELECT "+backchannelColumns+" FROM backchannel_logouts WHERE due_at <= $1 ORDER BY due_at, session_id, client_id LIMIT $2", utc(now), limit)
	if err != nil {
		return nil, fmt.Errorf("list backchannel logouts: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.BackchannelLogout, error) { return scanBackchannelLogout(r) })
	if err != nil {
		return nil, fmt.Errorf("list backchannel logouts: %w", err)
	}
	return list, nil
}

// UpdateBackchannelLogout replaces the queued logout with update(old) under
// its row lock, so that of two replicas claiming it, one waits for the other.
func (s *Store) UpdateBackchannelLogout(ctx context.Context, sessionID, clientID string, update func(store.BackchannelLogout) (store.BackchannelLogout, error)) (store.BackchannelLogout, error) {
	var nb store.BackchannelLogout
	err := s.tx(ctx, func(tx pgx.Tx) error {
		old, err := scanBackchannelLogout(tx.QueryRow(ctx,
			"SELECT "+backchannelColumns+" FROM backchannel_logouts WHERE session_id = $1 AND client_id = $2 FOR UPDATE", sessionID, clientID))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("update backchannel logout: %w", store.ErrNotFound)
		} else if err != nil {
			return fmt.Errorf("update backchannel logout: %w", err)
		}
		if nb, err = update(old); err != nil {
			return err
		}
		nb.SessionID, nb.ClientID = old.SessionID, old.ClientID
		nb.CreatedAt, nb.DueAt = utc(nb.CreatedAt), utc(nb.DueAt)
		_, err = tx.Exec(ctx,
			"UPDATE backchannel_logouts SET user_id = $3, attempts = $4, created_at = $5, due_at = $6 WHERE session_id = $1 AND client_id = $2",
			sessionID, clientID, nb.UserID, nb.Attempts, nb.CreatedAt, nb.DueAt)
		if err != nil {
			return fmt.Errorf("update backchannel logout: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.BackchannelLogout{}, err
	}
	return nb, nil
}

// DeleteBackchannelLogout removes a queued logout; a missing one is
// store.ErrNotFound.
func (s *Store) DeleteBackchannelLogout(ctx context.Context, sessionID, clientID string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM backchannel_logouts WHERE session_id = $1 AND client_id = $2", sessionID, clientID)
	if err != nil {
		return fmt.Errorf("delete backchannel logout: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete backchannel logout: %w", store.ErrNotFound)
	}
	return nil
}

// Consents.

// GetConsent returns the user's consent to the client.
func (s *Store) GetConsent(ctx context.Context, userID, clientID string) (store.Consent, error) {
	c := store.Consent{UserID: userID, ClientID: clientID}
	err := s.pool.QueryRow(ctx, "SELECT scopes, created_at FROM consents WHERE user_id = $1 AND client_id = $2", userID, clientID).
		Scan(&c.Scopes, &c.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Consent{}, fmt.Errorf("get consent: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Consent{}, fmt.Errorf("get consent: %w", err)
	}
	c.Scopes, c.CreatedAt = fromArray(c.Scopes), utc(c.CreatedAt)
	return c, nil
}

// PutConsent inserts or replaces the consent; a missing client or user is
// store.ErrNotFound.
func (s *Store) PutConsent(ctx context.Context, c store.Consent) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO consents (user_id, client_id, scopes, created_at) VALUES ($1, $2, $3, $4)
		 ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = EXCLUDED.scopes, created_at = EXCLUDED.created_at`,
		c.UserID, c.ClientID, toArray(c.Scopes), utc(c.CreatedAt))
	return insertError("put consent", err)
}

// ListConsents returns every consent, oldest first.
func (s *Store) ListConsents(ctx context.Context) ([]store.Consent, error) {
	rows, err := s.pool.Query(ctx, "SELECT user_id, client_id, scopes, created_at FROM consents ORDER BY created_at, user_id, client_id")
	if err != nil {
		return nil, fmt.Errorf("list consents: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Consent, error) {
		var c store.Consent
		err := r.Scan(&c.UserID, &c.ClientID, &c.Scopes, &c.CreatedAt)
		c.Scopes, c.CreatedAt = fromArray(c.Scopes), utc(c.CreatedAt)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("list consents: %w", err)
	}
	return list, nil
}

// Revocations.

// Revoke records r. Recording it again keeps the later expiry; a row
// trigger bumps revocations_version only when the row is new or extended.
func (s *Store) Revoke(ctx context.Context, r store.Revocation) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO revocations (kind, value, expires_at) VALUES ($1, $2, $3)
		 ON CONFLICT (kind, value) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE revocations.expires_at < EXCLUDED.expires_at`,
		r.Kind, r.Value, utc(r.ExpiresAt))
	if err != nil {
		return fmt.Errorf("revoke %s: %w", r.Kind, err)
	}
	return nil
}

// ListRevocations returns the revocations that expire after now.
func (s *Store) ListRevocations(ctx context.Context, now time.Time) ([]store.Revocation, error) {
	rows, err := s.pool.Query(ctx, "SELECT kind, value, expires_at FROM revocations WHERE expires_at > $1 ORDER BY kind, value", utc(now))
	if err != nil {
		return nil, fmt.Errorf("list revocations: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Revocation, error) {
		var rv store.Revocation
		err := r.Scan(&rv.Kind, &rv.Value, &rv.ExpiresAt)
		rv.ExpiresAt = utc(rv.ExpiresAt)
		return rv, err
	})
	if err != nil {
		return nil, fmt.Errorf("list revocations: %w", err)
	}
	return list, nil
}

// RevocationsVersion returns the counter a trigger bumps whenever a
// revocation is recorded or extended, by any replica.
func (s *Store) RevocationsVersion(ctx context.Context) (int64, error) {
	return s.version(ctx, "revocations_version")
}

// DeleteExpiredGrants deletes up to limit expired rows from each of the
// codes, refresh tokens, sessions and revocations, skipping rows another
// replica holds.
func (s *Store) DeleteExpiredGrants(ctx context.Context, now time.Time, limit int) (int, error) {
	total := 0
	for _, t := range []struct{ table, key string }{
		{"auth_codes", "hash"},
		{"refresh_tokens", "hash"},
		{"sessions", "hash"},
		{"revocations", "kind, value"},
	} {
		tag, err := s.pool.Exec(ctx,
			"DELETE FROM "+t.table+" WHERE ("+t.key+") IN (SELECT "+t.key+" FROM "+t.table+
				" WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)", utc(now), limit)
		if err != nil {
			return total, fmt.Errorf("delete expired %s: %w", t.table, err)
		}
		total += int(tag.RowsAffected())
	}
	return total, nil
}
