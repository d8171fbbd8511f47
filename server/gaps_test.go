package server

import (
	"bytes"
	"context"
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
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/store"
)

// TestAPIGaps holds the regression tests of the API gaps issue 12 lists.
func TestAPIGaps(t *testing.T) {
	ml := store.RoleMLEngineer

	t.Run("empty upload refused", func(t *testing.T) {
		e := newEnv(t, nil)
		status, b, _ := e.do(ml, "POST", "/api/v1/uploads?name=empty.safetensors&kind=model", bytes.NewReader(nil), "")
		if status != http.StatusBadRequest || errCode(t, b) != "invalid" || !strings.Contains(string(b), "empty upload") {
			t.Fatalf("zero-byte upload: %d %s, want 400 invalid", status, b)
		}
		var al ArtifactList
		e.json(store.RoleAuditor, "GET", "/api/v1/artifacts", nil, &al)
		if len(al.Artifacts) != 0 {
			t.Fatalf("a zero-byte upload registered %+v", al.Artifacts)
		}
		// One byte is content.
		if status, b, _ := e.do(ml, "POST", "/api/v1/uploads?name=one", bytes.NewReader([]byte{1}), ""); status != http.StatusCreated {
			t.Fatalf("one-byte upload: %d %s", status, b)
		}
	})

	t.Run("unknown token role lists the roles", func(t *testing.T) {
		e := newEnv(t, nil)
		status, b, _ := e.do(store.RoleAdmin, "POST", "/api/v1/tokens", strings.NewReader(`{"name":"x","role":"root"}`), "application/json")
		if status != http.StatusBadRequest {
			t.Fatalf("role root: %d %s", status, b)
		}
		for _, r := range store.Roles() {
			if !strings.Contains(string(b), string(r)) {
				t.Errorf("error %s does not list role %s", b, r)
			}
		}
	})

	t.Run("unknown framework lists the frameworks", func(t *testing.T) {
		e := newEnv(t, nil)
		status, b, _ := e.do(store.RoleAuditor, "GET", "/api/v1/coverage?framework=owasp", nil, "")
		if status != http.StatusNotFound || !strings.Contains(string(b), "owasp-llm-2025") || !strings.Contains(string(b), "mitre-atlas") {
			t.Fatalf("unknown framework: %d %s", status, b)
		}
	})

	t.Run("override body and unknown state", func(t *testing.T) {
		e := newEnv(t, nil)
		model := cleanSafetensors()
		e.do(ml, "POST", "/api/v1/uploads?name=m&kind=model", bytes.NewReader(model), "")
		path := "/api/v1/artifacts/" + string(digestOf(model)) + "/override"
		status, b, _ := e.do(store.RoleSecurity, "POST", path, strings.NewReader(`{"to":"trusted","reason":"x"}`), "application/json")
		if status != http.StatusBadRequest || !strings.Contains(string(b), "quarantined, verified, released, revoked") {
			t.Fatalf("override to an unknown state: %d %s", status, b)
		}
		// The body docs/api.md shows.
		var a store.Artifact
		if s := e.json(store.RoleSecurity, "POST", path, OverrideRequest{To: store.StateRevoked, Reason: "incident 42"}, &a); s != 200 || a.State != store.StateRevoked {
			t.Fatalf("override: %d %+v", s, a)
		}
	})

	t.Run("verify without a trust key says so", func(t *testing.T) {
		k := newTestKey(t)
		for _, queued := range []bool{false, true} {
			var mod func(*Config)
			if queued {
				mod = withQueue(t)
			}
			e := newEnv(t, mod)
			model := cleanSafetensors()
			e.do(ml, "POST", "/api/v1/uploads?name=model.safetensors&kind=model", bytes.NewReader(model), "")
			var ar AttestationResult
			status, b, _ := e.do(ml, "POST", "/api/v1/attestations", bytes.NewReader(k.signModel(t, "model.safetensors", model)), "")
			if status != http.StatusCreated || json.Unmarshal(b, &ar) != nil || ar.Verified || !strings.Contains(ar.Problem, "--trust-key") {
				t.Fatalf("signature on a server without a trust key: %d %s", status, b)
			}
			status, b, _ = e.do(ml, "POST", "/api/v1/artifacts/"+string(digestOf(model))+"/verify", nil, "")
			if status != http.StatusBadRequest || !strings.Contains(string(b), "trusts no signing key") || !strings.Contains(string(b), "--trust-key") {
				t.Fatalf("verify without a trust key (queued %v): %d %s", queued, status, b)
			}
		}
	})

	t.Run("lineage cycles refused when written", func(t *testing.T) {
		e := newEnv(t, nil)
		a, b, c := fakeDigest('a'), fakeDigest('b'), fakeDigest('c')
		// b was made from a, c from b.
		for _, edge := range []store.Edge{{From: b, To: a, Relation: "base-model"}, {From: c, To: b, Relation: "base-model"}} {
			if s := e.json(ml, "POST", "/api/v1/lineage", edge, nil); s != http.StatusCreated {
				t.Fatalf("edge %v: %d", edge, s)
			}
		}
		// a made from c closes a cycle: refused as an edge and as provenance.
		status, body, _ := e.do(ml, "POST", "/api/v1/lineage", strings.NewReader(`{"from":"`+string(a)+`","to":"`+string(c)+`","relation":"dataset"}`), "application/json")
		if status != http.StatusConflict || !strings.Contains(string(body), "cycle") {
			t.Fatalf("cyclic edge: %d %s", status, body)
		}
		status, body, _ = e.do(ml, "POST", "/api/v1/attestations", bytes.NewReader(trainingProvenance(t, a, c)), "")
		if status != http.StatusConflict || !strings.Contains(string(body), "cycle") {
			t.Fatalf("cyclic provenance: %d %s", status, body)
		}
		var st StatsResponse
		e.json(store.RoleAuditor, "GET", "/api/v1/stats", nil, &st)
		if st.Evidence != 0 {
			t.Fatalf("refused provenance was stored: %+v", st)
		}
	})

	t.Run("an intake record naming the artifact itself makes no edge", func(t *testing.T) {
		// Older `mlsec intake` recorded the artifact's own digest as a
		// dependency; such records are accepted, without a self-edge.
		e := newEnv(t, nil)
		self, other := fakeDigest('d'), fakeDigest('e')
		stmt := trainingProvenance(t, self, other)
		stmt = bytes.ReplaceAll(stmt, []byte(strings.TrimPrefix(string(other), "sha256:")), []byte(strings.TrimPrefix(string(self), "sha256:")))
		var ar AttestationResult
		status, b, _ := e.do(ml, "POST", "/api/v1/attestations", bytes.NewReader(stmt), "")
		if status != http.StatusCreated || json.Unmarshal(b, &ar) != nil || len(ar.Edges) != 0 || len(ar.Evidence.Facts) != 1 {
			t.Fatalf("self-dependency: %d %s", status, b)
		}
	})

	t.Run("provenance edges carry their time", func(t *testing.T) {
		e := newEnv(t, nil)
		model, data := fakeDigest('a'), fakeDigest('b')
		var ar AttestationResult
		status, b, _ := e.do(ml, "POST", "/api/v1/attestations", bytes.NewReader(trainingProvenance(t, model, data)), "")
		if status != http.StatusCreated || json.Unmarshal(b, &ar) != nil || len(ar.Edges) != 1 {
			t.Fatalf("provenance: %d %s", status, b)
		}
		if ar.Edges[0].CreatedAt.IsZero() || ar.Edges[0].From != model || ar.Edges[0].To != data {
			t.Fatalf("edge from provenance: %+v", ar.Edges[0])
		}
		if s := e.json(ml, "POST", "/api/v1/artifacts", RegisterRequest{Digest: string(data), Name: "corpus", Kind: "dataset"}, nil); s != 201 {
			t.Fatalf("register: %d", s)
		}
		var el EdgeList
		if s := e.json(store.RoleAuditor, "GET", "/api/v1/artifacts/"+string(data)+"/lineage?direction=downstream", nil, &el); s != 200 || len(el.Edges) != 1 {
			t.Fatalf("lineage: %d %+v", s, el)
		}
		if !el.Edges[0].CreatedAt.Equal(ar.Edges[0].CreatedAt) {
			t.Fatalf("stored edge %+v, answered %+v", el.Edges[0], ar.Edges[0])
		}
	})
}

// TestCoverageIsTheCLIs: GET /api/v1/coverage is policy.FrameworkCoverage,
// the function `mlsec frameworks coverage` prints: the same items,
// controls and counts for every framework.
func TestCoverageIsTheCLIs(t *testing.T) {
	e := newEnv(t, nil)
	want, err := policy.FrameworkCoverage(nil, scan.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got Coverage
	if s := e.json(store.RoleAuditor, "GET", "/api/v1/coverage", nil, &got); s != 200 {
		t.Fatalf("coverage: %d", s)
	}
	if len(got.Frameworks) != len(want) {
		t.Fatalf("%d frameworks, the CLI has %d", len(got.Frameworks), len(want))
	}
	for i, w := range want {
		g := got.Frameworks[i]
		if g.ID != w.Framework || g.Items != w.Total || g.Covered != w.Covered || len(g.Entries) != len(w.Items) {
			t.Errorf("%s: server %d/%d (%d entries), CLI %d/%d", w.Framework, g.Covered, g.Items, len(g.Entries), w.Covered, w.Total)
			continue
		}
		for j, it := range w.Items {
			if g.Entries[j].ID != it.ID || len(g.Entries[j].Controls) != len(it.Controls) {
				t.Errorf("%s %s: server controls %v, CLI %v", w.Framework, it.ID, g.Entries[j].Controls, it.Controls)
			}
		}
	}
}

// TestCLIClaimsAboutAFile: the CLI names a single file by its OpenSSF Model
// Signing root digest (attest.Identify, what `mlsec digest FILE` prints and
// `mlsec attest` signs), the server an upload by the sha256 of its bytes. A
// claim about the file is indexed under the uploaded artifact too, and its
// provenance dependencies resolve to uploaded files, so gates, lineage and
// impact see CLI-made evidence.
func TestCLIClaimsAboutAFile(t *testing.T) {
	k := newTestKey(t)
	e := newEnv(t, withKey(k))
	ml := store.RoleMLEngineer
	dir := t.TempDir()
	write := func(name string, b []byte) (string, store.Digest) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if s, body, _ := e.do(ml, "POST", "/api/v1/uploads?name="+name, bytes.NewReader(b), ""); s != 201 {
			t.Fatalf("upload %s: %d %s", name, s, body)
		}
		return p, digestOf(b)
	}
	modelPath, model := write("model.safetensors", cleanSafetensors())
	dataPath, data := write("corpus.csv", []byte("a,b\n1,2\n"))
	h := &attest.Hasher{}
	subj, err := attest.Identify(context.Background(), h, modelPath)
	if err != nil {
		t.Fatal(err)
	}
	dsubj, err := attest.Identify(context.Background(), h, dataPath)
	if err != nil {
		t.Fatal(err)
	}
	if root, _ := FileRootDigest(model); store.Digest(subj.Digest) != root || subj.Digest == attest.Digest(model) {
		t.Fatalf("CLI digest %s, upload %s, FileRootDigest %s", subj.Digest, model, root)
	}
	p := attest.Provenance{Subject: subj, RunType: attest.RunTraining, BuilderID: "https://ci.example/runner", StartedOn: time.Now().UTC(),
		Dependencies: []attest.Dependency{{Role: attest.RoleDataset, Name: dsubj.Name, Digest: dsubj.Digest}}}
	st, err := p.Statement()
	if err != nil {
		t.Fatal(err)
	}
	var ar AttestationResult
	status, b, _ := e.do(ml, "POST", "/api/v1/attestations", bytes.NewReader(k.signStatement(t, st)), "")
	if status != 201 || json.Unmarshal(b, &ar) != nil || !ar.Verified {
		t.Fatalf("provenance: %d %s", status, b)
	}
	if len(ar.Edges) != 1 || ar.Edges[0].From != model || ar.Edges[0].To != data {
		t.Fatalf("edges %+v, want %s -> %s", ar.Edges, model, data)
	}
	var fl FactList
	e.json(store.RoleAuditor, "GET", "/api/v1/artifacts/"+string(model)+"/evidence?predicate_type="+url.QueryEscape(attest.ProvenanceType), nil, &fl)
	if len(fl.Facts) != 1 || fl.Facts[0].Signer == "" {
		t.Fatalf("provenance facts of the upload %+v", fl.Facts)
	}
	var imp ImpactList
	e.json(store.RoleAuditor, "GET", "/api/v1/artifacts/"+string(data)+"/impact", nil, &imp)
	if len(imp.Impacted) != 1 || store.Digest(imp.Impacted[0].Digest) != model {
		t.Fatalf("impact %+v", imp)
	}
}

// TestServerGateKnowsItsPipeline: the server's evidence document names its
// pipeline file as policy.Gatherer does, so the built-in policies apply
// their with-a-pipeline rules: with a pipeline, a dataset of unknown
// source fails DATA-001; without one, the organisation's own passes it.
func TestServerGateKnowsItsPipeline(t *testing.T) {
	k := newTestKey(t)
	for _, withPipeline := range []bool{false, true} {
		e := newEnv(t, func(c *Config) {
			c.Verifier, c.VerifierName = k.verifier, "key:org"
			if withPipeline {
				pl, err := lifecycle.ParsePipeline("", []byte("apiVersion: mlsec.dev/pipeline/v1\nname: p\n"))
				if err != nil {
					t.Fatal(err)
				}
				c.Pipeline = pl
			}
		})
		data := []byte("a,b\n1,2\n")
		e.do(store.RoleDataEngineer, "POST", "/api/v1/uploads?name=d.csv&kind=dataset&scan=true", bytes.NewReader(data), "")
		var gr GateResult
		if s := e.json(store.RoleDataEngineer, "POST", "/api/v1/artifacts/"+string(digestOf(data))+"/gate", GateRequest{Stage: "data"}, &gr); s != 200 {
			t.Fatalf("gate: %d", s)
		}
		reasons := strings.Join(gr.Decision.Reasons, "\n")
		if failed := strings.Contains(reasons, "FAIL DATA-001"); failed != withPipeline {
			t.Errorf("pipeline %v: DATA-001 failed %v\n%s", withPipeline, failed, reasons)
		}
	}
}
