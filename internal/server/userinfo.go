package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/inkan-dev/inkan/internal/oidc"
)

// handleUserinfo is OpenID Connect's UserInfo endpoint (Core §5.3), GET or
// POST with a Bearer access token; the claims follow the token's scopes
// (oidc.UserInfoFor).
func (o *oauth) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	ctx := r.Context()
	raw, err := parseBearer(r.Header.Get("Authorization"), maxTokenSize)
	if errors.Is(err, errNoAuthorization) && r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		if r.ParseForm() == nil && r.PostForm.Get("access_token") != "" {
			raw, err = r.PostForm.Get("access_token"), nil
		}
	}
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="inkan"`)
		if !errors.Is(err, errNoAuthorization) {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
		return
	}
	claims, extra, u, err := o.access.check(ctx, raw)
	if err != nil || u == nil {
		o.log.InfoContext(ctx, "userinfo refused", "reason", fmt.Sprint(err))
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "the access token is invalid"})
		return
	}
	info, err := oidc.UserInfoFor(*u, grantedScope(claims, extra))
	if err != nil { // oidc.ErrInsufficientScope, its only error
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="openid"`)
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "insufficient_scope"})
		return
	}
	writeJSON(w, http.StatusOK, info)
}
