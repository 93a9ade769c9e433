package server

import (
	"bufio"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/store/sqlite"
)

// distinctScopes is distinct scope tokens filling about n bytes, the
// request that made scope parsing quadratic.
func distinctScopes(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("s" + strconv.Itoa(i))
	}
	return b.String()
}

// An oversized scope parameter is refused, unauthenticated at the
// authorization endpoint and at the token endpoint, saying which bound it
// broke.
func TestScope_bounds(t *testing.T) {
	p := newProvider(t)
	c, secret := p.client(t, store.Client{})
	form := func(scope string) string {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ID}, "client_secret": {secret}, "scope": {scope}}.Encode()
	}
	for _, tc := range []struct {
		name, scope, want string
	}{
		{"60 KB", distinctScopes(60 << 10), "longer than 2048 bytes"},
		{"over 64 scopes", distinctScopes(400), "more than 64 scopes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := p.do(t, "POST", "/oauth2/token", form(tc.scope), "Content-Type", "application/x-www-form-urlencoded")
			if body := decode(t, rec); rec.Code != 400 || body["error"] != "invalid_scope" || !strings.Contains(body["error_description"].(string), tc.want) {
				t.Errorf("token with a %d-byte scope = %d %v, want 400 invalid_scope saying %q", len(tc.scope), rec.Code, body, tc.want)
			}
			q := url.Values{"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {redirectURI}, "scope": {tc.scope}}
			rec = p.do(t, "GET", "/oauth2/authorize?"+q.Encode(), "")
			loc, _ := url.Parse(rec.Header().Get("Location"))
			if rec.Code != 302 || loc.Query().Get("error") != "invalid_scope" || !strings.Contains(loc.Query().Get("error_description"), tc.want) {
				t.Errorf("authorize with a %d-byte scope = %d %s, want a redirect with invalid_scope saying %q", len(tc.scope), rec.Code, loc, tc.want)
			}
		})
	}
}

// newCountedProvider is newProvider on an SQLite file the test can read
// directly, with every throttle on.
func newCountedProvider(t *testing.T) (*provider, *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "inkan.db")
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p := newProvider(t, withOptions(func(o *Options) {
		o.Store = st
		withThrottle(o)
		o.Accounts.SignupPolicy = store.ThrottlePolicy{Free: 100, Base: time.Second, Max: time.Minute, Window: time.Hour}
	}))
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return p, db
}

// throttleKeys reads the keys of the throttle table.
func throttleKeys(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query("SELECT key FROM throttles ORDER BY key")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	return keys
}

// loginPage posts the sign-in form of an authorization request for c.
func (p *provider) loginPage(t *testing.T, c store.Client, email, password string) *httptest.ResponseRecorder {
	t.Helper()
	req := url.Values{"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {redirectURI}, "scope": {"openid"}}
	form := url.Values{"csrf": {"csrf-token"}, "request": {req.Encode()}, "email": {email}, "password": {password}}
	return p.do(t, "POST", "/oauth2/login", form.Encode(), "Content-Type", "application/x-www-form-urlencoded", "Cookie", "inkan_csrf=csrf-token")
}

// passwordGrant asks the token endpoint for a token with the password grant.
func (p *provider) passwordGrant(t *testing.T, c store.Client, secret, username, password string) *httptest.ResponseRecorder {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {username}, "password": {password}}
	return p.do(t, "POST", "/oauth2/token", form.Encode(), "Content-Type", "application/x-www-form-urlencoded", "Authorization", basicClient(c.ID, secret))
}

// An email over 254 bytes is refused by every password login and by
// registration with their usual failure, before it costs a throttle row or
// a password hash.
func TestEmail_tooLong(t *testing.T) {
	p, db := newCountedProvider(t)
	c, secret := p.client(t, store.Client{})
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 200) + ".example.com" // 277 bytes
	for _, tc := range []struct {
		name       string
		do         func() *httptest.ResponseRecorder
		wantStatus int
		wantBody   string
	}{
		{"tutorial login", func() *httptest.ResponseRecorder {
			return p.do(t, "POST", "/user/_authenticate", "", "Authorization", basic(long, "correct horse"))
		}, 401, `{"detail":"Incorrect email or password"}`},
		{"login page", func() *httptest.ResponseRecorder { return p.loginPage(t, c, long, "correct horse") }, 401, "Incorrect email or password."},
		{"password grant", func() *httptest.ResponseRecorder { return p.passwordGrant(t, c, secret, long, "correct horse") }, 400, `"error":"invalid_grant"`},
		{"registration", func() *httptest.ResponseRecorder {
			return p.do(t, "POST", "/user", `{"name":"A","email":"`+long+`","password":"correct horse"}`, "Content-Type", "application/json")
		}, 422, `{"detail":[{"loc":["body","email"],"msg":"value is not a valid email address: longer than 254 characters","type":"value_error"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hashes, checks := p.hasher.hashes.Load(), p.hasher.checks.Load()
			rec := tc.do()
			if rec.Code != tc.wantStatus || !strings.Contains(rec.Body.String(), tc.wantBody) {
				t.Errorf("%s with a %d-byte email = %d %.300s, want %d with %s", tc.name, len(long), rec.Code, rec.Body, tc.wantStatus, tc.wantBody)
			}
			if h, c := p.hasher.hashes.Load()-hashes, p.hasher.checks.Load()-checks; h != 0 || c != 0 {
				t.Errorf("%s with a %d-byte email computed %d hashes and %d verifications, want none", tc.name, len(long), h, c)
			}
			if keys := throttleKeys(t, db); len(keys) != 0 {
				t.Errorf("%s with a %d-byte email wrote throttle rows %q, want none", tc.name, len(long), keys)
			}
		})
	}
}

var throttleKeyRE = regexp.MustCompile(`^(login:pair|login:acct|signup):[0-9a-f]{64}$`)

// Throttle keys are an HMAC of the email and address, of one size however
// long the email, and the counting works on them as before.
func TestThrottle_keysHashed(t *testing.T) {
	p, db := newCountedProvider(t)
	longest := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 177) + ".example.com" // 254 bytes
	p.signup(t, "Alice", "alice@example.com", "correct horse")
	for _, email := range []string{"alice@example.com", longest} {
		if resp := p.loginFrom(t, "203.0.113.9:1", email, "guess"); resp.StatusCode != 401 {
			t.Fatalf("login as %s = %d, want 401", email, resp.StatusCode)
		}
	}
	keys := throttleKeys(t, db)
	if len(keys) != 5 { // a signup, and a pair and an account counter for each email
		t.Errorf("throttle keys = %q, want 5", keys)
	}
	for _, k := range keys {
		if !throttleKeyRE.MatchString(k) || strings.Contains(k, "alice") || strings.Contains(k, "203.0.113.9") {
			t.Errorf("throttle key %q: want a kind and 64 hex digits, naming no email or address", k)
		}
	}
	// The counter of each key and throttleKey itself: account's
	// TestService_throttleKey.
}

// smuggle is a request framed both by Content-Length and by chunked
// Transfer-Encoding (RFC 9112 §6.1), followed by a second request that a
// proxy framing by the length would pass on as part of the first body.
const smuggle = "POST /user HTTP/1.1\r\nHost: inkan.test\r\nContent-Type: application/json\r\n" +
	"Content-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n" +
	"GET /healthz HTTP/1.1\r\nHost: inkan.test\r\n\r\n"

// pipelined is two plain requests on one connection.
const pipelined = "GET /healthz HTTP/1.1\r\nHost: inkan.test\r\n\r\nGET /healthz HTTP/1.1\r\nHost: inkan.test\r\n\r\n"

// rawResponses writes raw (two requests) to a new connection to addr, and
// reads answers until the server closes it or has answered both (within a
// deadline that fails the test).
func rawResponses(t *testing.T, addr, raw string) []*http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	var out []*http.Response
	for {
		if _, err := br.Peek(1); errors.Is(err, io.EOF) {
			return out // closed
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("after %d answers: %v (want the server to close the connection)", len(out), err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			t.Fatalf("answer %d: %v", len(out)+1, err)
		}
		resp.Body.Close()
		out = append(out, resp)
		if len(out) == 2 { // both requests answered: the connection stayed open
			return out
		}
	}
}

// A request with both Content-Length and Transfer-Encoding is answered,
// by its chunked framing, with Connection: close, and the connection is
// closed: what followed it is never read as a request. Plain requests keep
// the connection.
func TestFraming_contentLengthAndChunked(t *testing.T) {
	p := newProvider(t)
	addr := strings.TrimPrefix(p.url, "http://")
	got := rawResponses(t, addr, smuggle)
	if len(got) != 1 || got[0].StatusCode != http.StatusUnprocessableEntity || !got[0].Close {
		t.Errorf("answers to a request with Content-Length and Transfer-Encoding and a request after it: %d %v, want one 422 with Connection: close", len(got), statuses(got))
	}
	if got := rawResponses(t, addr, pipelined); len(got) != 2 || got[0].Close {
		t.Errorf("answers to two pipelined plain requests: %v, want two on a kept connection", statuses(got))
	}
}

func statuses(rs []*http.Response) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%d close=%v", r.StatusCode, r.Close))
	}
	return out
}

// BenchmarkAuthorize_scope is an unauthenticated authorization request
// carrying a scope of 1 KB, 10 KB and 60 KB: refused at once, at a cost
// that does not grow with the scope (it grew with its square).
func BenchmarkAuthorize_scope(b *testing.B) {
	for _, n := range []int{1 << 10, 10 << 10, 60 << 10} {
		b.Run(fmt.Sprintf("%dKB", n>>10), func(b *testing.B) {
			e := newBenchEnv(b)
			q := url.Values{"response_type": {"code"}, "client_id": {benchClientID}, "redirect_uri": {redirectURI}, "scope": {distinctScopes(n)}}
			target := "/oauth2/authorize?" + q.Encode()
			for b.Loop() {
				rec := httptest.NewRecorder()
				e.srv.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
				if rec.Code != 302 {
					b.Fatalf("authorize = %d", rec.Code)
				}
			}
		})
	}
}
