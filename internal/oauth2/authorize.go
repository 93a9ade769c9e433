package oauth2

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/oidc"
	"github.com/inkan-dev/inkan/internal/plaintext"
	"github.com/inkan-dev/inkan/internal/store"
)

// What the authorization endpoint takes (RFC 6749 §3.1, OpenID Connect Core
// §3.1.2.1), as the discovery document lists it.
const (
	ResponseTypeCode  = "code"  // the authorization code flow, the only one
	ResponseModeQuery = "query" // the response in the redirect URI's query
	CodeChallengeS256 = "S256"  // PKCE's method (RFC 7636 §4.2); plain is refused
	PromptNone        = "none"
	PromptLogin       = "login"
	PromptConsent     = "consent"
)

// Bounds of what an authorization request has stored or echoed back.
const (
	maxNonceBytes = 512
	maxStateBytes = 2048
	maxACRValues  = 8
	maxACRBytes   = 128
	maxMaxAge     = 1 << 31 // seconds: some 68 years
)

// The values the authorization endpoint supports, for discovery.
var (
	ResponseTypes        = []string{ResponseTypeCode}
	ResponseModes        = []string{ResponseModeQuery}
	CodeChallengeMethods = []string{CodeChallengeS256}
	Prompts              = []string{PromptNone, PromptLogin, PromptConsent}
)

// CodeTTL is an authorization code's lifetime: RFC 6749 §4.1.2 says ten
// minutes at most; a client exchanges its code at once.
const CodeTTL = 60 * time.Second

// AuthorizeRequest is a validated authorization request (RFC 6749 §4.1.1,
// OpenID Connect Core §3.1.2.1).
type AuthorizeRequest struct {
	Client      store.Client
	RedirectURI string   // the request's redirect_uri, which matches one registered (MatchRedirectURI)
	Scope       []string // the scopes granted (GrantScope)
	State       string
	Nonce       string
	Challenge   string // the PKCE S256 code_challenge, or ""
	Prompt      string // "", PromptNone, PromptLogin or PromptConsent
	// MaxAge is max_age (Core §3.1.2.1): the longest time in seconds since
	// the user last authenticated that the client accepts; -1 when absent.
	MaxAge int64
	// ACRValues are the acr_values asked for, in order of preference.
	ACRValues []string
	// Params are the request's parameters, carried through the sign-in and
	// consent pages.
	Params url.Values
}

// AuthorizeError is a problem of an authorization request. When Redirect is
// true, the client and redirect URI are valid and the error goes back to
// the client at AuthorizeRequest.RedirectURI (RFC 6749 §4.1.2.1); when
// false, the client or redirect URI is itself invalid, and the error is
// shown to the user, never redirected.
type AuthorizeError struct {
	Err      *Error
	Redirect bool
}

func (e *AuthorizeError) Error() string { return e.Err.Error() }

// Unwrap returns the OAuth error.
func (e *AuthorizeError) Unwrap() error { return e.Err }

// AuthorizeStore is what the authorization endpoint needs of the store.
type AuthorizeStore interface {
	GetClient(ctx context.Context, id string) (store.Client, error)
	GetConsent(ctx context.Context, userID, clientID string) (store.Consent, error)
	PutConsent(ctx context.Context, c store.Consent) error
	CreateAuthCode(ctx context.Context, c store.AuthCode) error
}

// Authorizer is the authorization endpoint without HTTP: it parses
// requests, decides whether the user must consent, remembers consent, and
// issues codes. The caller does the cookies, pages and redirects.
type Authorizer struct {
	Store AuthorizeStore
	Now   func() time.Time // nil means time.Now
}

func (a *Authorizer) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// ParseRequest validates the parameters q of an authorization request. Its
// errors are *AuthorizeError; with one that redirects, the request is
// returned too, with what it takes to redirect (RedirectURI and State; a
// State that is not text is dropped, not echoed back).
func (a *Authorizer) ParseRequest(ctx context.Context, q url.Values) (*AuthorizeRequest, error) {
	page := func(format string, args ...any) (*AuthorizeRequest, error) {
		return nil, &AuthorizeError{Err: Errorf(InvalidRequest, format, args...)}
	}
	for _, k := range []string{"client_id", "redirect_uri"} {
		switch v := q[k]; {
		case len(v) > 1:
			return page("%s given more than once", k)
		case len(v) == 1 && !plaintext.Valid(v[0]):
			return page("%s holds control characters or invalid UTF-8", k)
		}
	}
	c, err := a.Store.GetClient(ctx, q.Get("client_id"))
	if err != nil || q.Get("client_id") == "" {
		return page("unknown client")
	}
	redirect, ok := MatchRedirectURI(c.RedirectURIs, q.Get("redirect_uri"))
	if !ok {
		return page("the redirect_uri is not registered for this client")
	}
	ar := &AuthorizeRequest{Client: c, RedirectURI: redirect, State: q.Get("state"), Nonce: q.Get("nonce"), Params: q}
	fail := func(code, desc string) (*AuthorizeRequest, error) {
		return ar, &AuthorizeError{Err: Errorf(code, "%s", desc), Redirect: true}
	}
	for k, v := range q {
		if len(v) > 1 {
			return fail(InvalidRequest, k+" given more than once")
		}
		// state and nonce are stored or echoed, and none is a secret.
		if !plaintext.Valid(k) || !plaintext.Valid(q.Get(k)) {
			if k == "state" {
				ar.State = "" // not echoed back
			}
			return fail(InvalidRequest, fmt.Sprintf("parameter %q holds control characters or invalid UTF-8", k))
		}
	}
	if q.Get("response_type") != ResponseTypeCode {
		return fail(UnsupportedResponseType, "only response_type=code is supported")
	}
	if !Allows(c, GrantAuthorizationCode) {
		return fail(UnauthorizedClient, "the client may not use the authorization code flow")
	}
	if q.Has("request") || q.Has("request_uri") {
		return fail(InvalidRequest, "request objects are not supported")
	}
	if rm := q.Get("response_mode"); rm != "" && rm != ResponseModeQuery {
		return fail(InvalidRequest, "only response_mode=query is supported")
	}
	if ar.Scope, err = ClientScope(c, q.Get("scope")); err != nil {
		return fail(InvalidScope, AsError(err).Description)
	}
	switch m := q.Get("code_challenge_method"); {
	case m != "" && m != CodeChallengeS256:
		return fail(InvalidRequest, "code_challenge_method must be S256")
	case q.Get("code_challenge") != "" && !ValidChallenge(q.Get("code_challenge")):
		return fail(InvalidRequest, "malformed code_challenge")
	case m == CodeChallengeS256 && q.Get("code_challenge") == "":
		return fail(InvalidRequest, "code_challenge is required with code_challenge_method")
	case q.Get("code_challenge") != "" && m == "":
		return fail(InvalidRequest, "code_challenge_method=S256 is required (plain is not supported)")
	}
	ar.Challenge = q.Get("code_challenge")
	if c.Public && ar.Challenge == "" {
		return fail(InvalidRequest, "PKCE (S256) is required for public clients")
	}
	if len(ar.Nonce) > maxNonceBytes || len(ar.State) > maxStateBytes {
		return fail(InvalidRequest, "state or nonce too long")
	}
	if p := q.Get("prompt"); p == "" || slices.Contains(Prompts, p) {
		ar.Prompt = p
	} else {
		return fail(InvalidRequest, "prompt must be none, login or consent")
	}
	ar.MaxAge = -1
	if q.Has("max_age") {
		n, err := strconv.ParseInt(q.Get("max_age"), 10, 64)
		if err != nil || n < 0 || n > maxMaxAge {
			return fail(InvalidRequest, "max_age must be a whole number of seconds, 0 or more")
		}
		ar.MaxAge = n
	}
	ar.ACRValues = strings.Fields(q.Get("acr_values"))
	if len(ar.ACRValues) > maxACRValues || len(q.Get("acr_values")) > maxACRValues*maxACRBytes {
		return fail(InvalidRequest, "too many acr_values")
	}
	return ar, nil
}

// Reauthenticate reports whether the user, signed in with sess, must
// authenticate again for this request: prompt=login, or more than max_age
// seconds since the session's last authentication (Core §3.1.2.1).
func (ar *AuthorizeRequest) Reauthenticate(sess store.Session, now time.Time) bool {
	if ar.Prompt == PromptLogin {
		return true
	}
	return ar.MaxAge >= 0 && now.Sub(sess.AuthTime) > time.Duration(ar.MaxAge)*time.Second
}

// WantsMultiFactor reports whether this request must be answered with a
// sign-in that passed a second factor, whatever the user has: its client
// requires one, or acr_values ask for oidc.ACRMultiFactor and not for
// oidc.ACRSingleFactor (acr_values are voluntary: values inkan does not
// know are ignored).
func (ar *AuthorizeRequest) WantsMultiFactor() bool {
	return ar.Client.RequireMFA ||
		slices.Contains(ar.ACRValues, oidc.ACRMultiFactor) && !slices.Contains(ar.ACRValues, oidc.ACRSingleFactor)
}

// LoginParams are the request's parameters as the login page carries
// them back to the authorization endpoint once the user has signed in:
// without what asked for that sign-in (prompt=login, max_age), which the
// new sign-in answers, so that the request does not ask again forever.
// prompt=consent stays.
func (ar *AuthorizeRequest) LoginParams() url.Values {
	params := url.Values{}
	for k, vs := range ar.Params {
		params[k] = slices.Clone(vs)
	}
	params.Del("max_age")
	if ar.Prompt != PromptConsent {
		params.Del("prompt")
	}
	return params
}

// NeedsConsent is the one decision whether user u must confirm this
// authorization on the consent page (and whether prompt=none must answer
// consent_required). A trusted client never asks; others ask unless the
// user already consented to every requested scope, or when prompt=consent.
//
// A public client has no secret, so anyone can send its client_id: another
// app on the device that registers the same private-use scheme or listens
// on the loopback port receives the code (RFC 8252 §8.6). Neither
// remembered consent nor --trusted can tell the real app from an impostor,
// so a public client is always asked, unless it is trusted and this
// request's redirect URI is https: an app-claimed https URI (RFC 8252 §7.2)
// that only the app owning the domain receives.
func (a *Authorizer) NeedsConsent(ctx context.Context, ar *AuthorizeRequest, u store.User) bool {
	if ar.Client.Public {
		u, err := url.Parse(ar.RedirectURI)
		return !ar.Client.Trusted || err != nil || u.Scheme != "https"
	}
	if ar.Client.Trusted {
		return false
	}
	if ar.Prompt == PromptConsent {
		return true
	}
	c, err := a.Store.GetConsent(ctx, u.ID, ar.Client.ID)
	if err != nil {
		return true
	}
	for _, sc := range ar.Scope {
		if !slices.Contains(c.Scopes, sc) {
			return true
		}
	}
	return false
}

// Consent remembers that user u allowed the request's scopes to its
// client, together with every scope allowed to it before.
func (a *Authorizer) Consent(ctx context.Context, ar *AuthorizeRequest, u store.User) error {
	scopes := ar.Scope
	if old, err := a.Store.GetConsent(ctx, u.ID, ar.Client.ID); err == nil {
		for _, sc := range old.Scopes {
			if !slices.Contains(scopes, sc) {
				scopes = append(scopes, sc)
			}
		}
	}
	return a.Store.PutConsent(ctx, store.Consent{UserID: u.ID, ClientID: ar.Client.ID, Scopes: scopes, CreatedAt: a.now().UTC().Truncate(time.Microsecond)})
}

// IssueCode stores a new authorization code for the request, issued to
// user u signed in with session sess (RFC 6749 §4.1.2), and returns it. The
// code starts a new grant (family), lives CodeTTL, and is stored only by
// its hash.
func (a *Authorizer) IssueCode(ctx context.Context, ar *AuthorizeRequest, sess store.Session, u store.User) (string, error) {
	raw := RandomToken()
	now := a.now().UTC().Truncate(time.Microsecond)
	err := a.Store.CreateAuthCode(ctx, store.AuthCode{
		Hash: HashToken(raw), ClientID: ar.Client.ID, UserID: u.ID, RedirectURI: ar.Params.Get("redirect_uri"),
		Scope: strings.Join(ar.Scope, " "), Nonce: ar.Nonce, CodeChallenge: ar.Challenge, SessionID: sess.ID,
		Family: NewFamily(), AuthTime: sess.AuthTime, AMR: sess.AMR, CreatedAt: now, ExpiresAt: now.Add(CodeTTL),
	})
	if err != nil {
		return "", err
	}
	return raw, nil
}
