package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/token"
	"github.com/inkan-dev/inkan/verify"
)

func TestAuthenticate(t *testing.T) {
	h := newHarness(t)
	alice := h.signup(t, "Alice", "alice@example.com", "correct horse")
	h.signup(t, "Dis Abled", "disabled@example.com", "correct horse")
	if _, err := h.store.UpdateUser(t.Context(), mustUserID(t, h, "disabled@example.com"), func(u store.User) (store.User, error) {
		u.Disabled = true
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}

	t.Run("token", func(t *testing.T) {
		rec := h.do(t, "POST", "/user/_authenticate", "", "Authorization", basic("alice@example.com", "correct horse"))
		if rec.Code != 200 {
			t.Fatalf("login = %d %s, want 200", rec.Code, rec.Body)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", cc)
		}
		body := decode(t, rec)
		if body["token_type"] != "Bearer" || body["expires_in"] != float64(3600) {
			t.Errorf("body = %v, want token_type Bearer and expires_in 3600", body)
		}
		raw := body["access_token"].(string)
		hdr, claims := splitToken(t, raw)
		if hdr["alg"] != "RS256" || hdr["kid"] != h.kid || hdr["typ"] != "JWT" || len(hdr) != 3 {
			t.Errorf("header = %v, want exactly {alg RS256, kid %s, typ JWT}", hdr, h.kid)
		}
		want := map[string]any{
			"iss": testIssuer, "sub": alice["id"], "iat": float64(t0.Unix()),
			"exp": float64(t0.Add(time.Hour).Unix()), "email": "alice@example.com", "user": "Alice",
		}
		for k, v := range want {
			if claims[k] != v {
				t.Errorf("claim %s = %v, want %v", k, claims[k], v)
			}
		}
		if jti, _ := claims["jti"].(string); len(jti) < 22 {
			t.Errorf("jti = %q, want at least 128 random bits", jti)
		}
	})

	t.Run("exp per token", func(t *testing.T) {
		first := h.login(t, "alice@example.com", "correct horse")
		h.clock.Add(10 * time.Minute)
		second := h.login(t, "alice@example.com", "correct horse")
		_, c1 := splitToken(t, first)
		_, c2 := splitToken(t, second)
		if c2["exp"].(float64)-c1["exp"].(float64) != 600 {
			t.Errorf("exp of tokens 10 min apart: %v and %v, want 600 s apart", c1["exp"], c2["exp"])
		}
		if c1["jti"] == c2["jti"] {
			t.Errorf("two tokens share jti %v", c1["jti"])
		}
	})

	failures := []struct {
		name   string
		header string // Authorization; empty means none
		checks int64  // password verifications it must cost
	}{
		{"unknown email", basic("nobody@example.com", "correct horse"), 1},
		{"wrong password", basic("alice@example.com", "wrong horse"), 1},
		{"disabled user", basic("disabled@example.com", "correct horse"), 1},
		{"no header", "", 0},
		{"bearer scheme", "Bearer abc", 0},
		{"bad base64", "Basic !!!", 0},
		{"no colon", "Basic " + base64.StdEncoding.EncodeToString([]byte("alice@example.com")), 0},
		{"empty user", basic("", "correct horse"), 0},
		{"scheme only", "Basic", 0},
		{"huge password", basic("alice@example.com", strings.Repeat("x", 1025)), 0},
	}
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.header != "" {
				hdr = []string{"Authorization", tc.header}
			}
			before := h.hasher.checks.Load()
			rec := h.do(t, "POST", "/user/_authenticate", "", hdr...)
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("login = %d, want 401", rec.Code)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != `Basic realm="inkan"` {
				t.Errorf("WWW-Authenticate = %q, want Basic realm=\"inkan\"", got)
			}
			golden(t, "authenticate_401", rec.Body.Bytes())
			if got := h.hasher.checks.Load() - before; got != tc.checks {
				t.Errorf("password verifications = %d, want %d", got, tc.checks)
			}
		})
	}

	t.Run("case-insensitive email", func(t *testing.T) {
		h.login(t, "  ALICE@Example.com", "correct horse")
	})
	t.Run("lower-case scheme", func(t *testing.T) {
		rec := h.do(t, "POST", "/user/_authenticate", "", "Authorization", "basic "+strings.TrimPrefix(basic("alice@example.com", "correct horse"), "Basic "))
		if rec.Code != 200 {
			t.Errorf("login with scheme 'basic' = %d, want 200", rec.Code)
		}
	})
	t.Run("password with colon", func(t *testing.T) {
		h.signup(t, "Colon", "colon@example.com", "pass:word:1")
		h.login(t, "colon@example.com", "pass:word:1")
	})
}

func mustUserID(t *testing.T, h *harness, email string) string {
	t.Helper()
	u, err := h.store.GetUserByEmail(t.Context(), email)
	if err != nil {
		t.Fatalf("GetUserByEmail(%s) = %v", email, err)
	}
	return u.ID
}

func TestAuthenticate_bcryptRehash(t *testing.T) {
	h := newHarness(t)
	bh, _ := bcrypt.GenerateFromPassword([]byte("tutorial-pass"), 4)
	for _, prefix := range []string{"$2b$", "$2y$"} {
		email := strings.Trim(prefix, "$") + "@example.com"
		u := store.User{ID: "id-" + email, Name: "Legacy", Email: email, PasswordHash: prefix + string(bh[4:]), CreatedAt: t0, UpdatedAt: t0}
		if err := h.store.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		tok := h.login(t, email, "tutorial-pass")
		got, _ := h.store.GetUser(t.Context(), u.ID)
		if !strings.HasPrefix(got.PasswordHash, "$argon2id$") {
			t.Errorf("%s hash after login = %.10s…, want it rehashed to argon2id", prefix, got.PasswordHash)
		}
		h.login(t, email, "tutorial-pass") // the new hash works
		// A rehash is no credential change: the token of that login stands.
		if rec := h.do(t, "GET", "/user", "", "Authorization", "Bearer "+tok); rec.Code != 200 || !got.TokensValidAfter.IsZero() {
			t.Errorf("%s: after the rehash GET /user = %d, TokensValidAfter = %v; want 200 and none", prefix, rec.Code, got.TokensValidAfter)
		}
	}
}

// splitToken decodes a compact JWS's header and claims without verifying.
func splitToken(t *testing.T, raw string) (map[string]any, map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	var out [2]map[string]any
	for i := range out {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
		if err := json.Unmarshal(b, &out[i]); err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
	}
	return out[0], out[1]
}

// forge signs claims with an arbitrary header through go-jose.
func forge(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	var sk jose.SigningKey
	if kid == "" {
		sk = jose.SigningKey{Algorithm: alg, Key: key}
	} else {
		sk = jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}
	}
	s, err := jose.NewSigner(sk, opts)
	if err != nil {
		t.Fatalf("NewSigner(%s) = %v", alg, err)
	}
	payload, _ := json.Marshal(claims)
	obj, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestMe(t *testing.T) {
	h := newHarness(t)
	alice := h.signup(t, "Alice", "alice@example.com", "correct horse")
	good := h.login(t, "alice@example.com", "correct horse")
	claims := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{
			"iss": testIssuer, "sub": alice["id"], "iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix(),
			"jti": "j1", "email": "alice@example.com", "user": "Alice",
		}
		if mod != nil {
			mod(c)
		}
		return c
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(h.priv.Public())
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hs256 := func(secret []byte) string {
		in := b64(map[string]string{"alg": "HS256", "kid": h.kid, "typ": "JWT"}) + "." + b64(claims(nil))
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(in))
		return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	otherRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	otherEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + b64(claims(func(c map[string]any) { c["email"] = "mallory@example.com" })) + "." + parts[2]

	t.Run("valid", func(t *testing.T) {
		rec := h.do(t, "GET", "/user", "", "Authorization", "Bearer "+good)
		if rec.Code != 200 {
			t.Fatalf("GET /user = %d %s, want 200", rec.Code, rec.Body)
		}
		want := map[string]any{"sub": alice["id"], "user": "Alice", "email": "alice@example.com"}
		got := decode(t, rec)
		if len(got) != 3 || got["sub"] != want["sub"] || got["user"] != want["user"] || got["email"] != want["email"] {
			t.Errorf("GET /user = %v, want %v", got, want)
		}
	})
	t.Run("within leeway", func(t *testing.T) {
		tok := forge(t, jose.RS256, h.priv, h.kid, claims(func(c map[string]any) {
			c["exp"] = t0.Add(-59 * time.Second).Unix()
			c["nbf"] = t0.Add(59 * time.Second).Unix()
			c["iat"] = t0.Add(59 * time.Second).Unix()
		}))
		if rec := h.do(t, "GET", "/user", "", "Authorization", "Bearer "+tok); rec.Code != 200 {
			t.Errorf("GET /user within 60 s leeway = %d, want 200", rec.Code)
		}
	})

	bad := []struct {
		name   string
		header string
		reason error // what the verifier must say; nil: refused before or after it
	}{
		{"alg none", "Bearer " + b64(map[string]string{"alg": "none", "kid": h.kid, "typ": "JWT"}) + "." + b64(claims(nil)) + ".", verify.ErrAlgorithm},
		{"HS256 with public key PEM", "Bearer " + hs256(pubPEM), verify.ErrAlgorithm},
		{"HS256 with public key DER", "Bearer " + hs256(pubDER), verify.ErrAlgorithm},
		{"PS256 under an RS256 kid", "Bearer " + forge(t, jose.PS256, h.priv, h.kid, claims(nil)), verify.ErrAlgorithm},
		{"unknown kid", "Bearer " + forge(t, jose.RS256, otherRSA, "not-a-kid", claims(nil)), verify.ErrUnknownKey},
		{"no kid", "Bearer " + forge(t, jose.RS256, h.priv, "", claims(nil)), verify.ErrUnknownKey},
		{"other key, our kid", "Bearer " + forge(t, jose.RS256, otherRSA, h.kid, claims(nil)), verify.ErrSignature},
		{"ES256 under our kid", "Bearer " + forge(t, jose.ES256, otherEC, h.kid, claims(nil)), verify.ErrAlgorithm},
		{"expired", "Bearer " + forge(t, jose.RS256, h.priv, h.kid, claims(func(c map[string]any) { c["exp"] = t0.Add(-61 * time.Second).Unix() })), verify.ErrExpired},
		{"no exp", "Bearer " + forge(t, jose.RS256, h.priv, h.kid, claims(func(c map[string]any) { delete(c, "exp") })), verify.ErrMalformed},
		{"not yet valid", "Bearer " + forge(t, jose.RS256, h.priv, h.kid, claims(func(c map[string]any) { c["nbf"] = t0.Add(2 * time.Minute).Unix() })), verify.ErrNotYetValid},
		{"issued in the future", "Bearer " + forge(t, jose.RS256, h.priv, h.kid, claims(func(c map[string]any) { c["iat"] = t0.Add(2 * time.Minute).Unix() })), verify.ErrNotYetValid},
		{"wrong issuer", "Bearer " + forge(t, jose.RS256, h.priv, h.kid, claims(func(c map[string]any) { c["iss"] = "https://evil.test" })), verify.ErrIssuer},
		{"no issuer", "Bearer " + forge(t, jose.RS256, h.priv, h.kid, claims(func(c map[string]any) { delete(c, "iss") })), verify.ErrIssuer},
		{"unknown subject", "Bearer " + forge(t, jose.RS256, h.priv, h.kid, claims(func(c map[string]any) { c["sub"] = "nobody" })), nil},
		{"tampered payload", "Bearer " + tampered, verify.ErrSignature},
		{"signature stripped", "Bearer " + parts[0] + "." + parts[1] + ".", nil},
		{"two segments", "Bearer " + parts[0] + "." + parts[1], verify.ErrMalformed},
		{"over 8 KiB", "Bearer " + forge(t, jose.RS256, h.priv, h.kid, claims(func(c map[string]any) { c["pad"] = strings.Repeat("x", 8<<10) })), verify.ErrMalformed},
		{"garbage", "Bearer not.a.jwt", verify.ErrMalformed},
		{"bad characters", "Bearer " + good + "\"<script>", nil},
		{"basic scheme", basic("alice@example.com", "correct horse"), nil},
		{"empty bearer", "Bearer ", nil},
		{"bearer only", "Bearer", nil},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if tc.reason != nil {
				_, err := h.srv.verifier.Verify(t.Context(), strings.TrimPrefix(tc.header, "Bearer "))
				if !errors.Is(err, tc.reason) {
					t.Errorf("Verify() error = %v, want %v", err, tc.reason)
				}
			}
			rec := h.do(t, "GET", "/user", "", "Authorization", tc.header)
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("GET /user = %d %s, want 401", rec.Code, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
				t.Errorf("WWW-Authenticate = %q, want Bearer error=\"invalid_token\"", got)
			}
			golden(t, "user_401", rec.Body.Bytes())
		})
	}

	t.Run("access token accepted, ID token refused", func(t *testing.T) {
		c := store.Client{ID: "c1", Name: "App", SecretHash: make([]byte, 32), CreatedAt: t0, UpdatedAt: t0}
		if err := h.store.CreateClient(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		access, err := h.srv.tokens.IssueAccess(token.AccessClaims{Subject: alice["id"].(string), Audience: []string{testIssuer}, ClientID: "c1"})
		if err != nil {
			t.Fatal(err)
		}
		if rec := h.do(t, "GET", "/user", "", "Authorization", "Bearer "+access.Raw); rec.Code != 200 {
			t.Errorf("GET /user with an RFC 9068 access token for the issuer = %d, want 200", rec.Code)
		}
		id, err := h.srv.ids.IDToken(store.Client{ID: "c1"}, store.User{ID: alice["id"].(string)}, nil, t0, nil, "", "", "")
		if err != nil {
			t.Fatal(err)
		}
		if rec := h.do(t, "GET", "/user", "", "Authorization", "Bearer "+id); rec.Code != 401 {
			t.Errorf("GET /user with an ID token = %d, want 401", rec.Code)
		}
	})
	t.Run("no header", func(t *testing.T) {
		rec := h.do(t, "GET", "/user", "")
		if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("GET /user without a token = %d, WWW-Authenticate %q; want 401, Bearer", rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
		golden(t, "user_401", rec.Body.Bytes())
	})

	for _, change := range []struct {
		name string
		do   func(id string) error
	}{
		{"disabled user", func(id string) error {
			_, err := h.store.UpdateUser(t.Context(), id, func(u store.User) (store.User, error) { u.Disabled = true; return u, nil })
			return err
		}},
		{"deleted user", func(id string) error { return h.store.DeleteUser(t.Context(), id) }},
	} {
		t.Run(change.name, func(t *testing.T) {
			email := strings.ReplaceAll(change.name, " ", "-") + "@example.com"
			u := h.signup(t, "Soon Gone", email, "correct horse")
			tok := h.login(t, email, "correct horse")
			if rec := h.do(t, "GET", "/user", "", "Authorization", "Bearer "+tok); rec.Code != 200 {
				t.Fatalf("GET /user before = %d, want 200", rec.Code)
			}
			if err := change.do(u["id"].(string)); err != nil {
				t.Fatal(err)
			}
			if rec := h.do(t, "GET", "/user", "", "Authorization", "Bearer "+tok); rec.Code != 401 {
				t.Errorf("GET /user after = %d, want 401", rec.Code)
			}
		})
	}
}

// TestNew_NoStartupHash: the server takes its dummy hash from the hasher
// without computing one (no argon2 memory left behind at start), and a login
// for an unknown email still costs one verification with the real
// parameters (that the dummy carries them: account's TestNew_dummyHash).
func TestNew_NoStartupHash(t *testing.T) {
	h := newHarness(t)
	if got := h.hasher.hashes.Load(); got != 0 {
		t.Errorf("New() computed %d hashes, want 0", got)
	}
	before := h.hasher.checks.Load()
	rec := h.do(t, "POST", "/user/_authenticate", "", "Authorization", basic("nobody@example.com", "whatever pw"))
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("status = %d, want 401", rec.Code)
	}
	if got := h.hasher.checks.Load() - before; got != 1 {
		t.Errorf("unknown email cost %d verifications, want 1", got)
	}
}
