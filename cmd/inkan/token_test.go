package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inkan-dev/inkan/verify"
)

func TestCLI_token(t *testing.T) {
	p := startInkan(t, dataDir(t), nil)
	p.register(t, "Alice", "alice@example.com", "correct horse")
	tok := p.login(t, "alice@example.com", "correct horse")

	t.Run("decode", func(t *testing.T) {
		out := mustInkan(t, "", "token", "decode", tok)
		for _, want := range []string{`"alg": "RS256"`, `"email": "alice@example.com"`, "exp ", "(in ", "not checked"} {
			if !strings.Contains(out, want) {
				t.Errorf("token decode output lacks %q:\n%s", want, out)
			}
		}
		if out2 := mustInkan(t, tok+"\n", "token", "decode", "-"); out2 == "" {
			t.Error("token decode - read nothing from stdin")
		}
	})
	code, _, _ := call(t, "GET", p.base+"/.well-known/jwks.json", "")
	if code != 200 {
		t.Fatal(code)
	}
	jwksFile := filepath.Join(t.TempDir(), "jwks.json")
	resp, _ := httpGet(p.base + "/.well-known/jwks.json")
	mustWrite(t, jwksFile, resp, 0o644)
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), "alice@", "mallory@", 1))) + "." + parts[2]

	// A discovery document whose issuer is not the URL it was fetched from.
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `{"issuer": %q, "jwks_uri": %q}`, p.base, p.base+"/.well-known/jwks.json")
	}))
	t.Cleanup(liar.Close)

	tests := []struct {
		name     string
		args     []string
		wantErr  error  // nil: valid, unless failText is set
		wantText string // in the output when valid
		failText string // in the error of a refused --jwks
	}{
		{"url", []string{"--jwks", p.base + "/.well-known/jwks.json", "--issuer", p.base, tok}, nil, "", ""},
		{"url without issuer", []string{"--jwks", p.base + "/.well-known/jwks.json", tok}, nil, "issuer was not checked", ""},
		{"issuer url", []string{"--jwks", p.base, tok}, nil, "issuer " + p.base + " checked, from its discovery document", ""},
		{"issuer url with slash", []string{"--jwks", p.base + "/", tok}, nil, "checked, from its discovery document", ""},
		{"issuer url and wrong issuer", []string{"--jwks", p.base, "--issuer", "https://evil.test", tok}, verify.ErrIssuer, "", ""},
		{"issuer url and audience", []string{"--jwks", p.base, "--audience", "api", tok}, verify.ErrAudience, "", ""},
		{"neither jwks nor issuer", []string{"--jwks", p.base + "/healthz", tok}, nil, "", "neither a JWKS"},
		{"discovery of another issuer", []string{"--jwks", liar.URL, tok}, nil, "", "names issuer"},
		{"file", []string{"--jwks", jwksFile, tok}, nil, "", ""},
		{"audience", []string{"--jwks", jwksFile, "--audience", "api", tok}, verify.ErrAudience, "", ""},
		{"wrong issuer", []string{"--jwks", jwksFile, "--issuer", "https://evil.test", tok}, verify.ErrIssuer, "", ""},
		{"tampered", []string{"--jwks", jwksFile, tampered}, verify.ErrSignature, "", ""},
	}
	for _, tc := range tests {
		t.Run("verify "+tc.name, func(t *testing.T) {
			out, err := inkan(t, "", append([]string{"token", "verify"}, tc.args...)...)
			if tc.failText != "" {
				if err == nil || !strings.Contains(err.Error(), tc.failText) {
					t.Errorf("token verify = %v\n%s\nwant an error mentioning %q", err, out, tc.failText)
				}
				return
			}
			if tc.wantErr == nil {
				if err != nil || !strings.HasPrefix(out, "valid:") || !strings.Contains(out, tc.wantText) {
					t.Errorf("token verify = %v\n%s\nwant valid, saying %q", err, out, tc.wantText)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("token verify = %v, want %v", err, tc.wantErr)
			}
		})
	}
	if _, err := inkan(t, "", "token", "decode", "not-a-jwt"); err == nil {
		t.Error("token decode of garbage succeeded")
	}
	if _, err := inkan(t, "", "token", "verify", tok); !errors.Is(err, errUsage) {
		t.Errorf("token verify without --jwks = %v, want a usage error", err)
	}
}
