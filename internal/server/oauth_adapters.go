package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/store"
)

// The adapters between package oauth2 and the server's own rules: each
// maps the server's errors to what oauth2 asks, in this one place.

// liveUsers is oauth2.Users over account.Service.Live: its refusals wrap
// oauth2.ErrGrantEnded.
type liveUsers struct{ accounts *account.Service }

func (l liveUsers) Live(ctx context.Context, userID string, issued time.Time) (store.User, error) {
	u, err := l.accounts.Live(ctx, userID, issued)
	if errors.Is(err, account.ErrUserGone) || errors.Is(err, account.ErrBeforeReset) {
		return store.User{}, fmt.Errorf("%w: %w", oauth2.ErrGrantEnded, err)
	}
	return u, err
}

// passwordLogins is oauth2.PasswordAuthenticator over the account
// service: its refusals become the password grant's answers (RFC 6749
// §5.2), the cause kept for the logs.
type passwordLogins struct{ accounts *account.Service }

func (p passwordLogins) Authenticate(ctx context.Context, email, password string, from netip.Addr) (store.User, error) {
	u, err := p.accounts.Authenticate(ctx, email, password, from)
	if err == nil {
		return u, nil
	}
	var te *account.ThrottledError
	switch {
	case errors.As(err, &te):
		return store.User{}, &oauth2.Error{Code: oauth2.InvalidGrant, Description: "too many attempts", Status: http.StatusTooManyRequests, RetryAfter: int(te.Seconds()), Cause: err}
	case errors.Is(err, account.ErrBusy):
		return store.User{}, &oauth2.Error{Code: oauth2.TemporarilyUnavailable, Description: "busy, retry shortly", RetryAfter: 1, Cause: err}
	case errors.Is(err, account.ErrBadCredentials):
		return store.User{}, &oauth2.Error{Code: oauth2.InvalidGrant, Description: "incorrect username or password", Cause: err}
	case errors.Is(err, account.ErrEmailNotVerified):
		return store.User{}, &oauth2.Error{Code: oauth2.InvalidGrant, Description: "the email address is not verified yet: open the link mailed to it", Cause: err}
	}
	return store.User{}, err
}

// accessTokens is also oauth2.AccessTokens: Verify over its verifier
// alone, Check over check.
var _ oauth2.AccessTokens = (*accessTokens)(nil)

func (a *accessTokens) Verify(ctx context.Context, raw string) (oauth2.AccessToken, error) {
	claims, err := a.verifier.Verify(ctx, raw)
	if err != nil {
		return oauth2.AccessToken{}, err
	}
	var extra accessExtra
	_ = claims.Decode(&extra) // a token without them is no client's to revoke
	return oauth2.AccessToken{ID: claims.ID, Subject: claims.Subject, Issuer: claims.Issuer, Audience: claims.Audience,
		ClientID: extra.ClientID, Scope: extra.Scope, Expiry: claims.Expiry, IssuedAt: claims.IssuedAt}, nil
}

func (a *accessTokens) Check(ctx context.Context, raw string) (oauth2.AccessToken, error) {
	claims, extra, u, err := a.check(ctx, raw)
	if err != nil {
		return oauth2.AccessToken{}, err
	}
	at := oauth2.AccessToken{ID: claims.ID, Subject: claims.Subject, Issuer: claims.Issuer, Audience: claims.Audience,
		ClientID: extra.ClientID, Scope: extra.Scope, Expiry: claims.Expiry, IssuedAt: claims.IssuedAt, User: u}
	if u != nil {
		at.Granted = grantedScope(claims, extra)
	}
	return at, nil
}
