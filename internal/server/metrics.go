package server

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/inkan-dev/inkan/internal/events"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the server's Prometheus metrics, on a registry of their own
// (so that tests can run several servers in one process).
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	logins   *prometheus.CounterVec
	signups  *prometheus.CounterVec
	tokens   prometheus.Counter
	events   *prometheus.CounterVec
	lost     prometheus.Counter // events that could not be stored
	mfa      *prometheus.CounterVec

	// routes holds each (route, method, status)'s counter and histogram
	// once looked up: the vectors hash their labels on every lookup, and
	// every request makes one. The key space is bounded as the labels are.
	routes sync.Map // routeKey → *routeMetrics
}

type routeKey struct {
	route, method string
	status        int
}

type routeMetrics struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

// Login and signup outcomes, the values of the result label.
const (
	resultSuccess   = "success"
	resultFailure   = "failure"
	resultThrottled = "throttled"
	resultBusy      = "busy"
	resultInvalid   = "invalid"
	resultConflict  = "conflict"
)

// NewMetrics makes the metrics. keyAge, when not nil, reports the active
// signing key's age for inkan_signing_key_age_seconds.
func NewMetrics(keyAge func() time.Duration) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inkan_http_requests_total",
			Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "inkan_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inkan_logins_total",
			Help: "Password logins by result: success, failure, throttled, busy, unverified.",
		}, []string{"result"}),
		signups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inkan_signups_total",
			Help: "Registrations by result: success, invalid, conflict, throttled, busy.",
		}, []string{"result"}),
		tokens: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "inkan_tokens_issued_total",
			Help: "Tokens issued.",
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inkan_events_total",
			Help: "Audit trail events recorded, by type (other: a type this build does not list).",
		}, []string{"type"}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "inkan_events_lost_total",
			Help: "Audit trail events that could not be stored (the log says why).",
		}),
		mfa: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inkan_second_factors_total",
			Help: "Second factors by factor (totp, recovery_code, passkey) and what happened: used, failure, enrolled, removed, reset.",
		}, []string{"factor", "result"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.logins, m.signups, m.tokens, m.events, m.lost, m.mfa,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if keyAge != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "inkan_signing_key_age_seconds",
			Help: "Time since the active signing key became active.",
		}, func() float64 { return keyAge().Seconds() }))
	}
	return m
}

// Register adds metrics kept outside the server (the mail outbox's) to
// those Handler serves.
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Mount registers GET /metrics on mux: the API's listener serves it when
// HTTPOptions.ServeMetrics is set.
func (m *Metrics) Mount(mux *http.ServeMux) {
	mux.Handle("GET /metrics", m.Handler())
}

// countEvent counts an audit trail event (events.Options.Count).
func (m *Metrics) countEvent(typ string, err error) {
	m.events.WithLabelValues(typ).Inc()
	if err != nil {
		m.lost.Inc()
	}
}

// mfaResults are the results of inkan_second_factors_total, by the type
// of the event that reports them.
var mfaResults = map[string]string{
	events.MFAUsed: "used", events.MFAFailure: "failure", events.MFAEnrolled: "enrolled", events.MFARemoved: "removed", events.MFAReset: "reset",
}

// mfaFactors are the factor label's values; any other is "other".
var mfaFactors = []string{"totp", "recovery_code", "passkey"}

// countingMFA counts the second-factor events it passes on in
// inkan_second_factors_total.
type countingMFA struct {
	events.Recorder
	m *Metrics
}

func (c countingMFA) Record(ctx context.Context, e events.Event) {
	if result, ok := mfaResults[e.Type]; ok {
		factor := e.Detail["factor"]
		if !slices.Contains(mfaFactors, factor) {
			factor = "other"
		}
		c.m.mfa.WithLabelValues(factor, result).Inc()
	}
	c.Recorder.Record(ctx, e)
}

func (m *Metrics) observe(route, method string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched" // bounded cardinality: never the raw path
	}
	k := routeKey{route, method, status}
	rm, ok := m.routes.Load(k)
	if !ok {
		rm, _ = m.routes.LoadOrStore(k, &routeMetrics{
			requests: m.requests.WithLabelValues(route, method, strconv.Itoa(status)),
			latency:  m.latency.WithLabelValues(route),
		})
	}
	r := rm.(*routeMetrics)
	r.requests.Inc()
	r.latency.Observe(d.Seconds())
}
