package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/inkan-dev/inkan/internal/store/sqlite"
)

// The tutorial's whole flow against a real process with the real argon2id
// parameters, and the token verified independently with go-jose against the
// JWKS fetched over HTTP.
func TestE2E_tutorialFlow(t *testing.T) {
	dir := dataDir(t)
	p := startInkan(t, dir, nil)

	info, err := os.Stat(dir)
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode = %v, %v; want 0700", info.Mode().Perm(), err)
	}
	if !strings.Contains(p.logText(), "issuer="+p.base) || !strings.Contains(p.logText(), "kid=") {
		t.Errorf("start log line lacks address, issuer or kid:\n%s", p.logText())
	}

	user := p.register(t, "Alice", "alice@example.com", "correct horse battery")
	token := p.login(t, "alice@example.com", "correct horse battery")

	code, me, _ := call(t, "GET", p.base+"/user", "", "Authorization", "Bearer "+token)
	if code != 200 || me["sub"] != user["id"] || me["user"] != "Alice" || me["email"] != "alice@example.com" {
		t.Fatalf("GET /user = %d %v", code, me)
	}

	resp, err := http.Get(p.base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatalf("decode JWKS: %v", err)
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("jwt.ParseSigned() = %v", err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 || !keys[0].Valid() || !keys[0].IsPublic() {
		t.Fatalf("JWKS has no public key for kid %q: %+v", tok.Headers[0].KeyID, set)
	}
	var claims jwt.Claims
	var extra struct {
		Email string `json:"email"`
		User  string `json:"user"`
	}
	if err := tok.Claims(keys[0].Key, &claims, &extra); err != nil {
		t.Fatalf("verify with go-jose: %v", err)
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: p.base, Time: time.Now()}, time.Minute); err != nil {
		t.Errorf("claims: %v", err)
	}
	if claims.Subject != user["id"] || extra.Email != "alice@example.com" || extra.User != "Alice" {
		t.Errorf("claims = %+v %+v", claims, extra)
	}

	if err := p.stop(t); err != nil {
		t.Errorf("SIGTERM: exit = %v, want a clean exit", err)
	}
	if !strings.Contains(p.logText(), "stopped") {
		t.Errorf("no clean-stop log line:\n%s", p.logText())
	}
}

// 50 parallel registrations of one email: exactly one 201.
func TestE2E_parallelRegistrations(t *testing.T) {
	// 50 hashes queue for one slot; under -race each is slow.
	p := startInkan(t, dataDir(t), nil, "--hash-queue-wait", "1m")
	const n = 50
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			code, _, _ := call(t, "POST", p.base+"/user", signupBody("Same", "same@example.com", "pw-8char"))
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[201] != 1 || codes[409] != n-1 {
		t.Errorf("%d parallel registrations: %s, want one 201 and %d 409", n, fmtCodes(codes), n-1)
	}
}

// A restart keeps users and keys, and old tokens still verify.
func TestE2E_restart(t *testing.T) {
	dir := dataDir(t)
	p := startInkan(t, dir, nil)
	p.register(t, "Alice", "alice@example.com", "pw-8char")
	token := p.login(t, "alice@example.com", "pw-8char")
	kids := jwksKIDs(t, p.base)
	if err := p.stop(t); err != nil {
		t.Fatalf("stop: %v", err)
	}

	q := startInkan(t, dir, nil, "--issuer", p.base) // same issuer, new port
	if got := jwksKIDs(t, q.base); strings.Join(got, ",") != strings.Join(kids, ",") {
		t.Errorf("JWKS after restart = %v, want %v", got, kids)
	}
	if code := q.me(t, token); code != 200 {
		t.Errorf("old token after restart: GET /user = %d, want 200", code)
	}
	q.login(t, "alice@example.com", "pw-8char")
}

// kill -9 during a burst of registrations: every 201 is in the database.
func TestE2E_kill9(t *testing.T) {
	dir := dataDir(t)
	p := startInkan(t, dir, nil)
	b := startBurst([]string{p.base}, 8, 1000)
	eventually(t, 60*time.Second, "20 registrations", func() bool { return b.n.Load() >= 20 })
	p.kill(t) // SIGKILL mid-burst
	created := b.stop()

	st, err := sqlite.Open(context.Background(), filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer st.Close()
	for _, email := range created {
		if _, err := st.GetUserByEmail(context.Background(), email); err != nil {
			t.Errorf("user %s got a 201 but is not in the database: %v", email, err)
		}
	}
	t.Logf("%d registrations acknowledged before SIGKILL, all present", len(created))
	q := startInkan(t, dir, nil)
	if code, _, _ := call(t, "GET", q.base+"/readyz", ""); code != 200 {
		t.Errorf("GET /readyz after restart = %d", code)
	}
}

// Settings come from INKAN_* variables, and a flag wins over its variable.
func TestE2E_envAndFlags(t *testing.T) {
	dir := dataDir(t)
	p := startInkan(t, "", []string{"INKAN_TOKEN_TTL=2m", "INKAN_SIGNUP=false"}, "--data-dir", dir, "--token-ttl", "3m")
	code, _, _ := call(t, "POST", p.base+"/user", signupBody("A", "a@example.com", "pw-8char"))
	if code != 403 {
		t.Errorf("POST /user with INKAN_SIGNUP=false = %d, want 403", code)
	}
	mustInkan(t, "pw-8char\n", "users", "add", "--data-dir", dir, "--email", "a@example.com", "--name", "A")
	_, body, _ := call(t, "POST", p.base+"/user/_authenticate", "", "Authorization", basicAuth("a@example.com", "pw-8char"))
	if body["expires_in"] != float64(180) {
		t.Errorf("expires_in = %v, want 180 (the flag, not INKAN_TOKEN_TTL)", body["expires_in"])
	}
}

// SIGTERM lets a request in flight finish: its body is still arriving when
// the server starts shutting down, and it is answered.
func TestE2E_gracefulShutdown(t *testing.T) {
	p := startInkan(t, dataDir(t), nil, "--log-level", "debug")
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := signupBody("Late", "late@example.com", "pw-8char")
	fmt.Fprintf(conn, "POST /user HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:10])
	eventually(t, 10*time.Second, "request in flight", func() bool {
		return strings.Contains(p.logText(), `msg="request started" method=POST path=/user`)
	})
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "shutdown begins", func() bool { return strings.Contains(p.logText(), "shutting down") })
	if _, err := http.Get(p.base + "/healthz"); err == nil {
		t.Error("a new connection was accepted after shutdown began")
	}
	fmt.Fprint(conn, body[10:])
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request: %v\n%s", err, p.logText())
	}
	if resp.StatusCode != 201 {
		t.Errorf("in-flight registration = %d, want 201", resp.StatusCode)
	}
	<-p.done
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM = %v, want clean", err)
	}
}

// Before its first request a server drops what start-up left behind, the
// garbage and its mappings of the executable's pages (footprint.Release),
// and goes on serving with the code mapped again on use; it does so once
// more when its loops have run their first rounds (settleRelease).
func TestE2E_startReleasesMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the executable's mappings are read from /proc, on Linux only")
	}
	p := startInkan(t, dataDir(t), nil, "--log-level", "debug")
	m := regexp.MustCompile(`msg="released start-up memory" image_bytes=(\d+)`).FindStringSubmatch(p.logText())
	if m == nil {
		t.Fatalf("no start-up release in the log:\n%s", p.logText())
	}
	if n, _ := strconv.ParseUint(m[1], 10, 64); n < 1<<20 {
		t.Errorf("released %s bytes of the executable's mappings, want at least 1 MiB", m[1])
	}
	if code, _, _ := call(t, "POST", p.base+"/user", signupBody("A", "a@example.com", "pw-8char")); code != 201 {
		t.Fatalf("POST /user after the release = %d, want 201", code)
	}
	login := func(when string) {
		t.Helper()
		if code, body, _ := call(t, "POST", p.base+"/user/_authenticate", "", "Authorization", basicAuth("a@example.com", "pw-8char")); code != 200 || body["access_token"] == nil {
			t.Errorf("login after the %s release = %d %v, want 200 with a token", when, code, body)
		}
	}
	login("start-up")
	eventually(t, settleRelease+10*time.Second, "the settled release in the log", func() bool {
		return strings.Contains(p.logText(), `msg="released settled start-up memory"`)
	})
	login("settled")
}
