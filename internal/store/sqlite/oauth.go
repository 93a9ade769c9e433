package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/inkan-dev/inkan/internal/store"
)

// isForeignKey reports whether err is a FOREIGN KEY violation: the client or
// user a row names does not exist.
func isForeignKey(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
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

// Lists are stored as JSON arrays; an empty one reads back as nil.
func toJSON(xs []string) string {
	if len(xs) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(xs) // cannot fail on strings
	return string(b)
}

func fromJSON(s string, xs *[]string) error {
	*xs = nil
	if err := json.Unmarshal([]byte(s), xs); err != nil {
		return err
	}
	if len(*xs) == 0 {
		*xs = nil
	}
	return nil
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
func toNullDB(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: toDB(t), Valid: true}
}

func fromNullDB(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromDB(n.Int64)
}

// Clients.

const clientColumns = "id, name, secret_hash, public, redirect_uris, post_logout_redirect_uris, grants, scopes, audience, trusted, backchannel_logout_uri, created_at, updated_at, require_mfa"

func scanClient(row scanner) (store.Client, error) {
	var c store.Client
	var redirects, logouts, grants, scopes, audience string
	var created, updated int64
	if err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &c.Public, &redirects, &logouts, &grants, &scopes, &audience,
		&c.Trusted, &c.BackchannelLogoutURI, &created, &updated, &c.RequireMFA); err != nil {
		return store.Client{}, err
	}
	if len(c.SecretHash) == 0 {
		c.SecretHash = nil
	}
	for _, l := range []struct {
		s  string
		xs *[]string
	}{{redirects, &c.RedirectURIs}, {logouts, &c.PostLogoutRedirectURIs}, {grants, &c.Grants}, {scopes, &c.Scopes}, {audience, &c.Audience}} {
		if err := fromJSON(l.s, l.xs); err != nil {
			return store.Client{}, err
		}
	}
	c.CreatedAt, c.UpdatedAt = fromDB(created), fromDB(updated)
	return c, nil
}

func clientArgs(c store.Client) []any {
	return []any{c.ID, c.Name, append([]byte{}, c.SecretHash...), c.Public, toJSON(c.RedirectURIs), toJSON(c.PostLogoutRedirectURIs),
		toJSON(c.Grants), toJSON(c.Scopes), toJSON(c.Audience), c.Trusted, c.BackchannelLogoutURI, toDB(c.CreatedAt), toDB(c.UpdatedAt), c.RequireMFA}
}

// CreateClient inserts c; a taken id is store.ErrConflict.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	_, err := s.write.ExecContext(ctx, "INSERT INTO clients ("+clientColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", clientArgs(c)...)
	return insertError("create client", err)
}

func getClient(ctx context.Context, q queryer, id string) (store.Client, error) {
	c, err := scanClient(q.QueryRowContext(ctx, "SELECT "+clientColumns+" FROM clients WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Client{}, fmt.Errorf("get client %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Client{}, fmt.Errorf("get client %q: %w", id, err)
	}
	return c, nil
}

// GetClient returns the client with the given id.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	return getClient(ctx, s.read, id)
}

// ListClients returns every client, oldest first.
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT "+clientColumns+" FROM clients ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	defer rows.Close()
	var clients []store.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, fmt.Errorf("list clients: %w", err)
		}
		clients = append(clients, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return clients, nil
}

// UpdateClient replaces the client with update(old) in one write transaction.
func (s *Store) UpdateClient(ctx context.Context, id string, update func(store.Client) (store.Client, error)) (store.Client, error) {
	var nc store.Client
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := getClient(ctx, tx, id)
		if err != nil {
			return err
		}
		if nc, err = update(old); err != nil {
			return err
		}
		nc.ID = old.ID
		a := clientArgs(nc)
		_, err = tx.ExecContext(ctx,
			`UPDATE clients SET name = ?, secret_hash = ?, public = ?, redirect_uris = ?, post_logout_redirect_uris = ?,
			 grants = ?, scopes = ?, audience = ?, trusted = ?, backchannel_logout_uri = ?, created_at = ?, updated_at = ?, require_mfa = ? WHERE id = ?`,
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

func scanAuthCode(row scanner) (store.AuthCode, error) {
	var c store.AuthCode
	var authTime, created, expires int64
	var redeemed sql.NullInt64
	var amr string
	if err := row.Scan(&c.Hash, &c.ClientID, &c.UserID, &c.RedirectURI, &c.Scope, &c.Nonce, &c.CodeChallenge, &c.SessionID, &c.Family,
		&authTime, &created, &expires, &redeemed, &amr); err != nil {
		return store.AuthCode{}, err
	}
	c.AMR = fromAMR(amr)
	c.AuthTime, c.CreatedAt, c.ExpiresAt, c.RedeemedAt = fromDB(authTime), fromDB(created), fromDB(expires), fromNullDB(redeemed)
	return c, nil
}

// CreateAuthCode inserts c, and remembers its client under its session, in
// one write transaction; a taken hash is store.ErrConflict, and a missing
// client, user or session store.ErrNotFound.
func (s *Store) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO auth_codes ("+authCodeColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			c.Hash, c.ClientID, c.UserID, c.RedirectURI, c.Scope, c.Nonce, c.CodeChallenge, c.SessionID, c.Family,
			toDB(c.AuthTime), toDB(c.CreatedAt), toDB(c.ExpiresAt), toNullDB(c.RedeemedAt), toAMR(c.AMR))
		if err != nil || c.SessionID == "" {
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO session_clients (session_id, client_id) VALUES (?, ?) ON CONFLICT DO NOTHING", c.SessionID, c.ClientID)
		return err
	})
	return insertError("create auth code", err)
}

// GetAuthCode returns a code as stored.
func (s *Store) GetAuthCode(ctx context.Context, hash string) (store.AuthCode, error) {
	c, err := scanAuthCode(s.read.QueryRowContext(ctx, "SELECT "+authCodeColumns+" FROM auth_codes WHERE hash = ?", hash))
	if errors.Is(err, sql.ErrNoRows) {
		return store.AuthCode{}, fmt.Errorf("get auth code: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.AuthCode{}, fmt.Errorf("get auth code: %w", err)
	}
	return c, nil
}

// RedeemAuthCode marks the code redeemed in one write transaction: of
// parallel redemptions, from any process, exactly one finds it unredeemed.
func (s *Store) RedeemAuthCode(ctx context.Context, hash string, now time.Time) (store.AuthCode, error) {
	var c store.AuthCode
	var replay bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE auth_codes SET redeemed_at = ? WHERE hash = ? AND redeemed_at IS NULL", toDB(now), hash)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		replay = n == 0
		c, err = scanAuthCode(tx.QueryRowContext(ctx, "SELECT "+authCodeColumns+" FROM auth_codes WHERE hash = ?", hash))
		return err
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.AuthCode{}, fmt.Errorf("redeem auth code: %w", store.ErrNotFound)
	case err != nil:
		return store.AuthCode{}, fmt.Errorf("redeem auth code: %w", err)
	case replay:
		return c, fmt.Errorf("redeem auth code: redeemed before: %w", store.ErrConflict)
	}
	return c, nil
}

// Refresh tokens.

const refreshTokenColumns = "hash, family, client_id, user_id, scope, session_id, auth_time, created_at, expires_at, used_at, amr"

func scanRefreshToken(row scanner) (store.RefreshToken, error) {
	var t store.RefreshToken
	var authTime, created, expires int64
	var used sql.NullInt64
	var amr string
	if err := row.Scan(&t.Hash, &t.Family, &t.ClientID, &t.UserID, &t.Scope, &t.SessionID, &authTime, &created, &expires, &used, &amr); err != nil {
		return store.RefreshToken{}, err
	}
	t.AMR = fromAMR(amr)
	t.AuthTime, t.CreatedAt, t.ExpiresAt, t.UsedAt = fromDB(authTime), fromDB(created), fromDB(expires), fromNullDB(used)
	return t, nil
}

// CreateRefreshToken inserts t; a taken hash is store.ErrConflict, and a
// missing client or user store.ErrNotFound.
func (s *Store) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	_, err := s.write.ExecContext(ctx, "INSERT INTO refresh_tokens ("+refreshTokenColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		t.Hash, t.Family, t.ClientID, t.UserID, t.Scope, t.SessionID, toDB(t.AuthTime), toDB(t.CreatedAt), toDB(t.ExpiresAt), toNullDB(t.UsedAt), toAMR(t.AMR))
	return insertError("create refresh token", err)
}

func getRefreshToken(ctx context.Context, q queryer, hash string) (store.RefreshToken, error) {
	t, err := scanRefreshToken(q.QueryRowContext(ctx, "SELECT "+refreshTokenColumns+" FROM refresh_tokens WHERE hash = ?", hash))
	if errors.Is(err, sql.ErrNoRows) {
		return store.RefreshToken{}, fmt.Errorf("get refresh token: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("get refresh token: %w", err)
	}
	return t, nil
}

// GetRefreshToken returns the refresh token with the given hash.
func (s *Store) GetRefreshToken(ctx context.Context, hash string) (store.RefreshToken, error) {
	return getRefreshToken(ctx, s.read, hash)
}

// RotateRefreshToken marks the token used (if unused) and inserts its
// successor (if absent) in one write transaction.
func (s *Store) RotateRefreshToken(ctx context.Context, hash string, now time.Time, next store.RefreshToken) (store.RefreshToken, error) {
	var t store.RefreshToken
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if t, err = getRefreshToken(ctx, tx, hash); err != nil {
			return err
		}
		if t.UsedAt.IsZero() {
			if _, err := tx.ExecContext(ctx, "UPDATE refresh_tokens SET used_at = ? WHERE hash = ?", toDB(now), hash); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO refresh_tokens ("+refreshTokenColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING",
			next.Hash, next.Family, next.ClientID, next.UserID, next.Scope, next.SessionID, toDB(next.AuthTime), toDB(next.CreatedAt), toDB(next.ExpiresAt), toNullDB(next.UsedAt), toAMR(next.AMR))
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
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"refresh_tokens", "sessions", "auth_codes"} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE user_id = ?", userID); err != nil {
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
	_, err := s.write.ExecContext(ctx, "INSERT INTO sessions ("+sessionColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		se.Hash, se.ID, se.UserID, toDB(se.AuthTime), toDB(se.CreatedAt), toDB(se.ExpiresAt), se.UserAgent, se.Address, toAMR(se.AMR))
	return insertError("create session", err)
}

// GetSession returns the session with the given hash.
func (s *Store) GetSession(ctx context.Context, hash string) (store.Session, error) {
	se, err := scanSession(s.read.QueryRowContext(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE hash = ?", hash))
	if errors.Is(err, sql.ErrNoRows) {
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
// and queues its back-channel logouts, in one write transaction.
func (s *Store) EndSession(ctx context.Context, id, userID string, now time.Time) error {
	if id == "" { // the password grant's tokens have no session
		return fmt.Errorf("end session: %w", store.ErrNotFound)
	}
	ended := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var owner string
		switch err := tx.QueryRowContext(ctx, "SELECT user_id FROM sessions WHERE id = ?", id).Scan(&owner); {
		case errors.Is(err, sql.ErrNoRows): // expired: its tokens and codes may remain
		case err != nil:
			return err
		case owner != userID:
			return nil
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO backchannel_logouts (session_id, client_id, user_id, attempts, created_at, due_at)
			 SELECT ?, id, ?, 0, ?, ? FROM clients WHERE backchannel_logout_uri <> '' AND id IN (
			     SELECT client_id FROM session_clients WHERE session_id = ?
			     UNION SELECT client_id FROM refresh_tokens WHERE session_id = ? AND user_id = ?)
			 ON CONFLICT DO NOTHING`,
			id, userID, toDB(now), toDB(now), id, id, userID); err != nil {
			return err
		}
		for _, q := range []string{
			"DELETE FROM refresh_tokens WHERE session_id = ? AND user_id = ?",
			"DELETE FROM auth_codes WHERE session_id = ? AND user_id = ? AND redeemed_at IS NULL",
			"DELETE FROM sessions WHERE id = ? AND user_id = ?",
		} {
			res, err := tx.ExecContext(ctx, q, id, userID)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n > 0 {
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

func scanBackchannelLogout(row scanner) (store.BackchannelLogout, error) {
	var b store.BackchannelLogout
	var created, due int64
	if err := row.Scan(&b.SessionID, &b.ClientID, &b.UserID, &b.Attempts, &created, &due); err != nil {
		return store.BackchannelLogout{}, err
	}
	b.CreatedAt, b.DueAt = fromDB(created), fromDB(due)
	return b, nil
}

// ListBackchannelLogouts returns up to limit queued logouts due at now.
func (s *Store) ListBackchannelLogouts(ctx context.Context, now time.Time, limit int) ([]store.BackchannelLogout, error) {
	rows, err := s.read.QueryContext(ctx,
		"SELECT "+backchannelColumns+" FROM backchannel_logouts WHERE due_at <= ? ORDER BY due_at, session_id, client_id LIMIT ?", toDB(now), limit)
	if err != nil {
		return nil, fmt.Errorf("list backchannel logouts: %w", err)
	}
	defer rows.Close()
	var list []store.BackchannelLogout
	for rows.Next() {
		b, err := scanBackchannelLogout(rows)
		if err != nil {
			return nil, fmt.Errorf("list backchannel logouts: %w", err)
		}
		list = append(list, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list backchannel logouts: %w", err)
	}
	return list, nil
}

// UpdateBackchannelLogout replaces the queued logout with update(old) in
// one write transaction.
func (s *Store) UpdateBackchannelLogout(ctx context.Context, sessionID, clientID string, update func(store.BackchannelLogout) (store.BackchannelLogout, error)) (store.BackchannelLogout, error) {
	var nb store.BackchannelLogout
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := scanBackchannelLogout(tx.QueryRowContext(ctx,
			"SELECT "+backchannelColumns+" FROM backchannel_logouts WHERE session_id = ? AND client_id = ?", sessionID, clientID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("update backchannel logout: %w", store.ErrNotFound)
		} else if err != nil {
			return fmt.Errorf("update backchannel logout: %w", err)
		}
		if nb, err = update(old); err != nil {
			return err
		}
		nb.SessionID, nb.ClientID = old.SessionID, old.ClientID
		_, err = tx.ExecContext(ctx,
			"UPDATE backchannel_logouts SET user_id = ?, attempts = ?, created_at = ?, due_at = ? WHERE session_id = ? AND client_id = ?",
			nb.UserID, nb.Attempts, toDB(nb.CreatedAt), toDB(nb.DueAt), sessionID, clientID)
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
	res, err := s.write.ExecContext(ctx, "DELETE FROM backchannel_logouts WHERE session_id = ? AND client_id = ?", sessionID, clientID)
	if err != nil {
		return fmt.Errorf("delete backchannel logout: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete backchannel logout: %w", err)
	} else if n == 0 {
		return fmt.Errorf("delete backchannel logout: %w", store.ErrNotFound)
	}
	return nil
}

// Consents.

// GetConsent returns the user's consent to the client.
func (s *Store) GetConsent(ctx context.Context, userID, clientID string) (store.Consent, error) {
	c := store.Consent{UserID: userID, ClientID: clientID}
	var scopes string
	var created int64
	err := s.read.QueryRowContext(ctx, "SELECT scopes, created_at FROM consents WHERE user_id = ? AND client_id = ?", userID, clientID).
		Scan(&scopes, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Consent{}, fmt.Errorf("get consent: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Consent{}, fmt.Errorf("get consent: %w", err)
	}
	if err := fromJSON(scopes, &c.Scopes); err != nil {
		return store.Consent{}, fmt.Errorf("get consent: %w", err)
	}
	c.CreatedAt = fromDB(created)
	return c, nil
}

// PutConsent inserts or replaces the consent; a missing client or user is
// store.ErrNotFound.
func (s *Store) PutConsent(ctx context.Context, c store.Consent) error {
	_, err := s.write.ExecContext(ctx,
		`INSERT INTO consents (user_id, client_id, scopes, created_at) VALUES (?, ?, ?, ?)
		 ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, created_at = excluded.created_at`,
		c.UserID, c.ClientID, toJSON(c.Scopes), toDB(c.CreatedAt))
	return insertError("put consent", err)
}

// ListConsents returns every consent, oldest first.
func (s *Store) ListConsents(ctx context.Context) ([]store.Consent, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT user_id, client_id, scopes, created_at FROM consents ORDER BY created_at, user_id, client_id")
	if err != nil {
		return nil, fmt.Errorf("list consents: %w", err)
	}
	defer rows.Close()
	var list []store.Consent
	for rows.Next() {
		var c store.Consent
		var scopes string
		var created int64
		if err := rows.Scan(&c.UserID, &c.ClientID, &scopes, &created); err != nil {
			return nil, fmt.Errorf("list consents: %w", err)
		}
		if err := fromJSON(scopes, &c.Scopes); err != nil {
			return nil, fmt.Errorf("list consents: %w", err)
		}
		c.CreatedAt = fromDB(created)
		list = append(list, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list consents: %w", err)
	}
	return list, nil
}

// Revocations.

// Revoke records r. Recording it again keeps the later expiry; a trigger
// bumps revocations_version only when the row is new or extended.
func (s *Store) Revoke(ctx context.Context, r store.Revocation) error {
	_, err := s.write.ExecContext(ctx,
		`INSERT INTO revocations (kind, value, expires_at) VALUES (?, ?, ?)
		 ON CONFLICT (kind, value) DO UPDATE SET expires_at = excluded.expires_at WHERE excluded.expires_at > revocations.expires_at`,
		r.Kind, r.Value, toDB(r.ExpiresAt))
	if err != nil {
		return fmt.Errorf("revoke %s: %w", r.Kind, err)
	}
	return nil
}

// ListRevocations returns the revocations that expire after now.
func (s *Store) ListRevocations(ctx context.Context, now time.Time) ([]store.Revocation, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT kind, value, expires_at FROM revocations WHERE expires_at > ? ORDER BY kind, value", toDB(now))
	if err != nil {
		return nil, fmt.Errorf("list revocations: %w", err)
	}
	defer rows.Close()
	var list []store.Revocation
	for rows.Next() {
		var r store.Revocation
		var expires int64
		if err := rows.Scan(&r.Kind, &r.Value, &expires); err != nil {
			return nil, fmt.Errorf("list revocations: %w", err)
		}
		r.ExpiresAt = fromDB(expires)
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list revocations: %w", err)
	}
	return list, nil
}

// RevocationsVersion returns the counter that triggers bump whenever a
// revocation is recorded or extended, whichever process did it.
func (s *Store) RevocationsVersion(ctx context.Context) (int64, error) {
	return s.version(ctx, "revocations_version")
}

// DeleteExpiredGrants deletes up to limit expired rows from each of the
// codes, refresh tokens, sessions and revocations.
func (s *Store) DeleteExpiredGrants(ctx context.Context, now time.Time, limit int) (int, error) {
	total := 0
	for _, table := range []string{"auth_codes", "refresh_tokens", "sessions", "revocations"} {
		res, err := s.write.ExecContext(ctx,
			"DELETE FROM "+table+" WHERE rowid IN (SELECT rowid FROM "+table+" WHERE expires_at <= ? LIMIT ?)", toDB(now), limit)
		if err != nil {
			return total, fmt.Errorf("delete expired %s: %w", table, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("delete expired %s: %w", table, err)
		}
		total += int(n)
	}
	return total, nil
}
