package oauth2

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
)

// challenge is a well-formed S256 code_challenge (RFC 7636 Appendix B).
const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

// mustAuthorizer is an Authorizer over a new SQLite store holding a
// confidential client "web", a public client "native", a client "machine"
// that may not use the code flow, and a user "u1"; its clock stands at t0.
func mustAuthorizer(tb testing.TB) (*Authorizer, store.Store) {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "inkan.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	for _, c := range []store.Client{
		{ID: "web", Name: "Web", SecretHash: make([]byte, 32), RedirectURIs: []string{"https://app.example.com/cb"},
			Grants: []string{GrantAuthorizationCode, GrantRefreshToken}, Scopes: []string{"openid", "profile", "email"}},
		{ID: "native", Name: "Native", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb", "https://app.example.com/native"},
			Grants: []string{GrantAuthorizationCode}, Scopes: []string{"openid"}},
		{ID: "machine", Name: "Machine", SecretHash: make([]byte, 32), RedirectURIs: []string{"https://m.example.com/cb"},
			Grants: []string{GrantClientCredentials}, Scopes: []string{"api"}},
	} {
		c.CreatedAt, c.UpdatedAt = t0, t0
		if err := st.CreateClient(ctx, c); err != nil {
			tb.Fatal(err)
		}
	}
	if err := st.CreateUser(ctx, store.User{ID: "u1", Name: "Alice", Email: "alice@example.com", PasswordHash: "x", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		tb.Fatal(err)
	}
	return &Authorizer{Store: st, Now: func() time.Time { return t0 }}, st
}

// authParams are the parameters of a valid request of client web, with
// the changes given as name, value pairs ("" deletes a parameter).
func authParams(change ...string) url.Values {
	q := url.Values{
		"client_id": {"web"}, "redirect_uri": {"https://app.example.com/cb"}, "response_type": {"code"},
		"scope": {"openid email"}, "state": {"st"}, "nonce": {"n"},
	}
	for i := 0; i+1 < len(change); i += 2 {
		if change[i+1] == "" {
			q.Del(change[i])
		} else {
			q.Set(change[i], change[i+1])
		}
	}
	return q
}

func TestAuthorizer_ParseRequest(t *testing.T) {
	a, _ := mustAuthorizer(t)
	twice := authParams()
	twice["scope"] = []string{"openid", "email"}
	twiceClient := authParams()
	twiceClient["client_id"] = []string{"web", "web"}
	native := func(change ...string) url.Values {
		return authParams(append([]string{"client_id", "native", "redirect_uri", "http://127.0.0.1/cb", "scope", "openid",
			"code_challenge", challenge, "code_challenge_method", "S256"}, change...)...)
	}
	for _, tc := range []struct {
		name     string
		q        url.Values
		code     string // "" for a valid request
		redirect bool   // the error goes back to the client
		desc     string // in the error's description
	}{
		{"valid", authParams(), "", false, ""},
		{"no scope: the client's", authParams("scope", ""), "", false, ""},
		{"prompt login", authParams("prompt", "login"), "", false, ""},
		{"public with PKCE on any loopback port", native("redirect_uri", "http://127.0.0.1:49152/cb"), "", false, ""},
		{"client_id twice", twiceClient, InvalidRequest, false, "client_id given more than once"},
		{"redirect_uri not text", authParams("redirect_uri", "https://app.example.com/cb\x00"), InvalidRequest, false, "redirect_uri holds control characters"},
		{"unknown client", authParams("client_id", "nobody"), InvalidRequest, false, "unknown client"},
		{"no client", authParams("client_id", ""), InvalidRequest, false, "unknown client"},
		{"unregistered redirect_uri", authParams("redirect_uri", "https://evil.example.com/cb"), InvalidRequest, false, "not registered"},
		{"no redirect_uri", authParams("redirect_uri", ""), InvalidRequest, false, "not registered"},
		{"a parameter twice", twice, InvalidRequest, true, "scope given more than once"},
		{"nonce not text", authParams("nonce", "n\x7f"), InvalidRequest, true, `parameter "nonce" holds control characters`},
		{"response_type token", authParams("response_type", "token"), UnsupportedResponseType, true, "only response_type=code"},
		{"no response_type", authParams("response_type", ""), UnsupportedResponseType, true, "only response_type=code"},
		{"client without the code flow", authParams("client_id", "machine", "redirect_uri", "https://m.example.com/cb", "scope", "api"), UnauthorizedClient, true, "authorization code flow"},
		{"request object", authParams("request", "eyJ"), InvalidRequest, true, "request objects"},
		{"request_uri", authParams("request_uri", "https://app.example.com/r"), InvalidRequest, true, "request objects"},
		{"response_mode fragment", authParams("response_mode", "fragment"), InvalidRequest, true, "response_mode=query"},
		{"malformed scope", authParams("scope", "openid  email"), InvalidScope, true, "malformed scope"},
		{"scope not allowed", authParams("scope", "openid admin"), InvalidScope, true, "scope admin is not allowed"},
		{"plain PKCE", authParams("code_challenge", challenge, "code_challenge_method", "plain"), InvalidRequest, true, "must be S256"},
		{"malformed challenge", authParams("code_challenge", "short", "code_challenge_method", "S256"), InvalidRequest, true, "malformed code_challenge"},
		{"method without challenge", authParams("code_challenge_method", "S256"), InvalidRequest, true, "code_challenge is required"},
		{"challenge without method", authParams("code_challenge", challenge), InvalidRequest, true, "plain is not supported"},
		{"public without PKCE", native("code_challenge", "", "code_challenge_method", ""), InvalidRequest, true, "PKCE (S256) is required"},
		{"nonce too long", authParams("nonce", strings.Repeat("n", 513)), InvalidRequest, true, "too long"},
		{"state too long", authParams("state", strings.Repeat("s", 2049)), InvalidRequest, true, "too long"},
		{"unknown prompt", authParams("prompt", "select_account"), InvalidRequest, true, "prompt must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ar, err := a.ParseRequest(t.Context(), tc.q)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("ParseRequest(%v) error = %v, want nil", tc.q, err)
				}
				if ar.Client.ID != tc.q.Get("client_id") || ar.RedirectURI != tc.q.Get("redirect_uri") || ar.State != tc.q.Get("state") ||
					ar.Nonce != tc.q.Get("nonce") || ar.Challenge != tc.q.Get("code_challenge") || ar.Prompt != tc.q.Get("prompt") {
					t.Errorf("ParseRequest(%v) = %+v, want the request's values", tc.q, ar)
				}
				return
			}
			var aerr *AuthorizeError
			if !errors.As(err, &aerr) || aerr.Err.Code != tc.code || aerr.Redirect != tc.redirect || !strings.Contains(aerr.Err.Description, tc.desc) {
				t.Fatalf("ParseRequest(%v) error = %#v, want %s (redirect %v) saying %q", tc.q, err, tc.code, tc.redirect, tc.desc)
			}
			if !errors.Is(err, aerr.Err) {
				t.Errorf("ParseRequest(%v) error does not unwrap to its *Error", tc.q)
			}
			if tc.redirect != (ar != nil) {
				t.Errorf("ParseRequest(%v) request = %v, want one exactly when the error redirects", tc.q, ar)
			}
			if ar != nil && ar.RedirectURI != tc.q.Get("redirect_uri") {
				t.Errorf("ParseRequest(%v) redirects to %q, want %q", tc.q, ar.RedirectURI, tc.q.Get("redirect_uri"))
			}
		})
	}
}

// The scope granted is the one asked for, or the client's own when none
// was; the state of a request whose state is not text is not echoed back.
func TestAuthorizer_ParseRequest_values(t *testing.T) {
	a, _ := mustAuthorizer(t)
	for _, tc := range []struct {
		name      string
		q         url.Values
		scope     string
		state     string
		challenge string
	}{
		{"asked", authParams(), "openid email", "st", ""},
		{"none asked", authParams("scope", ""), "openid profile email", "st", ""},
		{"with PKCE", authParams("code_challenge", challenge, "code_challenge_method", "S256"), "openid email", "st", challenge},
		{"state not text", authParams("state", "st\x01"), "", "", ""},
		{"state valid, another parameter not", authParams("login_hint", "\x01"), "", "st", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ar, _ := a.ParseRequest(t.Context(), tc.q)
			if ar == nil {
				t.Fatalf("ParseRequest(%v) = nil, want a request", tc.q)
			}
			if got := strings.Join(ar.Scope, " "); got != tc.scope || ar.State != tc.state || ar.Challenge != tc.challenge {
				t.Errorf("ParseRequest(%v) = scope %q, state %q, challenge %q; want %q, %q, %q", tc.q, got, ar.State, ar.Challenge, tc.scope, tc.state, tc.challenge)
			}
		})
	}
}

func TestAuthorizer_NeedsConsent(t *testing.T) {
	ctx := context.Background()
	a, st := mustAuthorizer(t)
	u := store.User{ID: "u1"}
	if err := st.PutConsent(ctx, store.Consent{UserID: "u1", ClientID: "web", Scopes: []string{"openid", "email"}, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	web, _ := st.GetClient(ctx, "web")
	native, _ := st.GetClient(ctx, "native")
	trusted := func(c store.Client) store.Client { c.Trusted = true; return c }
	for _, tc := range []struct {
		name string
		ar   AuthorizeRequest
		want bool
	}{
		{"consented to every scope", AuthorizeRequest{Client: web, Scope: []string{"openid", "email"}}, false},
		{"consented to some", AuthorizeRequest{Client: web, Scope: []string{"openid", "profile"}}, true},
		{"consented, prompt=consent", AuthorizeRequest{Client: web, Scope: []string{"openid"}, Prompt: PromptConsent}, true},
		{"another user", AuthorizeRequest{Client: web, Scope: []string{"openid"}}, true}, // u2 below
		{"trusted", AuthorizeRequest{Client: trusted(web), Scope: []string{"openid", "profile"}}, false},
		{"trusted, prompt=consent", AuthorizeRequest{Client: trusted(web), Prompt: PromptConsent}, false},
		{"public", AuthorizeRequest{Client: native, RedirectURI: "https://app.example.com/native"}, true},
		{"public trusted, loopback", AuthorizeRequest{Client: trusted(native), RedirectURI: "http://127.0.0.1:49152/cb"}, true},
		{"public trusted, https", AuthorizeRequest{Client: trusted(native), RedirectURI: "https://app.example.com/native"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := u
			if tc.name == "another user" {
				u = store.User{ID: "u2"}
			}
			if got := a.NeedsConsent(ctx, &tc.ar, u); got != tc.want {
				t.Errorf("NeedsConsent(%s, scope %q, prompt %q, user %s) = %v, want %v", tc.ar.Client.ID, tc.ar.Scope, tc.ar.Prompt, u.ID, got, tc.want)
			}
		})
	}
}

// Consent adds the request's scopes to those consented to before.
func TestAuthorizer_Consent(t *testing.T) {
	ctx := context.Background()
	a, st := mustAuthorizer(t)
	web, _ := st.GetClient(ctx, "web")
	u := store.User{ID: "u1"}
	for _, tc := range []struct {
		scope []string
		want  []string
	}{
		{[]string{"openid"}, []string{"openid"}},
		{[]string{"openid", "email"}, []string{"openid", "email"}},
		{[]string{"profile"}, []string{"profile", "openid", "email"}},
	} {
		ar := &AuthorizeRequest{Client: web, Scope: tc.scope}
		if err := a.Consent(ctx, ar, u); err != nil {
			t.Fatal(err)
		}
		c, err := st.GetConsent(ctx, "u1", "web")
		if err != nil || !slices.Equal(c.Scopes, tc.want) || !c.CreatedAt.Equal(t0) {
			t.Errorf("after Consent(%q): consent = %+v, %v; want scopes %q at %v", tc.scope, c, err, tc.want, t0)
		}
		if a.NeedsConsent(ctx, ar, u) {
			t.Errorf("NeedsConsent(%q) after Consent = true, want false", tc.scope)
		}
	}
}

// A code is stored by its SHA-256, as the code grant looks it up, with
// what the token request is checked against, and lives CodeTTL.
func TestAuthorizer_IssueCode(t *testing.T) {
	ctx := context.Background()
	a, st := mustAuthorizer(t)
	sess := store.Session{Hash: "h1", ID: "sid-1", UserID: "u1", AuthTime: t0.Add(-time.Minute), CreatedAt: t0.Add(-time.Minute), ExpiresAt: t0.Add(time.Hour)}
	if err := st.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	ar, err := a.ParseRequest(ctx, authParams("code_challenge", challenge, "code_challenge_method", "S256"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 2 {
		raw, err := a.IssueCode(ctx, ar, sess, store.User{ID: "u1"})
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(raw))
		code, err := st.GetAuthCode(ctx, hex.EncodeToString(sum[:]))
		if err != nil {
			t.Fatalf("GetAuthCode(sha256(code)) = %v", err)
		}
		want := store.AuthCode{
			Hash: hex.EncodeToString(sum[:]), ClientID: "web", UserID: "u1", RedirectURI: "https://app.example.com/cb", Scope: "openid email",
			Nonce: "n", CodeChallenge: challenge, SessionID: "sid-1", Family: code.Family, AuthTime: sess.AuthTime, CreatedAt: t0, ExpiresAt: t0.Add(CodeTTL),
		}
		if len(raw) != 43 || code.Family == "" || seen[raw] || seen[code.Family] {
			t.Errorf("IssueCode() = %q with family %q, want 256 random bits and a new family each time", raw, code.Family)
		}
		seen[raw], seen[code.Family] = true, true
		code.AuthTime, code.CreatedAt, code.ExpiresAt = code.AuthTime.UTC(), code.CreatedAt.UTC(), code.ExpiresAt.UTC()
		if !reflect.DeepEqual(code, want) {
			t.Errorf("stored code = %+v, want %+v", code, want)
		}
	}
	// A store that refuses the code (the session ended meanwhile) is an error.
	if _, err := a.IssueCode(ctx, ar, store.Session{ID: "gone"}, store.User{ID: "u1"}); err == nil {
		t.Error("IssueCode(an ended session) error = nil, want the store's")
	}
}
