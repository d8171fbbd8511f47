package gating_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/policy"
	"github.com/mlsecops/mlsec/server/gating"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/sqlite"
)

// fixedGate answers the results in order, one per call.
type fixedGate struct{ results []store.Result }

func (g *fixedGate) Evaluate(_ context.Context, in gating.Input) (gating.Output, error) {
	r := g.results[0]
	g.results = g.results[1:]
	return gating.Output{Result: r, Policy: "test@1", Reasons: []string{string(r) + " " + in.Stage}}, nil
}

func open(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.OpenDir(context.Background(), t.TempDir(), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestDecideTrust walks an artifact through the trust states with a gate
// whose verdicts are given, and checks each recorded decision.
func TestDecideTrust(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	d := store.Digest("sha256:" + strings.Repeat("a", 64))
	if _, _, err := st.PutArtifact(ctx, store.Artifact{Digest: d, Name: "m"}, "test"); err != nil {
		t.Fatal(err)
	}
	g := &fixedGate{results: []store.Result{store.ResultFail, store.ResultWarn, store.ResultPass, store.ResultPass, store.ResultFail, store.ResultPass}}
	dec, err := gating.New(gating.Config{Store: st, Gate: g})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, stage := range []string{"ci", "ci", "cd", "serving", "monitoring", "ci"} {
		res, err := dec.Decide(ctx, d, stage, "token:t")
		if err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		got = append(got, stage+":"+string(res.Decision.Result)+":"+string(res.Artifact.State))
		if res.Decision.EvidenceID != 0 || res.Decision.Actor != "token:t" || res.Decision.Policy != "test@1" {
			t.Errorf("unsigned decision %+v", res.Decision)
		}
	}
	want := []string{"ci:fail:quarantined", "ci:warn:verified", "cd:pass:released", "serving:pass:released", "monitoring:fail:revoked", "ci:pass:revoked"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decisions (-want +got):\n%s", diff)
	}
	if _, err := dec.Decide(ctx, d, "prod", "token:t"); mlsec.ErrorCode(err) != mlsec.EINVALID {
		t.Errorf("unknown stage: %v", err)
	}
	if _, err := dec.Decide(ctx, store.Digest("sha256:"+strings.Repeat("b", 64)), "ci", "token:t"); store.Code(err) != mlsec.ENOTFOUND {
		t.Errorf("unknown artifact: %v", err)
	}
}

// TestDecideSigned: with a signer, a decision of any Gate (here one that
// gives no policy.Decision) is a VSA bundle stored as evidence.
func TestDecideSigned(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	d := store.Digest("sha256:" + strings.Repeat("c", 64))
	if _, _, err := st.PutArtifact(ctx, store.Artifact{Digest: d, Name: "m", Source: "https://models.example/m"}, "test"); err != nil {
		t.Fatal(err)
	}
	dec, err := gating.New(gating.Config{Store: st, Gate: &fixedGate{results: []store.Result{store.ResultWarn}},
		Signer: &signing.KeySigner{Key: k}, Operator: "org-gate"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := dec.Decide(ctx, d, "data", "token:t")
	if err != nil {
		t.Fatal(err)
	}
	if res.Decision.EvidenceID == 0 || res.Artifact.State != store.StateVerified {
		t.Fatalf("decision %+v", res)
	}
	ev, err := st.Evidence(ctx, res.Decision.EvidenceID)
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := attest.Verify(ctx, &signing.KeyVerifier{Key: &k.PublicKey}, ev.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	v, rec, err := policy.ParseVSA(stmt)
	if err != nil || rec == nil {
		t.Fatalf("ParseVSA: %v", err)
	}
	if v.GetVerificationResult() != "PASSED" || v.GetResourceUri() != "https://models.example/m" || rec.Stage != "data" ||
		rec.Decision != policy.Warn || rec.TrustBefore != "quarantined" || rec.TrustState != "verified" || rec.Operator != "org-gate" {
		t.Fatalf("VSA %v %+v", v, rec)
	}
	if len(ev.Facts) != 1 || ev.Facts[0].PredicateType != policy.VSAType || ev.Facts[0].Signer != "org-gate" || ev.Facts[0].Subject != d {
		t.Fatalf("facts %+v", ev.Facts)
	}
}
