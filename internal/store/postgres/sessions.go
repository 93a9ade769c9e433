package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inkan-dev/inkan/internal/store"
)

const sessionColumns = "hash, id, user_id, auth_time, created_at, expires_at, user_agent, address, amr"

func scanSession(row pgx.Row) (store.Session, error) {
	var se store.Session
	var amr string
	if err := row.Scan(&se.Hash, &se.ID, &se.UserID, &se.AuthTime, &se.CreatedAt, &se.ExpiresAt, &se.UserAgent, &se.Address, &amr); err != nil {
		return store.Session{}, err
	}
	se.AMR = fromAMR(amr)
	se.AuthTime, se.CreatedAt, se.ExpiresAt = utc(se.AuthTime), utc(se.CreatedAt), utc(se.ExpiresAt)
	return se, nil
}

// ListSessions returns the user's sessions, oldest first.
func (s *Store) ListSessions(ctx context.Context, userID string) ([]store.Session, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE user_id = $1 ORDER BY created_at, id", userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Session, error) { return scanSession(r) })
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return list, nil
}

// SessionFamilies returns the families of the user's codes and refresh
// tokens issued under the session.
func (s *Store) SessionFamilies(ctx context.Context, id, userID string) ([]string, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT family FROM (
		     SELECT family FROM refresh_tokens WHERE session_id = $1 AND user_id = $2 AND family <> ''
		     UNION SELECT family FROM auth_codes WHERE session_id = $1 AND user_id = $2 AND family <> ''
		 ) f ORDER BY family COLLATE "C"`, id, userID)
	if err != nil {
		return nil, fmt.Errorf("session families: %w", err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("session families: %w", err)
	}
	if list == nil {
		list = []string{}
	}
	return list, nil
}

// EndUserSessions queues the back-channel logouts of every session of the
// user and deletes their refresh tokens, sessions and codes, in one
// transaction. The user's session rows are locked first, as EndSession
// locks its one, so that a code issued under one of them at the same time
// either commits before (and is deleted, its client notified) or finds the
// session gone.
func (s *Store) EndUserSessions(ctx context.Context, userID string, now time.Time) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT 1 FROM sessions WHERE user_id = $1 FOR UPDATE", userID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx,
			`INSERT INTO backchannel_logouts (session_id, client_id, user_id, attempts, created_at, due_at)
			 SELECT g.session_id, g.client_id, $1, 0, $2, $2 FROM (
			     SELECT sc.session_id, sc.client_id FROM session_clients sc JOIN sessions se ON se.id = sc.session_id WHERE se.user_id = $1
			     UNION SELECT session_id, client_id FROM refresh_tokens WHERE user_id = $1 AND session_id <> ''
			 ) g JOIN clients c ON c.id = g.client_id WHERE c.backchannel_logout_uri <> ''
			 ON CONFLICT DO NOTHING`,
			userID, utc(now)); err != nil {
			return err
		}
		for _, table := range []string{"refresh_tokens", "sessions", "auth_codes"} {
			if _, err := tx.Exec(ctx, "DELETE FROM "+table+" WHERE user_id = $1", userID); err != nil {
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
