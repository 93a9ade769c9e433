package verify

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// jwksServer serves a JWKS at /.well-known/jwks.json and counts the
// requests for it.
type jwksServer struct {
	srv     *httptest.Server
	fetches atomic.Int64

	mu           sync.Mutex
	status       int
	contentType  string
	cacheControl string
	body         []byte
	gate         func() // when set, runs before each response
}

// newJWKSServer serves keys with "Cache-Control: max-age=300", as inkan does.
func newJWKSServer(tb testing.TB, keys ...jose.JSONWebKey) *jwksServer {
	tb.Helper()
	s := &jwksServer{cacheControl: "public, max-age=300"}
	s.setKeys(tb, keys...)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		s.fetches.Add(1)
		s.mu.Lock()
		status, ct, cc, body, gate := s.status, s.contentType, s.cacheControl, s.body, s.gate
		s.mu.Unlock()
		if gate != nil {
			gate()
		}
		if ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		w.WriteHeader(status)
		w.Write(body)
	}))
	tb.Cleanup(s.srv.Close)
	return s
}

func (s *jwksServer) url() string { return s.srv.URL + "/.well-known/jwks.json" }

// setKeys serves a JWKS of keys with status 200.
func (s *jwksServer) setKeys(tb testing.TB, keys ...jose.JSONWebKey) {
	tb.Helper()
	body, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		tb.Fatalf("json.Marshal(JWKS): %v", err)
	}
	s.respond(http.StatusOK, "application/json", string(body))
}

// respond serves any response.
func (s *jwksServer) respond(status int, contentType, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.contentType, s.body = status, contentType, []byte(body)
}

func (s *jwksServer) setCacheControl(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cacheControl = v
}

func (s *jwksServer) setGate(gate func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate = gate
}

func (s *jwksServer) wantFetches(tb testing.TB, want int64) {
	tb.Helper()
	if got := s.fetches.Load(); got != want {
		tb.Errorf("JWKS fetched %d times, want %d", got, want)
	}
}

// jwk is the public JWK of pub for alg, as inkan publishes it.
func jwk(kid, alg string, pub any) jose.JSONWebKey {
	return jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: alg, Use: "sig"}
}

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: testNow} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeTimer is a timer the refresh loop asked for; the test fires it.
type fakeTimer struct {
	d time.Duration
	c chan time.Time
}

func (ft fakeTimer) fire() { ft.c <- time.Time{} }

// fakeTimers records each timer the refresh loop asks for, in order.
type fakeTimers chan fakeTimer

func (ts fakeTimers) newTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := fakeTimer{d: d, c: make(chan time.Time, 1)}
	ts <- t
	return t.c, func() bool { return true }
}

// next returns the next timer the refresh loop asks for.
func (ts fakeTimers) next(tb testing.TB) fakeTimer {
	tb.Helper()
	select {
	case t := <-ts:
		return t
	case <-time.After(10 * time.Second): // a guard against hanging, not a wait for the code
		tb.Fatal("the refresh loop set no timer")
		return fakeTimer{}
	}
}

// none checks that the refresh loop has set no timer beyond those taken.
func (ts fakeTimers) none(tb testing.TB) {
	tb.Helper()
	select {
	case t := <-ts:
		tb.Errorf("the refresh loop set an unexpected timer of %v", t.d)
	default:
	}
}

// mustRemote returns a RemoteKeySet for url whose refresh loop runs on fake
// timers until the test ends, then must stop. edit, when not nil, sets hooks
// before the loop starts.
func mustRemote(tb testing.TB, url string, opts *RemoteKeySetOptions, edit func(*RemoteKeySet)) (*RemoteKeySet, fakeTimers) {
	tb.Helper()
	r, err := newRemoteKeySet(tb.Context(), url, opts)
	if err != nil {
		tb.Fatalf("newRemoteKeySet(%q): %v", url, err)
	}
	timers := make(fakeTimers, 100)
	r.newTimer = timers.newTimer
	if edit != nil {
		edit(r)
	}
	go r.run()
	tb.Cleanup(func() { mustStop(tb, r) }) // tb.Context() is done by now
	return r, timers
}

// mustStop checks that r's refresh loop and fetches end once its context is
// done.
func mustStop(tb testing.TB, r *RemoteKeySet) {
	tb.Helper()
	select {
	case <-r.stopped:
	case <-time.After(10 * time.Second):
		tb.Error("the refresh loop still runs after its context ended")
	}
	r.waitIdle()
}

// waitIdle waits for the fetch under way, if any.
func (r *RemoteKeySet) waitIdle() {
	r.mu.Lock()
	f := r.flight
	r.mu.Unlock()
	if f != nil {
		<-f.done
	}
}

func mustKey(tb testing.TB, r *RemoteKeySet, kid string) Key {
	tb.Helper()
	k, err := r.Key(tb.Context(), kid)
	if err != nil {
		tb.Fatalf("Key(%q) error = %v, want nil", kid, err)
	}
	if k.ID != kid {
		tb.Fatalf("Key(%q) = key %q", kid, k.ID)
	}
	return k
}

// mustUnknownKey checks that r does not know kid, and returns the error.
func mustUnknownKey(tb testing.TB, r *RemoteKeySet, kid string) error {
	tb.Helper()
	_, err := r.Key(tb.Context(), kid)
	if !errors.Is(err, ErrUnknownKey) {
		tb.Fatalf("Key(%q) error = %v, want %v", kid, err, ErrUnknownKey)
	}
	return err
}

// wantUnknownKey checks that r does not know kid.
func wantUnknownKey(tb testing.TB, r *RemoteKeySet, kid string) {
	tb.Helper()
	_ = mustUnknownKey(tb, r, kid)
}

func TestRemoteKeySet_Key_maxAge(t *testing.T) {
	key := mustFixedRSA(t)
	is := newJWKSServer(t, jwk("rsa", "RS256", &key.PublicKey))
	clock := newFakeClock()
	r, _ := mustRemote(t, is.url(), &RemoteKeySetOptions{Now: clock.Now}, nil)

	is.wantFetches(t, 0) // NewRemoteKeySet does no I/O
	k := mustKey(t, r, "rsa")
	if k.Algorithm != "RS256" || !key.PublicKey.Equal(k.Public) {
		t.Errorf("Key(%q) = %+v, want the RS256 test key", "rsa", k)
	}
	is.wantFetches(t, 1)

	clock.Advance(299 * time.Second) // fresh for max-age=300
	mustKey(t, r, "rsa")
	r.waitIdle()
	is.wantFetches(t, 1)

	clock.Advance(time.Second) // stale: served, and refreshed in the background
	mustKey(t, r, "rsa")
	r.waitIdle()
	is.wantFetches(t, 2)

	clock.Advance(299 * time.Second) // fresh again from the refresh
	mustKey(t, r, "rsa")
	r.waitIdle()
	is.wantFetches(t, 2)
}

func TestFreshnessOf(t *testing.T) {
	const def = 5 * time.Minute
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{name: "absent", header: http.Header{}, want: def},
		{name: "max-age", header: http.Header{"Cache-Control": {"public, max-age=300"}}, want: 300 * time.Second},
		{name: "upper case", header: http.Header{"Cache-Control": {"Max-Age=60"}}, want: time.Minute},
		{name: "quoted", header: http.Header{"Cache-Control": {`max-age="60"`}}, want: time.Minute},
		{name: "second header", header: http.Header{"Cache-Control": {"public", "max-age=90"}}, want: 90 * time.Second},
		{name: "with age", header: http.Header{"Cache-Control": {"max-age=300"}, "Age": {"100"}}, want: 200 * time.Second},
		{name: "older than max-age", header: http.Header{"Cache-Control": {"max-age=300"}, "Age": {"400"}}, want: time.Second},
		{name: "zero", header: http.Header{"Cache-Control": {"max-age=0"}}, want: time.Second},
		{name: "no-cache", header: http.Header{"Cache-Control": {"no-cache, max-age=300"}}, want: time.Second},
		{name: "no-store", header: http.Header{"Cache-Control": {"no-store"}}, want: time.Second},
		{name: "over a day", header: http.Header{"Cache-Control": {"max-age=86401"}}, want: 24 * time.Hour},
		{name: "overflow", header: http.Header{"Cache-Control": {"max-age=99999999999999999999"}}, want: def},
		{name: "huge", header: http.Header{"Cache-Control": {"max-age=9223372036854775807"}}, want: 24 * time.Hour},
		{name: "negative", header: http.Header{"Cache-Control": {"max-age=-5"}}, want: def},
		{name: "garbage", header: http.Header{"Cache-Control": {"max-age=soon"}}, want: def},
		{name: "s-maxage only", header: http.Header{"Cache-Control": {"s-maxage=60"}}, want: def},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := freshnessOf(tc.header, def); got != tc.want {
				t.Errorf("freshnessOf(%v) = %v, want %v", tc.header, got, tc.want)
			}
		})
	}
}

// TestRemoteKeySet_refreshLoop drives the background refresh on fake
// timers: at 80% of max-age, and after failures at 1 s, then 2 s.
func TestRemoteKeySet_refreshLoop(t *testing.T) {
	k := mustTestKeys(t)
	is := newJWKSServer(t, jwk("rsa", "RS256", &k.rsa.PublicKey))
	clock := newFakeClock() // never moves: only the loop may fetch
	r, timers := mustRemote(t, is.url(), &RemoteKeySetOptions{Now: clock.Now}, nil)

	timers.none(t) // nothing scheduled before the first Key
	mustKey(t, r, "rsa")
	tm := timers.next(t)
	if tm.d != 240*time.Second {
		t.Fatalf("refresh after max-age=300 in %v, want 4m0s", tm.d)
	}

	// Keys rotated at the issuer are picked up by the refresh alone.
	is.setKeys(t, jwk("p256", "ES256", &k.p256.PublicKey))
	is.setCacheControl("max-age=10")
	tm.fire()
	if tm = timers.next(t); tm.d != 8*time.Second {
		t.Fatalf("refresh after max-age=10 in %v, want 8s", tm.d)
	}
	is.wantFetches(t, 2)
	mustKey(t, r, "p256")
	wantUnknownKey(t, r, "rsa") // removed; no fetch, as the clock has not moved
	is.wantFetches(t, 2)

	// The issuer fails: retries at 1 s, 2 s, 4 s, and the keys keep serving.
	is.respond(http.StatusInternalServerError, "text/plain", "down")
	for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		tm.fire()
		if tm = timers.next(t); tm.d != want {
			t.Fatalf("retry in %v, want %v", tm.d, want)
		}
		mustKey(t, r, "p256")
	}
	is.wantFetches(t, 5)

	// Back up: the schedule follows max-age again.
	is.setKeys(t, jwk("p256", "ES256", &k.p256.PublicKey))
	is.setCacheControl("")
	tm.fire()
	if tm = timers.next(t); tm.d != 4*time.Minute {
		t.Fatalf("refresh without max-age in %v, want 80%% of DefaultRefreshInterval", tm.d)
	}
	is.wantFetches(t, 6)
	timers.none(t)
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		n     int
		limit time.Duration
		want  time.Duration
	}{
		{1, time.Minute, time.Second},
		{2, time.Minute, 2 * time.Second},
		{6, time.Minute, 32 * time.Second},
		{7, time.Minute, time.Minute},
		{1000, time.Minute, time.Minute},
		{3, time.Millisecond, time.Second},
	}
	for _, tc := range tests {
		if got := backoff(tc.n, tc.limit); got != tc.want {
			t.Errorf("backoff(%d, %v) = %v, want %v", tc.n, tc.limit, got, tc.want)
		}
	}
}

func TestRemoteKeySet_Key_unknownKid(t *testing.T) {
	key := mustFixedRSA(t)
	is := newJWKSServer(t, jwk("rsa", "RS256", &key.PublicKey))
	clock := newFakeClock()
	r, _ := mustRemote(t, is.url(), &RemoteKeySetOptions{Now: clock.Now, MinRefreshInterval: 30 * time.Second}, nil)
	mustKey(t, r, "rsa")
	is.wantFetches(t, 1)

	clock.Advance(30 * time.Second)
	wantUnknownKey(t, r, "nope") // one refetch
	is.wantFetches(t, 1+1)
	wantUnknownKey(t, r, "nope") // none: too soon
	wantUnknownKey(t, r, "other")
	wantUnknownKey(t, r, "") // never fetched for
	mustKey(t, r, "rsa")
	is.wantFetches(t, 1+1)

	clock.Advance(29 * time.Second)
	wantUnknownKey(t, r, "nope")
	is.wantFetches(t, 1+1)
	clock.Advance(time.Second)
	wantUnknownKey(t, r, "nope")
	is.wantFetches(t, 1+2)
}

// TestRemoteKeySet_rotation: a token signed with a key the issuer has just
// published verifies after one refetch, and a key the issuer removed stops
// verifying.
func TestRemoteKeySet_rotation(t *testing.T) {
	k := mustTestKeys(t)
	is := newJWKSServer(t, jwk("rsa", "RS256", &k.rsa.PublicKey))
	clock := newFakeClock()
	r, _ := mustRemote(t, is.url(), &RemoteKeySetOptions{Now: clock.Now}, nil)
	v := mustVerifier(t, func(c *Config) { c.KeySet = r })
	old := mustSign(t, jose.RS256, k.rsa, "rsa", claims())
	rotated := mustSign(t, jose.EdDSA, k.ed, "ed-2026", claims())

	if _, err := v.Verify(t.Context(), old); err != nil {
		t.Fatalf("Verify(old) error = %v, want nil", err)
	}
	is.setKeys(t, jwk("ed-2026", "EdDSA", k.ed.Public()))
	clock.Advance(DefaultMinRefreshInterval)
	if _, err := v.Verify(t.Context(), rotated); err != nil {
		t.Fatalf("Verify(rotated) error = %v, want nil", err)
	}
	is.wantFetches(t, 2)
	if _, err := v.Verify(t.Context(), old); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Verify(old) after the issuer removed its key: error = %v, want %v", err, ErrUnknownKey)
	}
	is.wantFetches(t, 2)
}

// TestRemoteKeySet_singleFlight: 100 concurrent Verify calls for a new kid
// all wait for one fetch, which the issuer answers only once all of them
// wait.
func TestRemoteKeySet_singleFlight(t *testing.T) {
	const callers = 100
	k := mustTestKeys(t)
	is := newJWKSServer(t, jwk("rsa", "RS256", &k.rsa.PublicKey))
	clock := newFakeClock()
	var (
		armed   atomic.Bool
		waiting sync.WaitGroup
	)
	r, _ := mustRemote(t, is.url(), &RemoteKeySetOptions{Now: clock.Now}, func(r *RemoteKeySet) {
		r.onWait = func() {
			if armed.Load() {
				waiting.Done()
			}
		}
	})
	v := mustVerifier(t, func(c *Config) { c.KeySet = r })
	mustKey(t, r, "rsa")

	is.setKeys(t, jwk("rsa", "RS256", &k.rsa.PublicKey), jwk("p256", "ES256", &k.p256.PublicKey))
	clock.Advance(DefaultMinRefreshInterval)
	waiting.Add(callers)
	armed.Store(true)
	is.setGate(func() {
		all := make(chan struct{})
		go func() { waiting.Wait(); close(all) }()
		select {
		case <-all:
		case <-time.After(10 * time.Second): // a guard; the counts below then fail
			t.Error("not every caller waited for the fetch")
		}
	})
	raw := mustSign(t, jose.ES256, k.p256, "p256", claims())
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			if _, err := v.Verify(t.Context(), raw); err != nil {
				t.Errorf("Verify(%.40q) error = %v, want nil", raw, err)
			}
		})
	}
	wg.Wait()
	is.wantFetches(t, 2)
}

// TestRemoteKeySet_noStorm: a flood of tokens with random kids costs the
// issuer one request per MinRefreshInterval.
func TestRemoteKeySet_noStorm(t *testing.T) {
	key := mustFixedRSA(t)
	is := newJWKSServer(t, jwk("rsa", "RS256", &key.PublicKey))
	clock := newFakeClock()
	r, _ := mustRemote(t, is.url(), &RemoteKeySetOptions{Now: clock.Now}, nil)
	mustKey(t, r, "rsa")

	flood := func() {
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 100 {
					if _, err := r.Key(t.Context(), rand.Text()); !errors.Is(err, ErrUnknownKey) {
						t.Errorf("Key(random) error = %v, want %v", err, ErrUnknownKey)
					}
				}
			})
		}
		wg.Wait()
		r.waitIdle()
	}
	tests := []struct {
		advance time.Duration
		want    int64
	}{
		{0, 1},
		{DefaultMinRefreshInterval, 2},
		{DefaultMinRefreshInterval - time.Second, 2},
		{time.Second, 3},
		{10 * DefaultMinRefreshInterval, 4},
	}
	for _, tc := range tests {
		clock.Advance(tc.advance)
		flood()
		is.wantFetches(t, tc.want)
	}
	mustKey(t, r, "rsa")
}

// TestRemoteKeySet_issuerDown: the last good keys keep verifying while the
// issuer answers 500 or is gone, past their max-age.
func TestRemoteKeySet_issuerDown(t *testing.T) {
	key := mustFixedRSA(t)
	is := newJWKSServer(t, jwk("rsa", "RS256", &key.PublicKey))
	clock := newFakeClock()
	r, _ := mustRemote(t, is.url(), &RemoteKeySetOptions{Now: clock.Now}, nil)
	v := mustVerifier(t, func(c *Config) { c.KeySet = r; c.Now = clock.Now })
	raw := mustSign(t, jose.RS256, key, "rsa", claims(set("exp", testNow.Add(24*time.Hour).Unix())))
	verifies := func() {
		t.Helper()
		if _, err := v.Verify(t.Context(), raw); err != nil {
			t.Fatalf("Verify(%.40q) error = %v, want nil", raw, err)
		}
		r.waitIdle()
	}
	verifies()

	is.respond(http.StatusInternalServerError, "text/html", "<h1>oops</h1>")
	clock.Advance(10 * time.Minute)
	verifies() // stale, and the refresh fails
	is.wantFetches(t, 2)
	verifies()
	is.wantFetches(t, 2)
	clock.Advance(DefaultMinRefreshInterval)
	err := mustUnknownKey(t, r, "new")
	if !strings.Contains(err.Error(), "500") {
		t.Errorf("Key(%q) error = %v, want the status of the failed refresh", "new", err)
	}
	is.wantFetches(t, 3)

	is.srv.Close()
	clock.Advance(time.Hour)
	verifies()
	clock.Advance(DefaultMinRefreshInterval)
	err = mustUnknownKey(t, r, "new")
	var uerr interface{ Timeout() bool } // *url.Error from the client
	if !errors.As(err, &uerr) {
		t.Errorf("Key(%q) error = %v, want it to wrap the client's error", "new", err)
	}
	verifies()
}

// TestRemoteKeySet_issuerDownAtStart: a resource server may start before its
// issuer; its tokens verify once the issuer is up.
func TestRemoteKeySet_issuerDownAtStart(t *testing.T) {
	key := mustFixedRSA(t)
	is := newJWKSServer(t)
	is.respond(http.StatusServiceUnavailable, "text/plain", "starting")
	clock := newFakeClock()
	r, timers := mustRemote(t, is.url(), &RemoteKeySetOptions{Now: clock.Now}, nil)
	v := mustVerifier(t, func(c *Config) { c.KeySet = r })
	raw := mustSign(t, jose.RS256, key, "rsa", claims())

	if _, err := v.Verify(t.Context(), raw); !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("Verify() with the issuer down = %v, want %v with the status", err, ErrUnknownKey)
	}
	is.wantFetches(t, 1)
	is.setKeys(t, jwk("rsa", "RS256", &key.PublicKey))
	if tm := timers.next(t); tm.d != time.Second {
		t.Fatalf("retry in %v, want 1s", tm.d)
	} else {
		tm.fire() // the background retry picks the keys up
	}
	timers.next(t)
	if _, err := v.Verify(t.Context(), raw); err != nil {
		t.Fatalf("Verify() once the issuer is up: error = %v, want nil", err)
	}
	is.wantFetches(t, 2)
}

// TestRemoteKeySet_badResponse: a response that is not a usable JWKS is a
// failed fetch; the last good keys stay.
func TestRemoteKeySet_badResponse(t *testing.T) {
	key := mustFixedRSA(t)
	good, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk("new", "RS256", &key.PublicKey)}})
	if err != nil {
		t.Fatal(err)
	}
	hs256, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "new", Algorithm: "HS256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	huge := `{"keys":` + string(good)[len(`{"keys":`):len(good)-1] + `,"pad":"` + strings.Repeat("x", maxJWKSBytes) + `"}`
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		wantErr     string
	}{
		{name: "500", status: 500, contentType: "application/json", body: string(good), wantErr: "status 500"},
		{name: "404", status: 404, contentType: "application/json", body: string(good), wantErr: "status 404"},
		{name: "204", status: 204, contentType: "application/json", wantErr: "status 204"},
		{name: "html", status: 200, contentType: "text/html; charset=utf-8", body: "<html><body>login</body></html>", wantErr: "not JSON"},
		{name: "html labelled json", status: 200, contentType: "application/json", body: "<html><body>login</body></html>", wantErr: "not a JWKS"},
		{name: "no content type", status: 200, body: string(good), wantErr: "not JSON"},
		{name: "huge", status: 200, contentType: "application/json", body: huge, wantErr: "larger than"},
		{name: "truncated", status: 200, contentType: "application/json", body: string(good[:len(good)/2]), wantErr: "not a JWKS"},
		{name: "no keys member", status: 200, contentType: "application/json", body: `{"kid":"new"}`, wantErr: "no keys member"},
		{name: "keys null", status: 200, contentType: "application/json", body: `{"keys":null}`, wantErr: "no keys member"},
		{name: "keys empty", status: 200, contentType: "application/json", body: `{"keys":[]}`, wantErr: "no usable signing key"},
		{name: "hs256 only", status: 200, contentType: "application/json", body: string(hs256), wantErr: "no usable signing key"},
		{name: "array", status: 200, contentType: "application/json", body: `[]`, wantErr: "not a JWKS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			is := newJWKSServer(t, jwk("rsa", "RS256", &key.PublicKey))
			clock := newFakeClock()
			r, _ := mustRemote(t, is.url(), &RemoteKeySetOptions{Now: clock.Now}, nil)
			mustKey(t, r, "rsa")

			is.respond(tc.status, tc.contentType, tc.body)
			clock.Advance(DefaultMinRefreshInterval)
			err := mustUnknownKey(t, r, "new")
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "verify: ") {
				t.Errorf("Key(%q) error = %q, want it to contain %q", "new", err, tc.wantErr)
			}
			mustKey(t, r, "rsa")
			is.wantFetches(t, 2)
		})
	}
	t.Run("json types", func(t *testing.T) {
		for _, ct := range []string{"application/json; charset=utf-8", "application/jwk-set+json", "Application/JSON"} {
			is := newJWKSServer(t)
			is.respond(200, ct, string(good))
			r, _ := mustRemote(t, is.url(), nil, nil)
			if _, err := r.Key(t.Context(), "new"); err != nil {
				t.Errorf("Content-Type %q: Key() error = %v, want nil", ct, err)
			}
		}
	})
}

// jwksOf is the JSON of a JWKS holding keys, each a JSONWebKey or raw JSON.
func jwksOf(tb testing.TB, keys ...any) []byte {
	tb.Helper()
	raws := make([]json.RawMessage, len(keys))
	for i, k := range keys {
		switch k := k.(type) {
		case string:
			raws[i] = json.RawMessage(k)
		case jose.JSONWebKey:
			b, err := k.MarshalJSON()
			if err != nil {
				tb.Fatalf("MarshalJSON(%s): %v", k.KeyID, err)
			}
			raws[i] = b
		default:
			tb.Fatalf("jwksOf: %T", k)
		}
	}
	b, err := json.Marshal(map[string]any{"keys": raws})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestRemoteKeySet_cancel: once its context ends, the refresh loop returns,
// and the key set serves what it holds without fetching.
func TestRemoteKeySet_cancel(t *testing.T) {
	key := mustFixedRSA(t)
	is := newJWKSServer(t, jwk("rsa", "RS256", &key.PublicKey))
	clock := newFakeClock()
	ctx, cancel := context.WithCancel(t.Context())
	r, err := NewRemoteKeySet(ctx, is.url(), &RemoteKeySetOptions{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	mustKey(t, r, "rsa")
	cancel()
	mustStop(t, r)

	clock.Advance(time.Hour) // stale, and a new kid may be fetched for
	mustKey(t, r, "rsa")
	if err := mustUnknownKey(t, r, "new"); !errors.Is(err, context.Canceled) {
		t.Errorf("Key(%q) after cancel: error = %v, want it to wrap %v", "new", err, context.Canceled)
	}
	r.waitIdle()
	is.wantFetches(t, 1)
}

// TestRemoteKeySet_Key_callerCancel: a caller that stops waiting does not
// abort the fetch others share.
func TestRemoteKeySet_Key_callerCancel(t *testing.T) {
	key := mustFixedRSA(t)
	is := newJWKSServer(t, jwk("rsa", "RS256", &key.PublicKey))
	release := make(chan struct{})
	is.setGate(func() { <-release })
	r, _ := mustRemote(t, is.url(), nil, nil)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := r.Key(ctx, "rsa"); !errors.Is(err, ErrUnknownKey) || !errors.Is(err, context.Canceled) {
		t.Errorf("Key() with a canceled context: error = %v, want %v and %v", err, ErrUnknownKey, context.Canceled)
	}
	close(release)
	mustKey(t, r, "rsa") // joins the fetch the canceled caller started
	is.wantFetches(t, 1)
}

// roundTripFunc is an in-memory http.RoundTripper, for synctest bubbles.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestRemoteKeySet_realTimers runs NewRemoteKeySet as is, with real timers
// on synctest's fake clock, and checks that no goroutine outlives its
// context (synctest.Test fails if one stays blocked).
func TestRemoteKeySet_realTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		key := mustFixedRSA(t)
		body := jwksOf(t, jwk("rsa", "RS256", &key.PublicKey))
		var fetches atomic.Int64
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			fetches.Add(1)
			rec := httptest.NewRecorder()
			rec.Header().Set("Content-Type", "application/json")
			rec.Header().Set("Cache-Control", "max-age=300")
			_, _ = rec.Write(body) // a recorder's Write never fails
			return rec.Result(), nil
		})}
		ctx, cancel := context.WithCancel(t.Context())
		r, err := NewRemoteKeySet(ctx, "https://id.example.com/.well-known/jwks.json", &RemoteKeySetOptions{HTTPClient: client})
		if err != nil {
			t.Fatal(err)
		}
		mustKey(t, r, "rsa")
		start := time.Now()
		// Fake time: the refresh comes at 80% of max-age=300, every 240 s.
		for _, step := range []struct {
			at   time.Duration
			want int64
		}{
			{239 * time.Second, 1},
			{241 * time.Second, 2},
			{479 * time.Second, 2},
			{481 * time.Second, 3},
		} {
			time.Sleep(time.Until(start.Add(step.at)))
			synctest.Wait()
			if got := fetches.Load(); got != step.want {
				t.Errorf("after %v: %d fetches, want %d", step.at, got, step.want)
			}
		}
		cancel()
		synctest.Wait()
		select {
		case <-r.stopped:
		default:
			t.Error("the refresh loop still runs after its context ended")
		}
	})
}

// TestNew_remoteKeySet: without a KeySet, New fetches the issuer's
// /.well-known/jwks.json, or Config.JWKSURL, on the first Verify.
func TestNew_remoteKeySet(t *testing.T) {
	key := mustFixedRSA(t)
	is := newJWKSServer(t, jwk("rsa", "RS256", &key.PublicKey))
	tests := []struct {
		name    string
		issuer  string
		jwksURL string
	}{
		{name: "discovered", issuer: is.srv.URL},
		{name: "issuer with slash", issuer: is.srv.URL + "/"},
		{name: "jwks url", issuer: "https://id.example.com", jwksURL: is.url()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := is.fetches.Load()
			v, err := New(t.Context(), Config{
				Issuer:  tc.issuer,
				JWKSURL: tc.jwksURL,
				Now:     func() time.Time { return testNow },
			})
			if err != nil {
				t.Fatalf("New() error = %v", err)
			}
			t.Cleanup(func() { mustStop(t, v.cfg.KeySet.(*RemoteKeySet)) })
			if n := is.fetches.Load() - before; n != 0 {
				t.Errorf("New() fetched the JWKS %d times, want 0", n)
			}
			raw := mustSign(t, jose.RS256, key, "rsa", claims(set("iss", tc.issuer)))
			c, err := v.Verify(t.Context(), raw)
			if err != nil || c.Subject != "alice-id" {
				t.Fatalf("Verify(%.40q) = %+v, %v; want alice-id", raw, c, err)
			}
			if n := is.fetches.Load() - before; n != 1 {
				t.Errorf("Verify() fetched the JWKS %d times, want 1", n)
			}
		})
	}
}

func TestNewRemoteKeySet(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		opts    *RemoteKeySetOptions
		wantErr bool
	}{
		{name: "https", url: "https://id.example.com/.well-known/jwks.json"},
		{name: "http", url: "http://localhost:8080/.well-known/jwks.json"},
		{name: "options", url: "https://id.example.com/jwks", opts: &RemoteKeySetOptions{RefreshInterval: time.Hour, MinRefreshInterval: time.Second}},
		{name: "relative", url: "/.well-known/jwks.json", wantErr: true},
		{name: "no host", url: "https:///jwks", wantErr: true},
		{name: "file", url: "file:///etc/jwks.json", wantErr: true},
		{name: "bad escape", url: "https://id.example.com/%zz", wantErr: true},
		{name: "empty", url: "", wantErr: true},
		{name: "negative refresh", url: "https://id.example.com/jwks", opts: &RemoteKeySetOptions{RefreshInterval: -1}, wantErr: true},
		{name: "negative min refresh", url: "https://id.example.com/jwks", opts: &RemoteKeySetOptions{MinRefreshInterval: -1}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewRemoteKeySet(t.Context(), tc.url, tc.opts)
			if (err != nil) != tc.wantErr {
				t.Fatalf("NewRemoteKeySet(%q) error = %v, want error %t", tc.url, err, tc.wantErr)
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "verify: ") {
					t.Errorf("NewRemoteKeySet(%q) error = %q, want prefix %q", tc.url, err, "verify: ")
				}
				return
			}
			t.Cleanup(func() { mustStop(t, r) })
		})
	}
}
