package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/inkan-dev/inkan/internal/store"
)

var mailTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"mail round trip", testMailRoundTrip},
	{"mail claim", testMailClaim},
	{"mail retry", testMailRetry},
	{"mail fail", testMailFail},
	{"mail sent", testMailSent},
}

func newMail(i int, due time.Time) store.Mail {
	return store.Mail{
		ID:        fmt.Sprintf("mail-%03d", i),
		To:        fmt.Sprintf("user%d@example.com", i),
		Kind:      "verify",
		Subject:   "Confirm ✓ your email",
		Text:      "Open https://id.example.com/verify?token=t" + fmt.Sprint(i),
		HTML:      `<p>Open <a href="https://id.example.com/verify?token=t">the link</a></p>`,
		CreatedAt: base.Add(time.Duration(i) * time.Second),
		DueAt:     due,
	}
}

func mustEnqueueMail(tb testing.TB, s store.Store, m store.Mail) {
	tb.Helper()
	if err := s.EnqueueMail(context.Background(), m); err != nil {
		tb.Fatalf("EnqueueMail(%s) = %v", m.ID, err)
	}
}

func mustGetMail(tb testing.TB, s store.Store, id string) store.Mail {
	tb.Helper()
	m, err := s.GetMail(context.Background(), id)
	if err != nil {
		tb.Fatalf("GetMail(%s) = %v", id, err)
	}
	return m
}

func mailIDs(list []store.Mail) []string {
	ids := []string{}
	for _, m := range list {
		ids = append(ids, m.ID)
	}
	return ids
}

func testMailRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	want := newMail(1, base)
	want.Attempts = 2
	want.LastError = "451 try later"
	mustEnqueueMail(t, s, want)
	if got := mustGetMail(t, s, want.ID); !cmp.Equal(got, want) {
		t.Errorf("GetMail() mismatch (-want +got):\n%s", cmp.Diff(want, got))
	}
	if err := s.EnqueueMail(ctx, want); !errors.Is(err, store.ErrConflict) {
		t.Errorf("EnqueueMail(same id) = %v, want %v", err, store.ErrConflict)
	}
	if _, err := s.GetMail(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetMail(missing) = %v, want %v", err, store.ErrNotFound)
	}
	if c, err := s.CountMail(ctx); err != nil || c != (store.MailCounts{Pending: 1}) {
		t.Errorf("CountMail() = %+v, %v; want 1 pending", c, err)
	}
}

// A claim takes what is due, the oldest first, puts it off by the lease,
// and leaves it to no other claim until then.
func testMailClaim(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustEnqueueMail(t, s, newMail(3, base))
	mustEnqueueMail(t, s, newMail(1, base.Add(time.Minute)))
	mustEnqueueMail(t, s, newMail(2, base.Add(time.Minute)))
	mustEnqueueMail(t, s, newMail(4, base.Add(2*time.Hour)))
	now := base.Add(time.Minute)
	const lease = 10 * time.Minute

	got, err := s.ClaimMail(ctx, now, lease, 2)
	if err != nil {
		t.Fatalf("ClaimMail() = %v", err)
	}
	// The earliest due are taken (3 at base, then 1 before 2); returned oldest first.
	if ids := mailIDs(got); !cmp.Equal(ids, []string{"mail-001", "mail-003"}) {
		t.Errorf("ClaimMail(limit 2) = %v, want [mail-001 mail-003]", ids)
	}
	for _, m := range got {
		if want := now.Add(lease); !m.DueAt.Equal(want) {
			t.Errorf("claimed %s DueAt = %v, want %v", m.ID, m.DueAt, want)
		}
		if stored := mustGetMail(t, s, m.ID); !stored.DueAt.Equal(now.Add(lease)) || stored.Attempts != 0 {
			t.Errorf("stored %s after claim = due %v, %d attempts; want due %v, 0 attempts", m.ID, stored.DueAt, stored.Attempts, now.Add(lease))
		}
		if m.Text == "" || m.HTML == "" || m.Subject == "" || m.To == "" {
			t.Errorf("claimed %s lacks a field: %+v", m.ID, m)
		}
	}
	got, err = s.ClaimMail(ctx, now, lease, 10)
	if ids := mailIDs(got); err != nil || !cmp.Equal(ids, []string{"mail-002"}) {
		t.Errorf("ClaimMail() again = %v, %v; want [mail-002]: the others are leased", ids, err)
	}
	if got, err := s.ClaimMail(ctx, now.Add(lease-time.Microsecond), lease, 10); err != nil || len(got) != 0 {
		t.Errorf("ClaimMail() within the lease = %v, %v; want none", mailIDs(got), err)
	}
	got, err = s.ClaimMail(ctx, now.Add(lease), lease, 10)
	if ids := mailIDs(got); err != nil || !cmp.Equal(ids, []string{"mail-001", "mail-002", "mail-003"}) {
		t.Errorf("ClaimMail() when the lease ends = %v, %v; want all three again", ids, err)
	}
}

func testMailRetry(t *testing.T, s store.Store) {
	ctx := context.Background()
	m := newMail(1, base)
	mustEnqueueMail(t, s, m)
	next := base.Add(90 * time.Second)
	if err := s.RetryMail(ctx, m.ID, 3, "550 mailbox unavailable", next); err != nil {
		t.Fatalf("RetryMail() = %v", err)
	}
	want := m
	want.Attempts, want.LastError, want.DueAt = 3, "550 mailbox unavailable", next
	if got := mustGetMail(t, s, m.ID); !cmp.Equal(got, want) {
		t.Errorf("after RetryMail() (-want +got):\n%s", cmp.Diff(want, got))
	}
	if got, _ := s.ClaimMail(ctx, next.Add(-time.Microsecond), time.Minute, 10); len(got) != 0 {
		t.Errorf("ClaimMail() before the retry = %v, want none", mailIDs(got))
	}
	if got, _ := s.ClaimMail(ctx, next, time.Minute, 10); len(got) != 1 {
		t.Errorf("ClaimMail() at the retry = %v, want it", mailIDs(got))
	}
	if err := s.RetryMail(ctx, "missing", 1, "", next); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RetryMail(missing) = %v, want %v", err, store.ErrNotFound)
	}
}

// Mail given up stays, without its bodies, and is never claimed.
func testMailFail(t *testing.T, s store.Store) {
	ctx := context.Background()
	m := newMail(1, base)
	mustEnqueueMail(t, s, m)
	mustEnqueueMail(t, s, newMail(2, base))
	at := base.Add(time.Hour)
	if err := s.FailMail(ctx, m.ID, 8, "554 rejected", at); err != nil {
		t.Fatalf("FailMail() = %v", err)
	}
	want := m
	want.Attempts, want.LastError, want.FailedAt, want.Text, want.HTML = 8, "554 rejected", at, "", ""
	if got := mustGetMail(t, s, m.ID); !cmp.Equal(got, want) {
		t.Errorf("after FailMail() (-want +got):\n%s", cmp.Diff(want, got))
	}
	if got, _ := s.ClaimMail(ctx, at.Add(24*time.Hour), time.Minute, 10); !cmp.Equal(mailIDs(got), []string{"mail-002"}) {
		t.Errorf("ClaimMail() = %v, want only the pending mail-002", mailIDs(got))
	}
	for name, err := range map[string]error{
		"RetryMail(failed)": s.RetryMail(ctx, m.ID, 9, "", at),
		"FailMail(failed)":  s.FailMail(ctx, m.ID, 9, "", at),
		"FailMail(missing)": s.FailMail(ctx, "missing", 1, "", at),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s = %v, want %v", name, err, store.ErrNotFound)
		}
	}
	if c, err := s.CountMail(ctx); err != nil || c != (store.MailCounts{Pending: 1, Failed: 1}) {
		t.Errorf("CountMail() = %+v, %v; want 1 pending, 1 failed", c, err)
	}
}

func testMailSent(t *testing.T, s store.Store) {
	ctx := context.Background()
	m := newMail(1, base)
	mustEnqueueMail(t, s, m)
	if err := s.MarkMailSent(ctx, m.ID); err != nil {
		t.Fatalf("MarkMailSent() = %v", err)
	}
	if _, err := s.GetMail(ctx, m.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetMail(sent) = %v, want %v", err, store.ErrNotFound)
	}
	if err := s.MarkMailSent(ctx, m.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MarkMailSent(again) = %v, want %v", err, store.ErrNotFound)
	}
	if c, err := s.CountMail(ctx); err != nil || c != (store.MailCounts{}) {
		t.Errorf("CountMail() = %+v, %v; want none", c, err)
	}
}

// Senders claiming at once share the due mail out: each message is
// claimed by exactly one of them.
func testConcurrentMailClaim(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n, workers = 60, 6
	for i := range n {
		mustEnqueueMail(t, s, newMail(i, base))
	}
	var mu sync.Mutex
	claimed := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for {
				got, err := s.ClaimMail(ctx, base, time.Hour, 4)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					claimed[m.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("ClaimMail() = %v", err)
	}
	if len(claimed) != n {
		t.Errorf("claimed %d distinct messages, want %d", len(claimed), n)
	}
	for id, k := range claimed {
		if k != 1 {
			t.Errorf("%s claimed %d times, want once", id, k)
		}
	}
}
