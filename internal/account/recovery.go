package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/store"
)

// Recovery codes stand in for a lost second factor: ten per user, made
// when their first second factor is enrolled and shown once, each of 80
// random bits written as 16 lower-case base32 characters in four groups
// ("abcd-efgh-ijkl-mnop"), stored as the hex SHA-256 of the code without
// its dashes, and used once.
const (
	recoveryCodeCount = 10
	recoveryCodeBytes = 10 // 80 bits: 16 base32 characters
	recoveryCodeLen   = 16
)

// recoveryEncoding writes recovery codes: RFC 4648 base32 in lower case,
// without padding (80 bits fill 16 characters exactly).
var recoveryEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewRecoveryCodes replaces the user's recovery codes with ten new ones,
// returned to be shown once; the user must have a second factor
// (ErrNoFactor otherwise). Whoever calls it has checked a current code
// (VerifyCode): the account page asks for one.
func (s *Service) NewRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	f, err := s.Factors(ctx, userID)
	if err != nil {
		return nil, err
	}
	if !f.Any() {
		return nil, ErrNoFactor
	}
	codes, err := s.newRecoveryCodes(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrUserGone
	}
	if err != nil {
		return nil, err
	}
	s.opts.Logger.InfoContext(ctx, "recovery codes replaced", "sub", userID)
	s.record(ctx, events.MFAEnrolled, userID, map[string]string{"factor": factorRecoveryCode})
	return codes, nil
}

// newRecoveryCodes makes ten recovery codes for user userID and stores
// their hashes in place of the codes they had (in one transaction). It
// returns the codes, formatted for showing.
func (s *Service) newRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	codes := make([]string, recoveryCodeCount)
	hashes := make([]string, recoveryCodeCount)
	for i := range codes {
		b := make([]byte, recoveryCodeBytes)
		rand.Read(b)
		raw := recoveryEncoding.EncodeToString(b)
		hashes[i] = recoveryCodeHash(raw)
		codes[i] = raw[0:4] + "-" + raw[4:8] + "-" + raw[8:12] + "-" + raw[12:16]
	}
	if err := s.opts.Store.ReplaceRecoveryCodes(ctx, userID, hashes, s.now()); err != nil {
		return nil, err
	}
	return codes, nil
}

// verifyRecoveryCode is VerifyCode of what is not a TOTP code: a recovery
// code, used up atomically (of parallel uses one passes).
func (s *Service) verifyRecoveryCode(ctx context.Context, userID, code string) ([]string, error) {
	counters, err := s.codeThrottle(ctx, userID, factorRecoveryCode)
	if err != nil {
		return nil, err
	}
	raw, ok := normaliseRecoveryCode(code)
	if !ok {
		s.codeFailed(ctx, userID, factorRecoveryCode, reasonWrongCode)
		return nil, ErrBadCode
	}
	err = s.opts.Store.UseRecoveryCode(ctx, userID, recoveryCodeHash(raw), s.now())
	if errors.Is(err, store.ErrNotFound) { // unknown, or used already
		s.codeFailed(ctx, userID, factorRecoveryCode, reasonWrongCode)
		return nil, ErrBadCode
	}
	if err != nil {
		return nil, err
	}
	s.resetCodeThrottle(ctx, userID, counters)
	s.opts.Logger.InfoContext(ctx, "recovery code used", "sub", userID)
	s.record(ctx, events.MFAUsed, userID, map[string]string{"factor": factorRecoveryCode})
	return []string{AMROTP}, nil
}

// normaliseRecoveryCode returns code as it is hashed: in lower case,
// without the dashes and spaces of its groups; ok is false when what is
// left cannot be a recovery code.
func normaliseRecoveryCode(code string) (string, bool) {
	if len(code) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, c := range []byte(code) {
		switch {
		case c == '-' || c == ' ' || c == '\t':
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		case c >= 'a' && c <= 'z', c >= '2' && c <= '7':
			b.WriteByte(c)
		default:
			return "", false
		}
	}
	if b.Len() != recoveryCodeLen {
		return "", false
	}
	return b.String(), true
}

// recoveryCodeHash is how a normalised recovery code is stored: its hex
// SHA-256. 80 random bits need no salt or slow hash.
func recoveryCodeHash(raw string) string {
	h := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(h[:])
}
