package server

import (
	"context"
	"net/http"
	"time"
)

// health serves the liveness and readiness checks.
type health struct {
	db  interface{ Ping(context.Context) error } // the store
	log logs
}

// Mount registers GET /healthz and GET /readyz on mux.
func (h health) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", h.handleHealthz)
	mux.HandleFunc("GET /readyz", h.handleReadyz)
}

// handleHealthz answers while the process is up.
func (h health) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers 200 when the database answers, 503 otherwise.
func (h health) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := h.db.Ping(ctx); err != nil {
		h.log.fault(r.Context(), "readiness check", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"detail": "Database unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
