package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/confine"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/policy"
	"github.com/mlsecops/mlsec/queue"
	"github.com/mlsecops/mlsec/queue/queuetest"
	"github.com/mlsecops/mlsec/server/gating"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/blob"
)

// withQueue runs the server with a job queue on SQLite (as `mlsec serve`
// in single-node mode): uploads go to an age-encrypted blob store that the
// in-process workers read, and API and workers share one gating.Decider.
// Apply it after the options that set the verifier, signer or pipeline.
func withQueue(t *testing.T) func(*Config) { return withQueueOn(t, "", "", 2) }

// withQueueOn is withQueue with the queue in PostgreSQL (url and schema)
// when url is set, and workers in-process workers (0: jobs wait).
func withQueueOn(t *testing.T, url, schema string, workers int) func(*Config) {
	return func(c *Config) {
		t.Helper()
		ctx := context.Background()
		dir := t.TempDir()
		keys, err := blob.LoadKeyring(filepath.Join(dir, "keys"), true)
		if err != nil {
			t.Fatal(err)
		}
		bs, err := blob.Open(filepath.Join(dir, "blobs"), keys)
		if err != nil {
			t.Fatal(err)
		}
		c.Blobs = EncryptedBlobs(bs, DefaultMaxUploadBytes)
		if c.Now == nil {
			c.Now = time.Now
		}
		dec, err := gating.New(c.GatingConfig())
		if err != nil {
			t.Fatal(err)
		}
		c.Decider = dec
		qc := queue.Config{Store: c.Store, SQLitePath: filepath.Join(dir, "queue.db"), Concurrency: workers,
			Blobs: bs, Decider: dec, Verifiers: c.Verifiers()}
		if url != "" {
			qc.SQLitePath, qc.PostgresURL, qc.Schema = "", url, schema
		}
		q, err := queue.Open(ctx, qc)
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { q.Stop(context.Background()) })
		c.Jobs = q
	}
}

func mods(fs ...func(*Config)) func(*Config) {
	return func(c *Config) {
		for _, f := range fs {
			f(c)
		}
	}
}

// accepted checks a 202 answer and waits for its job to finish.
func (e *env) accepted(role store.Role, method, path string, body []byte) JobStatus {
	e.t.Helper()
	var rd *bytes.Reader
	if body == nil {
		body = []byte{}
	}
	rd = bytes.NewReader(body)
	status, b, _ := e.do(role, method, path, rd, "application/json")
	var ja JobAccepted
	if status != http.StatusAccepted || json.Unmarshal(b, &ja) != nil || ja.Job == 0 || ja.StatusURL != "/api/v1/jobs/"+strconv.FormatInt(ja.Job, 10) {
		e.t.Fatalf("%s %s: status %d %s, want 202 with a job", method, path, status, b)
	}
	return e.waitJob(ja.Job)
}

func (e *env) waitJob(id int64) JobStatus {
	e.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var js JobStatus
		if s := e.json(store.RoleAuditor, "GET", "/api/v1/jobs/"+strconv.FormatInt(id, 10), nil, &js); s != 200 {
			e.t.Fatalf("job %d: status %d", id, s)
		}
		if js.Done {
			return js
		}
		if js.State == queue.StateRetryable {
			e.t.Fatalf("job %d (%s) failed: %v", id, js.Kind, js.Errors)
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("job %d still %s", id, js.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestQueuedChecks: with a job queue, scan, verify, BOM and gate requests
// answer 202 and River jobs (reading the encrypted blob) do the work; the
// gate job is the API's gate (CEL stage policies), and its decision is a
// signed VSA.
func TestQueuedChecks(t *testing.T) { testQueuedChecks(t, nil, withQueue(t)) }

// TestAuthorizationQueued runs the role-per-route test with a job queue,
// where the check, gate and hub scan routes queue jobs. No worker runs
// them: a job finishing during a refused request would grow the audit log
// the test watches.
func TestAuthorizationQueued(t *testing.T) {
	// The sample hub scan's mirror is a t.TempDir.
	roots, err := confine.New("--hub-root", "hub", os.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	testAuthorization(t, newEnv(t, mods(func(c *Config) { c.HubRoots = roots }, withQueueOn(t, "", "", 0))))
}

func testQueuedChecks(t *testing.T, st store.Store, queued func(*Config)) {
	k, gk := newTestKey(t), newTestKey(t)
	mod := mods(withKey(k), func(c *Config) { c.Signer, c.SignerIdentity = gk.signer, "org-gate" }, queued)
	var e *env
	if st == nil {
		e = newEnv(t, mod)
	} else {
		e = newEnvStore(t, st, mod)
	}
	ml := store.RoleMLEngineer
	decisions := func(path string) []store.Decision {
		t.Helper()
		var dl DecisionList
		if s := e.json(store.RoleAuditor, "GET", path+"/decisions", nil, &dl); s != 200 {
			t.Fatalf("decisions: %d", s)
		}
		return dl.Decisions
	}

	// A malicious pickle uploaded with scan=true: the scan is queued.
	status, b, _ := e.do(ml, "POST", "/api/v1/uploads?name=evil.pkl&kind=model&scan=true", bytes.NewReader(maliciousPickle()), "")
	var put ArtifactPut
	if status != http.StatusCreated || json.Unmarshal(b, &put) != nil || put.Job == nil || put.Scan != nil {
		t.Fatalf("upload: %d %s", status, b)
	}
	if js := e.waitJob(put.Job.Job); js.State != queue.StateCompleted || js.Kind != queue.KindScan || js.Artifact != put.Artifact.Digest {
		t.Fatalf("scan job: %+v", js)
	}
	evil := "/api/v1/artifacts/" + string(put.Artifact.Digest)
	var fl FindingList
	e.json(ml, "GET", evil+"/findings?min_severity=high", nil, &fl)
	if len(fl.Findings) == 0 || fl.Findings[0].Finding.Path != "evil.pkl" {
		t.Fatalf("findings of the queued scan: %+v", fl.Findings)
	}
	e.accepted(ml, "POST", evil+"/gate", []byte(`{"stage":"experimentation"}`))
	ds := decisions(evil)
	if len(ds) != 1 || ds[0].Result != store.ResultFail || ds[0].Actor != tokenActor(e, store.RoleMLEngineer) ||
		!strings.Contains(strings.Join(ds[0].Reasons, "\n"), "FAIL EXP-002") {
		t.Fatalf("queued gate on a malicious pickle: %+v", ds)
	}

	// A clean model, signed: scan, verify and BOM jobs, then the gate.
	model := cleanSafetensors()
	d := digestOf(model)
	clean := "/api/v1/artifacts/" + string(d)
	if status, b, _ := e.do(ml, "POST", "/api/v1/uploads?name=model.safetensors&kind=model", bytes.NewReader(model), ""); status != http.StatusCreated {
		t.Fatalf("upload: %d %s", status, b)
	}
	if status, b, _ := e.do(ml, "POST", "/api/v1/attestations", bytes.NewReader(k.signModel(t, "model.safetensors", model)), ""); status != 201 {
		t.Fatalf("signature: %d %s", status, b)
	}
	for _, c := range []string{"/scan", "/verify", "/bom"} {
		if js := e.accepted(ml, "POST", clean+c, nil); js.State != queue.StateCompleted {
			t.Fatalf("%s job: %+v", c, js)
		}
	}
	var facts FactList
	e.json(ml, "GET", clean+"/evidence", nil, &facts)
	kinds := map[string]bool{}
	for _, f := range facts.Facts {
		kinds[f.PredicateType] = true
	}
	if !kinds[attest.ScanType] || !kinds[attest.CycloneDXType] || !kinds[signing.PredicateType] {
		t.Fatalf("evidence after the jobs: %+v", facts.Facts)
	}
	var verifyFindings FindingList
	e.json(ml, "GET", clean+"/findings", nil, &verifyFindings)
	if len(verifyFindings.Findings) != 0 {
		t.Fatalf("a verified clean model has findings: %+v", verifyFindings.Findings)
	}
	e.accepted(ml, "POST", clean+"/gate", []byte(`{"stage":"experimentation"}`))
	ds = decisions(clean)
	if len(ds) != 1 || ds[0].Result != store.ResultPass || ds[0].To != store.StateVerified || ds[0].EvidenceID == 0 {
		t.Fatalf("queued gate on a signed clean model: %+v", ds)
	}
	checkVSA(t, e, ds[0], gk, "experimentation", policy.Pass, "verified")

	// A gate request for an unknown artifact is refused before queueing.
	if s := e.json(ml, "POST", "/api/v1/artifacts/"+string(fakeDigest('7'))+"/gate", GateRequest{Stage: "ci"}, nil); s != 404 {
		t.Fatalf("gate of an unknown artifact: %d", s)
	}
	if s, b, _ := e.do(ml, "GET", "/api/v1/jobs/999999", nil, ""); s != 404 || errCode(t, b) != "not_found" {
		t.Fatalf("unknown job: %d %s", s, b)
	}
}

// checkVSA fetches a decision's evidence and checks it is a VSA signed by
// the gate key with the decision's content.
func checkVSA(t *testing.T, e *env, d store.Decision, gk testKey, stage string, result policy.Result, trust string) {
	t.Helper()
	status, body, _ := e.do(store.RoleAuditor, "GET", "/api/v1/evidence/"+strconv.FormatInt(d.EvidenceID, 10), nil, "")
	if status != 200 {
		t.Fatalf("decision evidence: %d", status)
	}
	st, err := attest.Verify(context.Background(), gk.verifier, body)
	if err != nil {
		t.Fatalf("decision VSA does not verify with the gate key: %v", err)
	}
	if !st.About(attest.Digest(d.Artifact)) {
		t.Fatalf("VSA is not about %s", d.Artifact)
	}
	v, rec, err := policy.ParseVSA(st)
	if err != nil || rec == nil {
		t.Fatalf("ParseVSA: %v", err)
	}
	if rec.Stage != stage || rec.Decision != result || rec.TrustState != trust || rec.Operator != "org-gate" || v.GetVerifier().GetId() != policy.VerifierID {
		t.Fatalf("VSA record %+v", rec)
	}
	var fl FactList
	e.json(store.RoleAuditor, "GET", "/api/v1/artifacts/"+string(d.Artifact)+"/evidence?predicate_type="+policy.VSAType, nil, &fl)
	if len(fl.Facts) == 0 || fl.Facts[0].EvidenceID != d.EvidenceID || fl.Facts[0].Signer != "org-gate" {
		t.Fatalf("VSA facts %+v", fl.Facts)
	}
}

// TestSignedDecisions: with a signing key every inline gate decision is a
// signed VSA stored verbatim; without one decisions are unsigned.
func TestSignedDecisions(t *testing.T) {
	k, gk := newTestKey(t), newTestKey(t)
	for _, signed := range []bool{true, false} {
		mod := withKey(k)
		if signed {
			mod = mods(withKey(k), func(c *Config) { c.Signer, c.SignerIdentity = gk.signer, "org-gate" })
		}
		e := newEnv(t, mod)
		model := cleanSafetensors()
		clean := "/api/v1/artifacts/" + string(digestOf(model))
		e.do(store.RoleMLEngineer, "POST", "/api/v1/uploads?name=model.safetensors&kind=model&scan=true", bytes.NewReader(model), "")
		var gr GateResult
		if s := e.json(store.RoleMLEngineer, "POST", clean+"/gate", GateRequest{Stage: "ci"}, &gr); s != 200 || gr.Decision.Result != store.ResultFail {
			t.Fatalf("gate: %d %+v", s, gr)
		}
		if !signed {
			if gr.Decision.EvidenceID != 0 {
				t.Fatalf("unsigned server stored decision evidence %d", gr.Decision.EvidenceID)
			}
			continue
		}
		if gr.Decision.EvidenceID == 0 {
			t.Fatal("signed decision has no evidence")
		}
		checkVSA(t, e, gr.Decision, gk, "ci", policy.Fail, "quarantined")
	}
}

// TestPipelineGate: with a pipeline file, signers are named by the
// pipeline's identities, their roles and the sources' trust come from it,
// and its stage policies apply.
func TestPipelineGate(t *testing.T) {
	k := newTestKey(t)
	dir := t.TempDir()
	pub, err := signing.PublicKeyPEM(k.verifier.Key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "release.pub"), pub, 0o644)
	os.WriteFile(filepath.Join(dir, "org.yaml"), []byte(`apiVersion: mlsec.dev/policy/v1
name: test/org
version: 1.0.0
stage: experimentation
rules:
  - id: ORG-001
    title: from a trusted, allowed source
    expr: source.trust == "trusted" && source.allowed
    mappings:
      - {framework: mitre-atlas, id: AML.M0013}
  - id: ORG-002
    title: signed by the platform
    expr: signature.verified && signature.org && "platform" in signature.roles && signature.identity == "release"
    mappings:
      - {framework: mitre-atlas, id: AML.M0013}
`), 0o644)
	write := func(role string) *lifecycle.Pipeline {
		p := filepath.Join(dir, "pipeline-"+role+".yaml")
		os.WriteFile(p, []byte(`apiVersion: mlsec.dev/pipeline/v1
name: test
identities:
  - {name: release, key: release.pub}
roles:
  `+role+`: [release]
sources:
  - {url: "https://models.example/org/", trust: trusted}
stages:
  experimentation:
    policies: [org.yaml]
`), 0o644)
		pl, err := lifecycle.LoadPipeline(p)
		if err != nil {
			t.Fatal(err)
		}
		return pl
	}
	for _, tc := range []struct {
		role, source string
		want         store.Result
		fails        []string
	}{
		{"platform", "https://models.example/org/m", store.ResultPass, nil},
		{"platform", "https://elsewhere.example/m", store.ResultFail, []string{"ORG-001"}},
		{"model-owner", "https://models.example/org/m", store.ResultFail, []string{"ORG-002"}},
	} {
		pl := write(tc.role)
		e := newEnv(t, func(c *Config) {
			c.Pipeline = pl
			c.Identities = []policy.NamedVerifier{{Name: "release", Verifier: k.verifier}}
		})
		model := cleanSafetensors()
		d := digestOf(model)
		if s := e.json(store.RoleMLEngineer, "POST", "/api/v1/artifacts", RegisterRequest{Digest: string(d), Name: "m", Kind: "model", Source: tc.source, Size: int64(len(model))}, nil); s != 201 {
			t.Fatalf("register: %d", s)
		}
		var ar AttestationResult
		status, b, _ := e.do(store.RoleMLEngineer, "POST", "/api/v1/attestations", bytes.NewReader(k.signModel(t, "m", model)), "")
		if json.Unmarshal(b, &ar) != nil || status != 201 || !ar.Verified || ar.Evidence.Facts[0].Signer != "release" {
			t.Fatalf("signature: %d %s", status, b)
		}
		var gr GateResult
		if s := e.json(store.RoleMLEngineer, "POST", "/api/v1/artifacts/"+string(d)+"/gate", GateRequest{Stage: "experimentation"}, &gr); s != 200 {
			t.Fatalf("gate: %d", s)
		}
		reasons := strings.Join(gr.Decision.Reasons, "\n")
		if gr.Decision.Result != tc.want || !strings.Contains(gr.Decision.Policy, "test/org@1.0.0") {
			t.Errorf("%s from %s: %s (%s)\n%s", tc.role, tc.source, gr.Decision.Result, gr.Decision.Policy, reasons)
		}
		for _, id := range tc.fails {
			if !strings.Contains(reasons, "FAIL "+id) {
				t.Errorf("%s from %s: no FAIL %s in\n%s", tc.role, tc.source, id, reasons)
			}
		}
	}
}

// TestHubScanAPI starts a hub scan of a server-side directory through the
// API (admin and security only) and follows its progress.
func TestHubScanAPI(t *testing.T) {
	hub := t.TempDir()
	roots, err := confine.New("--hub-root", "hub", hub)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, mods(func(c *Config) { c.HubRoots = roots }, withQueue(t)))
	mirror := filepath.Join(hub, "mirror")
	bad, err := queuetest.WriteMirror(mirror, 6, 3)
	if err := os.Symlink("/etc", filepath.Join(hub, "etc")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/etc", filepath.Join(hub, "etc"), filepath.Join(hub, "..")} {
		b, _ := json.Marshal(HubScanRequest{Root: p})
		if s, out, _ := e.do(store.RoleSecurity, "POST", "/api/v1/hubscans", bytes.NewReader(b), ""); s != 403 {
			t.Errorf("hub scan of %s: %d %s", p, s, out)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(HubScanRequest{Root: mirror})
	if s, b, _ := e.do(store.RoleMLEngineer, "POST", "/api/v1/hubscans", bytes.NewReader(body), ""); s != 403 {
		t.Fatalf("ml-engineer started a hub scan: %d %s", s, b)
	}
	outside, _ := json.Marshal(HubScanRequest{Root: t.TempDir()})
	if s, b, _ := e.do(store.RoleSecurity, "POST", "/api/v1/hubscans", bytes.NewReader(outside), ""); s != 403 {
		t.Fatalf("hub scan outside the hub directory: %d %s", s, b)
	}
	missing, _ := json.Marshal(HubScanRequest{Root: filepath.Join(hub, "missing")})
	if s, b, _ := e.do(store.RoleSecurity, "POST", "/api/v1/hubscans", bytes.NewReader(missing), ""); s != 400 {
		t.Fatalf("hub scan of a missing directory: %d %s", s, b)
	}
	status, b, _ := e.do(store.RoleSecurity, "POST", "/api/v1/hubscans", bytes.NewReader(body), "")
	var hs HubScanStarted
	if status != 202 || json.Unmarshal(b, &hs) != nil || hs.Scan.Total != 6 || hs.StatusURL != "/api/v1/hubscans/"+strconv.FormatInt(hs.Scan.ID, 10) {
		t.Fatalf("start hub scan: %d %s", status, b)
	}
	// POST and GET name the hub scan with the same key (issue 12: the POST
	// answer said "hub_scan", GET "scan").
	sameKey := func(body []byte) {
		t.Helper()
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(body, &raw); err != nil || raw["scan"] == nil || raw["hub_scan"] != nil {
			t.Fatalf("hub scan not under \"scan\": %s", body)
		}
	}
	sameKey(b)
	_, got, _ := e.do(store.RoleAuditor, "GET", hs.StatusURL, nil, "")
	sameKey(got)
	deadline := time.Now().Add(time.Minute)
	var hd HubScanDetail
	for {
		if s := e.json(store.RoleAuditor, "GET", hs.StatusURL, nil, &hd); s != 200 {
			t.Fatalf("hub scan progress: %d", s)
		}
		if hd.Scan.Status == store.HubScanDone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hub scan not done: %+v", hd.Scan)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if hd.Scan.Done != 6 || hd.Scan.Failed != 0 || hd.Scan.Actor != tokenActor(e, store.RoleSecurity) {
		t.Fatalf("hub scan %+v", hd.Scan)
	}
	flagged := 0
	for _, it := range hd.Items {
		if it.Findings > 0 {
			flagged++
		}
	}
	if flagged < bad {
		t.Errorf("%d items with findings, want at least %d", flagged, bad)
	}
	// The dashboard's hub page shows it.
	status, b, _ = e.do(store.RoleAuditor, "GET", "/hubscans/"+strconv.FormatInt(hs.Scan.ID, 10), nil, "")
	if status != 200 || !strings.Contains(string(b), mirror) {
		t.Errorf("hub scan page lacks the root %s", mirror)
	}
}

// TestHubScanNeedsHubRoot: without --hub-root the API starts no hub scan,
// whatever the path.
func TestHubScanNeedsHubRoot(t *testing.T) {
	e := newEnv(t, withQueue(t))
	body, _ := json.Marshal(HubScanRequest{Root: t.TempDir()})
	if s, b, _ := e.do(store.RoleAdmin, "POST", "/api/v1/hubscans", bytes.NewReader(body), ""); s != 403 || !strings.Contains(string(b), "--hub-root") {
		t.Fatalf("hub scan without --hub-root: %d %s", s, b)
	}
}
