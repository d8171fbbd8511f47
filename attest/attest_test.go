package attest_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/attest/attesttest"
	"github.com/mlsecops/mlsec/report"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/signing/sigstoretest"
)

var update = flag.Bool("update", false, "rewrite golden files")

const (
	digestA = attest.Digest("sha256:1111111111111111111111111111111111111111111111111111111111111111")
	digestB = attest.Digest("sha256:2222222222222222222222222222222222222222222222222222222222222222")
	digestC = attest.Digest("sha256:3333333333333333333333333333333333333333333333333333333333333333")
)

func goldenProvenance() *attest.Provenance {
	return &attest.Provenance{
		Subject:      attest.Subject{Name: "finetune", Digest: digestA},
		RunType:      attest.RunFineTuning,
		BuilderID:    "https://ci.example/builders/gpu-runner@v2",
		BuildType:    attest.BuildType,
		InvocationID: "run-42",
		StartedOn:    time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC),
		FinishedOn:   time.Date(2026, 11, 1, 12, 30, 0, 0, time.UTC),
		Parameters:   map[string]any{"epochs": float64(3), "lr": 0.0002, "optimizer": "adamw"},
		Dependencies: []attest.Dependency{
			{Role: attest.RoleDataset, Name: "corpus", Digest: digestB},
			{Role: attest.RoleBaseModel, Name: "base", Digest: digestC},
			{Role: attest.RoleCode, URI: "git+https://git.example/train", Commit: "0123456789abcdef0123456789abcdef01234567"},
		},
	}
}

func goldenScanDoc() *report.ScanDocument {
	return &report.ScanDocument{
		Schema: report.ScanSchema,
		Tool:   report.Tool{Name: "mlsec", Version: "test"},
		Artifacts: []scan.Artifact{{
			Path: "model.pkl", Format: "pickle", Size: 42, Status: scan.StatusScanned, Verdict: scan.VerdictAnalysed,
			Findings: []mlsec.Finding{{RuleID: "PICKLE-001", Severity: mlsec.SeverityCritical, Path: "model.pkl", Message: "os.system"}},
		}},
		Summary: report.Summary{Artifacts: 1, Scanned: 1, Findings: 1, BySeverity: map[string]int{"critical": 1}, MaxSeverity: mlsec.SeverityCritical},
	}
}

func goldenEval() *attest.Eval {
	acc, _ := attest.ParseThreshold("accuracy>=0.9")
	tox, _ := attest.ParseThreshold("toxicity<0.01")
	lat, _ := attest.ParseThreshold("perf.latency_ms<=50")
	return &attest.Eval{
		Subject: attest.Subject{Name: "finetune", Digest: digestA}, MetricsName: "metrics.json",
		MetricsFile: []byte(`{"accuracy": 0.93, "toxicity": 0.02, "perf": {"latency_ms": 40}}`),
		Fail:        []attest.Threshold{acc, tox}, Warn: []attest.Threshold{lat},
		URL: "https://ci.example/runs/42",
	}
}

func goldenBOM() []byte {
	return []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"machine-learning-model","name":"finetune"}]}`)
}

// TestGoldenStatements pins the exact statement bytes of every predicate.
func TestGoldenStatements(t *testing.T) {
	tests := []struct {
		name string
		make func() ([]byte, error)
	}{
		{"provenance", func() ([]byte, error) { return goldenProvenance().Statement() }},
		{"scan", func() ([]byte, error) {
			return attest.ScanStatement(attest.Subject{Name: "model", Digest: digestA}, goldenScanDoc())
		}},
		{"eval", func() ([]byte, error) { return goldenEval().Statement() }},
		{"bom", func() ([]byte, error) {
			return attest.BOMStatement(attest.Subject{Name: "finetune", Digest: digestA}, goldenBOM())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.make()
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, got, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", "golden", tt.name+".json")
			if *update {
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), pretty.String()); diff != "" {
				t.Errorf("statement differs from %s (-want +got):\n%s", path, diff)
			}
			// Rendering twice gives the same bytes.
			again, _ := tt.make()
			if !bytes.Equal(got, again) {
				t.Error("statement rendering is not deterministic")
			}
			st, err := attest.ParseStatement(got)
			if err != nil {
				t.Fatal(err)
			}
			if err := attest.CheckPredicate(st); err != nil {
				t.Errorf("golden statement predicate: %v", err)
			}
		})
	}
}

type method struct {
	name   string
	signer signing.Signer
	verify signing.Verifier
}

func methods(t *testing.T) []method {
	k := attesttest.NewKey(t)
	ca := attesttest.NewCA(t)
	return []method{
		{"key", k.Signer(), k.Verifier()},
		{"certificate", ca.CertSigner, ca.CertVerifier},
		keyless(t),
	}
}

const (
	keylessIdentity = "trainer@acme.example"
	keylessIssuer   = "https://issuer.acme.example"
)

// keyless signs with sigstore-go's keyless flow against a virtual Sigstore
// (Fulcio and Rekor over HTTP, as signing's own keyless tests do) and
// verifies identity, issuer, certificate chain and log entry.
func keyless(t *testing.T) method {
	v := sigstoretest.New(t)
	token := sigstoretest.Token(map[string]any{"sub": "1", "email": keylessIdentity, "email_verified": true, "iss": keylessIssuer})
	return method{"keyless",
		&signing.SigstoreSigner{FulcioURL: v.URL, RekorURL: v.URL, IDToken: token, TrustedMaterial: v},
		&signing.SigstoreVerifier{TrustedMaterial: v, Identity: keylessIdentity, Issuer: keylessIssuer}}
}

// TestRoundTrip signs and verifies every predicate with every method and
// reads the predicate back.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, m := range methods(t) {
		t.Run(m.name, func(t *testing.T) {
			prov := goldenProvenance()
			st, err := prov.Statement()
			if err != nil {
				t.Fatal(err)
			}
			line, err := attest.Sign(ctx, m.signer, st)
			if err != nil {
				t.Fatal(err)
			}
			got, err := attest.Verify(ctx, m.verify, line)
			if err != nil {
				t.Fatal(err)
			}
			back, err := attest.ProvenanceOf(got)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(prov, back); diff != "" {
				t.Errorf("provenance round trip (-want +got):\n%s", diff)
			}

			st, _ = attest.ScanStatement(attest.Subject{Name: "m", Digest: digestA}, goldenScanDoc())
			line, _ = attest.Sign(ctx, m.signer, st)
			got, err = attest.Verify(ctx, m.verify, line)
			if err != nil {
				t.Fatal(err)
			}
			sc, err := attest.ScanOf(got)
			if err != nil {
				t.Fatal(err)
			}
			if sc.MaxSeverity() != mlsec.SeverityCritical || sc.Summary.Findings != 1 || len(sc.Artifacts) != 1 {
				t.Errorf("scan round trip: %+v", sc.Summary)
			}

			st, _ = goldenEval().Statement()
			line, _ = attest.Sign(ctx, m.signer, st)
			got, err = attest.Verify(ctx, m.verify, line)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := attest.TestResultOf(got)
			if err != nil {
				t.Fatal(err)
			}
			want := &attest.TestResult{Result: attest.ResultFailed, Passed: []string{"accuracy>=0.9", "perf.latency_ms<=50"},
				Failed: []string{"toxicity<0.01"}, URL: "https://ci.example/runs/42",
				Metrics: map[string]any{"accuracy": 0.93, "toxicity": 0.02, "perf.latency_ms": float64(40)}}
			if diff := cmp.Diff(want, tr); diff != "" {
				t.Errorf("eval round trip (-want +got):\n%s", diff)
			}

			st, _ = attest.BOMStatement(attest.Subject{Name: "m", Digest: digestA}, goldenBOM())
			line, _ = attest.Sign(ctx, m.signer, st)
			if got, err = attest.Verify(ctx, m.verify, line); err != nil || got.GetPredicateType() != attest.CycloneDXType {
				t.Errorf("bom round trip: %v %v", got.GetPredicateType(), err)
			}
		})
	}
}

func TestEvalResults(t *testing.T) {
	th := func(s ...string) []attest.Threshold {
		var out []attest.Threshold
		for _, x := range s {
			v, err := attest.ParseThreshold(x)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
		return out
	}
	metrics := []byte(`{"acc": 0.8, "f1": 0.7, "name": "run", "hist": [1, 2, {"a": 3}]}`)
	tests := []struct {
		name       string
		fail, warn []attest.Threshold
		result     string
		passed     []string
		warned     []string
		failed     []string
	}{
		{"no thresholds", nil, nil, attest.ResultPassed, nil, nil, nil},
		{"pass", th("acc>0.5"), th("f1>=0.7"), attest.ResultPassed, []string{"acc>0.5", "f1>=0.7"}, nil, nil},
		{"warn", th("acc>0.5"), th("f1>0.9"), attest.ResultWarned, []string{"acc>0.5"}, []string{"f1>0.9"}, nil},
		{"fail", th("acc==1"), nil, attest.ResultFailed, nil, nil, []string{"acc==1"}},
		{"missing metric fails", th("bleu>0"), nil, attest.ResultFailed, nil, nil, []string{"bleu>0"}},
		{"non-numeric metric fails", th("name>0"), nil, attest.ResultFailed, nil, nil, []string{"name>0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &attest.Eval{Subject: attest.Subject{Digest: digestA}, MetricsFile: metrics, Fail: tt.fail, Warn: tt.warn}
			b, err := e.Statement()
			if err != nil {
				t.Fatal(err)
			}
			st, _ := attest.ParseStatement(b)
			tr, err := attest.TestResultOf(st)
			if err != nil {
				t.Fatal(err)
			}
			got := []any{tr.Result, tr.Passed, tr.Warned, tr.Failed}
			want := []any{tt.result, tt.passed, tt.warned, tt.failed}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{"acc", "acc>=", "acc>=x", ">=1", "acc>=NaN", "acc>=Inf"} {
		if _, err := attest.ParseThreshold(bad); !errors.Is(err, attest.ErrMalformed) {
			t.Errorf("ParseThreshold(%q) = %v, want ErrMalformed", bad, err)
		}
	}
	for _, bad := range []string{`[1]`, `{"a":`, `"x"`} {
		if _, err := attest.ParseMetrics([]byte(bad)); !errors.Is(err, attest.ErrMalformed) {
			t.Errorf("ParseMetrics(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}

// TestMalformedPredicates checks that ill-formed predicates are named.
func TestMalformedPredicates(t *testing.T) {
	stmt := func(pt, pred string) []byte {
		return []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"m","digest":{"sha256":"` + digestA.Hex() + `"}}],"predicateType":"` + pt + `","predicate":` + pred + `}`)
	}
	tests := []struct {
		name    string
		payload []byte
		want    string
	}{
		{"not json", []byte("nope"), "not an in-toto v1 statement"},
		{"wrong type", []byte(`{"_type":"https://example/x","subject":[{"digest":{"sha256":"` + digestA.Hex() + `"}}],"predicateType":"p","predicate":{}}`), "wrong statement type"},
		{"no subject", []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"p","predicate":{"a":1}}`), "at least one subject"},
		{"bad subject digest", []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"abc"}}],"predicateType":"p","predicate":{"a":1}}`), "digest"},
		{"provenance without builder", stmt(attest.ProvenanceType, `{"buildDefinition":{"buildType":"x","externalParameters":{"a":1}},"runDetails":{"builder":{"version":{"a":"b"}}}}`), "builder.id required"},
		{"provenance without external parameters", stmt(attest.ProvenanceType, `{"buildDefinition":{"buildType":"x"},"runDetails":{"builder":{"id":"b"}}}`), "externalParameters required"},
		{"provenance bad dependency digest", stmt(attest.ProvenanceType, `{"buildDefinition":{"buildType":"x","externalParameters":{"a":1},"resolvedDependencies":[{"name":"d","digest":{"sha256":"zz"}}]},"runDetails":{"builder":{"id":"b"}}}`), "ResolvedDependencies[0]"},
		{"scan wrong schema", stmt(attest.ScanType, `{"schema":"other","tool":{"name":"mlsec"},"artifacts":[],"summary":{"artifacts":0}}`), `schema "other"`},
		{"scan inconsistent summary", stmt(attest.ScanType, `{"schema":"mlsec.scan/v1","tool":{"name":"mlsec"},"artifacts":[],"summary":{"artifacts":2}}`), "counts 2 artifacts"},
		{"test result bad result", stmt(attest.TestResultType, `{"result":"MAYBE"}`), `test result "MAYBE"`},
		{"test result passed with failures", stmt(attest.TestResultType, `{"result":"PASSED","failedTests":["x"]}`), "PASSED but lists"},
		{"bom not cyclonedx", stmt(attest.CycloneDXType, `{"bomFormat":"SPDX"}`), "not a CycloneDX document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := attest.ParseStatement(tt.payload)
			if err == nil {
				err = attest.CheckPredicate(st)
			}
			if !errors.Is(err, attest.ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want ErrMalformed containing %q", err, tt.want)
			}
		})
	}
}

func TestParseCodeRef(t *testing.T) {
	d, err := attest.ParseCodeRef("git@git.example:org/repo.git@0123456789ABCDEF0123456789abcdef01234567")
	if err != nil {
		t.Fatal(err)
	}
	if d.URI != "git@git.example:org/repo.git" || d.Commit != "0123456789abcdef0123456789abcdef01234567" || d.Role != attest.RoleCode {
		t.Errorf("got %+v", d)
	}
	for _, bad := range []string{"https://x", "https://x@main", "@0123456789abcdef0123456789abcdef01234567", "x@"} {
		if _, err := attest.ParseCodeRef(bad); err == nil {
			t.Errorf("ParseCodeRef(%q) accepted", bad)
		}
	}
}

func TestParseDigest(t *testing.T) {
	if d, err := attest.ParseDigest(strings.ToUpper(digestA.Hex())); err != nil || d != digestA {
		t.Errorf("ParseDigest = %v, %v", d, err)
	}
	for _, bad := range []string{"", "sha256:", "sha256:12", "sha512:" + digestA.Hex()} {
		if _, err := attest.ParseDigest(bad); err == nil {
			t.Errorf("ParseDigest(%q) accepted", bad)
		}
	}
}

// tamper decodes a bundle line, changes its payload and re-encodes it.
func tamper(t *testing.T, line []byte, from, to string) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(line, &b); err != nil {
		t.Fatal(err)
	}
	env := b["dsseEnvelope"].(map[string]any)
	p, err := base64.StdEncoding.DecodeString(env["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(p, []byte(from)) {
		t.Fatalf("payload does not contain %q", from)
	}
	env["payload"] = base64.StdEncoding.EncodeToString(bytes.Replace(p, []byte(from), []byte(to), 1))
	out, _ := json.Marshal(b)
	return out
}

// TestScanArtifact runs the real scanner in process over a model holding a
// malicious pickle and checks the predicate: paths relative to the model,
// the finding kept, the signature and claims files left out.
func TestScanArtifact(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "model")
	attesttest.Artifact(t, dir, map[string]string{
		"evil.pkl":                  "cos\nsystem\n(S'echo hi'\ntR.",
		attest.ClaimsFileName:       "{}\n",
		attest.DefaultSignatureName: "{}",
	})
	doc, err := attest.ScanArtifact(context.Background(), dir, scan.DefaultConfig(), scan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := attest.ScanStatement(attest.Subject{Name: "model", Digest: digestA}, doc)
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := attest.ParseStatement(st)
	sum, err := attest.ScanOf(parsed)
	if err != nil {
		t.Fatal(err)
	}
	if sum.MaxSeverity() != mlsec.SeverityCritical || sum.Summary.Artifacts != 1 {
		t.Errorf("summary %+v, want one artifact with a critical finding", sum.Summary)
	}
	var art struct {
		Path     string `json:"path"`
		Findings []struct {
			Path string `json:"path"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(sum.Artifacts[0], &art); err != nil {
		t.Fatal(err)
	}
	if art.Path != "evil.pkl" || len(art.Findings) == 0 || art.Findings[0].Path != "evil.pkl" {
		t.Errorf("artifact %+v, want evil.pkl with relative finding paths", art)
	}
}

// TestKeylessClaims records a keyless-signed provenance claim beside a
// keyless-signed model and verifies it: accepted for the signer's identity
// and issuer, refused precisely for another identity, another issuer or
// another Sigstore (its log and CA unknown).
func TestKeylessClaims(t *testing.T) {
	ctx := context.Background()
	m := keyless(t)
	model := attesttest.Artifact(t, filepath.Join(t.TempDir(), "model"), map[string]string{"weights.bin": "w", "config.json": "{}"})
	d := attesttest.Sign(t, model, m.signer)
	attesttest.Provenance(t, model, d, m.signer, attest.RunFineTuning,
		attest.Dependency{Role: attest.RoleBaseModel, Name: "base", Digest: digestA})
	b, err := signing.ReadBundleFile(filepath.Join(model, attest.ClaimsFileName))
	if err != nil {
		t.Fatal(err)
	}
	pb, err := signing.ReadBundle(bytes.TrimSpace(b))
	if err != nil {
		t.Fatal(err)
	}
	if vm := pb.GetVerificationMaterial(); vm.GetCertificate() == nil || len(vm.GetTlogEntries()) == 0 {
		t.Fatalf("keyless claim without certificate or log entry: %v", vm)
	}
	other := keyless(t)
	for _, tt := range []struct {
		name   string
		v      signing.Verifier
		status attest.ClaimStatus
		reason string
	}{
		{"signer", m.verify, attest.ClaimValid, ""},
		{"other identity", &signing.SigstoreVerifier{TrustedMaterial: m.verify.(*signing.SigstoreVerifier).TrustedMaterial, Identity: "mallory@acme.example", Issuer: keylessIssuer}, attest.ClaimInvalid, "mallory@acme.example"},
		{"other issuer", &signing.SigstoreVerifier{TrustedMaterial: m.verify.(*signing.SigstoreVerifier).TrustedMaterial, Identity: keylessIdentity, Issuer: "https://evil.example"}, attest.ClaimInvalid, "https://evil.example"},
		{"other Sigstore", other.verify, attest.ClaimInvalid, "transparency log"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []attest.ClaimResult
			err := attest.ReadClaimsFile(filepath.Join(model, attest.ClaimsFileName), func(c attest.Claim) error {
				got = append(got, attest.VerifyClaim(ctx, c, d, tt.v))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Status != tt.status || !strings.Contains(got[0].Reason, tt.reason) {
				t.Fatalf("got %+v, want %s naming %q", got, tt.status, tt.reason)
			}
			if tt.status == attest.ClaimValid {
				p, err := attest.ProvenanceOf(got[0].Statement)
				if err != nil || len(p.Dependencies) != 1 || p.Dependencies[0].Digest != digestA {
					t.Errorf("provenance %+v, %v", p, err)
				}
			}
		})
	}
}

// TestScanArtifactEvidenceImpostor: a directory's model.sig and claims.jsonl
// are left out of the scan only while they are what their names say; a
// malicious pickle saved under those names is a finding, never a silent
// pass (a gate's scan rule would otherwise pass a model shipping one).
func TestScanArtifactEvidenceImpostor(t *testing.T) {
	for _, name := range []string{attest.ClaimsFileName, attest.DefaultSignatureName} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "model")
			attesttest.Artifact(t, dir, map[string]string{
				"weights.json": "{}",
				name:           "cos\nsystem\n(S'echo hi'\ntR.",
			})
			doc, err := attest.ScanArtifact(context.Background(), dir, scan.DefaultConfig(), scan.Options{})
			if err != nil {
				t.Fatal(err)
			}
			st, err := attest.ScanStatement(attest.Subject{Name: "model", Digest: digestA}, doc)
			if err != nil {
				t.Fatal(err)
			}
			parsed, _ := attest.ParseStatement(st)
			sum, err := attest.ScanOf(parsed)
			if err != nil {
				t.Fatal(err)
			}
			if sum.MaxSeverity() != mlsec.SeverityCritical {
				t.Errorf("summary %+v, want the pickle named %s reported critical", sum.Summary, name)
			}
		})
	}
}
