package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/inkan-dev/inkan/internal/oauth2"
	"github.com/inkan-dev/inkan/internal/store"
	"github.com/inkan-dev/inkan/internal/token"
	"github.com/inkan-dev/inkan/verify"
)

// accessExtra are the RFC 9068 claims verify.Claims has no field for.
type accessExtra struct {
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	Family   string `json:"fam"`
	AuthTime int64  `json:"auth_time"`
}

// Why a token is refused, for the logs.
var (
	errRevoked    = errors.New("token revoked")
	errClientGone = errors.New("client deleted")
)

// checkAccessToken verifies raw as an access token (the tutorial's or RFC
// 9068's; the verifier refuses ID tokens) that nobody revoked, whose client,
// if it names one, still exists, and whose user, if it has one, is live
// (liveUser) for a token issued at its iat.
func (s *Server) checkAccessToken(ctx context.Context, raw string) (*verify.Claims, accessExtra, *store.User, error) {
	var extra accessExtra
	claims, err := s.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, extra, nil, err
	}
	if err := claims.Decode(&extra); err != nil {
		return nil, extra, nil, err
	}
	if s.revocations.revoked(claims.ID, extra.Family) {
		return nil, extra, nil, errRevoked
	}
	if extra.ClientID != "" { // deleting a client ends its tokens
		if _, err := s.opts.Store.GetClient(ctx, extra.ClientID); errors.Is(err, store.ErrNotFound) {
			return nil, extra, nil, errClientGone
		} else if err != nil {
			return nil, extra, nil, err
		}
		if claims.Subject == extra.ClientID {
			return claims, extra, nil, nil // client_credentials: no user
		}
	}
	u, err := s.liveUser(ctx, claims.Subject, claims.IssuedAt)
	if err != nil {
		return nil, extra, nil, err
	}
	return claims, extra, &u, nil
}

// liveUser is account.Service.Live, the one rule for whether what was
// issued to user id at issued still counts.
func (s *Server) liveUser(ctx context.Context, id string, issued time.Time) (store.User, error) {
	return s.accounts.Live(ctx, id, issued)
}

// isRFC9068 tells an OAuth access token (typ at+jwt) from the tutorial's.
func isRFC9068(c *verify.Claims) bool {
	return strings.TrimPrefix(strings.ToLower(c.Type), "application/") == "at+jwt"
}

// grantedScope is what an access token may see of its user: its scope, or
// for the tutorial's tokens, which predate scopes, everything, as always.
func grantedScope(c *verify.Claims, extra accessExtra) []string {
	if isRFC9068(c) {
		return strings.Fields(extra.Scope)
	}
	return []string{"openid", "profile", "email"}
}

// handleUserinfo is OpenID Connect's UserInfo endpoint (Core §5.3), GET or
// POST with a Bearer access token; the claims follow the token's scopes
// (token.ProfileFor).
func (s *Server) handleUserinfo(w http.ResponseWriter, r *http.Request) {
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
	claims, extra, u, err := s.checkAccessToken(ctx, raw)
	if err != nil || u == nil {
		s.opts.Logger.InfoContext(ctx, "userinfo refused", "reason", fmt.Sprint(err))
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "the access token is invalid"})
		return
	}
	scope := grantedScope(claims, extra)
	if !slices.Contains(scope, "openid") {
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="openid"`)
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "insufficient_scope"})
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Subject string `json:"sub"`
		token.Profile
	}{u.ID, token.ProfileFor(*u, scope)})
}

// handleIntrospect is RFC 7662: an authenticated client asks whether a token
// is active. Anything not provably active is {"active": false}.
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	c, err := s.authenticateClient(r)
	if err != nil {
		return err
	}
	if c.Public { // it proves nothing about itself: no token details for it
		return oauth2.Errorf(oauth2.InvalidClient, "introspection requires a confidential client")
	}
	ctx := r.Context()
	raw := r.PostForm.Get("token")
	if raw == "" {
		return oauth2.Errorf(oauth2.InvalidRequest, "token is required")
	}
	inactive := map[string]any{"active": false}
	if strings.Count(raw, ".") == 2 {
		claims, extra, u, err := s.checkAccessToken(ctx, raw)
		if err != nil {
			writeJSON(w, http.StatusOK, inactive)
			return nil
		}
		out := map[string]any{
			"active": true, "token_type": "Bearer", "sub": claims.Subject, "iss": claims.Issuer,
			"exp": claims.Expiry.Unix(), "iat": claims.IssuedAt.Unix(), "jti": claims.ID,
		}
		if len(claims.Audience) > 0 {
			out["aud"] = claims.Audience
		}
		if extra.ClientID != "" {
			out["client_id"] = extra.ClientID
		}
		if extra.Scope != "" {
			out["scope"] = extra.Scope
		}
		if u != nil { // RFC 7662 §2.2's username: the email, under its scope
			if p := token.ProfileFor(*u, grantedScope(claims, extra)); p.Email != "" {
				out["username"] = p.Email
			}
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	rt, err := s.opts.Store.GetRefreshToken(ctx, hashToken(raw))
	now := s.opts.Now()
	if err == nil {
		_, err = s.liveRefreshToken(ctx, rt, c, now)
	}
	if err != nil || (!rt.UsedAt.IsZero() && now.Sub(rt.UsedAt) > s.opts.RefreshReuseWindow) {
		writeJSON(w, http.StatusOK, inactive)
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"active": true, "token_type": "refresh_token", "client_id": rt.ClientID, "sub": rt.UserID,
		"scope": rt.Scope, "exp": rt.ExpiresAt.Unix(), "iat": rt.CreatedAt.Unix(),
	})
	return nil
}

// handleRevoke is RFC 7009: the client that holds a token revokes it. A
// refresh token revokes its whole grant; an access token is refused until it
// expires. Unknown or foreign tokens are answered 200 too, as §2.2 says.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	c, err := s.authenticateClient(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	raw := r.PostForm.Get("token")
	if raw == "" {
		return oauth2.Errorf(oauth2.InvalidRequest, "token is required")
	}
	if strings.Count(raw, ".") == 2 {
		claims, err := s.verifier.Verify(ctx, raw)
		if err == nil { // an access token: the verifier refuses ID tokens
			var extra accessExtra
			claims.Decode(&extra)
			if extra.ClientID == c.ID {
				rv := store.Revocation{Kind: "jti", Value: claims.ID, ExpiresAt: claims.Expiry.Add(Leeway).UTC()}
				wctx, cancel := mustFinish(ctx)
				err := s.opts.Store.Revoke(wctx, rv)
				cancel()
				if err != nil {
					return err
				}
				s.revocations.add("jti", claims.ID)
			}
		}
	} else if rt, err := s.opts.Store.GetRefreshToken(ctx, hashToken(raw)); err == nil && rt.ClientID == c.ID {
		s.revokeFamily(ctx, rt.Family)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
