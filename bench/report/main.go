// Command report reads the JSON lines that bench/load.sh collects (from
// loadgen and hashtime) and prints them as Markdown tables: one row per
// scenario, then the ratios the project targets, each marked ok or MISS.
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
	"os"
	"strconv"
)

// Scenario names, as bench/load.sh passes them to loadgen -name.
const (
	baselineJSON   = "baseline /json"
	inkanJWKS      = "inkan GET /.well-known/jwks.json"
	baselineVerify = "baseline /verify"
	inkanUser      = "inkan GET /user"
	inkanAuth      = "inkan POST /user/_authenticate"
	hashTime       = "hashtime"
)

var order = []string{baselineJSON, inkanJWKS, baselineVerify, inkanUser, inkanAuth}

type line struct {
	Name       string   `json:"name"`
	Requests   int64    `json:"requests"`
	Errors     int64    `json:"errors"`
	RPS        float64  `json:"rps"`
	P50ms      float64  `json:"p50_ms"`
	P99ms      float64  `json:"p99_ms"`
	PeakRSSMiB *float64 `json:"peak_rss_mib"`

	// hashtime
	MedianMs    float64 `json:"median_ms"`
	Cores       int     `json:"cores"`
	CeilingRPS  float64 `json:"ceiling_rps"`
	ParallelRPS float64 `json:"parallel_rps"`
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
		fmt.Printf("| login ceiling: %d cores ÷ hash time | | | %.1f | | | |\n", h.Cores, h.CeilingRPS)
		fmt.Printf("| argon2id verifications, %d at once (no HTTP) | | | %.1f | | | |\n", h.Cores, h.ParallelRPS)
	}

	fmt.Println()
	fmt.Println("| ratio | value | target | |")
	fmt.Println("|---|--:|--:|---|")
	ratio := func(label, num, den string, target float64) {
		n, ok1 := got[num]
		d, ok2 := got[den]
		if !ok1 || !ok2 {
			return
		}
		dv := d.RPS
		if den == hashTime {
			dv = d.CeilingRPS
		}
		if dv == 0 {
			fmt.Printf("| %s | – | ≥ %.2f | MISS |\n", label, target)
			return
		}
		v := n.RPS / dv
		fmt.Printf("| %s | %.2f | ≥ %.2f | %s |\n", label, v, target, verdict(v >= target && n.Errors == 0))
	}
	ratio("GET /user ÷ bare verify (rps)", inkanUser, baselineVerify, 0.7)
	ratio("JWKS ÷ bare JSON (rps)", inkanJWKS, baselineJSON, 0.8)
	ratio("_authenticate ÷ (cores ÷ hash time)", inkanAuth, hashTime, 0.9)
	if a, ok := got[inkanAuth]; ok && haveHash && h.ParallelRPS > 0 {
		fmt.Printf("| _authenticate ÷ parallel argon2id rate (no target: what the hardware allows) | %.2f | | |\n", a.RPS/h.ParallelRPS)
	}
	if l, ok := got[inkanUser]; ok && l.PeakRSSMiB != nil {
		fmt.Printf("| peak RSS during GET /user (MiB) | %.1f | ≤ 40 | %s |\n", *l.PeakRSSMiB, verdict(*l.PeakRSSMiB <= 40))
	}
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISS"
}
