package oauth2

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/inkan-dev/inkan/internal/plaintext"
	"github.com/inkan-dev/inkan/internal/store"
)

// Defaults of a Registration.
var (
	DefaultGrants = []string{GrantAuthorizationCode, GrantRefreshToken}
	DefaultScopes = []string{"openid", "profile", "email", "offline_access"}
)

// MaxClientName is the longest client name, in characters.
const MaxClientName = 64

// Registration is what a client is registered with (RFC 7591 §2 names most
// of it): what inkan clients add is asked for, or what an import holds.
type Registration struct {
	Name                   string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	Grants                 []string // empty means DefaultGrants
	Scopes                 []string // empty means DefaultScopes
	Audience               []string // empty means the client id
	BackchannelLogoutURI   string
	Public, Trusted        bool
	RequireMFA             bool // its users pass a second factor
}

// Problem is one thing wrong with a Registration.
type Problem struct {
	// Field is the field at fault, named as the client's JSON names it:
	// name, redirect_uris, post_logout_redirect_uris, grant_types, scopes,
	// audience or backchannel_logout_uri.
	Field string
	// Value is the one value at fault, when HasValue (it may be "").
	Value    string
	HasValue bool
	Message  string
}

// flags are the flags of inkan clients add that set each Field.
var flags = map[string]string{
	"name":                      "--name",
	"redirect_uris":             "--redirect-uri",
	"post_logout_redirect_uris": "--post-logout-redirect-uri",
	"grant_types":               "--grant",
	"scopes":                    "--scope",
	"audience":                  "--audience",
	"backchannel_logout_uri":    "--backchannel-logout-uri",
}

// String says what is wrong, naming the field by its flag of inkan clients
// add, as the CLI and the import print it: `--redirect-uri "x": empty`.
func (p Problem) String() string {
	f := flags[p.Field]
	if p.HasValue {
		f += fmt.Sprintf(" %q", p.Value)
	}
	return f + ": " + p.Message
}

// Check returns the client r describes, with the defaults filled in
// (without its id, secret and times), and every problem of r, in the order
// of its fields.
func (r Registration) Check() (store.Client, []Problem) {
	var problems []Problem
	problem := func(field, format string, a ...any) {
		problems = append(problems, Problem{Field: field, Message: fmt.Sprintf(format, a...)})
	}
	valueProblem := func(field, value, msg string) {
		problems = append(problems, Problem{Field: field, Value: value, HasValue: true, Message: msg})
	}

	name := strings.TrimSpace(r.Name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		problem("name", "required")
	case n > MaxClientName:
		problem("name", "%d characters, at most %d allowed", n, MaxClientName)
	case !plaintext.Valid(name):
		problem("name", "control characters or invalid UTF-8")
	}

	grants := r.Grants
	if len(grants) == 0 {
		grants = slices.Clone(DefaultGrants)
	}
	for i, g := range grants {
		switch {
		case !slices.Contains(Grants, g):
			problem("grant_types", "%q is not a grant type (want one of %s)", g, strings.Join(Grants, ", "))
		case slices.Contains(grants[:i], g):
			problem("grant_types", "%q given twice", g)
		}
	}
	if r.Public && slices.Contains(grants, GrantClientCredentials) {
		problem("grant_types", "a public client cannot use client_credentials: it has no secret to authenticate with")
	}

	for i, u := range r.RedirectURIs {
		if p := checkRedirectURI(u); p != "" {
			valueProblem("redirect_uris", u, p)
		} else if slices.Contains(r.RedirectURIs[:i], u) {
			valueProblem("redirect_uris", u, "given twice")
		}
	}
	if len(r.RedirectURIs) == 0 && slices.Contains(grants, GrantAuthorizationCode) {
		problem("redirect_uris", "at least one is required for the authorization_code grant")
	}
	for i, u := range r.PostLogoutRedirectURIs {
		if p := checkRedirectURI(u); p != "" {
			valueProblem("post_logout_redirect_uris", u, p)
		} else if slices.Contains(r.PostLogoutRedirectURIs[:i], u) {
			valueProblem("post_logout_redirect_uris", u, "given twice")
		}
	}

	if r.BackchannelLogoutURI != "" {
		if p := checkBackchannelURI(r.BackchannelLogoutURI); p != "" {
			valueProblem("backchannel_logout_uri", r.BackchannelLogoutURI, p)
		}
	}

	scopes := r.Scopes
	if len(scopes) == 0 {
		scopes = slices.Clone(DefaultScopes)
	}
	if len(scopes) > MaxScopes || len(strings.Join(scopes, " ")) > MaxScopeBytes {
		problem("scopes", "at most %d scopes, of %d bytes in all, as a request may ask for", MaxScopes, MaxScopeBytes)
	}
	for i, sc := range scopes {
		if parts, err := ParseScope(sc); err != nil || len(parts) != 1 {
			valueProblem("scopes", sc, "not a scope token (RFC 6749 §3.3: printable ASCII without space, \" or \\)")
		} else if slices.Contains(scopes[:i], sc) {
			valueProblem("scopes", sc, "given twice")
		}
	}

	for _, a := range r.Audience {
		if a == "" {
			problem("audience", "empty value")
		} else if !plaintext.Valid(a) {
			valueProblem("audience", a, "control characters or invalid UTF-8")
		}
	}

	return store.Client{
		Name:                   name,
		Public:                 r.Public,
		RedirectURIs:           slices.Clone(r.RedirectURIs),
		PostLogoutRedirectURIs: slices.Clone(r.PostLogoutRedirectURIs),
		Grants:                 grants,
		Scopes:                 scopes,
		Audience:               slices.Clone(r.Audience),
		BackchannelLogoutURI:   r.BackchannelLogoutURI,
		Trusted:                r.Trusted,
		RequireMFA:             r.RequireMFA,
	}, problems
}

// checkBackchannelURI returns what is wrong with a back-channel logout
// URI, or "". inkan's servers POST to it, so it must be absolute, without
// a fragment (Back-Channel Logout 1.0 §2.2), and https, or http on a
// loopback address for a relying party on the same machine.
func checkBackchannelURI(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "not a URI"
	case !u.IsAbs():
		return "not an absolute URI"
	case strings.Contains(raw, "#"):
		return "has a fragment (Back-Channel Logout 1.0 §2.2)"
	case u.User != nil:
		return "has user info"
	case u.Scheme == "https":
		if u.Hostname() == "" {
			return "has no host"
		}
	case u.Scheme == "http":
		if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
			return "http is allowed only on a loopback address (127.0.0.1 or [::1]); use https"
		}
	default:
		return "scheme " + u.Scheme + " is neither https nor loopback http"
	}
	return ""
}

// checkRedirectURI returns what is wrong with a redirect URI, or "". It
// must be absolute without a fragment (RFC 6749 §3.1.2), and https, http
// on a loopback address (RFC 8252 §7.3), or a private-use scheme holding a
// dot (RFC 8252 §7.1). MatchRedirectURI is how a request's redirect_uri is
// then matched against it.
func checkRedirectURI(raw string) string {
	if raw == "" {
		return "empty"
	}
	if !plaintext.Valid(raw) {
		return "control characters or invalid UTF-8"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "not a URI"
	}
	if !u.IsAbs() {
		return "not an absolute URI (RFC 6749 §3.1.2)"
	}
	if strings.Contains(raw, "#") {
		return "has a fragment (RFC 6749 §3.1.2)"
	}
	if u.User != nil {
		return "has user info"
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" || u.Hostname() == "" {
			return "has no host"
		}
	case "http":
		host := u.Hostname()
		if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
			return "localhost is refused: it may resolve to another address or interface than the app listens on, and only IP literals match any port (RFC 8252 §8.3, §7.3); register http://127.0.0.1" + pathOf(u) + " or http://[::1]" + pathOf(u) + ", which match any port"
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return "http is allowed only on a loopback IP literal: 127.0.0.1 or [::1] (RFC 8252 §7.3); use https"
		}
	default:
		if !strings.Contains(u.Scheme, ".") {
			return "scheme " + u.Scheme + " is neither https, loopback http, nor a private-use scheme with a dot such as com.example.app (RFC 8252 §7.1)"
		}
	}
	return ""
}

// pathOf is the part of a URI after its host and port, for suggestions.
func pathOf(u *url.URL) string {
	v := *u
	v.Scheme, v.Host = "", ""
	return v.String()
}

// LoopbackPortWarning explains what registering a loopback redirect URI
// with a port does, or returns "": MatchRedirectURI lets any port match
// only a loopback URI registered without one, so a registered port pins the
// app to it. It names the flag of inkan clients add, which prints it.
func LoopbackPortWarning(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Port() == "" {
		return ""
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return ""
	}
	portless := *u
	portless.Host = u.Hostname()
	if strings.Contains(portless.Host, ":") {
		portless.Host = "[" + portless.Host + "]"
	}
	return fmt.Sprintf("--redirect-uri %s names port %s: it matches only that port; register %s so that the app may listen on any port (RFC 8252 §7.3)",
		raw, u.Port(), portless.String())
}

// NewClientID returns a random client id: 26 base32 characters (130 bits),
// lower-case and URL-safe.
func NewClientID() string { return strings.ToLower(rand.Text()) }

// ErrPublicClient refuses a secret to a public client (RFC 6749 §2.1: it
// cannot keep one).
var ErrPublicClient = errors.New("a public client has no secret")

// Register stores the checked client c (from Registration.Check) under a
// new id, created and updated at now, with a new secret unless it is
// public. The secret is returned once, to show; only its hash is stored.
func Register(ctx context.Context, st store.ClientStore, c store.Client, now time.Time) (store.Client, string, error) {
	var secret string
	if !c.Public {
		secret = NewSecret()
		c.SecretHash = HashSecret(secret)
	}
	c.CreatedAt, c.UpdatedAt = now, now
	c.ID = NewClientID()
	if err := st.CreateClient(ctx, c); err != nil {
		return store.Client{}, "", err
	}
	return c, secret, nil
}

// RotateSecret gives client id a new secret, updated at now, and returns
// it; the old one stops working at once. A public client is
// ErrPublicClient, a missing one store.ErrNotFound.
func RotateSecret(ctx context.Context, st store.ClientStore, id string, now time.Time) (string, error) {
	secret := NewSecret()
	_, err := st.UpdateClient(ctx, id, func(old store.Client) (store.Client, error) {
		if old.Public {
			return old, ErrPublicClient
		}
		old.SecretHash = HashSecret(secret)
		old.UpdatedAt = now
		return old, nil
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}
