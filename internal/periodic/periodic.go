// Package periodic runs a background job at a fixed interval until its
// context ends, logging its errors: the loop behind key reloads, user-cache
// refreshes, rotation checks and the janitor.
package periodic

import (
	"context"
	"log/slog"
	"time"
)

// Run calls job every interval until ctx ends. A failure is logged at
// Error with msg once, not at every interval: again only when the error
// (its text) changes, and at Info as msg + ": recovered" when the job next
// succeeds. So a lasting fault (a database away, a master key that no
// longer opens the keys) makes one record per change, not four a second.
// An error that came from ctx ending is not logged.
func Run(ctx context.Context, interval time.Duration, logger *slog.Logger, msg string, job func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var (
		last     string // the failure logged last; "" while the job succeeds
		failures int    // runs that failed since the last success
		since    time.Time
	)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			err := job(ctx)
			switch {
			case ctx.Err() != nil:
				return
			case err == nil && failures > 0:
				logger.InfoContext(ctx, msg+": recovered", "failures", failures, "failing_for", time.Since(since).Round(time.Millisecond))
				last, failures = "", 0
			case err != nil:
				if failures == 0 {
					since = time.Now()
				}
				failures++
				if err.Error() != last {
					logger.ErrorContext(ctx, msg, "err", err)
					last = err.Error()
				}
			}
		}
	}
}
