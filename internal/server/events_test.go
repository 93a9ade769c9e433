package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/store"
)

// tagged sends every request as a client behind a trusted proxy would:
// with a User-Agent, an X-Forwarded-For and the X-Request-Id of the step
// under way.
type tagged struct {
	mu   sync.Mutex
	step string
}

const (
	testAgent   = "events-test/1.0 (X11)"
	testAddress = "203.0.113.5"
)

func (tg *tagged) set(step string) { tg.mu.Lock(); tg.step = step; tg.mu.Unlock() }

func (tg *tagged) RoundTrip(r *http.Request) (*http.Response, error) {
	tg.mu.Lock()
	step := tg.step
	tg.mu.Unlock()
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", testAgent)
	r.Header.Set("X-Forwarded-For", testAddress)
	r.Header.Set("X-Request-Id", step)
	return http.DefaultTransport.RoundTrip(r)
}

// storedEvents returns every event in the store, oldest first.
func storedEvents(t *testing.T, st store.Store) []store.Event {
	t.Helper()
	list, err := st.ListEvents(context.Background(), store.EventFilter{})
	if err != nil {
		t.Fatalf("ListEvents() = %v", err)
	}
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	return list
}

// eventSummary is what a test expects of an event.
type eventSummary struct {
	Type, UserID, ClientID, RequestID string
	Detail                            map[string]string
}

// Every event the server records comes from its real trigger, through the
// HTTP API, and carries the user, the client, the client's address (by
// the trusted-proxy rule), its user agent and the request's id; the
// metrics count them; and no event of the whole run holds a password,
// token, code, secret or cookie.
func TestEvents_recorded(t *testing.T) { backends(t, testEvents_recorded) }

func testEvents_recorded(t *testing.T, backend harnessOption) {
	p := newProvider(t, backend, withOptions(func(o *Options) {
		o.HTTP.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
		o.HTTP.ServeMetrics = true
		o.Accounts.LoginPolicy = store.ThrottlePolicy{Free: 2, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	}))
	tg := &tagged{}
	web := &http.Client{Transport: tg}
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, web)
	var secrets []string // everything no event may hold
	keep := func(s ...string) { secrets = append(secrets, s...) }
	const alicePW, bobPW = "correct horse", "battery staple"
	keep(alicePW, bobPW, "wrong horse")

	post := func(step, path, body string, header ...string) *http.Response {
		t.Helper()
		tg.set(step)
		req, _ := http.NewRequest("POST", p.url+path, strings.NewReader(body))
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := web.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	signup := func(step, name, email, pw string) string {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"name": name, "email": email, "password": pw})
		if resp := post(step, "/user", string(body), "Content-Type", "application/json"); resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST /user = %d", resp.StatusCode)
		}
		return mustUserID(t, p.harness, email)
	}
	alice := signup("signup-alice", "Alice", "alice@example.com", alicePW)
	bob := signup("signup-bob", "Bob", "bob@example.com", bobPW)

	// The tutorial's login: a success, a wrong password, an unknown email;
	// bob's two wrong guesses spend his budget and the third is throttled.
	post("tutorial-ok", "/user/_authenticate", "", "Authorization", basic("alice@example.com", alicePW))
	post("tutorial-wrong", "/user/_authenticate", "", "Authorization", basic("alice@example.com", "wrong horse"))
	post("tutorial-unknown", "/user/_authenticate", "", "Authorization", basic("nobody@example.com", alicePW))
	post("guess-1", "/user/_authenticate", "", "Authorization", basic("bob@example.com", "wrong horse"))
	post("guess-2", "/user/_authenticate", "", "Authorization", basic("bob@example.com", "wrong horse"))
	if resp := post("throttled", "/user/_authenticate", "", "Authorization", basic("bob@example.com", bobPW)); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("bob's third attempt = %d, want 429", resp.StatusCode)
	}

	// The login page of an authorization request, the code exchanged, and
	// the cookies kept.
	conf := newRP(t, p, store.Client{})
	keep(conf.ClientSecret)
	b := newBrowser(t)
	b.client.Transport = tg
	tg.set("page-login")
	landed := b.signIn(conf.AuthCodeURL("s"), "alice@example.com", alicePW, true)
	code := landed.Query().Get("code")
	tg.set("exchange")
	tok, err := conf.Exchange(ctx, code)
	if err != nil {
		t.Fatalf("Exchange() = %v", err)
	}
	keep(code, hashToken(code), tok.AccessToken, tok.RefreshToken, hashToken(tok.RefreshToken), idTokenOf(tok))
	u, _ := url.Parse(p.url)
	for _, c := range b.client.Jar.Cookies(u) {
		keep(c.Value, hashToken(c.Value))
	}

	// The password grant, and its refresh token spent, then presented again
	// after the reuse window.
	tg.set("password-grant")
	ptok, err := conf.PasswordCredentialsToken(ctx, "alice@example.com", alicePW)
	if err != nil {
		t.Fatalf("password grant = %v", err)
	}
	keep(ptok.AccessToken, ptok.RefreshToken, idTokenOf(ptok))
	tg.set("refresh")
	next, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: ptok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh = %v", err)
	}
	keep(next.AccessToken, next.RefreshToken)
	p.clock.Add(11 * time.Second) // past the reuse window
	tg.set("reuse")
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: ptok.RefreshToken}).Token(); !isOAuthError(err, "invalid_grant") {
		t.Fatalf("reused refresh token = %v, want invalid_grant", err)
	}

	// Logout: by the confirmation page, and by an id_token_hint.
	tg.set("logout-confirmed")
	b.logout(p)
	tg.set("page-login-2")
	tok2 := signInTokens(t, b, conf)
	keep(tok2.AccessToken, tok2.RefreshToken, idTokenOf(tok2))
	tg.set("logout-hint")
	hreq, _ := http.NewRequest("GET", p.url+"/oauth2/logout?"+url.Values{"id_token_hint": {idTokenOf(tok2)}}.Encode(), nil)
	if resp, err := web.Do(hreq); err != nil || resp.StatusCode != 200 {
		t.Fatalf("logout with a hint = %v, %v", resp, err)
	} else {
		resp.Body.Close()
	}

	list := storedEvents(t, p.store)
	var got []eventSummary
	for _, e := range list {
		if e.Address != testAddress || e.UserAgent != testAgent {
			t.Errorf("event %s (%s) came from %q with %q, want %q with %q", e.Type, e.RequestID, e.Address, e.UserAgent, testAddress, testAgent)
		}
		if e.Type == events.SessionEnded {
			if e.Detail["sid"] == "" {
				t.Errorf("session.ended has no sid: %v", e.Detail)
			}
			delete(e.Detail, "sid")
		}
		got = append(got, eventSummary{e.Type, e.UserID, e.ClientID, e.RequestID, e.Detail})
	}
	reason := func(r string) map[string]string { return map[string]string{"reason": r} }
	want := []eventSummary{
		{events.Signup, alice, "", "signup-alice", nil},
		{events.Signup, bob, "", "signup-bob", nil},
		{events.LoginSuccess, alice, "", "tutorial-ok", nil},
		{events.LoginFailure, alice, "", "tutorial-wrong", reason("wrong_password")},
		{events.LoginFailure, "", "", "tutorial-unknown", reason("unknown_user")},
		{events.LoginFailure, bob, "", "guess-1", reason("wrong_password")},
		{events.LoginFailure, bob, "", "guess-2", reason("wrong_password")},
		{events.LoginThrottled, bob, "", "throttled", map[string]string{"retry_after_s": "60"}},
		{events.LoginSuccess, alice, conf.ClientID, "page-login", nil},
		{events.LoginSuccess, alice, conf.ClientID, "password-grant", nil},
		{events.RefreshReuseDetected, alice, conf.ClientID, "reuse", nil}, // a password grant's: no session
		{events.SessionEnded, alice, "", "logout-confirmed", map[string]string{"via": "confirmed"}},
		{events.LoginSuccess, alice, conf.ClientID, "page-login-2", nil},
		{events.SessionEnded, alice, conf.ClientID, "logout-hint", map[string]string{"via": "id_token_hint"}},
	}
	if !equalSummaries(want, got) {
		t.Errorf("events:\n%s\nwant:\n%s", summaries(got), summaries(want))
	}

	// Nothing secret in any event.
	dump, _ := json.Marshal(list)
	for _, s := range secrets {
		if s != "" && strings.Contains(string(dump), s) {
			t.Errorf("a stored event holds the secret %.12q…", s)
		}
	}

	// The metrics count them by type.
	metrics := p.do(t, "GET", "/metrics", "").Body.String()
	for _, line := range []string{
		`inkan_events_total{type="signup"} 2`,
		`inkan_events_total{type="login.failure"} 4`,
		`inkan_events_total{type="login.throttled"} 1`,
		`inkan_events_total{type="refresh.reuse_detected"} 1`,
		`inkan_events_total{type="session.ended"} 2`,
		`inkan_events_lost_total 0`,
	} {
		if !strings.Contains(metrics, line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
}

func equalSummaries(a, b []eventSummary) bool {
	return summaries(a) == summaries(b)
}

func summaries(list []eventSummary) string {
	var sb strings.Builder
	for _, e := range list {
		d, _ := json.Marshal(e.Detail)
		if len(e.Detail) == 0 {
			d = nil
		}
		sb.WriteString("  " + e.Type + " user=" + e.UserID + " client=" + e.ClientID + " req=" + e.RequestID + " " + string(d) + "\n")
	}
	return sb.String()
}
