package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

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
