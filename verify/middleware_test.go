package verify

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func TestVerifier_Middleware(t *testing.T) {
	k := mustTestKeys(t)
	valid := mustSignAccess(t, jose.RS256, k.rsa, "rsa", claims(set("aud", "api")))
	token := func(edits ...func(map[string]any)) string {
		return mustSignAccess(t, jose.RS256, k.rsa, "rsa", claims(append([]func(map[string]any){set("aud", "api")}, edits...)...))
	}
	bare := "Bearer"
	invalid := func(desc string) string {
		return `Bearer error="invalid_token", error_description="` + desc + `"`
	}

	tests := []struct {
		name      string
		header    []string // Authorization values
		wantCode  int
		wantAuth  string // WWW-Authenticate
		wantError string // the body's error
	}{
		{name: "valid", header: []string{"Bearer " + valid}, wantCode: http.StatusOK},
		{name: "lower case scheme", header: []string{"bearer " + valid}, wantCode: http.StatusOK},
		{name: "upper case scheme", header: []string{"BEARER " + valid}, wantCode: http.StatusOK},
		{name: "extra spaces", header: []string{"  Bearer   " + valid + " "}, wantCode: http.StatusOK},

		{name: "no header", wantCode: 401, wantAuth: bare, wantError: "unauthorized"},
		{name: "empty header", header: []string{""}, wantCode: 401, wantAuth: bare, wantError: "unauthorized"},
		{name: "basic", header: []string{"Basic YWxpY2U6c2VjcmV0"}, wantCode: 401, wantAuth: bare, wantError: "unauthorized"},
		{name: "token without scheme", header: []string{valid}, wantCode: 401, wantAuth: bare, wantError: "unauthorized"},
		{name: "scheme glued to token", header: []string{"Bearer" + valid}, wantCode: 401, wantAuth: bare, wantError: "unauthorized"},

		{name: "scheme only", header: []string{"Bearer"}, wantCode: 401, wantAuth: invalid("the access token is malformed"), wantError: "invalid_token"},
		{name: "empty token", header: []string{"Bearer   "}, wantCode: 401, wantAuth: invalid("the access token is malformed"), wantError: "invalid_token"},
		{name: "two headers", header: []string{"Bearer " + valid, "Bearer " + valid}, wantCode: 401, wantAuth: invalid("the access token is malformed"), wantError: "invalid_token"},
		{name: "garbage", header: []string{`Bearer "><script>`}, wantCode: 401, wantAuth: invalid("the access token is malformed"), wantError: "invalid_token"},
		{name: "alg none", header: []string{"Bearer " + seg(t, map[string]any{"alg": "none", "kid": "rsa"}) + "." + seg(t, claims(set("aud", "api"))) + "."}, wantCode: 401, wantAuth: invalid("the access token is signed with an algorithm that is not allowed"), wantError: "invalid_token"},
		{name: "unknown kid", header: []string{"Bearer " + mustSignAccess(t, jose.RS256, k.rsa, "nope", claims(set("aud", "api")))}, wantCode: 401, wantAuth: invalid("the access token is signed with an unknown key"), wantError: "invalid_token"},
		{name: "bad signature", header: []string{"Bearer " + replaceSegment(valid, 1, seg(t, claims(set("aud", "api"), set("sub", "mallory-id"))))}, wantCode: 401, wantAuth: invalid("the access token signature is invalid"), wantError: "invalid_token"},
		{name: "expired", header: []string{"Bearer " + token(set("exp", testNow.Add(-time.Hour).Unix()))}, wantCode: 401, wantAuth: invalid("the access token expired"), wantError: "invalid_token"},
		{name: "not yet valid", header: []string{"Bearer " + token(set("nbf", testNow.Add(time.Hour).Unix()))}, wantCode: 401, wantAuth: invalid("the access token is not valid yet"), wantError: "invalid_token"},
		{name: "wrong issuer", header: []string{"Bearer " + token(set("iss", "https://evil.example.com"))}, wantCode: 401, wantAuth: invalid("the access token has the wrong issuer"), wantError: "invalid_token"},
		{name: "wrong audience", header: []string{"Bearer " + token(set("aud", "other"))}, wantCode: 401, wantAuth: invalid("the access token is not meant for this audience"), wantError: "invalid_token"},
	}
	v := mustVerifier(t, func(c *Config) { c.Audience = "api" })
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var reached bool
			h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached = true
				c, ok := ClaimsFrom(r.Context())
				if !ok || c.Subject != "alice-id" {
					t.Errorf("ClaimsFrom() = %+v, %t; want alice-id's claims", c, ok)
				}
				_, _ = io.WriteString(w, "hello "+c.Subject)
			}))
			req := httptest.NewRequest(http.MethodGet, "/api", nil)
			for _, h := range tc.header {
				req.Header.Add("Authorization", h)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			if rec.Code != tc.wantCode {
				t.Fatalf("GET /api with %.50q = %d, want %d", tc.header, rec.Code, tc.wantCode)
			}
			if tc.wantCode == http.StatusOK {
				if !reached || rec.Body.String() != "hello alice-id" {
					t.Errorf("GET /api body = %q, want the handler's", rec.Body)
				}
				return
			}
			if reached {
				t.Error("the handler ran for a refused request")
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tc.wantAuth {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.wantAuth)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if body["error"] != tc.wantError || body["error_description"] == "" || len(body) != 2 {
				t.Errorf("body = %v, want error %q and a description", body, tc.wantError)
			}
			if strings.Contains(tc.wantAuth, "error=") && !strings.Contains(tc.wantAuth, body["error_description"]) {
				t.Errorf("body description %q differs from the header's", body["error_description"])
			}
			for _, h := range tc.header {
				if _, tok, _ := strings.Cut(strings.TrimSpace(h), " "); len(tok) > 8 &&
					(strings.Contains(rec.Body.String(), tok) || strings.Contains(rec.Header().Get("WWW-Authenticate"), tok)) {
					t.Error("the response echoes the token")
				}
			}
		})
	}
}

// TestVerifier_Middleware_server runs the middleware behind a real server
// and client, as a resource server does.
func TestVerifier_Middleware_server(t *testing.T) {
	key := mustFixedRSA(t)
	is := newJWKSServer(t, jwk("rsa", "RS256", &key.PublicKey))
	v, err := New(t.Context(), Config{Issuer: testIssuer, JWKSURL: is.url(), Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mustStop(t, v.cfg.KeySet.(*RemoteKeySet)) })
	api := httptest.NewServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := ClaimsFrom(r.Context())
		if err := json.NewEncoder(w).Encode(map[string]string{"sub": c.Subject, "kid": c.KeyID}); err != nil {
			t.Error(err)
		}
	})))
	t.Cleanup(api.Close)

	get := func(auth string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, api.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := api.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}

	resp, body := get("Bearer " + mustSign(t, jose.RS256, key, "rsa", claims()))
	if resp.StatusCode != http.StatusOK || body != `{"kid":"rsa","sub":"alice-id"}`+"\n" {
		t.Errorf("GET with a valid token = %d %q", resp.StatusCode, body)
	}
	resp, body = get("")
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("GET without a token = %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	want := map[string]string{"error": "unauthorized", "error_description": "a bearer access token is required"}
	var got map[string]string
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("GET without a token: body = %v, want %v", got, want)
	}
	resp, body = get("Bearer " + mustSign(t, jose.RS256, key, "rsa", claims(set("exp", testNow.Add(-time.Hour).Unix()))))
	if resp.StatusCode != 401 || body != `{"error":"invalid_token","error_description":"the access token expired"}`+"\n" {
		t.Errorf("GET with an expired token = %d %q", resp.StatusCode, body)
	}
}

func TestClaimsFrom(t *testing.T) {
	if c, ok := ClaimsFrom(t.Context()); ok || c != nil {
		t.Errorf("ClaimsFrom(empty context) = %+v, %t; want nil, false", c, ok)
	}
}

func TestDescribe(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range sentinels {
		d := describe(s)
		if d == describe(nil) || seen[d] {
			t.Errorf("describe(%v) = %q, not a description of its own", s, d)
		}
		seen[d] = true
		if strings.ContainsAny(d, `"\`) {
			t.Errorf("describe(%v) = %q, which needs quoting in a header", s, d)
		}
	}
}

func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"", "Bearer", "Bearer abc", "bearer  a.b.c ", "Basic abc", "Bearerabc", " Bearer\tx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tok, ok := bearerToken([]string{header})
		if !ok && tok != "" {
			t.Errorf("bearerToken(%q) = %q, false; want no token", header, tok)
		}
		if ok && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(header)), "bearer") {
			t.Errorf("bearerToken(%q) = %q, true; the scheme is not Bearer", header, tok)
		}
		if strings.HasPrefix(tok, " ") || !strings.Contains(header, tok) {
			t.Errorf("bearerToken(%q) = %q", header, tok)
		}
	})
}
