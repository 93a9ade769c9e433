// Command loadgen is a small closed-loop HTTP load generator for inkan's
// load test. Each of -c workers sends one request, waits for the whole
// response, and sends the next, over keep-alive connections, first for
// -warmup (not measured) and then for -d. It prints one line of JSON:
//
//	{"name":…,"requests":…,"errors":…,"rps":…,"p50_ms":…,"p99_ms":…,"peak_rss_mib":…}
//
// requests counts the responses completed in the measured window, errors
// those whose status was not -expect or that failed in transport; rps is
// requests over the window's wall time; p50_ms and p99_ms are latencies of
// the successful requests; peak_rss_mib is the largest VmRSS of -pid sampled
// every 50 ms during the window (null without -pid).
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
	rssInterval    = 50 * time.Millisecond
)

type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

type result struct {
	Name       string   `json:"name"`
	Requests   int64    `json:"requests"`
	Errors     int64    `json:"errors"`
	RPS        float64  `json:"rps"`
	P50ms      float64  `json:"p50_ms"`
	P99ms      float64  `json:"p99_ms"`
	PeakRSSMiB *float64 `json:"peak_rss_mib"`
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("loadgen: ")
	var headers headerFlags
	name := flag.String("name", "", "scenario name in the output (default: method and URL path)")
	rawURL := flag.String("url", "", "target URL, on a loopback host (required)")
	method := flag.String("method", http.MethodGet, "HTTP method")
	flag.Var(&headers, "header", `request header "Key: Value" (repeatable)`)
	basic := flag.String("basic", "", "HTTP Basic credentials user:pass")
	conc := flag.Int("c", 32, "concurrency: number of closed-loop workers")
	dur := flag.Duration("d", 10*time.Second, "measured duration")
	warmup := flag.Duration("warmup", time.Second, "unmeasured warm-up before -d")
	pid := flag.Int("pid", 0, "process whose peak VmRSS to report (0: none)")
	expect := flag.Int("expect", http.StatusOK, "expected status; others count as errors")
	maxReq := flag.Int64("n", 10_000_000, "stop after this many measured requests")
	flag.Parse()

	if err := checkLoopback(*rawURL); err != nil {
		log.Fatal(err)
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
		u, _ := url.Parse(*rawURL)
		*name = *method + " " + u.Path
	}
	if *pid != 0 {
		if _, err := readRSS(*pid); err != nil {
			log.Fatal(err)
		}
	}

	res := run(config{
		url: *rawURL, method: *method, header: hdr, conc: *conc,
		dur: *dur, warmup: *warmup, pid: *pid, expect: *expect, maxReq: *maxReq,
	})
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
	url, method string
	header      http.Header
	conc        int
	dur, warmup time.Duration
	pid         int
	expect      int
	maxReq      int64
}

func run(cfg config) result {
	tr := &http.Transport{
		Proxy:               nil, // loopback only: never through a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        cfg.conc,
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
	)
	for i := range cfg.conc {
		wg.Go(func() {
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
				ok := do(ctx, client, cfg)
				if !counted {
					continue
				}
				if !ok {
					errs.Add(1)
					continue
				}
				lats[i] = append(lats[i], time.Since(t0))
			}
		})
	}

	var peak float64
	rssDone := make(chan struct{})
	if cfg.pid != 0 {
		go func() {
			defer close(rssDone)
			time.Sleep(time.Until(measureFrom))
			t := time.NewTicker(rssInterval)
			defer t.Stop()
			for {
				if kib, err := readRSS(cfg.pid); err == nil {
					peak = max(peak, float64(kib)/1024)
				}
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
	if cfg.pid != 0 {
		p := round(peak, 1)
		res.PeakRSSMiB = &p
	}
	return res
}

// do sends one request and reports whether it got the expected status. It
// reads the body to the end so that the connection is reused.
func do(ctx context.Context, client *http.Client, cfg config) bool {
	req, err := http.NewRequestWithContext(ctx, cfg.method, cfg.url, nil)
	if err != nil {
		return false
	}
	req.Header = cfg.header.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return err == nil && resp.StatusCode == cfg.expect
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
