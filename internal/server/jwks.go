package server

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// handleJWKS serves the pre-rendered public key set (RFC 7517 §5).
func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(s.opts.JWKSMaxAge/time.Second)))
	h.Set("Access-Control-Allow-Origin", "*")
	w.Write(s.opts.Keys.JWKS())
}

// handleHealthz answers while the process is up.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers 200 when the database answers, 503 otherwise.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.opts.Store.Ping(ctx); err != nil {
		s.fault(r.Context(), "readiness check", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"detail": "Database unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
