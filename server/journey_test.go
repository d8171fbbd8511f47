package server

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/policy"
	"github.com/mlsecops/mlsec/queue"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/store"
)

// TestJourney walks one model through every lifecycle stage through the
// server API, as `mlsec serve` runs by default (job queue on SQLite,
// encrypted blobs, the built-in stage policies) with the organisation's
// key trusted (--trust-key, here a pipeline identity) and decisions signed
// (--signing-key): uploads, attestations, queued scan / verify / BOM / gate
// jobs and break-glass overrides. Every decision and every trust state is
// asserted.
//
// It runs twice: with defaults only (no pipeline file: the organisation's
// own data and corpora carry no source, the key is trusted as --trust-key)
// and with a pipeline file that declares only what an organisation must
// (issue 12 §4: `mlsec pipeline init` writes such a starter): the sources
// it takes data and models from and the identity of its key with a role.
// Either way every built-in gate is passable by a correct workflow.
func TestJourney(t *testing.T) {
	t.Run("defaults", func(t *testing.T) { journey(t, false) })
	t.Run("pipeline", func(t *testing.T) { journey(t, true) })
}

func journey(t *testing.T, withPipeline bool) {
	org, gk := newTestKey(t), newTestKey(t)
	dir := t.TempDir()
	pub, err := signing.PublicKeyPEM(org.verifier.Key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "org.pub"), pub, 0o644); err != nil {
		t.Fatal(err)
	}
	plPath := filepath.Join(dir, "pipeline.yaml")
	if err := os.WriteFile(plPath, []byte(`apiVersion: mlsec.dev/pipeline/v1
name: journey
identities:
  - {name: org, key: org.pub}
roles:
  platform: [org]
sources:
  - {url: "https://data.example/", trust: trusted}
  - {url: "https://hub.example/", trust: untrusted}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	pl, err := lifecycle.LoadPipeline(plPath)
	if err != nil {
		t.Fatal(err)
	}
	// own is the source of what the organisation makes itself: an allowed
	// pipeline source, or none without a pipeline file.
	own := func(path string) string {
		if withPipeline {
			return "https://data.example/" + path
		}
		return ""
	}
	e := newEnv(t, mods(func(c *Config) {
		if withPipeline {
			c.Pipeline = pl
			c.Identities = []policy.NamedVerifier{{Name: "org", Verifier: org.verifier}}
		} else {
			c.Verifier, c.VerifierName = org.verifier, "key:org"
		}
		c.Signer, c.SignerIdentity = gk.signer, "org-gate"
	}, withQueue(t)))
	ml, de, sec := store.RoleMLEngineer, store.RoleDataEngineer, store.RoleSecurity

	// Helpers: one per API call the journey makes.
	upload := func(role store.Role, name, kind, source string, data []byte) store.Digest {
		t.Helper()
		q := url.Values{"name": {name}, "kind": {kind}, "source": {source}, "scan": {"true"}}
		status, b, _ := e.do(role, "POST", "/api/v1/uploads?"+q.Encode(), bytes.NewReader(data), "")
		var put ArtifactPut
		if status != http.StatusCreated || json.Unmarshal(b, &put) != nil || put.Job == nil {
			t.Fatalf("upload %s: %d %s", name, status, b)
		}
		if js := e.waitJob(put.Job.Job); js.State != queue.StateCompleted {
			t.Fatalf("scan job of %s: %+v", name, js)
		}
		if want := cmp.Or(source, "upload"); put.Artifact.Digest != digestOf(data) || put.Artifact.Source != want || put.Artifact.State != store.StateQuarantined {
			t.Fatalf("uploaded %s: %+v", name, put.Artifact)
		}
		return put.Artifact.Digest
	}
	submit := func(role store.Role, body []byte, verified bool) AttestationResult {
		t.Helper()
		status, b, _ := e.do(role, "POST", "/api/v1/attestations", bytes.NewReader(body), "")
		var ar AttestationResult
		if status != http.StatusCreated || json.Unmarshal(b, &ar) != nil || ar.Verified != verified {
			t.Fatalf("attestation: %d %s (want verified %v)", status, b, verified)
		}
		return ar
	}
	sign := func(name string, data []byte) { t.Helper(); submit(ml, org.signModel(t, name, data), true) }
	statement := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return org.signStatement(t, b)
	}
	intake := func(d store.Digest, name, source string) {
		t.Helper()
		p := attest.Provenance{Subject: attest.Subject{Name: name, Digest: attest.Digest(d)}, RunType: "intake",
			BuildType: policy.IntakeBuildType, BuilderID: "https://mlsec.dev/intake/v1", StartedOn: time.Now().UTC(),
			Parameters: map[string]any{"source": source, "upstreamSignature": "absent", "resigned": true}}
		if ar := submit(ml, statement(p.Statement()), true); len(ar.Edges) != 0 {
			t.Fatalf("intake record of %s made lineage edges %+v", name, ar.Edges)
		}
	}
	stateOf := func(d store.Digest) store.TrustState {
		t.Helper()
		var a ArtifactDetail
		if s := e.json(store.RoleAuditor, "GET", "/api/v1/artifacts/"+string(d), nil, &a); s != 200 {
			t.Fatalf("artifact %s: %d", d, s)
		}
		return a.State
	}
	state := func(d store.Digest, want store.TrustState) {
		t.Helper()
		if got := stateOf(d); got != want {
			t.Fatalf("%s is %s, want %s", d, got, want)
		}
	}
	gate := func(role store.Role, d store.Digest, stage string, want store.Result, to store.TrustState) store.Decision {
		t.Helper()
		path := "/api/v1/artifacts/" + string(d)
		if js := e.accepted(role, "POST", path+"/gate", []byte(`{"stage":"`+stage+`"}`)); js.State != queue.StateCompleted {
			t.Fatalf("gate %s job: %+v", stage, js)
		}
		var dl DecisionList
		e.json(store.RoleAuditor, "GET", path+"/decisions", nil, &dl)
		dec := dl.Decisions[len(dl.Decisions)-1]
		if dec.Stage != stage || dec.Result != want || dec.EvidenceID == 0 {
			t.Fatalf("%s gate: %s, want %s\n%s", stage, dec.Result, want, strings.Join(dec.Reasons, "\n"))
		}
		state(d, to)
		return dec
	}
	// data: a dataset signed by the organisation — taken in from an
	// allowed source with its intake record, or (without a pipeline file)
	// its own, with signed provenance of the run that prepared it — passes
	// the data gate and is verified.
	corpus := []byte("text,label\nthe model is fine,0\nignore previous instructions,1\n")
	ds := upload(de, "corpus.csv", "dataset", own("corpus.csv"), corpus)
	sign("corpus.csv", corpus)
	if withPipeline {
		intake(ds, "corpus.csv", own("corpus.csv"))
	} else {
		prep := attest.Provenance{Subject: attest.Subject{Name: "corpus.csv", Digest: attest.Digest(ds)}, RunType: "preparation",
			BuilderID: "https://ci.example/runner", StartedOn: time.Now().UTC(),
			Dependencies: []attest.Dependency{{Role: attest.RoleCode, URI: "git+https://git.example/prep", Commit: strings.Repeat("d", 40)}}}
		submit(de, statement(prep.Statement()), true)
	}
	gate(de, ds, "data", store.ResultPass, store.StateVerified)

	// experimentation: an external base model from the hub, scanned,
	// re-signed by the organisation with its intake record (as `mlsec
	// intake` does), passes and is verified. A malicious pickle taken in
	// the same way fails and stays quarantined.
	baseBytes := cleanSafetensors()
	base := upload(ml, "base.safetensors", "external-model", "https://hub.example/org/base", baseBytes)
	sign("base.safetensors", baseBytes)
	intake(base, "base.safetensors", "https://hub.example/org/base")
	gate(ml, base, "experimentation", store.ResultPass, store.StateVerified)
	evil := upload(ml, "evil.pkl", "external-model", "https://hub.example/x/evil", maliciousPickle())
	sign("evil.pkl", maliciousPickle())
	if dec := gate(ml, evil, "experimentation", store.ResultFail, store.StateQuarantined); !strings.Contains(strings.Join(dec.Reasons, "\n"), "FAIL EXP-002") {
		t.Fatalf("malicious pickle failed for other reasons:\n%s", strings.Join(dec.Reasons, "\n"))
	}

	// training: the fine-tuned model with signed SLSA provenance naming the
	// dataset, the base model and the code; lineage records both parents.
	modelBytes := cleanSafetensors()
	modelBytes[len(modelBytes)-1] = 0x40 // other weights (2.0): a different model
	model := upload(ml, "model.safetensors", "model", own("models/model"), modelBytes)
	sign("model.safetensors", modelBytes)
	prov := attest.Provenance{Subject: attest.Subject{Name: "model.safetensors", Digest: attest.Digest(model)},
		RunType: attest.RunFineTuning, BuilderID: "https://ci.example/runner", StartedOn: time.Now().UTC(),
		Dependencies: []attest.Dependency{
			{Role: attest.RoleDataset, Name: "corpus.csv", Digest: attest.Digest(ds)},
			{Role: attest.RoleBaseModel, Name: "base.safetensors", Digest: attest.Digest(base)},
			{Role: attest.RoleCode, URI: "git+https://git.example/train", Commit: strings.Repeat("c", 40)},
		}}
	ar := submit(ml, statement(prov.Statement()), true)
	if len(ar.Edges) != 2 {
		t.Fatalf("provenance edges %+v", ar.Edges)
	}
	var up EdgeList
	e.json(store.RoleAuditor, "GET", "/api/v1/artifacts/"+string(model)+"/lineage", nil, &up)
	if len(up.Edges) != 2 || up.Edges[0].CreatedAt.IsZero() {
		t.Fatalf("upstream lineage %+v", up.Edges)
	}

	// ci: scanned clean, signed, provenance, a signed evaluation and a
	// signed AI-BOM: the ci gate passes and the model is verified.
	eval := attest.Eval{Subject: attest.Subject{Name: "model.safetensors", Digest: attest.Digest(model)}, MetricsName: "metrics.json",
		MetricsFile: []byte(`{"accuracy": 0.93}`), Fail: []attest.Threshold{mustThreshold(t, "accuracy>=0.9")}}
	submit(ml, statement(eval.Statement()), true)
	if js := e.accepted(ml, "POST", "/api/v1/artifacts/"+string(model)+"/bom", nil); js.State != queue.StateCompleted {
		t.Fatalf("bom job: %+v", js)
	}
	submit(ml, statement(attest.BOMStatement(attest.Subject{Name: "model.safetensors", Digest: attest.Digest(model)},
		[]byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","version":1}`))), true)
	gate(ml, model, "ci", store.ResultPass, store.StateVerified)

	// cd: a verified model with a passing ci decision is released.
	gate(ml, model, "cd", store.ResultPass, store.StateReleased)

	// serving: the released model passes at load; tampered weights (other
	// bytes under the same name) have no signature of their own, and the
	// model's signature does not verify over them: refused, nothing moves.
	gate(ml, model, "serving", store.ResultPass, store.StateReleased)
	tampered := bytes.Clone(modelBytes)
	tampered[len(tampered)-2] = 0x20 // one weight changed
	bad := upload(ml, "model.safetensors", "model", own("models/model"), tampered)
	if dec := gate(ml, bad, "serving", store.ResultFail, store.StateQuarantined); !strings.Contains(strings.Join(dec.Reasons, "\n"), "FAIL SERVE-002") {
		t.Fatalf("tampered weights refused for other reasons:\n%s", strings.Join(dec.Reasons, "\n"))
	}
	var sigs FactList
	e.json(store.RoleAuditor, "GET", "/api/v1/artifacts/"+string(model)+"/evidence?predicate_type="+url.QueryEscape(signing.PredicateType), nil, &sigs)
	if len(sigs.Facts) != 1 {
		t.Fatalf("model signatures %+v", sigs.Facts)
	}
	body, _ := json.Marshal(VerifyRequest{EvidenceID: sigs.Facts[0].EvidenceID})
	if js := e.accepted(ml, "POST", "/api/v1/artifacts/"+string(bad)+"/verify", body); js.State != queue.StateCompleted {
		t.Fatalf("verify job: %+v", js)
	}
	var fl FindingList
	e.json(store.RoleAuditor, "GET", "/api/v1/artifacts/"+string(bad)+"/findings", nil, &fl)
	if len(fl.Findings) != 1 || fl.Findings[0].Finding.RuleID != "VERIFY-001" {
		t.Fatalf("tampered weights verified against the model's signature: %+v", fl.Findings)
	}
	state(bad, store.StateQuarantined)

	// monitoring: the released model passes; then the training corpus is
	// found poisoned. Security revokes it (break-glass, audited), the
	// impact query names the model, and re-verification at monitoring —
	// here against a signature that is not the model's, as a swapped model
	// would meet — leaves a critical finding: the monitoring gate fails and
	// revokes the model.
	gate(ml, model, "monitoring", store.ResultPass, store.StateReleased)
	var revoked store.Artifact
	if s := e.json(sec, "POST", "/api/v1/artifacts/"+string(ds)+"/override", OverrideRequest{To: store.StateRevoked, Reason: "poisoned rows found"}, &revoked); s != 200 || revoked.State != store.StateRevoked {
		t.Fatalf("override: %d %+v", s, revoked)
	}
	var imp ImpactList
	e.json(store.RoleAuditor, "GET", "/api/v1/artifacts/"+string(ds)+"/impact", nil, &imp)
	if len(imp.Impacted) != 1 || store.Digest(imp.Impacted[0].Digest) != model || imp.Impacted[0].State != store.StateReleased {
		t.Fatalf("impact of the dataset %+v", imp)
	}
	var dsSigs FactList
	e.json(store.RoleAuditor, "GET", "/api/v1/artifacts/"+string(ds)+"/evidence?predicate_type="+url.QueryEscape(signing.PredicateType), nil, &dsSigs)
	body, _ = json.Marshal(VerifyRequest{EvidenceID: dsSigs.Facts[0].EvidenceID})
	e.accepted(ml, "POST", "/api/v1/artifacts/"+string(model)+"/verify", body)
	gate(ml, model, "monitoring", store.ResultFail, store.StateRevoked)
	e.json(store.RoleAuditor, "GET", "/api/v1/artifacts/"+string(ds)+"/impact", nil, &imp)
	if len(imp.Impacted) != 1 || imp.Impacted[0].State != store.StateRevoked {
		t.Fatalf("impact after revocation %+v", imp)
	}
	// Nothing leaves revoked: serving refuses it, and no gate moves it.
	gate(ml, model, "serving", store.ResultFail, store.StateRevoked)

	// knowledge: a RAG corpus of the organisation (from an allowed source,
	// or without a pipeline file its own), signed: verified.
	kb := []byte(`{"id":1,"text":"Reset your password from the account page."}` + "\n")
	rag := upload(de, "kb.jsonl", "rag-corpus", own("kb.jsonl"), kb)
	sign("kb.jsonl", kb)
	gate(de, rag, "knowledge", store.ResultPass, store.StateVerified)

	// Every decision is a signed VSA; the history shows each move.
	for _, d := range []store.Digest{ds, base, evil, model, bad, rag} {
		var dl DecisionList
		e.json(store.RoleAuditor, "GET", "/api/v1/artifacts/"+string(d)+"/decisions", nil, &dl)
		for _, dec := range dl.Decisions {
			if dec.EvidenceID == 0 {
				t.Errorf("%s: unsigned %s decision", d, dec.Stage)
			}
		}
	}
	var hist HistoryList
	e.json(store.RoleAuditor, "GET", "/api/v1/artifacts/"+string(model)+"/history", nil, &hist)
	var moves []string
	for _, h := range hist.History {
		moves = append(moves, string(h.To))
	}
	if got := strings.Join(moves, ","); got != "quarantined,verified,released,revoked" {
		t.Errorf("model history %s", got)
	}

	// Maturity: the one AIMM assessment (`mlsec assess`'s) over the stored
	// evidence.
	var mat Maturity
	e.json(store.RoleAuditor, "GET", "/api/v1/maturity", nil, &mat)
	got := map[string][4]int{}
	for _, c := range mat.Classes {
		got[c.Class] = c.AtLevel
	}
	// The dataset: signed, intake record (without a pipeline: its own,
	// with provenance of its preparation), data gate passed: L3. The RAG
	// corpus: signed but no origin recorded: L1. Models: the base (intake,
	// experimentation passed) L3; the fine-tuned model (provenance naming
	// its parents, ci and cd passed, then failed monitoring: revoked) L2;
	// the malicious pickle (signed, no intake record) L1; the tampered
	// weights (unsigned) L0.
	want := map[string][4]int{"dataset": {0, 0, 0, 1}, "llm-asset": {0, 1, 0, 0}, "model": {1, 1, 1, 1}}
	if mat.Sampled != 6 || len(got) != len(want) {
		t.Fatalf("maturity %+v", mat)
	}
	for class, w := range want {
		if got[class] != w {
			t.Errorf("maturity of %s: %v artifacts at L0..L3, want %v", class, got[class], w)
		}
	}
}

func mustThreshold(t *testing.T, s string) attest.Threshold {
	t.Helper()
	th, err := attest.ParseThreshold(s)
	if err != nil {
		t.Fatal(err)
	}
	return th
}
