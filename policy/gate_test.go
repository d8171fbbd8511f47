package policy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/signing"
)

// writeModel writes a tiny Hugging Face-style model directory.
func writeModel(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	hdr := []byte(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`)
	st := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	st = append(append(st, hdr...), make([]byte, 8)...)
	files := map[string][]byte{
		"model.safetensors": st,
		"config.json":       []byte(`{"model_type":"tiny","hidden_size":2}`),
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func signModel(t testing.TB, dir string, k *ecdsa.PrivateKey) {
	t.Helper()
	res, err := signing.Sign(context.Background(), dir, &signing.KeySigner{Key: k},
		signing.HashOptions{IgnorePaths: []string{"model.sig", "claims.jsonl"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "model.sig"), res.Bundle, 0o644); err != nil {
		t.Fatal(err)
	}
}

const testPipeline = `apiVersion: mlsec.dev/pipeline/v1
name: test
identities:
  - {name: org, subject: org}
roles:
  platform: [org]
  model-owner: [org]
  security-engineer: [org]
`

func TestGateLifecycle(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "tiny")
	writeModel(t, dir)
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := lifecycle.ParsePipeline("p.yaml", []byte(testPipeline))
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t)
	store := &lifecycle.MemStore{}
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	run := func(stage, policyFile string, override *Override) *Outcome {
		t.Helper()
		g, err := e.StageGate(stage, pl, policyFile)
		if err != nil {
			t.Fatal(err)
		}
		r := &Runner{
			Gatherer: &Gatherer{Pipeline: pl, Identities: []NamedVerifier{{Name: "org", Verifier: &signing.KeyVerifier{Key: &k.PublicKey}}}},
			Gate:     g, Signer: &signing.KeySigner{Key: k}, Operator: "org", Store: store,
			Now: func() time.Time { clock = clock.Add(time.Minute); return clock },
		}
		out, err := r.Run(ctx, Target{Path: dir, Kind: lifecycle.KindExternalModel, SourceURL: "https://huggingface.co/acme/tiny"}, override)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	step := func(name string, out *Outcome, want Result, before, after lifecycle.TrustState) {
		t.Helper()
		if out.Decision.Result != want || out.TrustBefore != before || out.TrustAfter != after {
			t.Errorf("%s: got %s %s→%s, want %s %s→%s; rules %+v", name, out.Decision.Result,
				out.TrustBefore, out.TrustAfter, want, before, after, out.Decision.Rules)
		}
	}

	out := run("experimentation", "", nil)
	step("unsigned", out, Fail, lifecycle.Quarantined, lifecycle.Quarantined)
	if r := ruleResult(out.Decision, "EXP-001"); r.Result != Fail || r.Reason != "missing evidence: signature (the artifact has no signature)" {
		t.Errorf("EXP-001: %+v", r)
	}

	signModel(t, dir, k)
	out = run("experimentation", "", nil)
	step("signed", out, Pass, lifecycle.Quarantined, lifecycle.Verified)
	if len(out.Evidence.Decisions) != 1 || !out.Evidence.Decisions[0].Verified || out.Evidence.Decisions[0].Passed {
		t.Errorf("prior decisions: %+v", out.Evidence.Decisions)
	}

	out = run("cd", "", nil)
	step("cd without provenance", out, Fail, lifecycle.Verified, lifecycle.Verified)

	out = run("cd", "", &Override{Identity: "alice@example.com", Reason: "hotfix INC-42"})
	step("cd overridden", out, Fail, lifecycle.Verified, lifecycle.Released)
	st, err := attest.ParseStatement(out.Statement)
	if err != nil {
		t.Fatal(err)
	}
	v, rec, err := ParseVSA(st)
	if err != nil {
		t.Fatal(err)
	}
	if v.GetVerificationResult() != "FAILED" || rec.Override == nil || rec.Override.Reason != "hotfix INC-42" ||
		rec.Override.Identity != "alice@example.com" || rec.TrustState != "released" {
		t.Errorf("override VSA: %v %+v", v, rec)
	}
	if st.GetPredicateType() != VSAType || !st.About(out.Subject.Digest) {
		t.Errorf("VSA statement: type %s, subjects %v", st.GetPredicateType(), st.Subjects())
	}

	out = run("serving", "", nil)
	step("serving", out, Pass, lifecycle.Released, lifecycle.Released)

	pf := filepath.Join(t.TempDir(), "mon.yaml")
	os.WriteFile(pf, []byte("apiVersion: mlsec.dev/policy/v1\nname: mon\nversion: '1'\nstage: monitoring\nrules:\n  - {id: M, title: new threat intel, expr: 'artifact.files > 100'}\n"), 0o644)
	out = run("monitoring", pf, nil)
	step("monitoring fails", out, Fail, lifecycle.Released, lifecycle.Revoked)
	out = run("experimentation", "", nil)
	step("revoked stays revoked", out, Fail, lifecycle.Revoked, lifecycle.Revoked)

	hist, _ := store.History(ctx, string(out.Subject.Digest))
	if len(hist) < 5 {
		t.Errorf("store history has %d records", len(hist))
	}
	// The claims of another key are not trusted: the state is unknown.
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	gth := &Gatherer{Pipeline: pl, Identities: []NamedVerifier{{Name: "other", Verifier: &signing.KeyVerifier{Key: &k2.PublicKey}}}}
	g, err := gth.Gather(ctx, Target{Path: dir, Stage: "serving"})
	if err != nil {
		t.Fatal(err)
	}
	if g.Evidence.Trust.Known || g.Evidence.Trust.State != "quarantined" || g.Evidence.Signature.Verified {
		t.Errorf("untrusted claims: trust %+v signature %+v", g.Evidence.Trust, g.Evidence.Signature)
	}
	for _, d := range g.Evidence.Decisions {
		if d.Verified {
			t.Errorf("decision verified by an unknown key: %+v", d)
		}
	}
}

func ruleResult(d Decision, id string) RuleResult {
	for _, r := range d.Rules {
		if r.RuleID == id {
			return r
		}
	}
	return RuleResult{}
}

// BenchmarkEvaluateStage measures evaluating a stage's compiled policies
// on gathered evidence (the part of a gate that policy owns).
func BenchmarkEvaluateStage(b *testing.B) {
	e := newEngine(b)
	for _, stage := range []string{"experimentation", "cd"} {
		b.Run(stage, func(b *testing.B) {
			g, err := e.StageGate(stage, nil, "")
			if err != nil {
				b.Fatal(err)
			}
			ev := benchEvidence(stage)
			b.ReportAllocs()
			for b.Loop() {
				if d := g.Evaluate(ev); len(d.Rules) == 0 {
					b.Fatal("no rules")
				}
			}
		})
	}
}

func benchEvidence(stage string) *Evidence {
	ev := &Evidence{Stage: stage,
		Artifact:   Artifact{Name: "m", Formats: []string{"safetensors", "hf-repo"}, Files: 12},
		Source:     Source{Present: true, URL: "https://huggingface.co/acme/m", Trust: "untrusted"},
		Trust:      Trust{State: "verified", Known: true},
		Scan:       Scan{Present: true, MaxSeverity: "low", MaxRank: 2, Rules: []string{"X-1"}},
		Signature:  Signature{Present: true, Verified: true, Identity: "org", Org: true, Roles: []string{"platform"}},
		Provenance: Provenance{Present: true, Verified: true, BuilderID: "b", Datasets: 2, Code: 1},
		Pipeline:   PipelineInfo{Roles: map[string][]string{"platform": {"org"}}},
	}
	for i := range 50 {
		ev.Scan.Items = append(ev.Scan.Items, Finding{RuleID: "X-1", Severity: "low", Rank: 2, Message: "m"})
		ev.Decisions = append(ev.Decisions, PriorDecision{Stage: []string{"data", "ci"}[i%2], Passed: true, Verified: true, Roles: []string{"platform"}})
	}
	return ev
}

// BenchmarkCompileStage measures building the CEL environment and
// compiling a stage's built-in policy (done once per run).
func BenchmarkCompileStage(b *testing.B) {
	for b.Loop() {
		e, err := NewEngine()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.StageGate("cd", nil, ""); err != nil {
			b.Fatal(err)
		}
	}
}

func TestTrustOfResistsReplay(t *testing.T) {
	at := func(m int) time.Time { return time.Date(2026, 1, 1, 0, m, 0, 0, time.UTC) }
	tests := []struct {
		name string
		ds   []PriorDecision
		want Trust
	}{
		{"none", nil, Trust{State: "quarantined"}},
		{"unverified ignored", []PriorDecision{{TrustState: "released", Time: at(1)}}, Trust{State: "quarantined"}},
		{"latest by time, not by line", []PriorDecision{
			{Verified: true, TrustState: "released", Time: at(2)},
			{Verified: true, TrustState: "verified", Time: at(1)},
		}, Trust{State: "released", Known: true}},
		{"replayed release after revocation", []PriorDecision{
			{Verified: true, TrustState: "released", Time: at(1)},
			{Verified: true, TrustState: "revoked", Time: at(2)},
			{Verified: true, TrustState: "released", Time: at(1)},
		}, Trust{State: "revoked", Known: true}},
		{"bogus state ignored", []PriorDecision{{Verified: true, TrustState: "trusted", Time: at(1)}}, Trust{State: "quarantined"}},
	}
	for _, tt := range tests {
		if got := trustOf(tt.ds); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
