package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/store"
)

// route is one API endpoint: its pattern, the permission it requires, its
// handler and what the OpenAPI document says about it. The route table is
// the single source of the mux, the permission checks, the OpenAPI paths and
// the role × route authorization test.
type route struct {
	Method string
	Path   string // ServeMux pattern path, e.g. /api/v1/artifacts/{digest}
	Perm   Permission
	Handle func(w http.ResponseWriter, r *http.Request) error

	// OpenAPI.
	ID      string // operationId
	Summary string
	Tag     string
	Params  []param
	// Body names the request body's schema (a component) or "binary" for
	// a raw byte stream; empty for no body.
	Body string
	// Status is the success status; Response names its schema.
	Status   int
	Response string
	// Upload routes take their size cap from MaxUploadBytes.
	Upload bool
	// Async routes answer 202 with a JobAccepted when the server runs a
	// job queue.
	Async bool
}

// param is one path or query parameter.
type param struct {
	Name, In, Desc string
	Type           string // "string" or "integer"
	Required       bool
}

func pathParam(name, desc string) param {
	return param{Name: name, In: "path", Desc: desc, Type: "string", Required: true}
}

func queryParam(name, typ, desc string) param {
	return param{Name: name, In: "query", Desc: desc, Type: typ}
}

// mutating reports whether a route changes state.
func (rt route) mutating() bool { return rt.Method != http.MethodGet && rt.Method != http.MethodHead }

// apiRoutes is the API's route table.
func (s *Server) apiRoutes() []route {
	digest := pathParam("digest", "artifact digest, sha256:<64 hex>")
	limit := queryParam("limit", "integer", "page size (default 100, maximum 1000)")
	return []route{
		{Method: "GET", Path: "/api/v1/whoami", Perm: PermRead, Handle: s.handleWhoami, ID: "whoami", Tag: "auth",
			Summary: "The caller's token: name and role", Status: 200, Response: "Token"},
		{Method: "GET", Path: "/api/v1/artifacts", Perm: PermRead, Handle: s.handleListArtifacts, ID: "listArtifacts", Tag: "artifacts",
			Summary: "List artifacts ordered by digest",
			Params: []param{queryParam("name", "string", "exact name"), queryParam("kind", "string", "artifact kind"),
				queryParam("state", "string", "trust state"), queryParam("source", "string", "exact registered source URI (how the admission webhook resolves a model reference)"), queryParam("after", "string", "paging cursor: last digest of the previous page"), limit},
			Status: 200, Response: "ArtifactList"},
		{Method: "POST", Path: "/api/v1/artifacts", Perm: PermArtifactWrite, Handle: s.handleRegister, ID: "registerArtifact", Tag: "artifacts",
			Summary: "Register an artifact by reference (digest, name, source); idempotent", Body: "RegisterRequest", Status: 201, Response: "ArtifactPut"},
		{Method: "POST", Path: "/api/v1/uploads", Perm: PermArtifactWrite, Handle: s.handleUpload, ID: "uploadArtifact", Tag: "artifacts",
			Summary: "Upload an artifact's bytes (streamed, size-capped, encrypted at rest); registers it by its sha256",
			Params: []param{queryParam("name", "string", "artifact name"), queryParam("version", "string", "artifact version"),
				queryParam("kind", "string", "artifact kind, e.g. model or dataset"), queryParam("source", "string", "where the artifact came from (a URL; default \"upload\"): the gates judge its trust by the pipeline's sources"), queryParam("scan", "string", "\"true\" scans the upload at once"),
				queryParam("digest", "string", "sha256:HEX the bytes must have (or a Content-Digest: sha-256 header); a mismatch registers nothing")},
			Body: "binary", Status: 201, Response: "ArtifactPut", Upload: true},
		{Method: "GET", Path: "/api/v1/artifacts/{digest}/blob", Perm: PermRead, Handle: s.handleDownload, ID: "downloadArtifact", Tag: "artifacts",
			Summary: "Download an uploaded artifact's bytes, with Content-Digest; cut off if the stored bytes fail their digest",
			Params:  []param{pathParam("digest", "artifact digest sha256:HEX")}, Status: 200, Response: "binary"},
		{Method: "GET", Path: "/api/v1/artifacts/{digest}", Perm: PermRead, Handle: s.handleArtifact, ID: "getArtifact", Tag: "artifacts",
			Summary: "An artifact with its finding counts", Params: []param{digest}, Status: 200, Response: "ArtifactDetail"},
		{Method: "GET", Path: "/api/v1/artifacts/{digest}/findings", Perm: PermRead, Handle: s.handleArtifactFindings, ID: "artifactFindings", Tag: "findings",
			Summary: "An artifact's findings, most severe first", Params: []param{digest, queryParam("min_severity", "string", "info|low|medium|high|critical"), limit},
			Status: 200, Response: "FindingList"},
		{Method: "GET", Path: "/api/v1/artifacts/{digest}/evidence", Perm: PermRead, Handle: s.handleArtifactEvidence, ID: "artifactEvidence", Tag: "evidence",
			Summary: "Indexed facts of the evidence about an artifact, newest first", Params: []param{digest, queryParam("predicate_type", "string", "filter by predicate type"), limit},
			Status: 200, Response: "FactList"},
		{Method: "GET", Path: "/api/v1/artifacts/{digest}/decisions", Perm: PermRead, Handle: s.handleDecisions, ID: "artifactDecisions", Tag: "gates",
			Summary: "An artifact's gate decisions, oldest first", Params: []param{digest}, Status: 200, Response: "DecisionList"},
		{Method: "GET", Path: "/api/v1/artifacts/{digest}/history", Perm: PermRead, Handle: s.handleHistory, ID: "artifactHistory", Tag: "gates",
			Summary: "An artifact's trust-state history, oldest first", Params: []param{digest}, Status: 200, Response: "HistoryList"},
		{Method: "GET", Path: "/api/v1/artifacts/{digest}/lineage", Perm: PermRead, Handle: s.handleLineage, ID: "artifactLineage", Tag: "lineage",
			Summary: "Lineage edges around an artifact",
			Params:  []param{digest, queryParam("direction", "string", "upstream (inputs, default) or downstream (derived artifacts)"), queryParam("depth", "integer", "hops, 1..16 (default 16)")},
			Status:  200, Response: "EdgeList"},
		{Method: "GET", Path: "/api/v1/artifacts/{digest}/impact", Perm: PermRead, Handle: s.handleImpact, ID: "artifactImpact", Tag: "lineage",
			Summary: "Artifacts derived, directly or not, from this one (incident impact) with their trust states", Params: []param{digest}, Status: 200, Response: "ImpactList"},
		{Method: "POST", Path: "/api/v1/artifacts/{digest}/scan", Perm: PermCheck, Handle: s.handleScan, ID: "scanArtifact", Tag: "checks",
			Summary: "Scan an uploaded artifact; stores findings and a scan attestation (queued: 202 with a job)", Params: []param{digest}, Status: 200, Response: "ScanResult", Async: true},
		{Method: "POST", Path: "/api/v1/artifacts/{digest}/verify", Perm: PermCheck, Handle: s.handleVerify, ID: "verifyArtifact", Tag: "checks",
			Summary: "Verify an uploaded artifact against its stored OpenSSF Model Signing signatures (queued: 202 with a job)", Params: []param{digest}, Status: 200, Response: "VerifyResult", Async: true},
		{Method: "POST", Path: "/api/v1/artifacts/{digest}/bom", Perm: PermCheck, Handle: s.handleBOM, ID: "bomArtifact", Tag: "checks",
			Summary: "Queue an AI-BOM (CycloneDX) of an uploaded artifact, stored as an in-toto statement (needs the job queue)", Params: []param{digest}, Status: 202, Response: "JobAccepted"},
		{Method: "POST", Path: "/api/v1/artifacts/{digest}/gate", Perm: PermGate, Handle: s.handleGate, ID: "gateArtifact", Tag: "gates",
			Summary: "Evaluate a lifecycle stage's gate on the stored evidence and record the decision (queued: 202 with a job)", Params: []param{digest}, Body: "GateRequest", Status: 200, Response: "GateResult", Async: true},
		{Method: "GET", Path: "/api/v1/jobs/{id}", Perm: PermRead, Handle: s.handleJob, ID: "getJob", Tag: "jobs",
			Summary: "A queued job's state, attempts and errors", Params: []param{pathParam("id", "job id")}, Status: 200, Response: "JobStatus"},
		{Method: "POST", Path: "/api/v1/artifacts/{digest}/override", Perm: PermOverride, Handle: s.handleOverride, ID: "overrideState", Tag: "gates",
			Summary: "Change a trust state manually (audited break-glass; reason required)", Params: []param{digest}, Body: "OverrideRequest", Status: 200, Response: "Artifact"},
		{Method: "POST", Path: "/api/v1/attestations", Perm: PermEvidenceWrite, Handle: s.handleAttestation, ID: "submitAttestation", Tag: "evidence",
			Summary: "Submit an attestation: a Sigstore bundle, a DSSE envelope or an in-toto statement; stored verbatim and indexed",
			Body:    "Attestation", Status: 201, Response: "AttestationResult"},
		{Method: "GET", Path: "/api/v1/evidence/{id}", Perm: PermRead, Handle: s.handleEvidence, ID: "getEvidence", Tag: "evidence",
			Summary: "Stored evidence, verbatim, with its media type", Params: []param{pathParam("id", "evidence id")}, Status: 200, Response: "binary"},
		{Method: "POST", Path: "/api/v1/lineage", Perm: PermEvidenceWrite, Handle: s.handleAddEdge, ID: "addEdge", Tag: "lineage",
			Summary: "Record a lineage edge: from was derived from / built with to", Body: "Edge", Status: 201, Response: "Edge"},
		{Method: "GET", Path: "/api/v1/findings", Perm: PermRead, Handle: s.handleFindings, ID: "listFindings", Tag: "findings",
			Summary: "Findings across artifacts, most severe first",
			Params:  []param{queryParam("rule", "string", "rule id"), queryParam("min_severity", "string", "info|low|medium|high|critical"), limit},
			Status:  200, Response: "FindingList"},
		{Method: "GET", Path: "/api/v1/stages", Perm: PermRead, Handle: s.handleStages, ID: "listStages", Tag: "lifecycle",
			Summary: "The lifecycle stages with the gate status of an artifact (optional)", Params: []param{queryParam("artifact", "string", "digest")},
			Status: 200, Response: "StageList"},
		{Method: "GET", Path: "/api/v1/coverage", Perm: PermRead, Handle: s.handleCoverage, ID: "coverage", Tag: "frameworks",
			Summary: "Framework coverage: for each framework item, the controls covering it, and the gaps", Params: []param{queryParam("framework", "string", "one framework id")},
			Status: 200, Response: "Coverage"},
		{Method: "GET", Path: "/api/v1/maturity", Perm: PermRead, Handle: s.handleMaturity, ID: "maturity", Tag: "frameworks",
			Summary: "Maturity per artifact class from the stored evidence (CoSAI AIMM levels)", Status: 200, Response: "Maturity"},
		{Method: "GET", Path: "/api/v1/hubscans", Perm: PermRead, Handle: s.handleHubScans, ID: "listHubScans", Tag: "hub",
			Summary: "Hub scans, newest first", Params: []param{limit}, Status: 200, Response: "HubScanList"},
		{Method: "POST", Path: "/api/v1/hubscans", Perm: PermHubScan, Handle: s.handleStartHubScan, ID: "startHubScan", Tag: "hub",
			Summary: "Start a hub scan of a directory on the server: one queued scan job per model (needs the job queue)", Body: "HubScanRequest", Status: 202, Response: "HubScanStarted"},
		{Method: "GET", Path: "/api/v1/hubscans/{id}", Perm: PermRead, Handle: s.handleHubScan, ID: "getHubScan", Tag: "hub",
			Summary: "A hub scan's progress and items", Params: []param{pathParam("id", "hub scan id"), queryParam("status", "string", "pending|done|failed"), limit},
			Status: 200, Response: "HubScanDetail"},
		{Method: "GET", Path: "/api/v1/stats", Perm: PermRead, Handle: s.handleStats, ID: "stats", Tag: "artifacts",
			Summary: "Store summary: artifacts by state, findings by severity", Status: 200, Response: "Stats"},
		{Method: "GET", Path: "/api/v1/audit", Perm: PermAudit, Handle: s.handleAudit, ID: "auditLog", Tag: "audit",
			Summary: "Audit log entries after a sequence number", Params: []param{queryParam("after", "integer", "sequence number"), queryParam("limit", "integer", "page size (default 100, maximum 10000)")},
			Status: 200, Response: "AuditList"},
		{Method: "GET", Path: "/api/v1/audit/verify", Perm: PermAudit, Handle: s.handleAuditVerify, ID: "verifyAudit", Tag: "audit",
			Summary: "Re-compute the audit log's hash chain", Status: 200, Response: "AuditVerify"},
		{Method: "GET", Path: "/api/v1/tokens", Perm: PermTokens, Handle: s.handleTokens, ID: "listTokens", Tag: "auth",
			Summary: "API tokens (without secrets)", Status: 200, Response: "TokenList"},
		{Method: "POST", Path: "/api/v1/tokens", Perm: PermTokens, Handle: s.handleCreateToken, ID: "createToken", Tag: "auth",
			Summary: "Create an API token; the secret is returned once", Body: "TokenRequest", Status: 201, Response: "TokenCreated"},
		{Method: "DELETE", Path: "/api/v1/tokens/{id}", Perm: PermTokens, Handle: s.handleRevokeToken, ID: "revokeToken", Tag: "auth",
			Summary: "Revoke an API token", Params: []param{pathParam("id", "token id")}, Status: 204},
	}
}

// buildHandler assembles the mux: API routes through the middleware chain,
// method fallbacks answering 405 in JSON, the public endpoints and the UI.
func (s *Server) buildHandler() (http.Handler, error) {
	mux := http.NewServeMux()
	methods := map[string][]string{}
	for _, rt := range s.routes {
		mux.Handle(rt.Method+" "+rt.Path, s.wrap(rt))
		methods[rt.Path] = append(methods[rt.Path], rt.Method)
	}
	for path, ms := range methods {
		allow := strings.Join(slices.Sorted(slices.Values(ms)), ", ")
		mux.Handle(path, s.wrap(route{Path: path, Perm: PermPublic, Handle: func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Allow", allow)
			return errorf(EMETHODNOTALLOWED, "method %s not allowed on %s (allowed: %s)", r.Method, path, allow)
		}}))
	}
	mux.Handle("/api/", s.wrap(route{Path: "/api/", Perm: PermPublic, Handle: func(_ http.ResponseWriter, r *http.Request) error {
		return errorf(mlsec.ENOTFOUND, "no API endpoint %s", r.URL.Path)
	}}))
	mux.Handle("GET /api/openapi.json", s.wrap(route{Path: "/api/openapi.json", Perm: PermPublic, Handle: s.handleOpenAPI}))
	mux.Handle("GET /healthz", s.wrap(route{Path: "/healthz", Perm: PermPublic, Handle: s.handleHealth}))
	mux.Handle("GET /metrics", http.HandlerFunc(s.serveMetrics))
	if err := s.mountUI(mux); err != nil {
		return nil, err
	}
	return mux, nil
}

// statusWriter records the response status for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	actor  string // for the access log
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wrap runs a route's handler behind the middleware chain: metrics and
// structured access log, rate limit, authentication, permission check and
// body size cap, then maps a returned error to its JSON response.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := rt.Method // a fallback route (no method) takes the request's
		if method == "" {
			method = r.Method
		}
		label := routeLabel(method, rt.Path)
		start := s.cfg.Now()
		s.metrics.inFlight.add(1)
		sw := &statusWriter{ResponseWriter: w, actor: "anonymous"}
		defer func() {
			s.metrics.inFlight.add(-1)
			d := s.cfg.Now().Sub(start)
			code := strconv.Itoa(sw.status)
			s.metrics.requests.inc(metricMethod(r.Method), label, code)
			s.metrics.requestDuration.observe(d, label)
			lvl := slog.LevelInfo
			if sw.status >= 500 {
				lvl = slog.LevelError
			}
			s.log.LogAttrs(r.Context(), lvl, "request", slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.String("route", label), slog.Int("status", sw.status), slog.Int64("bytes", sw.bytes),
				slog.Duration("duration", d), slog.String("actor", sw.actor), slog.String("remote", r.RemoteAddr))
		}()
		if err := s.serveRoute(sw, r, rt); err != nil {
			writeError(sw, s.log, r, err)
		}
	})
}

func (s *Server) serveRoute(w *statusWriter, r *http.Request, rt route) error {
	secret := bearer(r)
	if rt.Perm != PermPublic {
		if ok, wait := s.limiter.allow(rateKey(r, secret)); !ok {
			s.metrics.rateLimited.inc()
			w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
			return errorf(ERATELIMITED, "rate limit exceeded; retry after %s", wait.Round(time.Millisecond))
		}
		tok, err := s.authenticate(r.Context(), secret)
		if err != nil {
			return err
		}
		if !allowed(tok.Role, rt.Perm) {
			return errorf(mlsec.EFORBIDDEN, "role %s may not %s (requires %s)", tok.Role, rt.ID, rt.Perm)
		}
		r = r.WithContext(withToken(r.Context(), tok))
		w.actor = store.TokenActor(tok)
	}
	limit := s.cfg.MaxBodyBytes
	if rt.Upload {
		limit = s.cfg.MaxUploadBytes
	}
	if r.ContentLength > limit {
		return errorf(ETOOLARGE, "request body of %d bytes exceeds the limit of %d", r.ContentLength, limit)
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	err := rt.Handle(w, r)
	if err != nil && errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return errorf(EUNAVAILABLE, "request cancelled")
	}
	return err
}
