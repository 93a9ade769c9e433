package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os/user"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/inkan-dev/inkan/internal/config"
	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/postgres/pgtest"
)

// cliStores runs fn with the store flags of a fresh SQLite data dir, and of
// a fresh PostgreSQL database (with a data dir for the master key) when
// INKAN_TEST_POSTGRES names a server.
func cliStores(t *testing.T, fn func(t *testing.T, storeArgs []string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, []string{"--data-dir", dataDir(t)}) })
	t.Run("postgres", func(t *testing.T) { fn(t, []string{"--database", pgtest.Database(t), "--data-dir", dataDir(t)}) })
}

// listEvents runs inkan events --json with args and decodes its lines.
func listEvents(t *testing.T, args ...string) []eventJSON {
	t.Helper()
	out := mustInkan(t, "", append([]string{"events", "--json"}, args...)...)
	var list []eventJSON
	for line := range strings.Lines(out) {
		var e eventJSON
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("inkan events --json line %q: %v", line, err)
		}
		list = append(list, e)
	}
	return list
}

// Every change the CLI makes to users, clients and keys is recorded once,
// by the command that makes it: the user or client it concerns, the CLI's
// user agent, one request id for all the events of one command, and the
// CLI and the OS user as the actor; never the password or the secret.
func TestEvents_cli(t *testing.T) { cliStores(t, testEvents_cli) }

func testEvents_cli(t *testing.T, storeArgs []string) {
	cli := func(stdin string, args ...string) string {
		t.Helper()
		return mustInkan(t, stdin, append(args, storeArgs...)...)
	}
	var u struct{ ID string }
	if err := json.Unmarshal([]byte(cli("first secret pw\n", "users", "add", "--email", "alice@example.com", "--name", "Alice")), &u); err != nil {
		t.Fatal(err)
	}
	cli("", "users", "disable", "alice@example.com")
	cli("", "users", "enable", u.ID)
	cli("second secret pw\n", "users", "passwd", "alice@example.com")
	cli("", "users", "delete", "alice@example.com")
	var c clientJSON
	if err := json.Unmarshal([]byte(cli("", "clients", "add", "--name", "App", "--redirect-uri", "https://app.example.com/cb")), &c); err != nil {
		t.Fatal(err)
	}
	var rotated clientJSON
	if err := json.Unmarshal([]byte(cli("", "clients", "rotate-secret", c.ClientID)), &rotated); err != nil {
		t.Fatal(err)
	}
	cli("", "clients", "delete", c.ClientID)
	first := strings.TrimSpace(cli("", "keys", "generate", "--alg", "ES256"))
	second := strings.TrimSpace(cli("", "keys", "rotate"))
	// A kid may begin with "-": it goes after "--", the store's flags before.
	// The active key: second, already published, signs at once.
	mustInkan(t, "", append(append([]string{"keys", "revoke"}, storeArgs...), "--", first)...)
	cli("", "users", "list") // a read records nothing
	cli("", "clients", "list")
	cli("", "keys", "list")

	list := listEvents(t, append(storeArgs, "--limit", "0")...)
	slicesReverse(list)
	type summary struct {
		Type, UserID, ClientID string
		Detail                 map[string]string
	}
	var got []summary
	requests := map[string]string{} // request id → the first type recorded under it
	osUser := ""
	if cu, err := user.Current(); err == nil {
		osUser = cu.Username
	}
	for _, e := range list {
		if e.UserAgent != cliAgent || e.Address != "" || !strings.HasPrefix(e.RequestID, "cli-") {
			t.Errorf("event %s: agent %q, address %q, request %q; want %q, none, a cli- id", e.Type, e.UserAgent, e.Address, e.RequestID, cliAgent)
		}
		if e.Detail["actor"] != "cli" || e.Detail["os_user"] != osUser {
			t.Errorf("event %s: detail %v, want actor cli and os_user %q", e.Type, e.Detail, osUser)
		}
		if _, ok := requests[e.RequestID]; !ok {
			requests[e.RequestID] = e.Type
		}
		d := map[string]string{}
		for k, v := range e.Detail {
			switch k {
			case "actor", "os_user", "signs_from", "retiring_from":
				if _, err := time.Parse(time.RFC3339, v); k != "actor" && k != "os_user" && err != nil {
					t.Errorf("event %s: %s %q is not an RFC 3339 time", e.Type, k, v)
				}
			default:
				d[k] = v
			}
		}
		if len(d) == 0 {
			d = nil
		}
		got = append(got, summary{e.Type, e.UserID, e.ClientID, d})
	}
	want := []summary{
		{events.UserCreated, u.ID, "", nil},
		{events.UserDisabled, u.ID, "", nil},
		{events.UserEnabled, u.ID, "", nil},
		{events.PasswordChanged, u.ID, "", nil},
		{events.UserDeleted, u.ID, "", map[string]string{"email": "alice@example.com"}},
		{events.ClientAdded, c.ClientID, "", nil},
		{events.ClientSecretRotated, "", c.ClientID, nil},
		{events.ClientDeleted, "", c.ClientID, nil},
		{events.KeyAdded, "", "", map[string]string{"kid": first, "alg": "ES256"}},
		{events.KeyAdded, "", "", map[string]string{"kid": second, "alg": "RS256"}},
		{events.KeyRetired, "", "", map[string]string{"kid": first, "alg": "ES256"}},
		{events.KeyRevoked, "", "", map[string]string{"kid": first, "alg": "ES256", "was": "active"}},
	}
	want[5] = summary{events.ClientAdded, "", c.ClientID, map[string]string{"name": "App", "public": "false", "trusted": "false", "require_mfa": "false", "grants": "authorization_code,refresh_token"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	// One request id a command: rotate's key.added and key.retired share one.
	if len(requests) != len(want)-1 {
		t.Errorf("%d request ids for %d commands: %v", len(requests), len(want)-1, requests)
	}
	dump, _ := json.Marshal(list)
	for _, secret := range []string{"first secret pw", "second secret pw", c.ClientSecret, rotated.ClientSecret} {
		if strings.Contains(string(dump), secret) {
			t.Errorf("an event holds the secret %q", secret)
		}
	}
}

func slicesReverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

// inkan events filters by user (an email, or the id of a deleted user),
// type and time, keeps the newest --limit, and prints a table (the user by
// email while they exist) or JSON lines.
func TestEvents_listing(t *testing.T) {
	dir := dataDir(t)
	mustInkan(t, "", "migrate", "--data-dir", dir)
	alice, gone := "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000009"
	now := time.Now().UTC().Truncate(time.Second)
	withStore(t, dir, func(st store.Store) {
		ctx := context.Background()
		if err := st.CreateUser(ctx, store.User{ID: alice, Name: "Alice", Email: "alice@example.com", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		for _, e := range []store.Event{
			{At: now.Add(-72 * time.Hour), Type: events.Signup, UserID: gone, Address: "198.51.100.1", RequestID: "r-old"},
			{At: now.Add(-30 * time.Hour), Type: events.UserDeleted, UserID: gone, RequestID: "r-deleted", Detail: map[string]string{"email": "gone@example.com"}},
			{At: now.Add(-2 * time.Hour), Type: events.LoginFailure, UserID: alice, Address: "203.0.113.5", UserAgent: "Mozilla/5.0 (X11)", RequestID: "r-fail", Detail: map[string]string{"reason": "wrong_password"}},
			{At: now.Add(-time.Hour), Type: events.LoginSuccess, UserID: alice, ClientID: "app", Address: "203.0.113.5", UserAgent: "Mozilla/5.0 (X11)", RequestID: "r-ok"},
			{At: now.Add(-time.Minute), Type: events.LoginFailure, Address: "192.0.2.9", RequestID: "r-unknown", Detail: map[string]string{"reason": "unknown_user", "note": "two words"}},
		} {
			if err := st.AppendEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
	})
	ids := func(args ...string) []string {
		t.Helper()
		var out []string
		for _, e := range listEvents(t, append([]string{"--data-dir", dir}, args...)...) {
			out = append(out, e.RequestID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"all, newest first", nil, []string{"r-unknown", "r-ok", "r-fail", "r-deleted", "r-old"}},
		{"a type of none", []string{"--type", events.UserCreated}, nil},
		{"user by email", []string{"--user", "Alice@Example.com"}, []string{"r-ok", "r-fail"}},
		{"user by id", []string{"--user", alice}, []string{"r-ok", "r-fail"}},
		{"a deleted user by id", []string{"--user", gone}, []string{"r-deleted", "r-old"}},
		{"type", []string{"--type", "login.failure"}, []string{"r-unknown", "r-fail"}},
		{"user and type", []string{"--user", alice, "--type", "login.failure"}, []string{"r-fail"}},
		{"since a duration", []string{"--since", "24h"}, []string{"r-unknown", "r-ok", "r-fail"}},
		{"since days", []string{"--since", "2d"}, []string{"r-unknown", "r-ok", "r-fail", "r-deleted"}},
		{"since a time", []string{"--since", now.Add(-90 * time.Minute).Format(time.RFC3339)}, []string{"r-unknown", "r-ok"}},
		{"limit", []string{"--limit", "2"}, []string{"r-unknown", "r-ok"}},
		{"everything", []string{"--user", "alice@example.com", "--type", "login.success", "--since", "3h", "--limit", "5"}, []string{"r-ok"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ids(tc.args...)); diff != "" {
				t.Errorf("inkan events %q (-want +got):\n%s", tc.args, diff)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		out := mustInkan(t, "", "events", "--data-dir", dir, "--json", "--limit", "2", "--since", "90m")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 {
			t.Fatalf("--json printed %d lines, want 2:\n%s", len(lines), out)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[1]), &m); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"id": float64(4), "time": now.Add(-time.Hour).Format(time.RFC3339), "type": "login.success", "user_id": alice,
			"client_id": "app", "address": "203.0.113.5", "user_agent": "Mozilla/5.0 (X11)", "request_id": "r-ok"}
		if diff := cmp.Diff(want, m); diff != "" {
			t.Errorf("--json line (-want +got):\n%s", diff)
		}
	})

	t.Run("table", func(t *testing.T) {
		out := mustInkan(t, "", "events", "--data-dir", dir)
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if len(lines) != 6 {
			t.Fatalf("table has %d lines, want a header and 5 rows:\n%s", len(lines), out)
		}
		header := strings.Fields(lines[0])
		if diff := cmp.Diff([]string{"TIME", "TYPE", "USER", "CLIENT", "ADDRESS", "REQUEST", "ID", "DETAIL", "USER", "AGENT"}, header); diff != "" {
			t.Errorf("header (-want +got):\n%s", diff)
		}
		for i, want := range [][]string{
			{now.Add(-time.Minute).Format(time.RFC3339), "login.failure", "-", "-", "192.0.2.9", "r-unknown", `note="two`, `words"`, "reason=unknown_user", "-"},
			{now.Add(-time.Hour).Format(time.RFC3339), "login.success", "alice@example.com", "app", "203.0.113.5", "r-ok", "-", "Mozilla/5.0", "(X11)"},
			{now.Add(-2 * time.Hour).Format(time.RFC3339), "login.failure", "alice@example.com", "-", "203.0.113.5", "r-fail", "reason=wrong_password", "Mozilla/5.0", "(X11)"},
			{now.Add(-30 * time.Hour).Format(time.RFC3339), "user.deleted", gone, "-", "-", "r-deleted", "email=gone@example.com", "-"},
		} {
			if diff := cmp.Diff(want, strings.Fields(lines[i+1])); diff != "" {
				t.Errorf("row %d (-want +got):\n%s", i+1, diff)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			args []string
			want string // in the error
		}{
			{"unknown type", []string{"--type", "login"}, `--type "login" is not an event type: use one of signup, login.success`},
			{"bad since", []string{"--since", "yesterday"}, `--since: "yesterday" is neither a duration`},
			{"negative since", []string{"--since", "-1h"}, "negative"},
			{"bad days", []string{"--since", "1.5d"}, "count of days"},
			{"negative limit", []string{"--limit", "-1"}, "--limit -1"},
			{"several at once", []string{"--type", "x", "--limit", "-1"}, "--limit -1"},
			{"argument", []string{"alice@example.com"}, "events takes no arguments"},
			{"control character", []string{"--user", "a\x01@example.com"}, "control characters"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, stderr, err := runInkan(t, "", append([]string{"events", "--data-dir", dir}, tc.args...)...)
				if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("inkan events %q = %v\n%s\nwant a usage error with %q", tc.args, err, stderr, tc.want)
				}
			})
		}
		_, _, err := runInkan(t, "", "events", "--data-dir", dir, "--user", "nobody@example.com")
		if err == nil || errors.Is(err, errUsage) || !strings.Contains(err.Error(), `no user with email "nobody@example.com"`) || !strings.Contains(err.Error(), "under their id") {
			t.Errorf("inkan events --user of an unknown email = %v, want an error saying deleted users are found by id", err)
		}
	})
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"24h", now.Add(-24 * time.Hour)},
		{"90m", now.Add(-90 * time.Minute)},
		{"0s", now},
		{"7d", now.Add(-7 * 24 * time.Hour)},
		{"0d", now},
		{"2026-11-01T09:00:00Z", time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)},
		{"2026-11-01T09:00:00+09:00", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-11-01T09:00:00.5Z", time.Date(2026, 11, 1, 9, 0, 0, 5e8, time.UTC)},
	} {
		got, err := parseSince(tc.in, now)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "d", "-1d", "1.5d", "99999999d", "-24h", "yesterday", "2026-11-01", "2026-11-01 09:00:00"} {
		if got, err := parseSince(bad, now); err == nil {
			t.Errorf("parseSince(%q) = %v, want an error", bad, got)
		}
	}
}

// A running server records its events in the store the CLI lists, with the
// client's address, and counts them in /metrics.
func TestEvents_serve(t *testing.T) {
	dir := dataDir(t)
	p := startInkan(t, dir, nil, "--events-retention", "30d")
	p.register(t, "Alice", "alice@example.com", "correct horse battery")
	p.login(t, "alice@example.com", "correct horse battery")
	if code, _, _ := call(t, "POST", p.base+"/user/_authenticate", "", "Authorization", basicAuth("alice@example.com", "wrong"), "User-Agent", "probe/1", "X-Request-Id", "probe-1"); code != 401 {
		t.Fatalf("wrong password = %d, want 401", code)
	}
	list := listEvents(t, "--data-dir", dir, "--user", "alice@example.com")
	var types []string
	for _, e := range list {
		types = append(types, e.Type)
		if e.Address != "127.0.0.1" {
			t.Errorf("event %s from %q, want 127.0.0.1", e.Type, e.Address)
		}
	}
	if diff := cmp.Diff([]string{events.LoginFailure, events.LoginSuccess, events.Signup}, types); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	if e := list[0]; e.UserAgent != "probe/1" || e.RequestID != "probe-1" || e.Detail["reason"] != "wrong_password" {
		t.Errorf("the failed login's event = %+v, want probe/1, probe-1 and its reason", e)
	}
	resp, err := http.Get(p.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range []string{`inkan_events_total{type="signup"} 1`, `inkan_events_total{type="login.failure"} 1`} {
		if !strings.Contains(string(body), line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
	if strings.Contains(p.logText(), "record audit event") {
		t.Errorf("the server logged a failure to record an event:\n%s", p.logText())
	}
}

// serve's janitor deletes the events older than --events-retention, and
// none when it is 0.
func TestServe_janitorRetention(t *testing.T) {
	for _, tc := range []struct {
		retention string
		want      []string
	}{
		{"default", []string{"new", "recent"}}, // 90 days
		{"7d", []string{"new"}},
		{"0", []string{"new", "recent", "old"}},
	} {
		t.Run("retention "+tc.retention, func(t *testing.T) {
			cfg := config.Default()
			fs := newFlags(stdio{errOut: io.Discard}, "serve", "serve")
			cfg.Register(fs, config.ServeSettings...)
			args := []string{}
			if tc.retention != "default" {
				args = append(args, "--events-retention", tc.retention)
			}
			if _, err := config.Parse(fs, args, func(string) string { return "" }); err != nil {
				t.Fatal(err)
			}
			withStore(t, t.TempDir(), func(st store.Store) {
				ctx := context.Background()
				now := time.Now()
				for id, age := range map[string]time.Duration{"new": time.Hour, "recent": 30 * 24 * time.Hour, "old": 100 * 24 * time.Hour} {
					if err := st.AppendEvent(ctx, store.Event{At: now.Add(-age), Type: events.Signup, RequestID: id}); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := newJanitor(cfg, st, slog.New(slog.DiscardHandler)).Sweep(ctx); err != nil {
					t.Fatal(err)
				}
				list, _ := st.ListEvents(ctx, store.EventFilter{})
				var got []string
				for _, e := range list {
					got = append(got, e.RequestID)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("events kept (-want +got):\n%s", diff)
				}
			})
		})
	}
}
