package mail

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/inkan-dev/inkan/internal/store"
)

// Metrics count the outbox's deliveries, and report its size when
// collected. A nil *Metrics counts nothing.
type Metrics struct {
	store       store.MailStore
	sentTotal   *prometheus.CounterVec
	failedTotal *prometheus.CounterVec
	errorsTotal *prometheus.CounterVec
	unreachTot  prometheus.Counter
	pending     *prometheus.Desc
	failedDesc  *prometheus.Desc
}

var _ prometheus.Collector = (*Metrics)(nil)

// NewMetrics makes the metrics of the outbox in st.
func NewMetrics(st store.MailStore) *Metrics {
	return &Metrics{
		store: st,
		sentTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inkan_mail_sent_total",
			Help: "Email delivered to the SMTP server, by kind.",
		}, []string{"kind"}),
		failedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inkan_mail_failed_total",
			Help: "Email given up after its attempts (or its age) ran out, by kind; it stays in the outbox, marked failed.",
		}, []string{"kind"}),
		errorsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inkan_mail_attempt_errors_total",
			Help: "Deliveries the SMTP server refused or broke off, by kind; each is tried again until given up.",
		}, []string{"kind"}),
		unreachTot: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "inkan_mail_smtp_unreachable_total",
			Help: "Connections to the SMTP server that failed; the mail waits in the outbox.",
		}),
		pending:    prometheus.NewDesc("inkan_mail_outbox_pending", "Email in the outbox waiting for delivery (every replica's).", nil, nil),
		failedDesc: prometheus.NewDesc("inkan_mail_outbox_failed", "Email in the outbox given up.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.sentTotal.Describe(ch)
	m.failedTotal.Describe(ch)
	m.errorsTotal.Describe(ch)
	m.unreachTot.Describe(ch)
	ch <- m.pending
	ch <- m.failedDesc
}

// Collect implements prometheus.Collector: the counters, and the outbox's
// size, counted in the database then.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.sentTotal.Collect(ch)
	m.failedTotal.Collect(ch)
	m.errorsTotal.Collect(ch)
	m.unreachTot.Collect(ch)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := m.store.CountMail(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(m.pending, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(m.pending, prometheus.GaugeValue, float64(c.Pending))
	ch <- prometheus.MustNewConstMetric(m.failedDesc, prometheus.GaugeValue, float64(c.Failed))
}

func (m *Metrics) sent(kind string) {
	if m != nil {
		m.sentTotal.WithLabelValues(kind).Inc()
	}
}

func (m *Metrics) failed(kind string) {
	if m != nil {
		m.failedTotal.WithLabelValues(kind).Inc()
	}
}

func (m *Metrics) attemptFailed(kind string) {
	if m != nil {
		m.errorsTotal.WithLabelValues(kind).Inc()
	}
}

func (m *Metrics) unreachable() {
	if m != nil {
		m.unreachTot.Inc()
	}
}
