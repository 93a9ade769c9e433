package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of RemoteKeySetOptions.
const (
	// DefaultRefreshInterval is how long a fetched key set stays fresh when
	// the response has no Cache-Control max-age.
	DefaultRefreshInterval = 5 * time.Minute
	// DefaultMinRefreshInterval is the least time between two fetches that
	// tokens cause: one with an unknown kid, or one arriving while the key
	// set is stale.
	DefaultMinRefreshInterval = time.Minute
)

const (
	// defaultHTTPTimeout bounds a whole fetch with the default HTTP client.
	defaultHTTPTimeout = 10 * time.Second
	// maxJWKSBytes bounds the body of a JWKS response.
	maxJWKSBytes = 1 << 20
	// minFreshness and maxFreshness clamp Cache-Control max-age.
	minFreshness = time.Second
	maxFreshness = 24 * time.Hour
	// minRSABits is the smallest RSA modulus kept (RFC 7518 §3.3 and §3.5).
	minRSABits = 2048
)

// RemoteKeySetOptions configures a RemoteKeySet. The zero value, or nil,
// means every default.
type RemoteKeySetOptions struct {
	// HTTPClient fetches the JWKS; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// RefreshInterval is how long a fetched key set counts as fresh when the
	// response carries no Cache-Control max-age; zero means
	// DefaultRefreshInterval. Freshness, from max-age or from here, is
	// clamped to between 1 s and 24 h.
	RefreshInterval time.Duration
	// MinRefreshInterval is the least time between two fetches caused by
	// tokens: a kid the key set lacks, or a key set past its freshness.
	// Tokens with random kids therefore cost the issuer at most one request
	// per interval. Zero means DefaultMinRefreshInterval. The scheduled
	// background refresh does not wait for it.
	MinRefreshInterval time.Duration
	// Now is the clock that freshness and MinRefreshInterval are measured
	// with; nil means time.Now.
	Now func() time.Time
}

// RemoteKeySet is a KeySet that fetches a JWKS (RFC 7517 §5) over HTTP and
// caches it. It is safe for concurrent use.
//
// The first fetch happens on the first call to Key, not in NewRemoteKeySet,
// so a resource server may start before its issuer. The key set is cached for
// the response's Cache-Control max-age (RefreshInterval when absent, clamped
// to [1 s, 24 h]) and refreshed in the background at 80% of that time. A kid
// not in the cache causes one immediate fetch, shared by every caller that
// waits for it, at most once per MinRefreshInterval. When a fetch fails, or
// returns a body that is not a usable JWKS, the last good key set keeps being
// served (stale-if-error) and the background refresh retries after 1 s,
// doubling up to MinRefreshInterval. Fetch errors are not logged; Key wraps
// them, with ErrUnknownKey, in the error for a kid it cannot find.
//
// Only the keys that [ParseJWKS] keeps are used, by the same rules, and a
// JWKS with no usable key counts as a failed fetch.
type RemoteKeySet struct {
	url        string
	client     *http.Client
	ttl        time.Duration // freshness without max-age
	minRefresh time.Duration
	now        func() time.Time
	ctx        context.Context // ends the refresh loop and aborts fetches

	snap    atomic.Pointer[keySnapshot] // the last good key set; nil before one
	changed chan struct{}               // a fetch finished (capacity 1)
	stopped chan struct{}               // closed when the refresh loop returns

	// Test hooks, set before the refresh loop starts.
	newTimer func(time.Duration) (<-chan time.Time, func() bool)
	onWait   func() // called when Key starts waiting for a fetch

	mu          sync.Mutex
	flight      *flight   // the fetch under way, nil when none
	lastAttempt time.Time // when the last fetch started
	failures    int       // failed fetches since the last good one
	lastErr     error     // of the last fetch; nil after a good one
	gen         uint64    // fetches finished
}

// keySnapshot is one fetched key set; it is never changed once published.
type keySnapshot struct {
	keys      map[string]Key
	expiry    time.Time     // fresh before then
	freshness time.Duration // the clamped max-age it was fetched with
}

// flight is one fetch, awaited by every caller that needs it.
type flight struct {
	done chan struct{} // closed when the fetch has finished
	err  error         // set before done is closed
}

var _ KeySet = (*RemoteKeySet)(nil)

// NewRemoteKeySet returns a RemoteKeySet for the JWKS at jwksURL, an http or
// https URL; opts may be nil.
//
// It does no I/O; it starts one goroutine, for the background refresh, that
// returns when ctx ends. After that the key set serves the keys it holds and
// fetches no more, so cancel ctx only when the key set is no longer needed.
func NewRemoteKeySet(ctx context.Context, jwksURL string, opts *RemoteKeySetOptions) (*RemoteKeySet, error) {
	r, err := newRemoteKeySet(ctx, jwksURL, opts)
	if err != nil {
		return nil, err
	}
	go r.run()
	return r, nil
}

// newRemoteKeySet checks the arguments and builds the key set without
// starting its refresh loop, so that tests can set the hooks first.
func newRemoteKeySet(ctx context.Context, jwksURL string, opts *RemoteKeySetOptions) (*RemoteKeySet, error) {
	u, err := url.Parse(jwksURL)
	if err != nil {
		return nil, fmt.Errorf("verify: JWKS URL: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("verify: JWKS URL %q is not an absolute http or https URL", jwksURL)
	}
	var o RemoteKeySetOptions
	if opts != nil {
		o = *opts
	}
	if o.RefreshInterval < 0 || o.MinRefreshInterval < 0 {
		return nil, errors.New("verify: RefreshInterval and MinRefreshInterval must not be negative")
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if o.RefreshInterval == 0 {
		o.RefreshInterval = DefaultRefreshInterval
	}
	if o.MinRefreshInterval == 0 {
		o.MinRefreshInterval = DefaultMinRefreshInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &RemoteKeySet{
		url:        jwksURL,
		client:     o.HTTPClient,
		ttl:        clampFreshness(o.RefreshInterval),
		minRefresh: o.MinRefreshInterval,
		now:        o.Now,
		ctx:        ctx,
		changed:    make(chan struct{}, 1),
		stopped:    make(chan struct{}),
		newTimer: func(d time.Duration) (<-chan time.Time, func() bool) {
			t := time.NewTimer(d)
			return t.C, t.Stop
		},
	}, nil
}

// Key implements KeySet. A kid in the cached key set is answered at once,
// even when the set is stale (a refresh then starts in the background, if
// MinRefreshInterval allows). Any other kid waits for a fetch: the one under
// way, or a new one if MinRefreshInterval allows; ctx bounds the wait but
// not the fetch, which other callers may share. The error wraps
// ErrUnknownKey, and the fetch error when there was one.
func (r *RemoteKeySet) Key(ctx context.Context, kid string) (Key, error) {
	if s := r.snap.Load(); s != nil {
		if k, ok := s.keys[kid]; ok {
			if !r.now().Before(s.expiry) {
				r.refreshStale()
			}
			return k, nil
		}
	}
	if kid == "" {
		return Key{}, fmt.Errorf("%w: empty kid", ErrUnknownKey)
	}

	r.mu.Lock()
	f := r.flight
	if f == nil && r.mayFetchLocked() {
		f = r.startLocked()
	}
	lastErr := r.lastErr
	r.mu.Unlock()
	if f == nil {
		if err := r.ctx.Err(); err != nil {
			return Key{}, fmt.Errorf("%w: kid %q (key set stopped: %w)", ErrUnknownKey, kid, err)
		}
		if lastErr != nil {
			return Key{}, fmt.Errorf("%w: kid %q (last refresh: %w)", ErrUnknownKey, kid, lastErr)
		}
		return Key{}, fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
	}

	if r.onWait != nil {
		r.onWait()
	}
	select {
	case <-f.done:
	case <-ctx.Done():
		return Key{}, fmt.Errorf("%w: kid %q (waiting for the key set: %w)", ErrUnknownKey, kid, context.Cause(ctx))
	}
	if s := r.snap.Load(); s != nil {
		if k, ok := s.keys[kid]; ok {
			return k, nil
		}
	}
	if f.err != nil {
		return Key{}, fmt.Errorf("%w: kid %q (refresh: %w)", ErrUnknownKey, kid, f.err)
	}
	return Key{}, fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
}

// refreshStale starts a fetch without waiting for it, if none is under way
// and MinRefreshInterval allows.
func (r *RemoteKeySet) refreshStale() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.flight == nil && r.mayFetchLocked() {
		r.startLocked()
	}
}

// mayFetchLocked reports whether a token may cause a fetch now.
func (r *RemoteKeySet) mayFetchLocked() bool {
	if r.ctx.Err() != nil {
		return false
	}
	return r.lastAttempt.IsZero() || r.now().Sub(r.lastAttempt) >= r.minRefresh
}

// startLocked starts a fetch in its own goroutine, so that no caller's
// context can abort what others wait for; r.ctx and the HTTP client's
// timeout bound it.
func (r *RemoteKeySet) startLocked() *flight {
	f := &flight{done: make(chan struct{})}
	r.flight = f
	started := r.now()
	r.lastAttempt = started
	go r.fetch(f, started)
	return f
}

func (r *RemoteKeySet) fetch(f *flight, started time.Time) {
	keys, freshness, err := r.get()
	r.mu.Lock()
	if err == nil {
		r.snap.Store(&keySnapshot{keys: keys, expiry: started.Add(freshness), freshness: freshness})
		r.failures = 0
	} else {
		r.failures++
	}
	r.lastErr = err
	r.gen++
	r.flight = nil
	f.err = err
	r.mu.Unlock()
	close(f.done)
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// run is the background refresh: it fetches at 80% of the key set's
// freshness, and after a failure retries with a doubling delay. It waits
// for the first fetch, which Key starts, and returns when r.ctx ends.
func (r *RemoteKeySet) run() {
	defer close(r.stopped)
	for {
		r.mu.Lock()
		d, ok := r.nextLocked()
		gen := r.gen
		r.mu.Unlock()
		var fire <-chan time.Time // nil (never ready) when nothing is scheduled
		stop := func() bool { return false }
		if ok {
			fire, stop = r.newTimer(d)
		}
	wait:
		for {
			select {
			case <-r.ctx.Done():
				stop()
				return
			case <-r.changed:
				r.mu.Lock()
				moved := r.gen != gen
				r.mu.Unlock()
				if moved { // a fetch finished since d was computed
					stop()
					break wait
				}
			case <-fire:
				r.mu.Lock()
				f := r.flight
				if f == nil && r.ctx.Err() == nil {
					f = r.startLocked()
				}
				r.mu.Unlock()
				if f == nil {
					break
				}
				select {
				case <-f.done:
				case <-r.ctx.Done():
					return
				}
				break wait
			}
		}
	}
}

// nextLocked returns the delay until the next background fetch, or false
// when there is nothing to schedule: no fetch yet, or one under way.
func (r *RemoteKeySet) nextLocked() (time.Duration, bool) {
	if r.flight != nil || r.lastAttempt.IsZero() {
		return 0, false
	}
	if r.failures > 0 {
		return backoff(r.failures, r.minRefresh), true
	}
	return r.snap.Load().freshness * 4 / 5, true
}

// backoff is the delay after n consecutive failures: 1 s, doubling, up to
// limit (but at least 1 s).
func backoff(n int, limit time.Duration) time.Duration {
	d := time.Second << min(n-1, 20)
	return max(min(d, limit), time.Second)
}

// get fetches and parses the JWKS; freshness is the clamped max-age.
func (r *RemoteKeySet) get() (keys map[string]Key, freshness time.Duration, err error) {
	req, err := http.NewRequestWithContext(r.ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("verify: fetch JWKS: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("verify: fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096)) // lets the connection be reused; best effort
		return nil, 0, fmt.Errorf("verify: fetch JWKS %s: status %s", r.url, resp.Status)
	}
	if !isJSON(resp.Header.Get("Content-Type")) {
		return nil, 0, fmt.Errorf("verify: fetch JWKS %s: content type %q is not JSON", r.url, resp.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("verify: fetch JWKS %s: %w", r.url, err)
	}
	if len(body) > maxJWKSBytes {
		return nil, 0, fmt.Errorf("verify: fetch JWKS %s: body larger than %d bytes", r.url, maxJWKSBytes)
	}
	keys, err = parseJWKS(body)
	if err != nil {
		return nil, 0, fmt.Errorf("verify: fetch JWKS %s: %w", r.url, err)
	}
	return keys, freshnessOf(resp.Header, r.ttl), nil
}

// isJSON reports whether a Content-Type is application/json or a +json type
// such as application/jwk-set+json (RFC 7517 §8.5.1).
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// freshnessOf returns how long a response stays fresh (RFC 9111 §4.2.1):
// max-age less Age, zero for no-cache or no-store, def without max-age;
// clamped to [1 s, 24 h].
func freshnessOf(h http.Header, def time.Duration) time.Duration {
	var (
		maxAge  int64 = -1
		noCache bool
	)
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "max-age":
				if n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(val), `"`), 10, 64); err == nil && n >= 0 {
					maxAge = n
				}
			case "no-cache", "no-store":
				noCache = true
			}
		}
	}
	switch {
	case noCache:
		return clampFreshness(0)
	case maxAge < 0:
		return clampFreshness(def)
	}
	if age, err := strconv.ParseInt(strings.TrimSpace(h.Get("Age")), 10, 64); err == nil && age > 0 {
		maxAge = max(maxAge-age, 0)
	}
	if maxAge > int64(maxFreshness/time.Second) {
		return maxFreshness
	}
	return clampFreshness(time.Duration(maxAge) * time.Second)
}

func clampFreshness(d time.Duration) time.Duration {
	return min(max(d, minFreshness), maxFreshness)
}
