package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

// ReportServing upserts each setting in one statement: the stored value
// gives way to a value at least as large, or to any value once it is stale.
// The conflicting row is locked for the update, so concurrent reports from
// several replicas settle on the largest.
func (s *Store) ReportServing(ctx context.Context, set store.ServingSettings, now, staleBefore time.Time) error {
	for _, v := range []struct {
		name  string
		value time.Duration
	}{{store.SettingJWKSMaxAge, set.JWKSMaxAge}, {store.SettingTokenTTL, set.TokenTTL}} {
		_, err := s.pool.Exec(ctx, `INSERT INTO serving_settings (name, value, reported_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value, reported_at = excluded.reported_at
			WHERE excluded.value >= serving_settings.value OR serving_settings.reported_at < $4`,
			v.name, int64(v.value), utc(now), utc(staleBefore))
		if err != nil {
			return fmt.Errorf("report serving setting %s: %w", v.name, err)
		}
	}
	return nil
}

// GetServing returns the stored serving settings.
func (s *Store) GetServing(ctx context.Context) (store.ServingSettings, error) {
	rows, err := s.pool.Query(ctx, "SELECT name, value FROM serving_settings")
	if err != nil {
		return store.ServingSettings{}, fmt.Errorf("get serving settings: %w", err)
	}
	defer rows.Close()
	values := map[string]int64{}
	for rows.Next() {
		var name string
		var v int64
		if err := rows.Scan(&name, &v); err != nil {
			return store.ServingSettings{}, fmt.Errorf("get serving settings: %w", err)
		}
		values[name] = v
	}
	if err := rows.Err(); err != nil {
		return store.ServingSettings{}, fmt.Errorf("get serving settings: %w", err)
	}
	maxAge, ok1 := values[store.SettingJWKSMaxAge]
	ttl, ok2 := values[store.SettingTokenTTL]
	if !ok1 || !ok2 {
		return store.ServingSettings{}, fmt.Errorf("get serving settings: no server has reported them: %w", store.ErrNotFound)
	}
	return store.ServingSettings{JWKSMaxAge: time.Duration(maxAge), TokenTTL: time.Duration(ttl)}, nil
}
