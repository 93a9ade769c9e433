package oauth2

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/events"
	"github.com/inkan-dev/inkan/internal/oidc"
	"github.com/inkan-dev/inkan/internal/store"
)

// RefreshPolicy is the one rule for whether a refresh token still counts,
// which the refresh grant and introspection share. A token counts for
// client c at now when it is c's, unexpired, its family is not revoked, its
// user is live for the sign-in it came from (Live), and it is not spent: it
// was never used, or first used at most ReuseWindow ago (Spent).
type RefreshPolicy struct {
	Users       Users
	Revocations *Revocations
	// ReuseWindow is how long after its first use a refresh token may be
	// presented again (parallel tabs, a lost response) and yield the same
	// successor; zero: never.
	ReuseWindow time.Duration
	// RequireMFA refuses the refresh tokens of sign-ins that passed no
	// second factor (--require-mfa), as a client's RequireMFA does its own.
	RequireMFA bool
}

// Live returns the user of rt when client c may still use it at now, all
// but whether it is spent, which the refresh grant learns only as it
// rotates the token. A refusal wraps ErrGrantEnded; any other error is a
// store error.
func (p *RefreshPolicy) Live(ctx context.Context, rt store.RefreshToken, c store.Client, now time.Time) (store.User, error) {
	if rt.ClientID != c.ID {
		return store.User{}, fmt.Errorf("%w: another client's", ErrGrantEnded)
	}
	if !now.Before(rt.ExpiresAt) {
		return store.User{}, fmt.Errorf("%w: expired", ErrGrantEnded)
	}
	if p.Revocations.FamilyRevoked(rt.Family) {
		return store.User{}, fmt.Errorf("%w: %w", ErrGrantEnded, ErrRevoked)
	}
	if (p.RequireMFA || c.RequireMFA) && oidc.ACRFor(rt.AMR) != oidc.ACRMultiFactor {
		return store.User{}, fmt.Errorf("%w: signed in without a second factor, which is now required", ErrGrantEnded)
	}
	return p.Users.Live(ctx, rt.UserID, rt.AuthTime)
}

// Spent reports whether rt, as stored before this presentation, was first
// used longer than ReuseWindow before now: presented again, it has leaked
// or its client lost track, and its family must go (RFC 9700 §4.14.2).
func (p *RefreshPolicy) Spent(rt store.RefreshToken, now time.Time) bool {
	return !rt.UsedAt.IsZero() && now.Sub(rt.UsedAt) > p.ReuseWindow
}

// Active returns the user of rt when it counts for client c at now: Live,
// and not Spent.
func (p *RefreshPolicy) Active(ctx context.Context, rt store.RefreshToken, c store.Client, now time.Time) (store.User, error) {
	u, err := p.Live(ctx, rt, c, now)
	if err != nil {
		return store.User{}, err
	}
	if p.Spent(rt, now) {
		return store.User{}, fmt.Errorf("%w: reused", ErrGrantEnded)
	}
	return u, nil
}

// RefreshGrant is RFC 6749 §6 with rotation: each refresh token is used
// once and replaced. Presented again within the policy's ReuseWindow of its
// first use, it yields the same successor; after that, the whole family is
// revoked (RFC 9700 §4.14.2).
type RefreshGrant struct {
	Store  store.GrantStore
	Issuer *Issuer
	Policy *RefreshPolicy
	Logger *slog.Logger     // required
	Now    func() time.Time // nil means time.Now
	// Events records a detected reuse (events.RefreshReuseDetected); nil
	// records nothing.
	Events events.Recorder
}

// Type is refresh_token.
func (*RefreshGrant) Type() string { return GrantRefreshToken }

// Exchange rotates req's refresh token and mints its successor's tokens.
func (g *RefreshGrant) Exchange(ctx context.Context, req *TokenRequest) (*TokenResponse, error) {
	c, raw := req.Client, req.RefreshToken
	invalid := Errorf(InvalidGrant, "the refresh token is invalid, expired or revoked")
	if raw == "" || len(raw) > 256 {
		return nil, Errorf(InvalidRequest, "refresh_token is required")
	}
	now := nowOf(g.Now)
	rt, err := g.Store.GetRefreshToken(ctx, HashToken(raw))
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid
	} else if err != nil {
		return nil, err
	}
	u, err := g.Policy.Live(ctx, rt, c, now)
	if errors.Is(err, ErrGrantEnded) {
		g.Logger.InfoContext(ctx, "refresh token refused", "client_id", c.ID, "sub", rt.UserID, "reason", err)
		return nil, invalid
	} else if err != nil {
		return nil, err
	}
	requested, err := ParseScope(req.Scope)
	if err != nil {
		return nil, err
	}
	granted := strings.Fields(rt.Scope)
	scope := granted
	if len(requested) > 0 { // a narrower scope (RFC 6749 §6), never a wider one
		for _, sc := range requested {
			if !slices.Contains(granted, sc) {
				return nil, Errorf(InvalidScope, "scope %s was not granted", sc)
			}
		}
		scope = requested
	}
	// Marking the token used and storing its successor is one transaction:
	// one durable write per rotation.
	succ := g.Issuer.Successor(raw)
	nowt := now.UTC().Truncate(time.Microsecond)
	before, err := g.Store.RotateRefreshToken(ctx, rt.Hash, nowt, g.Issuer.successorOf(rt, succ, u, nowt))
	if err != nil {
		return nil, err
	}
	if g.Policy.Spent(before, now) {
		// Revoke the whole family, the successor stored just now too.
		g.Policy.Revocations.RevokeFamily(ctx, rt.Family)
		g.Logger.WarnContext(ctx, "refresh token reused: family revoked", "client_id", c.ID, "sub", rt.UserID)
		events.Record(ctx, g.Events, events.Event{Type: events.RefreshReuseDetected, UserID: rt.UserID, ClientID: c.ID, Detail: map[string]string{"sid": rt.SessionID}})
		return nil, invalid
	}
	return g.Issuer.IssueRotated(UserGrant{
		Client: c, User: u, Scope: scope, AuthTime: rt.AuthTime, AMR: rt.AMR, SessionID: rt.SessionID, Family: rt.Family,
	}, succ)
}
