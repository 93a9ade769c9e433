package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/token"
)

// OpenID Connect Back-Channel Logout 1.0: when a session ends, every client
// with a back-channel logout URI that got a code or refresh token under it
// is sent a logout token.
//
// EndSession queues them in the store (backchannel_logouts), in the
// transaction that ends the session, so that a crash or restart loses none.
// RunBackchannel delivers them, on one replica at a time (store.Exclusive):
// at once when this server ended a session, and every interval for the
// sessions other replicas ended and for retries. The user's logout never
// waits for a delivery.
//
// A delivery is a POST of logout_token=<JWT> (§2.5) with a bounded timeout;
// a redirect is not followed, and only a 2xx answer (§2.8: 200, or 204)
// counts. A failed delivery is tried again after 5 s, then twice as long
// each time, up to an hour, and given up after backchannelMaxAttempts
// (about six hours).
// Each attempt mints a fresh logout token (its own jti, iat and exp).
const (
	backchannelBatch       = 100 // queued logouts read at once
	backchannelParallel    = 8   // deliveries in flight at once
	backchannelMaxBatches  = 10  // per run, so that one run cannot go on for ever
	backchannelMaxAttempts = 16
	backchannelFirstRetry  = 5 * time.Second
	backchannelMaxRetry    = time.Hour
	backchannelMaxBody     = 4 << 10 // of an answer, read and dropped
)

// DefaultBackchannelTimeout bounds one delivery when
// BackchannelOptions.Timeout is zero.
const DefaultBackchannelTimeout = 10 * time.Second

// retryDelay is the wait before the next delivery after attempts failed ones.
func retryDelay(attempts int) time.Duration {
	d := backchannelFirstRetry
	for i := 1; i < attempts && d < backchannelMaxRetry; i++ {
		d *= 2
	}
	return min(d, backchannelMaxRetry)
}

// backchannel delivers the queued back-channel logouts.
type backchannel struct {
	store   store.Store
	tokens  *token.Issuer // mints the logout tokens
	client  *http.Client  // backchannelClient's: no redirects
	timeout time.Duration // BackchannelOptions.Timeout
	wake    chan struct{} // kick wakes run after a logout
	now     func() time.Time
	log     *slog.Logger
}

func newBackchannel(o Options, tokens *token.Issuer) *backchannel {
	return &backchannel{
		store: o.Store, tokens: tokens, client: backchannelClient(o.Backchannel.Client), timeout: o.Backchannel.Timeout,
		wake: make(chan struct{}, 1), now: o.Now, log: o.Logger,
	}
}

// backchannelClient is the client deliveries go through: the configured
// one (or a plain one), never following redirects.
func backchannelClient(c *http.Client) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	}
	out.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &out
}

// kick wakes run without waiting for it.
func (b *backchannel) kick() {
	select {
	case b.wake <- struct{}{}:
	default: // a run is due already
	}
}

// run delivers queued back-channel logouts until ctx ends: right after
// this server ends a session, and every interval otherwise.
func (b *backchannel) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-b.wake:
		}
		if err := b.deliver(ctx); err != nil && ctx.Err() == nil {
			b.log.ErrorContext(ctx, "deliver back-channel logouts", "err", err)
		}
	}
}

// errClaimed means another run took a queued logout first.
var errClaimed = errors.New("claimed by another run")

// deliver sends the logouts due now, unless another replica is at
// it. Each is claimed first, by counting the attempt and putting its next
// try off, so that a crash mid-delivery retries it rather than losing it.
func (b *backchannel) deliver(ctx context.Context) error {
	_, err := b.store.Exclusive(ctx, "backchannel logout", func(ctx context.Context) error {
		for range backchannelMaxBatches {
			now := b.now().UTC().Truncate(time.Microsecond)
			due, err := b.store.ListBackchannelLogouts(ctx, now, backchannelBatch)
			if err != nil {
				return err
			}
			var wg sync.WaitGroup
			slots := make(chan struct{}, backchannelParallel)
			for _, q := range due {
				claimed, err := b.store.UpdateBackchannelLogout(ctx, q.SessionID, q.ClientID, func(old store.BackchannelLogout) (store.BackchannelLogout, error) {
					if old.Attempts != q.Attempts || old.DueAt.After(now) {
						return old, errClaimed
					}
					old.Attempts++
					old.DueAt = now.Add(retryDelay(old.Attempts))
					return old, nil
				})
				if errors.Is(err, errClaimed) || errors.Is(err, store.ErrNotFound) {
					continue
				} else if err != nil {
					return err
				}
				slots <- struct{}{}
				wg.Go(func() {
					defer func() { <-slots }()
					b.deliverOne(ctx, claimed)
				})
			}
			wg.Wait()
			if len(due) < backchannelBatch {
				return nil
			}
		}
		return nil
	})
	return err
}

// deliverOne sends one logout token, and drops the queued logout once
// it is delivered, given up, or owed to a client that no longer wants it.
func (b *backchannel) deliverOne(ctx context.Context, q store.BackchannelLogout) {
	log := b.log.With("client_id", q.ClientID, "sub", q.UserID, "attempt", q.Attempts)
	c, err := b.store.GetClient(ctx, q.ClientID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		log.ErrorContext(ctx, "back-channel logout: read client", "err", err)
		return // tried again when due
	}
	done := func() {
		if err := b.store.DeleteBackchannelLogout(ctx, q.SessionID, q.ClientID); err != nil && !errors.Is(err, store.ErrNotFound) {
			log.ErrorContext(ctx, "back-channel logout: dequeue", "err", err)
		}
	}
	if err != nil || c.BackchannelLogoutURI == "" {
		done()
		return
	}
	err = b.post(ctx, c.BackchannelLogoutURI, q)
	switch {
	case err == nil:
		log.InfoContext(ctx, "back-channel logout delivered")
		done()
	case ctx.Err() != nil: // shutting down: tried again when due
	case q.Attempts >= backchannelMaxAttempts:
		log.WarnContext(ctx, "back-channel logout failed: giving up", "err", err)
		done()
	default:
		log.WarnContext(ctx, "back-channel logout failed: will retry", "err", err, "retry_at", q.DueAt)
	}
}

// post POSTs a fresh logout token to the client's URI (§2.5).
func (b *backchannel) post(ctx context.Context, uri string, q store.BackchannelLogout) error {
	tok, err := b.tokens.IssueLogout(token.LogoutClaims{Subject: q.UserID, Audience: q.ClientID, SessionID: q.SessionID})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, backchannelMaxBody)) // drained for reuse, unread
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}
