package server

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/inkan-dev/inkan/internal/password"
)

// BenchmarkMe is GET /user through the whole handler (middleware, verify,
// user lookup in SQLite, JSON); BenchmarkMe_rawRSA is the floor: the same
// token's RS256 signature checked with crypto/rsa alone.
func BenchmarkMe(b *testing.B) {
	h := newHarness(&testing.T{})
	tok := benchToken(b, h)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("GET", "/user", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			rec := httptest.NewRecorder()
			h.srv.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("GET /user = %d", rec.Code)
			}
		}
	})
}

func BenchmarkMe_rawRSA(b *testing.B) {
	h := newHarness(&testing.T{})
	tok := benchToken(b, h)
	i := strings.LastIndexByte(tok, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
	pub := h.priv.Public().(*rsa.PublicKey)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			sum := sha256.Sum256([]byte(tok[:i]))
			if err := rsa.VerifyPKCS1v15(pub, 5, sum[:], sig); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchToken(b *testing.B, h *harness) string {
	b.Helper()
	t := &testing.T{}
	h.signup(t, "Bench", "bench@example.com", "pw-8char")
	return h.login(t, "bench@example.com", "pw-8char")
}

// BenchmarkAuthenticate is POST /user/_authenticate with the real argon2id
// parameters, at most GOMAXPROCS hashes at once, as the server runs.
func BenchmarkAuthenticate(b *testing.B) {
	h := newHarness(&testing.T{}, withOptions(func(o *Options) {
		o.Passwords = password.New(password.Default, runtime.GOMAXPROCS(0))
	}))
	tok := &testing.T{}
	h.signup(tok, "Bench", "bench@example.com", "pw-8char")
	auth := basic("bench@example.com", "pw-8char")
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/user/_authenticate", nil)
			req.Header.Set("Authorization", auth)
			rec := httptest.NewRecorder()
			h.srv.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("login = %d", rec.Code)
			}
		}
	})
}

// BenchmarkArgon2id is the floor of BenchmarkAuthenticate: the same
// verification alone, GOMAXPROCS at once.
func BenchmarkArgon2id(b *testing.B) {
	hs := password.New(password.Default, runtime.GOMAXPROCS(0))
	enc, _ := hs.Hash(b.Context(), "pw-8char")
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _, _ := hs.Verify(b.Context(), enc, "pw-8char"); !ok {
				b.Fatal("no match")
			}
		}
	})
}

// BenchmarkJWKS is the JWKS through the whole handler (middleware, routing,
// access log at info into a discarding handler), against
// BenchmarkJWKS_bare, a bare handler writing the same bytes.
func BenchmarkJWKS(b *testing.B) {
	h := newHarness(&testing.T{})
	h.srv.opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	h.srv.handler = h.srv.routes()
	req := httptest.NewRequest("GET", "/.well-known/jwks.json", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.srv.ServeHTTP(discardWriter{http.Header{}}, req)
	}
}

func BenchmarkJWKS_bare(b *testing.B) {
	h := newHarness(&testing.T{})
	body := h.keys.JWKS()
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	req := httptest.NewRequest("GET", "/.well-known/jwks.json", nil)
	b.ReportAllocs()
	for b.Loop() {
		bare.ServeHTTP(discardWriter{http.Header{}}, req)
	}
}

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d discardWriter) WriteHeader(int)             {}
