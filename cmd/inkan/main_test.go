package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/inkan-dev/inkan/internal/store/postgres/pgtest"
	"github.com/inkan-dev/inkan/internal/testskip"
)

// The test binary doubles as the inkan binary: with INKAN_TEST_MAIN=1 it
// runs main, so end-to-end tests start real server processes without a
// separate build. Otherwise it runs the tests and names those that skipped
// for want of PostgreSQL or Chromium.
func TestMain(m *testing.M) {
	if os.Getenv("INKAN_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(testskip.Main(m))
}

// proc is an inkan process under test.
type proc struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:PORT
	done chan struct{}
	addr chan string
	mu   sync.Mutex
	log  bytes.Buffer
}

var servingRE = regexp.MustCompile(`msg="inkan serving" addr=(\S+)`)

// startInkan runs `inkan serve` on a free loopback port and waits, with a
// deadline, for its "inkan serving" log line.
func startInkan(t *testing.T, dataDir string, env []string, args ...string) *proc {
	t.Helper()
	p := launchInkan(t, dataDir, env, args...)
	p.waitServing(t)
	return p
}

// launchInkan starts `inkan serve` without waiting for it, so that several
// replicas can start at once.
func launchInkan(t *testing.T, dataDir string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir}, args...)...)
	cmd.Env = append(append(os.Environ(), "INKAN_TEST_MAIN=1"), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{}), addr: make(chan string, 1)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if m := servingRE.FindStringSubmatch(line); m != nil {
				p.addr <- m[1]
			}
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			// It may be exiting already, and a killed process's status
			// is no news.
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("inkan log:\n%s", p.logText())
		}
	})
	return p
}

// waitServing waits, with a deadline, for the "inkan serving" line.
func (p *proc) waitServing(t *testing.T) {
	t.Helper()
	select {
	case a := <-p.addr:
		p.base = "http://" + a
	case <-p.done:
		err := p.cmd.Wait()
		t.Fatalf("inkan exited before serving (%v):\n%s", err, p.logText())
	case <-time.After(60 * time.Second):
		t.Fatalf("inkan did not serve within 60 s:\n%s", p.logText())
	}
}

func (p *proc) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// stop sends SIGTERM and returns the exit error.
func (p *proc) stop(t *testing.T) error {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM) // if it has exited already, Wait says how
	<-p.done
	return p.cmd.Wait()
}

func (p *proc) kill(t *testing.T) {
	t.Helper()
	// It may be exiting already, and a killed process's status is no news.
	_ = p.cmd.Process.Kill()
	<-p.done
	_ = p.cmd.Wait()
}

// call sends one request and returns the status and JSON body.
func call(t *testing.T, method, url, body string, header ...string) (int, map[string]any, http.Header) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	// Not every answer is JSON (a 404's text): m stays nil then, for the
	// caller to check. One that says it is JSON must be.
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil && strings.Contains(resp.Header.Get("Content-Type"), "json") {
		t.Fatalf("%s %s = %d, body %q: %v", method, url, resp.StatusCode, raw, err)
	}
	return resp.StatusCode, m, resp.Header
}

func signupBody(name, email, pw string) string {
	b, _ := json.Marshal(map[string]string{"name": name, "email": email, "password": pw})
	return string(b)
}

func (p *proc) register(t *testing.T, name, email, pw string) map[string]any {
	t.Helper()
	code, body, _ := call(t, "POST", p.base+"/user", signupBody(name, email, pw))
	if code != http.StatusCreated {
		t.Fatalf("POST /user = %d %v, want 201", code, body)
	}
	return body
}

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// login returns a token, failing the test on anything but 200.
func (p *proc) login(t *testing.T, email, pw string) string {
	t.Helper()
	code, body, _ := call(t, "POST", p.base+"/user/_authenticate", "", "Authorization", basicAuth(email, pw))
	if code != http.StatusOK {
		t.Fatalf("POST /user/_authenticate = %d %v, want 200", code, body)
	}
	return body["access_token"].(string)
}

func (p *proc) me(t *testing.T, token string) int {
	t.Helper()
	code, _, _ := call(t, "GET", p.base+"/user", "", "Authorization", "Bearer "+token)
	return code
}

// eventually polls cond every 20 ms until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
}

// inkan runs a CLI command in-process, as a second process would, and
// returns its stdout.
func inkan(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(stdin), &out, &errOut)
	if err != nil {
		return out.String() + errOut.String(), err
	}
	return out.String(), nil
}

func mustInkan(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := inkan(t, stdin, args...)
	if err != nil {
		t.Fatalf("inkan %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func tokenKID(t *testing.T, token string) string {
	t.Helper()
	seg, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

func jwksKIDs(t *testing.T, base string) []string {
	t.Helper()
	code, body, _ := call(t, "GET", base+"/.well-known/jwks.json", "")
	if code != 200 {
		t.Fatalf("GET jwks = %d", code)
	}
	var kids []string
	for _, k := range body["keys"].([]any) {
		kids = append(kids, k.(map[string]any)["kid"].(string))
	}
	return kids
}

func dataDir(t *testing.T) string { return filepath.Join(t.TempDir(), "data") }

func fmtCodes(m map[int]int) string { return fmt.Sprint(m) }

// httpGet returns a URL's body.
func httpGet(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// burst registers users from workers goroutines, worker w against
// bases[w%len(bases)], each up to perWorker times, until stop is called. A
// worker whose server is gone stops. It records every email answered 201.
type burst struct {
	mu      sync.Mutex
	created []string
	n       atomic.Int64
	wg      sync.WaitGroup
	cancel  context.CancelFunc
}

func startBurst(bases []string, workers, perWorker int) *burst {
	ctx, cancel := context.WithCancel(context.Background())
	b := &burst{cancel: cancel}
	for w := range workers {
		base := bases[w%len(bases)]
		b.wg.Go(func() {
			for i := 0; ctx.Err() == nil && i < perWorker; i++ {
				email := "burst" + strconv.Itoa(w) + "-" + strconv.Itoa(i) + "@example.com"
				req, _ := http.NewRequestWithContext(ctx, "POST", base+"/user", strings.NewReader(signupBody("U", email, "pw-8char")))
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return // the server is gone
				}
				_, _ = io.Copy(io.Discard, resp.Body) // the server may go in the middle
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated {
					b.mu.Lock()
					b.created = append(b.created, email)
					b.mu.Unlock()
					b.n.Add(1)
				}
			}
		})
	}
	return b
}

// stop ends the burst and returns the acknowledged emails.
func (b *burst) stop() []string {
	b.cancel()
	b.wg.Wait()
	return b.created
}

// onBothBackends runs fn against a started inkan on SQLite and on
// PostgreSQL, with the flags that point the CLI at the same store.
func onBothBackends(t *testing.T, fn func(t *testing.T, p *proc, storeArgs ...string)) {
	t.Helper()
	onBothBackendsWith(t, func(*testing.T) []string { return nil }, fn)
}

// onBothBackendsWith is onBothBackends whose servers also get the flags
// that serveArgs returns; it is called in each backend's subtest, so that
// what the flags name (a Mailpit) can be the subtest's own.
func onBothBackendsWith(t *testing.T, serveArgs func(t *testing.T) []string, fn func(t *testing.T, p *proc, storeArgs ...string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		dir := dataDir(t)
		fn(t, startInkan(t, dir, nil, serveArgs(t)...), "--data-dir", dir)
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.Database(t)
		args := []string{"--database", url, "--master-key-file", masterKeyFile(t)}
		fn(t, startInkan(t, dataDir(t), nil, append(args, serveArgs(t)...)...), args[:2]...)
	})
}

// errLanded ends a relying-party browser's redirects at its redirect URI.
var errLanded = errors.New("landed")

// rpBrowser is a browser with a cookie jar that stops at the redirect to
// the test clients' redirect URI, http://127.0.0.1:8765/cb, and records it
// in landedAt; its requests then fail with errLanded.
type rpBrowser struct {
	*http.Client
	landedAt *url.URL
}

func newRPBrowser() *rpBrowser {
	jar, _ := cookiejar.New(nil)
	b := &rpBrowser{}
	b.Client = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host == "127.0.0.1:8765" {
			b.landedAt = req.URL
			return errLanded
		}
		return nil
	}}
	return b
}
