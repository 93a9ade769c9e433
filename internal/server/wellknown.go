package server

import (
	"net/http"

	"github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/oidc"
	"github.com/inkan-dev/inkan/verify"
)

// wellKnown serves the documents of /.well-known/: the JWKS (jwks.go) and
// the discovery document under both of its names.
type wellKnown struct {
	issuer string
	keys   interface{ JWKS() []byte } // the key set's current document
	jwks   *jwksCache
}

// Mount registers the JWKS and the discovery documents on mux.
func (k *wellKnown) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /.well-known/jwks.json", k.handleJWKS)
	mux.HandleFunc("GET /.well-known/openid-configuration", k.handleDiscovery)
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", k.handleDiscovery)
}

// discovery is the provider metadata (oidc.NewDiscovery), listing exactly
// what is implemented: each list from the package whose rule it is.
func (k *wellKnown) discovery() oidc.Discovery {
	return oidc.NewDiscovery(k.issuer, oidc.Supported{
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

// handleDiscovery serves the discovery document (OpenID Connect Discovery
// 1.0 §4, RFC 8414 §3), cacheable and readable from any origin.
func (k *wellKnown) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, k.discovery())
}
