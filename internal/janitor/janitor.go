// Package janitor deletes expired rows (throttling counters, authorization
// codes, refresh tokens, sessions, revocations, one-time tokens, second-factor
// challenges, and the audit trail's events past their retention) in small batches, on one
// replica at a time, so that no table grows without bound.
package janitor

import (
	"context"
	"log/slog"
	"time"

	"github.com/inkan-dev/inkan/internal/periodic"
	"github.com/inkan-dev/inkan/internal/store"
)

// Defaults for Janitor.
const (
	DefaultInterval  = time.Minute
	DefaultBatchSize = 500
	maxBatches       = 1000 // per sweep, so one sweep cannot run forever
)

// Janitor sweeps expired rows.
type Janitor struct {
	Store     store.Store
	Logger    *slog.Logger
	Now       func() time.Time // nil means time.Now
	BatchSize int              // rows per DELETE; 0 means DefaultBatchSize
	// EventsRetention is how long an audit event is kept
	// (--events-retention): older ones are deleted; 0 keeps them forever.
	EventsRetention time.Duration
}

// Sweep deletes every expired row, a batch at a time, unless another replica
// is sweeping; it returns how many rows it deleted.
func (j *Janitor) Sweep(ctx context.Context) (int, error) {
	now := time.Now
	if j.Now != nil {
		now = j.Now
	}
	batch := j.BatchSize
	if batch <= 0 {
		batch = DefaultBatchSize
	}
	total := 0
	_, err := j.Store.Exclusive(ctx, "janitor", func(ctx context.Context) error {
		t := now()
		sweeps := []func(context.Context, time.Time, int) (int, error){
			j.Store.DeleteExpiredThrottles, j.Store.DeleteExpiredGrants, j.Store.DeleteExpiredOneTimeTokens,
			j.Store.DeleteExpiredChallenges,
		}
		if j.EventsRetention > 0 {
			sweeps = append(sweeps, func(ctx context.Context, t time.Time, limit int) (int, error) {
				return j.Store.DeleteEventsBefore(ctx, t.Add(-j.EventsRetention), limit)
			})
		}
		for _, sweep := range sweeps {
			for range maxBatches {
				n, err := sweep(ctx, t, batch)
				total += n
				if err != nil {
					return err
				}
				if n < batch {
					break
				}
			}
		}
		return nil
	})
	return total, err
}

// Run sweeps every interval until ctx ends, logging what it did.
func (j *Janitor) Run(ctx context.Context, interval time.Duration) {
	periodic.Run(ctx, interval, j.Logger, "janitor sweep", func(ctx context.Context) error {
		n, err := j.Sweep(ctx)
		if n > 0 {
			j.Logger.DebugContext(ctx, "janitor swept expired rows", "rows", n)
		}
		return err
	})
}
