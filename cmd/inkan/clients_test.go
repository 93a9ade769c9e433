package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
)

var clientIDRE = regexp.MustCompile(`^[a-z2-7]{26}$`)

// clientKeys are the fields clients add prints, besides client_secret.
var clientKeys = []string{"client_id", "name", "redirect_uris", "post_logout_redirect_uris", "grant_types", "scopes", "audience", "backchannel_logout_uri", "public", "trusted", "require_mfa"}

// mustAddClient runs clients add and returns its JSON output.
func mustAddClient(t *testing.T, dir string, args ...string) clientJSON {
	t.Helper()
	out := mustInkan(t, "", append([]string{"clients", "add", "--data-dir", dir}, args...)...)
	var c clientJSON
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("clients add printed %q: %v", out, err)
	}
	return c
}

// mustGetClient reads a client straight from the SQLite store.
func mustGetClient(t *testing.T, dir, id string) store.Client {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := st.GetClient(context.Background(), id)
	if err != nil {
		t.Fatalf("GetClient(%q) = %v", id, err)
	}
	return c
}

func basicCred(id, secret string) oauth2.Credentials {
	return oauth2.Credentials{ClientID: id, Secret: secret, Method: oauth2.AuthBasic}
}

func TestClients_add(t *testing.T) {
	dir := dataDir(t)
	tests := []struct {
		name string
		args []string
		want clientJSON // ClientID and ClientSecret are checked apart
	}{
		{
			name: "confidential defaults",
			args: []string{"--name", "Web App", "--redirect-uri", "https://app.example.com/callback"},
			want: clientJSON{
				Name: "Web App", RedirectURIs: []string{"https://app.example.com/callback"}, PostLogoutRedirectURIs: []string{},
				GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "profile", "email", "offline_access"},
				Audience: []string{},
			},
		},
		{
			name: "public native app",
			args: []string{"--name", "CLI", "--public", "--redirect-uri", "http://127.0.0.1/cb", "--redirect-uri", "http://[::1]:8080/cb,com.example.app:/oauth2redirect"},
			want: clientJSON{
				Name: "CLI", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb", "http://[::1]:8080/cb", "com.example.app:/oauth2redirect"},
				PostLogoutRedirectURIs: []string{}, GrantTypes: []string{"authorization_code", "refresh_token"},
				Scopes: []string{"openid", "profile", "email", "offline_access"}, Audience: []string{},
			},
		},
		{
			name: "every option",
			args: []string{
				"--name", "Admin", "--redirect-uri", "https://admin.example.com/cb", "--post-logout-redirect-uri", "https://admin.example.com/bye",
				"--grant", "authorization_code,client_credentials", "--grant", "refresh_token", "--scope", "openid,api:read", "--scope", "api:write",
				"--audience", "https://api.example.com", "--audience", "billing", "--trusted", "--require-mfa",
				"--backchannel-logout-uri", "https://admin.example.com/backchannel?tenant=1",
			},
			want: clientJSON{
				Name: "Admin", RedirectURIs: []string{"https://admin.example.com/cb"}, PostLogoutRedirectURIs: []string{"https://admin.example.com/bye"},
				GrantTypes: []string{"authorization_code", "client_credentials", "refresh_token"}, Scopes: []string{"openid", "api:read", "api:write"},
				Audience: []string{"https://api.example.com", "billing"}, Trusted: true, RequireMFA: true,
				BackchannelLogoutURI: "https://admin.example.com/backchannel?tenant=1",
			},
		},
		{
			name: "loopback back-channel",
			args: []string{"--name", "Local", "--redirect-uri", "http://127.0.0.1/cb", "--backchannel-logout-uri", "http://[::1]:4180/oauth2/backchannel"},
			want: clientJSON{
				Name: "Local", RedirectURIs: []string{"http://127.0.0.1/cb"}, PostLogoutRedirectURIs: []string{},
				GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "profile", "email", "offline_access"},
				Audience: []string{}, BackchannelLogoutURI: "http://[::1]:4180/oauth2/backchannel",
			},
		},
		{
			name: "machine to machine",
			args: []string{"--name", "Batch", "--grant", "client_credentials", "--scope", "api:read"},
			want: clientJSON{
				Name: "Batch", RedirectURIs: []string{}, PostLogoutRedirectURIs: []string{}, GrantTypes: []string{"client_credentials"},
				Scopes: []string{"api:read"}, Audience: []string{},
			},
		},
		{
			name: "password grant asked for",
			args: []string{"--name", "Legacy", "--grant", "password,refresh_token"},
			want: clientJSON{
				Name: "Legacy", RedirectURIs: []string{}, PostLogoutRedirectURIs: []string{}, GrantTypes: []string{"password", "refresh_token"},
				Scopes: []string{"openid", "profile", "email", "offline_access"}, Audience: []string{},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := mustInkan(t, "", append([]string{"clients", "add", "--data-dir", dir}, tc.args...)...)

			// The shape: exactly these keys, lists never null.
			var raw map[string]any
			if err := json.Unmarshal([]byte(out), &raw); err != nil {
				t.Fatalf("clients add printed %q: %v", out, err)
			}
			wantKeys := slices.Clone(clientKeys)
			if !tc.want.Public {
				wantKeys = append(wantKeys, "client_secret")
			}
			gotKeys := slices.Sorted(func(yield func(string) bool) {
				for k := range raw {
					if !yield(k) {
						return
					}
				}
			})
			slices.Sort(wantKeys)
			if !slices.Equal(gotKeys, wantKeys) {
				t.Errorf("clients add keys = %v, want %v", gotKeys, wantKeys)
			}
			for _, k := range []string{"redirect_uris", "post_logout_redirect_uris", "grant_types", "scopes", "audience"} {
				if _, ok := raw[k].([]any); !ok {
					t.Errorf("clients add %s = %#v, want a JSON array", k, raw[k])
				}
			}

			var got clientJSON
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("clients add printed %q: %v", out, err)
			}
			if !clientIDRE.MatchString(got.ClientID) {
				t.Errorf("client_id = %q, want 26 lower-case base32 characters", got.ClientID)
			}
			if tc.want.Public != (got.ClientSecret == "") {
				t.Errorf("public = %v, client_secret = %q", tc.want.Public, got.ClientSecret)
			}
			id, secret := got.ClientID, got.ClientSecret
			got.ClientID, got.ClientSecret = "", ""
			if !equalJSON(got, tc.want) {
				t.Errorf("clients add =\n%+v\nwant\n%+v", got, tc.want)
			}

			c := mustGetClient(t, dir, id)
			if c.Public != tc.want.Public || c.Trusted != tc.want.Trusted || c.Name != tc.want.Name ||
				!slices.Equal(c.Grants, tc.want.GrantTypes) || !slices.Equal(c.Scopes, tc.want.Scopes) ||
				!equalList(c.RedirectURIs, tc.want.RedirectURIs) || !equalList(c.PostLogoutRedirectURIs, tc.want.PostLogoutRedirectURIs) ||
				!equalList(c.Audience, tc.want.Audience) || c.BackchannelLogoutURI != tc.want.BackchannelLogoutURI {
				t.Errorf("stored client = %+v, want %+v", c, tc.want)
			}
			if tc.want.Public {
				if len(c.SecretHash) != 0 {
					t.Errorf("public client stored a secret hash")
				}
				if err := oauth2.Authenticate(c, oauth2.Credentials{ClientID: c.ID, Method: oauth2.AuthNone}); err != nil {
					t.Errorf("Authenticate(public, none) = %v, want nil", err)
				}
			} else if err := oauth2.Authenticate(c, basicCred(c.ID, secret)); err != nil {
				t.Errorf("Authenticate(printed secret) = %v, want nil", err)
			}
		})
	}
}

func equalList(a, b []string) bool { return len(a) == 0 && len(b) == 0 || slices.Equal(a, b) }

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// Only the hash of a secret is stored, the printed secret authenticates,
// and rotate-secret makes the old one fail at once.
func TestClients_secret(t *testing.T) {
	dir := dataDir(t)
	c := mustAddClient(t, dir, "--name", "Web", "--redirect-uri", "https://web.example.com/cb")
	first := c.ClientSecret
	if len(first) != 43 {
		t.Fatalf("client_secret = %q, want 256 bits base64url", first)
	}

	stored := mustGetClient(t, dir, c.ClientID)
	if !bytes.Equal(stored.SecretHash, oauth2.HashSecret(first)) {
		t.Errorf("stored SecretHash = %x, want HashSecret(secret)", stored.SecretHash)
	}
	assertNotInDB(t, dir, first)

	if err := oauth2.Authenticate(stored, basicCred(c.ClientID, first)); err != nil {
		t.Errorf("Authenticate(secret) = %v, want nil", err)
	}
	if err := oauth2.Authenticate(stored, basicCred(c.ClientID, first+"x")); err == nil {
		t.Errorf("Authenticate(wrong secret) = nil, want an error")
	}

	out := mustInkan(t, "", "clients", "rotate-secret", "--data-dir", dir, c.ClientID)
	var rotated map[string]string
	if err := json.Unmarshal([]byte(out), &rotated); err != nil || len(rotated) != 2 || rotated["client_id"] != c.ClientID {
		t.Fatalf("rotate-secret printed %q (%v), want {client_id, client_secret}", out, err)
	}
	second := rotated["client_secret"]
	if second == "" || second == first {
		t.Fatalf("rotate-secret client_secret = %q, want a new secret", second)
	}
	stored = mustGetClient(t, dir, c.ClientID)
	if err := oauth2.Authenticate(stored, basicCred(c.ClientID, first)); err == nil {
		t.Errorf("Authenticate(old secret) after rotate-secret = nil, want an error")
	}
	if err := oauth2.Authenticate(stored, basicCred(c.ClientID, second)); err != nil {
		t.Errorf("Authenticate(new secret) = %v, want nil", err)
	}
	if !bytes.Equal(stored.SecretHash, oauth2.HashSecret(second)) {
		t.Errorf("stored SecretHash = %x, want HashSecret(new secret)", stored.SecretHash)
	}
	assertNotInDB(t, dir, second)
}

// assertNotInDB fails if s appears in the SQLite database or its WAL.
func assertNotInDB(t *testing.T, dir, s string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, dbFile+"*"))
	if len(files) == 0 {
		t.Fatalf("no database in %s", dir)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("%s holds the client secret", filepath.Base(f))
		}
	}
}

func TestClients_rotateSecretErrors(t *testing.T) {
	dir := dataDir(t)
	pub := mustAddClient(t, dir, "--name", "SPA", "--public", "--redirect-uri", "https://spa.example.com/cb")
	tests := []struct {
		name     string
		id       string
		wantText string
	}{
		{"public", pub.ClientID, "public client"},
		{"unknown", "nosuchclient", `no client with id "nosuchclient"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := inkan(t, "", "clients", "rotate-secret", "--data-dir", dir, tc.id)
			if err == nil || !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("rotate-secret %s = %v\n%s\nwant an error mentioning %q", tc.id, err, out, tc.wantText)
			}
			if strings.Contains(out, "client_secret") {
				t.Errorf("rotate-secret %s printed a secret:\n%s", tc.id, out)
			}
		})
	}
	if c := mustGetClient(t, dir, pub.ClientID); len(c.SecretHash) != 0 {
		t.Errorf("public client has a secret hash after rotate-secret")
	}
}

func TestClients_listDelete(t *testing.T) {
	dir := dataDir(t)
	if out := mustInkan(t, "", "clients", "list", "--data-dir", dir, "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("clients list --json on an empty store = %q, want []", out)
	}
	conf := mustAddClient(t, dir, "--name", "Web", "--redirect-uri", "https://web.example.com/cb")
	pub := mustAddClient(t, dir, "--name", "Mobile", "--public", "--redirect-uri", "com.example.mobile:/cb")
	hash := oauth2.HashSecret(conf.ClientSecret)
	secretForms := []string{conf.ClientSecret, hex.EncodeToString(hash), base64.StdEncoding.EncodeToString(hash), base64.RawURLEncoding.EncodeToString(hash)}

	table := mustInkan(t, "", "clients", "list", "--data-dir", dir)
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "REDIRECT URIS") {
		t.Fatalf("clients list =\n%s\nwant a header and 2 clients", table)
	}
	for _, tc := range []struct {
		line string
		want []string
	}{
		{lines[1], []string{conf.ClientID, "Web", "confidential", "authorization_code,refresh_token", "https://web.example.com/cb"}},
		{lines[2], []string{pub.ClientID, "Mobile", "public", "com.example.mobile:/cb"}},
	} {
		for _, w := range tc.want {
			if !strings.Contains(tc.line, w) {
				t.Errorf("clients list line %q lacks %q", tc.line, w)
			}
		}
	}

	js := mustInkan(t, "", "clients", "list", "--data-dir", dir, "--json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(js), &list); err != nil || len(list) != 2 {
		t.Fatalf("clients list --json = %q (%v), want 2 clients", js, err)
	}
	for _, c := range list {
		if len(c) != len(clientKeys) {
			t.Errorf("clients list --json client = %v, want the keys %v", c, clientKeys)
		}
		for _, k := range clientKeys {
			if _, ok := c[k]; !ok {
				t.Errorf("clients list --json client lacks %s: %v", k, c)
			}
		}
	}
	if list[0]["client_id"] != conf.ClientID || list[1]["client_id"] != pub.ClientID {
		t.Errorf("clients list --json ids = %v, %v; want %s, %s (oldest first)", list[0]["client_id"], list[1]["client_id"], conf.ClientID, pub.ClientID)
	}
	for _, out := range []string{table, js} {
		for _, s := range secretForms {
			if strings.Contains(out, s) {
				t.Errorf("clients list printed a secret or its hash:\n%s", out)
			}
		}
		if strings.Contains(out, "secret") {
			t.Errorf("clients list mentions a secret:\n%s", out)
		}
	}

	if out := mustInkan(t, "", "clients", "delete", "--data-dir", dir, conf.ClientID); !strings.Contains(out, conf.ClientID) {
		t.Errorf("clients delete printed %q", out)
	}
	table = mustInkan(t, "", "clients", "list", "--data-dir", dir)
	if strings.Contains(table, conf.ClientID) || !strings.Contains(table, pub.ClientID) {
		t.Errorf("clients list after delete =\n%s\nwant only %s", table, pub.ClientID)
	}
	out, err := inkan(t, "", "clients", "delete", "--data-dir", dir, conf.ClientID)
	if err == nil || !strings.Contains(err.Error(), "no client with id") || errors.Is(err, errUsage) {
		t.Errorf("clients delete of a deleted client = %v\n%s\nwant \"no client with id\"", err, out)
	}
}

func TestClients_errors(t *testing.T) {
	dir := dataDir(t)
	add := func(args ...string) []string {
		return append([]string{"clients", "add", "--data-dir", dir}, args...)
	}
	const ok = "https://app.example.com/cb"
	tests := []struct {
		name      string
		args      []string
		wantUsage bool
		wantText  []string // each in the error or output
	}{
		{"no subcommand", []string{"clients"}, true, []string{"subcommand"}},
		{"unknown subcommand", []string{"clients", "frobnicate"}, true, []string{"frobnicate"}},
		{"delete without id", []string{"clients", "delete", "--data-dir", dir}, true, []string{"1 argument"}},
		{"add with argument", add("--name", "A", "--redirect-uri", ok, "extra"), true, []string{"0 argument"}},
		{"missing name", add("--redirect-uri", ok), true, []string{"--name: required"}},
		{"long name", add("--name", strings.Repeat("n", 65), "--redirect-uri", ok), true, []string{"--name: 65 characters"}},
		{"bad grant", add("--name", "A", "--redirect-uri", ok, "--grant", "implicit"), true, []string{`--grant: "implicit" is not a grant type`}},
		{"duplicate grant", add("--name", "A", "--redirect-uri", ok, "--grant", "authorization_code,authorization_code"), true, []string{"given twice"}},
		{"public client_credentials", add("--name", "A", "--public", "--grant", "client_credentials"), true, []string{"public client cannot use client_credentials"}},
		{"http non-loopback", add("--name", "A", "--redirect-uri", "http://app.example.com/cb"), true, []string{"loopback", "RFC 8252 §7.3"}},
		{"http private address", add("--name", "A", "--redirect-uri", "http://10.0.0.1/cb"), true, []string{"loopback"}},
		{"localhost", add("--name", "A", "--public", "--redirect-uri", "http://localhost/cb"), true, []string{"localhost is refused", "RFC 8252 §8.3", "http://127.0.0.1/cb"}},
		{"localhost with port", add("--name", "A", "--redirect-uri", "http://LocalHost:3000/cb?x=1"), true, []string{"localhost is refused", "http://127.0.0.1/cb?x=1"}},
		{"localhost post-logout", add("--name", "A", "--redirect-uri", ok, "--post-logout-redirect-uri", "http://localhost/bye"), true, []string{"localhost is refused"}},
		{"fragment", add("--name", "A", "--redirect-uri", "https://app.example.com/cb#frag"), true, []string{"fragment"}},
		{"empty fragment", add("--name", "A", "--redirect-uri", "https://app.example.com/cb#"), true, []string{"fragment"}},
		{"relative", add("--name", "A", "--redirect-uri", "/cb"), true, []string{"not an absolute URI"}},
		{"custom scheme without dot", add("--name", "A", "--redirect-uri", "myapp:/cb"), true, []string{"private-use scheme"}},
		{"javascript", add("--name", "A", "--redirect-uri", "javascript:alert(1)"), true, []string{"scheme javascript"}},
		{"https without host", add("--name", "A", "--redirect-uri", "https:///cb"), true, []string{"no host"}},
		{"user info", add("--name", "A", "--redirect-uri", "https://me@app.example.com/cb"), true, []string{"user info"}},
		{"empty redirect", add("--name", "A", "--redirect-uri", ""), true, []string{"empty"}},
		{"missing redirect", add("--name", "A"), true, []string{"at least one is required for the authorization_code grant"}},
		{"bad post-logout", add("--name", "A", "--redirect-uri", ok, "--post-logout-redirect-uri", "http://app.example.com/bye"), true, []string{"--post-logout-redirect-uri", "loopback"}},
		{"back-channel http", add("--name", "A", "--redirect-uri", ok, "--backchannel-logout-uri", "http://app.example.com/bc"), true, []string{"--backchannel-logout-uri", "loopback"}},
		{"back-channel localhost", add("--name", "A", "--redirect-uri", ok, "--backchannel-logout-uri", "http://localhost/bc"), true, []string{"--backchannel-logout-uri", "loopback"}},
		{"back-channel fragment", add("--name", "A", "--redirect-uri", ok, "--backchannel-logout-uri", "https://app.example.com/bc#x"), true, []string{"--backchannel-logout-uri", "fragment"}},
		{"back-channel relative", add("--name", "A", "--redirect-uri", ok, "--backchannel-logout-uri", "/bc"), true, []string{"--backchannel-logout-uri", "absolute"}},
		{"back-channel scheme", add("--name", "A", "--redirect-uri", ok, "--backchannel-logout-uri", "com.example.app:/bc"), true, []string{"--backchannel-logout-uri", "scheme"}},
		{"back-channel no host", add("--name", "A", "--redirect-uri", ok, "--backchannel-logout-uri", "https:///bc"), true, []string{"--backchannel-logout-uri", "no host"}},
		{"back-channel user info", add("--name", "A", "--redirect-uri", ok, "--backchannel-logout-uri", "https://me@app.example.com/bc"), true, []string{"--backchannel-logout-uri", "user info"}},
		{"duplicate scope", add("--name", "A", "--redirect-uri", ok, "--scope", "openid,email", "--scope", "openid"), true, []string{`--scope "openid": given twice`}},
		{"bad scope", add("--name", "A", "--redirect-uri", ok, "--scope", `a"b`), true, []string{"not a scope token"}},
		{"scope with space", add("--name", "A", "--redirect-uri", ok, "--scope", "openid profile"), true, []string{"not a scope token"}},
		{"too many scopes", add("--name", "A", "--redirect-uri", ok, "--scope", manyScopes(65)), true, []string{"--scope: at most 64 scopes"}},
		{"empty audience", add("--name", "A", "--redirect-uri", ok, "--audience", "api,"), true, []string{"--audience: empty"}},
		{
			"every problem at once",
			add("--grant", "implicit", "--redirect-uri", "http://example.com/cb#x", "--scope", "a,a"),
			true,
			[]string{"--name: required", `"implicit"`, "--redirect-uri", `--scope "a": given twice`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := inkan(t, "", tc.args...)
			if err == nil {
				t.Fatalf("inkan %q succeeded, want an error:\n%s", tc.args, out)
			}
			if got := errors.Is(err, errUsage); got != tc.wantUsage {
				t.Errorf("inkan %q: usage error = %v, want %v (err %v)", tc.args, got, tc.wantUsage, err)
			}
			for _, w := range tc.wantText {
				if !strings.Contains(err.Error()+out, w) {
					t.Errorf("inkan %q: %v\n%s\nwant it to mention %q", tc.args, err, out, w)
				}
			}
		})
	}
	// Nothing was stored by the refused commands.
	if out := mustInkan(t, "", "clients", "list", "--data-dir", dir, "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("clients list after refused adds = %s, want []", out)
	}
}

// manyScopes is the comma-separated list of n distinct scopes s0,s1,…
func manyScopes(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = "s" + strconv.Itoa(i)
	}
	return strings.Join(parts, ",")
}

func TestClients_help(t *testing.T) {
	for _, args := range [][]string{
		{"clients", "--help"}, {"clients", "add", "--help"}, {"clients", "list", "-h"},
		{"clients", "delete", "--help"}, {"clients", "rotate-secret", "--help"},
	} {
		out, err := inkan(t, "", args...)
		if err != nil || !strings.Contains(out, "Usage: inkan clients") {
			t.Errorf("inkan %s = %v\n%s\nwant usage on stdout", strings.Join(args, " "), err, out)
		}
	}
	out := mustInkan(t, "", "clients", "add", "--help")
	for _, f := range []string{"--name", "--redirect-uri", "--post-logout-redirect-uri", "--backchannel-logout-uri", "--public", "--grant", "--scope", "--audience", "--trusted", "--data-dir", "--database"} {
		if !strings.Contains(out, f) {
			t.Errorf("clients add --help lacks %s:\n%s", f, out)
		}
	}
	if out := mustInkan(t, "", "help"); !strings.Contains(out, "\n  clients") {
		t.Errorf("inkan help does not list clients:\n%s", out)
	}
}

// A loopback redirect URI registered with a port draws a warning on stderr
// that says what matching does with it; one without a port does not.
func TestClients_loopbackPortWarning(t *testing.T) {
	dir := dataDir(t)
	tests := []struct {
		uri  string
		warn string // "" for none
	}{
		{"http://127.0.0.1/cb", ""},
		{"http://[::1]/cb", ""},
		{"https://app.example.com:8443/cb", ""},
		{"com.example.app:/cb", ""},
		{"http://127.0.0.1:8080/cb", "warning: --redirect-uri http://127.0.0.1:8080/cb names port 8080: it matches only that port; register http://127.0.0.1/cb so that the app may listen on any port"},
		{"http://[::1]:9000/a/b?c=d", "register http://[::1]/a/b?c=d so that"},
	}
	for _, tc := range tests {
		t.Run(tc.uri, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), []string{"clients", "add", "--data-dir", dir, "--name", "App", "--public", "--redirect-uri", tc.uri},
				func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
			if err != nil {
				t.Fatalf("clients add --redirect-uri %s = %v\n%s", tc.uri, err, stderr.String())
			}
			if tc.warn == "" && strings.Contains(stderr.String(), "warning") {
				t.Errorf("clients add --redirect-uri %s warned:\n%s", tc.uri, stderr.String())
			}
			if tc.warn != "" && !strings.Contains(stderr.String(), tc.warn) {
				t.Errorf("clients add --redirect-uri %s: stderr\n%s\nwant %q", tc.uri, stderr.String(), tc.warn)
			}
		})
	}
	// What the warning says is what matching does.
	for _, tc := range []struct {
		registered, requested string
		match                 bool
	}{
		{"http://127.0.0.1/cb", "http://127.0.0.1:49152/cb", true},
		{"http://127.0.0.1/cb", "http://127.0.0.1/cb", true},
		{"http://127.0.0.1:8080/cb", "http://127.0.0.1:8080/cb", true},
		{"http://127.0.0.1:8080/cb", "http://127.0.0.1:49152/cb", false},
		{"http://[::1]/cb", "http://[::1]:49152/cb", true},
	} {
		if _, ok := oauth2.MatchRedirectURI([]string{tc.registered}, tc.requested); ok != tc.match {
			t.Errorf("MatchRedirectURI(%s, %s) = %t, want %t", tc.registered, tc.requested, ok, tc.match)
		}
	}
}

// Boolean flags of clients add take their value after a space too.
func TestClients_boolFlagSpaceForm(t *testing.T) {
	dir := dataDir(t)
	c := mustAddClient(t, dir, "--name", "Web", "--public", "false", "--trusted", "true", "--redirect-uri", "https://web.example.com/cb")
	if c.Public || !c.Trusted || c.ClientSecret == "" {
		t.Errorf("clients add --public false --trusted true = %+v, want a confidential trusted client", c)
	}
}

// clients add --require-mfa is the client's own flag: the server's
// INKAN_REQUIRE_MFA, set in the environment the command runs in, does not
// make every client added there require a second factor.
func TestClients_add_requireMFAIsNotTheServers(t *testing.T) {
	dir := t.TempDir()
	env := func(k string) string {
		if k == "INKAN_REQUIRE_MFA" {
			return "true"
		}
		return ""
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"clients", "add", "--data-dir", dir, "--name", "App", "--redirect-uri", "https://app.example.com/cb"},
		env, strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatalf("clients add: %v\n%s", err, errOut.String())
	}
	var c clientJSON
	if err := json.Unmarshal(out.Bytes(), &c); err != nil || c.RequireMFA {
		t.Errorf("clients add under INKAN_REQUIRE_MFA=true = %s, %v; want require_mfa false", out.String(), err)
	}
}
