package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mlsecops/mlsec/queue"
	"github.com/mlsecops/mlsec/store"
)

var (
	helpLine   = regexp.MustCompile(`^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$`)
	typeLine   = regexp.MustCompile(`^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$`)
	sampleExpr = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*)?\})? (\S+)$`)
	labelExpr  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// sample is one parsed exposition sample.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseExposition parses the Prometheus text format strictly: every line
// is # HELP, # TYPE or "name{labels} value"; every sample belongs to a
// family declared by a preceding # TYPE; no family is declared twice.
func parseExposition(t *testing.T, text string) []sample {
	t.Helper()
	if !strings.HasSuffix(text, "\n") {
		t.Fatalf("exposition does not end in a newline")
	}
	types := map[string]string{}
	var out []sample
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "# HELP "):
			if !helpLine.MatchString(line) {
				t.Fatalf("line %d: bad HELP %q", i+1, line)
			}
		case strings.HasPrefix(line, "# TYPE "):
			m := typeLine.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("line %d: bad TYPE %q", i+1, line)
			}
			if _, dup := types[m[1]]; dup {
				t.Fatalf("line %d: family %s declared twice", i+1, m[1])
			}
			types[m[1]] = m[2]
		default:
			m := sampleExpr.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("line %d: not name{labels} value: %q", i+1, line)
			}
			v, err := strconv.ParseFloat(m[3], 64)
			if err != nil {
				t.Fatalf("line %d: value %q: %v", i+1, m[3], err)
			}
			family := m[1]
			if types[family] == "" {
				for _, suf := range []string{"_bucket", "_sum", "_count"} {
					if base, ok := strings.CutSuffix(family, suf); ok && types[base] == "histogram" {
						family = base
					}
				}
			}
			if types[family] == "" {
				t.Fatalf("line %d: sample of undeclared family %q", i+1, m[1])
			}
			s := sample{name: m[1], labels: map[string]string{}, value: v}
			for _, l := range labelExpr.FindAllStringSubmatch(m[2], -1) {
				s.labels[l[1]] = l[2]
			}
			out = append(out, s)
		}
	}
	return out
}

// scrape fetches and parses /metrics.
func (e *env) scrape() (string, []sample) {
	e.t.Helper()
	status, b, h := e.do("", "GET", "/metrics", nil, "")
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain; version=0.0.4") {
		e.t.Fatalf("metrics: %d %s", status, h.Get("Content-Type"))
	}
	return string(b), parseExposition(e.t, string(b))
}

// value returns the value of the series name{labels}, and whether it exists.
func value(samples []sample, name string, labels map[string]string) (float64, bool) {
	for _, s := range samples {
		if s.name == name && maps.Equal(s.labels, labels) {
			return s.value, true
		}
	}
	return 0, false
}

func wantValue(t *testing.T, samples []sample, name string, labels map[string]string, want float64) {
	t.Helper()
	if labels == nil {
		labels = map[string]string{}
	}
	got, ok := value(samples, name, labels)
	if !ok {
		t.Errorf("no series %s%v", name, labels)
	} else if got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

// TestMetricsRoutes: every HTTP series is labelled "METHOD pattern" — API
// routes, fallbacks, public endpoints and dashboard pages alike — so raw
// paths and invented methods do not add series.
func TestMetricsRoutes(t *testing.T) {
	e := newEnv(t, nil)
	d := string(fakeDigest('a'))
	e.do(store.RoleAuditor, "GET", "/api/v1/stats", nil, "")
	e.do("", "GET", "/api/openapi.json", nil, "")
	e.do("", "GET", "/healthz", nil, "")
	e.do(store.RoleAuditor, "PATCH", "/api/v1/tokens", nil, "") // 405 fallback
	e.do(store.RoleAuditor, "BREW", "/api/v1/stats", nil, "")   // invented method
	e.do(store.RoleAuditor, "GET", "/artifacts/"+d, nil, "")    // dashboard page
	_, before := e.scrape()
	for i := range 50 {
		e.do(store.RoleAuditor, "GET", fmt.Sprintf("/api/v1/artifacts/sha256:%064x", i), nil, "")
		e.do("", "GET", fmt.Sprintf("/api/nope/%d", i), nil, "")
		e.do(store.RoleAuditor, "GET", fmt.Sprintf("/artifacts/x%d", i), nil, "")
		e.do(store.RoleAuditor, fmt.Sprintf("M%d", i), "/api/v1/stats", nil, "")
	}
	_, samples := e.scrape()

	// Route labels: the method (or OTHER) and a registered pattern.
	patterns := map[string]bool{"/api/": true, "/api/openapi.json": true, "/healthz": true}
	for _, rt := range e.srv.routes {
		patterns[rt.Path] = true
	}
	for _, p := range []string{"/{$}", "/artifacts", "/artifacts/{digest}", "/hubscans", "/hubscans/{id}", "/hubscans/{id}/progress", "/coverage", "/maturity"} {
		patterns[p] = true
	}
	routes := map[string]bool{}
	for _, s := range samples {
		if r, ok := s.labels["route"]; ok {
			routes[r] = true
			method, path, ok := strings.Cut(r, " ")
			if !ok || method != metricMethod(method) || !patterns[path] {
				t.Errorf("%s: route label %q is not METHOD pattern", s.name, r)
			}
		}
		if m, ok := s.labels["method"]; ok && m != metricMethod(m) {
			t.Errorf("%s: method label %q is unbounded", s.name, m)
		}
	}
	for _, want := range []string{"GET /api/v1/stats", "GET /api/openapi.json", "GET /healthz", "PATCH /api/v1/tokens",
		"OTHER /api/v1/stats", "GET /artifacts/{digest}", "GET /api/v1/artifacts/{digest}", "GET /api/"} {
		if !routes[want] {
			t.Errorf("no series with route %q; have %v", want, slices.Sorted(func(yield func(string) bool) {
				for r := range routes {
					if !yield(r) {
						return
					}
				}
			}))
		}
	}
	wantValue(t, samples, "mlsec_http_requests_total", map[string]string{"method": "GET", "route": "GET /healthz", "code": "200"}, 1)
	wantValue(t, samples, "mlsec_http_requests_total", map[string]string{"method": "PATCH", "route": "PATCH /api/v1/tokens", "code": "405"}, 1)
	wantValue(t, samples, "mlsec_http_requests_total", map[string]string{"method": "GET", "route": "GET /api/", "code": "404"}, 50)
	// 200 requests with raw paths and methods added at most the handful of
	// series of their four patterns, not one per request.
	if grown := len(samples) - len(before); grown > 60 {
		t.Errorf("50 distinct paths per pattern grew the exposition by %d series", grown)
	}
}

// TestMetricsHubScans: the hub scan gauges count running scans and their
// unscanned models, read from the store at scrape time.
func TestMetricsHubScans(t *testing.T) {
	e := newEnv(t, nil)
	_, samples := e.scrape()
	wantValue(t, samples, "mlsec_hub_scans_running", nil, 0)
	ctx := context.Background()
	hs, err := e.st.CreateHubScan(ctx, "/mirror", []string{"a", "b", "c"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.CreateHubScan(ctx, "/mirror2", []string{"x"}, "test"); err != nil {
		t.Fatal(err)
	}
	if err := e.st.CompleteHubScanItem(ctx, hs.ID, "a", store.ItemResult{}); err != nil {
		t.Fatal(err)
	}
	_, samples = e.scrape()
	wantValue(t, samples, "mlsec_hub_scans_running", nil, 2)
	wantValue(t, samples, "mlsec_hub_scan_items_pending", nil, 3)
	if _, ok := value(samples, "mlsec_jobs", map[string]string{"kind": queue.KindScan, "state": queue.StateAvailable}); ok {
		t.Errorf("job series without a job queue")
	}
}

// TestMetricsJobs: with a job queue, a queued scan shows in mlsec_jobs while
// it waits and in mlsec_jobs_finished_total once it ran.
func TestMetricsJobs(t *testing.T) {
	upload := func(e *env) int64 {
		t.Helper()
		status, b, _ := e.do(store.RoleMLEngineer, "POST", "/api/v1/uploads?name=evil.pkl&kind=model&scan=true", bytes.NewReader(maliciousPickle()), "")
		var put ArtifactPut
		if status != http.StatusCreated || json.Unmarshal(b, &put) != nil || put.Job == nil {
			t.Fatalf("upload: %d %s", status, b)
		}
		return put.Job.Job
	}
	scan := func(state string) map[string]string { return map[string]string{"kind": queue.KindScan, "state": state} }

	t.Run("waiting", func(t *testing.T) {
		e := newEnv(t, withQueueOn(t, "", "", 0)) // no workers: the job waits
		_, samples := e.scrape()
		wantValue(t, samples, "mlsec_jobs", scan(queue.StateAvailable), 0)
		upload(e)
		_, samples = e.scrape()
		wantValue(t, samples, "mlsec_jobs", scan(queue.StateAvailable), 1)
		wantValue(t, samples, "mlsec_jobs_enqueued_total", map[string]string{"kind": queue.KindScan}, 1)
		if _, ok := value(samples, "mlsec_jobs_finished_total", scan(queue.StateCompleted)); ok {
			t.Errorf("a waiting job counted as finished")
		}
	})
	t.Run("ran", func(t *testing.T) {
		e := newEnv(t, withQueue(t))
		if js := e.waitJob(upload(e)); js.State != queue.StateCompleted {
			t.Fatalf("job: %+v", js)
		}
		text, samples := e.scrape()
		wantValue(t, samples, "mlsec_jobs_enqueued_total", map[string]string{"kind": queue.KindScan}, 1)
		wantValue(t, samples, "mlsec_jobs_finished_total", scan(queue.StateCompleted), 1)
		for _, st := range openJobStates {
			wantValue(t, samples, "mlsec_jobs", scan(st), 0)
		}
		if !strings.Contains(text, "# TYPE mlsec_jobs gauge\n") {
			t.Errorf("mlsec_jobs is not a gauge")
		}
		// A second scrape does not count the finished job again.
		_, samples = e.scrape()
		wantValue(t, samples, "mlsec_jobs_finished_total", scan(queue.StateCompleted), 1)
	})
}

// fakeJobs is a queue whose job states the test sets.
type fakeJobs struct {
	Jobs
	mu     sync.Mutex
	next   int64
	states map[int64]string // missing: not found
	err    error
}

func (f *fakeJobs) Enqueue(_ context.Context, r queue.Request) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Kind == "bad" {
		return 0, errors.New("refused")
	}
	f.next++
	f.states[f.next] = queue.StateAvailable
	return f.next, nil
}

func (f *fakeJobs) Status(_ context.Context, id int64) (queue.JobStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return queue.JobStatus{}, f.err
	}
	st, ok := f.states[id]
	if !ok {
		return queue.JobStatus{}, store.ErrNotFound
	}
	done := st == queue.StateCompleted || st == queue.StateCancelled || st == queue.StateDiscarded
	return queue.JobStatus{ID: id, Kind: queue.KindGate, State: st, Done: done}, nil
}

// TestTrackedJobs: finished jobs are counted once and forgotten, pruned
// jobs are forgotten, a failing queue keeps the last gauge values, and the
// tracked set is bounded.
func TestTrackedJobs(t *testing.T) {
	ctx := context.Background()
	m := newMetrics()
	f := &fakeJobs{states: map[int64]string{}}
	j := m.trackJobs(f)
	for range 4 {
		if _, err := j.Enqueue(ctx, queue.Request{Kind: queue.KindGate}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := j.Enqueue(ctx, queue.Request{Kind: "bad"}); err == nil {
		t.Fatal("enqueue error lost")
	}
	f.states[1], f.states[2] = queue.StateCompleted, queue.StateRunning
	delete(f.states, 3)
	var wg sync.WaitGroup
	for range 4 { // concurrent scrapes count job 1 once
		wg.Go(func() {
			if err := m.tracked.collect(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	f.err = errors.New("queue down")
	if err := m.tracked.collect(ctx); err == nil {
		t.Error("collect hid the queue's error")
	}
	var buf bytes.Buffer
	if err := m.writeTo(&buf); err != nil {
		t.Fatal(err)
	}
	samples := parseExposition(t, buf.String())
	gate := func(st string) map[string]string { return map[string]string{"kind": queue.KindGate, "state": st} }
	wantValue(t, samples, "mlsec_jobs_finished_total", gate(queue.StateCompleted), 1)
	wantValue(t, samples, "mlsec_jobs", gate(queue.StateRunning), 1)
	wantValue(t, samples, "mlsec_jobs", gate(queue.StateAvailable), 1)
	wantValue(t, samples, "mlsec_jobs_enqueued_total", map[string]string{"kind": queue.KindGate}, 4)
	wantValue(t, samples, "mlsec_jobs_enqueue_errors_total", map[string]string{"kind": "other"}, 1)
	if got := len(m.tracked.open); got != 2 {
		t.Errorf("tracking %d jobs, want 2 (running and available)", got)
	}

	f.err = nil
	for range maxTrackedJobs {
		if _, err := j.Enqueue(ctx, queue.Request{Kind: queue.KindScan}); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(m.tracked.open); got != maxTrackedJobs {
		t.Errorf("tracking %d jobs, want the cap %d", got, maxTrackedJobs)
	}
	buf.Reset()
	if err := m.writeTo(&buf); err != nil {
		t.Fatal(err)
	}
	wantValue(t, parseExposition(t, buf.String()), "mlsec_jobs_untracked_total", nil, 2)
}

func TestRouteLabel(t *testing.T) {
	for _, c := range []struct{ method, pattern, want string }{
		{"GET", "/api/v1/artifacts/{digest}", "GET /api/v1/artifacts/{digest}"},
		{"GET", "GET /artifacts/{digest}", "GET /artifacts/{digest}"},
		{"HEAD", "GET /healthz", "HEAD /healthz"},
		{"BREW", "/api/", "OTHER /api/"},
		{"get", "/x", "OTHER /x"},
		{"POST", "", "POST unmatched"},
	} {
		if got := routeLabel(c.method, c.pattern); got != c.want {
			t.Errorf("routeLabel(%q, %q) = %q, want %q", c.method, c.pattern, got, c.want)
		}
	}
}

// TestMetricsDocs keeps docs/server.md's metrics table true: it lists every
// family with its type.
func TestMetricsDocs(t *testing.T) {
	b, err := os.ReadFile("../docs/server.md")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := newMetrics().writeTo(&buf); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(buf.String(), "\n") {
		if m := typeLine.FindStringSubmatch(line); m != nil {
			n++
			if row := "| `" + m[1] + "` | " + m[2] + " |"; !strings.Contains(string(b), row) {
				t.Errorf("docs/server.md lacks the row %q", row)
			}
		}
	}
	if n < 17 {
		t.Errorf("only %d families", n)
	}
}
