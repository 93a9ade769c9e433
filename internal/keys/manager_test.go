package keys_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
	"github.com/inkan-dev/inkan/internal/watch"
	"github.com/inkan-dev/inkan/verify"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

var schedule = keys.Schedule{MaxAge: 5 * time.Minute, TokenTTL: time.Hour, Leeway: time.Minute, PublishDelay: time.Second}

// clock is a settable clock shared by a test's managers.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

type fixture struct {
	path  string
	store *sqlite.Store
	clock *clock
	m     *keys.Manager
}

func mustSealer(tb testing.TB, b byte) *keys.Sealer {
	tb.Helper()
	s, err := keys.NewSealer(bytes.Repeat([]byte{b}, keys.MasterKeySize))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "inkan.db")
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &clock{t: t0}
	return &fixture{path: path, store: st, clock: c, m: &keys.Manager{
		Store: st, Sealer: mustSealer(t, 7), Schedule: schedule, Algorithm: keys.ES256,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: c.Now,
	}}
}

// states maps kid → state at the fixture's clock.
func (f *fixture) states(t *testing.T) map[string]keys.State {
	t.Helper()
	sts, err := f.m.Statuses(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]keys.State{}
	for _, s := range sts {
		out[s.ID] = s.State
	}
	return out
}

// newSet builds a fresh Set, as a restarted server does.
func (f *fixture) newSet(t *testing.T) *keys.Set {
	t.Helper()
	set, err := keys.NewSet(context.Background(), f.m)
	if err != nil {
		t.Fatalf("NewSet() = %v", err)
	}
	return set
}

func jwksKIDs(t *testing.T, set *keys.Set) map[string]bool {
	t.Helper()
	var doc jose.JSONWebKeySet
	if err := json.Unmarshal(set.JWKS(), &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, k := range doc.Keys {
		out[k.KeyID] = true
	}
	return out
}

// Every transition of the lifecycle at the times the schedule sets, seen
// both by a running Set (Reload) and by a restarted one (NewSet).
func TestLifecycle_transitions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	first, err := f.m.EnsureKey(ctx)
	if err != nil || first == "" {
		t.Fatalf("EnsureKey() = %q, %v", first, err)
	}
	if again, _ := f.m.EnsureKey(ctx); again != "" {
		t.Errorf("EnsureKey() with a key present made %q", again)
	}
	running := f.newSet(t)
	if got := f.states(t)[first]; got != keys.StateActive {
		t.Fatalf("the first key of an empty store is %s, want active at once", got)
	}

	second, err := f.m.Rotate(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	pre := schedule.MaxAge + schedule.PublishDelay
	linger := schedule.TokenTTL + schedule.Leeway + schedule.MaxAge + schedule.PublishDelay
	steps := []struct {
		name   string
		at     time.Time
		want   map[string]keys.State
		signer string
	}{
		{"published before signing", t0, map[string]keys.State{first: keys.StateActive, second: keys.StateNext}, first},
		{"just before activation", t0.Add(pre - time.Microsecond), map[string]keys.State{first: keys.StateActive, second: keys.StateNext}, first},
		{"activation", t0.Add(pre), map[string]keys.State{first: keys.StateRetiring, second: keys.StateActive}, second},
		{"still retiring", t0.Add(pre + linger - time.Microsecond), map[string]keys.State{first: keys.StateRetiring, second: keys.StateActive}, second},
		{"retired", t0.Add(pre + linger), map[string]keys.State{first: keys.StateRetired, second: keys.StateActive}, second},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			f.clock.Set(st.at)
			got := f.states(t)
			for kid, want := range st.want {
				if got[kid] != want {
					t.Errorf("state of %.8s… = %s, want %s", kid, got[kid], want)
				}
			}
			if err := running.Reload(ctx); err != nil {
				t.Fatal(err)
			}
			for name, set := range map[string]*keys.Set{"running": running, "restarted": f.newSet(t)} {
				if kid := set.Active().KeyID; kid != st.signer {
					t.Errorf("%s Set signs with %.8s…, want %.8s…", name, kid, st.signer)
				}
				published := jwksKIDs(t, set)
				for kid, want := range st.want {
					if published[kid] != want.Published() {
						t.Errorf("%s Set: %.8s… (%s) in JWKS = %v", name, kid, want, published[kid])
					}
					if _, err := set.Key(ctx, kid); (err == nil) != want.Published() {
						t.Errorf("%s Set: Key(%.8s… %s) error = %v", name, kid, want, err)
					}
				}
			}
		})
	}
}

func TestLifecycle_rotateNow(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first, _ := f.m.EnsureKey(ctx)
	f.clock.Set(t0.Add(time.Minute))
	second, err := f.m.Rotate(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.states(t); got[second] != keys.StateActive || got[first] != keys.StateRetiring {
		t.Errorf("after an emergency rotation: %v, want the new key active at once", got)
	}
}

func TestManager_AutoRotate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first, _ := f.m.EnsureKey(ctx)
	every := 24 * time.Hour
	pre := schedule.MaxAge + schedule.PublishDelay
	for _, at := range []time.Time{t0, t0.Add(every - pre - time.Second)} {
		f.clock.Set(at)
		if kid, err := f.m.AutoRotate(ctx, every); err != nil || kid != "" {
			t.Fatalf("AutoRotate() at %v = %q, %v; want nothing yet", at, kid, err)
		}
	}
	f.clock.Set(t0.Add(every - pre))
	next, err := f.m.AutoRotate(ctx, every)
	if err != nil || next == "" {
		t.Fatalf("AutoRotate() when due = %q, %v", next, err)
	}
	if again, _ := f.m.AutoRotate(ctx, every); again != "" {
		t.Errorf("AutoRotate() with a next key pending made another: %q", again)
	}
	if got := f.states(t); got[next] != keys.StateNext || got[first] != keys.StateActive {
		t.Errorf("just after AutoRotate: %v, want the new key next", got)
	}
	f.clock.Set(t0.Add(every))
	if got := f.states(t); got[next] != keys.StateActive {
		t.Errorf("at t0+every: %v, want the new key active", got)
	}
	if kid, _ := f.m.AutoRotate(ctx, 0); kid != "" {
		t.Error("AutoRotate(0) rotated: 0 turns rotation off")
	}
}

func TestManager_Revoke(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first, _ := f.m.EnsureKey(ctx)
	next, _ := f.m.Rotate(ctx, false)
	set := f.newSet(t)

	if repl, _, err := f.m.Revoke(ctx, next); err != nil || repl != "" {
		t.Fatalf("Revoke(next) = %q, %v", repl, err)
	}
	repl, promoted, err := f.m.Revoke(ctx, first)
	if err != nil || repl == "" || promoted {
		t.Fatalf("Revoke(active) = %q, %t, %v; want a new replacement active at once (no next key is left)", repl, promoted, err)
	}
	if err := set.Reload(ctx); err != nil {
		t.Fatalf("Reload() = %v", err)
	}
	got := f.states(t)
	if got[first] != keys.StateRevoked || got[next] != keys.StateRevoked || got[repl] != keys.StateActive {
		t.Errorf("after revoking: %v", got)
	}
	if published := jwksKIDs(t, set); published[first] || published[next] || !published[repl] {
		t.Errorf("JWKS after revoking = %v, want only the replacement", published)
	}
	if _, err := set.Key(ctx, first); !errors.Is(err, verify.ErrUnknownKey) {
		t.Errorf("Key(revoked) = %v, want %v", err, verify.ErrUnknownKey)
	}
	// A revoked key cannot come back by import.
	row, _ := f.store.GetKey(ctx, first)
	priv, err := f.m.Open(row)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Add(ctx, priv, "", true); err == nil {
		t.Error("re-importing a revoked key succeeded")
	}
	if _, _, err := f.m.Revoke(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Revoke(unknown) = %v, want %v", err, store.ErrNotFound)
	}
}

// The database file and its WAL hold no private key in the clear: neither
// its PEM nor its DER bytes.
func TestSealing_atRest(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, alg := range []string{keys.RS256, keys.ES256, keys.EdDSA} {
		if _, err := f.m.Generate(ctx, alg, 0, true); err != nil {
			t.Fatal(err)
		}
	}
	rows, _ := f.store.ListKeys(ctx)
	var secrets [][]byte
	for _, r := range rows {
		if !keys.IsSealed(r.PrivateKey) {
			t.Errorf("key %s stored unsealed", r.ID)
		}
		priv, err := f.m.Open(r)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKCS8PrivateKey(priv)
		pemBytes, _ := keys.MarshalPrivatePEM(priv)
		secrets = append(secrets, der[len(der)-32:], pemBytes[30:90])
	}
	secrets = append(secrets, []byte("PRIVATE KEY"))
	for _, file := range []string{f.path, f.path + "-wal"} {
		data, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, s := range secrets {
			if bytes.Contains(data, s) {
				t.Errorf("%s holds private key material %q…", filepath.Base(file), s[:8])
			}
		}
	}
}

func TestSealing_wrongMasterKey(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.m.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	other := *f.m
	other.Sealer = mustSealer(t, 9)
	if err := other.CheckOpen(ctx); !errors.Is(err, keys.ErrWrongMasterKey) {
		t.Errorf("CheckOpen() with another master key = %v, want %v", err, keys.ErrWrongMasterKey)
	}
	if _, err := keys.NewSet(ctx, &other); !errors.Is(err, keys.ErrWrongMasterKey) {
		t.Errorf("NewSet() with another master key = %v, want %v", err, keys.ErrWrongMasterKey)
	}
}

// A key sealed for one kid or algorithm does not open as another's.
func TestSealer_boundToKidAndAlg(t *testing.T) {
	s := mustSealer(t, 1)
	sealed := s.Seal("kid-1", "RS256", []byte("der"))
	for _, tc := range []struct{ kid, alg string }{{"kid-2", "RS256"}, {"kid-1", "PS256"}} {
		if _, err := s.Open(tc.kid, tc.alg, sealed); !errors.Is(err, keys.ErrWrongMasterKey) {
			t.Errorf("Open(%s, %s) of a key sealed for kid-1/RS256 = %v, want refusal", tc.kid, tc.alg, err)
		}
	}
	if der, err := s.Open("kid-1", "RS256", sealed); err != nil || string(der) != "der" {
		t.Errorf("Open() = %q, %v", der, err)
	}
	for _, bad := range []string{"", "  ", "c2hvcnQ=", "!!!"} {
		if _, err := keys.ParseMasterKey(bad); err == nil {
			t.Errorf("ParseMasterKey(%q) = nil error", bad)
		}
	}
	if _, err := keys.ParseMasterKey("  " + keys.NewMasterKey() + "\n"); err != nil {
		t.Errorf("ParseMasterKey(whitespace around a good key) = %v", err)
	}
}

// Rekey re-seals under a new master key; tokens keep verifying, the old
// master key no longer opens the keys, and a second run changes nothing.
func TestManager_Rekey(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.m.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	set := f.newSet(t)
	tok, err := set.Active().Sign([]byte(`{"iss":"i","exp":4102444800}`), keys.TypeJWT)
	if err != nil {
		t.Fatal(err)
	}
	newSealer := mustSealer(t, 8)
	if n, err := f.m.Rekey(ctx, newSealer); err != nil || n != 1 {
		t.Fatalf("Rekey() = %d, %v", n, err)
	}
	if err := f.m.CheckOpen(ctx); !errors.Is(err, keys.ErrWrongMasterKey) {
		t.Errorf("the old master key still opens the keys after rekey: %v", err)
	}
	after := *f.m
	after.Sealer = newSealer
	if n, err := after.Rekey(ctx, newSealer); err != nil || n != 0 {
		t.Errorf("second Rekey() = %d, %v; want nothing to do", n, err)
	}
	set2, err := keys.NewSet(ctx, &after)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	k, err := set2.Key(ctx, parsed.Headers[0].KeyID)
	if err != nil {
		t.Fatal(err)
	}
	var c jwt.Claims
	if err := parsed.Claims(k.Public, &c); err != nil {
		t.Errorf("a token signed before rekey does not verify after: %v", err)
	}
}

// Keys stored in plaintext by a release before sealing are sealed, and the
// file compacted so that the plaintext is gone from it.
func TestManager_SealPlaintext(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	priv, _ := keys.Generate(keys.RS256, 0)
	der, _ := keys.MarshalPKCS8(priv)
	kid, _ := keys.Thumbprint(priv.Public())
	if err := f.store.CreateKey(ctx, store.SigningKey{ID: kid, Algorithm: keys.RS256, PrivateKey: der, CreatedAt: t0, ActivatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if n, err := f.m.SealPlaintext(ctx); err != nil || n != 1 {
		t.Fatalf("SealPlaintext() = %d, %v", n, err)
	}
	if err := f.store.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	row, _ := f.store.GetKey(ctx, kid)
	if !keys.IsSealed(row.PrivateKey) {
		t.Fatal("key still plaintext")
	}
	for _, file := range []string{f.path, f.path + "-wal"} {
		if data, err := os.ReadFile(file); err == nil && bytes.Contains(data, der[len(der)-48:]) {
			t.Errorf("%s still holds the plaintext key", filepath.Base(file))
		}
	}
	if n, _ := f.m.SealPlaintext(ctx); n != 0 {
		t.Errorf("second SealPlaintext() sealed %d", n)
	}
}

// The JWKS lists the active key first at every step of a rotation, so that a
// client verifying with keys[0] (the tutorial's) accepts fresh tokens while
// the next key is published and while the previous one retires.
func TestSet_JWKSActiveFirst(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	first, _ := f.m.EnsureKey(ctx)
	second, err := f.m.Rotate(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	pre := schedule.MaxAge + schedule.PublishDelay
	for _, step := range []struct {
		name string
		at   time.Time
		want []string
	}{
		{"next published", t0, []string{first, second}},
		{"next active", t0.Add(pre), []string{second, first}},
	} {
		t.Run(step.name, func(t *testing.T) {
			f.clock.Set(step.at)
			var doc jose.JSONWebKeySet
			if err := json.Unmarshal(f.newSet(t).JWKS(), &doc); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, k := range doc.Keys {
				got = append(got, k.KeyID)
			}
			if len(got) != len(step.want) || got[0] != step.want[0] || got[1] != step.want[1] {
				t.Errorf("JWKS kids = %v, want %v (the active key first)", got, step.want)
			}
		})
	}
}

// Revoking the active key promotes the published next key that was to sign
// (it is in the caches of the JWKS already) instead of making a new key that
// no cache holds; later next keys keep their times.
func TestManager_RevokePromotesNext(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first, _ := f.m.EnsureKey(ctx)
	next, _ := f.m.Rotate(ctx, false)
	f.clock.Set(t0.Add(time.Second))
	later, _ := f.m.Rotate(ctx, false)
	before, _ := f.store.GetKey(ctx, later)
	f.clock.Set(t0.Add(2 * time.Second))

	sts, err := f.m.Statuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		if want := st.ID == next; st.SignsNext != want {
			t.Errorf("%.8s… (%s) SignsNext = %t, want %t", st.ID, st.State, st.SignsNext, want)
		}
	}

	repl, promoted, err := f.m.Revoke(ctx, first)
	if err != nil || repl != next || !promoted {
		t.Fatalf("Revoke(active) = %q, %t, %v; want the next key %q promoted", repl, promoted, err, next)
	}
	got := f.states(t)
	if got[first] != keys.StateRevoked || got[next] != keys.StateActive || got[later] != keys.StateNext || len(got) != 3 {
		t.Errorf("after revoking the active key: %v, want it revoked, the next key active, the later one next, no new key", got)
	}
	if set := f.newSet(t); set.Active().KeyID != next {
		t.Errorf("Set signs with %.8s…, want the promoted %.8s…", set.Active().KeyID, next)
	}
	if after, _ := f.store.GetKey(ctx, later); !after.ActivatedAt.Equal(before.ActivatedAt) {
		t.Errorf("the later next key's activation moved from %v to %v", before.ActivatedAt, after.ActivatedAt)
	}
	sts, _ = f.m.Statuses(ctx)
	for _, st := range sts {
		if want := st.ID == later; st.SignsNext != want {
			t.Errorf("after the promotion: %.8s… (%s) SignsNext = %t, want %t", st.ID, st.State, st.SignsNext, want)
		}
	}
}

// A server records its schedule; a manager that does not serve (the CLI)
// takes it over before adding a key, and with replicas that differ the
// largest of each setting wins.
func TestManager_UseServing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if _, err := f.m.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	cli := *f.m
	cli.Schedule.MaxAge, cli.Schedule.TokenTTL = 5*time.Minute, time.Hour
	if _, ok, err := cli.UseServing(ctx); ok || err != nil {
		t.Fatalf("UseServing() before any server reported = %t, %v; want false", ok, err)
	}

	server := *f.m
	server.Schedule.MaxAge, server.Schedule.TokenTTL = time.Hour, 2*time.Minute
	if got, err := server.ReportServing(ctx); err != nil || got.JWKSMaxAge != time.Hour || got.TokenTTL != 2*time.Minute {
		t.Fatalf("ReportServing() = %+v, %v", got, err)
	}
	replica := *f.m
	replica.Schedule.MaxAge, replica.Schedule.TokenTTL = time.Minute, 10*time.Minute
	stored, err := replica.ReportServing(ctx)
	if err != nil || stored.JWKSMaxAge != time.Hour || stored.TokenTTL != 10*time.Minute {
		t.Fatalf("ReportServing() by a second replica = %+v, %v; want the larger of each (1h, 10m)", stored, err)
	}

	if s, ok, err := cli.UseServing(ctx); !ok || err != nil || s != stored {
		t.Fatalf("UseServing() = %+v, %t, %v; want %+v", s, ok, err, stored)
	}
	kid, err := cli.Rotate(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	row, _ := f.store.GetKey(ctx, kid)
	if want := t0.Add(time.Hour + schedule.PublishDelay); !row.ActivatedAt.Equal(want) {
		t.Errorf("key added after UseServing activates at %v, want %v (the servers' 1h max-age)", row.ActivatedAt, want)
	}
	sts, _ := cli.Statuses(ctx)
	for _, st := range sts {
		if st.ID != kid && !st.RetiredAt.Equal(row.ActivatedAt.Add(10*time.Minute+schedule.Leeway+time.Hour+schedule.PublishDelay)) {
			t.Errorf("predecessor leaves the JWKS at %v, want by the servers' 10m token TTL and 1h max-age", st.RetiredAt)
		}
	}

	// Three report intervals without a report: the 1h server is gone.
	f.clock.Set(t0.Add(4 * keys.ReportInterval))
	if stored, _ := replica.ReportServing(ctx); stored.JWKSMaxAge != time.Minute {
		t.Errorf("after the larger server stopped reporting: %+v, want the remaining replica's 1m", stored)
	}
}

// countingHandler is a slog.Handler that keeps the records at Error and
// counts the others.
type countingHandler struct {
	mu     sync.Mutex
	errors []slog.Record
	others int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Level >= slog.LevelError {
		h.errors = append(h.errors, r)
	} else {
		h.others++
	}
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

func (h *countingHandler) otherCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.others
}

func (h *countingHandler) errorTexts() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.errors {
		text := r.Message
		r.Attrs(func(a slog.Attr) bool { text += " " + a.Key + "=" + a.Value.String(); return true })
		out = append(out, text)
	}
	return out
}

// A running server whose master key no longer opens the keys (keys rekey
// ran) logs one error saying what to do, not one every reload, keeps
// serving the keys it loaded, and says when it recovers.
func TestSet_Sync_rekeyedUnderIt(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	kid, _ := f.m.EnsureKey(ctx)
	h := &countingHandler{}
	f.m.Logger = slog.New(h)
	set := f.newSet(t)

	cli := *f.m // the CLI, in another process
	next := mustSealer(t, 8)
	if _, err := cli.Rekey(ctx, next); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			watch.Run(runCtx, 250*time.Millisecond, f.m.Logger, f.store, watch.View{Name: "reload signing keys", Sync: set.Sync})
			close(done)
		}()
		time.Sleep(10 * time.Second) // 40 reloads, in the bubble's fake time
		synctest.Wait()
		got := h.errorTexts()
		if len(got) != 1 {
			t.Fatalf("40 failed reloads logged %d errors, want 1:\n%s", len(got), strings.Join(got, "\n"))
		}
		for _, want := range []string{"master key cannot open", "keys rekey", "restart this server", "INKAN_MASTER_KEY"} {
			if !strings.Contains(got[0], want) {
				t.Errorf("the error %q does not say %q", got[0], want)
			}
		}
		if a := set.Active(); a == nil || a.KeyID != kid {
			t.Errorf("after the failed reloads the active key is %v, want the one loaded, %s", a, kid)
		}

		// Rekeyed back (or the server given the new key): one line says so.
		back := cli
		back.Sealer = next
		if _, err := back.Rekey(ctx, f.m.Sealer); err != nil {
			t.Fatal(err)
		}
		before := h.otherCount()
		time.Sleep(time.Second)
		synctest.Wait()
		stop()
		<-done
		if n := len(h.errorTexts()); n != 1 {
			t.Errorf("after recovery %d errors, want still 1", n)
		}
		if n := h.otherCount() - before; n != 1 {
			t.Errorf("recovery logged %d records, want 1", n)
		}
	})
}

// AutoRotate refuses to add a key under a master key that no longer opens
// the stored ones: servers restarted with the new key could not open it.
func TestManager_AutoRotate_rekeyed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.m.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	cli := *f.m
	if _, err := cli.Rekey(ctx, mustSealer(t, 8)); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(t0.Add(48 * time.Hour))
	if kid, err := f.m.AutoRotate(ctx, 24*time.Hour); !errors.Is(err, keys.ErrWrongMasterKey) || kid != "" {
		t.Errorf("AutoRotate() under a stale master key = %q, %v; want %v", kid, err, keys.ErrWrongMasterKey)
	}
	if rows, _ := f.store.ListKeys(ctx); len(rows) != 1 {
		t.Errorf("AutoRotate() under a stale master key stored %d keys, want the 1 there was", len(rows))
	}
}
