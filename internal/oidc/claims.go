// Package oidc holds the OpenID Connect side of inkan's provider, without
// HTTP: the discovery document (Discovery 1.0 §3, RFC 8414), what a scope
// reveals of a user (Core §5.4) in ID tokens, access tokens, userinfo and
// introspection alike, ID tokens with their at_hash (Core §2, §3.1.3.6),
// and the id_token_hint check of RP-Initiated Logout 1.0 §2, done by
// package verify.
package oidc

import (
	"errors"
	"slices"

	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/token"
)

// Scopes of OpenID Connect Core that inkan gives a meaning to.
const (
	ScopeOpenID        = "openid"         // an OpenID Connect request (Core §3.1.2.1): ID tokens, userinfo
	ScopeProfile       = "profile"        // the name claim (Core §5.4)
	ScopeEmail         = "email"          // the email and email_verified claims (Core §5.4)
	ScopeOfflineAccess = "offline_access" // refresh tokens (Core §11)
)

// ProfileFor is the one rule for what a grant of scope reveals about u
// (OpenID Connect Core §5.4): email and email_verified with the email
// scope, name with the profile scope, nothing else. ID tokens, access
// tokens (RFC 9068 §2.2.3.1), userinfo, introspection and the tutorial's
// GET /user all take their claims from it.
func ProfileFor(u store.User, scope []string) token.Profile {
	var p token.Profile
	if slices.Contains(scope, ScopeEmail) {
		verified := u.EmailVerified
		p.Email, p.EmailVerified = u.Email, &verified
	}
	if slices.Contains(scope, ScopeProfile) {
		p.Name = u.Name
	}
	return p
}

// UserInfo is a successful UserInfo response (Core §5.3.2): the subject,
// and what the access token's scope reveals of it (ProfileFor).
type UserInfo struct {
	Subject string `json:"sub"`
	token.Profile
}

// ErrInsufficientScope refuses userinfo to an access token granted without
// the openid scope (Core §5.3: the endpoint serves OpenID Connect requests;
// RFC 6750 §3.1's insufficient_scope).
var ErrInsufficientScope = errors.New("the access token lacks the openid scope")

// UserInfoFor is the UserInfo response about u to an access token granted
// scope. Its only error is ErrInsufficientScope.
func UserInfoFor(u store.User, scope []string) (UserInfo, error) {
	if !slices.Contains(scope, ScopeOpenID) {
		return UserInfo{}, ErrInsufficientScope
	}
	return UserInfo{Subject: u.ID, Profile: ProfileFor(u, scope)}, nil
}
