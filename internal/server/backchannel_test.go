package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/verify"
)

// receiver is a relying party's back-channel logout endpoint: it answers
// each POST with the next of its statuses (the last one repeats), and
// passes on the logout tokens it got.
type receiver struct {
	*httptest.Server
	tokens   chan string
	attempts atomic.Int64
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	rc := &receiver{tokens: make(chan string, 100)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(rc.attempts.Add(1))
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("back-channel request %s with Content-Type %q, want a form POST", r.Method, r.Header.Get("Content-Type"))
		}
		if err := r.ParseForm(); err != nil {
			t.Errorf("back-channel request: %v", err)
		}
		rc.tokens <- r.PostForm.Get("logout_token")
		status := statuses[min(n, len(statuses))-1]
		if status/100 == 3 {
			w.Header().Set("Location", "/elsewhere") // followed, it would count twice
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// next returns the next logout token received, failing after a deadline.
func (rc *receiver) next(t *testing.T) string {
	t.Helper()
	select {
	case tok := <-rc.tokens:
		return tok
	case <-time.After(30 * time.Second):
		t.Fatal("no logout token arrived")
		return ""
	}
}

// none fails if a logout token has arrived.
func (rc *receiver) none(t *testing.T) {
	t.Helper()
	select {
	case <-rc.tokens:
		t.Error("a logout token arrived, want none")
	default:
	}
}

// hintLogout signs Alice in to the client, then ends the session from the
// relying party's server with the ID token as the hint; it returns the
// ID token's claims.
func hintLogout(t *testing.T, p *provider, conf oauth2.Config) map[string]any {
	t.Helper()
	tok := signInTokens(t, newBrowser(t), conf)
	if status, _ := backendLogout(t, p, url.Values{"id_token_hint": {idTokenOf(tok)}}); status != 200 {
		t.Fatalf("backend logout = %d", status)
	}
	_, claims := splitToken(t, idTokenOf(tok))
	return claims
}

// checkLogoutToken verifies a logout token as a relying party does: with
// verify and the JWKS fetched from the issuer, typ logout+jwt, aud the
// client (Back-Channel Logout 1.0 §2.6).
func checkLogoutToken(t *testing.T, p *provider, clientID, raw string, id map[string]any) {
	t.Helper()
	v, err := verify.New(t.Context(), verify.Config{Issuer: p.url, Audience: clientID, Types: []string{"logout+jwt"}, Now: p.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("verify logout token: %v", err)
	}
	var extra struct {
		SessionID string                    `json:"sid"`
		Events    map[string]map[string]any `json:"events"`
		Nonce     *string                   `json:"nonce"`
	}
	if err := c.Decode(&extra); err != nil {
		t.Fatal(err)
	}
	ev, ok := extra.Events["http://schemas.openid.net/event/backchannel-logout"]
	if c.Subject != id["sub"] || extra.SessionID != id["sid"] || !ok || len(ev) != 0 || len(extra.Events) != 1 ||
		extra.Nonce != nil || c.ID == "" || c.IssuedAt.IsZero() || c.Expiry.Sub(c.IssuedAt) != 2*time.Minute {
		t.Errorf("logout token claims = %+v %+v; want sub %v, sid %v, the logout event, jti, iat, exp two minutes on, no nonce", c, extra, id["sub"], id["sid"])
	}
}

// A logout token goes to the client's back-channel URI when its session
// ends; a failed delivery is retried after a delay, from the queue in the
// store, by a server started afresh.
func TestBackchannel_retry(t *testing.T) { backends(t, testBackchannel_retry) }

func testBackchannel_retry(t *testing.T, backend harnessOption) {
	p := newProvider(t, backend)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	rc := newReceiver(t, http.StatusInternalServerError, http.StatusOK)
	conf := newRP(t, p, store.Client{BackchannelLogoutURI: rc.URL + "/backchannel"})
	quiet := newReceiver(t, http.StatusOK) // another client, never signed in to
	newRP(t, p, store.Client{BackchannelLogoutURI: quiet.URL})
	id := hintLogout(t, p, conf)
	ctx := t.Context()

	if err := p.srv.backchannel.deliver(ctx); err != nil {
		t.Fatalf("backchannel.deliver() = %v", err)
	}
	checkLogoutToken(t, p, conf.ClientID, rc.next(t), id) // answered 500
	if err := p.srv.backchannel.deliver(ctx); err != nil {
		t.Fatal(err)
	}
	rc.none(t) // not due yet

	// A restart: a new server on the same store finds the retry queued.
	restarted, err := New(ctx, p.srv.opts)
	if err != nil {
		t.Fatal(err)
	}
	p.clock.Add(retryDelay(1))
	if err := restarted.backchannel.deliver(ctx); err != nil {
		t.Fatal(err)
	}
	checkLogoutToken(t, p, conf.ClientID, rc.next(t), id) // answered 200
	p.clock.Add(time.Hour)
	if err := restarted.backchannel.deliver(ctx); err != nil {
		t.Fatal(err)
	}
	rc.none(t)
	quiet.none(t)
	if q, _ := p.store.ListBackchannelLogouts(ctx, p.clock.Now().Add(24*time.Hour), 10); len(q) != 0 {
		t.Errorf("queue after delivery = %+v, want empty", q)
	}
}

// The user's logout answers while the receiver still holds the delivery.
func TestBackchannel_doesNotBlockLogout(t *testing.T) {
	p := newProvider(t)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	arrived, release := make(chan string, 1), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("back-channel request: %v", err)
		}
		arrived <- r.PostForm.Get("logout_token")
		<-release
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) }) // before slow.Close, which waits for the handler
	conf := newRP(t, p, store.Client{BackchannelLogoutURI: slow.URL})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go p.srv.RunBackchannel(ctx, time.Hour) // only the logout's kick wakes it

	tok := signInTokens(t, newBrowser(t), conf)
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Get(p.url + "/oauth2/logout?" + url.Values{"id_token_hint": {idTokenOf(tok)}}.Encode())
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	select {
	case status := <-answered:
		if status != 200 {
			t.Errorf("logout = %d, want 200", status)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the logout waited for the back-channel receiver")
	}
	select {
	case raw := <-arrived: // delivered after the logout answered, and still held
		_, id := splitToken(t, idTokenOf(tok))
		checkLogoutToken(t, p, conf.ClientID, raw, id)
	case <-time.After(30 * time.Second):
		t.Fatal("no logout token arrived")
	}
}

// Only a 2xx answer delivers; a redirect is not followed; after
// backchannelMaxAttempts failures the logout is given up.
func TestBackchannel_answers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		delivered bool
	}{
		{"200", http.StatusOK, true},
		{"204", http.StatusNoContent, true},
		{"redirect", http.StatusFound, false},
		{"400", http.StatusBadRequest, false},
		{"503", http.StatusServiceUnavailable, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProvider(t)
			p.signup(t, "Alice", "alice@example.com", "correct horse")
			rc := newReceiver(t, tc.status)
			conf := newRP(t, p, store.Client{BackchannelLogoutURI: rc.URL})
			hintLogout(t, p, conf)
			queued := func() int {
				q, err := p.store.ListBackchannelLogouts(t.Context(), p.clock.Now().Add(48*time.Hour), 10)
				if err != nil {
					t.Fatal(err)
				}
				return len(q)
			}
			for i := 1; i <= backchannelMaxAttempts; i++ {
				if err := p.srv.backchannel.deliver(t.Context()); err != nil {
					t.Fatal(err)
				}
				if got := rc.attempts.Load(); got != int64(i) {
					t.Fatalf("after %d runs, %d deliveries, want %d", i, got, i)
				}
				if tc.delivered {
					break
				}
				if i < backchannelMaxAttempts && queued() != 1 {
					t.Fatalf("after %d failed deliveries the logout is no longer queued", i)
				}
				p.clock.Add(retryDelay(i))
			}
			if queued() != 0 {
				t.Error("the logout is still queued: want it delivered or given up")
			}
		})
	}
}

// Two servers on one database deliver each logout once.
func TestBackchannel_once(t *testing.T) { backends(t, testBackchannel_once) }

func testBackchannel_once(t *testing.T, backend harnessOption) {
	p := newProvider(t, backend)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	rc := newReceiver(t, http.StatusOK)
	conf := newRP(t, p, store.Client{BackchannelLogoutURI: rc.URL})
	hintLogout(t, p, conf)
	replica, err := New(t.Context(), p.srv.opts)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, s := range []*Server{p.srv, replica, p.srv, replica} {
		wg.Go(func() {
			if err := s.backchannel.deliver(t.Context()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	rc.next(t)
	if n := rc.attempts.Load(); n != 1 {
		t.Errorf("%d deliveries, want 1", n)
	}
}

func TestRetryDelay(t *testing.T) {
	for attempts, want := range map[int]time.Duration{1: 5 * time.Second, 2: 10 * time.Second, 3: 20 * time.Second, 10: 2560 * time.Second, 11: time.Hour, 100: time.Hour} {
		if got := retryDelay(attempts); got != want {
			t.Errorf("retryDelay(%d) = %v, want %v", attempts, got, want)
		}
	}
}

// Discovery says back-channel logout with sid is supported, and go-oidc
// reads it.
func TestDiscovery_backchannelLogout(t *testing.T) {
	p := newProvider(t)
	provider, err := oidc.NewProvider(t.Context(), p.url)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Supported        bool     `json:"backchannel_logout_supported"`
		SessionSupported bool     `json:"backchannel_logout_session_supported"`
		Claims           []string `json:"claims_supported"`
		EndSession       string   `json:"end_session_endpoint"`
	}
	if err := provider.Claims(&d); err != nil {
		t.Fatal(err)
	}
	if !d.Supported || !d.SessionSupported || !strings.Contains(strings.Join(d.Claims, " "), "sid") || d.EndSession != p.url+"/oauth2/logout" {
		t.Errorf("discovery = %+v", d)
	}
}
