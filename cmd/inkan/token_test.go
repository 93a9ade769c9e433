package main

import (
	"encoding/base64"
	"errors"
	"os"
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
	os.WriteFile(jwksFile, resp, 0o644)
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), "alice@", "mallory@", 1))) + "." + parts[2]

	tests := []struct {
		name    string
		args    []string
		wantErr error // nil: valid
	}{
		{"url", []string{"--jwks", p.base + "/.well-known/jwks.json", "--issuer", p.base, tok}, nil},
		{"file", []string{"--jwks", jwksFile, tok}, nil},
		{"audience", []string{"--jwks", jwksFile, "--audience", "api", tok}, verify.ErrAudience},
		{"wrong issuer", []string{"--jwks", jwksFile, "--issuer", "https://evil.test", tok}, verify.ErrIssuer},
		{"tampered", []string{"--jwks", jwksFile, tampered}, verify.ErrSignature},
	}
	for _, tc := range tests {
		t.Run("verify "+tc.name, func(t *testing.T) {
			out, err := inkan(t, "", append([]string{"token", "verify"}, tc.args...)...)
			if tc.wantErr == nil {
				if err != nil || !strings.HasPrefix(out, "valid:") {
					t.Errorf("token verify = %v\n%s\nwant valid", err, out)
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
