package events

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/inkan-dev/inkan/internal/periodic"
	"github.com/inkan-dev/inkan/internal/store"
)

// DefaultTimeout bounds one append of a Trail.
const DefaultTimeout = 5 * time.Second

// Store is what a Trail needs of the storage (store.EventStore has it).
type Store interface {
	AppendEvent(ctx context.Context, e store.Event) error
}

// Options configure a Trail. Store is required.
type Options struct {
	Store Store
	// Logger receives the trail's own failures; nil discards them.
	Logger *slog.Logger
	Now    func() time.Time // nil means time.Now
	// Count, when set, is told every event recorded: its type (one of
	// Types, or "other", so that a label stays bounded) and the error of
	// storing it, if any. Metrics count with it.
	Count func(typ string, err error)
	// Timeout bounds one append; zero means DefaultTimeout.
	Timeout time.Duration
}

// Trail is the Recorder over the store's events table. Record costs its
// caller one insert, made even when the request's client has gone (its
// context's cancellation does not reach the insert, Timeout bounds it),
// and never fails: an error is logged at Error once, again only when it
// changes, and at Info when appends succeed again (periodic.Reporter), so
// that a database away makes one record, not one per request. It is safe
// for concurrent use.
type Trail struct {
	opts Options

	mu       sync.Mutex
	reporter *periodic.Reporter
}

// New makes a Trail.
func New(opts Options) *Trail {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Count == nil {
		opts.Count = func(string, error) {}
	}
	return &Trail{opts: opts, reporter: &periodic.Reporter{Logger: opts.Logger, Msg: "record audit event"}}
}

// Record appends e, completed from ctx (WithRequest, WithClient) and
// bounded (see the package doc), to the events table.
func (t *Trail) Record(ctx context.Context, e Event) {
	ctx = context.WithoutCancel(ctx)
	e, dropped := bound(fill(ctx, e))
	if len(dropped) > 0 {
		// A programming error: the caller put in what an event may not hold.
		t.opts.Logger.ErrorContext(ctx, "audit event detail dropped", "type", e.Type, "keys", dropped)
	}
	at := e.At
	if at.IsZero() {
		at = t.opts.Now()
	}
	actx, cancel := context.WithTimeout(ctx, t.opts.Timeout)
	err := t.opts.Store.AppendEvent(actx, store.Event{
		At: at.UTC().Truncate(time.Microsecond), Type: e.Type, UserID: e.UserID, ClientID: e.ClientID,
		Address: e.Address, UserAgent: e.UserAgent, RequestID: e.RequestID, Detail: e.Detail,
	})
	cancel()
	label := e.Type
	if !Known(label) {
		label = "other"
	}
	t.opts.Count(label, err)
	t.mu.Lock()
	t.reporter.Report(ctx, err)
	t.mu.Unlock()
}
