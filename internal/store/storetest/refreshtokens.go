package storetest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/inkan-dev/inkan/internal/store"
)

func testRefreshTokenRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, u := mustGrantee(t, s)
	want := newRefreshToken(1, c, u)
	want.CreatedAt = want.CreatedAt.In(time.FixedZone("JST", 9*3600))
	mustCreateRefreshToken(t, s, want)
	used := newRefreshToken(2, c, u)
	used.UsedAt = base.Add(time.Minute)
	mustCreateRefreshToken(t, s, used)
	for _, w := range []store.RefreshToken{want, used} {
		got, err := s.GetRefreshToken(ctx, w.Hash)
		if err != nil {
			t.Fatalf("GetRefreshToken(%s) = %v", w.Hash, err)
		}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("GetRefreshToken(%s) mismatch (-want +got):\n%s", w.Hash, diff)
		}
		if got.CreatedAt.Location() != time.UTC {
			t.Errorf("GetRefreshToken(%s) CreatedAt = %v, want UTC", w.Hash, got.CreatedAt)
		}
	}
	if err := s.CreateRefreshToken(ctx, want); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateRefreshToken(duplicate) = %v, want %v", err, store.ErrConflict)
	}
	if _, err := s.GetRefreshToken(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRefreshToken(missing) = %v, want %v", err, store.ErrNotFound)
	}
	orphan := newRefreshToken(3, c, u)
	orphan.UserID = "missing"
	if err := s.CreateRefreshToken(ctx, orphan); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateRefreshToken(unknown user) = %v, want %v", err, store.ErrNotFound)
	}
}

// Twenty parallel rotations of one refresh token: exactly one sees it
// unused, and its successor is stored once.
func testConcurrentRotateRefreshToken(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, u := mustGrantee(t, s)
	rt := newRefreshToken(1, c, u)
	mustCreateRefreshToken(t, s, rt)
	next := newRefreshToken(2, c, u)
	const n = 20
	var mu sync.Mutex
	var first []time.Time  // the now of each call that saw the token unused
	var usedAt []time.Time // the UsedAt the others saw
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			now := base.Add(time.Hour + time.Duration(i+1)*time.Millisecond)
			got, err := s.RotateRefreshToken(ctx, rt.Hash, now, next)
			if err != nil {
				t.Errorf("RotateRefreshToken() = %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if got.UsedAt.IsZero() {
				first = append(first, now)
			} else {
				usedAt = append(usedAt, got.UsedAt)
			}
		})
	}
	wg.Wait()
	if len(first) != 1 {
		t.Fatalf("%d parallel uses: %d saw the token unused, want 1", n, len(first))
	}
	stored, err := s.GetRefreshToken(ctx, rt.Hash)
	if err != nil {
		t.Fatalf("GetRefreshToken() = %v", err)
	}
	if !stored.UsedAt.Equal(first[0]) {
		t.Errorf("stored UsedAt = %v, want the first use's %v", stored.UsedAt, first[0])
	}
	var wrong []string
	for _, ua := range usedAt {
		if !ua.Equal(first[0]) {
			wrong = append(wrong, ua.String())
		}
	}
	if len(wrong) > 0 {
		t.Errorf("later uses saw UsedAt %s, want %v", strings.Join(wrong, ", "), first[0])
	}
	if _, err := s.GetRefreshToken(ctx, next.Hash); err != nil {
		t.Errorf("successor after parallel rotations: %v", err)
	}
}

func testRotateRefreshToken(t *testing.T, s store.Store) {
	ctx := context.Background()
	c, u := mustGrantee(t, s)
	rt := newRefreshToken(1, c, u)
	mustCreateRefreshToken(t, s, rt)
	next := newRefreshToken(2, c, u)
	now := rt.CreatedAt.Add(time.Minute)
	before, err := s.RotateRefreshToken(ctx, rt.Hash, now, next)
	if err != nil {
		t.Fatalf("RotateRefreshToken() = %v", err)
	}
	if diff := cmp.Diff(rt, before); diff != "" {
		t.Errorf("RotateRefreshToken() mismatch, want the token as before (-want +got):\n%s", diff)
	}
	if stored, _ := s.GetRefreshToken(ctx, rt.Hash); !stored.UsedAt.Equal(now) {
		t.Errorf("stored UsedAt after rotation = %v, want %v", stored.UsedAt, now)
	}
	if got, err := s.GetRefreshToken(ctx, next.Hash); err != nil || !cmp.Equal(got, next, cmpopts.EquateEmpty()) {
		t.Errorf("successor = %+v, %v; want %+v", got, err, next)
	}
	again, err := s.RotateRefreshToken(ctx, rt.Hash, now.Add(time.Second), next)
	if err != nil || !again.UsedAt.Equal(now) {
		t.Errorf("second RotateRefreshToken() = %+v, %v; want UsedAt of the first rotation and no error", again, err)
	}
	missing := newRefreshToken(3, c, u)
	if _, err := s.RotateRefreshToken(ctx, "missing", now, missing); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RotateRefreshToken(missing) = %v, want %v", err, store.ErrNotFound)
	}
	if _, err := s.GetRefreshToken(ctx, missing.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a rotation of a missing token inserted its successor: %v", err)
	}
}
