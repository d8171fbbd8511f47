package lifecycle

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/taxonomy"
)

func TestStages(t *testing.T) {
	want := []string{"planning", "data", "experimentation", "pipeline", "ci", "cd", "training", "serving", "monitoring", "knowledge"}
	if diff := cmp.Diff(want, StageNames()); diff != "" {
		t.Errorf("stages (-want +got):\n%s", diff)
	}
	for _, s := range Stages() {
		if s.Title == "" || s.Description == "" || len(s.Receives)+len(s.Produces) == 0 {
			t.Errorf("stage %s incomplete", s.Name)
		}
		for _, k := range append(append([]Kind{}, s.Receives...), s.Produces...) {
			if !ValidKind(k) {
				t.Errorf("stage %s: unknown kind %s", s.Name, k)
			}
		}
	}
	if _, ok := LookupStage("deploy"); ok {
		t.Error("deploy is not a stage")
	}
}

func TestNext(t *testing.T) {
	tests := []struct {
		from       TrustState
		stage      string
		outcome    Outcome
		overridden bool
		want       TrustState
	}{
		{"", StageExperimentation, OutcomePass, false, Verified},
		{Quarantined, StageData, OutcomeWarn, false, Verified},
		{Quarantined, StageData, OutcomeFail, false, Quarantined},
		{Quarantined, StageData, OutcomeFail, true, Verified},
		{Quarantined, StageCD, OutcomePass, false, Quarantined},
		{Verified, StageCD, OutcomePass, false, Released},
		{Verified, StageCD, OutcomeFail, false, Verified},
		{Verified, StageCD, OutcomeFail, true, Released},
		{Released, StageCI, OutcomePass, false, Released},
		{Released, StageServing, OutcomePass, false, Released},
		{Released, StageMonitoring, OutcomeFail, false, Revoked},
		{Verified, StageServing, OutcomeFail, false, Verified},
		{Revoked, StageExperimentation, OutcomePass, false, Revoked},
		{Revoked, StageCD, OutcomeFail, true, Revoked},
		{Quarantined, StageCI, Outcome("PASS"), false, Quarantined},
		{Released, StageMonitoring, Outcome("error"), false, Revoked},
		{Released, StageServing, OutcomeFail, false, Released},
		{Released, StageServing, Outcome("error"), false, Released},
	}
	for _, tt := range tests {
		got := Next(tt.from, tt.stage, tt.outcome, tt.overridden)
		if got != tt.want {
			t.Errorf("Next(%s, %s, %s, %v) = %s, want %s", tt.from, tt.stage, tt.outcome, tt.overridden, got, tt.want)
		}
		if err := CheckTransition(tt.from, got); err != nil {
			t.Errorf("Next produced a forbidden transition: %v", err)
		}
	}
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	var s MemStore
	if r, ok, _ := s.State(ctx, "d"); ok || r.State != Quarantined {
		t.Errorf("fresh state %v %v", r, ok)
	}
	for _, st := range []TrustState{Verified, Released} {
		if err := s.Record(ctx, Record{Subject: "d", State: st}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Record(ctx, Record{Subject: "d", State: Quarantined}); !errors.Is(err, ErrTransition) {
		t.Errorf("backwards: %v", err)
	}
	if err := s.Record(ctx, Record{Subject: "d", State: Revoked}); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, Record{Subject: "d", State: Released}); !errors.Is(err, ErrTransition) {
		t.Errorf("leaving revoked: %v", err)
	}
	if err := s.Record(ctx, Record{Subject: "e", State: Released}); !errors.Is(err, ErrTransition) {
		t.Errorf("skipping verified: %v", err)
	}
	h, _ := s.History(ctx, "d")
	var got []string
	for _, r := range h {
		got = append(got, string(r.From)+">"+string(r.State))
	}
	if diff := cmp.Diff([]string{"quarantined>verified", "verified>released", "released>revoked"}, got); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}

const goodPipeline = `apiVersion: mlsec.dev/pipeline/v1
name: demo
identities:
  - {name: org, key: keys/org.pub}
  - {name: sec, subject: sec@example.com}
roles:
  platform: [org]
  security-engineer: [sec]
sources:
  - {url: "https://huggingface.co/acme/", trust: untrusted}
artifacts:
  - {name: base, kind: external-model, path: models/base, source: "https://huggingface.co/acme/base", stages: [experimentation]}
  - {name: tuned, kind: model, path: models/tuned, stages: [ci, cd, serving]}
stages:
  experimentation:
    policies: [builtin:experimentation]
    params: {allowed_identities: [org]}
`

func TestParsePipeline(t *testing.T) {
	p, err := ParsePipeline("/x/p.yaml", []byte(goodPipeline))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "demo" || len(p.Artifacts) != 2 || p.Artifacts[0].Trust != SourceUntrusted || p.Artifacts[1].Trust != SourceTrusted {
		t.Errorf("parsed %+v", p)
	}
	if got := p.RolesOf("org"); !cmp.Equal(got, []string{"platform"}) {
		t.Errorf("RolesOf(org) = %v", got)
	}
	if ok, _ := p.SourceAllowed("https://huggingface.co/acme/base"); !ok {
		t.Error("source not allowed")
	}
	if ok, _ := p.SourceAllowed("https://huggingface.co/evil/base"); ok {
		t.Error("other org allowed")
	}
	if a, ok := p.Artifact("/x/models/tuned"); !ok || a.Name != "tuned" {
		t.Errorf("Artifact by path: %v %v", a, ok)
	}
	if p.Stages["experimentation"].Params["allowed_identities"] == nil {
		t.Error("params lost")
	}
}

func TestParsePipelineErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"unknown stage in stages", "apiVersion: mlsec.dev/pipeline/v1\nstages:\n  deploy: {}\n",
			[]string{`p.yaml:3:3: unknown stage "deploy"`}},
		{"unknown stage in artifact", "apiVersion: mlsec.dev/pipeline/v1\nartifacts:\n  - name: a\n    kind: model\n    stages: [ci, prod]\n",
			[]string{`p.yaml:5:18: unknown stage "prod"`}},
		{"duplicate artifact", "apiVersion: mlsec.dev/pipeline/v1\nartifacts:\n  - {name: a, kind: model}\n  - {name: a, kind: dataset}\n",
			[]string{`p.yaml:4:5: duplicate artifact name "a" (first defined on line 3)`}},
		{"unknown role", "apiVersion: mlsec.dev/pipeline/v1\nidentities:\n  - {name: x, subject: x}\nroles:\n  ceo: [x]\n",
			[]string{`p.yaml:5:3: unknown role "ceo"`}},
		{"unknown identity in role", "apiVersion: mlsec.dev/pipeline/v1\nroles:\n  grc: [nobody]\n",
			[]string{`p.yaml:3:9: role member "nobody" is not a declared identity`}},
		{"unknown kind and trust", "apiVersion: mlsec.dev/pipeline/v1\nartifacts:\n  - {name: a, kind: weights, trust: maybe}\n",
			[]string{`p.yaml:3:21: unknown artifact kind "weights"`, `p.yaml:3:37: trust "maybe"`}},
		{"unknown field", "apiVersion: mlsec.dev/pipeline/v1\nartefacts: []\n",
			[]string{`p.yaml:2:1: unknown field "artefacts"`}},
		{"bad version", "apiVersion: v2\n", []string{`p.yaml:1:13: apiVersion "v2"`}},
		{"syntax", "apiVersion: mlsec.dev/pipeline/v1\nroles: [\n", []string{`p.yaml:2:1: yaml: line 2: did not find expected node content`}},
		{"unknown role in a stage parameter", "apiVersion: mlsec.dev/pipeline/v1\nstages:\n  cd:\n    params:\n      approver_roles: [platform, platfrom]\n",
			[]string{`p.yaml:5:34: approver_roles: unknown role "platfrom"`}},
		{"unknown identity in a stage parameter", "apiVersion: mlsec.dev/pipeline/v1\nstages:\n  experimentation:\n    params: {allowed_identities: [hf-acme]}\nidentities:\n  - {name: hf-org, subject: x}\n",
			[]string{`p.yaml:4:35: allowed_identities: "hf-acme" is not a declared identity`}},
		{"exception without reason or approver", "apiVersion: mlsec.dev/pipeline/v1\nartifacts:\n  - name: a\n    kind: dataset\n    exceptions:\n      - {stage: data, rules: [RAG-005]}\n",
			[]string{`p.yaml:6:9: exception has no reason`}},
		{"exception approved by a non security engineer", "apiVersion: mlsec.dev/pipeline/v1\nidentities:\n  - {name: x, subject: x}\nartifacts:\n  - name: a\n    kind: dataset\n    exceptions:\n      - {stage: data, rules: [RAG-005], reason: r, approved_by: x}\n",
			[]string{`p.yaml:8:65: exception approved_by "x": not an identity with the security-engineer role`}},
		{"exception for a not-analysed rule", "apiVersion: mlsec.dev/pipeline/v1\nartifacts:\n  - name: a\n    kind: dataset\n    exceptions:\n      - {stage: data, rules: [MLSEC-SCAN-001, rag-5], reason: r, approved_by: x}\n",
			[]string{`p.yaml:6:31: exception rule "MLSEC-SCAN-001"`, `p.yaml:6:47: exception rule "rag-5"`}},
		{"exception for a stage the artifact skips", "apiVersion: mlsec.dev/pipeline/v1\nartifacts:\n  - name: a\n    kind: dataset\n    stages: [data]\n    exceptions:\n      - {stage: knowledge, rules: [RAG-005], reason: r, approved_by: x}\n",
			[]string{`p.yaml:3:5: artifact "a": exception for stage "knowledge", which is not one of its stages`}},
		{"several errors at once", "apiVersion: mlsec.dev/pipeline/v1\nstages:\n  prod: {}\nroles:\n  boss: []\n",
			[]string{`p.yaml:3:3: unknown stage "prod"`, `p.yaml:5:3: unknown role "boss"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePipeline("p.yaml", []byte(tt.src))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrPipeline) {
				t.Errorf("%v is not ErrPipeline", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestRACI(t *testing.T) {
	r, err := LoadRACI()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"data-engineer", "data-scientist", "security-engineer", "platform", "grc", "model-owner"}
	if diff := cmp.Diff(want, r.RoleIDs()); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
}

func TestToolsAndCoverage(t *testing.T) {
	tc, err := LoadTools()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := taxonomy.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range tc.Controls {
		if err := cat.ValidateAll(c.Mappings); err != nil {
			t.Errorf("control %s: %v", c.ID, err)
		}
	}
	names := map[string]bool{}
	for _, tool := range tc.Tools {
		names[tool.ID] = true
	}
	for _, want := range []string{"sigstore-cosign", "model-signing", "slsa", "in-toto", "scorecard", "guac", "osv", "protobom"} {
		if !names[want] {
			t.Errorf("tool %s missing", want)
		}
	}
	open, closedByTool := 0, 0
	by := map[string]int{}
	for _, st := range tc.ByStage() {
		for _, c := range st.Controls {
			if c.Open {
				open++
			}
			if len(c.Tools) > 0 {
				closedByTool++
			}
			want := "open"
			switch {
			case c.MLSec && len(c.Tools) > 0:
				want = "openssf+mlsec"
			case c.MLSec:
				want = "mlsec"
			case len(c.Tools) > 0:
				want = "openssf"
			}
			if c.ClosedBy != want {
				t.Errorf("%s/%s: closed_by %q, want %q", st.Stage, c.Control.ID, c.ClosedBy, want)
			}
			by[c.ClosedBy]++
		}
	}
	if open == 0 || closedByTool == 0 {
		t.Errorf("tools map has %d open and %d tool-closed controls", open, closedByTool)
	}
	// The map must show all four answers: where OpenSSF tools close a gap,
	// where only mlsec does, where both do, and where nothing does.
	for _, k := range []string{"open", "openssf", "mlsec", "openssf+mlsec"} {
		if by[k] == 0 {
			t.Errorf("no control closed_by %q: %v", k, by)
		}
	}

	fc, err := Coverage(cat, tc.CapabilityControls())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fc {
		if f.Total == 0 {
			t.Errorf("%s: no items", f.Framework)
		}
		if f.Framework == taxonomy.OWASPML2023 && f.Total != 10 {
			t.Errorf("OWASP ML: %d items", f.Total)
		}
	}
	_, err = Coverage(cat, []CoverageControl{{ID: "gate:x/Y", Mappings: []mlsec.Mapping{{Framework: "owasp-ml-2023", ID: "ML11"}}}})
	if !errors.Is(err, taxonomy.ErrUnknownID) {
		t.Errorf("unknown id: %v", err)
	}
}

func TestAssess(t *testing.T) {
	p, err := ParsePipeline("p.yaml", []byte(goodPipeline))
	if err != nil {
		t.Fatal(err)
	}
	facts := []ArtifactFacts{
		{Name: "base", Kind: KindExternalModel, Exists: true, Signed: true, SignatureVerified: true, Intake: true, ProvenanceVerified: true,
			Stages: []string{"experimentation"}, Decisions: map[string]string{"experimentation": "PASS"}},
		{Name: "tuned", Kind: KindModel, Exists: true, Signed: true, SignatureVerified: true, Provenance: true, ProvenanceVerified: true,
			BuilderID: "b", ParentsDeclared: 2, Stages: []string{"ci", "cd", "serving"}, Decisions: map[string]string{"ci": "PASS", "cd": "FAIL"}},
		{Name: "data", Kind: KindDataset, Exists: true, Signed: true},
		{Name: "own", Kind: KindCode, Exists: true, Signed: true},
	}
	sc := Assess(p, facts, nil)
	levels := map[string]int{}
	for _, c := range sc.Classes {
		levels[c.Class] = c.Level
	}
	if diff := cmp.Diff(map[string]int{"model": 2, "dataset": 0, "code": 0}, levels); diff != "" {
		t.Errorf("levels (-want +got):\n%s", diff)
	}
	if sc.SLSABuildLevel != 2 {
		t.Errorf("SLSA %d: %s", sc.SLSABuildLevel, sc.SLSAReason)
	}
	boxes := map[string]string{}
	for _, b := range sc.Stages {
		boxes[b.Stage] = b.Status
	}
	if boxes["experimentation"] != "green" || boxes["cd"] != "red" || boxes["serving"] != "amber" || boxes["data"] != "grey" {
		t.Errorf("boxes %v", boxes)
	}
	joined := strings.Join(sc.NextSteps, "\n")
	for _, w := range []string{"tuned: pass the cd gate", "tuned: pass the serving gate", "data: its signature does not verify against a pipeline identity — take it in with mlsec intake",
		"own: its signature does not verify against a pipeline identity — declare the signer's key"} {
		if !strings.Contains(joined, w) {
			t.Errorf("next steps lack %q:\n%s", w, joined)
		}
	}
	if lvl, _ := facts[0].Level(); lvl != 3 {
		t.Errorf("base level %d, want 3", lvl)
	}
}

// TestStageBoxes: per stage, the lowest AIMM level of the artifacts that
// pass through it and the step about that stage; artifacts without
// declared stages pass through the stages they have decisions at.
func TestStageBoxes(t *testing.T) {
	facts := []ArtifactFacts{
		{Name: "m", Kind: KindModel, Exists: true, Signed: true, SignatureVerified: true, ProvenanceVerified: true, ParentsDeclared: 1,
			Stages: []string{"ci", "cd"}, Decisions: map[string]string{"ci": "PASS"}},
		{Name: "d", Kind: KindDataset, Exists: true, Decisions: map[string]string{"data": "FAIL"}},
	}
	boxes := StageBoxes(facts, map[string]bool{"training": true})
	got := map[string]StageBox{}
	for _, b := range boxes {
		got[b.Stage] = b
	}
	if b := got["ci"]; b.Level != 2 || b.Status != "green" || b.Artifacts != 1 || b.Passed != 1 {
		t.Errorf("ci %+v: want L2 (no cd decision yet), green (ci itself passed)", b)
	}
	if b := got["cd"]; b.Level != 2 || !strings.Contains(b.Next, "--stage cd") {
		t.Errorf("cd %+v: want L2 with the cd step", b)
	}
	if b := got["data"]; b.Level != 0 || b.Status != "red" || !strings.Contains(b.Next, "sign it") {
		t.Errorf("data %+v: want L0, red (decision-only artifact counted), next: sign it", b)
	}
	if b := got["training"]; !b.Gated || b.Artifacts != 0 || b.Status != "grey" || b.Level != 0 {
		t.Errorf("training %+v: want gated, grey, L0", b)
	}
}

// TestLevelUndeclared: an in-house dataset's preparation provenance is its
// origin (L2 without parents), and an artifact declared nowhere passes
// through the stages it has decisions at, so a failed one keeps it below
// L3.
func TestLevelUndeclared(t *testing.T) {
	signed := func(a ArtifactFacts) ArtifactFacts {
		a.Exists, a.Signed, a.SignatureVerified = true, true, true
		return a
	}
	for _, tc := range []struct {
		name string
		a    ArtifactFacts
		want int
		step string
	}{
		{"dataset with preparation provenance", signed(ArtifactFacts{Name: "d", Kind: KindDataset, ProvenanceVerified: true,
			Decisions: map[string]string{"data": "PASS"}}), 3, ""},
		{"dataset without provenance", signed(ArtifactFacts{Name: "d", Kind: KindDataset,
			Decisions: map[string]string{"data": "PASS"}}), 1, "d: record its origin: signed provenance"},
		{"model with a failed decision", signed(ArtifactFacts{Name: "m", Kind: KindModel, ProvenanceVerified: true, ParentsDeclared: 1,
			Decisions: map[string]string{"ci": "PASS", "cd": "PASS", "serving": "FAIL"}}), 2, "m: pass the serving gate"},
		{"model with passing decisions", signed(ArtifactFacts{Name: "m", Kind: KindModel, ProvenanceVerified: true, ParentsDeclared: 1,
			Decisions: map[string]string{"ci": "PASS", "cd": "PASS"}}), 3, ""},
		{"model without decisions", signed(ArtifactFacts{Name: "m", Kind: KindModel, ProvenanceVerified: true, ParentsDeclared: 1}),
			2, "m: list its stages"},
	} {
		lvl, next := tc.a.Level()
		if lvl != tc.want {
			t.Errorf("%s: level %d, want %d (%q)", tc.name, lvl, tc.want, next)
		}
		if tc.step != "" && (len(next) == 0 || !strings.HasPrefix(next[0], tc.step)) {
			t.Errorf("%s: next %q, want first step %q…", tc.name, next, tc.step)
		}
	}
}
