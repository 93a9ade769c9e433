// Command loadgen is a small closed-loop HTTP load generator for inkan's
// load test. Each of -c workers sends one request, waits for the whole
// response, and sends the next, over keep-alive connections, first for
// -warmup (not measured) and then for -d. It prints one line of JSON:
//
//	{"name":…,"requests":…,"errors":…,"rps":…,"p50_ms":…,"p99_ms":…,"peak_rss_mib":…,"error_statuses":{…}}
//
// requests counts the responses completed in the measured window, errors
// those whose status was not -expect or that failed in transport; rps is
// requests over the window's wall time; p50_ms and p99_ms are latencies of
// the successful requests; peak_rss_mib is the largest total VmRSS of the
// -pid processes sampled every 50 ms during the window (null without -pid);
// error_statuses counts the errors by status ("transport" for no response),
// and is left out when there were none.
//
// -url may be repeated: requests then go to the URLs in turn (round robin
// over all workers), to spread the load over replicas of one server. -body
// is sent with every request, each "{{n}}" in it replaced by a counter that
// is unique to the request within the run (warm-up included, from 1), so
// that every registration gets a fresh email:
//
//	loadgen -method POST -url http://127.0.0.1:8000/user -expect 201 \
//		-header 'Content-Type: application/json' \
//		-body '{"name":"B","email":"b{{n}}@bench.test","password":"bench password 1"}'
//
// -bearer-file names a file of access tokens, one a line: request n sends the
// n-th (in turn) as "Authorization: Bearer", so that a server's cache of
// verified tokens never hits when the file holds more tokens than it keeps.
//
// -refresh-file names a file of refresh tokens, one a line and at least one
// for each worker: worker i starts with line i, puts its current token where
// -body says "{{rt}}", and takes the next one from the response's JSON
// "refresh_token" (rotation); a response without one ends that worker's
// chain with an error.
//
// It only talks to loopback addresses, and it stops by itself: the run is
// bounded by -warmup+-d and the number of measured requests by -n.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Bounds on the flags, so that a typo cannot start an unbounded run.
const (
	maxConcurrency = 1024
	maxDuration    = 10 * time.Minute
	requestTimeout = 30 * time.Second
	maxBody        = 1 << 20
	rssInterval    = 50 * time.Millisecond
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ", ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// pidFlags is a repeatable process ID flag.
type pidFlags []int

func (p *pidFlags) String() string { return fmt.Sprint(*p) }
func (p *pidFlags) Set(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return fmt.Errorf("want a process ID, got %q", v)
	}
	*p = append(*p, n)
	return nil
}

// countVar is the placeholder of -body replaced by the request counter;
// refreshVar the one replaced by the worker's refresh token.
const (
	countVar   = "{{n}}"
	refreshVar = "{{rt}}"
)

type result struct {
	Name       string   `json:"name"`
	Requests   int64    `json:"requests"`
	Errors     int64    `json:"errors"`
	RPS        float64  `json:"rps"`
	P50ms      float64  `json:"p50_ms"`
	P99ms      float64  `json:"p99_ms"`
	PeakRSSMiB *float64 `json:"peak_rss_mib"`
	// ErrorStatuses counts errors by HTTP status, or "transport".
	ErrorStatuses map[string]int64 `json:"error_statuses,omitempty"`
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("loadgen: ")
	var (
		headers, urls listFlag
		pids          pidFlags
	)
	name := flag.String("name", "", "scenario name in the output (default: method and URL path)")
	flag.Var(&urls, "url", "target URL, on a loopback host (required; repeat to spread requests over several, in turn)")
	method := flag.String("method", http.MethodGet, "HTTP method")
	flag.Var(&headers, "header", `request header "Key: Value" (repeatable)`)
	body := flag.String("body", "", `request body; each "`+countVar+`" becomes a counter unique to the request`)
	basic := flag.String("basic", "", "HTTP Basic credentials user:pass")
	conc := flag.Int("c", 32, "concurrency: number of closed-loop workers")
	dur := flag.Duration("d", 10*time.Second, "measured duration")
	warmup := flag.Duration("warmup", time.Second, "unmeasured warm-up before -d")
	flag.Var(&pids, "pid", "process whose VmRSS to add to peak_rss_mib (repeatable; none: null)")
	expect := flag.Int("expect", http.StatusOK, "expected status; others count as errors")
	maxReq := flag.Int64("n", 10_000_000, "stop after this many measured requests")
	bearerFile := flag.String("bearer-file", "", "file of access tokens, one a line, sent in turn as Bearer")
	refreshFile := flag.String("refresh-file", "", `file of refresh tokens, one a line and one a worker at least; -body's "`+refreshVar+`" is the worker's current one`)
	flag.Parse()

	if len(urls) == 0 {
		log.Fatal("-url is required")
	}
	for _, u := range urls {
		if err := checkLoopback(u); err != nil {
			log.Fatal(err)
		}
	}
	switch {
	case *conc < 1 || *conc > maxConcurrency:
		log.Fatalf("-c %d out of range [1, %d]", *conc, maxConcurrency)
	case *dur <= 0 || *dur > maxDuration:
		log.Fatalf("-d %s out of range (0, %s]", *dur, maxDuration)
	case *warmup < 0 || *warmup > maxDuration:
		log.Fatalf("-warmup %s out of range [0, %s]", *warmup, maxDuration)
	case *maxReq < 1:
		log.Fatalf("-n %d must be positive", *maxReq)
	case len(*body) > maxBody:
		log.Fatalf("-body is %d bytes, at most %d", len(*body), maxBody)
	}
	hdr := http.Header{}
	for _, h := range headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			log.Fatalf("-header %q: want \"Key: Value\"", h)
		}
		hdr.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	if *basic != "" {
		u, p, ok := strings.Cut(*basic, ":")
		if !ok {
			log.Fatal("-basic: want user:pass")
		}
		r := http.Request{Header: http.Header{}}
		r.SetBasicAuth(u, p)
		hdr.Set("Authorization", r.Header.Get("Authorization"))
	}
	if *name == "" {
		u, _ := url.Parse(urls[0])
		*name = *method + " " + u.Path
	}
	for _, pid := range pids {
		if _, err := readRSS(pid); err != nil {
			log.Fatal(err)
		}
	}

	cfg := config{
		urls: urls, method: *method, header: hdr, body: strings.Split(*body, countVar),
		conc: *conc, dur: *dur, warmup: *warmup, pids: pids, expect: *expect, maxReq: *maxReq,
	}
	if *bearerFile != "" {
		cfg.bearers = readLines(*bearerFile)
	}
	if *refreshFile != "" {
		cfg.refresh = readLines(*refreshFile)
		if len(cfg.refresh) < *conc {
			log.Fatalf("-refresh-file has %d tokens, want one for each of the %d workers", len(cfg.refresh), *conc)
		}
		if len(cfg.body) != 1 || !strings.Contains(*body, refreshVar) {
			log.Fatalf("-refresh-file wants a -body with %s and without %s", refreshVar, countVar)
		}
	}
	res := run(cfg)
	res.Name = *name
	out, err := json.Marshal(res)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out))
}

// checkLoopback refuses any URL whose host is not a loopback address.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-url %q: want an http(s) URL", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-url %q: host must be a loopback address", raw)
	}
	return nil
}

type config struct {
	urls        []string
	method      string
	header      http.Header
	body        []string // -body split at countVar; [""] for no body
	conc        int
	dur, warmup time.Duration
	pids        []int
	expect      int
	maxReq      int64
	bearers     []string // -bearer-file
	refresh     []string // -refresh-file: the chains' first tokens
}

// readLines returns the non-empty lines of a file.
func readLines(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	var out []string
	for l := range strings.Lines(string(data)) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		log.Fatalf("%s holds no tokens", path)
	}
	return out
}

// request is what the workers share: the next URL and body counter, and
// the errors by status.
type request struct {
	cfg  config
	seq  atomic.Uint64 // requests begun, warm-up included
	mu   sync.Mutex
	errs map[string]int64
}

// next returns the URL, body and bearer token of a new request; rt is the
// worker's refresh token, for -refresh-file.
func (r *request) next(rt string) (string, io.Reader, string) {
	n := r.seq.Add(1)
	u := r.cfg.urls[(n-1)%uint64(len(r.cfg.urls))]
	var bearer string
	if len(r.cfg.bearers) > 0 {
		bearer = r.cfg.bearers[(n-1)%uint64(len(r.cfg.bearers))]
	}
	b := r.body(n, rt)
	return u, b, bearer
}

func (r *request) body(n uint64, rt string) io.Reader {
	if r.cfg.refresh != nil {
		return strings.NewReader(strings.ReplaceAll(r.cfg.body[0], refreshVar, rt))
	}
	if len(r.cfg.body) == 1 {
		if r.cfg.body[0] == "" {
			return nil
		}
		return strings.NewReader(r.cfg.body[0])
	}
	return strings.NewReader(strings.Join(r.cfg.body, strconv.FormatUint(n, 10)))
}

func (r *request) fail(status string) {
	r.mu.Lock()
	r.errs[status]++
	r.mu.Unlock()
}

func run(cfg config) result {
	tr := &http.Transport{
		Proxy:               nil, // loopback only: never through a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        cfg.conc * len(cfg.urls),
		MaxIdleConnsPerHost: cfg.conc,
		MaxConnsPerHost:     cfg.conc,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: requestTimeout}

	start := time.Now()
	measureFrom := start.Add(cfg.warmup)
	stopAt := measureFrom.Add(cfg.dur)
	ctx, cancel := context.WithDeadline(context.Background(), stopAt.Add(requestTimeout))
	defer cancel()

	var (
		measured, errs atomic.Int64
		wg             sync.WaitGroup
		lats           = make([][]time.Duration, cfg.conc)
		rq             = &request{cfg: cfg, errs: map[string]int64{}}
	)
	for i := range cfg.conc {
		wg.Go(func() {
			var rt string // this worker's refresh token
			if cfg.refresh != nil {
				rt = cfg.refresh[i]
			}
			for {
				t0 := time.Now()
				if !t0.Before(stopAt) {
					return
				}
				counted := !t0.Before(measureFrom)
				if counted && measured.Add(1) > cfg.maxReq {
					measured.Add(-1)
					return
				}
				status := do(ctx, client, rq, &rt)
				if cfg.refresh != nil && rt == "" {
					if counted {
						errs.Add(1)
						rq.fail("chain broken")
					}
					return
				}
				if !counted {
					continue
				}
				if status != "" {
					errs.Add(1)
					rq.fail(status)
					continue
				}
				lats[i] = append(lats[i], time.Since(t0))
			}
		})
	}

	var peak float64
	rssDone := make(chan struct{})
	if len(cfg.pids) > 0 {
		go func() {
			defer close(rssDone)
			time.Sleep(time.Until(measureFrom))
			t := time.NewTicker(rssInterval)
			defer t.Stop()
			for {
				var kib int64
				for _, pid := range cfg.pids {
					if n, err := readRSS(pid); err == nil {
						kib += n
					}
				}
				peak = max(peak, float64(kib)/1024)
				if !time.Now().Before(stopAt) {
					return
				}
				<-t.C
			}
		}()
	} else {
		close(rssDone)
	}

	wg.Wait()
	elapsed := time.Since(measureFrom)
	<-rssDone

	all := slices.Concat(lats...)
	slices.Sort(all)
	res := result{
		Requests: measured.Load(),
		Errors:   errs.Load(),
		RPS:      round(float64(measured.Load())/elapsed.Seconds(), 1),
		P50ms:    round(ms(percentile(all, 0.50)), 3),
		P99ms:    round(ms(percentile(all, 0.99)), 3),
	}
	if len(cfg.pids) > 0 {
		p := round(peak, 1)
		res.PeakRSSMiB = &p
	}
	if len(rq.errs) > 0 {
		res.ErrorStatuses = rq.errs
	}
	return res
}

// do sends one request and returns "" if it got the expected status, else
// the status it got, or "transport" when no whole response came. It reads
// the body to the end so that the connection is reused.
//
// With -refresh-file it sets *rt to the response's refresh_token, or to ""
// when there is none.
func do(ctx context.Context, client *http.Client, rq *request, rt *string) string {
	u, body, bearer := rq.next(*rt)
	req, err := http.NewRequestWithContext(ctx, rq.cfg.method, u, body)
	if err != nil {
		return "transport"
	}
	req.Header = rq.cfg.header.Clone()
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := client.Do(req)
	if err != nil {
		if rq.cfg.refresh != nil {
			*rt = ""
		}
		return "transport"
	}
	if rq.cfg.refresh != nil {
		var tok struct {
			RefreshToken string `json:"refresh_token"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&tok)
		*rt = tok.RefreshToken
	}
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	resp.Body.Close()
	switch {
	case err != nil:
		return "transport"
	case resp.StatusCode != rq.cfg.expect:
		return strconv.Itoa(resp.StatusCode)
	}
	return ""
}

// percentile returns the nearest-rank q-quantile of sorted, or 0 if empty.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func round(v float64, places int) float64 {
	p := math.Pow10(places)
	return math.Round(v*p) / p
}

// readRSS returns the VmRSS of pid in KiB, from /proc/PID/status.
func readRSS(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("read RSS of pid %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read RSS of pid %d: %w", pid, err)
		}
		return kib, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read RSS of pid %d: %w", pid, err)
	}
	return 0, errors.New("read RSS of pid " + strconv.Itoa(pid) + ": no VmRSS line")
}
