// Command report reads the JSON lines that bench/load.sh collects (from
// loadgen and hashtime) and prints them as Markdown tables: one row per
// scenario; GET /user and logins run at once against each alone; SQLite
// against PostgreSQL against two PostgreSQL replicas (when the run had
// them); then the ratios the project targets, each marked ok or MISS.
// Ratios are cut (not rounded) to two places, so that a MISS never shows
// the target itself (0.899 is 0.89).
//
// Usage:
//
//	report bench/results/latest.jsonl
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Scenario names, as bench/load.sh passes them to loadgen -name.
const (
	baselineJSON   = "baseline /json"
	inkanJWKS      = "inkan GET /.well-known/jwks.json"
	baselineVerify = "baseline /verify"
	inkanUser      = "inkan GET /user"
	inkanAuth      = "inkan POST /user/_authenticate"
	inkanSignup    = "inkan POST /user"
	busyUser       = "inkan GET /user, with logins"
	busyAuth       = "inkan POST /user/_authenticate, with GET /user"
	pgUser         = "inkan pg GET /user"
	pgAuth         = "inkan pg POST /user/_authenticate"
	pgSignup       = "inkan pg POST /user"
	pg2User        = "inkan pg 2 replicas GET /user"
	pg2Signup      = "inkan pg 2 replicas POST /user"
	hashTime       = "hashtime"
)

var order = []string{
	baselineJSON, inkanJWKS, baselineVerify, inkanUser, inkanAuth, inkanSignup,
	busyUser, busyAuth,
	pgUser, pgAuth, pgSignup, pg2User, pg2Signup,
}

type line struct {
	Name          string           `json:"name"`
	Requests      int64            `json:"requests"`
	Errors        int64            `json:"errors"`
	RPS           float64          `json:"rps"`
	P50ms         float64          `json:"p50_ms"`
	P99ms         float64          `json:"p99_ms"`
	PeakRSSMiB    *float64         `json:"peak_rss_mib"`
	ErrorStatuses map[string]int64 `json:"error_statuses"`

	// hashtime
	MedianMs    float64 `json:"median_ms"`
	Cores       int     `json:"cores"`
	CeilingRPS  float64 `json:"ceiling_rps"`
	ParallelRPS float64 `json:"parallel_rps"`
	Pool        int     `json:"pool"`
	PoolCeiling float64 `json:"pool_ceiling_rps"`
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("report: ")
	if len(os.Args) != 2 {
		log.Fatal("usage: report FILE.jsonl")
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	got := map[string]line{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			log.Fatalf("%s: %v", os.Args[1], err)
		}
		got[l.Name] = l
	}
	if err := sc.Err(); err != nil {
		log.Fatal(err)
	}

	fmt.Println("| scenario | requests | errors | rps | p50 ms | p99 ms | peak RSS MiB |")
	fmt.Println("|---|--:|--:|--:|--:|--:|--:|")
	for _, name := range order {
		l, ok := got[name]
		if !ok {
			continue
		}
		rss := "–"
		if l.PeakRSSMiB != nil {
			rss = strconv.FormatFloat(*l.PeakRSSMiB, 'f', 1, 64)
		}
		fmt.Printf("| %s | %d | %d | %.0f | %.2f | %.2f | %s |\n",
			name, l.Requests, l.Errors, l.RPS, l.P50ms, l.P99ms, rss)
	}
	h, haveHash := got[hashTime]
	if haveHash {
		fmt.Printf("| hashtime: one argon2id verify (median) | | | | %.2f | | |\n", h.MedianMs)
		if h.Pool > 0 {
			fmt.Printf("| login ceiling of the hash pool: %d slot(s) ÷ hash time | | | %.1f | | | |\n", h.Pool, h.PoolCeiling)
		}
		fmt.Printf("| %d cores ÷ hash time | | | %.1f | | | |\n", h.Cores, h.CeilingRPS)
		fmt.Printf("| argon2id verifications, %d at once (no HTTP) | | | %.1f | | | |\n", h.Cores, h.ParallelRPS)
	}
	for _, name := range order {
		if l, ok := got[name]; ok && len(l.ErrorStatuses) > 0 {
			fmt.Printf("\nErrors of %s: %s\n", name, statuses(l.ErrorStatuses))
		}
	}

	// rps returns the rps of a scenario, or the pool ceiling for hashTime;
	// ok is false when the scenario is missing or had errors.
	rps := func(name string) (v float64, present, ok bool) {
		l, present := got[name]
		if name == hashTime {
			return l.PoolCeiling, present && l.PoolCeiling > 0, present && l.PoolCeiling > 0
		}
		return l.RPS, present, present && l.Errors == 0
	}

	if _, ok := got[busyUser]; ok {
		fmt.Println()
		fmt.Println("GET /user while logins saturate the hash pool (both loads at once, same window):")
		fmt.Println()
		fmt.Println("| route | alone rps | at once rps | at once ÷ alone | at once p99 ms |")
		fmt.Println("|---|--:|--:|--:|--:|")
		for _, r := range [][2]string{{inkanUser, busyUser}, {inkanAuth, busyAuth}} {
			alone, busy := got[r[0]], got[r[1]]
			fmt.Printf("| %s | %.0f | %.0f | %s | %.2f |\n", strings.TrimPrefix(r[0], "inkan "),
				alone.RPS, busy.RPS, quotient(busy.RPS, alone.RPS), busy.P99ms)
		}
	}

	if _, ok := got[pgUser]; ok {
		fmt.Println()
		fmt.Println("SQLite, PostgreSQL, and two PostgreSQL replicas with the load spread over both (rps; p99 ms):")
		fmt.Println()
		fmt.Println("| route | SQLite | PostgreSQL | PostgreSQL ÷ SQLite | 2 replicas | 2 replicas ÷ 1 |")
		fmt.Println("|---|--:|--:|--:|--:|--:|")
		for _, r := range [][4]string{
			{"GET /user", inkanUser, pgUser, pg2User},
			{"POST /user/_authenticate", inkanAuth, pgAuth, ""},
			{"POST /user (registration)", inkanSignup, pgSignup, pg2Signup},
		} {
			sq, pg, two := got[r[1]], got[r[2]], got[r[3]]
			twoCell, twoRatio := "–", "–"
			if r[3] != "" {
				twoCell, twoRatio = cell(two), quotient(two.RPS, pg.RPS)
			}
			fmt.Printf("| %s | %s | %s | %s | %s | %s |\n", r[0],
				cell(sq), cell(pg), quotient(pg.RPS, sq.RPS), twoCell, twoRatio)
		}
	}

	fmt.Println()
	fmt.Println("| ratio | value | target | |")
	fmt.Println("|---|--:|--:|---|")
	ratio := func(label, num, den string, target float64) {
		n, present1, ok1 := rps(num)
		d, present2, ok2 := rps(den)
		if !present1 || !present2 {
			return
		}
		if d == 0 {
			fmt.Printf("| %s | – | ≥ %.2f | MISS |\n", label, target)
			return
		}
		v := n / d
		fmt.Printf("| %s | %.2f | ≥ %.2f | %s |\n", label, cut(v), target, verdict(v >= target && ok1 && ok2))
	}
	info := func(label, num, den string) {
		n, present1, _ := rps(num)
		d, present2, _ := rps(den)
		if present1 && present2 && d > 0 {
			fmt.Printf("| %s | %.2f | | |\n", label, cut(n/d))
		}
	}
	ratio("GET /user ÷ bare verify (rps)", inkanUser, baselineVerify, 0.7)
	ratio("JWKS ÷ bare JSON (rps)", inkanJWKS, baselineJSON, 0.8)
	ratio("_authenticate ÷ pool ceiling (hash-concurrency ÷ hash time)", inkanAuth, hashTime, 0.9)
	ratio("GET /user with logins ÷ GET /user alone (rps)", busyUser, inkanUser, 0.5)
	ratio("_authenticate with GET /user ÷ pool ceiling", busyAuth, hashTime, 0.9)
	ratio("PostgreSQL GET /user ÷ SQLite GET /user (rps)", pgUser, inkanUser, 0.8)
	info("POST /user ÷ pool ceiling (no target)", inkanSignup, hashTime)
	info("2 replicas ÷ 1, GET /user (no target: 2 shared cores)", pg2User, pgUser)
	info("2 replicas ÷ 1, POST /user (no target: 2 shared cores)", pg2Signup, pgSignup)
	if a, ok := got[inkanAuth]; ok && haveHash {
		if h.CeilingRPS > 0 {
			fmt.Printf("| _authenticate ÷ (%d cores ÷ hash time) (no target: the pool leaves a core free) | %.2f | | |\n", h.Cores, cut(a.RPS/h.CeilingRPS))
		}
		if h.ParallelRPS > 0 {
			fmt.Printf("| _authenticate ÷ parallel argon2id rate (no target: what the hardware allows) | %.2f | | |\n", cut(a.RPS/h.ParallelRPS))
		}
	}
	if l, ok := got[inkanUser]; ok && l.PeakRSSMiB != nil {
		fmt.Printf("| peak RSS during GET /user (MiB) | %.1f | ≤ 40 | %s |\n", *l.PeakRSSMiB, verdict(*l.PeakRSSMiB <= 40))
	}
}

// cell is a scenario's "rps; p99 ms", or – when it did not run.
func cell(l line) string {
	if l.Name == "" {
		return "–"
	}
	s := fmt.Sprintf("%.0f; %.2f", l.RPS, l.P99ms)
	if l.Errors > 0 {
		s += fmt.Sprintf(" (%d errors)", l.Errors)
	}
	return s
}

func quotient(n, d float64) string {
	if d == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", cut(n/d))
}

// cut truncates a ratio to two decimal places.
func cut(v float64) float64 { return math.Floor(v*100) / 100 }

// statuses renders error counts by status, in status order.
func statuses(m map[string]int64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s × %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISS"
}
