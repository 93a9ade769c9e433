package server

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"

	"github.com/inkan-dev/inkan/internal/account"
	"github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/store"
)

// oauth serves the OAuth 2.0 endpoints that clients call directly, each
// with its CORS: token (oauth_token.go), revocation and introspection
// (oauth_resource.go), and OpenID Connect's userinfo (userinfo.go). The
// protocol itself is package oauth2's; these only read requests and write
// answers.
type oauth struct {
	clients      store.ClientStore // client authentication
	tokens       *oauth2.TokenEndpoint
	revoker      *oauth2.Revoker
	introspector *oauth2.Introspector
	access       *accessTokens // userinfo's Bearer token
	origins      []string      // HTTPOptions.AllowedOrigins, for CORS
	proxies      proxies       // the client's address, for the password grant's throttle
	metrics      *Metrics
	log          logs
}

// newOAuth wires the OAuth 2.0 protocol (package oauth2) over the store,
// the issuer of what grants return, the revocation set and the account
// service, with the adapters of oauth_adapters.go for what package oauth2
// asks of the server.
func newOAuth(o Options, issuer *oauth2.Issuer, revocations *oauth2.Revocations, access *accessTokens, accounts *account.Service, proxies proxies, log logs) *oauth {
	users := liveUsers{accounts}
	policy := &oauth2.RefreshPolicy{Users: users, Revocations: revocations, ReuseWindow: o.Tokens.RefreshReuseWindow, RequireMFA: o.Accounts.RequireMFA}
	return &oauth{
		clients: o.Store,
		tokens: oauth2.NewTokenEndpoint(
			&oauth2.AuthCodeGrant{Store: o.Store, Issuer: issuer, Users: users, Revocations: revocations, Logger: o.Logger, Now: o.Now},
			&oauth2.RefreshGrant{Store: o.Store, Issuer: issuer, Policy: policy, Logger: o.Logger, Now: o.Now, Events: o.Events},
			&oauth2.ClientCredentialsGrant{Issuer: issuer},
			&oauth2.PasswordGrant{
				Passwords: passwordLogins{accounts}, Issuer: issuer, MaxPasswordBytes: account.MaxPasswordBytes, Now: o.Now,
				SecondFactor: func(ctx context.Context, u store.User, c store.Client) (bool, error) {
					return accounts.NeedsSecondFactor(ctx, u, c.RequireMFA)
				},
			},
		),
		revoker:      &oauth2.Revoker{Store: o.Store, Access: access, Revocations: revocations, Leeway: Leeway},
		introspector: &oauth2.Introspector{Store: o.Store, Access: access, Policy: policy, Now: o.Now},
		access:       access,
		origins:      o.HTTP.AllowedOrigins,
		proxies:      proxies,
		metrics:      o.Metrics,
		log:          log,
	}
}

// Mount registers the OAuth endpoints and their CORS preflights on mux.
func (o *oauth) Mount(mux *http.ServeMux) {
	for _, p := range []string{"/oauth2/token", "/oauth2/revoke", "/oauth2/introspect", "/userinfo"} {
		mux.Handle("OPTIONS "+p, o.cors(http.NotFoundHandler()))
	}
	mux.Handle("POST /oauth2/token", o.cors(o.endpoint(o.handleToken)))
	mux.Handle("POST /oauth2/revoke", o.cors(o.endpoint(o.handleRevoke)))
	mux.Handle("POST /oauth2/introspect", o.cors(o.endpoint(o.handleIntrospect)))
	mux.Handle("GET /userinfo", o.cors(http.HandlerFunc(o.handleUserinfo)))
	mux.Handle("POST /userinfo", o.cors(http.HandlerFunc(o.handleUserinfo)))
}

// endpoint adapts an OAuth endpoint: errors are rendered by
// writeOAuthError, the one writer of RFC 6749 §5.2 bodies, and logged by
// their level: a fault (server_error) at Error through fault. A client's
// mistake is not logged here: the access log has its status, and the
// grants log the refusals worth a line (a replayed code, a reused refresh
// token).
func (o *oauth) endpoint(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		if err := h(w, r); err != nil {
			e := oauth2.AsError(err)
			if e.LogLevel() >= slog.LevelError {
				o.log.fault(r.Context(), "oauth request failed", "err", err)
			}
			writeOAuthError(w, r, e)
		}
	})
}

func writeOAuthError(w http.ResponseWriter, r *http.Request, e *oauth2.Error) {
	status := e.HTTPStatus()
	if status == http.StatusUnauthorized && e.Code == oauth2.InvalidClient {
		w.Header().Set("WWW-Authenticate", `Basic realm="inkan"`)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	body := map[string]string{"error": e.Code}
	if e.Description != "" {
		body["error_description"] = e.Description
	}
	writeJSON(w, status, body)
}

// cors lets the configured browser origins call an endpoint (the token,
// userinfo and revocation endpoints), answering preflights itself.
func (o *oauth) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		allowed := origin != "" && slices.Contains(o.origins, origin)
		if allowed {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Allow-Methods", "GET, POST")
			h.Set("Access-Control-Max-Age", "600")
		}
		if r.Method == http.MethodOptions {
			if !allowed {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// mustFinish detaches ctx from its request for a write that must not be
// lost when the client goes away mid-request (oauth2.MustFinish).
func mustFinish(ctx context.Context) (context.Context, context.CancelFunc) {
	return oauth2.MustFinish(ctx)
}

// randomToken is an opaque token of 256 random bits (oauth2.RandomToken).
func randomToken() string { return oauth2.RandomToken() }

// newFamily names a new grant (oauth2.NewFamily).
func newFamily() string { return oauth2.NewFamily() }

// hashToken is how opaque tokens and codes are stored (oauth2.HashToken).
func hashToken(raw string) string { return oauth2.HashToken(raw) }
