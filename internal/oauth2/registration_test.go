package oauth2

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/inkan-dev/inkan/internal/store"
)

func TestRegistration_Check(t *testing.T) {
	const ok = "https://app.example.com/cb"
	for _, tc := range []struct {
		name string
		reg  Registration
		want []string // Problem.String of every problem, in order
	}{
		{"valid", Registration{Name: "App", RedirectURIs: []string{ok}}, nil},
		{"public native", Registration{Name: "App", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb", "com.example.app:/cb"}}, nil},
		{"machine", Registration{Name: "M", Grants: []string{GrantClientCredentials}, Scopes: []string{"api"}}, nil},
		{"missing name", Registration{Name: "  ", RedirectURIs: []string{ok}}, []string{"--name: required"}},
		{"long name", Registration{Name: strings.Repeat("n", 65), RedirectURIs: []string{ok}}, []string{"--name: 65 characters, at most 64 allowed"}},
		{"64 wide characters", Registration{Name: strings.Repeat("é", 64), RedirectURIs: []string{ok}}, nil},
		{"name not text", Registration{Name: "A\x01", RedirectURIs: []string{ok}}, []string{"--name: control characters or invalid UTF-8"}},
		{"unknown grant", Registration{Name: "A", RedirectURIs: []string{ok}, Grants: []string{"implicit"}},
			[]string{`--grant: "implicit" is not a grant type (want one of authorization_code, refresh_token, client_credentials, password)`}},
		{"grant twice", Registration{Name: "A", RedirectURIs: []string{ok}, Grants: []string{GrantAuthorizationCode, GrantAuthorizationCode}},
			[]string{`--grant: "authorization_code" given twice`}},
		{"public client_credentials", Registration{Name: "A", Public: true, Grants: []string{GrantClientCredentials}},
			[]string{"--grant: a public client cannot use client_credentials: it has no secret to authenticate with"}},
		{"no redirect URI for the code flow", Registration{Name: "A"}, []string{"--redirect-uri: at least one is required for the authorization_code grant"}},
		{"redirect URI twice", Registration{Name: "A", RedirectURIs: []string{ok, ok}}, []string{`--redirect-uri "https://app.example.com/cb": given twice`}},
		{"empty redirect URI", Registration{Name: "A", RedirectURIs: []string{""}}, []string{`--redirect-uri "": empty`}},
		{"post-logout", Registration{Name: "A", RedirectURIs: []string{ok}, PostLogoutRedirectURIs: []string{"http://app.example.com/bye", ok, ok}}, []string{
			`--post-logout-redirect-uri "http://app.example.com/bye": http is allowed only on a loopback IP literal: 127.0.0.1 or [::1] (RFC 8252 §7.3); use https`,
			`--post-logout-redirect-uri "https://app.example.com/cb": given twice`,
		}},
		{"back-channel", Registration{Name: "A", RedirectURIs: []string{ok}, BackchannelLogoutURI: "https://app.example.com/bc#x"},
			[]string{`--backchannel-logout-uri "https://app.example.com/bc#x": has a fragment (Back-Channel Logout 1.0 §2.2)`}},
		{"scope twice", Registration{Name: "A", RedirectURIs: []string{ok}, Scopes: []string{"openid", "openid"}}, []string{`--scope "openid": given twice`}},
		{"not a scope", Registration{Name: "A", RedirectURIs: []string{ok}, Scopes: []string{"openid profile"}},
			[]string{`--scope "openid profile": not a scope token (RFC 6749 §3.3: printable ASCII without space, " or \)`}},
		{"too many scopes", Registration{Name: "A", RedirectURIs: []string{ok}, Scopes: strings.Fields(manyScopes(65))},
			[]string{"--scope: at most 64 scopes, of 2048 bytes in all, as a request may ask for"}},
		{"audience", Registration{Name: "A", RedirectURIs: []string{ok}, Audience: []string{"api", "", "a\x02"}},
			[]string{"--audience: empty value", `--audience "a\x02": control characters or invalid UTF-8`}},
		{"every problem at once", Registration{Grants: []string{"implicit"}, RedirectURIs: []string{"http://example.com/cb#x"}, Scopes: []string{"a", "a"}}, []string{
			"--name: required",
			`--grant: "implicit" is not a grant type (want one of authorization_code, refresh_token, client_credentials, password)`,
			`--redirect-uri "http://example.com/cb#x": has a fragment (RFC 6749 §3.1.2)`,
			`--scope "a": given twice`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, problems := tc.reg.Check()
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Check() problems (-want +got):\n%s", diff)
			}
		})
	}
}

// Check fills in the defaults and trims the name; the problems name their
// field and value as the client's JSON does.
func TestRegistration_Check_client(t *testing.T) {
	c, problems := Registration{Name: " App ", RedirectURIs: []string{"https://app.example.com/cb"}, Trusted: true}.Check()
	want := store.Client{
		Name: "App", RedirectURIs: []string{"https://app.example.com/cb"}, Grants: DefaultGrants, Scopes: DefaultScopes, Trusted: true,
	}
	if len(problems) != 0 || !cmp.Equal(c, want) {
		t.Errorf("Check() = %+v, %v; want %+v", c, problems, want)
	}
	c.Grants[0], c.Scopes[0] = "x", "x"
	if DefaultGrants[0] != GrantAuthorizationCode || DefaultScopes[0] != "openid" {
		t.Error("the client Check returns shares its defaults' arrays")
	}
	_, problems = Registration{Name: "A", RedirectURIs: []string{""}, Audience: []string{""}}.Check()
	if want := []Problem{{Field: "redirect_uris", Value: "", HasValue: true, Message: "empty"}, {Field: "audience", Message: "empty value"}}; !slices.Equal(problems, want) {
		t.Errorf("Check() problems = %+v, want %+v", problems, want)
	}
}

func TestCheckRedirectURI(t *testing.T) {
	for _, tc := range []struct {
		uri  string
		want string // in the problem; "" for none
	}{
		{"https://app.example.com/cb", ""},
		{"https://app.example.com:8443/cb?x=1", ""},
		{"http://127.0.0.1/cb", ""},
		{"http://127.0.0.1:8080/cb", ""},
		{"http://[::1]/cb", ""},
		{"com.example.app:/cb", ""},
		{"", "empty"},
		{"https://app.example.com/\x00", "control characters"},
		{"%zz", "not a URI"},
		{"/cb", "not an absolute URI"},
		{"https://app.example.com/cb#", "has a fragment"},
		{"https://me@app.example.com/cb", "has user info"},
		{"https:///cb", "has no host"},
		{"http://localhost/cb", "localhost is refused: it may resolve to another address or interface than the app listens on, and only IP literals match any port (RFC 8252 §8.3, §7.3); register http://127.0.0.1/cb or http://[::1]/cb, which match any port"},
		{"http://LocalHost:3000/cb?x=1", "register http://127.0.0.1/cb?x=1 or http://[::1]/cb?x=1"},
		{"http://app.localhost/cb", "localhost is refused"},
		{"http://10.0.0.1/cb", "http is allowed only on a loopback IP literal"},
		{"http://app.example.com/cb", "http is allowed only on a loopback IP literal"},
		{"myapp:/cb", "scheme myapp is neither https, loopback http, nor a private-use scheme with a dot"},
		{"javascript:alert(1)", "scheme javascript"},
	} {
		got := checkRedirectURI(tc.uri)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("checkRedirectURI(%q) = %q, want %q", tc.uri, got, tc.want)
		}
	}
}

func TestCheckBackchannelURI(t *testing.T) {
	for _, tc := range []struct {
		uri  string
		want string // the problem; "" for none
	}{
		{"https://app.example.com/bc", ""},
		{"http://127.0.0.1:9000/bc", ""},
		{"http://[::1]/bc", ""},
		{"%zz", "not a URI"},
		{"/bc", "not an absolute URI"},
		{"https://app.example.com/bc#x", "has a fragment (Back-Channel Logout 1.0 §2.2)"},
		{"https://me@app.example.com/bc", "has user info"},
		{"https:///bc", "has no host"},
		{"http://localhost/bc", "http is allowed only on a loopback address (127.0.0.1 or [::1]); use https"},
		{"http://app.example.com/bc", "http is allowed only on a loopback address (127.0.0.1 or [::1]); use https"},
		{"com.example.app:/bc", "scheme com.example.app is neither https nor loopback http"},
	} {
		if got := checkBackchannelURI(tc.uri); got != tc.want {
			t.Errorf("checkBackchannelURI(%q) = %q, want %q", tc.uri, got, tc.want)
		}
	}
}

// The warning says what MatchRedirectURI does with a loopback URI
// registered with a port.
func TestLoopbackPortWarning(t *testing.T) {
	for _, tc := range []struct {
		uri, want string
	}{
		{"http://127.0.0.1/cb", ""},
		{"http://[::1]/cb", ""},
		{"https://app.example.com:8443/cb", ""},
		{"http://app.example.com:8080/cb", ""},
		{"com.example.app:/cb", ""},
		{"http://127.0.0.1:8080/cb", "--redirect-uri http://127.0.0.1:8080/cb names port 8080: it matches only that port; register http://127.0.0.1/cb so that the app may listen on any port (RFC 8252 §7.3)"},
		{"http://[::1]:9000/a/b?c=d", "--redirect-uri http://[::1]:9000/a/b?c=d names port 9000: it matches only that port; register http://[::1]/a/b?c=d so that the app may listen on any port (RFC 8252 §7.3)"},
	} {
		if got := LoopbackPortWarning(tc.uri); got != tc.want {
			t.Errorf("LoopbackPortWarning(%q) = %q, want %q", tc.uri, got, tc.want)
		}
		if tc.want == "" {
			continue
		}
		// Registered, the portless URI it suggests matches this one, whatever its port.
		_, after, _ := strings.Cut(tc.want, "; register ")
		suggested, _, _ := strings.Cut(after, " ")
		if _, ok := MatchRedirectURI([]string{suggested}, tc.uri); !ok {
			t.Errorf("MatchRedirectURI(%s, %s) = false, want the suggestion to match", suggested, tc.uri)
		}
	}
}

// Register stores a confidential client with a new id and a secret that
// authenticates it, and a public one with none; RotateSecret replaces the
// secret at once and refuses public and unknown clients.
func TestRegister(t *testing.T) {
	_, st := mustAuthorizer(t)
	ctx := context.Background()
	conf, secret, err := Register(ctx, st, store.Client{Name: "App", Grants: []string{GrantClientCredentials}, Scopes: []string{"api"}}, t0)
	if err != nil {
		t.Fatalf("Register(confidential) = %v", err)
	}
	if len(conf.ID) != 26 || strings.ToLower(conf.ID) != conf.ID || secret == "" {
		t.Errorf("Register(confidential) = id %q, secret %q; want 26 lower-case characters and a secret", conf.ID, secret)
	}
	stored, err := st.GetClient(ctx, conf.ID)
	if err != nil || !stored.CreatedAt.Equal(t0) || !stored.UpdatedAt.Equal(t0) {
		t.Fatalf("GetClient(%s) = %+v, %v; want it stored at t0", conf.ID, stored, err)
	}
	if err := Authenticate(stored, Credentials{ClientID: conf.ID, Secret: secret, Method: AuthBasic}); err != nil {
		t.Errorf("the registered secret does not authenticate: %v", err)
	}
	pub, none, err := Register(ctx, st, store.Client{Name: "SPA", Public: true, Grants: []string{GrantAuthorizationCode}}, t0)
	if err != nil || none != "" || pub.SecretHash != nil {
		t.Errorf("Register(public) = secret %q, hash %x, %v; want neither", none, pub.SecretHash, err)
	}

	later := t0.Add(time.Hour)
	next, err := RotateSecret(ctx, st, conf.ID, later)
	if err != nil || next == "" || next == secret {
		t.Fatalf("RotateSecret = %q, %v; want a new secret", next, err)
	}
	stored, _ = st.GetClient(ctx, conf.ID)
	if Authenticate(stored, Credentials{ClientID: conf.ID, Secret: secret, Method: AuthBasic}) == nil {
		t.Error("the old secret still authenticates after RotateSecret")
	}
	if err := Authenticate(stored, Credentials{ClientID: conf.ID, Secret: next, Method: AuthBasic}); err != nil || !stored.UpdatedAt.Equal(later) {
		t.Errorf("after RotateSecret: new secret %v, updated %v; want it to authenticate, updated at %v", err, stored.UpdatedAt, later)
	}
	if _, err := RotateSecret(ctx, st, pub.ID, later); !errors.Is(err, ErrPublicClient) {
		t.Errorf("RotateSecret(public) = %v, want ErrPublicClient", err)
	}
	if _, err := RotateSecret(ctx, st, "nobody", later); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RotateSecret(unknown) = %v, want store.ErrNotFound", err)
	}
}
