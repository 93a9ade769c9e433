package oidc

// Supported is what the packages that implement the protocol support, for
// the discovery document to list exactly that: each list comes from the
// package whose rule it is (oauth2's grants, response types and prompts,
// verify's algorithms).
type Supported struct {
	GrantTypes           []string // grant_types_supported (RFC 8414 §2)
	ResponseTypes        []string // response_types_supported
	ResponseModes        []string // response_modes_supported
	Prompts              []string // prompt_values_supported
	CodeChallengeMethods []string // code_challenge_methods_supported (RFC 8414 §2, RFC 7636)
	SigningAlgorithms    []string // id_token_signing_alg_values_supported: every algorithm a key may sign with
	// ClientAuthMethods are how clients authenticate at the token and
	// revocation endpoints; IntrospectionAuthMethods at the introspection
	// endpoint.
	ClientAuthMethods, IntrospectionAuthMethods []string
}

// Discovery is the provider metadata: OpenID Connect Discovery 1.0 §3 and
// RFC 8414 §2, served at /.well-known/openid-configuration and
// /.well-known/oauth-authorization-server. Its fields are in the order of
// their JSON names, so that it marshals with its members sorted as the map
// it replaced did.
type Discovery struct {
	ACRValuesSupported                         []string `json:"acr_values_supported"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported"` // RFC 9207
	BackchannelLogoutSessionSupported          bool     `json:"backchannel_logout_session_supported"`
	BackchannelLogoutSupported                 bool     `json:"backchannel_logout_supported"` // Back-Channel Logout 1.0 §2.1
	ClaimsParameterSupported                   bool     `json:"claims_parameter_supported"`
	ClaimsSupported                            []string `json:"claims_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	EndSessionEndpoint                         string   `json:"end_session_endpoint"` // RP-Initiated Logout 1.0 §2.1
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"` // RFC 8414 §2, RFC 7662
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported"`
	Issuer                                     string   `json:"issuer"`
	JWKSURI                                    string   `json:"jwks_uri"`
	PromptValuesSupported                      []string `json:"prompt_values_supported"`
	RequestParameterSupported                  bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported               bool     `json:"request_uri_parameter_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"` // RFC 8414 §2, RFC 7009
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	ScopesSupported                            []string `json:"scopes_supported"`
	SubjectTypesSupported                      []string `json:"subject_types_supported"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	UserinfoEndpoint                           string   `json:"userinfo_endpoint"`
}

// Scopes are the scopes_supported: those of OpenID Connect that inkan
// gives a meaning to.
var Scopes = []string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopeOfflineAccess}

// NewDiscovery is the discovery document of the provider at issuer (the
// endpoints are its paths under it) that supports s. Besides s, it lists
// what this package implements: the scopes and claims, public subjects
// (Core §8), Back-Channel Logout with sid, and RFC 9207's iss parameter;
// and what inkan never takes: request objects and the claims parameter.
func NewDiscovery(issuer string, s Supported) Discovery {
	return Discovery{
		Issuer:                                     issuer,
		AuthorizationEndpoint:                      issuer + "/oauth2/authorize",
		TokenEndpoint:                              issuer + "/oauth2/token",
		UserinfoEndpoint:                           issuer + "/userinfo",
		JWKSURI:                                    issuer + "/.well-known/jwks.json",
		RevocationEndpoint:                         issuer + "/oauth2/revoke",
		IntrospectionEndpoint:                      issuer + "/oauth2/introspect",
		EndSessionEndpoint:                         issuer + "/oauth2/logout",
		ResponseTypesSupported:                     s.ResponseTypes,
		ResponseModesSupported:                     s.ResponseModes,
		GrantTypesSupported:                        s.GrantTypes,
		SubjectTypesSupported:                      []string{"public"},
		IDTokenSigningAlgValuesSupported:           s.SigningAlgorithms,
		TokenEndpointAuthMethodsSupported:          s.ClientAuthMethods,
		RevocationEndpointAuthMethodsSupported:     s.ClientAuthMethods,
		IntrospectionEndpointAuthMethodsSupported:  s.IntrospectionAuthMethods,
		CodeChallengeMethodsSupported:              s.CodeChallengeMethods,
		ScopesSupported:                            Scopes,
		ClaimsSupported:                            Claims,
		ACRValuesSupported:                         ACRValues,
		PromptValuesSupported:                      s.Prompts,
		AuthorizationResponseIssParameterSupported: true,
		RequestParameterSupported:                  false,
		RequestURIParameterSupported:               false,
		ClaimsParameterSupported:                   false,
		BackchannelLogoutSupported:                 true,
		BackchannelLogoutSessionSupported:          true,
	}
}
