package queue_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/confine"
	"github.com/mlsecops/mlsec/queue"
	"github.com/mlsecops/mlsec/queue/queuetest"
	"github.com/mlsecops/mlsec/scratch"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/blob"
	"github.com/mlsecops/mlsec/store/sqlite"
)

func sqliteQueue(t *testing.T) (*sqlite.Store, *queue.Queue) {
	return sqliteQueueWith(t, queue.Config{})
}

func sqliteQueueWith(t *testing.T, qc queue.Config) (*sqlite.Store, *queue.Queue) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.OpenDir(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	qc.Store, qc.SQLitePath, qc.Concurrency = st, filepath.Join(dir, "queue.db"), 2
	q, err := queue.Open(ctx, qc)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Stop(context.Background()) })
	return st, q
}

// run enqueues a job and waits until River finishes it.
func runJob(t *testing.T, q *queue.Queue, args river.JobArgs) *rivertype.JobRow {
	t.Helper()
	ctx := context.Background()
	id, err := q.Insert(ctx, args)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		j, err := q.Job(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		switch j.State {
		case rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded:
			return j
		case rivertype.JobStateRetryable:
			t.Fatalf("%s job failed: %v", args.Kind(), j.Errors)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s job still %s", args.Kind(), j.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func model(t *testing.T, pickle []byte) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "model")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type":"bert"}`), 0o644)
	os.WriteFile(filepath.Join(dir, "model.pkl"), pickle, 0o644)
	return dir
}

// TestScanGateJobs: scan jobs store findings and a scan attestation; gate
// jobs judge them with the API's gate (package gating: the CEL stage
// policies), so a signed clean model passes experimentation (with a
// warning for its pickle) and a malicious one fails.
func TestScanGateJobs(t *testing.T) {
	st, q := sqliteQueue(t)
	ctx := context.Background()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		pickle  []byte
		result  store.Result
		state   store.TrustState
		reasons []string
	}{
		{"clean", queuetest.Benign, store.ResultWarn, store.StateVerified, []string{"PASS EXP-001", "PASS EXP-002", "WARN EXP-003"}},
		{"malicious", queuetest.Malicious, store.ResultFail, store.StateQuarantined, []string{"PASS EXP-001", "FAIL EXP-002"}},
	} {
		dir := model(t, tc.pickle)
		if j := runJob(t, q, queue.ScanArgs{Path: dir, Name: tc.name}); j.State != rivertype.JobStateCompleted {
			t.Fatalf("%s: scan job %s", tc.name, j.State)
		}
		d, _, _, err := queue.Digest(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if fs, err := st.Facts(ctx, store.FactQuery{Subject: d, PredicateType: attest.ScanType}); err != nil || len(fs) != 1 {
			t.Fatalf("%s: scan attestation facts %+v, %v", tc.name, fs, err)
		}
		// The model's signature, as the API indexes one it verified.
		signed, err := signing.Sign(ctx, dir, &signing.KeySigner{Key: key}, signing.HashOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.AddEvidence(ctx, store.Evidence{MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json", Bundle: signed.Bundle,
			Facts: []store.Fact{{PredicateType: signing.PredicateType, Subject: d, Signer: "key:test", Time: time.Now()}}}, "test"); err != nil {
			t.Fatal(err)
		}
		runJob(t, q, queue.GateArgs{Artifact: d, Stage: "experimentation", Actor: "token:ci"})
		decs, err := st.Decisions(ctx, d)
		if err != nil || len(decs) != 1 || decs[0].Result != tc.result || decs[0].Actor != "token:ci" || decs[0].EvidenceID != 0 {
			t.Fatalf("%s: decisions %+v, %v", tc.name, decs, err)
		}
		for _, r := range tc.reasons {
			if !strings.Contains(strings.Join(decs[0].Reasons, "\n"), r) {
				t.Errorf("%s: no %q in %q", tc.name, r, decs[0].Reasons)
			}
		}
		if a, err := st.Artifact(ctx, d); err != nil || a.State != tc.state || a.Name != tc.name {
			t.Errorf("%s: artifact %+v, %v", tc.name, a, err)
		}
	}
	// A job for a path that does not exist is cancelled, not retried.
	if j := runJob(t, q, queue.ScanArgs{Path: "/nonexistent/model"}); j.State != rivertype.JobStateCancelled {
		t.Errorf("scan of a missing path: %s", j.State)
	}
	// A gate for an unknown stage or artifact is cancelled.
	if j := runJob(t, q, queue.GateArgs{Artifact: store.Digest("sha256:" + strings.Repeat("0", 64)), Stage: "ci"}); j.State != rivertype.JobStateCancelled {
		t.Errorf("gate of an unknown artifact: %s", j.State)
	}
}

// TestStoredArtifactJobs: jobs about an artifact by digest read its file://
// reference, and refuse one whose bytes changed since it was registered.
func TestStoredArtifactJobs(t *testing.T) {
	root := t.TempDir()
	roots, err := confine.New("--source-root", "artifact source", root)
	if err != nil {
		t.Fatal(err)
	}
	st, q := sqliteQueueWith(t, queue.Config{SourceRoots: roots})
	ctx := context.Background()
	p := filepath.Join(root, "evil.pkl")
	if err := os.WriteFile(p, queuetest.Malicious, 0o644); err != nil {
		t.Fatal(err)
	}
	d, _, size, err := queue.Digest(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.PutArtifact(ctx, store.Artifact{Digest: d, Name: "evil.pkl", Size: size, Source: "file://" + filepath.ToSlash(p)}, "test"); err != nil {
		t.Fatal(err)
	}
	id, err := q.Enqueue(ctx, queue.Request{Kind: queue.KindScan, Artifact: d, Actor: "token:t"})
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, q, id)
	fs, err := st.Findings(ctx, store.FindingQuery{Artifact: d})
	if err != nil || len(fs) == 0 {
		t.Fatalf("findings of the scanned reference: %+v, %v", fs, err)
	}
	if js, err := q.Status(ctx, id); err != nil || js.State != queue.StateCompleted || js.Artifact != d || js.Kind != queue.KindScan || !js.Done {
		t.Fatalf("status %+v, %v", js, err)
	}
	// The file changes: the job refuses it (cancelled, not retried).
	if err := os.WriteFile(p, queuetest.Benign, 0o644); err != nil {
		t.Fatal(err)
	}
	id, err = q.Enqueue(ctx, queue.Request{Kind: queue.KindBOM, Artifact: d})
	if err != nil {
		t.Fatal(err)
	}
	js := waitDone(t, q, id)
	if js.State != queue.StateCancelled || len(js.Errors) == 0 || !strings.Contains(js.Errors[0], "does not hold the registered content") {
		t.Fatalf("job on a changed reference: %+v", js)
	}
	benign, _, _, _ := queue.Digest(ctx, p)
	if strings.Contains(js.Errors[0], strings.TrimPrefix(string(benign), "sha256:")) {
		t.Errorf("job error reveals the changed file's digest: %s", js.Errors[0])
	}
	if _, err := q.Status(ctx, 1<<40); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("status of an unknown job: %v", err)
	}
	if _, err := q.Enqueue(ctx, queue.Request{Kind: "nope", Artifact: d}); err == nil {
		t.Error("unknown job kind accepted")
	}
}

func waitDone(t *testing.T, q *queue.Queue, id int64) queue.JobStatus {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		js, err := q.Status(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if js.Done {
			return js
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d still %s", id, js.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestVerifyAndBOMJobs(t *testing.T) {
	st, q := sqliteQueue(t)
	ctx := context.Background()
	dir := model(t, queuetest.Benign)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := signing.Sign(ctx, dir, &signing.KeySigner{Key: key}, signing.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ev, _, err := st.AddEvidence(ctx, store.Evidence{Bundle: signed.Bundle}, "test")
	if err != nil {
		t.Fatal(err)
	}
	pem, err := signing.PublicKeyPEM(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	d, _, _, _ := queue.Digest(ctx, dir)
	runJob(t, q, queue.VerifyArgs{Path: dir, EvidenceID: ev.ID, PublicKeyPEM: string(pem)})
	if fs, err := st.Findings(ctx, store.FindingQuery{Artifact: d}); err != nil || len(fs) != 0 {
		t.Errorf("verify of a correctly signed model: findings %+v, %v", fs, err)
	}
	// Tamper with the model: verification records a critical finding.
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type":"evil"}`), 0o644)
	runJob(t, q, queue.VerifyArgs{Path: dir, EvidenceID: ev.ID, PublicKeyPEM: string(pem)})
	d2, _, _, _ := queue.Digest(ctx, dir)
	fs, err := st.Findings(ctx, store.FindingQuery{Artifact: d2})
	if err != nil || len(fs) != 1 || fs[0].Finding.RuleID != "VERIFY-001" {
		t.Errorf("verify of a tampered model: findings %+v, %v", fs, err)
	}

	// BOM: stored as evidence with a CycloneDX fact.
	runJob(t, q, queue.BOMArgs{Path: dir, Name: "org/m", Revision: "r1"})
	facts, err := st.Facts(ctx, store.FactQuery{Subject: d2, PredicateType: attest.CycloneDXType})
	if err != nil || len(facts) != 1 {
		t.Fatalf("BOM facts = %+v, %v", facts, err)
	}
	e, err := st.Evidence(ctx, facts[0].EvidenceID)
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := attest.ParseStatement(e.Bundle)
	if err != nil || !stmt.About(attest.Digest(d2)) {
		t.Errorf("stored BOM statement: %v (about %s: %v)", err, d2, stmt.About(attest.Digest(d2)))
	}
}

// TestSourceConfinement: a file:// reference outside --source-root, to a
// device or FIFO, or any reference when no root is configured, is refused
// at once (cancelled, never retried), and the error reveals nothing about
// the file's content.
func TestSourceConfinement(t *testing.T) {
	ctx := context.Background()
	root, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, "shadow")
	if err := os.WriteFile(secret, []byte("root:$6$secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	secretDigest, _, _, err := queue.Digest(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	roots, err := confine.New("--source-root", "artifact source", root)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		roots *confine.Roots
		path  string
		want  string
	}{
		{"outside", roots, secret, "outside"},
		{"link out", roots, filepath.Join(root, "link"), "outside"},
		{"dotdot", roots, filepath.Join(root, "..", filepath.Base(outside), "shadow"), "outside"},
		{"device", roots, "/dev/zero", "outside"},
		{"proc", roots, "/proc/self/environ", "outside"},
		{"fifo", roots, filepath.Join(root, "fifo"), "not a regular file"},
		{"no roots", nil, secret, "not enabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, q := sqliteQueueWith(t, queue.Config{SourceRoots: tc.roots})
			// The attacker claims some digest; the job must not tell the real one.
			claimed := store.Digest("sha256:" + strings.Repeat("ab", 32))
			if _, _, err := st.PutArtifact(ctx, store.Artifact{Digest: claimed, Name: "x", Source: "file://" + filepath.ToSlash(tc.path)}, "test"); err != nil {
				t.Fatal(err)
			}
			id, err := q.Enqueue(ctx, queue.Request{Kind: queue.KindScan, Artifact: claimed})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			js := waitDone(t, q, id)
			if js.State != queue.StateCancelled || js.Attempt != 1 || len(js.Errors) != 1 || !strings.Contains(js.Errors[0], tc.want) {
				t.Fatalf("job on %s: %+v (want cancelled at once with %q)", tc.path, js, tc.want)
			}
			if time.Since(start) > 20*time.Second {
				t.Errorf("refusal took %v", time.Since(start))
			}
			hex := strings.TrimPrefix(string(secretDigest), "sha256:")
			if strings.Contains(js.Errors[0], hex) || strings.Contains(js.Errors[0], hex[:16]) {
				t.Errorf("error reveals the file's digest: %s", js.Errors[0])
			}
		})
	}
}

// TestScanUploadInMemory: a scan job on an uploaded artifact no larger
// than SpoolBytes scans the decrypted bytes in memory — it completes even
// when its scratch space cannot be written, so no plaintext file was made.
func TestScanUploadInMemory(t *testing.T) {
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
	space, err := scratch.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer space.Close()
	// Make the scratch space unusable, even for root: a file where its
	// directory was.
	if err := os.RemoveAll(space.Path()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(space.Path(), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	st, q := sqliteQueueWith(t, queue.Config{Blobs: bs, Scratch: space})
	d, size, err := bs.Put(ctx, bytes.NewReader(queuetest.Malicious), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.PutArtifact(ctx, store.Artifact{Digest: d, Name: "uploads/evil.pkl", Size: size, Blob: true}, "test"); err != nil {
		t.Fatal(err)
	}
	id, err := q.Enqueue(ctx, queue.Request{Kind: queue.KindScan, Artifact: d})
	if err != nil {
		t.Fatal(err)
	}
	if js := waitDone(t, q, id); js.State != queue.StateCompleted {
		t.Fatalf("scan of an upload with an unwritable scratch space: %+v", js)
	}
	fs, err := st.Findings(ctx, store.FindingQuery{Artifact: d})
	if err != nil || len(fs) == 0 || fs[0].Finding.Path != "uploads/evil.pkl" {
		t.Fatalf("findings %+v, %v", fs, err)
	}
}
