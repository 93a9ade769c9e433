package server

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/inkan-dev/inkan/internal/events"
)

// handlerFunc computes a response or returns an error for the route's writer.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// jsonFallbacks renders the mux's own 404 and 405 answers as JSON, keeping
// their headers (Allow). The mux routes once: a request it matched has
// r.Pattern set by the time its handler writes, so only an answer written
// with no pattern (the mux's NotFound or MethodNotAllowed) is replaced.
func jsonFallbacks(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fw := &fallbackWriter{ResponseWriter: w, r: r}
		mux.ServeHTTP(fw, r)
		if fw.status != 0 {
			writeJSON(w, fw.status, map[string]string{"detail": http.StatusText(fw.status)})
		}
	})
}

// fallbackWriter holds back a 404 or 405 written for a request the mux
// matched to no pattern.
type fallbackWriter struct {
	http.ResponseWriter
	r      *http.Request
	status int  // the held-back status, or 0
	passed bool // the answer went through
}

func (f *fallbackWriter) WriteHeader(code int) {
	if !f.passed && f.status == 0 && f.r.Pattern == "" && (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) {
		f.status = code
		return
	}
	f.passed = true
	f.ResponseWriter.WriteHeader(code)
}

func (f *fallbackWriter) Write(b []byte) (int, error) {
	if f.status != 0 {
		return len(b), nil // the mux's plain-text body, replaced by JSON
	}
	f.passed = true
	return f.ResponseWriter.Write(b)
}

func (f *fallbackWriter) Unwrap() http.ResponseWriter { return f.ResponseWriter }

type ctxKey int

const requestIDKey ctxKey = iota

// RequestID returns the request id the middleware put in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// requestID accepts a caller's X-Request-Id when it is short and plain, so
// that it cannot forge log lines, and makes one otherwise.
func requestID(r *http.Request) string {
	id := r.Header.Get("X-Request-Id")
	if len(id) == 0 || len(id) > 128 {
		return rand.Text()
	}
	for _, c := range []byte(id) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return rand.Text()
		}
	}
	return id
}

// addressOf is a client's address as an event records it: "" when the
// peer's could not be read.
func addressOf(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// The values of the headers every answer carries. Header.Add appends to a
// value's slice, and a slice of cap 1 makes it copy, so sharing is safe.
var (
	headerNosniff = []string{"nosniff"}
	headerHSTS    = []string{"max-age=63072000; includeSubDomains"}
)

// statusWriter remembers the status for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware adds the request id, common security headers, panic recovery
// and one access-log line a request. The log line never holds headers or
// bodies, so no token, password or Authorization value reaches it.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r)
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		// What an event of the request records of it, read only if one is.
		req := r
		ctx = events.WithRequestFunc(ctx, func() (string, string, string) { return addressOf(s.proxies.clientIP(req)), req.UserAgent(), id })
		r = r.WithContext(ctx)
		h := w.Header()
		if len(r.TransferEncoding) > 0 {
			// RFC 9112 §6.1: a request with both Content-Length and
			// Transfer-Encoding may smuggle a second request past a proxy
			// that framed it by the length, so the connection must close
			// after the answer. net/http answers by the chunked framing but
			// keeps the connection, and drops Content-Length before any
			// handler sees it: every chunked request closes its connection.
			h.Set("Connection", "close")
		}
		// Canonical keys, set directly: Header.Set would canonicalise them
		// and allocate each constant value on every request.
		h["X-Request-Id"] = []string{id}
		h["X-Content-Type-Options"] = headerNosniff
		if s.opts.HTTP.HSTS || s.proxies.secure(r) {
			h["Strict-Transport-Security"] = headerHSTS
		}
		sw := &statusWriter{ResponseWriter: w}
		if s.opts.Logger.Enabled(ctx, slog.LevelDebug) { // no per-request work at the default level
			s.opts.Logger.LogAttrs(ctx, slog.LevelDebug, "request started", slog.String("method", r.Method), slog.String("path", r.URL.Path))
		}
		defer func() {
			if p := recover(); p != nil {
				if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(p)
				}
				s.opts.Logger.ErrorContext(ctx, "panic serving request", "panic", p)
				if sw.status == 0 {
					writeDetailError(sw, errInternal)
				}
			}
			d := time.Since(start)
			status, msg := sw.status, "request"
			if clientGone(ctx) && (status == 0 || status >= 500) {
				// The failure is the client's leaving, not the server's.
				status, msg = statusClientClosed, "request cancelled"
			}
			s.opts.Metrics.observe(r.Pattern, method(r.Method), status, d)
			s.accessLog(ctx, msg, r, status, d)
		}()
		next.ServeHTTP(sw, r)
	})
}

// accessLog writes a request's line at Info. It builds the record itself,
// with no caller's pc: the access log names the route, not a source line,
// and Logger.LogAttrs would walk the stack (runtime.Callers) on every
// request to find one.
func (s *Server) accessLog(ctx context.Context, msg string, r *http.Request, status int, d time.Duration) {
	h := s.opts.Logger.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	rec := slog.NewRecord(time.Now(), slog.LevelInfo, msg, 0)
	rec.AddAttrs(
		slog.String("method", r.Method),
		slog.String("route", r.Pattern),
		slog.Int("status", status),
		slog.Duration("duration", d))
	_ = h.Handle(ctx, rec) // a handler's write failure has no one to tell
}

// statusClientClosed is what the access log and the metrics record for a
// request whose client went away before it was answered: nginx's 499,
// outside the 5xx that count as the server's faults.
const statusClientClosed = 499

// clientGone reports whether ctx, a request's context, ended: net/http
// cancels it when the client's connection closes mid-request.
func clientGone(ctx context.Context) bool { return ctx.Err() != nil }

// logs is the server's one logger (Options.Logger) with the rule for a
// fault, handed to every handler that logs.
type logs struct{ *slog.Logger }

// fault logs a server fault at Error, unless ctx, the request's, ended
// because its client went away: what failed then is work the client
// abandoned (a query or a hash cut short), the access log reports the
// request as cancelled, and the detail goes to Debug. A failure that
// matters after the client left (a revocation, a logout) is no fault of
// this kind and logs at Error as ever.
func (l logs) fault(ctx context.Context, msg string, args ...any) {
	level := slog.LevelError
	if clientGone(ctx) {
		level, msg = slog.LevelDebug, msg+" (client gone)"
	}
	l.Log(ctx, level, msg, args...)
}

// LogHandler wraps h so that every record logged with a request's context
// carries its request_id.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(attrs)}
}

func (h logHandler) WithGroup(name string) slog.Handler {
	return logHandler{h.Handler.WithGroup(name)}
}

// method bounds the method label to the standard ones.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}
