package server

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/token"
)

// GET /user is the tutorial's resource, whose audience is the issuer: an
// OAuth access token counts there only with the issuer in its aud (RFC 9068
// §4), and sees only what its scopes allow (OpenID Connect Core §5.4). The
// tutorial's own tokens see everything, as before.
func TestMe_accessTokens(t *testing.T) {
	p := newProvider(t)
	alice := p.signup(t, "Alice", "alice@example.com", "correct horse")
	sub := alice["id"].(string)
	c, _ := p.client(t, store.Client{})
	mint := func(aud []string, subject, scope string) string {
		t.Helper()
		at, err := p.srv.tokens.IssueAccess(token.AccessClaims{Subject: subject, Audience: aud, ClientID: c.ID, Scope: scope})
		if err != nil {
			t.Fatal(err)
		}
		return at.Raw
	}
	idToken, err := p.srv.ids.IDToken(store.Client{ID: p.url}, store.User{ID: sub}, nil, t0, nil, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	issuer := []string{p.url}
	for _, tc := range []struct {
		name  string
		token string
		want  map[string]any // nil: refused
	}{
		{"tutorial token", p.login(t, "alice@example.com", "correct horse"), map[string]any{"sub": sub, "user": "Alice", "email": "alice@example.com"}},
		{"no scope", mint(issuer, sub, ""), map[string]any{"sub": sub}},
		{"openid", mint(issuer, sub, "openid"), map[string]any{"sub": sub}},
		{"email", mint(issuer, sub, "openid email"), map[string]any{"sub": sub, "email": "alice@example.com"}},
		{"profile", mint(issuer, sub, "profile"), map[string]any{"sub": sub, "user": "Alice"}},
		{"every scope", mint([]string{"https://api.example.com", p.url}, sub, "openid profile email"), map[string]any{"sub": sub, "user": "Alice", "email": "alice@example.com"}},
		{"another audience", mint([]string{"https://api.example.com"}, sub, "openid profile email"), nil},
		{"the client's own audience", mint([]string{c.ID}, sub, "openid profile email"), nil},
		{"issuer with a trailing slash", mint([]string{p.url + "/"}, sub, "openid profile email"), nil},
		{"client credentials", mint(issuer, c.ID, "email"), nil},
		{"ID token for the issuer", idToken, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := p.do(t, "GET", "/user", "", "Authorization", "Bearer "+tc.token)
			if tc.want == nil {
				if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
					t.Errorf("GET /user = %d %s (WWW-Authenticate %q), want 401 invalid_token", rec.Code, rec.Body, rec.Header().Get("WWW-Authenticate"))
				}
				return
			}
			if rec.Code != 200 {
				t.Fatalf("GET /user = %d %s, want 200", rec.Code, rec.Body)
			}
			if diff := cmp.Diff(tc.want, decode(t, rec)); diff != "" {
				t.Errorf("GET /user body mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// The claims of /userinfo, GET /user, introspection's username, ID tokens
// and access tokens all follow one rule, through real grants: email with
// the email scope, name with the profile scope.
func TestOAuth_claimsByScope(t *testing.T) {
	p := newProvider(t)
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	c, secret := p.client(t, store.Client{Audience: []string{p.url, "https://api.example.com"}})
	conf := oauth2.Config{ClientID: c.ID, ClientSecret: secret, Endpoint: oauth2.Endpoint{TokenURL: p.url + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}}
	for _, tc := range []struct {
		scope       string
		email, name bool
	}{
		{"openid", false, false},
		{"openid email", true, false},
		{"openid profile", false, true},
		{"openid profile email", true, true},
	} {
		t.Run(tc.scope, func(t *testing.T) {
			conf.Scopes = strings.Fields(tc.scope)
			tok, err := conf.PasswordCredentialsToken(t.Context(), "alice@example.com", "correct horse")
			if err != nil {
				t.Fatal(err)
			}
			_, idClaims := splitToken(t, tok.Extra("id_token").(string))
			_, atClaims := splitToken(t, tok.AccessToken)
			userinfo := decode(t, p.do(t, "GET", "/userinfo", "", "Authorization", "Bearer "+tok.AccessToken))
			me := decode(t, p.do(t, "GET", "/user", "", "Authorization", "Bearer "+tok.AccessToken))
			me["name"] = me["user"] // GET /user names the name "user", as the tutorial does
			introspection := decode(t, p.do(t, "POST", "/oauth2/introspect", url.Values{"token": {tok.AccessToken}}.Encode(),
				"Content-Type", "application/x-www-form-urlencoded", "Authorization", basicClient(c.ID, secret)))
			introspection["email"] = introspection["username"]
			for _, where := range []struct {
				name     string
				claims   map[string]any
				withName bool // introspection tells no name
			}{
				{"access token", atClaims, true}, {"ID token", idClaims, true}, {"/userinfo", userinfo, true},
				{"GET /user", me, true}, {"introspection", introspection, false},
			} {
				if got := where.claims["email"] != nil; got != tc.email {
					t.Errorf("%s: email = %v, want present=%v", where.name, where.claims["email"], tc.email)
				}
				if got := where.claims["name"] != nil; got != (tc.name && where.withName) {
					t.Errorf("%s: name = %v, want present=%v", where.name, where.claims["name"], tc.name)
				}
			}
			for _, claims := range []map[string]any{atClaims, idClaims, userinfo} {
				if got := claims["email_verified"] != nil; got != tc.email {
					t.Errorf("email_verified = %v, want present=%v", claims["email_verified"], tc.email)
				}
			}
			if atClaims["user"] != nil || !slices.Contains(strings.Fields(atClaims["scope"].(string)), "openid") {
				t.Errorf("access token claims = %v, want no tutorial user claim and the scope", atClaims)
			}
		})
	}
}
