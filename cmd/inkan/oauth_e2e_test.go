package main

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// The OpenID Connect flows against real processes, on SQLite and on
// PostgreSQL: a client registered with the CLI, the authorization code flow
// with PKCE through the login page (golang.org/x/oauth2 with a cookie jar),
// the ID token verified by go-oidc through discovery, refresh, userinfo and
// client credentials.
func TestE2E_openIDConnect(t *testing.T) {
	onBothBackends(t, openIDConnect)
}

var loginFormRE = regexp.MustCompile(`<input type="hidden" name="(csrf|request)" value="([^"]*)">`)

func openIDConnect(t *testing.T, p *proc, store ...string) {
	ctx := context.Background()
	p.register(t, "Alice", "alice@example.com", "correct horse battery")
	out := mustInkan(t, "", append([]string{"clients", "add", "--name", "E2E App", "--redirect-uri", "http://127.0.0.1/cb",
		"--grant", "authorization_code,refresh_token,client_credentials", "--trusted"}, store...)...)
	var reg struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(out), &reg); err != nil || reg.ClientID == "" || reg.ClientSecret == "" {
		t.Fatalf("clients add printed %q: %v", out, err)
	}

	provider, err := oidc.NewProvider(ctx, p.base)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	conf := oauth2.Config{ClientID: reg.ClientID, ClientSecret: reg.ClientSecret, Endpoint: provider.Endpoint(),
		RedirectURL: "http://127.0.0.1:8765/cb", Scopes: []string{oidc.ScopeOpenID, "email", "profile", "offline_access"}}
	verifier := oauth2.GenerateVerifier()

	b := newRPBrowser()
	resp, err := b.Get(conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-1")))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form := url.Values{"email": {"alice@example.com"}, "password": {"correct horse battery"}}
	for _, m := range loginFormRE.FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if form.Get("csrf") == "" {
		t.Fatalf("no login form:\n%.500s", page)
	}
	if resp, err := b.PostForm(p.base+"/oauth2/login", form); !errors.Is(err, errLanded) || b.landedAt == nil {
		body := ""
		if resp != nil {
			b, _ := io.ReadAll(resp.Body)
			body = string(b)
		}
		t.Fatalf("login did not land on the redirect URI: %v\n%.800s", err, body)
	}
	if b.landedAt.Query().Get("state") != "st-1" || b.landedAt.Query().Get("iss") != p.base {
		t.Errorf("redirect = %s", b.landedAt)
	}
	tok, err := conf.Exchange(ctx, b.landedAt.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange() = %v", err)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: reg.ClientID}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil || idt.Nonce != "n-1" {
		t.Fatalf("go-oidc Verify() = %+v, %v", idt, err)
	}
	// inkan token verify checks every kind of token inkan signs, ID tokens too.
	for _, raw := range []string{tok.AccessToken, tok.Extra("id_token").(string)} {
		if out, err := inkan(t, "", "token", "verify", "--jwks", p.base+"/.well-known/jwks.json", "--issuer", p.base, raw); err != nil {
			t.Errorf("token verify = %v\n%s", err, out)
		}
	}
	ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || ui.Email != "alice@example.com" {
		t.Errorf("UserInfo() = %+v, %v", ui, err)
	}
	old := *tok
	old.Expiry = time.Now().Add(-time.Minute)
	nt, err := conf.TokenSource(ctx, &old).Token()
	if err != nil || nt.RefreshToken == tok.RefreshToken || nt.AccessToken == "" {
		t.Errorf("refresh = %v, %v", nt, err)
	}
	cc := clientcredentials.Config{ClientID: reg.ClientID, ClientSecret: reg.ClientSecret, TokenURL: provider.Endpoint().TokenURL}
	if ct, err := cc.Token(ctx); err != nil || ct.AccessToken == "" {
		t.Errorf("client_credentials = %v, %v", ct, err)
	}
	// A client registered for the issuer's audience gets tokens that GET
	// /user takes, showing what their scope allows; the first client's,
	// for its own audience, are refused there.
	out = mustInkan(t, "", append([]string{"clients", "add", "--name", "Tutorial App", "--redirect-uri", "http://127.0.0.1/cb",
		"--grant", "password", "--audience", p.base}, store...)...)
	var tut struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(out), &tut); err != nil {
		t.Fatalf("clients add printed %q: %v", out, err)
	}
	pw := oauth2.Config{ClientID: tut.ClientID, ClientSecret: tut.ClientSecret, Endpoint: provider.Endpoint(), Scopes: []string{"email"}}
	ptok, err := pw.PasswordCredentialsToken(ctx, "alice@example.com", "correct horse battery")
	if err != nil {
		t.Fatalf("password grant = %v", err)
	}
	if code, body, _ := call(t, "GET", p.base+"/user", "", "Authorization", "Bearer "+ptok.AccessToken); code != 200 || body["email"] != "alice@example.com" || body["user"] != nil {
		t.Errorf("GET /user with a token for the issuer, scope email = %d %v, want 200 with the email only", code, body)
	}
	if code := p.me(t, tok.AccessToken); code != 401 {
		t.Errorf("GET /user with a token for the client's own audience = %d, want 401", code)
	}
	// A disabled user's refresh tokens end with the CLI command.
	mustInkan(t, "", append([]string{"users", "disable", "alice@example.com"}, store...)...)
	nt.Expiry = time.Now().Add(-time.Minute)
	if _, err := conf.TokenSource(ctx, nt).Token(); err == nil {
		t.Error("a disabled user's refresh token still works")
	}
}
