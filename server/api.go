package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/queue"
	"github.com/mlsecops/mlsec/server/gating"
	"github.com/mlsecops/mlsec/store"
)

// decodeJSON reads a JSON request body into v, rejecting unknown fields
// and trailing data.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return errorf(ETOOLARGE, "request body exceeds %d bytes", maxErr.Limit)
		}
		return errorf(mlsec.EINVALID, "request body: %v", err)
	}
	if dec.More() {
		return errorf(mlsec.EINVALID, "request body: trailing data after the JSON value")
	}
	return nil
}

// pathDigest parses the {digest} path value.
func pathDigest(r *http.Request) (store.Digest, error) {
	d, err := store.ParseDigest(r.PathValue("digest"))
	if err != nil {
		return "", fromStore(err)
	}
	return d, nil
}

// queryInt parses an integer query parameter; empty gives def.
func queryInt(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, errorf(mlsec.EINVALID, "query parameter %s must be an integer in %d..%d", name, lo, hi)
	}
	return n, nil
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.Ping(r.Context()); err != nil {
		return errorf(EUNAVAILABLE, "store unavailable: %v", err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": mlsec.Version})
	return nil
}

func (s *Server) handleWhoami(w http.ResponseWriter, r *http.Request) error {
	t, _ := tokenFrom(r.Context())
	writeJSON(w, http.StatusOK, t)
	return nil
}

// ArtifactList is a page of artifacts; Next is the cursor for the next page
// (empty on the last).
type ArtifactList struct {
	Artifacts []store.Artifact `json:"artifacts"`
	Next      store.Digest     `json:"next,omitempty"`
}

func (s *Server) handleListArtifacts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lim, err := queryInt(r, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	aq := store.ArtifactQuery{Name: q.Get("name"), Kind: q.Get("kind"), State: store.TrustState(q.Get("state")), Source: q.Get("source"), Limit: lim}
	if aq.State != "" && !aq.State.Valid() {
		return errorf(mlsec.EINVALID, "unknown state %q", aq.State)
	}
	if a := q.Get("after"); a != "" {
		if aq.After, err = store.ParseDigest(a); err != nil {
			return fromStore(err)
		}
	}
	arts, err := s.store.ListArtifacts(r.Context(), aq)
	if err != nil {
		return fromStore(err)
	}
	out := ArtifactList{Artifacts: nonNil(arts)}
	if len(arts) == lim {
		out.Next = arts[len(arts)-1].Digest
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// RegisterRequest registers an artifact by reference.
type RegisterRequest struct {
	Digest    string `json:"digest"`
	Name      string `json:"name,omitempty"`
	Version   string `json:"version,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Size      int64  `json:"size,omitempty"`
	Source    string `json:"source,omitempty"`
	Directory bool   `json:"directory,omitempty"`
}

// ArtifactPut answers a registration or upload.
type ArtifactPut struct {
	Artifact store.Artifact `json:"artifact"`
	Created  bool           `json:"created"`
	// Scan is set when the upload asked for an immediate scan (scan=true)
	// and the server scans inline; Job when it queued the scan instead.
	Scan *ScanResult  `json:"scan,omitempty"`
	Job  *JobAccepted `json:"job,omitempty"`
}

func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) error {
	var req RegisterRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	d, err := store.ParseDigest(req.Digest)
	if err != nil {
		return fromStore(err)
	}
	if req.Size < 0 {
		return errorf(mlsec.EINVALID, "size must not be negative")
	}
	a, created, err := s.store.PutArtifact(r.Context(), store.Artifact{
		Digest: d, Name: req.Name, Version: req.Version, Kind: req.Kind,
		Size: req.Size, Source: req.Source, Directory: req.Directory,
	}, actor(r.Context()))
	if err != nil {
		return fromStore(err)
	}
	writeJSON(w, putStatus(created), ArtifactPut{Artifact: a, Created: created})
	return nil
}

func putStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Blobs == nil {
		return errorf(mlsec.EINVALID, "this server stores no blobs: register the artifact by reference")
	}
	q := r.URL.Query()
	declared, err := declaredDigest(r) // transfer.go
	if err != nil {
		return err
	}
	body, err := nonEmpty(r.Body)
	if err != nil {
		return err
	}
	d, size, err := s.cfg.Blobs.Put(r.Context(), body)
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return errorf(ETOOLARGE, "upload exceeds the limit of %d bytes", maxErr.Limit)
		}
		return err
	}
	if err := s.checkUpload(r, declared, d); err != nil {
		return err
	}
	s.metrics.uploadBytes.add(float64(size))
	source := q.Get("source")
	if source == "" {
		source = gating.UploadSource
	}
	a, created, err := s.store.PutArtifact(r.Context(), store.Artifact{
		Digest: d, Name: q.Get("name"), Version: q.Get("version"), Kind: q.Get("kind"),
		Size: size, Source: source, Blob: true,
	}, actor(r.Context()))
	if err != nil {
		return fromStore(err)
	}
	out := ArtifactPut{Artifact: a, Created: created}
	if q.Get("scan") == "true" && s.cfg.Jobs != nil {
		id, err := s.cfg.Jobs.Enqueue(r.Context(), queue.Request{Kind: queue.KindScan, Artifact: a.Digest, Actor: actor(r.Context())})
		if err != nil {
			return fromStore(err)
		}
		out.Job = &JobAccepted{Job: id, Kind: queue.KindScan, Artifact: a.Digest, StatusURL: jobURL(id)}
	} else if q.Get("scan") == "true" {
		res, err := s.scanArtifact(r.Context(), a)
		if err != nil {
			return err
		}
		out.Scan = &res
	}
	writeJSON(w, putStatus(created), out)
	return nil
}

// nonEmpty refuses an empty upload body (no model or dataset has zero
// bytes; an empty upload is a client mistake, e.g. a missing file) and
// returns a reader of the whole body otherwise.
func nonEmpty(body io.Reader) (io.Reader, error) {
	var first [1]byte
	n, err := io.ReadFull(body, first[:])
	if n == 1 {
		return io.MultiReader(bytes.NewReader(first[:]), body), nil
	}
	var maxErr *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return nil, errorf(mlsec.EINVALID, "empty upload: the request body has no bytes (send the artifact's content)")
	case errors.As(err, &maxErr):
		return nil, errorf(ETOOLARGE, "upload exceeds the limit of %d bytes", maxErr.Limit)
	}
	return nil, errorf(mlsec.EIO, "reading the upload: %v", err)
}

// ArtifactDetail is an artifact with its finding counts by severity.
type ArtifactDetail struct {
	store.Artifact
	Findings map[string]int `json:"finding_counts"`
}

func (s *Server) handleArtifact(w http.ResponseWriter, r *http.Request) error {
	d, err := pathDigest(r)
	if err != nil {
		return err
	}
	a, err := s.store.Artifact(r.Context(), d)
	if err != nil {
		return fromStore(err)
	}
	counts, err := s.store.FindingCounts(r.Context(), d)
	if err != nil {
		return fromStore(err)
	}
	writeJSON(w, http.StatusOK, ArtifactDetail{Artifact: a, Findings: severityCounts(counts)})
	return nil
}

func severityCounts(c map[mlsec.Severity]int) map[string]int {
	out := map[string]int{}
	for sev, n := range c {
		out[sev.String()] = n
	}
	return out
}

// FindingList is a list of stored findings.
type FindingList struct {
	Findings []store.StoredFinding `json:"findings"`
}

func (s *Server) findings(w http.ResponseWriter, r *http.Request, q store.FindingQuery) error {
	var err error
	if q.Limit, err = queryInt(r, "limit", 100, 1, 1000); err != nil {
		return err
	}
	if ms := r.URL.Query().Get("min_severity"); ms != "" {
		if q.MinSeverity, err = mlsec.ParseSeverity(ms); err != nil {
			return errorf(mlsec.EINVALID, "min_severity: %v", err)
		}
	}
	fs, err := s.store.Findings(r.Context(), q)
	if err != nil {
		return fromStore(err)
	}
	writeJSON(w, http.StatusOK, FindingList{Findings: nonNil(fs)})
	return nil
}

func (s *Server) handleArtifactFindings(w http.ResponseWriter, r *http.Request) error {
	d, err := s.existing(r)
	if err != nil {
		return err
	}
	return s.findings(w, r, store.FindingQuery{Artifact: d})
}

func (s *Server) handleFindings(w http.ResponseWriter, r *http.Request) error {
	return s.findings(w, r, store.FindingQuery{RuleID: r.URL.Query().Get("rule")})
}

// existing parses {digest} and checks the artifact exists.
func (s *Server) existing(r *http.Request) (store.Digest, error) {
	d, err := pathDigest(r)
	if err != nil {
		return "", err
	}
	if _, err := s.store.Artifact(r.Context(), d); err != nil {
		return "", fromStore(err)
	}
	return d, nil
}

// FactList is a list of indexed evidence facts.
type FactList struct {
	Facts []store.Fact `json:"facts"`
}

func (s *Server) handleArtifactEvidence(w http.ResponseWriter, r *http.Request) error {
	d, err := s.existing(r)
	if err != nil {
		return err
	}
	lim, err := queryInt(r, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	facts, err := s.store.Facts(r.Context(), store.FactQuery{Subject: d, PredicateType: r.URL.Query().Get("predicate_type"), Limit: lim})
	if err != nil {
		return fromStore(err)
	}
	writeJSON(w, http.StatusOK, FactList{Facts: nonNil(facts)})
	return nil
}

// DecisionList is an artifact's gate decisions.
type DecisionList struct {
	Decisions []store.Decision `json:"decisions"`
}

func (s *Server) handleDecisions(w http.ResponseWriter, r *http.Request) error {
	d, err := s.existing(r)
	if err != nil {
		return err
	}
	ds, err := s.store.Decisions(r.Context(), d)
	if err != nil {
		return fromStore(err)
	}
	writeJSON(w, http.StatusOK, DecisionList{Decisions: nonNil(ds)})
	return nil
}

// HistoryList is an artifact's trust-state history.
type HistoryList struct {
	History []store.StateChange `json:"history"`
}

func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) error {
	d, err := s.existing(r)
	if err != nil {
		return err
	}
	h, err := s.store.StateHistory(r.Context(), d)
	if err != nil {
		return fromStore(err)
	}
	writeJSON(w, http.StatusOK, HistoryList{History: nonNil(h)})
	return nil
}

// GateRequest asks for a stage's gate decision.
type GateRequest struct {
	Stage string `json:"stage"`
}

// GateResult is a recorded gate decision and the artifact after it.
type GateResult struct {
	Decision store.Decision `json:"decision"`
	Artifact store.Artifact `json:"artifact"`
}

func (s *Server) handleGate(w http.ResponseWriter, r *http.Request) error {
	d, err := pathDigest(r)
	if err != nil {
		return err
	}
	var req GateRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if _, ok := lifecycle.LookupStage(req.Stage); !ok {
		return errorf(mlsec.EINVALID, "unknown stage %q (want one of %s)", req.Stage, strings.Join(lifecycle.StageNames(), ", "))
	}
	tok, _ := tokenFrom(r.Context())
	if !mayGate(tok.Role, req.Stage) {
		return errorf(mlsec.EFORBIDDEN, "role %s may not request the %s gate (allowed: %s)", tok.Role, req.Stage, strings.Join(gateStages(tok.Role), ", "))
	}
	if s.cfg.Jobs != nil {
		if _, err := s.store.Artifact(r.Context(), d); err != nil {
			return fromStore(err)
		}
		return s.enqueue(w, r, queue.Request{Kind: queue.KindGate, Artifact: d, Stage: req.Stage})
	}
	res, err := s.gate(r.Context(), d, req.Stage)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// gate evaluates the stage's gate on the stored evidence and records the
// decision (package gating, the same code the queue's gate jobs run).
func (s *Server) gate(ctx context.Context, d store.Digest, stage string) (GateResult, error) {
	start := time.Now()
	res, err := s.decider.Decide(ctx, d, stage, actor(ctx))
	if err != nil {
		return GateResult{}, fromStore(err)
	}
	s.metrics.gateDecisions.inc(stage, string(res.Decision.Result))
	s.metrics.gateDuration.observe(time.Since(start))
	return GateResult{Decision: res.Decision, Artifact: res.Artifact}, nil
}

// OverrideRequest changes a trust state manually.
type OverrideRequest struct {
	To     store.TrustState `json:"to"`
	Reason string           `json:"reason"`
}

func (s *Server) handleOverride(w http.ResponseWriter, r *http.Request) error {
	d, err := pathDigest(r)
	if err != nil {
		return err
	}
	var req OverrideRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Reason) == "" {
		return errorf(mlsec.EINVALID, "an override needs a reason")
	}
	if !req.To.Valid() {
		return errorf(mlsec.EINVALID, "unknown trust state %q (want one of %s)", req.To, strings.Join(trustStates(), ", "))
	}
	a, err := s.store.Override(r.Context(), store.Override{Artifact: d, To: req.To, Actor: actor(r.Context()), Reason: req.Reason})
	if err != nil {
		return fromStore(err)
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// trustStates names the trust states, in lifecycle order.
func trustStates() []string {
	return []string{string(store.StateQuarantined), string(store.StateVerified), string(store.StateReleased), string(store.StateRevoked)}
}

// EdgeList is a list of lineage edges.
type EdgeList struct {
	Edges []store.Edge `json:"edges"`
}

func (s *Server) handleLineage(w http.ResponseWriter, r *http.Request) error {
	d, err := s.existing(r)
	if err != nil {
		return err
	}
	dir := store.Upstream
	switch r.URL.Query().Get("direction") {
	case "", "upstream":
	case "downstream":
		dir = store.Downstream
	default:
		return errorf(mlsec.EINVALID, "direction must be upstream or downstream")
	}
	depth, err := queryInt(r, "depth", 16, 1, 16)
	if err != nil {
		return err
	}
	edges, err := s.store.Lineage(r.Context(), d, dir, depth)
	if err != nil {
		return fromStore(err)
	}
	writeJSON(w, http.StatusOK, EdgeList{Edges: nonNil(edges)})
	return nil
}

func (s *Server) handleAddEdge(w http.ResponseWriter, r *http.Request) error {
	var e store.Edge
	if err := decodeJSON(r, &e); err != nil {
		return err
	}
	for _, d := range []store.Digest{e.From, e.To} {
		if _, err := store.ParseDigest(string(d)); err != nil {
			return fromStore(err)
		}
	}
	if e.From == e.To {
		return errorf(mlsec.EINVALID, "an edge needs two different artifacts")
	}
	if e.Relation == "" {
		return errorf(mlsec.EINVALID, "relation is required")
	}
	e.CreatedAt = time.Time{}
	if err := s.checkAcyclic(r.Context(), e.From, e.To); err != nil {
		return err
	}
	e, err := s.addEdge(r.Context(), e)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, e)
	return nil
}

// addEdge records a lineage edge and returns it as stored: with its time
// (the first one's when the edge was already recorded), never the zero
// time of the request.
func (s *Server) addEdge(ctx context.Context, e store.Edge) (store.Edge, error) {
	if err := s.store.AddEdge(ctx, e, actor(ctx)); err != nil {
		return store.Edge{}, fromStore(err)
	}
	edges, err := s.store.Lineage(ctx, e.From, store.Upstream, 1)
	if err != nil {
		return store.Edge{}, fromStore(err)
	}
	for _, st := range edges {
		if st.From == e.From && st.To == e.To && st.Relation == e.Relation {
			return st, nil
		}
	}
	return store.Edge{}, errorf(mlsec.EINTERNAL, "lineage edge %s -> %s not found after it was recorded", e.From, e.To)
}

func (s *Server) handleEvidence(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return errorf(mlsec.EINVALID, "evidence id must be a positive integer")
	}
	e, err := s.store.Evidence(r.Context(), id)
	if err != nil {
		return fromStore(err)
	}
	mt := e.MediaType
	if mt == "" {
		mt = "application/octet-stream"
	}
	w.Header().Set("Content-Type", mt)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", "attachment")
	w.Header().Set("Digest", string(e.Digest))
	_, err = w.Write(e.Bundle)
	return err
}

// StatsResponse mirrors store.Stats with severities as names.
type StatsResponse struct {
	Artifacts int                      `json:"artifacts"`
	ByState   map[store.TrustState]int `json:"by_state"`
	Findings  map[string]int           `json:"findings_by_severity"`
	Evidence  int                      `json:"evidence"`
	Decisions int                      `json:"decisions"`
}

func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store.Stats(r.Context())
	if err != nil {
		return fromStore(err)
	}
	writeJSON(w, http.StatusOK, StatsResponse{st.Artifacts, st.ByState, severityCounts(st.Findings), st.Evidence, st.Decisions})
	return nil
}

// HubScanList lists hub scans.
type HubScanList struct {
	Scans []store.HubScan `json:"scans"`
}

func (s *Server) handleHubScans(w http.ResponseWriter, r *http.Request) error {
	lim, err := queryInt(r, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	hs, err := s.store.HubScans(r.Context(), lim)
	if err != nil {
		return fromStore(err)
	}
	writeJSON(w, http.StatusOK, HubScanList{Scans: nonNil(hs)})
	return nil
}

// HubScanDetail is a hub scan with (some of) its items.
type HubScanDetail struct {
	Scan  store.HubScan       `json:"scan"`
	Items []store.HubScanItem `json:"items"`
}

func (s *Server) hubScan(r *http.Request) (HubScanDetail, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return HubScanDetail{}, errorf(mlsec.EINVALID, "hub scan id must be a positive integer")
	}
	lim, err := queryInt(r, "limit", 100, 1, 1000)
	if err != nil {
		return HubScanDetail{}, err
	}
	status := r.URL.Query().Get("status")
	switch status {
	case "", "pending", "done", "failed":
	default:
		return HubScanDetail{}, errorf(mlsec.EINVALID, "status must be pending, done or failed")
	}
	hs, err := s.store.HubScan(r.Context(), id)
	if err != nil {
		return HubScanDetail{}, fromStore(err)
	}
	items, err := s.store.HubScanItems(r.Context(), id, status, lim)
	if err != nil {
		return HubScanDetail{}, fromStore(err)
	}
	return HubScanDetail{Scan: hs, Items: nonNil(items)}, nil
}

func (s *Server) handleHubScan(w http.ResponseWriter, r *http.Request) error {
	d, err := s.hubScan(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// AuditList is a page of the audit log.
type AuditList struct {
	Entries []store.AuditEntry `json:"entries"`
}

func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) error {
	after, err := queryInt(r, "after", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	lim, err := queryInt(r, "limit", 100, 1, 10000)
	if err != nil {
		return err
	}
	es, err := s.store.AuditLog(r.Context(), int64(after), lim)
	if err != nil {
		return fromStore(err)
	}
	writeJSON(w, http.StatusOK, AuditList{Entries: nonNil(es)})
	return nil
}

// AuditVerify reports the audit chain check.
type AuditVerify struct {
	OK      bool   `json:"ok"`
	Entries int64  `json:"entries"`
	BadSeq  int64  `json:"bad_seq,omitempty"`
	Problem string `json:"problem,omitempty"`
}

func (s *Server) handleAuditVerify(w http.ResponseWriter, r *http.Request) error {
	n, err := s.store.VerifyAudit(r.Context())
	var ae *store.AuditError
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, AuditVerify{OK: true, Entries: n})
	case errors.As(err, &ae):
		writeJSON(w, http.StatusOK, AuditVerify{OK: false, Entries: n, BadSeq: ae.Seq, Problem: ae.Reason})
	default:
		return fromStore(err)
	}
	return nil
}

// TokenList lists API tokens.
type TokenList struct {
	Tokens []store.Token `json:"tokens"`
}

func (s *Server) handleTokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.store.Tokens(r.Context())
	if err != nil {
		return fromStore(err)
	}
	writeJSON(w, http.StatusOK, TokenList{Tokens: nonNil(ts)})
	return nil
}

// TokenRequest creates an API token.
type TokenRequest struct {
	Name string     `json:"name"`
	Role store.Role `json:"role"`
	// TTL is a Go duration ("720h"); empty means no expiry.
	TTL string `json:"ttl,omitempty"`
}

// TokenCreated returns a new token's secret, once.
type TokenCreated struct {
	Token  store.Token `json:"token"`
	Secret string      `json:"secret"`
}

func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) error {
	var req TokenRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Name) == "" {
		return errorf(mlsec.EINVALID, "token name is required")
	}
	if !req.Role.Valid() {
		roles := make([]string, 0, len(store.Roles()))
		for _, r := range store.Roles() {
			roles = append(roles, string(r))
		}
		return errorf(mlsec.EINVALID, "unknown role %q (want one of %s)", req.Role, strings.Join(roles, ", "))
	}
	var ttl time.Duration
	if req.TTL != "" {
		var err error
		if ttl, err = time.ParseDuration(req.TTL); err != nil || ttl <= 0 {
			return errorf(mlsec.EINVALID, "ttl must be a positive duration such as 720h")
		}
	}
	secret, tok, err := s.store.CreateToken(r.Context(), store.NewToken{Name: req.Name, Role: req.Role, TTL: ttl, Actor: actor(r.Context())})
	if err != nil {
		return fromStore(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, TokenCreated{Token: tok, Secret: secret})
	return nil
}

func (s *Server) handleRevokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return errorf(mlsec.EINVALID, "token id must be a positive integer")
	}
	if err := s.store.RevokeToken(r.Context(), id, actor(r.Context())); err != nil {
		return fromStore(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// nonNil turns a nil slice into an empty one so JSON shows [] not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
