package server

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/lineage"
	"github.com/mlsecops/mlsec/policy"
	"github.com/mlsecops/mlsec/server/gating"
	"github.com/mlsecops/mlsec/store"
)

// lineageStore adapts store.Store to lineage.Store, so the lineage
// package's Impact and Ancestry run over the database: runs come from stored
// provenance evidence, children from lineage edges (an edge From → To means
// From was made from To, so To is the parent).
type lineageStore struct {
	st store.Store
}

var _ lineage.Store = lineageStore{}

func (l lineageStore) Artifact(ctx context.Context, d lineage.Digest) (lineage.Artifact, bool, error) {
	a, err := l.st.Artifact(ctx, store.Digest(d))
	if errors.Is(err, store.ErrNotFound) {
		return lineage.Artifact{}, false, nil
	}
	if err != nil {
		return lineage.Artifact{}, false, err
	}
	return lineage.Artifact{Digest: d, Name: a.Name}, true, nil
}

func (l lineageStore) Runs(ctx context.Context, d lineage.Digest) ([]lineage.Run, error) {
	facts, err := l.st.Facts(ctx, store.FactQuery{Subject: store.Digest(d), PredicateType: attest.ProvenanceType, Limit: 100})
	if err != nil {
		return nil, err
	}
	var runs []lineage.Run
	for _, f := range facts {
		ev, err := l.st.Evidence(ctx, f.EvidenceID)
		if err != nil {
			return nil, err
		}
		st, err := statementOf(ev)
		if err != nil {
			continue
		}
		p, err := attest.ProvenanceOf(st)
		if err != nil {
			continue
		}
		runs = append(runs, lineage.Run{Child: d, RunType: p.RunType, BuilderID: p.BuilderID, InvocationID: p.InvocationID,
			Inputs: p.Dependencies, Source: "evidence:" + itoa(ev.ID)})
	}
	return runs, nil
}

func (l lineageStore) Children(ctx context.Context, d lineage.Digest) ([]lineage.Edge, error) {
	edges, err := l.st.Lineage(ctx, store.Digest(d), store.Downstream, 1)
	if err != nil {
		return nil, err
	}
	var out []lineage.Edge
	for _, e := range edges {
		if e.To != store.Digest(d) {
			continue
		}
		out = append(out, lineage.Edge{Parent: d, Child: lineage.Digest(e.From), Role: attest.Role(e.Relation)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Child < out[j].Child })
	return out, nil
}

// statementOf reads the in-toto statement out of stored evidence (bundle,
// envelope or bare statement). It does not verify signatures.
func statementOf(ev store.Evidence) (attest.Statement, error) { return gating.StatementOf(ev) }

// ImpactItem is an artifact derived from the queried one, with its state.
type ImpactItem struct {
	lineage.Impacted
	State store.TrustState `json:"state,omitempty"`
}

// ImpactList answers an impact query.
type ImpactList struct {
	Artifact store.Digest `json:"artifact"`
	Impacted []ImpactItem `json:"impacted"`
}

func (s *Server) impact(ctx context.Context, d store.Digest) (ImpactList, error) {
	imp, err := lineage.Impact(ctx, lineageStore{s.store}, lineage.Digest(d))
	if err != nil {
		return ImpactList{}, fromStore(err)
	}
	out := ImpactList{Artifact: d, Impacted: []ImpactItem{}}
	for _, i := range imp {
		it := ImpactItem{Impacted: i}
		if a, err := s.store.Artifact(ctx, store.Digest(i.Digest)); err == nil {
			it.State = a.State
			if it.Name == "" {
				it.Name = a.Name
			}
		}
		out.Impacted = append(out.Impacted, it)
	}
	return out, nil
}

func (s *Server) handleImpact(w http.ResponseWriter, r *http.Request) error {
	d, err := s.existing(r)
	if err != nil {
		return err
	}
	out, err := s.impact(r.Context(), d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// StageStatus is a lifecycle stage with the status of its gates for one
// artifact.
type StageStatus struct {
	lifecycle.Stage
	Gates []GateStatus `json:"gates"`
}

// GateStatus is the latest decision of one gate (policy) at a stage, or
// Result "none" when none was recorded.
type GateStatus struct {
	Policy   string          `json:"policy"`
	Result   string          `json:"result"`
	Reasons  []string        `json:"reasons,omitempty"`
	Decision *store.Decision `json:"decision,omitempty"`
}

// StageList answers GET /api/v1/stages.
type StageList struct {
	Artifact *store.Artifact `json:"artifact,omitempty"`
	Stages   []StageStatus   `json:"stages"`
}

// stageStatus lists, per stage, the configured gates (gatesOf) and any other
// policy with a recorded decision, each with the result of its latest
// decision, or "none".
func stageStatus(decisions []store.Decision, gatesOf func(stage string) []string) []StageStatus {
	var out []StageStatus
	for _, st := range lifecycle.Stages() {
		ss := StageStatus{Stage: st}
		latest := map[string]store.Decision{}
		order := slices.Clone(gatesOf(st.Name))
		for _, d := range decisions {
			if d.Stage != st.Name {
				continue
			}
			if !slices.Contains(order, d.Policy) {
				order = append(order, d.Policy)
			}
			latest[d.Policy] = d // decisions are oldest first
		}
		for _, p := range order {
			d, ok := latest[p]
			if !ok {
				ss.Gates = append(ss.Gates, GateStatus{Policy: p, Result: "none"})
				continue
			}
			ss.Gates = append(ss.Gates, GateStatus{Policy: p, Result: string(d.Result), Reasons: d.Reasons, Decision: &d})
		}
		out = append(out, ss)
	}
	return out
}

// gatesOf names the policies that gate stage: "name@version" of each
// policy of the configured PolicyGate, else "builtin/STAGE".
func (s *Server) gatesOf(stage string) []string {
	if pg, ok := s.decider.Gate().(*PolicyGate); ok {
		if g := pg.StageGate(stage); g != nil {
			var refs []string
			for _, p := range g.Policies {
				refs = append(refs, p.Name+"@"+p.Version)
			}
			return refs
		}
	}
	return []string{"builtin/" + stage}
}

func (s *Server) stages(ctx context.Context, digest string) (StageList, error) {
	if digest == "" {
		return StageList{Stages: stageStatus(nil, s.gatesOf)}, nil
	}
	d, err := store.ParseDigest(digest)
	if err != nil {
		return StageList{}, fromStore(err)
	}
	a, err := s.store.Artifact(ctx, d)
	if err != nil {
		return StageList{}, fromStore(err)
	}
	ds, err := s.store.Decisions(ctx, d)
	if err != nil {
		return StageList{}, fromStore(err)
	}
	return StageList{Artifact: &a, Stages: stageStatus(ds, s.gatesOf)}, nil
}

func (s *Server) handleStages(w http.ResponseWriter, r *http.Request) error {
	out, err := s.stages(r.Context(), r.URL.Query().Get("artifact"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// Coverage answers GET /api/v1/coverage.
type Coverage struct {
	Frameworks []FrameworkCoverage `json:"frameworks"`
}

// FrameworkCoverage is one framework's coverage by mlsec's controls.
type FrameworkCoverage struct {
	ID      string         `json:"id"`
	Name    string         `json:"name"`
	Version string         `json:"version"`
	Items   int            `json:"items"`
	Covered int            `json:"covered"`
	Entries []CoverageItem `json:"entries"`
}

// CoverageItem is one framework item and the controls mapped to it; an
// item without controls is a gap.
type CoverageItem struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Kind     string   `json:"kind,omitempty"`
	Controls []string `json:"controls"`
}

// coverage is policy.FrameworkCoverage — the computation behind `mlsec
// frameworks coverage` and `mlsec assess` — over the server's pipeline
// (nil: every stage's built-in gate) and scanner configuration, with the
// gates the server compiled, reshaped for the API. So the dashboard and
// the CLI report the same items, controls and numbers.
func (s *Server) coverage(framework string) (Coverage, error) {
	var gateOf func(string) (*policy.Gate, error)
	if pg, ok := s.decider.Gate().(*PolicyGate); ok {
		gateOf = func(stage string) (*policy.Gate, error) { return pg.StageGate(stage), nil }
	}
	fcs, err := policy.FrameworkCoverage(s.cfg.Pipeline, s.scanCfg, gateOf)
	if err != nil {
		return Coverage{}, err
	}
	var out Coverage
	var ids []string
	for _, c := range fcs {
		ids = append(ids, c.Framework)
		if framework != "" && c.Framework != framework {
			continue
		}
		fc := FrameworkCoverage{ID: c.Framework, Name: c.Name, Version: c.Version, Items: c.Total, Covered: c.Covered, Entries: []CoverageItem{}}
		for _, it := range c.Items {
			ctl := slices.Clone(it.Controls)
			slices.Sort(ctl)
			fc.Entries = append(fc.Entries, CoverageItem{ID: it.ID, Name: it.Name, Kind: it.Kind, Controls: nonNil(ctl)})
		}
		out.Frameworks = append(out.Frameworks, fc)
	}
	if framework != "" && len(out.Frameworks) == 0 {
		return Coverage{}, errorf(mlsec.ENOTFOUND, "unknown framework %q (want one of %s)", framework, strings.Join(ids, ", "))
	}
	return out, nil
}

func (s *Server) handleCoverage(w http.ResponseWriter, r *http.Request) error {
	out, err := s.coverage(r.URL.Query().Get("framework"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// Maturity answers GET /api/v1/maturity: per artifact class, how many
// artifacts reach each CoSAI AIMM level on the stored evidence.
type Maturity struct {
	Classes []ClassMaturity `json:"classes"`
	// Stages is the per-stage assessment over the same artifacts
	// (lifecycle.StageBoxes, what mlsec assess prints): the AIMM level each
	// stage reaches and the next step.
	Stages []lifecycle.StageBox `json:"stages"`
	// Sampled is the number of artifacts examined; Truncated is true when
	// the store holds more (the first MaturitySample by digest are used).
	Sampled   int       `json:"sampled"`
	Truncated bool      `json:"truncated"`
	Computed  time.Time `json:"computed"`
}

// ClassMaturity is one artifact class's maturity.
type ClassMaturity struct {
	Class     string `json:"class"`
	Artifacts int    `json:"artifacts"`
	// AtLevel counts artifacts whose highest level is L0..L3.
	AtLevel [4]int `json:"at_level"`
	// Level is the level every artifact of the class reaches.
	Level    int    `json:"level"`
	NextStep string `json:"next_step,omitempty"`
}

// MaturitySample caps the artifacts the maturity view examines.
const MaturitySample = 2000

// maturity scores every sampled artifact with the CoSAI AIMM assessment
// `mlsec assess` uses (lifecycle.ArtifactFacts.Level over the facts
// policy.ArtifactFacts reads from the gate's evidence document): L1 a
// signature verified by a trusted identity, L2 plus verified provenance
// naming its parents (or a verified intake record), L3 plus a passing gate
// decision — and, for models and packages, a passing cd decision. A class's
// level is the lowest of its artifacts; its next step is what the first
// artifact at that level lacks. Stages is lifecycle.StageBoxes over the
// same facts — the per-stage levels and next steps mlsec assess prints
// (a stored artifact passes through the stages it has decisions at).
func (s *Server) maturity(ctx context.Context) (Maturity, error) {
	out := Maturity{Computed: s.cfg.Now().UTC()}
	byClass := map[string]*ClassMaturity{}
	var facts []lifecycle.ArtifactFacts
	var after store.Digest
	for out.Sampled < MaturitySample {
		page, err := s.store.ListArtifacts(ctx, store.ArtifactQuery{After: after, Limit: 1000})
		if err != nil {
			return Maturity{}, fromStore(err)
		}
		for _, a := range page {
			if out.Sampled == MaturitySample {
				out.Truncated = true
				break
			}
			out.Sampled++
			ev, err := s.decider.Evidence(ctx, a.Digest, "")
			if err != nil {
				return Maturity{}, fromStore(err)
			}
			name := a.Name
			if name == "" {
				name = string(a.Digest)
			}
			f := policy.ArtifactFacts(ev, name, lifecycle.Kind(a.Kind), nil)
			facts = append(facts, f)
			lvl, next := f.Level()
			class := lifecycle.Kind(a.Kind).Class()
			if a.Kind == "" {
				class = "unclassified"
			}
			cm := byClass[class]
			if cm == nil {
				cm = &ClassMaturity{Class: class, Level: 4}
				byClass[class] = cm
			}
			cm.Artifacts++
			cm.AtLevel[lvl]++
			if lvl < cm.Level {
				cm.Level, cm.NextStep = lvl, ""
				if len(next) > 0 {
					cm.NextStep = next[0]
				}
			}
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].Digest
	}
	for _, cm := range byClass {
		out.Classes = append(out.Classes, *cm)
	}
	configured := map[string]bool{}
	if s.cfg.Pipeline != nil {
		for st := range s.cfg.Pipeline.Stages {
			configured[st] = true
		}
	}
	out.Stages = lifecycle.StageBoxes(facts, configured)
	sort.Slice(out.Classes, func(i, j int) bool { return out.Classes[i].Class < out.Classes[j].Class })
	if out.Classes == nil {
		out.Classes = []ClassMaturity{}
	}
	return out, nil
}

func (s *Server) handleMaturity(w http.ResponseWriter, r *http.Request) error {
	out, err := s.maturity(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
