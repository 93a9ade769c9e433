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
	// SecondFactor reports whether user u, signing in for client c, must
	// pass a second factor: the password grant cannot ask for one, so it
	// refuses such a user (after the password checked out, so that the
	// answer tells nothing to whoever does not know it). Nil: none must.
	SecondFactor func(ctx context.Context, u store.User, c store.Client) (bool, error)
	Now          func() time.Time // nil means time.Now
}

// ErrSecondFactorRequired is the password grant's refusal of a user who
// must pass a second factor.
var ErrSecondFactorRequired = Errorf(InvalidGrant, "this user signs in with a second factor, which the password grant cannot ask for: use the authorization code flow")

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
	if g.SecondFactor != nil {
		need, err := g.SecondFactor(ctx, u, c)
		if err != nil {
			return nil, err
		}
		if need {
			return nil, ErrSecondFactorRequired
		}
	}
	return g.Issuer.Issue(ctx, UserGrant{Client: c, User: u, Scope: scope, AuthTime: nowOf(g.Now), AMR: []string{"pwd"}, Family: NewFamily()})
}
