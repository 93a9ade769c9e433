package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

// AppendEvent inserts e; the database assigns its id.
func (s *Store) AppendEvent(ctx context.Context, e store.Event) error {
	detail, err := store.MarshalEventDetail(e.Detail)
	if err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	_, err = s.write.ExecContext(ctx,
		`INSERT INTO events (at, type, user_id, client_id, address, user_agent, request_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		toDB(e.At), e.Type, e.UserID, e.ClientID, e.Address, e.UserAgent, e.RequestID, detail)
	if err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	return nil
}

// ListEvents returns the selected events, newest first.
func (s *Store) ListEvents(ctx context.Context, f store.EventFilter) ([]store.Event, error) {
	var where []string
	var args []any
	if f.UserID != "" {
		where, args = append(where, "user_id = ?"), append(args, f.UserID)
	}
	if f.Type != "" {
		where, args = append(where, "type = ?"), append(args, f.Type)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, toDB(f.Since))
	}
	q := "SELECT id, at, type, user_id, client_id, address, user_agent, request_id, detail FROM events"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY at DESC, id DESC"
	if f.Limit > 0 {
		q, args = q+" LIMIT ?", append(args, f.Limit)
	}
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var e store.Event
		var at int64
		var detail string
		if err := rows.Scan(&e.ID, &at, &e.Type, &e.UserID, &e.ClientID, &e.Address, &e.UserAgent, &e.RequestID, &detail); err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		e.At = fromDB(at)
		if e.Detail, err = store.UnmarshalEventDetail(detail); err != nil {
			return nil, fmt.Errorf("list events: event %d: %w", e.ID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return out, nil
}

// DeleteEventsBefore deletes up to limit of the oldest events before t.
func (s *Store) DeleteEventsBefore(ctx context.Context, t time.Time, limit int) (int, error) {
	res, err := s.write.ExecContext(ctx,
		"DELETE FROM events WHERE id IN (SELECT id FROM events WHERE at < ? ORDER BY at LIMIT ?)", toDB(t), limit)
	if err != nil {
		return 0, fmt.Errorf("delete events: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
