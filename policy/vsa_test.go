package policy

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

func TestVSAGolden(t *testing.T) {
	d := Decision{Stage: "cd", Result: Fail,
		Rules: []RuleResult{
			{Policy: "builtin/cd", RuleID: "CD-001", Title: "verified", Result: Pass, Reason: "verified",
				Mappings: []mlsec.Mapping{{Framework: "cosai-aimm", ID: "INV-L3-06"}}},
			{Policy: "builtin/cd", RuleID: "CD-003", Title: "provenance", Result: Fail,
				Reason: "missing evidence: provenance (no provenance attestation in the claims)", Missing: []string{"provenance"}},
		},
		Policies: []PolicyRef{{Name: "builtin/cd", Version: "1.0.0", File: "builtin/cd.yaml", Digest: "00"}},
	}
	st, err := VSAStatement(VSARequest{
		Subject:     attest.Subject{Name: "m", Digest: attest.Digest("sha256:" + string(bytes.Repeat([]byte("ab"), 32)))},
		ResourceURI: "https://huggingface.co/acme/m", Decision: d, TrustBefore: "verified", TrustState: "released",
		Operator: "platform-ci", Override: &Override{Identity: "alice@example.com", Reason: "INC-7"},
		Inputs: []Input{{URI: "m/claims.jsonl#L1", SHA256: "11"}},
		Time:   time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, st, "", "  "); err != nil {
		t.Fatal(err)
	}
	golden(t, "vsa.golden.json", pretty.Bytes())

	parsed, err := attest.ParseStatement(st)
	if err != nil {
		t.Fatal(err)
	}
	v, rec, err := ParseVSA(parsed)
	if err != nil {
		t.Fatal(err)
	}
	pd := priorDecision(v, rec)
	want := PriorDecision{Stage: "cd", Result: "FAILED", Decision: "FAIL", Overridden: true, Policy: "mlsec:builtin/cd@1.0.0",
		TrustState: "released", Time: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	if diff := cmp.Diff(want, pd); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
