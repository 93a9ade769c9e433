package postgres

import (
	"context"
	"fmt"
	"strconv"
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
	_, err = s.pool.Exec(ctx,
		`INSERT INTO events (at, type, user_id, client_id, address, user_agent, request_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		utc(e.At), e.Type, e.UserID, e.ClientID, e.Address, e.UserAgent, e.RequestID, detail)
	if err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	return nil
}

// ListEvents returns the selected events, newest first.
func (s *Store) ListEvents(ctx context.Context, f store.EventFilter) ([]store.Event, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.UserID != "" {
		where = append(where, "user_id = "+arg(f.UserID))
	}
	if f.Type != "" {
		where = append(where, "type = "+arg(f.Type))
	}
	if !f.Since.IsZero() {
		where = append(where, "at >= "+arg(utc(f.Since)))
	}
	q := "SELECT id, at, type, user_id, client_id, address, user_agent, request_id, detail FROM events"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY at DESC, id DESC"
	if f.Limit > 0 {
		q += " LIMIT " + arg(f.Limit)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var e store.Event
		var detail string
		if err := rows.Scan(&e.ID, &e.At, &e.Type, &e.UserID, &e.ClientID, &e.Address, &e.UserAgent, &e.RequestID, &detail); err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		e.At = utc(e.At)
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

// DeleteEventsBefore deletes up to limit of the oldest events before t,
// skipping rows another replica is deleting.
func (s *Store) DeleteEventsBefore(ctx context.Context, t time.Time, limit int) (int, error) {
	tag, err := s.pool.Exec(ctx,
		`DELETE FROM events WHERE id IN (
		   SELECT id FROM events WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)`, utc(t), limit)
	if err != nil {
		return 0, fmt.Errorf("delete events: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
