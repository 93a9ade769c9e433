package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inkan-dev/inkan/internal/store"
)

func getThrottle(ctx context.Context, q querier, key string, forUpdate bool) (store.ThrottleState, error) {
	sql := "SELECT count, blocked_until, expires_at FROM throttles WHERE key = $1"
	if forUpdate {
		sql += " FOR UPDATE"
	}
	var s store.ThrottleState
	err := q.QueryRow(ctx, sql, key).Scan(&s.Count, &s.BlockedUntil, &s.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ThrottleState{}, fmt.Errorf("get throttle: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.ThrottleState{}, fmt.Errorf("get throttle: %w", err)
	}
	s.BlockedUntil, s.ExpiresAt = utc(s.BlockedUntil), utc(s.ExpiresAt)
	return s, nil
}

// Take admits one attempt on every key or none. It creates the missing rows,
// then locks them all in key order (no deadlock between replicas), so that
// parallel attempts from any replica are counted one after another.
func (s *Store) Take(ctx context.Context, now time.Time, keys ...store.ThrottleKey) (time.Duration, error) {
	keys = slices.Clone(keys)
	slices.SortFunc(keys, func(a, b store.ThrottleKey) int { return strings.Compare(a.Key, b.Key) })
	var wait time.Duration
	err := s.tx(ctx, func(tx pgx.Tx) error {
		states := make([]store.ThrottleState, len(keys))
		for i, k := range keys {
			_, err := tx.Exec(ctx,
				"INSERT INTO throttles (key, count, blocked_until, expires_at) VALUES ($1, 0, $2, $2) ON CONFLICT (key) DO NOTHING",
				k.Key, time.Unix(0, 0).UTC())
			if err != nil {
				return fmt.Errorf("take throttle: %w", err)
			}
			if states[i], err = getThrottle(ctx, tx, k.Key, true); err != nil {
				return err
			}
			st := states[i]
			if now.Before(st.ExpiresAt) && now.Before(st.BlockedUntil) {
				wait = max(wait, st.BlockedUntil.Sub(now))
			}
		}
		if wait > 0 {
			return nil
		}
		for i, k := range keys {
			n := states[i].Next(now, k.Policy)
			_, err := tx.Exec(ctx, "UPDATE throttles SET count = $1, blocked_until = $2, expires_at = $3 WHERE key = $4",
				n.Count, n.BlockedUntil, n.ExpiresAt, k.Key)
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
	if _, err := s.pool.Exec(ctx, "DELETE FROM throttles WHERE key = ANY($1)", keys); err != nil {
		return fmt.Errorf("reset throttle: %w", err)
	}
	return nil
}

// GetThrottle returns one counter.
func (s *Store) GetThrottle(ctx context.Context, key string) (store.ThrottleState, error) {
	return getThrottle(ctx, s.pool, key, false)
}

// DeleteExpiredThrottles deletes up to limit expired counters, skipping rows
// another replica holds.
func (s *Store) DeleteExpiredThrottles(ctx context.Context, now time.Time, limit int) (int, error) {
	tag, err := s.pool.Exec(ctx,
		`DELETE FROM throttles WHERE key IN (
		   SELECT key FROM throttles WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, utc(now), limit)
	if err != nil {
		return 0, fmt.Errorf("delete expired throttles: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
