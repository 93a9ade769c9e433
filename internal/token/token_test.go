package token

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/inkan-dev/inkan/internal/keys"
	"github.com/inkan-dev/inkan/internal/keys/keystest"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/verify"
)

const testIssuer = "https://id.example.com"

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

var alice = store.User{ID: "8c0e7f5a-alice", Name: "Alice", Email: "alice@example.com"}

// clock is an injected clock that tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// staticSource is a SignerSource with one fixed signer.
type staticSource struct{ s *keys.Signer }

func (s staticSource) Active() *keys.Signer { return s.s }

// newSigner returns the signer of a new key for alg as the server gets it
// (keystest.Signer: the active key of a keys.Set, its kid the key's
// thumbprint), and the key.
func newSigner(alg string) (*keys.Signer, crypto.Signer, error) {
	priv, err := keys.Generate(alg, 0)
	if err != nil {
		return nil, nil, err
	}
	s, err := keystest.Signer(priv, alg)
	if err != nil {
		return nil, nil, err
	}
	return s, priv, nil
}

// mustSigner returns a signer of a new key for alg and the key's public half.
func mustSigner(tb testing.TB, alg string) (*keys.Signer, crypto.PublicKey) {
	tb.Helper()
	s, priv, err := newSigner(alg)
	if err != nil {
		tb.Fatalf("signer for %s: %v", alg, err)
	}
	return s, priv.Public()
}

type rsaFixture struct {
	signer *keys.Signer
	priv   *rsa.PrivateKey
}

// loadRSA makes one RS256 key for every test and benchmark that needs RSA,
// since generating 2048-bit keys is slow.
var loadRSA = sync.OnceValues(func() (rsaFixture, error) {
	s, priv, err := newSigner(keys.RS256)
	if err != nil {
		return rsaFixture{}, err
	}
	return rsaFixture{signer: s, priv: priv.(*rsa.PrivateKey)}, nil
})

func mustRSA(tb testing.TB) rsaFixture {
	tb.Helper()
	f, err := loadRSA()
	if err != nil {
		tb.Fatalf("RS256 signer: %v", err)
	}
	return f
}

// mustDecode decodes the JSON of segment i of a compact JWS into a map.
func mustDecode(tb testing.TB, raw string, i int) map[string]any {
	tb.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		tb.Fatalf("token %q has %d segments, want 3", raw, len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		tb.Fatalf("segment %d of %q: %v", i, raw, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatalf("segment %d of %q: %v", i, raw, err)
	}
	return m
}

func mustIssue(tb testing.TB, iss *Issuer, u store.User) Token {
	tb.Helper()
	tok, err := iss.Issue(User{ID: u.ID, Email: u.Email, Name: u.Name, ValidAfter: u.TokensValidAfter})
	if err != nil {
		tb.Fatalf("Issue(%q) error = %v, want nil", u.ID, err)
	}
	return tok
}

var jtiRE = regexp.MustCompile(`^[A-Z2-7]{26}$`) // RFC 4648 base32: 26 × 5 = 130 bits

func TestIssuer_Issue(t *testing.T) {
	rsaKey := mustRSA(t)
	signer, pub := rsaKey.signer, rsaKey.priv.Public()
	clk := &clock{now: t0}
	iss := &Issuer{Issuer: testIssuer, TTL: time.Hour, Keys: staticSource{signer}, Now: clk.Now}
	tok := mustIssue(t, iss, alice)

	wantHeader := map[string]any{"alg": "RS256", "kid": signer.KeyID, "typ": "JWT"}
	if diff := cmp.Diff(wantHeader, mustDecode(t, tok.Raw, 0)); diff != "" {
		t.Errorf("Issue(%q) header mismatch (-want +got):\n%s", alice.ID, diff)
	}

	payload := mustDecode(t, tok.Raw, 1)
	jti, _ := payload["jti"].(string)
	if !jtiRE.MatchString(jti) {
		t.Errorf("Issue(%q) jti = %q, want 26 base32 characters", alice.ID, jti)
	}
	delete(payload, "jti")
	wantPayload := map[string]any{
		"iss":   testIssuer,
		"sub":   alice.ID,
		"iat":   float64(t0.Unix()),
		"exp":   float64(t0.Add(time.Hour).Unix()),
		"email": alice.Email,
		"user":  alice.Name,
	}
	if diff := cmp.Diff(wantPayload, payload); diff != "" {
		t.Errorf("Issue(%q) payload mismatch (-want +got):\n%s", alice.ID, diff)
	}

	wantToken := Token{
		Raw:   tok.Raw,
		KeyID: signer.KeyID,
		Claims: Claims{
			Issuer: testIssuer, Subject: alice.ID, IssuedAt: t0.Unix(), Expiry: t0.Add(time.Hour).Unix(),
			ID: jti, Email: alice.Email, User: alice.Name,
		},
	}
	if diff := cmp.Diff(wantToken, tok); diff != "" {
		t.Errorf("Issue(%q) token mismatch (-want +got):\n%s", alice.ID, diff)
	}
	if got := tok.ExpiresIn(); got != 3600 {
		t.Errorf("ExpiresIn() = %d, want 3600", got)
	}

	// Cross-check with the public verifier.
	v, err := verify.New(context.Background(), verify.Config{
		Issuer:     testIssuer,
		KeySet:     verify.StaticKeySet{{ID: signer.KeyID, Algorithm: keys.RS256, Public: pub}},
		Algorithms: []string{"RS256"},
		Now:        clk.Now,
	})
	if err != nil {
		t.Fatalf("verify.New: %v", err)
	}
	c, err := v.Verify(context.Background(), tok.Raw)
	if err != nil {
		t.Fatalf("Verify(%.40q) error = %v, want nil", tok.Raw, err)
	}
	if c.Subject != alice.ID || c.Email != alice.Email || c.Name != alice.Name || c.ID != jti ||
		c.KeyID != signer.KeyID || c.Type != "JWT" || !c.Expiry.Equal(t0.Add(time.Hour)) || !c.IssuedAt.Equal(t0) {
		t.Errorf("Verify(%.40q) = %+v, want the issued claims", tok.Raw, c)
	}
}

// TestIssuer_Issue_expPerToken checks that exp is computed for each token,
// not once per Issuer.
func TestIssuer_Issue_expPerToken(t *testing.T) {
	signer, _ := mustSigner(t, keys.EdDSA)
	clk := &clock{now: t0}
	iss := &Issuer{Issuer: testIssuer, TTL: 15 * time.Minute, Keys: staticSource{signer}, Now: clk.Now}
	first := mustIssue(t, iss, alice)
	clk.Add(10 * time.Minute)
	second := mustIssue(t, iss, alice)

	tests := []struct {
		name    string
		tok     Token
		wantIat time.Time
	}{
		{name: "first", tok: first, wantIat: t0},
		{name: "second", tok: second, wantIat: t0.Add(10 * time.Minute)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustDecode(t, tc.tok.Raw, 1)
			wantExp := tc.wantIat.Add(15 * time.Minute).Unix()
			if p["iat"] != float64(tc.wantIat.Unix()) || p["exp"] != float64(wantExp) {
				t.Errorf("Issue() iat, exp = %v, %v, want %d, %d", p["iat"], p["exp"], tc.wantIat.Unix(), wantExp)
			}
			if tc.tok.Claims.Expiry != wantExp {
				t.Errorf("Issue() Claims.Expiry = %d, want %d", tc.tok.Claims.Expiry, wantExp)
			}
		})
	}
	if first.Claims.Expiry == second.Claims.Expiry {
		t.Errorf("tokens issued 10 min apart share exp %d", first.Claims.Expiry)
	}
}

func TestIssuer_Issue_jti(t *testing.T) {
	signer, _ := mustSigner(t, keys.EdDSA) // fast: 1000 signatures
	iss := &Issuer{Issuer: testIssuer, TTL: time.Hour, Keys: staticSource{signer}, Now: func() time.Time { return t0 }}
	seen := make(map[string]bool, 1000)
	for range 1000 {
		tok := mustIssue(t, iss, alice)
		jti := tok.Claims.ID
		if !jtiRE.MatchString(jti) {
			t.Fatalf("Issue() jti = %q, want 26 base32 characters (≥ 128 bits)", jti)
		}
		if p := mustDecode(t, tok.Raw, 1); p["jti"] != jti {
			t.Fatalf("Issue() payload jti = %v, want %q", p["jti"], jti)
		}
		if seen[jti] {
			t.Fatalf("Issue() jti %q repeated within %d tokens", jti, len(seen))
		}
		seen[jti] = true
	}
}

func TestIssuer_Issue_algorithms(t *testing.T) {
	tests := []struct {
		name string
		alg  string
	}{
		{name: "es256", alg: keys.ES256},
		{name: "es384", alg: keys.ES384},
		{name: "eddsa", alg: keys.EdDSA},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			signer, pub := mustSigner(t, tc.alg)
			iss := &Issuer{Issuer: testIssuer, TTL: time.Hour, Keys: staticSource{signer}, Now: func() time.Time { return t0 }}
			tok := mustIssue(t, iss, alice)
			if h := mustDecode(t, tok.Raw, 0); h["alg"] != tc.alg || h["kid"] != signer.KeyID || h["typ"] != "JWT" {
				t.Errorf("Issue() header = %v, want alg %s, kid %s, typ JWT", h, tc.alg, signer.KeyID)
			}
			v, err := verify.New(context.Background(), verify.Config{
				Issuer: testIssuer,
				KeySet: verify.StaticKeySet{{ID: signer.KeyID, Algorithm: tc.alg, Public: pub}},
				Now:    func() time.Time { return t0 },
			})
			if err != nil {
				t.Fatalf("verify.New: %v", err)
			}
			if _, err := v.Verify(context.Background(), tok.Raw); err != nil {
				t.Errorf("Verify(%.40q) error = %v, want nil", tok.Raw, err)
			}
		})
	}
}

func TestToken_ExpiresIn(t *testing.T) {
	signer, _ := mustSigner(t, keys.EdDSA)
	tests := []struct {
		name string
		ttl  time.Duration
		want int64
	}{
		{name: "hour", ttl: time.Hour, want: 3600},
		{name: "seconds", ttl: 90 * time.Second, want: 90},
		{name: "fraction truncated", ttl: 1500 * time.Millisecond, want: 1},
		{name: "day", ttl: 24 * time.Hour, want: 86400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			iss := &Issuer{Issuer: testIssuer, TTL: tc.ttl, Keys: staticSource{signer}, Now: func() time.Time { return t0 }}
			tok := mustIssue(t, iss, alice)
			if got := tok.ExpiresIn(); got != tc.want {
				t.Errorf("ExpiresIn() with TTL %v = %d, want %d", tc.ttl, got, tc.want)
			}
		})
	}
}

// BenchmarkIssue_RS256 mints RS256 tokens; compare it with
// BenchmarkRSASignRaw, the bare RSA signature it contains.
func BenchmarkIssue_RS256(b *testing.B) {
	signer := mustRSA(b).signer
	iss := &Issuer{Issuer: testIssuer, TTL: time.Hour, Keys: staticSource{signer}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := iss.Issue(User{ID: alice.ID, Email: alice.Email, Name: alice.Name}); err != nil {
				b.Errorf("Issue() error = %v", err)
				return
			}
		}
	})
}

// BenchmarkRSASignRaw is the baseline of BenchmarkIssue_RS256: SHA-256 of a
// token's signing input and rsa.SignPKCS1v15, nothing else.
func BenchmarkRSASignRaw(b *testing.B) {
	f := mustRSA(b)
	iss := &Issuer{Issuer: testIssuer, TTL: time.Hour, Keys: staticSource{f.signer}}
	raw := mustIssue(b, iss, alice).Raw
	input := []byte(raw[:strings.LastIndexByte(raw, '.')])
	key := f.priv
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h := sha256.Sum256(input)
			if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, h[:]); err != nil {
				b.Errorf("SignPKCS1v15 error = %v", err)
				return
			}
		}
	})
}
