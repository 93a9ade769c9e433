package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Event is one row of the audit trail, an append-only table of security
// events (sign-ups, logins, password and account changes, sessions ended,
// refresh-token reuse, client and key changes). Package events records
// them, bounds every field and keeps secrets out; a backend stores what it
// is given.
type Event struct {
	ID        int64     // assigned by the store on append, increasing
	At        time.Time // UTC
	Type      string    // such as "login.failure" (the constants of package events)
	UserID    string    // the user concerned, or ""
	ClientID  string    // the OAuth client concerned, or ""
	Address   string    // the client's IP address, or ""
	UserAgent string    // the request's User-Agent, or ""
	RequestID string    // the request's X-Request-Id, or ""
	Detail    map[string]string
}

// EventFilter selects events for ListEvents. Zero fields select
// everything.
type EventFilter struct {
	UserID string
	Type   string
	Since  time.Time // at or after
	Limit  int       // at most this many, the newest; 0: no limit
}

// EventStore persists the audit trail. Events are never updated: only
// appended, listed and, past their retention, deleted.
type EventStore interface {
	// AppendEvent stores e under a new ID (e.ID is ignored).
	AppendEvent(ctx context.Context, e Event) error
	// ListEvents returns the events f selects, newest first (by At, then
	// by ID). An event without detail has a nil Detail.
	ListEvents(ctx context.Context, f EventFilter) ([]Event, error)
	// DeleteEventsBefore deletes at most limit of the oldest events whose
	// At is before t, and returns how many it deleted.
	DeleteEventsBefore(ctx context.Context, t time.Time, limit int) (int, error)
}

// MarshalEventDetail is an event's detail as the backends store it: a JSON
// object, "{}" for none.
func MarshalEventDetail(d map[string]string) (string, error) {
	if len(d) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(d)
	return string(b), err
}

// UnmarshalEventDetail reads a detail MarshalEventDetail wrote; "{}" is nil.
func UnmarshalEventDetail(s string) (map[string]string, error) {
	var d map[string]string
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return nil, fmt.Errorf("detail: %w", err)
	}
	if len(d) == 0 {
		return nil, nil
	}
	return d, nil
}
