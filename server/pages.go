package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/diagram"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/lineage"
	"github.com/mlsecops/mlsec/policy"
	"github.com/mlsecops/mlsec/server/ui"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/store"
	"google.golang.org/protobuf/encoding/protojson"
)

// pageData is what every dashboard template receives.
type pageData struct {
	Title string
	User  *store.Token
	Data  any
	// CSRF is the session's token for the sign-out form.
	CSRF string
}

// mountUI registers the dashboard: read-only GET pages authenticated by
// the session cookie (or a bearer token), the login form and static files.
func (s *Server) mountUI(mux *http.ServeMux) error {
	r, err := ui.New()
	if err != nil {
		return err
	}
	page := func(name string, fn func(*http.Request) (string, any, error)) http.Handler {
		return s.pageHandler(r, name, fn)
	}
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(ui.Static())))
	mux.Handle("GET /{$}", page("lifecycle", s.lifecyclePage))
	mux.Handle("GET /artifacts", page("artifacts", s.artifactsPage))
	mux.Handle("GET /artifacts/{digest}", page("artifact", s.artifactPage))
	mux.Handle("GET /hubscans", page("hubscans", s.hubScansPage))
	mux.Handle("GET /hubscans/{id}", page("hubscan", s.hubScanPage))
	mux.Handle("GET /hubscans/{id}/progress", page("hubscan_progress", s.hubScanProgress))
	mux.Handle("GET /coverage", page("coverage", func(*http.Request) (string, any, error) {
		c, err := s.coverage("")
		return "Framework coverage", c, err
	}))
	mux.Handle("GET /maturity", page("maturity", s.maturityPage))
	mux.Handle("GET /corpora", page("corpora", s.corporaPage))
	mux.Handle("GET /corpora/{id}", page("corpus", s.corpusRunPage))
	mux.Handle("GET /login", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.render(w, r, "login", http.StatusOK, pageData{Title: "Sign in", Data: loginData{Next: safeNext(req.URL.Query().Get("next")), CSRF: s.loginCSRF(w, req)}})
	}))
	mux.Handle("POST /login", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { s.login(w, req, r) }))
	mux.Handle("POST /logout", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { s.logout(w, req, r) }))
	return nil
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// securityHeaders are set on every page: scripts only from this origin
// (the vendored htmx), no framing.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
}

func (s *Server) render(w http.ResponseWriter, r *ui.Renderer, name string, status int, data pageData) {
	var buf bytes.Buffer
	if err := r.Render(&buf, name, data); err != nil {
		s.log.Error("render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	securityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pageHandler authenticates a dashboard request and renders page with the
// data fn returns; errors render the error page with their status.
func (s *Server) pageHandler(r *ui.Renderer, name string, fn func(*http.Request) (string, any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := s.cfg.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			label := routeLabel(req.Method, req.Pattern)
			s.metrics.requests.inc(metricMethod(req.Method), label, strconv.Itoa(sw.status))
			s.metrics.requestDuration.observe(s.cfg.Now().Sub(start), label)
		}()
		secret, session := bearer(req), ""
		if c, err := req.Cookie(SessionCookie); secret == "" && err == nil {
			session = c.Value
		}
		if ok, _ := s.limiter.allow(rateKey(req, secret+session)); !ok {
			s.render(sw, r, "error", http.StatusTooManyRequests, pageData{Title: "Too many requests", Data: "Slow down and retry."})
			return
		}
		var tok store.Token
		var err error
		if session != "" {
			tok, err = s.sessionToken(req.Context(), session)
		} else {
			tok, err = s.authenticate(req.Context(), secret)
		}
		if err != nil {
			if mlsec.ErrorCode(err) == EUNAUTHORIZED {
				http.Redirect(sw, req, "/login?next="+url.QueryEscape(req.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.render(sw, r, "error", http.StatusInternalServerError, pageData{Title: "Error", Data: "internal error"})
			return
		}
		req = req.WithContext(withToken(req.Context(), tok))
		title, data, err := fn(req)
		if err != nil {
			code := mlsec.ErrorCode(err)
			msg := err.Error()
			if code == mlsec.EINTERNAL {
				s.log.ErrorContext(req.Context(), "page", "page", name, "err", err)
				msg = "internal error"
			}
			s.render(sw, r, "error", statusOf(code), pageData{Title: "Error", User: &tok, Data: msg, CSRF: sessionCSRF(session)})
			return
		}
		s.render(sw, r, name, http.StatusOK, pageData{Title: title, User: &tok, Data: data, CSRF: sessionCSRF(session)})
	})
}

// login checks the form's origin and CSRF token and the submitted API
// token, then starts a server-side session: the cookie carries the
// session id, never the token.
func (s *Server) login(w http.ResponseWriter, req *http.Request, r *ui.Renderer) {
	req.Body = http.MaxBytesReader(w, req.Body, 4096)
	next := safeNext(req.URL.Query().Get("next"))
	fail := func(status int, msg string) {
		s.render(w, r, "login", status, pageData{Title: "Sign in", Data: loginData{Error: msg, Next: next, CSRF: s.loginCSRF(w, req)}})
	}
	if err := s.checkSameOrigin(req); err != nil {
		fail(http.StatusForbidden, err.Error())
		return
	}
	if ok, _ := s.limiter.allow(rateKey(req, "")); !ok {
		fail(http.StatusTooManyRequests, "too many attempts; wait and retry")
		return
	}
	c, err := req.Cookie(loginCSRFCookie)
	if err != nil || !equalSecret(req.PostFormValue("csrf"), c.Value) {
		fail(http.StatusForbidden, "the sign-in form expired; try again")
		return
	}
	tok, err := s.authenticate(req.Context(), req.PostFormValue("token"))
	if err != nil {
		fail(http.StatusUnauthorized, "invalid, expired or revoked token")
		return
	}
	ttl := s.cfg.SessionTTL
	if tok.ExpiresAt != nil {
		ttl = min(ttl, tok.ExpiresAt.Sub(s.cfg.Now()))
	}
	id, err := s.store.CreateSession(req.Context(), tok.ID, ttl)
	if err != nil {
		s.log.ErrorContext(req.Context(), "login", "err", err)
		fail(http.StatusInternalServerError, "internal error")
		return
	}
	http.SetCookie(w, s.sessionCookie(req, SessionCookie, id, "/", ttl))
	http.SetCookie(w, s.sessionCookie(req, loginCSRFCookie, "", "/login", 0))
	_, _ = s.store.Audit(req.Context(), store.AuditEntry{Time: s.cfg.Now(), Actor: store.TokenActor(tok), Action: "ui.login", Subject: "token:" + strconv.FormatInt(tok.ID, 10)})
	if next == "" {
		next = "/"
	}
	http.Redirect(w, req, next, http.StatusSeeOther)
}

// logout ends the session server-side (the form must carry the session's
// CSRF token and come from this origin) and clears the cookie.
func (s *Server) logout(w http.ResponseWriter, req *http.Request, r *ui.Renderer) {
	req.Body = http.MaxBytesReader(w, req.Body, 4096)
	c, err := req.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		http.Redirect(w, req, "/login", http.StatusSeeOther)
		return
	}
	if err := s.checkSameOrigin(req); err != nil || !equalSecret(req.PostFormValue("csrf"), sessionCSRF(c.Value)) {
		s.render(w, r, "error", http.StatusForbidden, pageData{Title: "Forbidden", Data: "sign-out refused: missing or wrong CSRF token, or a cross-site request"})
		return
	}
	tok, terr := s.store.Session(req.Context(), c.Value)
	if err := s.store.EndSession(req.Context(), c.Value); err != nil {
		s.log.ErrorContext(req.Context(), "logout", "err", err)
	}
	if terr == nil {
		_, _ = s.store.Audit(req.Context(), store.AuditEntry{Time: s.cfg.Now(), Actor: store.TokenActor(tok), Action: "ui.logout", Subject: "token:" + strconv.FormatInt(tok.ID, 10)})
	}
	http.SetCookie(w, s.sessionCookie(req, SessionCookie, "", "/", 0))
	http.Redirect(w, req, "/login", http.StatusSeeOther)
}

// sessionToken resolves a dashboard session to its token; an unknown,
// ended or expired session is EUNAUTHORIZED.
func (s *Server) sessionToken(ctx context.Context, id string) (store.Token, error) {
	t, err := s.store.Session(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrUnauthorized) {
			return store.Token{}, errorf(EUNAUTHORIZED, "sign in again")
		}
		return store.Token{}, fromStore(err)
	}
	return t, nil
}

// loginData feeds login.html.
type loginData struct {
	Error string
	Next  string
	CSRF  string
}

// safeNext returns next if it is a local path ("/..."), else "": the
// login form never redirects off-site.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if next == "" || err != nil || u.IsAbs() || u.Host != "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return ""
	}
	return next
}

// lifecycleData feeds lifecycle.html.
type lifecycleData struct {
	Stats    StatsResponse
	Recent   []store.Artifact
	Chosen   string
	Name     string
	Artifact *store.Artifact
	Stages   []StageStatus
	// Variant is the figure drawn: llmsecops (all ten stages, the
	// default) or mlsecops.
	Variant string
	SVG     template.HTML
}

func (s *Server) lifecyclePage(r *http.Request) (string, any, error) {
	ctx := r.Context()
	st, err := s.store.Stats(ctx)
	if err != nil {
		return "", nil, fromStore(err)
	}
	d := lifecycleData{Stats: StatsResponse{st.Artifacts, st.ByState, severityCounts(st.Findings), st.Evidence, st.Decisions},
		Chosen: r.URL.Query().Get("artifact"), Name: r.URL.Query().Get("name")}
	if d.Recent, err = s.store.ListArtifacts(ctx, store.ArtifactQuery{Limit: 200}); err != nil {
		return "", nil, fromStore(err)
	}
	if d.Chosen == "" && d.Name != "" {
		arts, err := s.store.ArtifactsByName(ctx, d.Name, "")
		if err != nil {
			return "", nil, fromStore(err)
		}
		if len(arts) == 0 {
			return "", nil, errorf(mlsec.ENOTFOUND, "no artifact named %q", d.Name)
		}
		d.Chosen = string(arts[0].Digest)
	}
	sl, err := s.stages(ctx, d.Chosen)
	if err != nil {
		return "", nil, err
	}
	d.Artifact, d.Stages = sl.Artifact, sl.Stages
	d.Variant = r.URL.Query().Get("variant")
	if d.Variant == "" {
		d.Variant = diagram.VariantLLMSecOps
	}
	opts := diagram.Options{Variant: d.Variant, Pipeline: s.cfg.Pipeline, GateOf: s.figureGates()}
	if d.Artifact != nil {
		opts.Decisions = figureDecisions(sl.Stages)
	}
	fig, err := diagram.Build(opts)
	if err != nil {
		return "", nil, err
	}
	d.SVG = diagram.SVGString(fig)
	return "Lifecycle", d, nil
}

// maturityData is the maturity page: the API's answer and the lifecycle
// figure coloured by the per-stage assessment, with each stage's level.
type maturityData struct {
	Maturity
	SVG template.HTML
}

func (s *Server) maturityPage(r *http.Request) (string, any, error) {
	m, err := s.maturity(r.Context())
	if err != nil {
		return "", nil, err
	}
	fig, err := diagram.Build(diagram.Options{Variant: diagram.VariantLLMSecOps, Pipeline: s.cfg.Pipeline, GateOf: s.figureGates(),
		Assessment: &lifecycle.Scorecard{Stages: m.Stages}, ID: "maturity-figure"})
	if err != nil {
		return "", nil, err
	}
	return "Maturity", maturityData{Maturity: m, SVG: diagram.SVGString(fig)}, nil
}

// figureGates hands the figure the gates the server compiled at start-up
// (nil, and the figure compiles the built-in or pipeline gates itself,
// when the server runs another Gate).
func (s *Server) figureGates() func(string) (*policy.Gate, error) {
	pg, ok := s.decider.Gate().(*PolicyGate)
	if !ok {
		return nil
	}
	return func(stage string) (*policy.Gate, error) { return pg.StageGate(stage), nil }
}

// figureDecisions hands the latest decision of each gate to the lifecycle
// figure (package diagram, the renderer `mlsec diagram` uses).
func figureDecisions(stages []StageStatus) map[string][]diagram.GateDecision {
	out := map[string][]diagram.GateDecision{}
	for _, st := range stages {
		for _, g := range st.Gates {
			if g.Result == "none" {
				continue
			}
			out[st.Name] = append(out[st.Name], diagram.GateDecision{Policy: g.Policy, Result: g.Result, Reasons: g.Reasons})
		}
	}
	return out
}

type artifactsData struct {
	Artifacts []store.Artifact
	States    []store.TrustState
	State     string
	Name      string
	Next      store.Digest
}

func (s *Server) artifactsPage(r *http.Request) (string, any, error) {
	q := r.URL.Query()
	d := artifactsData{State: q.Get("state"), Name: q.Get("name"),
		States: []store.TrustState{store.StateQuarantined, store.StateVerified, store.StateReleased, store.StateRevoked}}
	aq := store.ArtifactQuery{Name: d.Name, State: store.TrustState(d.State), Limit: 100}
	if aq.State != "" && !aq.State.Valid() {
		return "", nil, errorf(mlsec.EINVALID, "unknown state %q", aq.State)
	}
	if a := q.Get("after"); a != "" {
		var err error
		if aq.After, err = store.ParseDigest(a); err != nil {
			return "", nil, fromStore(err)
		}
	}
	arts, err := s.store.ListArtifacts(r.Context(), aq)
	if err != nil {
		return "", nil, fromStore(err)
	}
	d.Artifacts = arts
	if len(arts) == aq.Limit {
		d.Next = arts[len(arts)-1].Digest
	}
	return "Artifacts", d, nil
}

// artifactData feeds artifact.html.
type artifactData struct {
	Artifact   store.Artifact
	Findings   []store.StoredFinding
	Scanned    bool
	Signatures []store.Fact
	BOMs       []bomView
	Runs       []lineage.Run
	HasLineage bool
	LineageSVG template.HTML
	Impact     []ImpactItem
	Decisions  []store.Decision
	History    []store.StateChange
}

// maxGraphNodes caps the lineage graph drawn on an artifact page.
const maxGraphNodes = 60

// maxBOMs caps the AI-BOMs summarised on an artifact page, and
// maxBOMComponents the components listed for each.
const (
	maxBOMs          = 5
	maxBOMComponents = 25
)

// bomView summarises one stored CycloneDX AI-BOM for the artifact page.
type bomView struct {
	Fact        store.Fact
	SpecVersion string
	Components  []bomComponent // the first maxBOMComponents
	Total       int            // components in the BOM
	Err         string         // why the BOM could not be summarised
}

// bomComponent is one CycloneDX component as shown on the artifact page.
type bomComponent struct {
	Type    string `json:"type"`
	Name    string `json:"name"`
	Version string `json:"version"`
}

// bomSummary reads the evidence behind a BOM fact and lists its
// components; a BOM that cannot be read is still shown, with the reason.
func (s *Server) bomSummary(ctx context.Context, f store.Fact) bomView {
	v := bomView{Fact: f}
	ev, err := s.store.Evidence(ctx, f.EvidenceID)
	if err != nil {
		v.Err = err.Error()
		return v
	}
	st, err := statementOf(ev)
	if err != nil {
		v.Err = err.Error()
		return v
	}
	b, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		v.Err = err.Error()
		return v
	}
	var bom struct {
		SpecVersion string         `json:"specVersion"`
		Components  []bomComponent `json:"components"`
	}
	if err := json.Unmarshal(b, &bom); err != nil {
		v.Err = "not a CycloneDX document: " + err.Error()
		return v
	}
	v.SpecVersion, v.Total = bom.SpecVersion, len(bom.Components)
	v.Components = bom.Components[:min(len(bom.Components), maxBOMComponents)]
	return v
}

func (s *Server) artifactPage(r *http.Request) (string, any, error) {
	ctx := r.Context()
	dg, err := pathDigest(r)
	if err != nil {
		return "", nil, err
	}
	a, err := s.store.Artifact(ctx, dg)
	if err != nil {
		return "", nil, fromStore(err)
	}
	d := artifactData{Artifact: a}
	if d.Findings, err = s.store.Findings(ctx, store.FindingQuery{Artifact: dg, Limit: 1000}); err != nil {
		return "", nil, fromStore(err)
	}
	facts, err := s.store.Facts(ctx, store.FactQuery{Subject: dg, Limit: 1000})
	if err != nil {
		return "", nil, fromStore(err)
	}
	for _, f := range facts {
		switch f.PredicateType {
		case attest.ScanType:
			d.Scanned = true
		case signing.PredicateType:
			d.Signatures = append(d.Signatures, f)
		case attest.CycloneDXType:
			if len(d.BOMs) < maxBOMs {
				d.BOMs = append(d.BOMs, s.bomSummary(ctx, f))
			}
		}
	}
	if d.Runs, err = (lineageStore{s.store}).Runs(ctx, lineage.Digest(dg)); err != nil {
		return "", nil, fromStore(err)
	}
	if d.LineageSVG, d.HasLineage, err = s.lineageGraph(ctx, a); err != nil {
		return "", nil, err
	}
	imp, err := s.impact(ctx, dg)
	if err != nil {
		return "", nil, err
	}
	d.Impact = imp.Impacted
	if d.Decisions, err = s.store.Decisions(ctx, dg); err != nil {
		return "", nil, fromStore(err)
	}
	if d.History, err = s.store.StateHistory(ctx, dg); err != nil {
		return "", nil, fromStore(err)
	}
	title := a.Name
	if title == "" {
		title = string(a.Digest)
	}
	return title, d, nil
}

// lineageGraph draws the artifact's upstream and downstream edges.
func (s *Server) lineageGraph(ctx context.Context, a store.Artifact) (template.HTML, bool, error) {
	up, err := s.store.Lineage(ctx, a.Digest, store.Upstream, 4)
	if err != nil {
		return "", false, fromStore(err)
	}
	down, err := s.store.Lineage(ctx, a.Digest, store.Downstream, 4)
	if err != nil {
		return "", false, fromStore(err)
	}
	edges := append(up, down...)
	if len(edges) == 0 {
		return "", false, nil
	}
	nodes := []ui.GraphNode{{ID: string(a.Digest), Label: label(a), Kind: a.Kind, Focus: true}}
	seen := map[store.Digest]bool{a.Digest: true}
	var gedges []ui.GraphEdge
	for _, e := range edges {
		for _, id := range []store.Digest{e.From, e.To} {
			if seen[id] || len(nodes) >= maxGraphNodes {
				continue
			}
			seen[id] = true
			n := ui.GraphNode{ID: string(id), Label: string(id)[:min(len(id), 19)], Href: "/artifacts/" + string(id)}
			if other, err := s.store.Artifact(ctx, id); err == nil {
				n.Label, n.Kind = label(other), other.Kind
			} else if !errors.Is(err, store.ErrNotFound) {
				return "", false, fromStore(err)
			}
			nodes = append(nodes, n)
		}
		if seen[e.From] && seen[e.To] {
			// Edge From → To means From was made from To: draw input → output.
			gedges = append(gedges, ui.GraphEdge{From: string(e.To), To: string(e.From), Label: e.Relation})
		}
	}
	return ui.LineageSVG(nodes, gedges), true, nil
}

func label(a store.Artifact) string {
	if a.Name == "" {
		return string(a.Digest)[:min(len(a.Digest), 19)]
	}
	if a.Version != "" {
		return a.Name + "@" + a.Version
	}
	return a.Name
}

func (s *Server) hubScansPage(r *http.Request) (string, any, error) {
	hs, err := s.store.HubScans(r.Context(), 100)
	if err != nil {
		return "", nil, fromStore(err)
	}
	return "Hub scans", hs, nil
}

func (s *Server) hubScanPage(r *http.Request) (string, any, error) {
	d, err := s.hubScan(r)
	if err != nil {
		return "", nil, err
	}
	return "Hub scan " + strconv.FormatInt(d.Scan.ID, 10), d, nil
}

func (s *Server) hubScanProgress(r *http.Request) (string, any, error) {
	d, err := s.hubScan(r)
	if err != nil {
		return "", nil, err
	}
	return "", d, nil
}
