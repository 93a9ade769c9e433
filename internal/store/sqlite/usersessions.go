package sqlite

import (
	"context"
	"fmt"

	"github.com/inkan-dev/inkan/internal/store"
)

// ListSessions returns the user's sessions, oldest first.
func (s *Store) ListSessions(ctx context.Context, userID string) ([]store.Session, error) {
	rows, err := s.read.QueryContext(ctx,
		"SELECT hash, id, user_id, auth_time, created_at, expires_at FROM sessions WHERE user_id = ? ORDER BY created_at, id", userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []store.Session
	for rows.Next() {
		var se store.Session
		var authTime, created, expires int64
		if err := rows.Scan(&se.Hash, &se.ID, &se.UserID, &authTime, &created, &expires); err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		se.AuthTime, se.CreatedAt, se.ExpiresAt = fromDB(authTime), fromDB(created), fromDB(expires)
		out = append(out, se)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}
