package oauth2

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/inkan-dev/inkan/internal/store"
)

func TestVerifyS256(t *testing.T) {
	// RFC 7636 Appendix B.
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	tests := []struct {
		name, verifier, challenge string
		want                      bool
	}{
		{"rfc 7636 vector", verifier, challenge, true},
		{"wrong verifier", strings.Replace(verifier, "d", "e", 1), challenge, false},
		{"plain method", verifier, verifier, false},
		{"short verifier", "abc", "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0", false},
		{"bad characters", strings.Repeat("a", 42) + "!", challenge, false},
		{"empty", "", challenge, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := VerifyS256(tc.verifier, tc.challenge); got != tc.want {
				t.Errorf("VerifyS256(%q, %q) = %v, want %v", tc.verifier, tc.challenge, got, tc.want)
			}
		})
	}
	if !ValidChallenge(challenge) || ValidChallenge("short") || ValidChallenge(challenge+"=") {
		t.Error("ValidChallenge accepts or refuses the wrong forms")
	}
}

func TestMatchRedirectURI(t *testing.T) {
	reg := []string{"https://app.example.com/cb", "http://127.0.0.1/cb", "http://[::1]/native", "com.example.app:/oauth"}
	tests := []struct {
		uri  string
		want bool
	}{
		{"https://app.example.com/cb", true},
		{"https://app.example.com/cb/", false},
		{"https://app.example.com/cb?x=1", false},
		{"https://app.example.com/cb#f", false},
		{"https://APP.example.com/cb", false},
		{"https://app.example.com.evil.test/cb", false},
		{"https://app.example.com:443/cb", false},
		{"http://app.example.com/cb", false},
		{"http://127.0.0.1/cb", true},
		{"http://127.0.0.1:51234/cb", true},
		{"http://127.0.0.1:51234/cb2", false},
		{"http://127.0.0.1:51234/cb?x", false},
		{"https://127.0.0.1:51234/cb", false},
		{"http://localhost:51234/cb", false},
		{"http://[::1]:8080/native", true},
		{"http://user@127.0.0.1:80/cb", false},
		{"com.example.app:/oauth", true},
		{"", false},
	}
	for _, tc := range tests {
		if _, got := MatchRedirectURI(reg, tc.uri); got != tc.want {
			t.Errorf("MatchRedirectURI(%q) = %v, want %v", tc.uri, got, tc.want)
		}
	}
}

func TestParseScope(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"", "", false},
		{"openid", "openid", false},
		{"openid profile email", "openid,profile,email", false},
		{"openid  profile", "", true},
		{" openid", "", true},
		{"openid openid", "", true},
		{"open\"id", "", true},
		{"a\\b", "", true},
		{"é", "", true},
		{"a\x00b", "", true},
		{"a\tb", "", true},
		{strings.Repeat("s", MaxScopeBytes), strings.Repeat("s", MaxScopeBytes), false},
		{strings.Repeat("s", MaxScopeBytes+1), "", true},
		{manyScopes(MaxScopes), strings.ReplaceAll(manyScopes(MaxScopes), " ", ","), false},
		{manyScopes(MaxScopes + 1), "", true},
	} {
		got, err := ParseScope(tc.in)
		if (err != nil) != tc.wantErr || strings.Join(got, ",") != tc.want {
			t.Errorf("ParseScope(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	c := store.Client{Scopes: []string{"openid", "profile"}}
	if got, err := GrantScope(c, nil); err != nil || strings.Join(got, " ") != "openid profile" {
		t.Errorf("GrantScope(none requested) = %v, %v", got, err)
	}
	if _, err := GrantScope(c, []string{"openid", "admin"}); !isCode(err, InvalidScope) {
		t.Errorf("GrantScope(admin) = %v, want invalid_scope", err)
	}
}

// manyScopes is n distinct scope tokens: s0 s1 s2 …
func manyScopes(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = "s" + strconv.Itoa(i)
	}
	return strings.Join(parts, " ")
}

// scopeOfSize is distinct scope tokens filling about n bytes.
func scopeOfSize(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("s" + strconv.Itoa(i))
	}
	return b.String()
}

// The refusal of an oversized scope names the bound, and an unbounded
// parameter of 60 KB (the size that took 1.5 s of CPU) is refused too.
func TestParseScope_bounds(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"bytes", scopeOfSize(60 << 10), "longer than 2048 bytes"},
		{"count", manyScopes(MaxScopes + 1), "more than 64 scopes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseScope(tc.in)
			var e *Error
			if !errors.As(err, &e) || e.Code != InvalidScope || !strings.Contains(e.Description, tc.want) {
				t.Errorf("ParseScope(%d bytes) = %v, want invalid_scope saying %q", len(tc.in), err, tc.want)
			}
		})
	}
}

// BenchmarkParseScope shows the cost of splitting a scope growing linearly
// with its size: splitScope is ParseScope without its bounds, fed 1 KB,
// 10 KB and 60 KB of distinct tokens; ParseScope itself refuses the two
// larger ones at once.
func BenchmarkParseScope(b *testing.B) {
	for _, n := range []int{1 << 10, 10 << 10, 60 << 10} {
		s := scopeOfSize(n)
		b.Run(fmt.Sprintf("split/%dKB", n>>10), func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				if _, err := splitScope(s); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("parse/%dKB", n>>10), func(b *testing.B) {
			for b.Loop() {
				// Above MaxScopeBytes it refuses s: the refusal's cost is what is measured.
				_, _ = ParseScope(s)
			}
		})
	}
}

// FuzzParseScope: no panic, and an accepted scope is its tokens joined by
// single spaces, each printable ASCII without " or \, and distinct.
func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"", "openid", "openid profile email", "openid  profile", " openid", "openid openid", "a\\b", "é", manyScopes(MaxScopes + 1)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseScope(s)
		if err != nil {
			if !isCode(err, InvalidScope) {
				t.Fatalf("ParseScope(%q) error = %v, want invalid_scope", s, err)
			}
			return
		}
		if strings.Join(got, " ") != s || len(got) > MaxScopes || len(s) > MaxScopeBytes {
			t.Fatalf("ParseScope(%q) = %q", s, got)
		}
		seen := map[string]bool{}
		for _, p := range got {
			if seen[p] || p == "" || strings.ContainsAny(p, "\"\\") {
				t.Fatalf("ParseScope(%q) = %q: empty, duplicate or forbidden token %q", s, got, p)
			}
			for _, c := range []byte(p) {
				if c < 0x21 || c > 0x7e {
					t.Fatalf("ParseScope(%q) accepted byte %#x", s, c)
				}
			}
			seen[p] = true
		}
	})
}

func isCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

func TestReadCredentials(t *testing.T) {
	secret := "s3cr:t/+%"
	tests := []struct {
		name    string
		basic   [2]string // id, secret; empty id: no header
		form    url.Values
		header  string
		want    Credentials
		wantErr string
	}{
		{name: "basic, urlencoded", basic: [2]string{"my client", secret}, want: Credentials{"my client", secret, AuthBasic}},
		{name: "post", form: url.Values{"client_id": {"c"}, "client_secret": {"s"}}, want: Credentials{"c", "s", AuthPost}},
		{name: "public", form: url.Values{"client_id": {"c"}}, want: Credentials{"c", "", AuthNone}},
		{name: "none", wantErr: InvalidClient},
		{name: "two methods", basic: [2]string{"c", "s"}, form: url.Values{"client_secret": {"s"}}, wantErr: InvalidRequest},
		{name: "mismatched id", basic: [2]string{"c", "s"}, form: url.Values{"client_id": {"d"}}, wantErr: InvalidRequest},
		{name: "bearer", header: "Bearer x", form: url.Values{"client_id": {"c"}}, wantErr: InvalidClient},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/token", strings.NewReader(tc.form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.basic[0] != "" {
				r.SetBasicAuth(url.QueryEscape(tc.basic[0]), url.QueryEscape(tc.basic[1]))
			}
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			if err := r.ParseForm(); err != nil {
				t.Fatal(err)
			}
			got, err := ReadCredentials(r)
			if tc.wantErr != "" {
				if !isCode(err, tc.wantErr) {
					t.Errorf("ReadCredentials() = %+v, %v; want %s", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ReadCredentials() = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	secret := NewSecret()
	if len(secret) != 43 {
		t.Errorf("NewSecret() has %d characters, want 43 (256 bits)", len(secret))
	}
	conf := store.Client{ID: "c", SecretHash: HashSecret(secret)}
	pub := store.Client{ID: "p", Public: true}
	tests := []struct {
		name string
		c    store.Client
		cred Credentials
		ok   bool
	}{
		{"secret", conf, Credentials{"c", secret, AuthBasic}, true},
		{"post", conf, Credentials{"c", secret, AuthPost}, true},
		{"wrong secret", conf, Credentials{"c", secret + "x", AuthBasic}, false},
		{"no secret", conf, Credentials{"c", "", AuthNone}, false},
		{"public", pub, Credentials{"p", "", AuthNone}, true},
		{"public with a secret", pub, Credentials{"p", "x", AuthPost}, false},
		{"confidential without a stored hash", store.Client{ID: "c"}, Credentials{"c", "", AuthPost}, false},
	}
	for _, tc := range tests {
		if err := Authenticate(tc.c, tc.cred); (err == nil) != tc.ok {
			t.Errorf("%s: Authenticate() = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
