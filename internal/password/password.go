// Package password hashes passwords with argon2id and verifies argon2id and
// bcrypt hashes in constant time.
//
// New hashes are PHC strings (https://github.com/P-H-C/phc-string-format):
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// with salt and hash in base64 standard encoding without padding. bcrypt
// hashes ($2a$, $2b$, $2y$) are verified so that users imported from other
// systems can log in; Verify reports that they need a rehash.
//
// Encoded hashes are untrusted input (administrators import them), so they
// are parsed strictly and their cost is bounded, so that one imported hash
// cannot exhaust the server's memory or CPU:
//
//   - argon2id: only v=19; parameters exactly m,t,p in that order, in
//     decimal without sign or leading zeros; 8 ≤ m ≤ 262144 KiB and m ≥ 8*p;
//     1 ≤ t ≤ 16; 1 ≤ p ≤ 16; salt 8–64 bytes; hash 16–128 bytes; canonical
//     unpadded base64 (RFC 4648 §3.2).
//   - bcrypt: exactly 60 bytes, prefix $2a$, $2b$ or $2y$, two-digit cost
//     between 4 and 18, canonical salt and hash.
//
// Errors never contain a password or any part of an encoded hash.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/inkan-dev/inkan/internal/footprint"
)

// ErrMalformedHash is wrapped by every error that reports an encoded hash
// which cannot be parsed, uses an unsupported algorithm or version, or has
// parameters outside the accepted bounds.
var ErrMalformedHash = errors.New("malformed password hash")

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// Default is OWASP's minimum: m=19456 KiB, t=2, p=1, 16-byte salt, 32-byte key.
var Default = Params{
	Memory:  19456,
	Time:    2,
	Threads: 1,
	SaltLen: 16,
	KeyLen:  32,
}

// Bounds on accepted parameters. Hash enforces the same bounds on its own
// Params, so every hash it makes can be verified.
const (
	minMemory     = 8
	maxMemory     = 256 * 1024 // KiB
	minTime       = 1
	maxTime       = 16
	minThreads    = 1
	maxThreads    = 16
	minSaltLen    = 8
	maxSaltLen    = 64
	minKeyLen     = 16
	maxKeyLen     = 128
	minBcryptCost = 4
	maxBcryptCost = 18

	// maxBcryptPassword is the number of password bytes bcrypt uses.
	maxBcryptPassword = 72
)

// validate reports whether p is within the accepted bounds. Its messages
// name the parameter at fault and never contain secrets.
func (p Params) validate() error {
	switch {
	case p.Threads < minThreads || p.Threads > maxThreads:
		return fmt.Errorf("p=%d out of range [%d, %d]", p.Threads, minThreads, maxThreads)
	case p.Memory < minMemory || p.Memory > maxMemory:
		return fmt.Errorf("m=%d out of range [%d, %d]", p.Memory, minMemory, maxMemory)
	case p.Memory < 8*uint32(p.Threads):
		return fmt.Errorf("m=%d below 8*p=%d", p.Memory, 8*uint32(p.Threads))
	case p.Time < minTime || p.Time > maxTime:
		return fmt.Errorf("t=%d out of range [%d, %d]", p.Time, minTime, maxTime)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("salt length %d bytes out of range [%d, %d]", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("key length %d bytes out of range [%d, %d]", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// Hasher hashes new passwords with argon2id and verifies argon2id and bcrypt hashes.
// It runs at most `concurrency` hash computations at once (a semaphore; waits honour ctx), to bound memory and CPU.
//
// A Hasher must be created with New. It is safe for concurrent use.
type Hasher struct {
	params Params
	sem    chan struct{} // one element per running hash computation

	// idle, when positive, returns the hashes' memory to the operating
	// system once no hash has run for that long (see SetIdleRelease).
	idle       time.Duration
	mu         sync.Mutex
	idleTimer  *time.Timer
	maxKiB     uint32 // the largest argon2id memory a hash has used
	free       func() // footprint.Release; replaced in tests
	startLimit int64  // the memory limit when SetIdleRelease was called
	userLimit  int64  // the same, or 0 when it was unlimited
}

// New returns a Hasher that hashes with p and runs at most concurrency hash
// computations (argon2id or bcrypt) at once. A concurrency below 1 means 1.
//
// New does not validate p: Hash reports parameters outside the accepted
// bounds (see the package documentation) as an error.
func New(p Params, concurrency int) *Hasher {
	return &Hasher{
		params: p,
		sem:    make(chan struct{}, max(concurrency, 1)),
		free:   func() { _, _ = footprint.Release() }, // best effort: nothing to report to a login
	}
}

// SetIdleRelease makes h hand the memory of its hash computations back to
// the operating system once no computation has run for d: every argon2id
// hash allocates its m KiB afresh, and while a server is otherwise idle the
// garbage collector may not run for minutes, so a burst of logins would
// otherwise leave the process's RSS at its peak. The release also drops the
// executable's pages that the burst mapped (footprint.Release). Zero (the
// default) turns it off. Call it before h is used.
//
// While it is on, each hash is also followed by a garbage collection and a
// soft memory limit (see bound), so that RSS under a stream of logins stays
// at one hash's memory per slot above idle. An operator's GOMEMLIMIT, when
// tighter, is left alone.
func (h *Hasher) SetIdleRelease(d time.Duration) {
	h.idle = d
	h.startLimit = debug.SetMemoryLimit(-1)
	if h.startLimit != math.MaxInt64 {
		h.userLimit = h.startLimit
	}
}

// Dummy returns an argon2id hash with h's parameters of a password nobody
// knows: random salt and random output, so nothing is computed now, yet
// verifying any password against it costs what verifying a real hash of h
// costs. A login for an unknown account verifies against it, so that its
// timing matches a real account's.
func (h *Hasher) Dummy() (string, error) {
	if err := h.params.validate(); err != nil {
		return "", fmt.Errorf("password: invalid argon2id params: %w", err)
	}
	b := make([]byte, h.params.SaltLen+h.params.KeyLen)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("password: read dummy hash: %w", err)
	}
	return encodeArgon2id(h.params, b[:h.params.SaltLen], b[h.params.SaltLen:]), nil
}

// Params returns the argon2id parameters h hashes with.
func (h *Hasher) Params() Params {
	return h.params
}

// Hash returns the PHC string `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` (base64 standard encoding without padding, as the PHC spec says), with a fresh random salt from crypto/rand.
//
// Hash waits for a free computation slot; if ctx is done first it returns an
// error wrapping ctx.Err(). It returns an error if h's Params are outside
// the accepted bounds.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.params.validate(); err != nil {
		return "", fmt.Errorf("password: invalid argon2id params: %w", err)
	}
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: read salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.done(h.params.Memory)
	key := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.Memory, h.params.Threads, h.params.KeyLen)
	return encodeArgon2id(h.params, salt, key), nil
}

// Verify reports whether password matches encoded (argon2id PHC, or bcrypt $2a$/$2b$/$2y$), compared in constant time (crypto/subtle). rehash is true when ok and the hash is not argon2id with h's exact params (bcrypt always needs rehash). A malformed encoded hash returns an error wrapping ErrMalformedHash; a wrong password is (false, false, nil).
//
// bcrypt uses only the first 72 bytes of a password, so a longer password
// never matches a bcrypt hash: otherwise every password sharing those 72
// bytes would be accepted. The bcrypt computation still runs, so the time
// Verify takes does not depend on the password's length.
//
// encoded is parsed before Verify waits for a computation slot; if ctx is
// done first Verify returns an error wrapping ctx.Err().
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (ok, rehash bool, err error) {
	hash, err := parse(encoded)
	if err != nil {
		return false, false, err
	}
	if hash.bcrypt != nil {
		return h.verifyBcrypt(ctx, hash.bcrypt, password)
	}
	return h.verifyArgon2id(ctx, hash.argon2id, password)
}

func (h *Hasher) verifyArgon2id(ctx context.Context, a argon2idHash, password string) (ok, rehash bool, err error) {
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.done(a.params.Memory)
	p := a.params
	key := argon2.IDKey([]byte(password), a.salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	if subtle.ConstantTimeCompare(key, a.key) != 1 {
		return false, false, nil
	}
	return true, p != h.params, nil
}

func (h *Hasher) verifyBcrypt(ctx context.Context, hash []byte, password string) (ok, rehash bool, err error) {
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.done(0)
	// CompareHashAndPassword compares with crypto/subtle.
	err = bcrypt.CompareHashAndPassword(hash, []byte(password))
	switch {
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, false, nil
	case err != nil:
		// parseBcrypt accepts only hashes that x/crypto/bcrypt can use; its
		// error text is not wrapped because it may quote the hash.
		return false, false, malformed("bcrypt: rejected by x/crypto/bcrypt")
	case len(password) > maxBcryptPassword:
		// x/crypto/bcrypt ignored the bytes after the 72nd.
		return false, false, nil
	}
	return true, true, nil
}

// Check validates the form of an encoded hash without a password (used when importing a user with an existing hash): argon2id PHC parsed fully, or bcrypt via bcrypt.Cost. Returns an error wrapping ErrMalformedHash describing what is wrong.
func Check(encoded string) error {
	_, err := parse(encoded)
	return err
}

// acquire waits for a free computation slot or for ctx to be done.
func (h *Hasher) acquire(ctx context.Context) error {
	if h.sem == nil {
		return errors.New("password: Hasher not created with New")
	}
	// A done ctx wins even when a slot is free.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("password: wait for hash slot: %w", err)
	}
	select {
	case h.sem <- struct{}{}:
		h.stopIdle()
		return nil
	case <-ctx.Done():
		return fmt.Errorf("password: wait for hash slot: %w", ctx.Err())
	}
}

// done frees the slot taken by acquire; with the memory release on, it
// first collects the hash's memory and bounds what the runtime may keep, and
// when the slot was the last one in use it arms the idle release.
func (h *Hasher) done(memKiB uint32) {
	if h.idle <= 0 {
		<-h.sem
		return
	}
	h.bound(memKiB)
	<-h.sem
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.sem) > 0 {
		return
	}
	if h.idleTimer == nil {
		h.idleTimer = time.AfterFunc(h.idle, h.releaseIdle)
		return
	}
	h.idleTimer.Reset(h.idle)
}

// bound runs while the slot is still held. The m KiB the hash allocated are
// garbage now: runtime.GC collects them before the next hash allocates its
// own, and a soft memory limit of what the process holds without them, plus
// one hash's memory per slot and a margin, makes the runtime hand the freed
// pages back at once. Without both, at dozens of hashes a second the
// runtime keeps two or three hashes' memory resident (it retains freed
// pages up to its heap goal); with them RSS stays at one hash's memory per
// slot above idle. The collection costs a fraction of a millisecond against
// tens for the hash. The limit is lifted again when the pool goes idle.
func (h *Hasher) bound(memKiB uint32) {
	collect()
	h.mu.Lock()
	h.maxKiB = max(h.maxKiB, memKiB)
	perSlot := uint64(h.maxKiB) << 10
	h.mu.Unlock()
	samples := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
	metrics.Read(samples)
	held := samples[0].Value.Uint64() - samples[1].Value.Uint64() - samples[2].Value.Uint64()
	limit := held + uint64(cap(h.sem))*perSlot + memoryMargin
	if h.userLimit > 0 && uint64(h.userLimit) < limit {
		return // the operator's GOMEMLIMIT is tighter: leave it
	}
	setMemoryLimit(int64(limit))
}

// memoryMargin is the room above the bound for everything else that
// allocates between two hashes.
const memoryMargin = 2 << 20

// collect and setMemoryLimit are the runtime's, replaced in tests.
var (
	collect        = runtime.GC
	setMemoryLimit = func(n int64) { debug.SetMemoryLimit(n) }
)

// releaseIdle is what the idle timer runs: the memory back to the OS, and
// the memory limit as the process started with it.
func (h *Hasher) releaseIdle() {
	setMemoryLimit(h.startLimit)
	h.free()
}

// stopIdle disarms the idle release while hashes run.
func (h *Hasher) stopIdle() {
	if h.idle <= 0 {
		return
	}
	h.mu.Lock()
	if h.idleTimer != nil {
		h.idleTimer.Stop()
	}
	h.mu.Unlock()
}

// malformed returns an error wrapping ErrMalformedHash. Callers must not pass
// any part of the encoded hash or the password.
func malformed(format string, args ...any) error {
	return fmt.Errorf("password: %s: %w", fmt.Sprintf(format, args...), ErrMalformedHash)
}
