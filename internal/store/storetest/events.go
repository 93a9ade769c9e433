package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/inkan-dev/inkan/internal/store"
)

var eventTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"event round trip", testEventRoundTrip},
	{"list events", testListEvents},
	{"delete events before", testDeleteEventsBefore},
}

func mustAppendEvent(tb testing.TB, s store.Store, e store.Event) {
	tb.Helper()
	if err := s.AppendEvent(context.Background(), e); err != nil {
		tb.Fatalf("AppendEvent(%s) = %v", e.Type, err)
	}
}

// Every field comes back as stored, the time in UTC; the store assigns
// increasing ids; an event without detail has none.
func testEventRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	tokyo := time.FixedZone("JST", 9*3600)
	full := store.Event{
		At: base.In(tokyo), Type: "login.success", UserID: newUser(1).ID, ClientID: "client-1",
		Address: "2001:db8::1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) ✓", RequestID: "req-1",
		Detail: map[string]string{"reason": "ünïcode \"quoted\" {json}", "empty": ""},
	}
	bare := store.Event{At: base.Add(time.Second), Type: "key.added"}
	mustAppendEvent(t, s, full)
	mustAppendEvent(t, s, bare)
	got, err := s.ListEvents(ctx, store.EventFilter{})
	if err != nil {
		t.Fatalf("ListEvents() = %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("ListEvents() = %d events, want 2", len(got))
	}
	if got[0].ID <= got[1].ID || got[1].ID <= 0 {
		t.Errorf("ids = %d, %d; want positive and increasing in append order", got[1].ID, got[0].ID)
	}
	full.At = base
	want := []store.Event{bare, full}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(store.Event{}, "ID")); diff != "" {
		t.Errorf("ListEvents() mismatch (-want +got):\n%s", diff)
	}
	if got[1].At.Location() != time.UTC {
		t.Errorf("At location = %v, want UTC", got[1].At.Location())
	}
}

// Filters combine; the newest come first, and the limit keeps the newest.
func testListEvents(t *testing.T, s store.Store) {
	ctx := context.Background()
	u1, u2 := newUser(1).ID, newUser(2).ID
	// Appended out of time order; two share an instant (ordered by id).
	for i, e := range []store.Event{
		{At: base.Add(2 * time.Minute), Type: "login.failure", UserID: u1},
		{At: base, Type: "signup", UserID: u1},
		{At: base.Add(time.Minute), Type: "login.success", UserID: u1},
		{At: base.Add(time.Minute), Type: "login.failure", UserID: u2},
		{At: base.Add(3 * time.Minute), Type: "client.added", ClientID: "c1"},
	} {
		e.RequestID = fmt.Sprint("r", i)
		mustAppendEvent(t, s, e)
	}
	tests := []struct {
		name string
		f    store.EventFilter
		want []string // request ids, in order
	}{
		{"all", store.EventFilter{}, []string{"r4", "r0", "r3", "r2", "r1"}},
		{"user", store.EventFilter{UserID: u1}, []string{"r0", "r2", "r1"}},
		{"type", store.EventFilter{Type: "login.failure"}, []string{"r0", "r3"}},
		{"user and type", store.EventFilter{UserID: u1, Type: "login.failure"}, []string{"r0"}},
		{"since is inclusive", store.EventFilter{Since: base.Add(time.Minute)}, []string{"r4", "r0", "r3", "r2"}},
		{"limit keeps the newest", store.EventFilter{Limit: 2}, []string{"r4", "r0"}},
		{"everything at once", store.EventFilter{UserID: u1, Type: "login.success", Since: base, Limit: 1}, []string{"r2"}},
		{"no match", store.EventFilter{UserID: "nobody"}, nil},
		{"after the last", store.EventFilter{Since: base.Add(time.Hour)}, nil},
	}
	for _, tc := range tests {
		got, err := s.ListEvents(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: ListEvents(%+v) = %v", tc.name, tc.f, err)
		}
		var ids []string
		for _, e := range got {
			ids = append(ids, e.RequestID)
		}
		if diff := cmp.Diff(tc.want, ids); diff != "" {
			t.Errorf("%s: ListEvents(%+v) request ids (-want +got):\n%s", tc.name, tc.f, diff)
		}
	}
}

// Only events strictly before the cut go, the oldest first, at most limit a
// call.
func testDeleteEventsBefore(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := range 5 {
		mustAppendEvent(t, s, store.Event{At: base.Add(time.Duration(i) * time.Hour), Type: "signup", RequestID: fmt.Sprint("r", i)})
	}
	cut := base.Add(3 * time.Hour) // r0, r1, r2 are older; r3 is at the cut
	if n, err := s.DeleteEventsBefore(ctx, cut, 2); err != nil || n != 2 {
		t.Fatalf("DeleteEventsBefore(limit 2) = %d, %v; want 2", n, err)
	}
	left, _ := s.ListEvents(ctx, store.EventFilter{})
	if len(left) != 3 || left[len(left)-1].RequestID != "r2" {
		t.Errorf("after the first batch: %d events, the oldest %+v; want 3, the oldest r2", len(left), left[len(left)-1])
	}
	if n, err := s.DeleteEventsBefore(ctx, cut, 2); err != nil || n != 1 {
		t.Fatalf("DeleteEventsBefore(second batch) = %d, %v; want 1", n, err)
	}
	if n, err := s.DeleteEventsBefore(ctx, cut, 2); err != nil || n != 0 {
		t.Fatalf("DeleteEventsBefore(nothing left before the cut) = %d, %v; want 0", n, err)
	}
	left, _ = s.ListEvents(ctx, store.EventFilter{})
	var ids []string
	for _, e := range left {
		ids = append(ids, e.RequestID)
	}
	if diff := cmp.Diff([]string{"r4", "r3"}, ids); diff != "" {
		t.Errorf("events kept (-want +got):\n%s", diff)
	}
}
