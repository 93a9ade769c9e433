package server

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	inkanoauth2 "github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/cache"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
	"github.com/inkan-dev/inkan/internal/token"
)

// The OAuth 2.0 benchmarks run through the whole handler (h.srv.ServeHTTP
// with httptest) on the harness's SQLite store and RS256-2048 key, all with
// b.RunParallel, so ns/op is wall time per operation with every core busy
// and 1e9/ns_op is the throughput. Their floors are BenchmarkRSASign_raw
// (the grants) and BenchmarkVerify_rawHandler (introspection); the targets
// and results are in docs/performance.md, "OAuth 2.0 benchmarks".

// The bench user and client have fixed ids, so that an access token minted
// in one harness is valid in another: every harness has the same key (the
// kid is its thumbprint), issuer and clock.
const (
	benchClientID = "bench-client"
	benchUserID   = "00000000-0000-4000-8000-00000000b001"
	benchVerifier = "bench-pkce-verifier-0123456789-abcdefghijklmnop" // 47 unreserved characters
)

// benchEnv is a harness with one user and one trusted (no consent page)
// confidential client registered for every grant.
type benchEnv struct {
	*harness
	auth string // the client's Authorization header (client_secret_basic)
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	// newHarness's TempDir on a bare testing.T is never removed: make it
	// under b's own, which is.
	b.Setenv("TMPDIR", b.TempDir())
	ctx := context.Background()
	// The store as inkan serve runs it: SQLite behind the user and client
	// cache.
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "inkan.db"))
	if err != nil {
		b.Fatal(err)
	}
	cached := cache.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := cached.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	h := newHarness(&testing.T{}, withOptions(func(o *Options) { o.Store = cached }))
	b.Cleanup(func() { h.store.Close() })
	now := t0.UTC()
	pw, err := h.hasher.Hash(ctx, "pw-8char")
	if err != nil {
		b.Fatal(err)
	}
	u := store.User{ID: benchUserID, Name: "Bench", Email: "bench@example.com", PasswordHash: pw, CreatedAt: now, UpdatedAt: now}
	if err := h.store.CreateUser(ctx, u); err != nil {
		b.Fatalf("CreateUser() = %v", err)
	}
	secret := inkanoauth2.NewSecret()
	c := store.Client{
		ID: benchClientID, Name: "Bench App", SecretHash: inkanoauth2.HashSecret(secret),
		RedirectURIs: []string{redirectURI}, Grants: inkanoauth2.Grants,
		Scopes:  []string{"openid", "profile", "email", "offline_access"},
		Trusted: true, CreatedAt: now, UpdatedAt: now,
	}
	if err := h.store.CreateClient(ctx, c); err != nil {
		b.Fatalf("CreateClient() = %v", err)
	}
	return &benchEnv{harness: h, auth: basic(benchClientID, secret)}
}

// post sends an authenticated form POST through the handler.
func (e *benchEnv) post(path, form string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", path, strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", e.auth)
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

// accessToken mints the bench user's access token as the refresh grant
// does (same claims, same issuer).
func (e *benchEnv) accessToken(b *testing.B) string {
	b.Helper()
	at, err := e.srv.tokens.IssueAccess(token.AccessClaims{
		Subject: benchUserID, Audience: []string{benchClientID}, ClientID: benchClientID,
		Scope: "profile email", AuthTime: t0.Unix(), Family: newFamily(),
	})
	if err != nil {
		b.Fatalf("IssueAccess() = %v", err)
	}
	return at.Raw
}

// seedRefresh stores a fresh refresh token of the bench user, without
// openid, and returns it.
func (e *benchEnv) seedRefresh(b *testing.B) string {
	raw := randomToken()
	now := t0.UTC()
	err := e.store.CreateRefreshToken(context.Background(), store.RefreshToken{
		Hash: hashToken(raw), Family: newFamily(), ClientID: benchClientID, UserID: benchUserID,
		Scope: "profile email", AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(720 * time.Hour),
	})
	if err != nil {
		b.Fatalf("CreateRefreshToken() = %v", err)
	}
	return raw
}

// BenchmarkRSASign_raw is the grants' floor: rsa.SignPKCS1v15 over SHA-256
// of an access token's signing input, with the harness key, on all cores.
func BenchmarkRSASign_raw(b *testing.B) {
	e := newBenchEnv(b)
	tok := e.accessToken(b)
	input := []byte(tok[:strings.LastIndexByte(tok, '.')])
	priv := e.priv.(*rsa.PrivateKey)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			sum := sha256.Sum256(input)
			if _, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, sum[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkClientCredentials is POST /oauth2/token with
// grant_type=client_credentials and client_secret_basic: one signature.
func BenchmarkClientCredentials(b *testing.B) {
	e := newBenchEnv(b)
	const form = "grant_type=client_credentials"
	if rec := e.post("/oauth2/token", form); rec.Code != 200 || !bytes.Contains(rec.Body.Bytes(), []byte(`"access_token"`)) {
		b.Fatalf("client_credentials = %d %s", rec.Code, rec.Body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if rec := e.post("/oauth2/token", form); rec.Code != 200 {
				b.Fatalf("client_credentials = %d %s", rec.Code, rec.Body)
			}
		}
	})
}

// BenchmarkRefreshToken redeems a refresh token per iteration, with
// rotation, and presents its successor on the next one: each goroutine
// walks its own chain, seeded by one row in the store. No openid scope, so
// one signature (the access token) per response.
func BenchmarkRefreshToken(b *testing.B) {
	e := newBenchEnv(b)
	rt := e.seedRefresh(b)
	rec := e.post("/oauth2/token", "grant_type=refresh_token&refresh_token="+rt)
	if rec.Code != 200 || bytes.Contains(rec.Body.Bytes(), []byte(`"id_token"`)) ||
		!bytes.Contains(rec.Body.Bytes(), []byte(`"refresh_token":"`+e.srv.oauthIssuer.Successor(rt)+`"`)) {
		b.Fatalf("refresh = %d %s, want a successor and no ID token", rec.Code, rec.Body)
	}
	// Several requests in flight per core, as on a server with many clients:
	// while one waits for its commit to reach the disk, another signs.
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rt := e.seedRefresh(b) // one insert per goroutine, not per iteration
		for pb.Next() {
			rec := e.post("/oauth2/token", "grant_type=refresh_token&refresh_token="+rt)
			if rec.Code != 200 {
				b.Fatalf("refresh = %d %s", rec.Code, rec.Body)
			}
			rt = e.srv.oauthIssuer.Successor(rt) // the response's refresh_token, checked above
		}
	})
}

// BenchmarkRefreshToken_store is the store's share of BenchmarkRefreshToken:
// the three calls refreshGrant makes (read the token, read the user, mark
// it used and insert its successor in one write transaction), on the same
// chains, without HTTP or signing. The last is a SQLite commit with an
// fsync (synchronous=FULL), on the one write connection.
func BenchmarkRefreshToken_store(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rt := e.seedRefresh(b)
		for pb.Next() {
			old, err := e.store.GetRefreshToken(ctx, hashToken(rt))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := e.store.GetUser(ctx, old.UserID); err != nil {
				b.Fatal(err)
			}
			rt = e.srv.oauthIssuer.Successor(rt)
			succ := old
			succ.Hash, succ.UsedAt = hashToken(rt), time.Time{}
			if _, err := e.store.RotateRefreshToken(ctx, old.Hash, t0, succ); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkIntrospect is POST /oauth2/introspect of the same user access
// token every time: after the first request the server's verified-token
// cache answers, so this is client authentication, the cache lookup, the
// user read from SQLite and the JSON response, with no RSA.
func BenchmarkIntrospect(b *testing.B) {
	e := newBenchEnv(b)
	form := "token=" + e.accessToken(b)
	if rec := e.post("/oauth2/introspect", form); rec.Code != 200 || !bytes.Contains(rec.Body.Bytes(), []byte(`"active":true`)) {
		b.Fatalf("introspect = %d %s", rec.Code, rec.Body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if rec := e.post("/oauth2/introspect", form); rec.Code != 200 {
				b.Fatalf("introspect = %d %s", rec.Code, rec.Body)
			}
		}
	})
}

// freshPoolSize is the number of distinct access tokens BenchmarkIntrospect_fresh
// cycles through: 5 × the server's token cache (tokenCacheSize), which
// evicts arbitrary entries down to 3/4 when full, so that a token seen on
// an earlier pass has about a 1 % chance (0.75^(50000/2500)) of still
// being cached when it comes round again. Within one pass (b.N up to
// freshPoolSize) every token is new to the fresh server's cache.
const freshPoolSize = 50_000

// freshPool holds the tokens, minted once per process (about 10 s on 2
// cores) and valid in every bench harness.
var freshPool struct {
	sync.Mutex
	tokens []string
}

func freshTokens(b *testing.B, e *benchEnv) []string {
	b.Helper()
	freshPool.Lock()
	defer freshPool.Unlock()
	if freshPool.tokens != nil {
		return freshPool.tokens
	}
	toks := make([]string, freshPoolSize)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, runtime.GOMAXPROCS(0))
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < freshPoolSize; i = next.Add(1) - 1 {
				at, err := e.srv.tokens.IssueAccess(token.AccessClaims{
					Subject: benchUserID, Audience: []string{benchClientID}, ClientID: benchClientID,
					Scope: "profile email", AuthTime: t0.Unix(), Family: newFamily(),
				})
				if err != nil {
					errs <- err
					return
				}
				toks[i] = at.Raw
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatalf("IssueAccess() = %v", err)
	}
	freshPool.tokens = toks
	return toks
}

// BenchmarkIntrospect_fresh introspects a different token each iteration,
// from a pool of freshPoolSize pre-minted ones, on a server whose cache
// starts empty: each is a cache miss, verified in full (RS256, claims),
// then cached as in production. reused/op is the fraction of iterations
// that presented a token a second time (b.N beyond the pool); even those
// are almost all misses (see freshPoolSize).
func BenchmarkIntrospect_fresh(b *testing.B) {
	e := newBenchEnv(b)
	toks := freshTokens(b, e)
	if rec := e.post("/oauth2/introspect", "token="+toks[len(toks)-1]); rec.Code != 200 || !bytes.Contains(rec.Body.Bytes(), []byte(`"active":true`)) {
		b.Fatalf("introspect = %d %s", rec.Code, rec.Body)
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			if rec := e.post("/oauth2/introspect", "token="+toks[i%int64(len(toks))]); rec.Code != 200 {
				b.Fatalf("introspect = %d %s", rec.Code, rec.Body)
			}
		}
	})
	b.ReportMetric(float64(max(0, next.Load()-int64(len(toks))))/float64(b.N), "reused/op")
}

// BenchmarkVerify_rawHandler is introspection's floor, a bare RS256-verifying
// handler: the form's token split, its signature checked with
// rsa.VerifyPKCS1v15 over SHA-256 of header.payload (no claims, no kid or
// alg checks, no client authentication, no database), then
// {"active":true}; the same request and recorder as BenchmarkIntrospect.
func BenchmarkVerify_rawHandler(b *testing.B) {
	e := newBenchEnv(b)
	form := "token=" + e.accessToken(b)
	pub := e.priv.Public().(*rsa.PublicKey)
	raw := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.PostFormValue("token")
		i := strings.LastIndexByte(tok, '.')
		sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
		sum := sha256.Sum256([]byte(tok[:max(i, 0)]))
		w.Header().Set("Content-Type", "application/json")
		if i < 0 || err != nil || rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
			w.Write([]byte(`{"active":false}`))
			return
		}
		w.Write([]byte(`{"active":true}`))
	})
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/introspect", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			raw.ServeHTTP(rec, req)
			if rec.Body.String() != `{"active":true}` {
				b.Fatalf("raw verify = %s", rec.Body)
			}
		}
	})
}

// BenchmarkAuthCodeRoundTrip is one OpenID Connect sign-in with a session
// already established (a store.Session row and its cookie; the client is
// trusted, so no consent): GET /oauth2/authorize → 302 to the redirect URI
// with a code → POST /oauth2/token exchanging it with the PKCE (S256)
// verifier → access, refresh and ID tokens (scope openid profile email: two
// signatures, two store writes for the code, one for the refresh token).
func BenchmarkAuthCodeRoundTrip(b *testing.B) {
	e := newBenchEnv(b)
	cookie := randomToken()
	now := t0.UTC()
	sess := store.Session{Hash: hashToken(cookie), ID: "bench-session", UserID: benchUserID, AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
	if err := e.store.CreateSession(context.Background(), sess); err != nil {
		b.Fatalf("CreateSession() = %v", err)
	}
	sum := sha256.Sum256([]byte(benchVerifier))
	authorize := "/oauth2/authorize?" + url.Values{
		"response_type": {"code"}, "client_id": {benchClientID}, "redirect_uri": {redirectURI},
		"scope": {"openid profile email"}, "state": {"bench-state"}, "nonce": {"bench-nonce"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}.Encode()
	roundTrip := func() (*httptest.ResponseRecorder, string) {
		req := httptest.NewRequest("GET", authorize, nil)
		req.AddCookie(&http.Cookie{Name: e.srv.cookies.name(sessionCookie), Value: cookie})
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		loc, err := url.Parse(rec.Header().Get("Location"))
		if rec.Code != http.StatusFound || err != nil || loc.Query().Get("code") == "" {
			return rec, "authorize"
		}
		form := url.Values{
			"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
			"redirect_uri": {redirectURI}, "code_verifier": {benchVerifier},
		}.Encode()
		rec = e.post("/oauth2/token", form)
		if rec.Code != 200 {
			return rec, "token"
		}
		return rec, ""
	}
	if rec, step := roundTrip(); step != "" || !bytes.Contains(rec.Body.Bytes(), []byte(`"id_token"`)) ||
		!bytes.Contains(rec.Body.Bytes(), []byte(`"refresh_token"`)) {
		b.Fatalf("%s = %d %s %v, want tokens", step, rec.Code, rec.Body, rec.Header())
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if rec, step := roundTrip(); step != "" {
				b.Fatalf("%s = %d %s %v", step, rec.Code, rec.Body, rec.Header())
			}
		}
	})
}
