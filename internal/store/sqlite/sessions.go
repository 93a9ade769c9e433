package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

const sessionColumns = "hash, id, user_id, auth_time, created_at, expires_at, user_agent, address, amr"

func scanSession(row scanner) (store.Session, error) {
	var se store.Session
	var authTime, created, expires int64
	var amr string
	if err := row.Scan(&se.Hash, &se.ID, &se.UserID, &authTime, &created, &expires, &se.UserAgent, &se.Address, &amr); err != nil {
		return store.Session{}, err
	}
	se.AMR = fromAMR(amr)
	se.AuthTime, se.CreatedAt, se.ExpiresAt = fromDB(authTime), fromDB(created), fromDB(expires)
	return se, nil
}

// ListSessions returns the user's sessions, oldest first.
func (s *Store) ListSessions(ctx context.Context, userID string) ([]store.Session, error) {
	rows, err := s.read.QueryContext(ctx,
		"SELECT "+sessionColumns+" FROM sessions WHERE user_id = ? ORDER BY created_at, id", userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []store.Session
	for rows.Next() {
		se, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		out = append(out, se)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}

// SessionFamilies returns the families of the user's codes and refresh
// tokens issued under the session.
func (s *Store) SessionFamilies(ctx context.Context, id, userID string) ([]string, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT family FROM refresh_tokens WHERE session_id = ? AND user_id = ? AND family <> ''
		 UNION SELECT family FROM auth_codes WHERE session_id = ? AND user_id = ? AND family <> ''
		 ORDER BY family`, id, userID, id, userID)
	if err != nil {
		return nil, fmt.Errorf("session families: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			return nil, fmt.Errorf("session families: %w", err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("session families: %w", err)
	}
	return out, nil
}

// EndUserSessions queues the back-channel logouts of every session of the
// user and deletes their refresh tokens, sessions and codes, in one write
// transaction.
func (s *Store) EndUserSessions(ctx context.Context, userID string, now time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO backchannel_logouts (session_id, client_id, user_id, attempts, created_at, due_at)
			 SELECT g.session_id, g.client_id, ?, 0, ?, ? FROM (
			     SELECT sc.session_id, sc.client_id FROM session_clients sc JOIN sessions se ON se.id = sc.session_id WHERE se.user_id = ?
			     UNION SELECT session_id, client_id FROM refresh_tokens WHERE user_id = ? AND session_id <> ''
			 ) g JOIN clients c ON c.id = g.client_id WHERE c.backchannel_logout_uri <> ''
			 ON CONFLICT DO NOTHING`,
			userID, toDB(now), toDB(now), userID, userID); err != nil {
			return err
		}
		for _, table := range []string{"refresh_tokens", "sessions", "auth_codes"} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE user_id = ?", userID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("end user sessions: %w", err)
	}
	return nil
}
