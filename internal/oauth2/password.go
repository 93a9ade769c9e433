package oauth2

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

// PasswordAuthenticator checks a user's password, with the login
// throttle, timing and hash pool of every password login. Its refusals
// (bad credentials, throttled, busy) are *Error values for the client;
// mapping the authenticator's own errors to them is the adapter's
// business, done once where the server wires it. Any other error is a
// fault.
type PasswordAuthenticator interface {
	Authenticate(ctx context.Context, email, password string, from netip.Addr) (store.User, error)
}

// PasswordGrant is RFC 6749 §4.3, the resource owner's password
// credentials, through Passwords.
type PasswordGrant struct {
	Passwords PasswordAuthenticator
	Issuer    *Issuer
	// MaxPasswordBytes, when above zero, refuses a longer password before
	// any hashing.
	MaxPasswordBytes int
	Now              func() time.Time // nil means time.Now
}

// Type is password.
func (*PasswordGrant) Type() string { return GrantPassword }

// Exchange checks req's username and password and mints the user's tokens:
// a new grant, signed in now.
func (g *PasswordGrant) Exchange(ctx context.Context, req *TokenRequest) (*TokenResponse, error) {
	c := req.Client
	if strings.TrimSpace(req.Username) == "" || req.Password == "" || g.MaxPasswordBytes > 0 && len(req.Password) > g.MaxPasswordBytes {
		return nil, Errorf(InvalidRequest, "username and password are required")
	}
	scope, err := ClientScope(c, req.Scope)
	if err != nil {
		return nil, err
	}
	u, err := g.Passwords.Authenticate(ctx, req.Username, req.Password, req.From)
	if err != nil {
		return nil, err
	}
	return g.Issuer.Issue(ctx, UserGrant{Client: c, User: u, Scope: scope, AuthTime: nowOf(g.Now), Family: NewFamily()})
}
