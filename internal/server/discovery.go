package server

import (
	"net/http"
	"slices"

	"github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/oidc"
	"github.com/inkan-dev/inkan/verify"
)

// discovery is the provider metadata (oidc.NewDiscovery), listing exactly
// what is implemented: each list from the package whose rule it is.
func (s *Server) discovery() oidc.Discovery {
	return oidc.NewDiscovery(s.opts.Issuer, oidc.Supported{
		GrantTypes:               oauth2.Grants,
		ResponseTypes:            oauth2.ResponseTypes,
		ResponseModes:            oauth2.ResponseModes,
		Prompts:                  oauth2.Prompts,
		CodeChallengeMethods:     oauth2.CodeChallengeMethods,
		SigningAlgorithms:        verify.Algorithms(), // every algorithm a key may sign with
		ClientAuthMethods:        []string{oauth2.AuthBasic, oauth2.AuthPost, oauth2.AuthNone},
		IntrospectionAuthMethods: []string{oauth2.AuthBasic, oauth2.AuthPost}, // confidential clients only
	})
}

func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, s.discovery())
}

// cors lets the configured browser origins call an endpoint (the token,
// userinfo and revocation endpoints), answering preflights itself.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		allowed := origin != "" && slices.Contains(s.opts.AllowedOrigins, origin)
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
