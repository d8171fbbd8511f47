package server

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The server writes the Prometheus text exposition format (version 0.0.4)
// itself: it exports a handful of counters, one gauge and two histograms, which
// does not justify client_golang and its dependency tree.

// maxSeries caps the label combinations of one metric family, so a client
// cannot grow memory by inventing paths (routes are patterns anyway).
const maxSeries = 1000

// durationBuckets are the histogram upper bounds in seconds.
var durationBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type family interface {
	write(w io.Writer) error
}

// metrics is the server's metric registry. It is per Server, not global.
type metrics struct {
	families []family

	requests        *counterVec
	requestDuration *histogramVec
	inFlight        *gauge
	gateDecisions   *counterVec
	gateDuration    *histogramVec
	attestations    *counterVec
	uploadBytes     *counterVec
	rateLimited     *counterVec
}

func newMetrics() *metrics {
	m := &metrics{}
	m.requests = m.counter("mlsec_http_requests_total", "HTTP requests by method, route pattern and status code.", "method", "route", "code")
	m.requestDuration = m.histogram("mlsec_http_request_duration_seconds", "HTTP request latency by route pattern.", "route")
	m.inFlight = m.gauge("mlsec_http_requests_in_flight", "HTTP requests being served.")
	m.gateDecisions = m.counter("mlsec_gate_decisions_total", "Gate decisions by stage and result.", "stage", "result")
	m.gateDuration = m.histogram("mlsec_gate_decision_duration_seconds", "Time to evaluate and record a gate decision.")
	m.attestations = m.counter("mlsec_attestations_ingested_total", "Attestations stored through the API.")
	m.uploadBytes = m.counter("mlsec_artifact_upload_bytes_total", "Bytes of artifacts uploaded through the API.")
	m.rateLimited = m.counter("mlsec_http_rate_limited_total", "Requests refused by the rate limiter.")
	return m
}

func (m *metrics) counter(name, help string, labels ...string) *counterVec {
	c := &counterVec{name: name, help: help, labels: labels, series: map[string]*series{}}
	m.families = append(m.families, c)
	return c
}

func (m *metrics) gauge(name, help string) *gauge {
	g := &gauge{name: name, help: help}
	m.families = append(m.families, g)
	return g
}

func (m *metrics) histogram(name, help string, labels ...string) *histogramVec {
	h := &histogramVec{name: name, help: help, labels: labels, series: map[string]*histSeries{}}
	m.families = append(m.families, h)
	return h
}

// WriteTo writes every family in the text exposition format.
func (m *metrics) writeTo(w io.Writer) error {
	for _, f := range m.families {
		if err := f.write(w); err != nil {
			return err
		}
	}
	return nil
}

func (m *metrics) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_ = m.writeTo(w)
	})
}

type series struct {
	values []string
	bits   atomic.Uint64 // float64 bits
}

func (s *series) add(v float64) {
	for {
		old := s.bits.Load()
		if s.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

type counterVec struct {
	name, help string
	labels     []string
	mu         sync.Mutex
	series     map[string]*series
}

// add adds v to the series with the given label values (in label order).
func (c *counterVec) add(v float64, values ...string) {
	key := strings.Join(values, "\xff")
	c.mu.Lock()
	s, ok := c.series[key]
	if !ok {
		if len(c.series) >= maxSeries {
			c.mu.Unlock()
			return
		}
		s = &series{values: slices.Clone(values)}
		c.series[key] = s
	}
	c.mu.Unlock()
	s.add(v)
}

func (c *counterVec) inc(values ...string) { c.add(1, values...) }

func (c *counterVec) write(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", c.name, escapeHelp(c.help), c.name); err != nil {
		return err
	}
	c.mu.Lock()
	all := make([]*series, 0, len(c.series))
	for _, s := range c.series {
		all = append(all, s)
	}
	c.mu.Unlock()
	slices.SortFunc(all, func(a, b *series) int { return slices.Compare(a.values, b.values) })
	if len(all) == 0 && len(c.labels) == 0 {
		_, err := fmt.Fprintf(w, "%s 0\n", c.name)
		return err
	}
	for _, s := range all {
		if _, err := fmt.Fprintf(w, "%s%s %s\n", c.name, labelString(c.labels, s.values, "", ""), formatFloat(math.Float64frombits(s.bits.Load()))); err != nil {
			return err
		}
	}
	return nil
}

type gauge struct {
	name, help string
	v          atomic.Int64
}

func (g *gauge) add(d int64) { g.v.Add(d) }

func (g *gauge) write(w io.Writer) error {
	_, err := fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %d\n", g.name, escapeHelp(g.help), g.name, g.name, g.v.Load())
	return err
}

type histSeries struct {
	values []string
	mu     sync.Mutex
	counts []uint64 // per bucket, not cumulative; last is +Inf
	sum    float64
	n      uint64
}

type histogramVec struct {
	name, help string
	labels     []string
	mu         sync.Mutex
	series     map[string]*histSeries
}

// observe records d in the series with the given label values.
func (h *histogramVec) observe(d time.Duration, values ...string) {
	key := strings.Join(values, "\xff")
	h.mu.Lock()
	s, ok := h.series[key]
	if !ok {
		if len(h.series) >= maxSeries {
			h.mu.Unlock()
			return
		}
		s = &histSeries{values: slices.Clone(values), counts: make([]uint64, len(durationBuckets)+1)}
		h.series[key] = s
	}
	h.mu.Unlock()
	v := d.Seconds()
	i, _ := slices.BinarySearch(durationBuckets, v)
	s.mu.Lock()
	s.counts[i]++
	s.sum += v
	s.n++
	s.mu.Unlock()
}

func (h *histogramVec) write(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", h.name, escapeHelp(h.help), h.name); err != nil {
		return err
	}
	h.mu.Lock()
	all := make([]*histSeries, 0, len(h.series))
	for _, s := range h.series {
		all = append(all, s)
	}
	h.mu.Unlock()
	slices.SortFunc(all, func(a, b *histSeries) int { return slices.Compare(a.values, b.values) })
	for _, s := range all {
		s.mu.Lock()
		counts, sum, n := slices.Clone(s.counts), s.sum, s.n
		s.mu.Unlock()
		var cum uint64
		for i, ub := range durationBuckets {
			cum += counts[i]
			if _, err := fmt.Fprintf(w, "%s_bucket%s %d\n", h.name, labelString(h.labels, s.values, "le", formatFloat(ub)), cum); err != nil {
				return err
			}
		}
		if _, err := fmt.Fprintf(w, "%s_bucket%s %d\n%s_sum%s %s\n%s_count%s %d\n",
			h.name, labelString(h.labels, s.values, "le", "+Inf"), n,
			h.name, labelString(h.labels, s.values, "", ""), formatFloat(sum),
			h.name, labelString(h.labels, s.values, "", ""), n); err != nil {
			return err
		}
	}
	return nil
}

// labelString renders {a="x",b="y"} with an optional extra label.
func labelString(names, values []string, extraName, extraValue string) string {
	if len(names) == 0 && extraName == "" {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
		b.WriteString(`="`)
		b.WriteString(escapeLabel(values[i]))
		b.WriteByte('"')
	}
	if extraName != "" {
		if len(names) > 0 {
			b.WriteByte(',')
		}
		b.WriteString(extraName)
		b.WriteString(`="`)
		b.WriteString(extraValue)
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, +1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
