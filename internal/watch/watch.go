// Package watch keeps what a process holds in memory of the store (the
// signing keys, the cached users and clients, the revoked tokens) in step
// with other processes' writes: one loop reads every change counter in one
// query (store.Store.Versions) and hands them to each view, which reloads
// only if its own counter moved.
package watch

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/inkan-dev/inkan/internal/periodic"
	"github.com/inkan-dev/inkan/internal/store"
)

// A View is one in-memory copy of something in the store.
type View struct {
	// Name is the message its failures are logged with ("reload signing
	// keys"), once per change of error (periodic.Reporter).
	Name string
	// Sync brings the view up to date with the counters v; it is called on
	// every poll and must be cheap when its counter has not moved.
	Sync func(ctx context.Context, v store.Versions) error
	// Stale, when set, is called when the counters cannot be read: a view
	// that must not serve what may be out of date drops it.
	Stale func()
}

// Counters reads the change counters; store.Store is one.
type Counters interface {
	Versions(ctx context.Context) (store.Versions, error)
}

// Run polls st every interval until ctx ends and syncs each view, in
// order. A view's failure is logged under its Name and the others go on; a
// failure to read the counters is logged once and makes each view Stale.
func Run(ctx context.Context, interval time.Duration, logger *slog.Logger, st Counters, views ...View) {
	reporters := make([]*periodic.Reporter, len(views))
	for i, v := range views {
		reporters[i] = &periodic.Reporter{Logger: logger, Msg: v.Name}
	}
	periodic.Run(ctx, interval, logger, "read change counters", func(ctx context.Context) error {
		return poll(ctx, st, views, reporters)
	})
}

// poll is one round of Run: it reads the counters and syncs each view,
// reporting each view's outcome to its reporter.
func poll(ctx context.Context, st Counters, views []View, reporters []*periodic.Reporter) error {
	v, err := st.Versions(ctx)
	if err != nil {
		for _, view := range views {
			if view.Stale != nil {
				view.Stale()
			}
		}
		return fmt.Errorf("read change counters: %w", err)
	}
	for i, view := range views {
		err := view.Sync(ctx, v)
		reporters[i].Report(ctx, err)
	}
	return nil
}
