package server

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

var (
	testLogin   = store.ThrottlePolicy{Free: 3, Base: time.Second, Max: 8 * time.Second, Window: time.Hour}
	testAccount = store.ThrottlePolicy{Free: 6, Base: time.Second, Max: 8 * time.Second, Window: time.Hour}
)

func withThrottle(o *Options) {
	o.Accounts.LoginPolicy, o.Accounts.AccountPolicy = testLogin, testAccount
	o.HTTP.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
}

func (h *harness) loginFrom(t *testing.T, remote, email, pw string, header ...string) *http.Response {
	t.Helper()
	rec := h.do(t, "POST", "/user/_authenticate", "", append([]string{"Authorization", basic(email, pw), "RemoteAddr", remote}, header...)...)
	return rec.Result()
}

func TestAuthenticate_throttle(t *testing.T) {
	h := newHarness(t, withOptions(withThrottle))
	h.signup(t, "Alice", "alice@example.com", "correct horse")
	const attacker = "203.0.113.9:4000"

	for i := range testLogin.Free {
		if resp := h.loginFrom(t, attacker, "alice@example.com", "guess"); resp.StatusCode != 401 {
			t.Fatalf("guess %d = %d, want 401", i+1, resp.StatusCode)
		}
	}
	resp := h.loginFrom(t, attacker, "alice@example.com", "correct horse")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("attempt after the budget = %d, Retry-After %q; want 429, 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	golden(t, "authenticate_429", mustBody(t, resp))

	t.Run("another address is not locked out", func(t *testing.T) {
		if resp := h.loginFrom(t, "198.51.100.1:5000", "alice@example.com", "correct horse"); resp.StatusCode != 200 {
			t.Errorf("the owner's login from another address = %d, want 200", resp.StatusCode)
		}
	})
	t.Run("doubling delays", func(t *testing.T) {
		h.clock.Add(time.Second)
		want := []string{"2", "4", "8", "8"} // capped at Max
		for _, w := range want {
			h.loginFrom(t, attacker, "alice@example.com", "guess")
			resp := h.loginFrom(t, attacker, "alice@example.com", "guess")
			if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != w {
				t.Fatalf("Retry-After = %q (%d), want %s", resp.Header.Get("Retry-After"), resp.StatusCode, w)
			}
			d, _ := time.ParseDuration(w + "s")
			h.clock.Add(d)
		}
	})
	t.Run("unknown emails count alike", func(t *testing.T) {
		for range testLogin.Free {
			h.loginFrom(t, attacker, "nobody@example.com", "guess")
		}
		if resp := h.loginFrom(t, attacker, "nobody@example.com", "guess"); resp.StatusCode != 429 {
			t.Errorf("unknown email after the budget = %d, want 429", resp.StatusCode)
		}
	})
	t.Run("success resets", func(t *testing.T) {
		const user = "192.0.2.7:1"
		h.signup(t, "Bob", "bob@example.com", "bob password")
		for range testLogin.Free - 1 {
			h.loginFrom(t, user, "bob@example.com", "typo")
		}
		if resp := h.loginFrom(t, user, "bob@example.com", "bob password"); resp.StatusCode != 200 {
			t.Fatalf("login = %d", resp.StatusCode)
		}
		for i := range testLogin.Free {
			if resp := h.loginFrom(t, user, "bob@example.com", "typo"); resp.StatusCode != 401 {
				t.Fatalf("typo %d after a success = %d, want 401: the budget was not reset", i+1, resp.StatusCode)
			}
		}
	})
}

func TestAuthenticate_throttleParallel(t *testing.T) {
	h := newHarness(t, withOptions(withThrottle))
	h.signup(t, "Alice", "alice@example.com", "correct horse")
	const n = 30
	var wg sync.WaitGroup
	codes := make(chan int, n)
	for range n {
		wg.Go(func() { codes <- h.loginFrom(t, "203.0.113.9:1", "alice@example.com", "guess").StatusCode })
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[401] != testLogin.Free || count[429] != n-testLogin.Free {
		t.Errorf("%d parallel guesses: %v, want %d answered 401 and the rest 429", n, count, testLogin.Free)
	}
}

func TestClientIP(t *testing.T) {
	h := newHarness(t, withOptions(withThrottle))
	tests := []struct {
		name, remote, xff, want string
	}{
		{"direct", "203.0.113.9:1", "", "203.0.113.9"},
		{"forged header ignored from an untrusted peer", "203.0.113.9:1", "1.2.3.4", "203.0.113.9"},
		{"trusted proxy", "10.0.0.1:1", "198.51.100.7", "198.51.100.7"},
		{"right-most untrusted hop", "10.0.0.1:1", "1.1.1.1, 198.51.100.7, 10.0.0.2", "198.51.100.7"},
		{"all trusted", "10.0.0.1:1", "10.0.0.3", "10.0.0.3"},
		{"garbage stops the walk", "10.0.0.1:1", "198.51.100.7, nonsense", "10.0.0.1"},
		{"ipv6 peer", "[2001:db8::1]:1", "", "2001:db8::1"},
		{"mapped", "10.0.0.1:1", "::ffff:198.51.100.8", "198.51.100.8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptestRequest(tc.remote, tc.xff)
			if got := h.srv.proxies.clientIP(r).String(); got != tc.want {
				t.Errorf("clientIP(peer %s, X-Forwarded-For %q) = %s, want %s", tc.remote, tc.xff, got, tc.want)
			}
		})
	}
	t.Run("throttle follows the forwarded address", func(t *testing.T) {
		for range testLogin.Free {
			h.loginFrom(t, "10.0.0.1:1", "x@example.com", "guess", "X-Forwarded-For", "198.51.100.7")
		}
		if resp := h.loginFrom(t, "10.0.0.1:1", "x@example.com", "guess", "X-Forwarded-For", "198.51.100.8"); resp.StatusCode == 429 {
			t.Error("another client behind the same proxy was throttled")
		}
		if resp := h.loginFrom(t, "10.0.0.1:1", "x@example.com", "guess", "X-Forwarded-For", "198.51.100.7"); resp.StatusCode != 429 {
			t.Errorf("the guessing client behind the proxy = %d, want 429", resp.StatusCode)
		}
	})
}

func httptestRequest(remote, xff string) *http.Request {
	r, _ := http.NewRequest("GET", "/", nil)
	r.RemoteAddr = remote
	if xff != "" {
		r.Header.Set("X-Forwarded-For", xff)
	}
	return r
}

func TestSignup_throttle(t *testing.T) {
	h := newHarness(t, withOptions(func(o *Options) {
		o.Accounts.SignupPolicy = store.ThrottlePolicy{Free: 3, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	}))
	// An invalid registration (422) costs no attempt: the third valid one
	// is the last of the budget.
	for i, want := range []int{201, 409, 422, 409, 429} {
		body := `{"name":"A","email":"a@example.com","password":"pw-8char"}`
		if i == 2 {
			body = `{}`
		}
		rec := h.do(t, "POST", "/user", body, "Content-Type", "application/json", "RemoteAddr", "203.0.113.1:1")
		if rec.Code != want {
			t.Fatalf("registration %d = %d, want %d", i+1, rec.Code, want)
		}
		if want == 429 && rec.Header().Get("Retry-After") != "60" {
			t.Errorf("Retry-After = %q, want 60", rec.Header().Get("Retry-After"))
		}
	}
	if rec := h.do(t, "POST", "/user", `{"name":"B","email":"b@example.com","password":"pw-8char"}`, "Content-Type", "application/json", "RemoteAddr", "203.0.113.2:1"); rec.Code != 201 {
		t.Errorf("registration from another address = %d, want 201", rec.Code)
	}
}

// While every hash slot is taken for longer than HashQueueWait, logins and
// registrations answer 503 with Retry-After, and GET /user and the JWKS,
// which hash nothing, keep answering.
func TestHashPool_busy(t *testing.T) {
	pool := &slotHasher{slot: make(chan struct{}, 1)}
	h := newHarness(t, withOptions(func(o *Options) {
		pool.PasswordHasher = o.Passwords
		o.Passwords, o.Accounts.HashQueueWait = pool, 10*time.Millisecond
	}))
	h.signup(t, "Alice", "alice@example.com", "correct horse")
	tok := h.login(t, "alice@example.com", "correct horse")
	pool.slot <- struct{}{} // a long hash holds the only slot
	defer func() { <-pool.slot }()

	rec := h.do(t, "POST", "/user/_authenticate", "", "Authorization", basic("alice@example.com", "correct horse"))
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
		t.Errorf("login with the pool saturated = %d, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	golden(t, "busy_503", rec.Body.Bytes())
	rec = h.do(t, "POST", "/user", `{"name":"B","email":"b@example.com","password":"pw-8char"}`, "Content-Type", "application/json")
	if rec.Code != 503 {
		t.Errorf("registration with the pool saturated = %d, want 503", rec.Code)
	}
	if rec := h.do(t, "GET", "/user", "", "Authorization", "Bearer "+tok); rec.Code != 200 {
		t.Errorf("GET /user with the pool saturated = %d, want 200", rec.Code)
	}
	if rec := h.do(t, "GET", "/.well-known/jwks.json", ""); rec.Code != 200 {
		t.Errorf("JWKS with the pool saturated = %d, want 200", rec.Code)
	}
}

// slotHasher is a pool of cap(slot) hash slots whose wait honours ctx, as
// password.Hasher's does; a test fills it by sending to slot.
type slotHasher struct {
	PasswordHasher
	slot chan struct{}
}

func (p *slotHasher) take(ctx context.Context) error {
	select {
	case p.slot <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *slotHasher) Verify(ctx context.Context, enc, pw string) (bool, bool, error) {
	if err := p.take(ctx); err != nil {
		return false, false, err
	}
	defer func() { <-p.slot }()
	return p.PasswordHasher.Verify(ctx, enc, pw)
}

func (p *slotHasher) Hash(ctx context.Context, pw string) (string, error) {
	if err := p.take(ctx); err != nil {
		return "", err
	}
	defer func() { <-p.slot }()
	return p.PasswordHasher.Hash(ctx, pw)
}

func mustBody(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return []byte(b.String())
}

func TestSeconds(t *testing.T) {
	for n, want := range map[int64]string{1: "1 second", 2: "2 seconds", 0: "0 seconds", 900: "900 seconds"} {
		if got := seconds(n); got != want {
			t.Errorf("seconds(%d) = %q, want %q", n, got, want)
		}
	}
}
