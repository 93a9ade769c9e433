// Package periodic runs a background job at a fixed interval until its
// context ends, logging its errors: the loop behind key reloads, user-cache
// refreshes, rotation checks and the janitor.
package periodic

import (
	"context"
	"log/slog"
	"time"
)

// Run calls job every interval until ctx ends. An error is logged at Error
// with msg, unless it came from ctx ending.
func Run(ctx context.Context, interval time.Duration, logger *slog.Logger, msg string, job func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := job(ctx); err != nil && ctx.Err() == nil {
				logger.ErrorContext(ctx, msg, "err", err)
			}
		}
	}
}
