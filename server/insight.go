package server

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/lineage"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/list"
	"github.com/mlsecops/mlsec/server/gating"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/taxonomy"
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

// coverage maps the controls the server runs onto the embedded framework
// catalogues with lifecycle.Coverage, exactly as `mlsec frameworks
// coverage` does: every scanner rule (runner and detectors), the rules of
// every stage gate's policies, and mlsec's capabilities. Control ids carry
// the same prefixes ("scanner:PICKLE-001", "gate:cd/CD-002",
// "capability:..."), and the same items are counted (ATLAS mitigations and
// the techniques a control maps to, not tactics), so the dashboard and the
// CLI report the same numbers.
//
// SEAM(lifecycle): `mlsec frameworks coverage` scopes coverage to a
// pipeline file; the server shows every stage it gates.
func (s *Server) coverage(framework string) (Coverage, error) {
	cats, err := taxonomy.Load()
	if err != nil {
		return Coverage{}, err
	}
	var ctls []lifecycle.CoverageControl
	if pg, ok := s.decider.Gate().(*PolicyGate); ok {
		for _, stage := range lifecycle.StageNames() {
			for _, p := range pg.StageGate(stage).Policies {
				for _, r := range p.Rules {
					ctls = append(ctls, lifecycle.CoverageControl{ID: "gate:" + stage + "/" + r.ID, Kind: lifecycle.ControlGate,
						Stage: stage, Title: r.Title, Mappings: r.Mappings})
				}
			}
		}
	}
	dets, err := list.All(s.scanCfg)
	if err != nil {
		return Coverage{}, err
	}
	seen := map[string]bool{}
	addRules := func(rs []scan.Rule) {
		for _, r := range rs {
			if !seen[r.ID] {
				seen[r.ID] = true
				ctls = append(ctls, lifecycle.CoverageControl{ID: "scanner:" + r.ID, Kind: lifecycle.ControlScanner, Title: r.Title, Mappings: r.Mappings})
			}
		}
	}
	addRules(scan.RunnerRules())
	for _, d := range dets {
		addRules(d.Rules())
	}
	tc, err := lifecycle.LoadTools()
	if err != nil {
		return Coverage{}, err
	}
	ctls = append(ctls, tc.CapabilityControls()...)
	fcs, err := lifecycle.Coverage(cats, ctls)
	if err != nil {
		return Coverage{}, err
	}
	var out Coverage
	for _, c := range fcs {
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
		return Coverage{}, errorf(mlsec.ENOTFOUND, "unknown framework %q", framework)
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

// maturityLevel scores one artifact: L1 integrity (a verified signature),
// L2 provenance and lineage (plus provenance evidence), L3 policy-enforced
// structured attestations (plus a recorded gate decision).
//
// SEAM(lifecycle): issue 7's assessment (`mlsec assess`) defines the
// levels over a pipeline file; the server should use it when exported.
func maturityLevel(facts []store.Fact, decided bool) int {
	has := func(pt string, signed bool) bool {
		return slices.ContainsFunc(facts, func(f store.Fact) bool { return f.PredicateType == pt && (!signed || f.Signer != "") })
	}
	switch {
	case !has(signing.PredicateType, true):
		return 0
	case !has(attest.ProvenanceType, false):
		return 1
	case !decided:
		return 2
	}
	return 3
}

// nextStep says what lifts a class from level l to l+1.
func nextStep(l int) string {
	switch l {
	case 0:
		return "sign every artifact with OpenSSF Model Signing and verify at intake (AIMM L1)"
	case 1:
		return "record SLSA provenance for every run so lineage is complete (AIMM L2)"
	case 2:
		return "gate every hand-off with a policy whose decision is stored (AIMM L3)"
	}
	return ""
}

func (s *Server) maturity(ctx context.Context) (Maturity, error) {
	out := Maturity{Computed: s.cfg.Now().UTC()}
	byClass := map[string]*ClassMaturity{}
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
			facts, err := s.store.Facts(ctx, store.FactQuery{Subject: a.Digest, Limit: 1000})
			if err != nil {
				return Maturity{}, fromStore(err)
			}
			ds, err := s.store.Decisions(ctx, a.Digest)
			if err != nil {
				return Maturity{}, fromStore(err)
			}
			class := lifecycle.Kind(a.Kind).Class()
			if a.Kind == "" {
				class = "unclassified"
			}
			cm := byClass[class]
			if cm == nil {
				cm = &ClassMaturity{Class: class, Level: 3}
				byClass[class] = cm
			}
			lvl := maturityLevel(facts, len(ds) > 0)
			cm.Artifacts++
			cm.AtLevel[lvl]++
			cm.Level = min(cm.Level, lvl)
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].Digest
	}
	for _, cm := range byClass {
		cm.NextStep = nextStep(cm.Level)
		out.Classes = append(out.Classes, *cm)
	}
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
