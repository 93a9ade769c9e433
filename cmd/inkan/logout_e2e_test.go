package main

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/inkan-dev/inkan/verify"
)

// Logout from a relying party's back channel against real processes, on
// SQLite and on PostgreSQL: a client registered with the CLI with a
// back-channel logout URI signs Alice in (x/oauth2, go-oidc); its server
// then ends her session with the ID token as id_token_hint and no cookie,
// as oauth2-proxy's --backend-logout-url does. The session, its refresh
// token and the browser's sign-in end, and the client's back-channel URI
// gets a logout token that verifies against the JWKS.
func TestE2E_backchannelLogout(t *testing.T) {
	onBothBackends(t, backchannelLogout)
}

func backchannelLogout(t *testing.T, p *proc, store ...string) {
	ctx := context.Background()
	tokens := make(chan string, 10)
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("back-channel logout request: ParseForm() = %v", err)
		}
		tokens <- r.PostForm.Get("logout_token")
	}))
	defer rp.Close()

	p.register(t, "Alice", "alice@example.com", "correct horse battery")
	out := mustInkan(t, "", append([]string{"clients", "add", "--name", "Proxy", "--redirect-uri", "http://127.0.0.1/cb",
		"--backchannel-logout-uri", rp.URL + "/backchannel", "--trusted"}, store...)...)
	var reg struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		Backchannel  string `json:"backchannel_logout_uri"`
	}
	if err := json.Unmarshal([]byte(out), &reg); err != nil || reg.Backchannel != rp.URL+"/backchannel" {
		t.Fatalf("clients add printed %q: %v", out, err)
	}
	provider, err := oidc.NewProvider(ctx, p.base)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	var meta struct {
		Backchannel bool `json:"backchannel_logout_supported"`
	}
	if err := provider.Claims(&meta); err != nil {
		t.Fatalf("discovery: %v", err)
	}
	if !meta.Backchannel {
		t.Error("discovery does not say backchannel_logout_supported")
	}
	conf := oauth2.Config{ClientID: reg.ClientID, ClientSecret: reg.ClientSecret, Endpoint: provider.Endpoint(),
		RedirectURL: "http://127.0.0.1:8765/cb", Scopes: []string{oidc.ScopeOpenID, "email"}}

	b := newRPBrowser()
	verifier := oauth2.GenerateVerifier()
	resp, err := b.Get(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form := url.Values{"email": {"alice@example.com"}, "password": {"correct horse battery"}}
	for _, m := range loginFormRE.FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if _, err := b.PostForm(p.base+"/oauth2/login", form); !errors.Is(err, errLanded) {
		t.Fatalf("login did not land on the redirect URI: %v", err)
	}
	tok, err := conf.Exchange(ctx, b.landedAt.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange() = %v", err)
	}
	rawID := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: reg.ClientID}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("go-oidc Verify() = %v", err)
	}
	var idc struct {
		SessionID string `json:"sid"`
	}
	if err := idt.Claims(&idc); err != nil {
		t.Fatalf("ID token claims: %v", err)
	}
	if idc.SessionID == "" {
		t.Fatal("the ID token has no sid")
	}

	// The relying party's server logs out: no cookie, the ID token as hint.
	resp, err = http.Get(p.base + "/oauth2/logout?" + url.Values{"id_token_hint": {rawID}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("backend logout = %d, want 200", resp.StatusCode)
	}
	old := *tok
	old.Expiry = time.Now().Add(-time.Minute)
	if _, err := conf.TokenSource(ctx, &old).Token(); err == nil {
		t.Error("the refresh token of the ended session still works")
	}
	b.landedAt = nil
	if _, err := b.Get(conf.AuthCodeURL("st", oauth2.SetAuthURLParam("prompt", "none"))); !errors.Is(err, errLanded) || b.landedAt.Query().Get("error") != "login_required" {
		t.Errorf("after the backend logout, prompt=none landed on %v, want login_required", b.landedAt)
	}

	var raw string
	select {
	case raw = <-tokens:
	case <-time.After(30 * time.Second):
		t.Fatal("no logout token reached the back-channel URI")
	}
	v, err := verify.New(ctx, verify.Config{Issuer: p.base, Audience: reg.ClientID, Types: []string{"logout+jwt"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verify logout token: %v", err)
	}
	var lc struct {
		SessionID string                    `json:"sid"`
		Events    map[string]map[string]any `json:"events"`
	}
	if err := c.Decode(&lc); err != nil {
		t.Fatalf("logout token claims: %v", err)
	}
	if _, ok := lc.Events["http://schemas.openid.net/event/backchannel-logout"]; !ok || c.Subject != idt.Subject || lc.SessionID != idc.SessionID {
		t.Errorf("logout token = %+v %+v, want the logout event, sub %s, sid %s", c, lc, idt.Subject, idc.SessionID)
	}
}
