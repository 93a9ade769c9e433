package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/inkan-dev/inkan/internal/store"
)

// The mail outbox.

const mailColumns = "id, recipient, kind, subject, text_body, html_body, attempts, last_error, created_at, due_at, failed_at"

func scanMail(row pgx.Row) (store.Mail, error) {
	var m store.Mail
	var failed *time.Time
	if err := row.Scan(&m.ID, &m.To, &m.Kind, &m.Subject, &m.Text, &m.HTML, &m.Attempts, &m.LastError, &m.CreatedAt, &m.DueAt, &failed); err != nil {
		return store.Mail{}, err
	}
	m.CreatedAt, m.DueAt = utc(m.CreatedAt), utc(m.DueAt)
	if failed != nil {
		m.FailedAt = utc(*failed)
	}
	return m, nil
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := utc(t)
	return &u
}

// EnqueueMail inserts m.
func (s *Store) EnqueueMail(ctx context.Context, m store.Mail) error {
	_, err := s.pool.Exec(ctx, "INSERT INTO mail_outbox ("+mailColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
		m.ID, m.To, m.Kind, m.Subject, m.Text, m.HTML, m.Attempts, m.LastError, utc(m.CreatedAt), utc(m.DueAt), nullTime(m.FailedAt))
	return insertError("enqueue mail", err)
}

// GetMail returns a message of the outbox.
func (s *Store) GetMail(ctx context.Context, id string) (store.Mail, error) {
	m, err := scanMail(s.pool.QueryRow(ctx, "SELECT "+mailColumns+" FROM mail_outbox WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Mail{}, fmt.Errorf("get mail: %w", store.ErrNotFound)
	} else if err != nil {
		return store.Mail{}, fmt.Errorf("get mail: %w", err)
	}
	return m, nil
}

// ClaimMail leases the due messages in one statement. The rows it picks
// are locked (FOR UPDATE), and those another replica has locked already
// are skipped, so two claims at once share the due mail out between them
// and never take the same message.
func (s *Store) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.Mail, error) {
	// The CTE runs once (a subquery in the WHERE may be run again per row,
	// and LIMIT then holds for each run rather than for the whole).
	rows, err := s.pool.Query(ctx, `WITH picked AS (
			SELECT id FROM mail_outbox WHERE failed_at IS NULL AND due_at <= $1
			ORDER BY due_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
		UPDATE mail_outbox m SET due_at = $2 FROM picked WHERE m.id = picked.id
		RETURNING `+prefixed("m.", mailColumns), utc(now), utc(now.Add(lease)), limit)
	if err != nil {
		return nil, fmt.Errorf("claim mail: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Mail, error) { return scanMail(r) })
	if err != nil {
		return nil, fmt.Errorf("claim mail: %w", err)
	}
	// RETURNING keeps no order.
	slices.SortFunc(list, func(a, b store.Mail) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return list, nil
}

// MarkMailSent deletes a delivered message.
func (s *Store) MarkMailSent(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM mail_outbox WHERE id = $1", id)
	return affectedOne(tag, err, "mark mail sent")
}

// RetryMail records a failed delivery of a pending message.
func (s *Store) RetryMail(ctx context.Context, id string, attempts int, lastError string, next time.Time) error {
	tag, err := s.pool.Exec(ctx,
		"UPDATE mail_outbox SET attempts = $2, last_error = $3, due_at = $4 WHERE id = $1 AND failed_at IS NULL",
		id, attempts, lastError, utc(next))
	return affectedOne(tag, err, "retry mail")
}

// FailMail gives up delivery of a pending message and clears its bodies.
func (s *Store) FailMail(ctx context.Context, id string, attempts int, lastError string, at time.Time) error {
	tag, err := s.pool.Exec(ctx,
		"UPDATE mail_outbox SET attempts = $2, last_error = $3, failed_at = $4, text_body = '', html_body = '' WHERE id = $1 AND failed_at IS NULL",
		id, attempts, lastError, utc(at))
	return affectedOne(tag, err, "fail mail")
}

// CountMail counts the pending and the failed messages.
func (s *Store) CountMail(ctx context.Context) (store.MailCounts, error) {
	var c store.MailCounts
	err := s.pool.QueryRow(ctx,
		"SELECT COUNT(*) FILTER (WHERE failed_at IS NULL), COUNT(*) FILTER (WHERE failed_at IS NOT NULL) FROM mail_outbox").Scan(&c.Pending, &c.Failed)
	if err != nil {
		return store.MailCounts{}, fmt.Errorf("count mail: %w", err)
	}
	return c, nil
}

// affectedOne turns an exec that should have changed one row into nil,
// store.ErrNotFound or the error, prefixed with what.
func affectedOne(tag pgconn.CommandTag, err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// prefixed qualifies each of a comma-separated list of columns.
func prefixed(prefix, columns string) string {
	cols := strings.Split(columns, ", ")
	for i := range cols {
		cols[i] = prefix + cols[i]
	}
	return strings.Join(cols, ", ")
}
