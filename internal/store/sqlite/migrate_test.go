package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
)

// Migration 00010 gives the sessions of an existing database an ID, moves
// the codes and refresh tokens to it, and remembers their clients, so that
// a logout right after the upgrade ends them and notifies the clients.
func TestMigrate_00010sessionIDs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inkan.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fsys, _ := fs.Sub(migrations, "migrations")
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 8); err != nil {
		t.Fatalf("migrate to 8: %v", err)
	}
	for _, q := range []string{
		`INSERT INTO users (id, name, email, password_hash, created_at, updated_at) VALUES ('u1', 'A', 'a@example.com', 'x', 0, 0)`,
		`INSERT INTO clients (id, name, secret_hash, public, redirect_uris, post_logout_redirect_uris, grants, scopes, audience, trusted, created_at, updated_at)
		 VALUES ('c1', 'C', x'', 0, '[]', '[]', '[]', '[]', '[]', 0, 0, 0)`,
		`INSERT INTO sessions (hash, user_id, auth_time, created_at, expires_at) VALUES ('h1', 'u1', 0, 0, 1), ('h2', 'u1', 0, 0, 1)`,
		`INSERT INTO auth_codes (hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge, session_id, family, auth_time, created_at, expires_at)
		 VALUES ('code1', 'c1', 'u1', '', '', '', '', 'h1', 'f', 0, 0, 1)`,
		`INSERT INTO refresh_tokens (hash, family, client_id, user_id, scope, session_id, auth_time, created_at, expires_at)
		 VALUES ('rt1', 'f', 'c1', 'u1', '', 'h1', 0, 0, 1), ('rt-gone', 'f', 'c1', 'u1', '', 'expired-session', 0, 0, 1), ('rt-pw', 'f', 'c1', 'u1', '', '', 0, 0, 1)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	s1, err := s.GetSession(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := s.GetSession(ctx, "h2")
	if len(s1.ID) != 32 || s1.ID == s2.ID {
		t.Errorf("session IDs after the migration = %q, %q; want two distinct random ones", s1.ID, s2.ID)
	}
	if c, _ := s.GetAuthCode(ctx, "code1"); c.SessionID != s1.ID {
		t.Errorf("code's session = %q, want %q", c.SessionID, s1.ID)
	}
	for hash, want := range map[string]string{"rt1": s1.ID, "rt-gone": "", "rt-pw": ""} {
		if rt, _ := s.GetRefreshToken(ctx, hash); rt.SessionID != want {
			t.Errorf("refresh token %s's session = %q, want %q", hash, rt.SessionID, want)
		}
	}
	if _, err := s.write.ExecContext(ctx, "UPDATE clients SET backchannel_logout_uri = 'https://c1.example.com/logout'"); err != nil {
		t.Fatal(err)
	}
	if err := s.EndSession(ctx, s1.ID, "u1", time.Unix(0, 0)); err != nil {
		t.Fatalf("EndSession() = %v", err)
	}
	if _, err := s.GetAuthCode(ctx, "code1"); err == nil {
		t.Error("the code of the ended session is still there")
	}
	if q, _ := s.ListBackchannelLogouts(ctx, time.Unix(0, 0), 10); len(q) != 1 || q[0].ClientID != "c1" {
		t.Errorf("queued logouts = %+v, want c1's", q)
	}

	s.Close()

	// Down again: the session hashes are back in the refresh tokens.
	if _, err := p.DownTo(ctx, 8); err != nil {
		t.Fatalf("migrate down to 8: %v", err)
	}
	var sid string
	if err := db.QueryRowContext(ctx, "SELECT session_id FROM refresh_tokens WHERE hash = 'rt-pw'").Scan(&sid); err != nil || sid != "" {
		t.Errorf("after down: %q, %v", sid, err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO sessions (hash, user_id, auth_time, created_at, expires_at) VALUES ('h3', 'u1', 0, 0, 1)"); err != nil {
		t.Errorf("after down, a session of the old schema: %v", err)
	}
}

// Migration 00016 gives the sessions of an existing database an empty user
// agent and address, which the account page shows as unknown, and goes
// down again.
func TestMigrate_00016sessionMetadata(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inkan.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fsys, _ := fs.Sub(migrations, "migrations")
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 12); err != nil {
		t.Fatalf("migrate to 12: %v", err)
	}
	for _, q := range []string{
		`INSERT INTO users (id, name, email, password_hash, created_at, updated_at) VALUES ('u1', 'A', 'a@example.com', 'x', 0, 0)`,
		`INSERT INTO sessions (hash, id, user_id, auth_time, created_at, expires_at) VALUES ('h1', 's1', 'u1', 0, 0, 1)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	if se, err := s.GetSession(ctx, "h1"); err != nil || se.ID != "s1" || se.UserAgent != "" || se.Address != "" {
		t.Errorf("GetSession(from before 00016) = %+v, %v; want it with no user agent or address", se, err)
	}
	s.Close()
	if _, err := p.DownTo(ctx, 12); err != nil {
		t.Fatalf("migrate down to 12: %v", err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO sessions (hash, id, user_id, auth_time, created_at, expires_at) VALUES ('h2', 's2', 'u1', 0, 0, 1)"); err != nil {
		t.Errorf("after down, a session of the old schema: %v", err)
	}
}
