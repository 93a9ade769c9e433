package server

import (
	"context"
	"errors"
	"fmt"
	"io"
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
// Options.BackchannelTimeout is zero.
const DefaultBackchannelTimeout = 10 * time.Second

// retryDelay is the wait before the next delivery after attempts failed ones.
func retryDelay(attempts int) time.Duration {
	d := backchannelFirstRetry
	for i := 1; i < attempts && d < backchannelMaxRetry; i++ {
		d *= 2
	}
	return min(d, backchannelMaxRetry)
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

// kickBackchannel wakes RunBackchannel without waiting for it.
func (s *Server) kickBackchannel() {
	select {
	case s.kick <- struct{}{}:
	default: // a run is due already
	}
}

// RunBackchannel delivers queued back-channel logouts until ctx ends: right
// after this server ends a session, and every interval otherwise.
func (s *Server) RunBackchannel(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
		if err := s.deliverLogouts(ctx); err != nil && ctx.Err() == nil {
			s.opts.Logger.ErrorContext(ctx, "deliver back-channel logouts", "err", err)
		}
	}
}

// errClaimed means another run took a queued logout first.
var errClaimed = errors.New("claimed by another run")

// deliverLogouts sends the logouts due now, unless another replica is at
// it. Each is claimed first, by counting the attempt and putting its next
// try off, so that a crash mid-delivery retries it rather than losing it.
func (s *Server) deliverLogouts(ctx context.Context) error {
	_, err := s.opts.Store.Exclusive(ctx, "backchannel logout", func(ctx context.Context) error {
		for range backchannelMaxBatches {
			now := s.opts.Now().UTC().Truncate(time.Microsecond)
			due, err := s.opts.Store.ListBackchannelLogouts(ctx, now, backchannelBatch)
			if err != nil {
				return err
			}
			var wg sync.WaitGroup
			slots := make(chan struct{}, backchannelParallel)
			for _, b := range due {
				claimed, err := s.opts.Store.UpdateBackchannelLogout(ctx, b.SessionID, b.ClientID, func(old store.BackchannelLogout) (store.BackchannelLogout, error) {
					if old.Attempts != b.Attempts || old.DueAt.After(now) {
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
					s.deliverLogout(ctx, claimed)
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

// deliverLogout sends one logout token, and drops the queued logout once
// it is delivered, given up, or owed to a client that no longer wants it.
func (s *Server) deliverLogout(ctx context.Context, b store.BackchannelLogout) {
	log := s.opts.Logger.With("client_id", b.ClientID, "sub", b.UserID, "attempt", b.Attempts)
	c, err := s.opts.Store.GetClient(ctx, b.ClientID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		log.ErrorContext(ctx, "back-channel logout: read client", "err", err)
		return // tried again when due
	}
	done := func() {
		if err := s.opts.Store.DeleteBackchannelLogout(ctx, b.SessionID, b.ClientID); err != nil && !errors.Is(err, store.ErrNotFound) {
			log.ErrorContext(ctx, "back-channel logout: dequeue", "err", err)
		}
	}
	if err != nil || c.BackchannelLogoutURI == "" {
		done()
		return
	}
	err = s.postLogout(ctx, c.BackchannelLogoutURI, b)
	switch {
	case err == nil:
		log.InfoContext(ctx, "back-channel logout delivered")
		done()
	case ctx.Err() != nil: // shutting down: tried again when due
	case b.Attempts >= backchannelMaxAttempts:
		log.WarnContext(ctx, "back-channel logout failed: giving up", "err", err)
		done()
	default:
		log.WarnContext(ctx, "back-channel logout failed: will retry", "err", err, "retry_at", b.DueAt)
	}
}

// postLogout POSTs a fresh logout token to the client's URI (§2.5).
func (s *Server) postLogout(ctx context.Context, uri string, b store.BackchannelLogout) error {
	tok, err := s.tokens.IssueLogout(token.LogoutClaims{Subject: b.UserID, Audience: b.ClientID, SessionID: b.SessionID})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.BackchannelTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.backchannel.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, backchannelMaxBody))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}
