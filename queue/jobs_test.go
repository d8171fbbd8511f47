package queue_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/queue"
	"github.com/mlsecops/mlsec/queue/queuetest"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/sqlite"
)

func sqliteQueue(t *testing.T) (*sqlite.Store, *queue.Queue) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.OpenDir(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	q, err := queue.Open(ctx, queue.Config{Store: st, SQLitePath: filepath.Join(dir, "queue.db"), Concurrency: 2})
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

func TestScanGateJobs(t *testing.T) {
	st, q := sqliteQueue(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		pickle []byte
		result store.Result
		state  store.TrustState
	}{
		{"clean", queuetest.Benign, store.ResultPass, store.StateVerified},
		{"malicious", queuetest.Malicious, store.ResultFail, store.StateQuarantined},
	} {
		dir := model(t, tc.pickle)
		if j := runJob(t, q, queue.ScanArgs{Path: dir, Name: tc.name}); j.State != rivertype.JobStateCompleted {
			t.Fatalf("%s: scan job %s", tc.name, j.State)
		}
		d, _, _, err := queue.Digest(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		runJob(t, q, queue.GateArgs{Artifact: d, Stage: "ci"})
		decs, err := st.Decisions(ctx, d)
		if err != nil || len(decs) != 1 || decs[0].Result != tc.result {
			t.Errorf("%s: decisions %+v, %v", tc.name, decs, err)
		}
		if a, err := st.Artifact(ctx, d); err != nil || a.State != tc.state || a.Name != tc.name {
			t.Errorf("%s: artifact %+v, %v", tc.name, a, err)
		}
	}
	// A job for a path that does not exist is cancelled, not retried.
	if j := runJob(t, q, queue.ScanArgs{Path: "/nonexistent/model"}); j.State != rivertype.JobStateCancelled {
		t.Errorf("scan of a missing path: %s", j.State)
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
