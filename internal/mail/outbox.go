package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/inkan-dev/inkan/internal/periodic"
	"github.com/inkan-dev/inkan/internal/plaintext"
	"github.com/inkan-dev/inkan/internal/store"
)

// Delivery's schedule. A message the server refuses (or breaks off) is
// tried again after FirstRetry, then twice as long each time up to
// MaxRetry, MaxAttempts times in all (about an hour and a half); then it
// is given up. Mail still undelivered MaxAge after it was queued is given
// up too, however few its attempts: its links have expired. While the
// server cannot be reached at all, no message's attempts are spent: the
// outbox pauses, from outageFirstPause doubling up to outageMaxPause, and
// tries again.
const (
	FirstRetry       = 30 * time.Second
	MaxRetry         = 30 * time.Minute
	MaxAttempts      = 8
	MaxAge           = 24 * time.Hour
	outageFirstPause = time.Second
	outageMaxPause   = time.Minute

	// DefaultTimeout bounds one message's delivery (and the connection
	// and greeting before the first) when Options.Timeout is zero.
	DefaultTimeout = 20 * time.Second

	batchSize  = 5  // messages claimed at once
	maxBatches = 20 // per pass, so that one pass cannot go on for ever
	maxError   = 300
)

// lockName is the store.Exclusive job of the delivery.
const lockName = "mail outbox"

// Options configure an Outbox.
type Options struct {
	Store     store.Store // the outbox (store.MailStore) and store.Exclusive
	Templates *Templates  // nil: the embedded ones
	SMTP      SMTP        // ParseURL of --smtp-url
	// From is --smtp-from: an address, with a display name or without
	// ("inkan <no-reply@example.com>"). Its domain ends every Message-ID.
	From string
	// Site is what the messages call the service: the issuer's host.
	Site string
	// Timeout bounds one message's delivery; zero means DefaultTimeout.
	Timeout time.Duration
	// TLSConfig verifies the server's certificate; nil means the system's
	// roots. Its ServerName is set to SMTP.Host.
	TLSConfig *tls.Config
	Logger    *slog.Logger
	Now       func() time.Time // nil means time.Now
	Metrics   *Metrics         // nil: counted nowhere
}

// Outbox is the Mailer over the outbox table, and its sender.
type Outbox struct {
	store     store.Store
	templates *Templates
	server    SMTP
	client    *gomail.Client
	from      *netmail.Address
	domain    string // of From
	site      string
	timeout   time.Duration
	now       func() time.Time
	log       *slog.Logger
	metrics   *Metrics
	wake      chan struct{}

	mu          sync.Mutex // over what follows, the state of an outage
	pausedUntil time.Time  // no delivery before this
	pause       time.Duration
	outageSince time.Time // zero while the server answers
}

var _ Mailer = (*Outbox)(nil)

// CheckFrom parses a --smtp-from value: an address with or without a
// display name.
func CheckFrom(from string) (*netmail.Address, error) {
	if !plaintext.Valid(from) {
		return nil, errors.New("has control characters")
	}
	a, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("is not an address such as \"inkan <no-reply@example.com>\": %w", err)
	}
	if at := strings.LastIndexByte(a.Address, '@'); at < 1 || at == len(a.Address)-1 {
		return nil, errors.New("has no domain")
	}
	return a, nil
}

// New makes the outbox of o.
func New(o Options) (*Outbox, error) {
	if o.Store == nil || o.Logger == nil {
		return nil, errors.New("mail: Store and Logger are required")
	}
	from, err := CheckFrom(o.From)
	if err != nil {
		return nil, fmt.Errorf("mail: From %w", err)
	}
	if o.Templates == nil {
		if o.Templates, err = LoadTemplates(""); err != nil {
			return nil, err
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.SMTP.Host == "" {
		return nil, errors.New("mail: no SMTP server")
	}
	ob := &Outbox{
		store: o.Store, templates: o.Templates, server: o.SMTP, from: from,
		domain: from.Address[strings.LastIndexByte(from.Address, '@')+1:],
		site:   o.Site, timeout: o.Timeout, now: o.Now, log: o.Logger, metrics: o.Metrics,
		wake: make(chan struct{}, 1),
	}
	if ob.client, err = newClient(o.SMTP, o.Timeout, o.TLSConfig); err != nil {
		return nil, err
	}
	return ob, nil
}

// newClient makes the go-mail client of the server: implicit TLS for
// smtps://; for smtp://, STARTTLS, required unless the server is on
// loopback; authentication when the URL has a user, by the strongest
// mechanism the server offers over TLS (PLAIN only over TLS, or on
// loopback).
func newClient(s SMTP, timeout time.Duration, tc *tls.Config) (*gomail.Client, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if tc != nil {
		cfg = tc.Clone()
	}
	cfg.ServerName = s.Host
	opts := []gomail.Option{
		gomail.WithPort(s.Port), gomail.WithTimeout(timeout), gomail.WithTLSConfig(cfg),
	}
	switch {
	case s.ImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case s.Loopback():
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.Username != "" {
		auth := gomail.SMTPAuthAutoDiscover
		if s.Loopback() && !s.ImplicitTLS {
			auth = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(s.Username), gomail.WithPassword(s.password))
	}
	c, err := gomail.NewClient(s.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("mail: SMTP client for %s: %w", s.Addr(), err)
	}
	return c, nil
}

// Enqueue renders m and commits it to the outbox, then wakes the sender.
// It never talks to the SMTP server.
func (o *Outbox) Enqueue(ctx context.Context, m Message) error {
	r, err := o.templates.Render(m, o.site)
	if err != nil {
		return err
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id) // crypto/rand.Read never fails
	now := o.now().UTC().Truncate(time.Microsecond)
	row := store.Mail{
		ID: hex.EncodeToString(id), To: m.To, Kind: m.Kind, Subject: r.Subject, Text: r.Text, HTML: r.HTML,
		CreatedAt: now, DueAt: now,
	}
	if err := o.store.EnqueueMail(ctx, row); err != nil {
		return fmt.Errorf("mail: enqueue: %w", err)
	}
	o.log.DebugContext(ctx, "mail queued", "mail", row)
	o.Kick()
	return nil
}

// Kick wakes Run without waiting for it.
func (o *Outbox) Kick() {
	select {
	case o.wake <- struct{}{}:
	default: // a pass is due already
	}
}

// Run delivers the outbox until ctx ends: at once (what an earlier run
// left), after each Enqueue on this process, and every interval for the
// mail of other replicas and the retries. It returns once ctx has ended
// and the current delivery is over.
func (o *Outbox) Run(ctx context.Context, interval time.Duration) {
	o.log.InfoContext(ctx, "mail sender started", "smtp", o.server, "tls", o.server.tlsMode())
	t := time.NewTicker(interval)
	defer t.Stop()
	r := &periodic.Reporter{Logger: o.log, Msg: "deliver mail"} // a database fault: logged once
	for {
		r.Report(ctx, o.Deliver(ctx))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-o.wake:
		}
	}
}

// errUnreachable means the SMTP server could not be reached, or broke the
// connection: the rest of the pass waits for the next.
var errUnreachable = errors.New("SMTP server unreachable")

// Deliver sends the mail due now, unless another replica is at it or an
// outage pauses delivery. Each message is claimed first (leased for as
// long as its batch can take to send), so that a crash mid-delivery
// leaves it to be tried again, and a delivery by another process in the
// meantime is impossible.
func (o *Outbox) Deliver(ctx context.Context) error {
	_, err := o.store.Exclusive(ctx, lockName, func(ctx context.Context) error {
		o.mu.Lock()
		paused := o.now().Before(o.pausedUntil)
		o.mu.Unlock()
		if paused {
			return nil
		}
		for range maxBatches {
			batch, err := o.store.ClaimMail(ctx, o.now().UTC(), o.lease(), batchSize)
			if err != nil {
				return err
			}
			if len(batch) == 0 {
				return nil
			}
			if err := o.sendBatch(ctx, batch); errors.Is(err, errUnreachable) {
				return nil
			} else if err != nil {
				return err
			}
			if len(batch) < batchSize {
				return nil
			}
		}
		return nil
	})
	return err
}

// lease is how long a claimed batch is left to its sender: time to send
// every message of it, and to connect.
func (o *Outbox) lease() time.Duration { return time.Duration(batchSize+1)*o.timeout + 10*time.Second }

// sendBatch delivers claimed messages over one connection.
func (o *Outbox) sendBatch(ctx context.Context, batch []store.Mail) error {
	// Writes after a delivery use a context of their own: a shutdown
	// between the server's answer and the write must not lose the answer.
	wctx := context.WithoutCancel(ctx)
	release := func(rest []store.Mail, why string) {
		for _, m := range rest {
			if err := o.store.RetryMail(wctx, m.ID, m.Attempts, truncate(why), o.now().UTC()); err != nil && !errors.Is(err, store.ErrNotFound) {
				o.log.ErrorContext(ctx, "mail: release claim", "mail", m, "err", err)
			}
		}
	}
	var live []store.Mail
	for _, m := range batch {
		if now := o.now(); now.Sub(m.CreatedAt) > MaxAge {
			o.giveUp(wctx, m, m.Attempts, fmt.Sprintf("not delivered within %v", MaxAge))
			continue
		}
		live = append(live, m)
	}
	if len(live) == 0 {
		return nil
	}
	dctx, cancel := context.WithTimeout(ctx, o.timeout)
	sc, err := o.client.DialToSMTPClientWithContext(dctx)
	cancel()
	if err != nil {
		release(live, "unreachable: "+err.Error())
		o.unreachable(ctx, err)
		return errUnreachable
	}
	defer func() { _ = o.client.CloseWithSMTPClient(sc) }()
	o.reachable(ctx)
	for i, m := range live {
		if ctx.Err() != nil {
			release(live[i:], "shut down before delivery")
			return nil
		}
		err := o.client.SendWithSMTPClient(sc, o.build(m))
		if err == nil {
			if err := o.store.MarkMailSent(wctx, m.ID); err != nil {
				o.log.ErrorContext(ctx, "mail: sent, but not marked so (it will be sent again)", "mail", m, "err", err)
			}
			o.log.InfoContext(ctx, "mail sent", "mail", m)
			o.metrics.sent(m.Kind)
			continue
		}
		o.refused(wctx, m, err)
		var se *gomail.SendError
		if !errors.As(err, &se) || se.ErrorCode() < 400 {
			// No answer from the server: the connection is gone.
			release(live[i+1:], "connection lost")
			o.unreachable(ctx, err)
			return errUnreachable
		}
	}
	return nil
}

// refused records a failed delivery of m: tried again later, or given up
// after MaxAttempts.
func (o *Outbox) refused(ctx context.Context, m store.Mail, err error) {
	attempts := m.Attempts + 1
	why := err.Error()
	o.metrics.attemptFailed(m.Kind)
	if attempts >= MaxAttempts {
		o.giveUp(ctx, m, attempts, why)
		return
	}
	next := o.now().UTC().Add(RetryDelay(attempts))
	if err := o.store.RetryMail(ctx, m.ID, attempts, truncate(why), next); err != nil {
		o.log.ErrorContext(ctx, "mail: record failed delivery", "mail", m, "err", err)
		return
	}
	o.log.WarnContext(ctx, "mail not delivered: will retry", "mail", m, "attempt", attempts, "err", why, "retry_at", next)
}

// giveUp marks m failed, and logs it: once, since failed mail is never
// tried again.
func (o *Outbox) giveUp(ctx context.Context, m store.Mail, attempts int, why string) {
	if err := o.store.FailMail(ctx, m.ID, attempts, truncate(why), o.now().UTC()); err != nil {
		o.log.ErrorContext(ctx, "mail: record failure", "mail", m, "err", err)
		return
	}
	o.metrics.failed(m.Kind)
	o.log.ErrorContext(ctx, "mail not delivered: given up", "mail", m, "attempts", attempts, "err", why)
}

// unreachable pauses delivery after a failed connection: a second at
// first, twice as long after each further failure, up to a minute. The
// first failure of an outage is logged; the rest are not.
func (o *Outbox) unreachable(ctx context.Context, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	if o.outageSince.IsZero() {
		o.outageSince, o.pause = now, outageFirstPause
		o.log.WarnContext(ctx, "SMTP server unreachable: mail waits in the outbox", "smtp", o.server, "err", err)
	} else {
		o.pause = min(2*o.pause, outageMaxPause)
		o.log.DebugContext(ctx, "SMTP server still unreachable", "smtp", o.server, "err", err)
	}
	o.pausedUntil = now.Add(o.pause)
	o.metrics.unreachable()
}

// reachable ends an outage.
func (o *Outbox) reachable(ctx context.Context) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.outageSince.IsZero() {
		o.log.InfoContext(ctx, "SMTP server reachable again", "smtp", o.server, "outage", o.now().Sub(o.outageSince).Round(time.Millisecond).String())
	}
	o.outageSince, o.pausedUntil, o.pause = time.Time{}, time.Time{}, 0
}

// RetryDelay is the wait before the next delivery of a message after
// attempts refused ones.
func RetryDelay(attempts int) time.Duration {
	d := FirstRetry
	for i := 1; i < attempts && d < MaxRetry; i++ {
		d *= 2
	}
	return min(d, MaxRetry)
}

// build makes the message of an outbox row. Its Message-ID and Date come
// from the row, so that every attempt sends the same message.
func (o *Outbox) build(m store.Mail) *gomail.Msg {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(o.from)
	msg.ToIgnoreInvalid(m.To) // checked at Enqueue
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.ID + "@" + o.domain)
	msg.SetDateWithValue(m.CreatedAt)
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated") // RFC 3834: no auto-replies
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	return msg
}

// truncate bounds an error kept in the outbox.
func truncate(s string) string {
	if len(s) <= maxError {
		return s
	}
	return strings.ToValidUTF8(s[:maxError], "") + "…"
}
