package store

import (
	"context"
	"log/slog"
	"time"
)

// Mail is a rendered email in the outbox (package mail): the request that
// sends it commits it here and returns, and a sender delivers it later, on
// one replica at a time, so that an SMTP outage or a crash loses none.
// Delivered mail leaves the table; mail given up stays, marked failed.
type Mail struct {
	ID      string // random, immutable; the local part of its Message-ID, the same on every attempt
	To      string // one address
	Kind    string // what it is ("verify", "recover", …), for logs and metrics
	Subject string
	Text    string // the plain-text body
	HTML    string // the HTML body
	// Attempts counts the deliveries that the SMTP server refused or broke
	// off; a server that could not be reached at all counts against none.
	Attempts  int
	LastError string    // the last failed attempt's error: the server's answer, never a secret
	CreatedAt time.Time // UTC
	// DueAt is when the next delivery may be tried; a claim puts it off by
	// its lease, so that a sender that dies mid-delivery leaves the
	// message to be tried again. UTC.
	DueAt time.Time
	// FailedAt is zero until delivery is given up; such mail is never
	// claimed again, and its bodies (which may hold one-time links) are
	// cleared. UTC.
	FailedAt time.Time
}

// LogValue keeps the bodies, which may hold one-time links and codes, out
// of logs.
func (m Mail) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", m.ID), slog.String("kind", m.Kind), slog.Int("attempts", m.Attempts))
}

// MailCounts are the sizes of the outbox.
type MailCounts struct {
	Pending int // not delivered yet, and not given up
	Failed  int // given up
}

// MailStore is the outbox of package mail.
type MailStore interface {
	// EnqueueMail inserts m, due at m.DueAt; a taken ID is ErrConflict.
	EnqueueMail(ctx context.Context, m Mail) error
	// GetMail returns a message of the outbox, or ErrNotFound.
	GetMail(ctx context.Context, id string) (Mail, error)
	// ClaimMail takes up to limit messages due at now (DueAt not after now,
	// FailedAt zero), the earliest due first, and puts each one's DueAt off
	// to now + lease, atomically: callers at once, in this process or
	// another, never claim the same message until its lease has passed.
	// It returns them with their new DueAt, the oldest (CreatedAt, then
	// ID) first.
	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Mail, error)
	// MarkMailSent removes a delivered message; a missing one is
	// ErrNotFound.
	MarkMailSent(ctx context.Context, id string) error
	// RetryMail records a failed or abandoned delivery of a pending
	// message: its Attempts and LastError become the given ones, and it is
	// due again at next. A missing or failed one is ErrNotFound.
	RetryMail(ctx context.Context, id string, attempts int, lastError string, next time.Time) error
	// FailMail gives up delivery of a pending message at at: it records
	// attempts and lastError, sets FailedAt and clears Text and HTML. A
	// missing or failed one is ErrNotFound.
	FailMail(ctx context.Context, id string, attempts int, lastError string, at time.Time) error
	// CountMail counts the pending and the failed messages.
	CountMail(ctx context.Context) (MailCounts, error)
}
