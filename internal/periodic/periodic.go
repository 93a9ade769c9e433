// Package periodic runs a background job at a fixed interval until its
// context ends, logging its errors: the loop behind the store watcher,
// rotation checks and the janitor.
package periodic

import (
	"context"
	"log/slog"
	"time"
)

// Run calls job every interval until ctx ends, and reports each outcome
// through a Reporter with msg.
func Run(ctx context.Context, interval time.Duration, logger *slog.Logger, msg string, job func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	r := &Reporter{Logger: logger, Msg: msg}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			err := job(ctx)
			if ctx.Err() != nil {
				return
			}
			r.Report(ctx, err)
		}
	}
}

// A Reporter logs the outcomes of a repeated job. A failure is logged at
// Error with Msg once, not at every run: again only when the error (its
// text) changes, and at Info as Msg + ": recovered" when the job next
// succeeds. So a lasting fault (a database away, a master key that no
// longer opens the keys) makes one record per change, not four a second.
// An error that came from ctx ending is not logged.
type Reporter struct {
	Logger *slog.Logger
	Msg    string

	last     string // the failure logged last; "" while the job succeeds
	failures int    // runs that failed since the last success
	since    time.Time
}

// Report records one run's outcome.
func (r *Reporter) Report(ctx context.Context, err error) {
	switch {
	case ctx.Err() != nil:
	case err == nil && r.failures > 0:
		r.Logger.InfoContext(ctx, r.Msg+": recovered", "failures", r.failures, "failing_for", time.Since(r.since).Round(time.Millisecond))
		r.last, r.failures = "", 0
	case err != nil:
		if r.failures == 0 {
			r.since = time.Now()
		}
		r.failures++
		if err.Error() != r.last {
			r.Logger.ErrorContext(ctx, r.Msg, "err", err)
			r.last = err.Error()
		}
	}
}
