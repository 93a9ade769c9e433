package account

import (
	"context"
	"errors"
	"time"
)

// PasswordHasher hashes and verifies passwords (package password's Hasher,
// whose pool of hash slots takes the context).
type PasswordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
	Verify(ctx context.Context, encoded, password string) (ok, rehash bool, err error)
}

// errHashBusy means no password-hash slot came free within HashQueueWait.
var errHashBusy = errors.New("password hashing is saturated")

// queuedHasher bounds the wait for a hash slot: the hasher's pool takes the
// context, and a deadline that ends the wait (not the caller's context) is
// errHashBusy.
type queuedHasher struct {
	PasswordHasher
	wait time.Duration
}

func (q *queuedHasher) queue(ctx context.Context) (context.Context, context.CancelFunc) {
	if q.wait <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, q.wait)
}

func (q *queuedHasher) busy(ctx context.Context, err error) error {
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return errHashBusy
	}
	return err
}

func (q *queuedHasher) Hash(ctx context.Context, password string) (string, error) {
	qctx, cancel := q.queue(ctx)
	defer cancel()
	h, err := q.PasswordHasher.Hash(qctx, password)
	return h, q.busy(ctx, err)
}

func (q *queuedHasher) Verify(ctx context.Context, encoded, password string) (bool, bool, error) {
	qctx, cancel := q.queue(ctx)
	defer cancel()
	ok, rehash, err := q.PasswordHasher.Verify(qctx, encoded, password)
	return ok, rehash, q.busy(ctx, err)
}
