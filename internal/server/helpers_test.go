package server

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/password"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/postgres"
	"github.com/inkan-dev/inkan/internal/store/postgres/pgtest"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// cheap are argon2id parameters for tests; one end-to-end test in cmd/inkan
// uses the real ones.
var cheap = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// countingHasher counts hash computations, to show that an unknown email
// costs what a known one does.
type countingHasher struct {
	h              *password.Hasher
	hashes, checks atomic.Int64
}

func (c *countingHasher) Hash(ctx context.Context, pw string) (string, error) {
	c.hashes.Add(1)
	return c.h.Hash(ctx, pw)
}

// Dummy is the real hasher's: no computation.
func (c *countingHasher) Dummy() (string, error) { return c.h.Dummy() }

func (c *countingHasher) Verify(ctx context.Context, encoded, pw string) (bool, bool, error) {
	c.checks.Add(1)
	return c.h.Verify(ctx, encoded, pw)
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const testIssuer = "https://inkan.test"

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

type harness struct {
	srv    *Server
	store  store.Store
	keys   *keys.Set
	hasher *countingHasher
	clock  *clock
	priv   crypto.Signer // the fixed signing key
	kid    string
}

type harnessOption func(*Options)

func withSignup(on bool) harnessOption { return func(o *Options) { o.Accounts.Signup = on } }

func withOptions(f func(*Options)) harnessOption { return harnessOption(f) }

// backends runs fn on SQLite, and on PostgreSQL when INKAN_TEST_POSTGRES
// names a server (.ci/run always sets it); opt selects the backend.
func backends(t *testing.T, fn func(t *testing.T, opt harnessOption)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, withOptions(func(*Options) {})) })
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.Database(t)
		st, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, withOptions(func(o *Options) { o.Store = st }))
	})
}

// newHarness serves the API over a real SQLite store with the fixed key of
// testdata/rsa2048.pem and a fixed clock.
func newHarness(t *testing.T, opts ...harnessOption) *harness {
	t.Helper()
	return newHarnessKey(t, mustReadKey(t, "testdata/rsa2048.pem"), keys.RS256, opts...)
}

// newHarnessKey is newHarness signing with priv under alg.
func newHarnessKey(t *testing.T, priv crypto.Signer, alg string, opts ...harnessOption) *harness {
	t.Helper()
	ctx := context.Background()
	var pre Options // a store chosen by an option (withStore) replaces SQLite
	for _, opt := range opts {
		opt(&pre)
	}
	st := pre.Store
	if st == nil {
		s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "inkan.db"))
		if err != nil {
			t.Fatalf("sqlite.Open() = %v", err)
		}
		t.Cleanup(func() { s.Close() })
		st = s
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	sealer, err := keys.NewSealer(make([]byte, keys.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	km := &keys.Manager{Store: st, Sealer: sealer, Schedule: keys.Schedule{MaxAge: time.Minute, TokenTTL: time.Hour, Leeway: Leeway},
		Logger: logger, Now: func() time.Time { return t0.Add(-time.Hour) }}
	kid, err := km.Add(ctx, priv, alg, true)
	if err != nil {
		t.Fatalf("Manager.Add() = %v", err)
	}
	set, err := keys.NewSet(ctx, km)
	if err != nil {
		t.Fatalf("keys.NewSet() = %v", err)
	}
	h := &harness{
		store: st, keys: set, clock: &clock{t: t0}, priv: priv, kid: kid,
		hasher: &countingHasher{h: password.New(cheap, 2)},
	}
	o := Options{
		Issuer: testIssuer, Tokens: TokenOptions{TTL: time.Hour, Secret: sealer.Derive("test")}, Accounts: AccountOptions{Signup: true}, Store: st, Keys: set,
		Passwords: h.hasher, Logger: logger, Now: h.clock.Now,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if h.srv, err = New(ctx, o); err != nil {
		t.Fatalf("New() = %v", err)
	}
	return h
}

func mustReadKey(tb testing.TB, path string) crypto.Signer {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	k, err := keys.ParsePrivatePEM(data)
	if err != nil {
		tb.Fatalf("ParsePrivatePEM(%s) = %v", path, err)
	}
	return k
}

// do sends one request through the handler.
func (h *harness) do(t *testing.T, method, path string, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "RemoteAddr" {
			req.RemoteAddr = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	return rec
}

func (h *harness) signup(t *testing.T, name, email, pw string) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name, "email": email, "password": pw})
	rec := h.do(t, "POST", "/user", string(body), "Content-Type", "application/json")
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST /user = %d %s, want 201", rec.Code, rec.Body)
	}
	return decode(t, rec)
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func (h *harness) login(t *testing.T, email, pw string) string {
	t.Helper()
	rec := h.do(t, "POST", "/user/_authenticate", "", "Authorization", basic(email, pw))
	if rec.Code != http.StatusOK {
		t.Fatalf("POST /user/_authenticate = %d %s, want 200", rec.Code, rec.Body)
	}
	return decode(t, rec)["access_token"].(string)
}

func decode(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("response body %q is not a JSON object: %v", rec.Body, err)
	}
	return m
}

// golden compares got with testdata/name.golden, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s mismatch:\ngot:  %s\nwant: %s", path, got, want)
	}
}
