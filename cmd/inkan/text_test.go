package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/inkan-dev/inkan/internal/store/postgres/pgtest"
)

// NUL (which an in-process run can pass, argv cannot), other control
// bytes and invalid UTF-8 in an identifier argument are usage errors that
// say so, on PostgreSQL (whose text type refuses NUL and invalid UTF-8) as
// on SQLite, never the database's error.
func TestCLI_controlBytes(t *testing.T) {
	for _, backend := range []struct {
		name  string
		store func(t *testing.T) []string
	}{
		{"sqlite", func(t *testing.T) []string { return []string{"--data-dir", dataDir(t)} }},
		{"postgres", func(t *testing.T) []string {
			return []string{"--database", pgtest.Database(t), "--data-dir", dataDir(t)}
		}},
	} {
		t.Run(backend.name, func(t *testing.T) {
			st := backend.store(t)
			mustInkan(t, "", append([]string{"migrate"}, st...)...)
			for _, bad := range []string{"\x00", "\x01", "\xff"} {
				x := "x" + bad + "y"
				for _, args := range [][]string{
					{"keys", "revoke", x},
					{"clients", "delete", x},
					{"clients", "rotate-secret", x},
					{"clients", "add", "--name", x, "--redirect-uri", "https://app.example.com/cb"},
					{"clients", "add", "--name", "A", "--redirect-uri", "https://app.example.com/" + x},
					{"clients", "add", "--name", "A", "--redirect-uri", "https://app.example.com/cb", "--audience", x},
					{"users", "disable", x + "@example.com"},
					{"users", "delete", x},
					{"users", "add", "--email", x + "@example.com", "--name", "A"},
					{"users", "add", "--email", "a@example.com", "--name", x},
				} {
					args := append(args, st...)
					out, err := inkan(t, "correct horse\n", args...)
					if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "control characters") && !strings.Contains(err.Error(), "UTF-8") {
						t.Errorf("inkan %q = %v\n%s\nwant a usage error about control characters or UTF-8", args, err, out)
					}
				}
			}
		})
	}
}
