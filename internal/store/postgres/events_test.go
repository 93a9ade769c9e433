package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/postgres/pgtest"
)

// The events table is append-only: the database itself refuses an UPDATE
// (deletes, for retention, are allowed).
func TestEvents_appendOnly(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AppendEvent(ctx, store.Event{At: time.Unix(1, 0), Type: "login.failure", UserID: "u1"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.pool.Exec(ctx, "UPDATE events SET type = 'login.success'")
	if err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("UPDATE events = %v, want the append-only refusal", err)
	}
	if n, err := s.DeleteEventsBefore(ctx, time.Unix(2, 0), 10); err != nil || n != 1 {
		t.Errorf("DeleteEventsBefore() = %d, %v; want 1", n, err)
	}
}
