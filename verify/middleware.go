package verify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// claimsKey is the context key of the Claims that Middleware verified.
type claimsKey struct{}

// ClaimsFrom returns the Claims that Verifier.Middleware put in ctx, and
// whether there were any.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// Middleware returns a handler that lets a request through to next only with
// a valid token in "Authorization: Bearer <token>" (RFC 6750 §2.1; the
// scheme is case-insensitive), verified with the request's context. next
// finds the token's claims with ClaimsFrom. Tokens in a query or form
// parameter (RFC 6750 §2.2, §2.3) are not looked for.
//
// Any other request gets 401 Unauthorized and a JSON body, and next is not
// called. Without a Bearer token (no Authorization header, or another
// scheme) the challenge is a bare "WWW-Authenticate: Bearer" (RFC 6750 §3.1)
// and the body {"error":"unauthorized","error_description":"..."}. With a
// token that does not verify, the challenge is
// `Bearer error="invalid_token", error_description="..."` and the body
// {"error":"invalid_token","error_description":"..."}, where the description
// is a fixed sentence for the error's class (expired, wrong audience, ...)
// that never quotes the token.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, present := bearerToken(r.Header.Values("Authorization"))
		if !present {
			writeBearerError(w, "", "a bearer access token is required")
			return
		}
		c, err := v.Verify(r.Context(), raw)
		if err != nil {
			writeBearerError(w, "invalid_token", describe(err))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, c)))
	})
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header, and false when there is no Authorization header or it names
// another scheme. A malformed Bearer header (no token, several headers)
// returns "" and true, which Verify refuses as malformed.
func bearerToken(values []string) (string, bool) {
	if len(values) == 0 {
		return "", false
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	if len(values) > 1 {
		return "", true
	}
	return strings.TrimLeft(token, " "), true
}

// descriptions are the error_description of each class of Verify error.
var descriptions = []struct {
	err  error
	desc string
}{
	{ErrMalformed, "the access token is malformed"},
	{ErrAlgorithm, "the access token is signed with an algorithm that is not allowed"},
	{ErrUnknownKey, "the access token is signed with an unknown key"},
	{ErrSignature, "the access token signature is invalid"},
	{ErrExpired, "the access token expired"},
	{ErrNotYetValid, "the access token is not valid yet"},
	{ErrIssuer, "the access token has the wrong issuer"},
	{ErrAudience, "the access token is not meant for this audience"},
	{ErrType, "the token is not an access token"},
}

// describe returns the fixed description of err's class.
func describe(err error) string {
	for _, d := range descriptions {
		if errors.Is(err, d.err) {
			return d.desc
		}
	}
	return "the access token is invalid"
}

// writeBearerError writes a 401 with the RFC 6750 §3 challenge: a bare
// "Bearer" when code is empty, else the error code and description.
func writeBearerError(w http.ResponseWriter, code, desc string) {
	challenge, body := "Bearer", map[string]string{"error": "unauthorized", "error_description": desc}
	if code != "" {
		// desc is one of the fixed sentences above, free of quotes and
		// backslashes, so it needs no quoted-string escaping.
		challenge = `Bearer error="` + code + `", error_description="` + desc + `"`
		body["error"] = code
	}
	b, _ := json.Marshal(body) // a map of strings always marshals
	h := w.Header()
	h.Set("WWW-Authenticate", challenge)
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	w.Write(append(b, '\n'))
}
