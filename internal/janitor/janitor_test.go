package janitor_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/inkan-dev/inkan/internal/janitor"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/postgres"
	"github.com/inkan-dev/inkan/internal/store/postgres/pgtest"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
)

// A simulated week of login traffic, with an injected clock: every twenty
// minutes a burst of attempts from fresh addresses, and a sweep. The table
// stays at the size of one window's traffic instead of growing all week.
func TestJanitor_week(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inkan.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	count := func() int {
		var n int
		if err := raw.QueryRow("SELECT count(*) FROM throttles").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	policy := store.ThrottlePolicy{Free: 5, Base: time.Second, Max: 15 * time.Minute, Window: time.Hour}
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	j := &janitor.Janitor{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }, BatchSize: 7}
	const perStep = 10
	step := 20 * time.Minute
	steadyMax := perStep * int(policy.Window/step+1)
	peak := 0
	for i := 0; now.Before(time.Date(2026, 11, 8, 0, 0, 0, 0, time.UTC)); i++ {
		for k := range perStep {
			key := store.ThrottleKey{Key: fmt.Sprintf("pair:user%d|10.0.%d.%d", k, i%256, k), Policy: policy}
			if _, err := st.Take(ctx, now, key); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := j.Sweep(ctx); err != nil {
			t.Fatalf("Sweep() = %v", err)
		}
		peak = max(peak, count())
		now = now.Add(step)
	}
	if peak > steadyMax {
		t.Errorf("throttle table peaked at %d rows over a week, want at most %d (one window of traffic)", peak, steadyMax)
	}
	if n := count(); n == 0 || n > steadyMax {
		t.Errorf("throttle table ends the week with %d rows, want 1..%d", n, steadyMax)
	}
	t.Logf("a week of %d attempts every %v: peak %d rows", perStep, step, peak)
}

// The janitor deletes the events older than the retention, only them, in
// batches; with no retention it keeps every event.
func TestJanitor_eventsRetention(t *testing.T) {
	for _, b := range []struct {
		name string
		open func(t *testing.T) store.Store
	}{
		{"sqlite", func(t *testing.T) store.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "inkan.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}},
		{"postgres", func(t *testing.T) store.Store {
			st, err := postgres.Open(context.Background(), pgtest.Database(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}},
	} {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			st := b.open(t)
			now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
			const retention = 90 * 24 * time.Hour
			cut := now.Add(-retention)
			// 12 events older than the retention (a few just before the
			// cut), one exactly at it and 3 after.
			var kept []string
			for i := range 16 {
				at := cut.Add(time.Duration(i-12) * time.Hour)
				if i < 12 && i >= 9 {
					at = cut.Add(-time.Duration(12-i) * time.Microsecond)
				}
				id := fmt.Sprint("r", i)
				if !at.Before(cut) {
					kept = append([]string{id}, kept...)
				}
				if err := st.AppendEvent(ctx, store.Event{At: at, Type: "login.failure", RequestID: id}); err != nil {
					t.Fatal(err)
				}
			}
			j := &janitor.Janitor{Store: st, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }, BatchSize: 5}
			off := *j
			if _, err := off.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			if list, _ := st.ListEvents(ctx, store.EventFilter{}); len(list) != 16 {
				t.Fatalf("a sweep without retention left %d events, want all 16", len(list))
			}
			j.EventsRetention = retention
			n, err := j.Sweep(ctx)
			if err != nil || n != 12 {
				t.Fatalf("Sweep() = %d, %v; want 12 rows", n, err)
			}
			list, _ := st.ListEvents(ctx, store.EventFilter{})
			var got []string
			for _, e := range list {
				got = append(got, e.RequestID)
			}
			if fmt.Sprint(got) != fmt.Sprint(kept) {
				t.Errorf("events kept = %v, want %v", got, kept)
			}
		})
	}
}

// A sweep deletes the one-time tokens (verification, recovery, email
// change) that have expired, and keeps the others.
func TestJanitor_oneTimeTokens(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "inkan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var hashes []string
	for i := range 5 {
		u := store.User{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Name: "U", Email: fmt.Sprintf("u%d@example.com", i),
			PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		tok := store.OneTimeToken{Hash: fmt.Sprintf("%064x", i), Purpose: store.PurposeRecover, UserID: u.ID, Email: u.Email,
			CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(time.Duration(i-2) * time.Minute)} // 0, 1, 2 expired
		if err := st.CreateOneTimeToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, tok.Hash)
	}
	j := &janitor.Janitor{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }, BatchSize: 2}
	if n, err := j.Sweep(ctx); err != nil || n != 3 {
		t.Fatalf("Sweep() = %d, %v; want 3 rows", n, err)
	}
	for i, h := range hashes {
		_, err := st.GetOneTimeToken(ctx, h)
		if gone := err != nil; gone != (i <= 2) {
			t.Errorf("token %d (expires %v from now): GetOneTimeToken() = %v after a sweep", i, time.Duration(i-2)*time.Minute, err)
		}
	}
}

// A sweep deletes the second-factor challenges (logins owing a second
// factor, passkey ceremonies, with or without a user) that have expired,
// and keeps the others.
func TestJanitor_challenges(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "inkan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	u := store.User{ID: "00000000-0000-4000-8000-000000000001", Name: "U", Email: "u@example.com", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	purposes := []string{store.ChallengeLogin, store.ChallengePasskeyRegister, store.ChallengePasskeyLogin}
	var hashes []string
	for i := range 5 {
		c := store.Challenge{Hash: fmt.Sprintf("%064x", i), Purpose: purposes[i%len(purposes)], UserID: u.ID, Data: []byte("{}"),
			CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Duration(i-2) * time.Minute)} // 0, 1, 2 expired
		if c.Purpose == store.ChallengePasskeyLogin {
			c.UserID = "" // passwordless: no user yet
		}
		if err := st.CreateChallenge(ctx, c); err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, c.Hash)
	}
	j := &janitor.Janitor{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }, BatchSize: 2}
	if n, err := j.Sweep(ctx); err != nil || n != 3 {
		t.Fatalf("Sweep() = %d, %v; want 3 rows", n, err)
	}
	for i, h := range hashes {
		_, err := st.GetChallenge(ctx, h)
		if gone := err != nil; gone != (i <= 2) {
			t.Errorf("challenge %d (expires %v from now): GetChallenge() = %v after a sweep", i, time.Duration(i-2)*time.Minute, err)
		}
	}
}
