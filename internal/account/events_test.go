package account

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/store"
)

// eventsOf returns the type, user and detail of every stored event, oldest
// first, and their count.
func eventsOf(t *testing.T, st store.Store) []store.Event {
	t.Helper()
	list, err := st.ListEvents(context.Background(), store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]store.Event, 0, len(list))
	for i := len(list) - 1; i >= 0; i-- {
		e := list[i]
		out = append(out, store.Event{Type: e.Type, UserID: e.UserID, Detail: e.Detail, RequestID: e.RequestID})
	}
	return out
}

// Each of the service's outcomes records its one event, with the user it
// concerns and, for a failure, its reason; the request's fields come from
// the context.
func TestService_events(t *testing.T) {
	policy := store.ThrottlePolicy{Free: 3, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	var f *fixture
	f = mustFixture(t, func(o *Options) {
		o.AccountPolicy = policy
		o.Events = events.New(events.Options{Store: o.Store.(store.Store), Now: func() time.Time { return f.Now() }})
	})
	ctx := events.WithRequest(context.Background(), from.String(), "test-agent", "req-1")
	alice, err := f.svc.Register(ctx, SignupInput{Name: "Alice", Email: "alice@example.com", Password: "correct horse"}, from)
	if err != nil {
		t.Fatal(err)
	}
	bob := mustUser(t, f, "bob@example.com", "battery staple") // Create, as the CLI does: no event of its own
	if _, err := f.svc.Authenticate(ctx, "alice@example.com", "correct horse", from); err != nil {
		t.Fatal(err)
	}
	_, _ = f.svc.Authenticate(ctx, "alice@example.com", "wrong horse", from)
	_, _ = f.svc.Authenticate(ctx, "nobody@example.com", "correct horse", from)
	_, _ = f.svc.Authenticate(ctx, "al\x01ice@example.com", "correct horse", from)
	if _, err := f.svc.Disable(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	_, _ = f.svc.Authenticate(ctx, "bob@example.com", "battery staple", from)
	if _, err := f.svc.Enable(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetPassword(ctx, bob.ID, "new battery staple"); err != nil {
		t.Fatal(err)
	}
	// alice's account counter: 1 failure above, then 2 more spend the free 3.
	_, _ = f.svc.Authenticate(ctx, "alice@example.com", "guess", from)
	_, _ = f.svc.Authenticate(ctx, "alice@example.com", "guess", from)
	_, _ = f.svc.Authenticate(ctx, "alice@example.com", "guess", from)
	if err := f.svc.Delete(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Delete(ctx, bob.ID); err == nil {
		t.Fatal("Delete(a deleted user) = nil, want an error")
	}
	r := func(reason string) map[string]string { return map[string]string{"reason": reason} }
	want := []store.Event{
		{Type: events.Signup, UserID: alice.ID},
		{Type: events.LoginSuccess, UserID: alice.ID},
		{Type: events.LoginFailure, UserID: alice.ID, Detail: r("wrong_password")},
		{Type: events.LoginFailure, Detail: r("unknown_user")},
		{Type: events.LoginFailure, Detail: r("malformed_email")},
		{Type: events.UserDisabled, UserID: bob.ID},
		{Type: events.LoginFailure, UserID: bob.ID, Detail: r("disabled")},
		{Type: events.UserEnabled, UserID: bob.ID},
		{Type: events.PasswordChanged, UserID: bob.ID},
		{Type: events.LoginFailure, UserID: alice.ID, Detail: r("wrong_password")},
		{Type: events.LoginFailure, UserID: alice.ID, Detail: r("wrong_password")},
		{Type: events.LoginThrottled, UserID: alice.ID, Detail: map[string]string{"retry_after_s": "60"}},
		{Type: events.UserDeleted, UserID: bob.ID, Detail: map[string]string{"email": "bob@example.com"}},
	}
	got := eventsOf(t, f.store)
	for i := range got {
		if got[i].RequestID != "req-1" {
			t.Errorf("event %d (%s) has request id %q, want req-1", i, got[i].Type, got[i].RequestID)
		}
		got[i].RequestID = ""
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
