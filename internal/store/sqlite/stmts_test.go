package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// The read pool prepares a query text once and reuses the statement; past
// its bound, and for a text that does not prepare, it runs the text.
func TestPool_prepared(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "inkan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := s.read
	for i := range 3 {
		var n int
		if err := p.QueryRowContext(ctx, "SELECT ? + 1", i).Scan(&n); err != nil || n != i+1 {
			t.Fatalf("SELECT %d + 1 = %d, %v", i, n, err)
		}
	}
	first := p.stmts["SELECT ? + 1"]
	if first == nil {
		t.Fatal("the query was not prepared")
	}
	rows, err := p.QueryContext(ctx, "SELECT ? + 1", 41)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for rows.Next() {
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	if err := rows.Close(); err != nil || n != 42 {
		t.Fatalf("QueryContext = %d, %v", n, err)
	}
	if p.stmts["SELECT ? + 1"] != first {
		t.Error("the query was prepared again")
	}

	t.Run("bounded", func(t *testing.T) {
		for i := range maxPrepared + 10 {
			var got int
			if err := p.QueryRowContext(ctx, fmt.Sprintf("SELECT %d", i)).Scan(&got); err != nil || got != i {
				t.Fatalf("SELECT %d = %d, %v", i, got, err)
			}
		}
		if len(p.stmts) > maxPrepared {
			t.Errorf("%d statements prepared, want at most %d", len(p.stmts), maxPrepared)
		}
	})
	t.Run("error from the text", func(t *testing.T) {
		var x int
		if err := p.QueryRowContext(ctx, "SELECT nothing FROM nowhere").Scan(&x); err == nil {
			t.Error("a query of a missing table succeeded")
		}
		if _, err := p.QueryContext(ctx, "SELECT nothing FROM nowhere"); err == nil {
			t.Error("a query of a missing table succeeded")
		}
	})
}
