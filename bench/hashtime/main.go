// Command hashtime measures one argon2id password verification with inkan's
// real parameters (password.Default) and derives the login ceiling of this
// machine: runtime.NumCPU() hashes in parallel, each taking the median time,
// so at most NumCPU ÷ median logins per second. It prints one line of JSON:
//
//	{"name":"hashtime","runs":…,"median_ms":…,"min_ms":…,"cores":…,"gomaxprocs":…,"ceiling_rps":…,"parallel_rps":…,"pool":…,"pool_ceiling_rps":…}
//
// pool is the server's --hash-concurrency (-pool), the hashes it computes at
// once; pool_ceiling_rps = pool ÷ median is the most logins (or
// registrations) a second that one inkan process can serve with that pool.
//
// parallel_rps is what NumCPU goroutines verifying at once really reach: on a
// small VM two argon2id hashes contend for caches and memory bandwidth, so it
// is below ceiling_rps, and no server can log in faster than it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/inkan-dev/inkan/internal/password"
)

type result struct {
	Name        string  `json:"name"`
	Runs        int     `json:"runs"`
	MedianMs    float64 `json:"median_ms"`
	MinMs       float64 `json:"min_ms"`
	Cores       int     `json:"cores"`
	GOMAXPROCS  int     `json:"gomaxprocs"`
	CeilingRPS  float64 `json:"ceiling_rps"`
	ParallelRPS float64 `json:"parallel_rps"`
	Pool        int     `json:"pool"`
	PoolCeiling float64 `json:"pool_ceiling_rps"`
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("hashtime: ")
	n := flag.Int("n", 21, "number of serial Verify calls to time (1-1000)")
	pool := flag.Int("pool", max(1, runtime.NumCPU()-1), "hash slots of the server (inkan serve --hash-concurrency, 1-256)")
	flag.Parse()
	if *n < 1 || *n > 1000 {
		log.Fatalf("-n %d out of range [1, 1000]", *n)
	}
	if *pool < 1 || *pool > 256 {
		log.Fatalf("-pool %d out of range [1, 256]", *pool)
	}

	ctx := context.Background()
	const pw = "correct horse battery staple"
	h := password.New(password.Default, 1)
	encoded, err := h.Hash(ctx, pw)
	if err != nil {
		log.Fatal(err)
	}
	times := make([]time.Duration, *n)
	for i := range times {
		t0 := time.Now()
		ok, _, err := h.Verify(ctx, encoded, pw)
		times[i] = time.Since(t0)
		if err != nil || !ok {
			log.Fatalf("Verify = %v, %v, want true, nil", ok, err)
		}
	}
	slices.Sort(times)
	median := times[len(times)/2]
	if len(times)%2 == 0 {
		median = (times[len(times)/2-1] + times[len(times)/2]) / 2
	}
	cores := runtime.NumCPU()
	parallel := parallelRate(ctx, cores, *n, encoded, pw)
	out, err := json.Marshal(result{
		Name:        "hashtime",
		Runs:        *n,
		MedianMs:    round(ms(median), 3),
		MinMs:       round(ms(times[0]), 3),
		Cores:       cores,
		GOMAXPROCS:  runtime.GOMAXPROCS(0),
		CeilingRPS:  round(float64(cores)/median.Seconds(), 1),
		ParallelRPS: round(parallel, 1),
		Pool:        *pool,
		PoolCeiling: round(float64(*pool)/median.Seconds(), 1),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out))
}

// parallelRate runs workers goroutines, each verifying n times, and returns
// verifications per second over the whole run.
func parallelRate(ctx context.Context, workers, n int, encoded, pw string) float64 {
	h := password.New(password.Default, workers)
	var wg sync.WaitGroup
	t0 := time.Now()
	for range workers {
		wg.Go(func() {
			for range n {
				if ok, _, err := h.Verify(ctx, encoded, pw); err != nil || !ok {
					log.Fatalf("Verify = %v, %v, want true, nil", ok, err)
				}
			}
		})
	}
	wg.Wait()
	return float64(workers*n) / time.Since(t0).Seconds()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func round(v float64, places int) float64 {
	p := math.Pow10(places)
	return math.Round(v*p) / p
}
