package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/store"
)

func TestStatusOf(t *testing.T) {
	for code, want := range map[string]int{
		mlsec.EINVALID: 400, EUNAUTHORIZED: 401, mlsec.EFORBIDDEN: 403, mlsec.ENOTFOUND: 404,
		EMETHODNOTALLOWED: 405, mlsec.ECONFLICT: 409, ETOOLARGE: 413, ERATELIMITED: 429,
		mlsec.EINTERNAL: 500, EUNAVAILABLE: 503, mlsec.EIO: 502, "something-new": 500,
	} {
		if got := statusOf(code); got != want {
			t.Errorf("statusOf(%q) = %d, want %d", code, got, want)
		}
	}
}

// TestErrors checks that failures come back as JSON with a stable code.
func TestErrors(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxBodyBytes = 1024; c.MaxUploadBytes = 2048 })
	big := bytes.Repeat([]byte("x"), 4096)
	for _, tc := range []struct {
		name         string
		method, path string
		body         []byte
		status       int
		code         string
	}{
		{"unknown artifact", "GET", "/api/v1/artifacts/" + string(fakeDigest('d')), nil, 404, mlsec.ENOTFOUND},
		{"bad digest", "GET", "/api/v1/artifacts/sha256:xyz", nil, 400, mlsec.EINVALID},
		{"unknown endpoint", "GET", "/api/v1/nope", nil, 404, mlsec.ENOTFOUND},
		{"wrong method", "PUT", "/api/v1/artifacts", nil, 405, EMETHODNOTALLOWED},
		{"bad json", "POST", "/api/v1/artifacts", []byte(`{"digest":`), 400, mlsec.EINVALID},
		{"unknown field", "POST", "/api/v1/artifacts", []byte(`{"digest":"` + string(fakeDigest('a')) + `","colour":"red"}`), 400, mlsec.EINVALID},
		{"body too large", "POST", "/api/v1/attestations", big, 413, ETOOLARGE},
		{"upload too large", "POST", "/api/v1/uploads?name=x", bytes.Repeat([]byte("y"), 3000), 413, ETOOLARGE},
		{"size conflict", "POST", "/api/v1/artifacts", []byte(`{"digest":"` + string(fakeDigest('e')) + `","size":7}`), 409, mlsec.ECONFLICT},
		{"not an attestation", "POST", "/api/v1/attestations", []byte(`{"hello":1}`), 400, mlsec.EINVALID},
		{"bad stage", "POST", "/api/v1/artifacts/" + string(fakeDigest('e')) + "/gate", []byte(`{"stage":"prod"}`), 400, mlsec.EINVALID},
		{"override without reason", "POST", "/api/v1/artifacts/" + string(fakeDigest('e')) + "/override", []byte(`{"to":"released"}`), 400, mlsec.EINVALID},
		{"bad transition", "POST", "/api/v1/artifacts/" + string(fakeDigest('e')) + "/override", []byte(`{"to":"quarantined","reason":"r"}`), 409, mlsec.ECONFLICT},
		{"scan without blob", "POST", "/api/v1/artifacts/" + string(fakeDigest('e')) + "/scan", nil, 400, mlsec.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "size conflict" || strings.HasPrefix(tc.name, "bad stage") || strings.Contains(tc.name, "override") || strings.Contains(tc.name, "blob") {
				e.json(store.RoleAdmin, "POST", "/api/v1/artifacts", RegisterRequest{Digest: string(fakeDigest('e')), Size: 5}, nil)
			}
			status, b, h := e.do(store.RoleAdmin, tc.method, tc.path, bytes.NewReader(tc.body), "application/json")
			if status != tc.status || errCode(t, b) != tc.code {
				t.Fatalf("status %d body %s, want %d %s", status, b, tc.status, tc.code)
			}
			if ct := h.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
}

// testKey is a signing key and the matching server verifier.
type testKey struct {
	signer   *signing.KeySigner
	verifier *signing.KeyVerifier
}

func newTestKey(t *testing.T) testKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{signer: &signing.KeySigner{Key: k}, verifier: &signing.KeyVerifier{Key: &k.PublicKey}}
}

// signModel signs the single-file model data (named name) with OpenSSF
// Model Signing and returns the bundle.
func (k testKey) signModel(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := signing.Sign(context.Background(), p, k.signer, signing.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Bundle
}

// signStatement signs an in-toto statement into a Sigstore bundle.
func (k testKey) signStatement(t *testing.T, stmt []byte) []byte {
	t.Helper()
	b, err := attest.Sign(context.Background(), k.signer, stmt)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withKey configures the server to verify signatures made with k.
func withKey(k testKey) func(*Config) {
	return func(c *Config) { c.Verifier, c.VerifierName = k.verifier, "key:test" }
}

// trainingProvenance is provenance of model trained on dataset with code.
func trainingProvenance(t *testing.T, model, dataset store.Digest) []byte {
	t.Helper()
	p := attest.Provenance{
		Subject: attest.Subject{Name: "model.safetensors", Digest: attest.Digest(model)},
		RunType: attest.RunTraining, BuilderID: "https://ci.example/runner",
		StartedOn: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), FinishedOn: time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC),
		Dependencies: []attest.Dependency{
			{Role: attest.RoleDataset, Name: "corpus", Digest: attest.Digest(dataset)},
			{Role: attest.RoleCode, URI: "git+https://git.example/train", Commit: strings.Repeat("a", 40)},
		},
	}
	b, err := p.Statement()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUploadScanGate runs the main flow through the CEL stage policies:
// upload, scan, signature, provenance, gates, trust states, override.
func TestUploadScanGate(t *testing.T) {
	k := newTestKey(t)
	testUploadScanGate(t, newEnv(t, withKey(k)), k)
}

func testUploadScanGate(t *testing.T, e *env, k testKey) {
	ml := store.RoleMLEngineer
	gate := func(path, stage string) GateResult {
		t.Helper()
		var gr GateResult
		if s := e.json(ml, "POST", path+"/gate", GateRequest{Stage: stage}, &gr); s != 200 {
			t.Fatalf("gate %s: status %d", stage, s)
		}
		return gr
	}
	reasons := func(gr GateResult) string { return strings.Join(gr.Decision.Reasons, "\n") }

	// A malicious pickle: the scan finds code execution, the gate fails,
	// the artifact stays quarantined.
	var put ArtifactPut
	status, b, _ := e.do(ml, "POST", "/api/v1/uploads?name=evil.pkl&kind=model&scan=true", bytes.NewReader(maliciousPickle()), "application/octet-stream")
	if status != http.StatusCreated {
		t.Fatalf("upload: %d %s", status, b)
	}
	if err := json.Unmarshal(b, &put); err != nil {
		t.Fatal(err)
	}
	if put.Artifact.Digest != digestOf(maliciousPickle()) || !put.Artifact.Blob || put.Artifact.State != store.StateQuarantined {
		t.Fatalf("uploaded artifact %+v", put.Artifact)
	}
	if put.Scan == nil || put.Scan.Findings == 0 || put.Scan.MaxSeverity != "critical" {
		t.Fatalf("scan of a malicious pickle: %+v", put.Scan)
	}
	evil := "/api/v1/artifacts/" + string(put.Artifact.Digest)
	var fl FindingList
	e.json(ml, "GET", evil+"/findings?min_severity=high", nil, &fl)
	if len(fl.Findings) == 0 || fl.Findings[0].Finding.Path != "evil.pkl" {
		t.Fatalf("findings %+v", fl.Findings)
	}
	if gr := gate(evil, "experimentation"); gr.Decision.Result != store.ResultFail || gr.Artifact.State != store.StateQuarantined ||
		!strings.Contains(reasons(gr), "FAIL EXP-002") || !strings.Contains(reasons(gr), "PICKLE-") {
		t.Fatalf("gate on malicious pickle: %+v", gr)
	}

	// A clean safetensors model. Missing evidence never passes.
	model := cleanSafetensors()
	d := digestOf(model)
	clean := "/api/v1/artifacts/" + string(d)
	if status, b, _ := e.do(ml, "POST", "/api/v1/uploads?name=model.safetensors&kind=model", bytes.NewReader(model), ""); status != http.StatusCreated {
		t.Fatalf("upload: %d %s", status, b)
	}
	if gr := gate(clean, "ci"); gr.Decision.Result != store.ResultFail || !strings.Contains(reasons(gr), "missing evidence: scan") {
		t.Fatalf("gate without evidence: %s", reasons(gr))
	}
	var sr ScanResult
	if s := e.json(ml, "POST", clean+"/scan", nil, &sr); s != 200 || sr.Findings != 0 || sr.EvidenceID == 0 {
		t.Fatalf("scan: %d %+v", s, sr)
	}
	if gr := gate(clean, "experimentation"); gr.Decision.Result != store.ResultFail || !strings.Contains(reasons(gr), "FAIL EXP-001") {
		t.Fatalf("experimentation gate without signature: %s", reasons(gr))
	}
	// The model's OpenSSF Model Signing signature, verified by the server's
	// key and indexed under the file's sha256.
	var ar AttestationResult
	status, b, _ = e.do(ml, "POST", "/api/v1/attestations", bytes.NewReader(k.signModel(t, "model.safetensors", model)), "")
	if err := json.Unmarshal(b, &ar); err != nil || status != 201 || !ar.Verified {
		t.Fatalf("signature: %d %s", status, b)
	}
	var vr VerifyResult
	if s := e.json(ml, "POST", clean+"/verify", nil, &vr); s != 200 || !vr.Verified || vr.Signer != "key:test" {
		t.Fatalf("verify: %d %+v", s, vr)
	}
	gr := gate(clean, "experimentation")
	if gr.Decision.Result != store.ResultPass || gr.Artifact.State != store.StateVerified {
		t.Fatalf("experimentation gate, signed and clean: %s", reasons(gr))
	}
	// Signed provenance lets CI pass (warning: no evaluation, no BOM).
	status, b, _ = e.do(ml, "POST", "/api/v1/attestations", bytes.NewReader(k.signStatement(t, trainingProvenance(t, d, fakeDigest('9')))), "")
	if err := json.Unmarshal(b, &ar); err != nil || status != 201 || !ar.Verified || len(ar.Edges) != 1 {
		t.Fatalf("provenance: %d %s", status, b)
	}
	if gr := gate(clean, "ci"); gr.Decision.Result != store.ResultWarn || gr.Artifact.State != store.StateVerified {
		t.Fatalf("ci gate: %s", reasons(gr))
	}
	// CD releases; serving passes on a released model.
	if gr := gate(clean, "cd"); gr.Decision.Result == store.ResultFail || gr.Artifact.State != store.StateReleased {
		t.Fatalf("cd gate: %s", reasons(gr))
	}
	if gr := gate(clean, "serving"); gr.Decision.Result != store.ResultPass || gr.Artifact.State != store.StateReleased {
		t.Fatalf("serving gate: %s", reasons(gr))
	}
	// Security revokes (break-glass, with a reason); the auditor sees it.
	var a store.Artifact
	if s := e.json(store.RoleSecurity, "POST", clean+"/override", OverrideRequest{To: store.StateRevoked, Reason: "upstream dataset poisoned"}, &a); s != 200 || a.State != store.StateRevoked {
		t.Fatalf("override: %d %+v", s, a)
	}
	var hl HistoryList
	e.json(store.RoleAuditor, "GET", clean+"/history", nil, &hl)
	var states []string
	for _, h := range hl.History {
		states = append(states, string(h.To)+"/"+h.Via)
	}
	if diff := cmp.Diff([]string{"quarantined/create", "verified/decision", "released/decision", "revoked/override"}, states); diff != "" {
		t.Fatalf("history (-want +got):\n%s", diff)
	}
	var sl StageList
	e.json(store.RoleAuditor, "GET", "/api/v1/stages?artifact="+string(d), nil, &sl)
	got := map[string]string{}
	for _, st := range sl.Stages {
		got[st.Name] = st.Gates[0].Result
	}
	want := map[string]string{"planning": "none", "data": "none", "experimentation": "pass", "pipeline": "none", "ci": "warn",
		"cd": got["cd"], "training": "none", "serving": "pass", "monitoring": "none", "knowledge": "none"}
	if diff := cmp.Diff(want, got); diff != "" || got["cd"] == "fail" {
		t.Fatalf("stage statuses (-want +got):\n%s", diff)
	}
	var av AuditVerify
	if e.json(store.RoleAuditor, "GET", "/api/v1/audit/verify", nil, &av); !av.OK || av.Entries < 10 {
		t.Fatalf("audit verify %+v", av)
	}
}

// provenanceStatement makes an SLSA provenance statement: model made from
// dataset and base.
func provenanceStatement(t *testing.T, model, dataset, base store.Digest) []byte {
	t.Helper()
	p := attest.Provenance{
		Subject: attest.Subject{Name: "fine-tuned", Digest: attest.Digest(model)},
		RunType: attest.RunTraining, BuilderID: "https://ci.example/runner",
		StartedOn: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), FinishedOn: time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC),
		Dependencies: []attest.Dependency{
			{Role: attest.RoleDataset, Name: "corpus", Digest: attest.Digest(dataset)},
			{Role: attest.RoleBaseModel, Name: "base", Digest: attest.Digest(base)},
		},
	}
	b, err := p.Statement()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAttestationsLineageImpact submits provenance as a bare statement and
// as a DSSE envelope and follows the lineage it records.
func TestAttestationsLineageImpact(t *testing.T) { testAttestationsLineageImpact(t, newEnv(t, nil)) }

func testAttestationsLineageImpact(t *testing.T, e *env) {
	model, dataset, base, quant := fakeDigest('1'), fakeDigest('2'), fakeDigest('3'), fakeDigest('4')
	for _, a := range []store.Artifact{{Digest: model, Name: "fine-tuned", Kind: "model"}, {Digest: dataset, Name: "corpus", Kind: "dataset"},
		{Digest: base, Name: "base", Kind: "model"}, {Digest: quant, Name: "quantized", Kind: "model"}} {
		e.json(store.RoleDataEngineer, "POST", "/api/v1/artifacts", RegisterRequest{Digest: string(a.Digest), Name: a.Name, Kind: a.Kind}, nil)
	}
	stmt := provenanceStatement(t, model, dataset, base)
	var ar AttestationResult
	status, b, _ := e.do(store.RoleMLEngineer, "POST", "/api/v1/attestations", bytes.NewReader(stmt), "application/json")
	if status != http.StatusCreated {
		t.Fatalf("submit: %d %s", status, b)
	}
	if err := json.Unmarshal(b, &ar); err != nil {
		t.Fatal(err)
	}
	if ar.Verified || len(ar.Edges) != 2 || ar.Evidence.Facts[0].PredicateType != attest.ProvenanceType {
		t.Fatalf("attestation result %+v", ar)
	}
	// The same statement again is deduplicated.
	if status, _, _ := e.do(store.RoleMLEngineer, "POST", "/api/v1/attestations", bytes.NewReader(stmt), ""); status != http.StatusOK {
		t.Fatalf("resubmit: %d", status)
	}
	// A DSSE envelope with another run: quant made from model.
	env := fmt.Sprintf(`{"payloadType":"application/vnd.in-toto+json","payload":%q,"signatures":[]}`,
		base64.StdEncoding.EncodeToString(provenanceStatement(t, quant, dataset, model)))
	if status, b, _ := e.do(store.RoleMLEngineer, "POST", "/api/v1/attestations", strings.NewReader(env), ""); status != http.StatusCreated {
		t.Fatalf("envelope: %d %s", status, b)
	}
	// The evidence comes back verbatim.
	status, got, h := e.do(store.RoleAuditor, "GET", fmt.Sprintf("/api/v1/evidence/%d", ar.Evidence.ID), nil, "")
	if status != 200 || !bytes.Equal(got, stmt) || h.Get("Content-Type") != MediaStatement {
		t.Fatalf("evidence: %d %s %q", status, h.Get("Content-Type"), got)
	}
	var el EdgeList
	e.json(store.RoleAuditor, "GET", "/api/v1/artifacts/"+string(model)+"/lineage", nil, &el)
	var ups []string
	for _, ed := range el.Edges {
		if ed.From == model {
			ups = append(ups, string(ed.To)[:8]+"/"+ed.Relation)
		}
	}
	if diff := cmp.Diff([]string{"sha256:2/dataset", "sha256:3/base-model"}, sortStrings(ups)); diff != "" {
		t.Fatalf("upstream edges (-want +got):\n%s", diff)
	}
	// Impact of a compromised dataset: the model and, through it, the
	// quantized model.
	var il ImpactList
	e.json(store.RoleAuditor, "GET", "/api/v1/artifacts/"+string(dataset)+"/impact", nil, &il)
	got2 := map[string]int{}
	for _, i := range il.Impacted {
		got2[i.Name] = i.Depth
		if i.State != store.StateQuarantined {
			t.Errorf("impacted %s state %q", i.Name, i.State)
		}
	}
	if diff := cmp.Diff(map[string]int{"fine-tuned": 1, "quantized": 1}, got2); diff != "" {
		t.Fatalf("impact (-want +got):\n%s", diff)
	}
	var il2 ImpactList
	e.json(store.RoleAuditor, "GET", "/api/v1/artifacts/"+string(base)+"/impact", nil, &il2)
	got3 := map[string]int{}
	for _, i := range il2.Impacted {
		got3[i.Name] = i.Depth
	}
	if diff := cmp.Diff(map[string]int{"fine-tuned": 1, "quantized": 2}, got3); diff != "" {
		t.Fatalf("impact of base (-want +got):\n%s", diff)
	}
}

func sortStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

func TestRateLimit(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := newEnv(t, func(c *Config) { c.Rate = 1; c.Burst = 3; c.Now = func() time.Time { return now } })
	for i := range 3 {
		if s, b, _ := e.do(store.RoleAuditor, "GET", "/api/v1/whoami", nil, ""); s != 200 {
			t.Fatalf("request %d: %d %s", i, s, b)
		}
	}
	s, b, h := e.do(store.RoleAuditor, "GET", "/api/v1/whoami", nil, "")
	if s != http.StatusTooManyRequests || errCode(t, b) != ERATELIMITED || h.Get("Retry-After") == "" {
		t.Fatalf("4th request: %d %s retry-after %q", s, b, h.Get("Retry-After"))
	}
	// Another caller has its own bucket.
	if s, _, _ := e.do(store.RoleAdmin, "GET", "/api/v1/whoami", nil, ""); s != 200 {
		t.Fatalf("other caller: %d", s)
	}
	now = now.Add(2 * time.Second)
	if s, _, _ := e.do(store.RoleAuditor, "GET", "/api/v1/whoami", nil, ""); s != 200 {
		t.Fatalf("after refill: %d", s)
	}
}

// sampleLine is a text-format sample: name, optional labels, value.
var sampleLine = regexp.MustCompile(`^mlsec_[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? [-+0-9.eE]+(Inf)?$`)

func TestMetrics(t *testing.T) {
	e := newEnv(t, nil)
	e.do(store.RoleAuditor, "GET", "/api/v1/stats", nil, "")
	e.do("", "GET", "/api/v1/stats", nil, "")
	status, b, h := e.do("", "GET", "/metrics", nil, "")
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("metrics: %d %s", status, h.Get("Content-Type"))
	}
	text := string(b)
	for _, want := range []string{
		`mlsec_http_requests_total{method="GET",route="GET /api/v1/stats",code="200"} 1`,
		`mlsec_http_requests_total{method="GET",route="GET /api/v1/stats",code="401"} 1`,
		`mlsec_http_request_duration_seconds_bucket{route="GET /api/v1/stats",le="+Inf"} 2`,
		`mlsec_http_request_duration_seconds_count{route="GET /api/v1/stats"} 2`,
		"# TYPE mlsec_gate_decision_duration_seconds histogram",
		"mlsec_http_requests_in_flight 0",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Every sample line is "name{labels} value".
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		if !sampleLine.MatchString(line) {
			t.Errorf("malformed sample line %q", line)
		}
	}
}

// TestGracefulShutdown: cancelling Serve's context lets the request in
// flight finish and acknowledges it, then Serve returns nil.
func TestGracefulShutdown(t *testing.T) {
	e := newEnv(t, nil)
	e.blobs.hold = make(chan struct{})
	e.blobs.entered = make(chan struct{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String()
	type result struct {
		status int
		err    error
	}
	res := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("POST", url+"/api/v1/uploads?name=slow.safetensors", bytes.NewReader(cleanSafetensors()))
		req.Header.Set("Authorization", "Bearer "+e.tokens[store.RoleMLEngineer])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			res <- result{err: err}
			return
		}
		resp.Body.Close()
		res <- result{status: resp.StatusCode}
	}()
	<-e.blobs.entered // the upload is in flight
	cancel()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v while a request was in flight", err)
	default:
	}
	close(e.blobs.hold)
	r := <-res
	if r.err != nil || r.status != http.StatusCreated {
		t.Fatalf("in-flight upload: %d %v", r.status, r.err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := e.st.Artifact(context.Background(), digestOf(cleanSafetensors())); err != nil {
		t.Fatalf("acknowledged upload not stored: %v", err)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Fatal("server still accepts connections after shutdown")
	}
}

// TestCoverage: scanner rules and gate policy rules both count as controls.
func TestCoverage(t *testing.T) {
	e := newEnv(t, nil)
	controls := func(framework, id string) []string {
		var c Coverage
		if s := e.json(store.RoleAuditor, "GET", "/api/v1/coverage?framework="+framework, nil, &c); s != 200 || len(c.Frameworks) != 1 {
			t.Fatalf("coverage %s: %d", framework, s)
		}
		for _, it := range c.Frameworks[0].Entries {
			if it.ID == id {
				return it.Controls
			}
		}
		t.Fatalf("%s has no item %s", framework, id)
		return nil
	}
	if c := controls("owasp-ml-2023", "ML06"); !slices.Contains(c, "scanner:PICKLE-001") || !slices.Contains(c, "gate:experimentation/EXP-001") {
		t.Errorf("ML06 controls %v: want scanner rule PICKLE-001 and gate rule EXP-001", c)
	}
	if c := controls("nist-ssdf-1.1", "PS.1.3"); !slices.Contains(c, "gate:cd/CD-002") {
		t.Errorf("PS.1.3 controls %v: want CD-002", c)
	}
	// The same items are counted as by `mlsec frameworks coverage`
	// (lifecycle.Coverage): ATLAS tactics are not items a control covers.
	var atlas Coverage
	e.json(store.RoleAuditor, "GET", "/api/v1/coverage?framework=mitre-atlas", nil, &atlas)
	for _, it := range atlas.Frameworks[0].Entries {
		if it.Kind == "tactic" {
			t.Errorf("ATLAS tactic %s counted as a coverage item", it.ID)
			break
		}
	}
	if f := atlas.Frameworks[0]; f.Items != len(f.Entries) || f.Covered == 0 || f.Covered > f.Items {
		t.Errorf("ATLAS coverage %d of %d items (%d entries)", f.Covered, f.Items, len(f.Entries))
	}
	if s, b, _ := e.do(store.RoleAuditor, "GET", "/api/v1/coverage?framework=nope", nil, ""); s != 404 || errCode(t, b) != mlsec.ENOTFOUND {
		t.Errorf("unknown framework: %d %s", s, b)
	}
}

// TestAddEdgeAnswersStoredEdge: POST /api/v1/lineage answers with the
// edge as stored (with its time), and the edge is then in the lineage of
// its From artifact and in the impact of its To artifact.
func TestAddEdgeAnswersStoredEdge(t *testing.T) {
	e := newEnv(t, nil)
	model, data := fakeDigest('a'), fakeDigest('b')
	for _, d := range []store.Digest{model, data} {
		if s := e.json(store.RoleAdmin, "POST", "/api/v1/artifacts", RegisterRequest{Digest: string(d), Name: "x", Kind: "model"}, nil); s != 201 {
			t.Fatalf("register: %d", s)
		}
	}
	var got store.Edge
	if s := e.json(store.RoleDataEngineer, "POST", "/api/v1/lineage", store.Edge{From: model, To: data, Relation: "trainedOn"}, &got); s != 201 {
		t.Fatalf("add edge: %d", s)
	}
	if got.CreatedAt.IsZero() || got.From != model || got.To != data {
		t.Errorf("add edge answered %+v; want the stored edge with its time", got)
	}
	var el EdgeList
	e.json(store.RoleAuditor, "GET", "/api/v1/artifacts/"+string(model)+"/lineage", nil, &el)
	if len(el.Edges) != 1 || !el.Edges[0].CreatedAt.Equal(got.CreatedAt) {
		t.Errorf("lineage %+v; want the one edge answered at creation %v", el.Edges, got.CreatedAt)
	}
}

// TestListArtifactsBySource: ?source= matches the registered source
// exactly, the lookup mlsec admission serve makes for a model reference.
func TestListArtifactsBySource(t *testing.T) {
	e := newEnv(t, nil)
	ref := "hf://org/bert@" + strings.Repeat("c", 40)
	for i, src := range []string{ref, ref + "0", "hf://org/bert"} {
		if s := e.json(store.RoleMLEngineer, "POST", "/api/v1/artifacts", RegisterRequest{Digest: string(fakeDigest(byte('a' + i))), Source: src}, nil); s != 201 {
			t.Fatalf("register %s: %d", src, s)
		}
	}
	var got ArtifactList
	if s := e.json(store.RoleAuditor, "GET", "/api/v1/artifacts?source="+url.QueryEscape(ref), nil, &got); s != 200 {
		t.Fatalf("list by source: %d", s)
	}
	if len(got.Artifacts) != 1 || got.Artifacts[0].Digest != fakeDigest('a') || got.Artifacts[0].Source != ref {
		t.Errorf("artifacts with source %s: %+v, want only %s", ref, got.Artifacts, fakeDigest('a'))
	}
}
