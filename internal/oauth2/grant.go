package oauth2

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"net/url"
	"time"

	"github.com/inkan-dev/inkan/internal/store"
)

// TokenRequest is a request to the token endpoint (RFC 6749 §3.2), parsed
// once from its form, with the client it authenticated as. Grants read it
// and nothing else of the HTTP request.
type TokenRequest struct {
	GrantType string
	// Client is the authenticated client (RFC 6749 §3.2.1).
	Client store.Client

	// authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.5)
	Code         string
	RedirectURI  string
	CodeVerifier string
	// refresh_token (RFC 6749 §6)
	RefreshToken string
	// Scope is the scope parameter as sent (RFC 6749 §3.3), of the
	// refresh_token, client_credentials and password grants.
	Scope string
	// password (RFC 6749 §4.3.2)
	Username string
	Password string

	// From is the client's address, for the login throttle.
	From netip.Addr
}

// ParseTokenRequest reads a token request from its form, which the caller
// has checked (one value a parameter, text rules) and whose client it has
// authenticated as c; from is the client's address.
func ParseTokenRequest(form url.Values, c store.Client, from netip.Addr) *TokenRequest {
	return &TokenRequest{
		GrantType:    form.Get("grant_type"),
		Client:       c,
		Code:         form.Get("code"),
		RedirectURI:  form.Get("redirect_uri"),
		CodeVerifier: form.Get("code_verifier"),
		RefreshToken: form.Get("refresh_token"),
		Scope:        form.Get("scope"),
		Username:     form.Get("username"),
		Password:     form.Get("password"),
		From:         from,
	}
}

// LogValue names the grant and the client, and none of the codes, tokens
// and passwords the request holds.
func (r TokenRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.String("grant_type", r.GrantType), slog.String("client_id", r.Client.ID))
}

// TokenResponse is RFC 6749 §5.1's successful response, with the ID token
// of OpenID Connect Core §3.1.3.3.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

// LogValue keeps the tokens out of logs.
func (r TokenResponse) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Grant is one grant type of the token endpoint. Exchange returns the
// tokens, or an *Error for the client (RFC 6749 §5.2), or any other error
// for a fault of the server's. It is called only for a client registered
// for Type (TokenEndpoint checks).
type Grant interface {
	Type() string
	Exchange(ctx context.Context, req *TokenRequest) (*TokenResponse, error)
}

// TokenEndpoint routes token requests to their grants (RFC 6749 §3.2).
type TokenEndpoint struct {
	grants map[string]Grant
}

// NewTokenEndpoint serves grants, one of each type.
func NewTokenEndpoint(grants ...Grant) *TokenEndpoint {
	t := &TokenEndpoint{grants: make(map[string]Grant, len(grants))}
	for _, g := range grants {
		t.grants[g.Type()] = g
	}
	return t
}

// Exchange answers req with the grant of its grant_type: unsupported_grant_type
// when there is none, unauthorized_client when the client is not registered
// for it (RFC 6749 §5.2).
func (t *TokenEndpoint) Exchange(ctx context.Context, req *TokenRequest) (*TokenResponse, error) {
	g, ok := t.grants[req.GrantType]
	if !ok {
		return nil, Errorf(UnsupportedGrantType, "grant_type %q is not supported", req.GrantType)
	}
	if !Allows(req.Client, req.GrantType) {
		return nil, Errorf(UnauthorizedClient, "the client may not use the %s grant", req.GrantType)
	}
	return g.Exchange(ctx, req)
}

// ErrGrantEnded wraps why a code or refresh token no longer counts: its
// user is gone or disabled, it predates their credentials, it expired, it
// is another client's, or its grant was revoked.
var ErrGrantEnded = errors.New("grant ended")

// ErrRevoked is why a revoked token or grant no longer counts.
var ErrRevoked = errors.New("token revoked")

// Users is how grants learn whether what was issued to a user still
// counts: Live returns the user when what was issued at issued (a sign-in
// time) still does. A refusal (the user is gone or disabled, or issued is
// before their credentials changed) wraps ErrGrantEnded; any other error is
// a fault.
type Users interface {
	Live(ctx context.Context, userID string, issued time.Time) (store.User, error)
}

// nowOf is now by clock, or time.Now when clock is nil: every component
// here takes its clock as a Now field.
func nowOf(clock func() time.Time) time.Time {
	if clock == nil {
		return time.Now()
	}
	return clock()
}
