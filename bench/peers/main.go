// Command peers measures inkan against the servers people use instead, on
// one machine and on the same paths, and writes a table of ratios:
//
//	go run ./bench/peers [-rounds 3] [-d 5s] [-warmup 1s] [-c 32]
//
// It builds inkan, bench/loadgen, bench/baseline and bench/mint from this
// tree, and Ory Hydra from the Go module proxy at a pinned version
// (-hydra-version; its module source with the local-path replace of
// hydra-client-go dropped, built with -tags sqlite, cached under
// -cache). Dex is asked for at -dex-version; the module proxy reachable
// here serves no Dex release with Go modules (every version after v2.13.0 of
// 2018 is refused), so without one the table says so and has no Dex column.
//
// Every server runs on SQLite in a temporary directory, on loopback, at its
// default log level, with RS256 keys of 4096 bits (Hydra's own size: inkan
// is given one of that size); GET /user with fresh tokens, inkan's alone
// against a bare RS256 check, uses a published RS256-2048 key, the
// tutorial's size, and -fresh distinct tokens a round, each sent once (that
// run has no warm-up and ends after -fresh requests), so that the server's
// cache of verified tokens never hits. The scenarios run interleaved, inkan then the
// peer, in each of -rounds rounds, so that both see the same machine; the
// table shows each ratio's median over the rounds, with the range.
//
// Results: bench/results/peers.jsonl (every loadgen line) and
// bench/results/peers.md (the table); docs/performance.md shows the latest.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var (
	rounds        = flag.Int("rounds", 3, "rounds of every scenario")
	duration      = flag.Duration("d", 5*time.Second, "measured duration of each run")
	warmup        = flag.Duration("warmup", time.Second, "unmeasured warm-up of each run")
	conc          = flag.Int("c", 32, "concurrency of the read paths")
	chains        = flag.Int("chains", 8, "refresh-token chains (workers) for refresh with rotation")
	freshPerRound = flag.Int("fresh", 30000, "distinct tokens a round for GET /user with fresh tokens; the run sends each once")
	hydraVer      = flag.String("hydra-version", "v2.3.0", "Ory Hydra module version")
	dexVer        = flag.String("dex-version", "", "Dex module version to try (empty: none is served here)")
	cacheDir      = flag.String("cache", filepath.Join(os.TempDir(), "inkan-peers-cache"), "where built peers are kept between runs")
	resultDir     = flag.String("out", "bench/results", "directory for peers.jsonl and peers.md")
)

type proc struct {
	name string
	cmd  *exec.Cmd
	url  string
}

func (p *proc) pid() string { return strconv.Itoa(p.cmd.Process.Pid) }

func (p *proc) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	// The process may have exited already, and its exit status is no news
	// to a runner that is stopping it: the errors are ignored.
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

var (
	tmp   string
	procs []*proc
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("peers: ")
	flag.Parse()
	var err error
	if tmp, err = os.MkdirTemp("", "inkan-peers-"); err != nil {
		log.Fatal(err)
	}
	code := 0
	if err := run(); err != nil {
		log.Print(err)
		code = 1
	}
	for _, p := range procs {
		p.stop()
	}
	os.RemoveAll(tmp)
	os.Exit(code)
}

func run() error {
	bin := filepath.Join(tmp, "bin")
	for _, pkg := range []string{"cmd/inkan", "bench/loadgen", "bench/baseline", "bench/mint"} {
		if err := sh("", nil, "go", "build", "-o", filepath.Join(bin, filepath.Base(pkg)), "./"+pkg); err != nil {
			return err
		}
	}
	hydra, err := buildHydra()
	if err != nil {
		return err
	}
	dexNote := "Dex: not built (no -dex-version; the module proxy here refuses every Dex version after v2.13.0)"
	if *dexVer != "" {
		if err := sh("", nil, "go", "mod", "download", "github.com/dexidp/dex@"+*dexVer); err != nil {
			dexNote = fmt.Sprintf("Dex %s: the module proxy refused it (%v)", *dexVer, err)
		} else {
			dexNote = fmt.Sprintf("Dex %s: downloaded, but this runner does not drive Dex yet", *dexVer)
		}
	}
	log.Print(dexNote)

	r := &report{idle: map[string]float64{}, peak: map[string]float64{}, after: map[string]float64{},
		size: map[string]float64{}, firstStart: map[string]time.Duration{}, restart: map[string]time.Duration{}}
	in, err := setupInkan(bin, r)
	if err != nil {
		return fmt.Errorf("inkan: %w", err)
	}
	hy, err := setupHydra(hydra, r)
	if err != nil {
		return fmt.Errorf("hydra: %w", err)
	}
	baseAddr := freeAddr()
	base, err := start("baseline", filepath.Join(bin, "baseline"), "-jwks", in.url+"/.well-known/jwks.json", "-addr", baseAddr)
	if err != nil {
		return err
	}
	base.url = "http://" + baseAddr
	if err := waitReady(base, base.url+"/json"); err != nil {
		return err
	}

	if err := os.MkdirAll(*resultDir, 0o755); err != nil {
		return err
	}
	jsonl, err := os.Create(filepath.Join(*resultDir, "peers.jsonl"))
	if err != nil {
		return err
	}
	defer jsonl.Close()
	lg := func(name string, p *proc, args ...string) (float64, error) {
		args = append([]string{"-name", name, "-d", duration.String(), "-warmup", warmup.String(), "-pid", p.pid()}, args...)
		out, err := exec.Command(filepath.Join(bin, "loadgen"), args...).Output()
		if err != nil {
			return 0, fmt.Errorf("loadgen %s: %w", name, err)
		}
		if _, err := jsonl.Write(out); err != nil {
			return 0, err
		}
		var res struct {
			RPS    float64  `json:"rps"`
			Errors int64    `json:"errors"`
			Peak   *float64 `json:"peak_rss_mib"`
		}
		if err := json.Unmarshal(out, &res); err != nil {
			return 0, err
		}
		if res.Errors > 0 {
			log.Printf("%s: %d errors: %s", name, res.Errors, bytes.TrimSpace(out))
		}
		if res.Peak != nil {
			r.peak[p.name] = max(r.peak[p.name], *res.Peak)
			r.peak[name] = max(r.peak[name], *res.Peak)
		}
		log.Printf("%s: %.0f/s", name, res.RPS)
		return res.RPS, nil
	}
	c := strconv.Itoa(*conc)
	form := "Content-Type: application/x-www-form-urlencoded"
	for round := 1; round <= *rounds; round++ {
		log.Printf("round %d of %d", round, *rounds)
		pair := func(row string, a, b func() (float64, error)) error {
			x, err := a()
			if err != nil {
				return err
			}
			y, err := b()
			if err != nil {
				return err
			}
			r.add(row, x, y)
			return nil
		}
		steps := []struct {
			row  string
			a, b func() (float64, error)
		}{
			{"JWKS: inkan ÷ bare net/http", func() (float64, error) {
				return lg("inkan jwks", in.proc, "-url", in.url+"/.well-known/jwks.json", "-c", c)
			}, func() (float64, error) { return lg("baseline /json", base, "-url", base.url+"/json", "-c", c) }},
			{"JWKS: inkan ÷ Hydra", func() (float64, error) {
				return lg("inkan jwks", in.proc, "-url", in.url+"/.well-known/jwks.json", "-c", c)
			}, func() (float64, error) {
				return lg("hydra jwks", hy.proc, "-url", hy.url+"/.well-known/jwks.json", "-c", c)
			}},
			{"GET /user, fresh tokens (RS256-2048): inkan ÷ bare RS256 verify", func() (float64, error) {
				// Each token once: no warm-up, and the run ends after as many
				// requests as the file has tokens.
				return lg("inkan GET /user fresh", in.proc, "-url", in.url+"/user", "-bearer-file", in.fresh[round-1], "-c", c,
					"-warmup", "0s", "-n", strconv.Itoa(*freshPerRound))
			}, func() (float64, error) {
				return lg("baseline /verify", base, "-url", base.url+"/verify", "-header", "Authorization: Bearer "+in.oneFresh, "-c", c)
			}},
			{"userinfo: inkan ÷ Hydra", func() (float64, error) {
				return lg("inkan userinfo", in.proc, "-url", in.url+"/userinfo", "-header", "Authorization: Bearer "+in.access, "-c", c)
			}, func() (float64, error) {
				return lg("hydra userinfo", hy.proc, "-url", hy.url+"/userinfo", "-header", "Authorization: Bearer "+hy.access, "-c", c)
			}},
			{"client_credentials: inkan ÷ Hydra", func() (float64, error) {
				return lg("inkan client_credentials", in.proc, "-url", in.url+"/oauth2/token", "-method", "POST", "-header", form,
					"-basic", in.clientID+":"+in.secret, "-body", "grant_type=client_credentials", "-c", c)
			}, func() (float64, error) {
				return lg("hydra client_credentials", hy.proc, "-url", hy.url+"/oauth2/token", "-method", "POST", "-header", form,
					"-basic", hy.clientID+":"+hy.secret, "-body", "grant_type=client_credentials", "-c", c)
			}},
			{"introspection: inkan ÷ Hydra", func() (float64, error) {
				return lg("inkan introspect", in.proc, "-url", in.url+"/oauth2/introspect", "-method", "POST", "-header", form,
					"-basic", in.clientID+":"+in.secret, "-body", "token="+in.access, "-c", c)
			}, func() (float64, error) {
				return lg("hydra introspect", hy.proc, "-url", hy.admin+"/admin/oauth2/introspect", "-method", "POST", "-header", form,
					"-body", "token="+hy.access, "-c", c)
			}},
			{"refresh with rotation: inkan ÷ Hydra", func() (float64, error) {
				return lg("inkan refresh", in.proc, "-url", in.url+"/oauth2/token", "-method", "POST", "-header", form,
					"-basic", in.clientID+":"+in.secret, "-refresh-file", in.refresh[round-1],
					"-body", "grant_type=refresh_token&refresh_token={{rt}}", "-c", strconv.Itoa(*chains))
			}, func() (float64, error) {
				return lg("hydra refresh", hy.proc, "-url", hy.url+"/oauth2/token", "-method", "POST", "-header", form,
					"-basic", hy.clientID+":"+hy.secret, "-refresh-file", hy.refresh[round-1],
					"-body", "grant_type=refresh_token&refresh_token={{rt}}", "-c", strconv.Itoa(*chains))
			}},
		}
		for _, s := range steps {
			if err := pair(s.row, s.a, s.b); err != nil {
				return err
			}
		}
		rps, err := lg("inkan POST /user/_authenticate", in.proc, "-url", in.url+"/user/_authenticate", "-method", "POST",
			"-basic", benchEmail+":"+benchPassword, "-c", "4")
		if err != nil {
			return err
		}
		r.logins = append(r.logins, rps)
	}
	time.Sleep(3 * time.Second)                      // RSS a few seconds after the load, as a user would see it
	r.after["inkan"], _ = rssMiB(in.cmd.Process.Pid) // the last run is the logins
	r.after["hydra"], _ = rssMiB(hy.cmd.Process.Pid)

	// Start-up: each server again on the database it already has.
	for _, p := range []*proc{in.proc, hy.proc} {
		p.stop()
		args := p.cmd.Args
		t0 := time.Now()
		q, err := start(p.name+"-restart", args[0], args[1:]...)
		if err != nil {
			return err
		}
		q.url = p.url
		if err := waitReady(q, q.url+readyPath(p.name)); err != nil {
			return err
		}
		r.restart[p.name] = time.Since(t0)
		q.stop()
	}
	r.dex = dexNote
	md := r.markdown()
	fmt.Print(md)
	return os.WriteFile(filepath.Join(*resultDir, "peers.md"), []byte(md), 0o644)
}

func readyPath(name string) string {
	if name == "hydra" {
		return "/health/ready"
	}
	return "/healthz"
}

// sh runs a command with its output on stderr.
func sh(dir string, env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, os.Stderr, os.Stderr
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

// output runs a command and returns its stdout.
func output(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

// buildHydra builds Hydra from its module source, once per version.
func buildHydra() (string, error) {
	out := filepath.Join(*cacheDir, "hydra-"+*hydraVer, "hydra")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	log.Printf("building Ory Hydra %s from the module proxy (minutes, once)", *hydraVer)
	js, err := output("go", "mod", "download", "-json", "github.com/ory/hydra/v2@"+*hydraVer)
	if err != nil {
		return "", err
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal([]byte(js), &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("go mod download: no Dir in %s", js)
	}
	src := filepath.Join(tmp, "hydra-src")
	if err := os.CopyFS(src, os.DirFS(mod.Dir)); err != nil {
		return "", err
	}
	gomod := filepath.Join(src, "go.mod")
	if err := os.Chmod(gomod, 0o644); err != nil {
		return "", err
	}
	data, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	// The module zip lacks ./internal/httpclient: take hydra-client-go from
	// the proxy at the version go.mod requires.
	var kept []string
	for l := range strings.Lines(string(data)) {
		if !strings.Contains(l, "hydra-client-go/v2 => ./internal/httpclient") {
			kept = append(kept, l)
		}
	}
	if err := os.WriteFile(gomod, []byte(strings.Join(kept, "")), 0o644); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	if err := sh(src, []string{"GOFLAGS=-mod=mod"}, "go", "build", "-tags", "sqlite", "-o", out, "."); err != nil {
		return "", err
	}
	return out, nil
}

// start runs a server; its arguments carry its address.
func start(name, bin string, args ...string) (*proc, error) {
	logf, err := os.Create(filepath.Join(tmp, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{name: name, cmd: cmd}
	procs = append(procs, p)
	return p, nil
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitReady polls url for 200 while the process lives, for at most 60 s.
func waitReady(p *proc, url string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if p.cmd.ProcessState != nil {
			return fmt.Errorf("%s exited", p.name)
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	return fmt.Errorf("%s: %s not ready within 60 s", p.name, url)
}

func rssMiB(pid int) (float64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for l := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kib, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kib / 1024, err
		}
	}
	return 0, errors.New("no VmRSS")
}

const (
	benchEmail    = "bench@example.com"
	benchPassword = "bench-password-1"
	scopes        = "openid email profile offline_access"
)

// server is one running server with what the scenarios need of it.
type server struct {
	*proc
	admin            string // Hydra's admin URL
	clientID, secret string
	access           string   // a user's access token (openid email profile)
	refresh          []string // one file of refresh tokens a round
	fresh            []string // inkan: a file of distinct tutorial tokens a round
	oneFresh         string
}

func setupInkan(bin string, r *report) (*server, error) {
	inkan := filepath.Join(bin, "inkan")
	data := filepath.Join(tmp, "inkan-data")
	keyFile := filepath.Join(tmp, "inkan-key.pem")
	if err := sh("", nil, inkan, "keys", "generate", "--alg", "RS256", "--bits", "4096", "--out", keyFile); err != nil {
		return nil, err
	}
	addr := freeAddr()
	t0 := time.Now()
	p, err := start("inkan", inkan, "serve", "--data-dir", data, "--addr", addr,
		"--login-attempts", "100000", "--login-account-attempts", "100000", "--signup-attempts", "100000")
	if err != nil {
		return nil, err
	}
	p.url = "http://" + addr
	if err := waitReady(p, p.url+"/healthz"); err != nil {
		return nil, err
	}
	r.firstStart["inkan"] = time.Since(t0)
	time.Sleep(time.Second) // RSS one second after start, as a user would see it
	r.idle["inkan"], _ = rssMiB(p.cmd.Process.Pid)
	r.size["inkan"] = fileMiB(inkan)

	kid, err := output(inkan, "keys", "import", "--data-dir", data, "--now", keyFile)
	if err != nil {
		return nil, err
	}
	js, err := output(inkan, "clients", "add", "--data-dir", data, "--name", "bench", "--redirect-uri", "http://127.0.0.1/cb",
		"--grant", "client_credentials,password,refresh_token", "--audience", p.url)
	if err != nil {
		return nil, err
	}
	s := &server{proc: p}
	var cl struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(js), &cl); err != nil {
		return nil, err
	}
	s.clientID, s.secret = cl.ID, cl.Secret
	// The key set reloads four times a second: wait until the new key signs.
	if err := poll(func() bool {
		body, _ := get(p.url + "/.well-known/jwks.json")
		return strings.Contains(body, kid)
	}); err != nil {
		return nil, err
	}
	resp, err := http.Post(p.url+"/user", "application/json",
		strings.NewReader(`{"name":"Bench","email":"`+benchEmail+`","password":"`+benchPassword+`"}`))
	if err != nil {
		return nil, err
	}
	var u struct {
		ID string `json:"id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&u)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("POST /user: %s: %w", resp.Status, err)
	}
	if u.ID == "" {
		return nil, fmt.Errorf("POST /user: %s, no id", resp.Status)
	}
	for round := range *rounds {
		var lines []string
		for range *chains {
			tok, err := tokenRequest(p.url+"/oauth2/token", s.clientID, s.secret, url.Values{
				"grant_type": {"password"}, "username": {benchEmail}, "password": {benchPassword}, "scope": {scopes}})
			if err != nil {
				return nil, err
			}
			lines = append(lines, tok.Refresh)
			s.access = tok.Access
		}
		s.refresh = append(s.refresh, writeLines(fmt.Sprintf("inkan-refresh-%d", round), lines))
	}
	// GET /user with fresh tokens: distinct tokens, each sent once (the
	// server caches verified tokens), signed by a published RS256-2048 key,
	// the tutorial's size, which mints fast enough for tens of thousands; a
	// file a round.
	key2048 := filepath.Join(tmp, "inkan-key-2048.pem")
	if err := sh("", nil, inkan, "keys", "generate", "--alg", "RS256", "--bits", "2048", "--out", key2048); err != nil {
		return nil, err
	}
	kid2048, err := output(inkan, "keys", "import", "--data-dir", data, key2048) // published, not signing
	if err != nil {
		return nil, err
	}
	if err := poll(func() bool {
		body, _ := get(p.url + "/.well-known/jwks.json")
		return strings.Contains(body, kid2048)
	}); err != nil {
		return nil, err
	}
	for round := range *rounds {
		out, err := output(filepath.Join(bin, "mint"), "-key", key2048, "-kid", kid2048, "-iss", p.url, "-sub", u.ID,
			"-email", benchEmail, "-name", "Bench", "-n", strconv.Itoa(*freshPerRound))
		if err != nil {
			return nil, err
		}
		s.fresh = append(s.fresh, writeLines(fmt.Sprintf("inkan-fresh-%d", round), strings.Split(out, "\n")))
		s.oneFresh, _, _ = strings.Cut(out, "\n")
	}
	return s, nil
}

func setupHydra(bin string, r *report) (*server, error) {
	dir := filepath.Join(tmp, "hydra")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	public, admin, consentApp := freeAddr(), freeAddr(), freeAddr()
	pubHost, pubPort, _ := net.SplitHostPort(public)
	admHost, admPort, _ := net.SplitHostPort(admin)
	cfg := fmt.Sprintf(`dsn: sqlite://%s/db.sqlite?_fk=true
serve:
  public: {host: %s, port: %s}
  admin: {host: %s, port: %s}
urls:
  self: {issuer: http://%s}
  login: http://%s/login
  consent: http://%s/consent
strategies:
  access_token: jwt
secrets:
  system: ["bench-system-secret-0123456789abcdef"]
`, dir, pubHost, pubPort, admHost, admPort, public, consentApp, consentApp)
	cfgFile := filepath.Join(dir, "hydra.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	if err := sh("", nil, bin, "migrate", "sql", "up", "-e", "--yes", "--config", cfgFile); err != nil {
		return nil, err
	}
	t0 := time.Now()
	p, err := start("hydra", bin, "serve", "all", "--dev", "--config", cfgFile)
	if err != nil {
		return nil, err
	}
	p.url = "http://" + public
	if err := waitReady(p, p.url+"/health/ready"); err != nil {
		return nil, err
	}
	r.firstStart["hydra"] = time.Since(t0)
	time.Sleep(time.Second)
	r.idle["hydra"], _ = rssMiB(p.cmd.Process.Pid)
	r.size["hydra"] = fileMiB(bin)
	s := &server{proc: p, admin: "http://" + admin}
	js, err := output(bin, "create", "client", "--endpoint", s.admin, "--format", "json",
		"--grant-type", "client_credentials,authorization_code,refresh_token", "--response-type", "code",
		"--scope", strings.ReplaceAll(scopes, " ", ","), "--redirect-uri", "http://"+consentApp+"/cb",
		"--token-endpoint-auth-method", "client_secret_basic")
	if err != nil {
		return nil, err
	}
	var cl struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(js), &cl); err != nil {
		return nil, err
	}
	s.clientID, s.secret = cl.ID, cl.Secret
	if _, err := get(p.url + "/.well-known/jwks.json"); err != nil { // makes its keys
		return nil, err
	}
	for round := range *rounds {
		var lines []string
		for range *chains {
			tok, err := hydraLogin(s, "http://"+consentApp+"/cb")
			if err != nil {
				return nil, err
			}
			lines = append(lines, tok.Refresh)
			s.access = tok.Access
		}
		s.refresh = append(s.refresh, writeLines(fmt.Sprintf("hydra-refresh-%d", round), lines))
	}
	return s, nil
}

// hydraLogin runs Hydra's authorization code flow, accepting its login and
// consent requests through the admin API as a login app would.
func hydraLogin(s *server, redirect string) (*tokens, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	state := strconv.FormatInt(time.Now().UnixNano(), 36) + "state"
	next := s.url + "/oauth2/auth?" + url.Values{"client_id": {s.clientID}, "response_type": {"code"},
		"scope": {scopes}, "redirect_uri": {redirect}, "state": {state}}.Encode()
	for range 10 {
		resp, err := c.Get(next)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			return nil, fmt.Errorf("hydra flow: %s at %s", resp.Status, next)
		}
		q := loc.Query()
		switch {
		case q.Get("code") != "":
			return tokenRequest(s.url+"/oauth2/token", s.clientID, s.secret, url.Values{
				"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {redirect}})
		case q.Get("login_challenge") != "":
			next, err = hydraAccept(s.admin+"/admin/oauth2/auth/requests/login/accept?login_challenge="+url.QueryEscape(q.Get("login_challenge")),
				`{"subject":"bench-user"}`)
		case q.Get("consent_challenge") != "":
			next, err = hydraAccept(s.admin+"/admin/oauth2/auth/requests/consent/accept?consent_challenge="+url.QueryEscape(q.Get("consent_challenge")),
				`{"grant_scope":["openid","email","profile","offline_access"],"session":{"id_token":{"email":"`+benchEmail+`"}}}`)
		default:
			next = loc.String()
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, errors.New("hydra flow: too many redirects")
}

func hydraAccept(u, body string) (string, error) {
	req, _ := http.NewRequest(http.MethodPut, u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		RedirectTo string `json:"redirect_to"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.RedirectTo == "" {
		return "", fmt.Errorf("PUT %s: %s", u, resp.Status)
	}
	return out.RedirectTo, nil
}

type tokens struct{ Access, Refresh string }

func tokenRequest(endpoint, id, secret string, form url.Values) (*tokens, error) {
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
	}
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &out); err != nil || out.Access == "" || out.Refresh == "" {
		return nil, fmt.Errorf("POST %s (%s): %s: %.300s", endpoint, form.Get("grant_type"), resp.Status, body)
	}
	return &tokens{out.Access, out.Refresh}, nil
}

func get(u string) (string, error) {
	resp, err := http.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func poll(cond func() bool) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return nil
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	return errors.New("condition not met within 30 s")
}

func writeLines(name string, lines []string) string {
	path := filepath.Join(tmp, name+".txt")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		log.Fatal(err)
	}
	return path
}

func fileMiB(path string) float64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return float64(fi.Size()) / (1 << 20)
}

// report gathers the ratios and the footprint figures.
type report struct {
	rows                []string
	ratios              map[string][]float64
	logins              []float64
	idle, peak, after   map[string]float64
	size                map[string]float64
	firstStart, restart map[string]time.Duration
	dex                 string
}

func (r *report) add(row string, a, b float64) {
	if r.ratios == nil {
		r.ratios = map[string][]float64{}
	}
	if _, ok := r.ratios[row]; !ok {
		r.rows = append(r.rows, row)
	}
	if b > 0 {
		r.ratios[row] = append(r.ratios[row], a/b)
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func (r *report) markdown() string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "Peer benchmark, %s, %d cores (nproc), %s; %d rounds of %s (+%s warm-up), %d workers (%d refresh chains); host %s.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), runtime.Version(), *rounds, *duration, *warmup, *conc, *chains, host)
	b.WriteString("| path | ratio (median) | range |\n|---|---|---|\n")
	for _, row := range r.rows {
		v := r.ratios[row]
		fmt.Fprintf(&b, "| %s | %.2f | %.2f–%.2f |\n", row, median(v), slices.Min(v), slices.Max(v))
	}
	fmt.Fprintf(&b, "| password login, inkan only (argon2id m=19456 KiB, t=2, p=1; Hydra has no password login) | %.1f/s | %.1f–%.1f/s |\n",
		median(r.logins), slices.Min(r.logins), slices.Max(r.logins))
	b.WriteString("\n| footprint | inkan | Hydra " + *hydraVer + " |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| RSS 1 s after start, MiB | %.1f | %.1f |\n", r.idle["inkan"], r.idle["hydra"])
	fmt.Fprintf(&b, "| RSS peak under load (sampled /proc/PID/status every 50 ms), MiB | %.1f | %.1f |\n", r.peak["inkan"], r.peak["hydra"])
	fmt.Fprintf(&b, "| RSS 3 s after the last run, MiB | %.1f | %.1f |\n", r.after["inkan"], r.after["hydra"])
	fmt.Fprintf(&b, "| inkan RSS peak during logins (4 workers) / during GET /user with fresh tokens, MiB | %.1f / %.1f | |\n",
		r.peak["inkan POST /user/_authenticate"], r.peak["inkan GET /user fresh"])
	fmt.Fprintf(&b, "| first start to ready (empty database; Hydra's migrations run before, not counted) | %s | %s |\n",
		r.firstStart["inkan"].Round(time.Millisecond), r.firstStart["hydra"].Round(time.Millisecond))
	fmt.Fprintf(&b, "| restart to ready | %s | %s |\n", r.restart["inkan"].Round(time.Millisecond), r.restart["hydra"].Round(time.Millisecond))
	fmt.Fprintf(&b, "| binary size, MiB | %.1f | %.1f |\n", r.size["inkan"], r.size["hydra"])
	fmt.Fprintf(&b, "\n%s.\n", r.dex)
	return b.String()
}
