package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

// The mail outbox.

const mailColumns = "id, recipient, kind, subject, text_body, html_body, attempts, last_error, created_at, due_at, failed_at"

func scanMail(row scanner) (store.Mail, error) {
	var m store.Mail
	var created, due int64
	var failed sql.NullInt64
	if err := row.Scan(&m.ID, &m.To, &m.Kind, &m.Subject, &m.Text, &m.HTML, &m.Attempts, &m.LastError, &created, &due, &failed); err != nil {
		return store.Mail{}, err
	}
	m.CreatedAt, m.DueAt = fromDB(created), fromDB(due)
	if failed.Valid {
		m.FailedAt = fromDB(failed.Int64)
	}
	return m, nil
}

// EnqueueMail inserts m.
func (s *Store) EnqueueMail(ctx context.Context, m store.Mail) error {
	var failed sql.NullInt64
	if !m.FailedAt.IsZero() {
		failed = sql.NullInt64{Int64: toDB(m.FailedAt), Valid: true}
	}
	_, err := s.write.ExecContext(ctx, "INSERT INTO mail_outbox ("+mailColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		m.ID, m.To, m.Kind, m.Subject, m.Text, m.HTML, m.Attempts, m.LastError, toDB(m.CreatedAt), toDB(m.DueAt), failed)
	if isUnique(err) {
		return fmt.Errorf("enqueue mail: %w", store.ErrConflict)
	} else if err != nil {
		return fmt.Errorf("enqueue mail: %w", err)
	}
	return nil
}

// GetMail returns a message of the outbox.
func (s *Store) GetMail(ctx context.Context, id string) (store.Mail, error) {
	m, err := scanMail(s.read.QueryRowContext(ctx, "SELECT "+mailColumns+" FROM mail_outbox WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Mail{}, fmt.Errorf("get mail: %w", store.ErrNotFound)
	} else if err != nil {
		return store.Mail{}, fmt.Errorf("get mail: %w", err)
	}
	return m, nil
}

// ClaimMail selects and leases the due messages in one write transaction,
// which SQLite runs alone (BEGIN IMMEDIATE), in this process or another.
// A read first spares the writer when nothing is due, as is usual.
func (s *Store) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.Mail, error) {
	var due bool
	if err := s.read.QueryRowContext(ctx,
		"SELECT EXISTS (SELECT 1 FROM mail_outbox WHERE failed_at IS NULL AND due_at <= ?)", toDB(now)).Scan(&due); err != nil {
		return nil, fmt.Errorf("claim mail: %w", err)
	}
	if !due {
		return nil, nil
	}
	var list []store.Mail
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx,
			"SELECT "+mailColumns+" FROM mail_outbox WHERE failed_at IS NULL AND due_at <= ? ORDER BY due_at, id LIMIT ?", toDB(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMail(rows)
			if err != nil {
				return err
			}
			list = append(list, m)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		due := now.Add(lease)
		for i := range list {
			if _, err := tx.ExecContext(ctx, "UPDATE mail_outbox SET due_at = ? WHERE id = ?", toDB(due), list[i].ID); err != nil {
				return err
			}
			list[i].DueAt = fromDB(toDB(due))
		}
		return nil
	})
	slices.SortFunc(list, func(a, b store.Mail) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if err != nil {
		return nil, fmt.Errorf("claim mail: %w", err)
	}
	return list, nil
}

// MarkMailSent deletes a delivered message.
func (s *Store) MarkMailSent(ctx context.Context, id string) error {
	res, err := s.write.ExecContext(ctx, "DELETE FROM mail_outbox WHERE id = ?", id)
	return affectedOne(res, err, "mark mail sent")
}

// RetryMail records a failed delivery of a pending message.
func (s *Store) RetryMail(ctx context.Context, id string, attempts int, lastError string, next time.Time) error {
	res, err := s.write.ExecContext(ctx,
		"UPDATE mail_outbox SET attempts = ?, last_error = ?, due_at = ? WHERE id = ? AND failed_at IS NULL",
		attempts, lastError, toDB(next), id)
	return affectedOne(res, err, "retry mail")
}

// FailMail gives up delivery of a pending message and clears its bodies.
func (s *Store) FailMail(ctx context.Context, id string, attempts int, lastError string, at time.Time) error {
	res, err := s.write.ExecContext(ctx,
		"UPDATE mail_outbox SET attempts = ?, last_error = ?, failed_at = ?, text_body = '', html_body = '' WHERE id = ? AND failed_at IS NULL",
		attempts, lastError, toDB(at), id)
	return affectedOne(res, err, "fail mail")
}

// CountMail counts the pending and the failed messages.
func (s *Store) CountMail(ctx context.Context) (store.MailCounts, error) {
	var c store.MailCounts
	err := s.read.QueryRowContext(ctx,
		"SELECT COUNT(*) FILTER (WHERE failed_at IS NULL), COUNT(*) FILTER (WHERE failed_at IS NOT NULL) FROM mail_outbox").Scan(&c.Pending, &c.Failed)
	if err != nil {
		return store.MailCounts{}, fmt.Errorf("count mail: %w", err)
	}
	return c, nil
}

// affectedOne turns an exec that should have changed one row into nil,
// store.ErrNotFound or the error, prefixed with what.
func affectedOne(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	} else if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}
