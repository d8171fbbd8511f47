package lifecycle

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// ArtifactFacts is what the maturity assessment needs to know about one
// artifact, gathered from disk and its claims (the CLI fills it from the
// gate's evidence).
type ArtifactFacts struct {
	Name   string   `json:"name"`
	Kind   Kind     `json:"kind"`
	Path   string   `json:"path,omitempty"`
	Stages []string `json:"stages,omitempty"`
	// Exists is false when the artifact is declared but not on disk.
	Exists bool `json:"exists"`
	// Signed: a signature exists; SignatureVerified: a pipeline identity's
	// key verifies it and the content matches.
	Signed            bool `json:"signed"`
	SignatureVerified bool `json:"signature_verified"`
	// Provenance (SLSA) or an intake record, and whether a pipeline
	// identity signed it.
	Provenance         bool   `json:"provenance"`
	ProvenanceVerified bool   `json:"provenance_verified"`
	BuilderID          string `json:"builder_id,omitempty"`
	// ParentsDeclared counts the datasets and base models the provenance
	// names.
	ParentsDeclared int  `json:"parents_declared"`
	Intake          bool `json:"intake"`
	// Decisions maps a stage to the latest verified decision there (PASS,
	// WARN or FAIL).
	Decisions  map[string]string `json:"decisions,omitempty"`
	TrustState string            `json:"trust_state"`
}

// Level computes the artifact's CoSAI AIMM level (0–3) and what is
// missing for the next level.
//
//   - L1 integrity: signed, and the signature verifies against a pipeline
//     identity.
//   - L2 provenance and lineage: L1, plus verified provenance naming its
//     parents (or, for external artifacts and datasets, a verified intake
//     record).
//   - L3 policy-enforced attestations: L2, plus a verified passing gate
//     decision at every stage the artifact passes through (at least one),
//     and for models and packages a passing cd decision (admission).
func (a ArtifactFacts) Level() (int, []string) {
	var next []string
	if !a.Exists {
		return 0, []string{fmt.Sprintf("%s: not found on disk; nothing can be assessed", a.Name)}
	}
	external := a.Kind == KindExternalModel || a.Kind == KindDataset || a.Kind == KindFeedbackData ||
		a.Kind == KindRAGCorpus || a.Kind == KindPrompt || a.Kind == KindToolManifest
	if !a.Signed || !a.SignatureVerified {
		switch {
		case !a.Signed:
			next = append(next, fmt.Sprintf("%s: sign it (mlsec sign, or mlsec intake for external artifacts) — AIMM L1", a.Name))
		case external:
			// Most likely the publisher's signature: CoSAI AIMM re-signs
			// external artifacts at ingestion.
			next = append(next, fmt.Sprintf("%s: its signature does not verify against a pipeline identity — take it in with mlsec intake --source URL --upstream-key PUBLISHER.pub (re-signs it with the organisation's key) — AIMM L1", a.Name))
		default:
			next = append(next, fmt.Sprintf("%s: its signature does not verify against a pipeline identity — declare the signer's key in identities, or re-sign it — AIMM L1", a.Name))
		}
		return 0, next
	}
	l2 := a.ProvenanceVerified && (a.ParentsDeclared > 0 || a.Intake)
	if external && a.Intake {
		l2 = true
	}
	if external && a.Kind != KindExternalModel && a.ProvenanceVerified {
		// Data, corpora, prompts and manifests made in house: the verified
		// provenance of their preparation is their origin; they need
		// no parents.
		l2 = true
	}
	if !l2 {
		if a.Kind == KindExternalModel {
			next = append(next, fmt.Sprintf("%s: record its origin with mlsec intake --source URL — AIMM L2", a.Name))
		} else if external {
			next = append(next, fmt.Sprintf("%s: record its origin: signed provenance of its preparation (mlsec attest provenance --run-type preparation), or mlsec intake --source URL if it comes from outside — AIMM L2", a.Name))
		} else {
			next = append(next, fmt.Sprintf("%s: record signed provenance naming its datasets and base models (mlsec attest provenance) — AIMM L2", a.Name))
		}
		return 1, next
	}
	stages := a.Stages
	if len(stages) == 0 {
		// Declared nowhere (an evidence directory, a store): it passes
		// through the stages it has decisions at, as in StageBoxes, so a
		// failed one is a step to take.
		for s := range a.Decisions {
			stages = append(stages, s)
		}
		slices.SortFunc(stages, func(x, y string) int { return stageOrder(x) - stageOrder(y) })
	}
	passed := 0
	for _, s := range stages {
		switch a.Decisions[s] {
		case "PASS", "WARN":
			passed++
		default:
			next = append(next, fmt.Sprintf("%s: pass the %s gate with a signed decision (mlsec gate --stage %s) — AIMM L3", a.Name, s, s))
		}
	}
	if len(stages) == 0 {
		next = append(next, fmt.Sprintf("%s: list its stages in the pipeline file and gate each one — AIMM L3", a.Name))
	}
	cls := a.Kind.Class()
	if (cls == "model" || cls == "package") && a.Kind != KindExternalModel {
		if d := a.Decisions[StageCD]; d != "PASS" && d != "WARN" && !slices.Contains(stages, StageCD) {
			next = append(next, fmt.Sprintf("%s: gate its deployment (mlsec gate --stage cd) — AIMM L3 admission", a.Name))
		}
	}
	if len(next) == 0 && passed > 0 {
		return 3, nil
	}
	return 2, next
}

// ClassScore is the AIMM level of an artifact class: the lowest level of
// its artifacts.
type ClassScore struct {
	Class     string         `json:"class"`
	Level     int            `json:"level"`
	Artifacts []ArtifactRank `json:"artifacts"`
}

// ArtifactRank is one artifact's level.
type ArtifactRank struct {
	Name  string `json:"name"`
	Kind  Kind   `json:"kind"`
	Level int    `json:"level"`
}

// StageBox is the "green box" of one stage in the lifecycle diagram.
type StageBox struct {
	Stage string `json:"stage"`
	// Gated is true when the pipeline configures the stage's gate (or its
	// artifacts name it, so the built-in gate applies).
	Gated     bool `json:"gated"`
	Artifacts int  `json:"artifacts"`
	Passed    int  `json:"passed"`
	Failed    int  `json:"failed"`
	// Status is green (every artifact passed), red (one failed), amber
	// (some not gated yet) or grey (no artifact passes through it).
	Status string `json:"status"`
	// Level is the CoSAI AIMM level the stage reaches: the lowest level of
	// the artifacts passing through it (0 when none does).
	Level int `json:"level"`
	// Next is the step that lifts the stage's lowest artifact towards the
	// next level, preferring a step about this stage; "" at L3.
	Next string `json:"next_step,omitempty"`
}

// Scorecard is the maturity assessment of a pipeline.
type Scorecard struct {
	Pipeline string       `json:"pipeline"`
	Classes  []ClassScore `json:"classes"`
	// SLSABuildLevel is the SLSA build level the training pipeline can
	// claim from its provenance: 0 none, 1 provenance exists, 2 provenance
	// signed by a pipeline identity with a builder id. L3 needs a hardened
	// builder, which mlsec cannot establish from evidence.
	SLSABuildLevel int                 `json:"slsa_build_level"`
	SLSAReason     string              `json:"slsa_reason"`
	Stages         []StageBox          `json:"stages"`
	Frameworks     []FrameworkCoverage `json:"frameworks,omitempty"`
	NextSteps      []string            `json:"next_steps"`
}

// Assess scores a pipeline from the facts about its artifacts.
func Assess(p *Pipeline, facts []ArtifactFacts, frameworks []FrameworkCoverage) Scorecard {
	sc := Scorecard{Pipeline: p.Name, NextSteps: []string{}}
	classes := map[string]*ClassScore{}
	var steps []string
	for _, a := range facts {
		lvl, next := a.Level()
		steps = append(steps, next...)
		cls := a.Kind.Class()
		cs, ok := classes[cls]
		if !ok {
			cs = &ClassScore{Class: cls, Level: 3}
			classes[cls] = cs
		}
		cs.Artifacts = append(cs.Artifacts, ArtifactRank{Name: a.Name, Kind: a.Kind, Level: lvl})
		cs.Level = min(cs.Level, lvl)
	}
	for _, cs := range classes {
		sc.Classes = append(sc.Classes, *cs)
	}
	sort.Slice(sc.Classes, func(i, j int) bool { return sc.Classes[i].Class < sc.Classes[j].Class })

	// SLSA: the trained models (kind model/adapter) carry the training
	// pipeline's provenance.
	trained, prov, signedProv := 0, 0, 0
	for _, a := range facts {
		if a.Kind == KindModel || a.Kind == KindAdapter {
			trained++
			if a.Provenance {
				prov++
			}
			if a.ProvenanceVerified && a.BuilderID != "" {
				signedProv++
			}
		}
	}
	switch {
	case trained == 0:
		sc.SLSAReason = "no trained model (kind model or adapter) in the pipeline"
	case signedProv == trained:
		sc.SLSABuildLevel, sc.SLSAReason = 2, "every trained model has provenance signed by a pipeline identity; L3 additionally needs a hardened, isolated build platform"
		steps = append(steps, "SLSA Build L3: run training on a hardened builder that isolates runs and keeps signing keys from user steps")
	case prov == trained:
		sc.SLSABuildLevel, sc.SLSAReason = 1, "every trained model has provenance, but not all of it is signed by a pipeline identity"
		steps = append(steps, "SLSA Build L2: sign training provenance with the build platform's identity and declare its key in the pipeline")
	default:
		sc.SLSAReason = fmt.Sprintf("%d of %d trained models have provenance", prov, trained)
		steps = append(steps, "SLSA Build L1: record provenance for every training run (mlsec attest provenance)")
	}

	configured := map[string]bool{}
	for st := range p.Stages {
		configured[st] = true
	}
	sc.Stages = StageBoxes(facts, configured)
	sc.Frameworks = frameworks
	for _, fc := range frameworks {
		gaps := 0
		for _, it := range fc.Items {
			if it.Gap {
				gaps++
			}
		}
		if gaps > 0 {
			steps = append(steps, fmt.Sprintf("%s: %d of %d items have no control (mlsec frameworks coverage lists them)", fc.Name, gaps, fc.Total))
		}
	}
	seen := map[string]bool{}
	for _, s := range steps {
		if !seen[s] {
			seen[s] = true
			sc.NextSteps = append(sc.NextSteps, s)
		}
	}
	return sc
}

// stageStep picks the step about stage st from an artifact's next steps,
// else its first step.
func stageStep(next []string, st string) string {
	for _, s := range next {
		if strings.Contains(s, "--stage "+st) || strings.Contains(s, "the "+st+" gate") {
			return s
		}
	}
	if len(next) > 0 {
		return next[0]
	}
	return ""
}

// StageBoxes scores every lifecycle stage from the facts about artifacts:
// how many pass through it, passed or failed its gate, its status colour,
// and the CoSAI AIMM level it reaches (the lowest level of its artifacts)
// with the step that lifts that artifact. An artifact passes through the
// stages it lists; one that lists none (found in a store or an evidence
// directory rather than declared in a pipeline) through the stages it has
// decisions at. configured marks the stages a pipeline gates even when no
// artifact passes through them yet.
//
// It is the one per-stage assessment: mlsec assess and mlsec diagram show
// it through Assess, the server's maturity page calls it over the stored
// artifacts.
func StageBoxes(facts []ArtifactFacts, configured map[string]bool) []StageBox {
	type ranked struct {
		level int
		next  []string
	}
	levels := make([]ranked, len(facts))
	for i, a := range facts {
		levels[i].level, levels[i].next = a.Level()
	}
	var out []StageBox
	for _, st := range StageNames() {
		box := StageBox{Stage: st, Gated: configured[st], Level: 3}
		for i, a := range facts {
			passes := slices.Contains(a.Stages, st)
			if len(a.Stages) == 0 {
				_, passes = a.Decisions[st]
			}
			if !passes {
				continue
			}
			box.Gated = true
			box.Artifacts++
			if l := levels[i]; l.level < box.Level || l.level == box.Level && box.Next == "" {
				box.Level, box.Next = l.level, stageStep(l.next, st)
			}
			switch a.Decisions[st] {
			case "PASS", "WARN":
				box.Passed++
			case "FAIL":
				box.Failed++
			}
		}
		switch {
		case box.Artifacts == 0:
			box.Status, box.Level = "grey", 0
		case box.Failed > 0:
			box.Status = "red"
		case box.Passed == box.Artifacts:
			box.Status = "green"
		default:
			box.Status = "amber"
		}
		out = append(out, box)
	}
	return out
}

// stageOrder is st's position in the lifecycle (StageNames), unknown
// stages last.
func stageOrder(st string) int {
	if i := slices.Index(StageNames(), st); i >= 0 {
		return i
	}
	return len(StageNames())
}
