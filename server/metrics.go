package server

import (
	"context"
	"errors"
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

	"github.com/mlsecops/mlsec/queue"
	"github.com/mlsecops/mlsec/store"
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

	jobs                *gaugeVec
	jobsEnqueued        *counterVec
	jobsEnqueueErrors   *counterVec
	jobsFinished        *counterVec
	jobsUntracked       *counterVec
	hubScansStarted     *counterVec
	hubScansRunning     *gauge
	hubScanItemsPending *gauge
	collectErrors       *counterVec

	// tracked is the server's Jobs wrapped by trackJobs (nil without a queue).
	tracked *trackedJobs
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
	m.jobs = m.gaugeVec("mlsec_jobs", "Unfinished jobs this server queued, by kind and River state (read from the queue at scrape time).", "kind", "state")
	m.jobsEnqueued = m.counter("mlsec_jobs_enqueued_total", "Jobs this server queued, by kind.", "kind")
	m.jobsEnqueueErrors = m.counter("mlsec_jobs_enqueue_errors_total", "Jobs the queue refused, by kind.", "kind")
	m.jobsFinished = m.counter("mlsec_jobs_finished_total", "Jobs this server queued that finished, by kind and final River state (completed, cancelled, discarded).", "kind", "state")
	m.jobsUntracked = m.counter("mlsec_jobs_untracked_total", "Jobs queued while the tracked-job limit was reached; they are missing from mlsec_jobs.")
	m.hubScansStarted = m.counter("mlsec_hub_scans_started_total", "Hub scans this server started.")
	m.hubScansRunning = m.gauge("mlsec_hub_scans_running", "Hub scans in progress (among the most recent 1000).")
	m.hubScanItemsPending = m.gauge("mlsec_hub_scan_items_pending", "Models not yet scanned in the hub scans in progress.")
	m.collectErrors = m.counter("mlsec_metrics_collect_errors_total", "Scrapes whose queue or store read failed, by source.", "source")
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

// knownMethods are the HTTP methods metrics label as themselves; any other
// method is "OTHER", so a client cannot invent label values.
var knownMethods = []string{"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"}

// metricMethod bounds a request method for use as a label value.
func metricMethod(m string) string {
	if slices.Contains(knownMethods, m) {
		return m
	}
	return "OTHER"
}

// routeLabel is the route label of every HTTP metric: the (bounded) method
// and the mux pattern's path, e.g. "GET /api/v1/artifacts/{digest}". pattern
// may carry its own method ("GET /x"), which is dropped in favour of method.
func routeLabel(method, pattern string) string {
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		pattern = strings.TrimLeft(pattern[i+1:], " ")
	}
	if pattern == "" {
		pattern = "unmatched"
	}
	return metricMethod(method) + " " + pattern
}

// gaugeSample is one series of a gaugeVec.
type gaugeSample struct {
	values []string
	v      float64
}

// gaugeVec is a labelled gauge whose series are computed at scrape time and
// replaced as a whole.
type gaugeVec struct {
	name, help string
	labels     []string
	mu         sync.Mutex
	series     []gaugeSample
}

func (m *metrics) gaugeVec(name, help string, labels ...string) *gaugeVec {
	g := &gaugeVec{name: name, help: help, labels: labels}
	m.families = append(m.families, g)
	return g
}

// set replaces the series (at most maxSeries are kept).
func (g *gaugeVec) set(samples []gaugeSample) {
	samples = slices.Clone(samples)
	slices.SortFunc(samples, func(a, b gaugeSample) int { return slices.Compare(a.values, b.values) })
	if len(samples) > maxSeries {
		samples = samples[:maxSeries]
	}
	g.mu.Lock()
	g.series = samples
	g.mu.Unlock()
}

func (g *gaugeVec) write(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n", g.name, escapeHelp(g.help), g.name); err != nil {
		return err
	}
	g.mu.Lock()
	all := g.series
	g.mu.Unlock()
	if len(all) == 0 && len(g.labels) == 0 {
		_, err := fmt.Fprintf(w, "%s 0\n", g.name)
		return err
	}
	for _, s := range all {
		if _, err := fmt.Fprintf(w, "%s%s %s\n", g.name, labelString(g.labels, s.values, "", ""), formatFloat(s.v)); err != nil {
			return err
		}
	}
	return nil
}

// Job metrics. The queue's API reports one job at a time (Queue.Status), so
// the server tracks the jobs it queued itself and asks the queue about the
// unfinished ones at every scrape; jobs queued elsewhere (a hub scan's
// per-model jobs, other API processes) show in the hub scan metrics or on
// their own process's /metrics.
const (
	// maxTrackedJobs bounds the unfinished jobs one scrape asks about.
	maxTrackedJobs = 1000
	// maxHubScans bounds the recent hub scans a scrape reads.
	maxHubScans = 1000
	// collectTimeout bounds the queue and store reads of one scrape.
	collectTimeout = 5 * time.Second
)

// jobKinds are the job kinds the API queues; other kinds are labelled "other".
var jobKinds = []string{queue.KindBOM, queue.KindGate, queue.KindScan, queue.KindVerify}

// openJobStates are River's states of a job that has not finished.
var openJobStates = []string{"available", "pending", queue.StateRetryable, queue.StateRunning, "scheduled"}

func metricKind(k string) string {
	if slices.Contains(jobKinds, k) {
		return k
	}
	return "other"
}

func metricJobState(s string) string {
	switch s {
	case queue.StateAvailable, queue.StateRunning, queue.StateRetryable, queue.StateCompleted,
		queue.StateCancelled, queue.StateDiscarded, "pending", "scheduled":
		return s
	}
	return "other"
}

// trackedJobs wraps the server's Jobs to record what it queues for the job
// metrics; every call goes through to the queue unchanged.
type trackedJobs struct {
	Jobs
	m *metrics

	mu   sync.Mutex
	open map[int64]string // job id → kind, jobs not yet seen finished
}

var _ Jobs = (*trackedJobs)(nil)

// trackJobs returns j wrapped for the job metrics, or nil if j is nil.
func (m *metrics) trackJobs(j Jobs) Jobs {
	if j == nil {
		return nil
	}
	t := &trackedJobs{Jobs: j, m: m, open: map[int64]string{}}
	m.tracked = t
	return t
}

// Enqueue queues r and records the job.
func (t *trackedJobs) Enqueue(ctx context.Context, r queue.Request) (int64, error) {
	kind := metricKind(r.Kind)
	id, err := t.Jobs.Enqueue(ctx, r)
	if err != nil {
		t.m.jobsEnqueueErrors.inc(kind)
		return id, err
	}
	t.m.jobsEnqueued.inc(kind)
	t.mu.Lock()
	if len(t.open) < maxTrackedJobs {
		t.open[id] = kind
	} else {
		t.m.jobsUntracked.inc()
	}
	t.mu.Unlock()
	return id, nil
}

// EnqueueHubScan starts a hub scan and counts it.
func (t *trackedJobs) EnqueueHubScan(ctx context.Context, root, actor string) (store.HubScan, error) {
	h, err := t.Jobs.EnqueueHubScan(ctx, root, actor)
	if err == nil {
		t.m.hubScansStarted.inc()
	}
	return h, err
}

// collect asks the queue about every tracked job: finished ones are counted
// in mlsec_jobs_finished_total and forgotten, open ones set mlsec_jobs.
func (t *trackedJobs) collect(ctx context.Context) error {
	t.mu.Lock()
	ids := make([]int64, 0, len(t.open))
	for id := range t.open {
		ids = append(ids, id)
	}
	t.mu.Unlock()
	slices.Sort(ids)
	counts := map[[2]string]int{}
	var firstErr error
	for _, id := range ids {
		st, err := t.Jobs.Status(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			t.forget(id, "") // removed from the queue (River prunes finished jobs)
			continue
		}
		if err != nil {
			firstErr = err
			break
		}
		if st.Done {
			t.forget(id, metricJobState(st.State))
			continue
		}
		counts[[2]string{metricKind(st.Kind), metricJobState(st.State)}]++
	}
	var samples []gaugeSample
	for _, k := range jobKinds {
		for _, s := range openJobStates {
			samples = append(samples, gaugeSample{values: []string{k, s}, v: float64(counts[[2]string{k, s}])})
			delete(counts, [2]string{k, s})
		}
	}
	for ks, n := range counts {
		samples = append(samples, gaugeSample{values: []string{ks[0], ks[1]}, v: float64(n)})
	}
	if firstErr == nil {
		t.m.jobs.set(samples)
	}
	return firstErr
}

// forget drops a finished job, counting it under state once (never twice,
// however many scrapes saw it finish at the same time).
func (t *trackedJobs) forget(id int64, state string) {
	t.mu.Lock()
	kind, ok := t.open[id]
	delete(t.open, id)
	t.mu.Unlock()
	if ok && state != "" {
		t.m.jobsFinished.inc(kind, state)
	}
}

// collectHubScans sets the hub scan gauges from the store.
func (m *metrics) collectHubScans(ctx context.Context, st store.Store) error {
	scans, err := st.HubScans(ctx, maxHubScans)
	if err != nil {
		return err
	}
	var running, pending int64
	for _, h := range scans {
		if h.Status == store.HubScanRunning {
			running++
			pending += int64(max(h.Total-h.Done, 0))
		}
	}
	m.hubScansRunning.v.Store(running)
	m.hubScanItemsPending.v.Store(pending)
	return nil
}

// serveMetrics refreshes the scrape-time metrics (jobs, hub scans) and
// writes every family. A failed refresh is logged and counted; the other
// metrics are still served.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), collectTimeout)
	defer cancel()
	if t := s.metrics.tracked; t != nil {
		if err := t.collect(ctx); err != nil {
			s.metrics.collectErrors.inc("queue")
			s.log.Warn("metrics: job status", "err", err)
		}
	}
	if s.store != nil {
		if err := s.metrics.collectHubScans(ctx, s.store); err != nil {
			s.metrics.collectErrors.inc("store")
			s.log.Warn("metrics: hub scans", "err", err)
		}
	}
	s.metrics.handler().ServeHTTP(w, r)
}
