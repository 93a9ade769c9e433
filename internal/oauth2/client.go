package oauth2

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/inkan-dev/inkan/internal/store"
)

// Grant types (RFC 6749).
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantPassword          = "password"
)

// Grants lists the grant types inkan implements.
var Grants = []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantPassword}

// NewSecret returns a client secret of 256 random bits, base64url.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashSecret is how secrets are stored: 256 random bits need no slow hash,
// so a SHA-256 digest compared in constant time suffices and client
// authentication costs microseconds.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Credentials are what a client presented on a request.
type Credentials struct {
	ClientID string
	Secret   string
	Method   string // client_secret_basic, client_secret_post or none
}

// Client authentication methods (RFC 7591 §2).
const (
	AuthBasic = "client_secret_basic"
	AuthPost  = "client_secret_post"
	AuthNone  = "none"
)

// ReadCredentials takes the client's credentials from the Authorization
// header (HTTP Basic, id and secret form-urlencoded as RFC 6749 §2.3.1
// says) or from the form (client_id, client_secret). Using both is an
// error (RFC 6749 §2.3). r.ParseForm must have run.
func ReadCredentials(r *http.Request) (Credentials, error) {
	id, secret, basic := r.BasicAuth()
	postID, postSecret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if basic {
		if postSecret != "" {
			return Credentials{}, &Error{Code: InvalidRequest, Description: "use one client authentication method, not two"}
		}
		uid, err1 := url.QueryUnescape(id)
		usecret, err2 := url.QueryUnescape(secret)
		if err1 != nil || err2 != nil || uid == "" {
			return Credentials{}, &Error{Code: InvalidClient, Description: "malformed client credentials"}
		}
		if postID != "" && postID != uid {
			return Credentials{}, &Error{Code: InvalidRequest, Description: "client_id does not match the authenticated client"}
		}
		return Credentials{ClientID: uid, Secret: usecret, Method: AuthBasic}, nil
	}
	if r.Header.Get("Authorization") != "" {
		return Credentials{}, &Error{Code: InvalidClient, Description: "unsupported client authentication scheme"}
	}
	if postID == "" {
		return Credentials{}, &Error{Code: InvalidClient, Description: "client authentication required"}
	}
	if postSecret != "" {
		return Credentials{ClientID: postID, Secret: postSecret, Method: AuthPost}, nil
	}
	return Credentials{ClientID: postID, Method: AuthNone}, nil
}

// Authenticate checks credentials against the stored client: a
// confidential client must present its secret (compared in constant time),
// a public client none.
func Authenticate(c store.Client, cred Credentials) error {
	bad := &Error{Code: InvalidClient, Description: "client authentication failed"}
	if c.Public {
		if cred.Method != AuthNone {
			return bad
		}
		return nil
	}
	if cred.Method == AuthNone || len(c.SecretHash) != sha256.Size {
		return bad
	}
	if subtle.ConstantTimeCompare(HashSecret(cred.Secret), c.SecretHash) != 1 {
		return bad
	}
	return nil
}

// Allows reports whether the client is registered for grant.
func Allows(c store.Client, grant string) bool { return slices.Contains(c.Grants, grant) }

// Bounds of a scope parameter: far above what any client asks for (a few
// scopes of a few dozen bytes), and low enough that every request stays
// cheap whatever it carries.
const (
	MaxScopeBytes = 2048
	MaxScopes     = 64
)

// ParseScope splits a scope parameter (RFC 6749 §3.3) and refuses one over
// MaxScopeBytes or MaxScopes, duplicates, and characters outside the
// allowed set. Its cost is linear in the length of s.
func ParseScope(s string) ([]string, error) {
	if len(s) > MaxScopeBytes {
		return nil, Errorf(InvalidScope, "scope is longer than %d bytes", MaxScopeBytes)
	}
	if n := strings.Count(s, " ") + 1; n > MaxScopes {
		return nil, Errorf(InvalidScope, "scope holds more than %d scopes", MaxScopes)
	}
	return splitScope(s)
}

// splitScope is ParseScope without its bounds: one pass over s, and one
// set lookup a token.
func splitScope(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	malformed := &Error{Code: InvalidScope, Description: "malformed scope"}
	for i := 0; i < len(s); i++ {
		if ch := s[i]; ch != ' ' && (ch < 0x21 || ch == 0x22 || ch == 0x5c || ch > 0x7e) {
			return nil, malformed
		}
	}
	parts := strings.Split(s, " ")
	seen := make(map[string]struct{}, len(parts))
	for _, p := range parts {
		if _, dup := seen[p]; p == "" || dup {
			return nil, malformed
		}
		seen[p] = struct{}{}
	}
	return parts, nil
}

// ClientScope is the scope a request's scope parameter (raw) grants client
// c: ParseScope, then GrantScope.
func ClientScope(c store.Client, raw string) ([]string, error) {
	requested, err := ParseScope(raw)
	if err != nil {
		return nil, err
	}
	return GrantScope(c, requested)
}

// GrantScope returns the requested scopes if the client may have them all,
// or the client's own scopes when none were requested.
func GrantScope(c store.Client, requested []string) ([]string, error) {
	if len(requested) == 0 {
		return slices.Clone(c.Scopes), nil
	}
	for _, s := range requested {
		if !slices.Contains(c.Scopes, s) {
			return nil, &Error{Code: InvalidScope, Description: "scope " + s + " is not allowed for this client"}
		}
	}
	return requested, nil
}
