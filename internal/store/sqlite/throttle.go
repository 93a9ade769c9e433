package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

func getThrottle(ctx context.Context, q queryer, key string) (store.ThrottleState, error) {
	var s store.ThrottleState
	var blocked, expires int64
	err := q.QueryRowContext(ctx, "SELECT count, blocked_until, expires_at FROM throttles WHERE key = ?", key).Scan(&s.Count, &blocked, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ThrottleState{}, fmt.Errorf("get throttle: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.ThrottleState{}, fmt.Errorf("get throttle: %w", err)
	}
	s.BlockedUntil, s.ExpiresAt = fromDB(blocked), fromDB(expires)
	return s, nil
}

// Take admits one attempt on every key or none, in one write transaction:
// SQLite's single writer makes parallel callers take turns.
func (s *Store) Take(ctx context.Context, now time.Time, keys ...store.ThrottleKey) (time.Duration, error) {
	var wait time.Duration
	err := s.tx(ctx, func(tx *sql.Tx) error {
		states := make([]store.ThrottleState, len(keys))
		for i, k := range keys {
			st, err := getThrottle(ctx, tx, k.Key)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if now.Before(st.ExpiresAt) && now.Before(st.BlockedUntil) {
				wait = max(wait, st.BlockedUntil.Sub(now))
			}
			states[i] = st
		}
		if wait > 0 {
			return nil
		}
		for i, k := range keys {
			n := states[i].Next(now, k.Policy)
			_, err := tx.ExecContext(ctx,
				`INSERT INTO throttles (key, count, blocked_until, expires_at) VALUES (?, ?, ?, ?)
				 ON CONFLICT (key) DO UPDATE SET count = excluded.count, blocked_until = excluded.blocked_until, expires_at = excluded.expires_at`,
				k.Key, n.Count, toDB(n.BlockedUntil), toDB(n.ExpiresAt))
			if err != nil {
				return fmt.Errorf("take throttle: %w", err)
			}
		}
		return nil
	})
	return wait, err
}

// ResetThrottle deletes the counters.
func (s *Store) ResetThrottle(ctx context.Context, keys ...string) error {
	for _, k := range slices.Compact(slices.Sorted(slices.Values(keys))) {
		if _, err := s.write.ExecContext(ctx, "DELETE FROM throttles WHERE key = ?", k); err != nil {
			return fmt.Errorf("reset throttle: %w", err)
		}
	}
	return nil
}

// GetThrottle returns one counter.
func (s *Store) GetThrottle(ctx context.Context, key string) (store.ThrottleState, error) {
	return getThrottle(ctx, s.read, key)
}

// DeleteExpiredThrottles deletes up to limit expired counters.
func (s *Store) DeleteExpiredThrottles(ctx context.Context, now time.Time, limit int) (int, error) {
	res, err := s.write.ExecContext(ctx,
		"DELETE FROM throttles WHERE key IN (SELECT key FROM throttles WHERE expires_at <= ? LIMIT ?)", toDB(now), limit)
	if err != nil {
		return 0, fmt.Errorf("delete expired throttles: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
