package store

import (
	"context"
	"time"
)

// ThrottlePolicy is a budget of attempts with exponential backoff.
type ThrottlePolicy struct {
	Free   int           // attempts admitted before any delay
	Base   time.Duration // the first delay, doubled for each attempt after it
	Max    time.Duration // the longest delay
	Window time.Duration // a counter is forgotten this long after its first attempt (or once its block ends, if later)
}

// Delay is how long a key stays blocked after its count-th attempt.
func (p ThrottlePolicy) Delay(count int) time.Duration {
	if count < p.Free {
		return 0
	}
	d := p.Base
	for i := p.Free; i < count && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// ThrottleKey is one counter and the policy that governs it.
type ThrottleKey struct {
	Key    string // such as "login:acct:" and an HMAC of the email: short, of fixed size
	Policy ThrottlePolicy
}

// ThrottleState is a stored counter.
type ThrottleState struct {
	Count        int
	BlockedUntil time.Time
	ExpiresAt    time.Time
}

// Next applies one admitted attempt at now to s and returns the new state.
// The window is fixed: it starts with a counter's first attempt, so steady
// use (a busy office behind one address) is forgotten each window instead of
// adding up forever; a block that outlasts the window extends it.
func (s ThrottleState) Next(now time.Time, p ThrottlePolicy) ThrottleState {
	if !now.Before(s.ExpiresAt) {
		s = ThrottleState{ExpiresAt: now.Add(p.Window)}
	}
	s.Count++
	s.BlockedUntil = time.Unix(0, 0) // not blocked: parallel callers' clocks may be read out of order
	if d := p.Delay(s.Count); d > 0 {
		s.BlockedUntil = now.Add(d)
	}
	if s.ExpiresAt.Before(s.BlockedUntil) {
		s.ExpiresAt = s.BlockedUntil
	}
	s.BlockedUntil = s.BlockedUntil.UTC().Truncate(time.Microsecond)
	s.ExpiresAt = s.ExpiresAt.UTC().Truncate(time.Microsecond)
	return s
}

// ThrottleStore keeps attempt counters in the shared database, so that N
// replicas admit no more attempts than one.
type ThrottleStore interface {
	// Take admits one attempt on all keys or on none, atomically (parallel
	// callers cannot slip past the budget). When any key is blocked at now it
	// counts nothing and returns the longest remaining wait; otherwise it
	// counts the attempt on every key and returns 0.
	Take(ctx context.Context, now time.Time, keys ...ThrottleKey) (wait time.Duration, err error)
	// ResetThrottle forgets the given counters (after a successful login).
	ResetThrottle(ctx context.Context, keys ...string) error
	// GetThrottle returns a counter, or ErrNotFound.
	GetThrottle(ctx context.Context, key string) (ThrottleState, error)
	// DeleteExpiredThrottles deletes at most limit counters expired at now
	// and returns how many it deleted.
	DeleteExpiredThrottles(ctx context.Context, now time.Time, limit int) (int, error)
}
