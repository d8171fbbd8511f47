package queue_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/queue"
	"github.com/mlsecops/mlsec/queue/queuetest"
	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/sqlite"
)

func TestFindModels(t *testing.T) {
	root := t.TempDir()
	write := func(p string) {
		t.Helper()
		p = filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("loose.pkl")
	write("org/bert/config.json")
	write("org/bert/sub/weights.bin") // inside a model: not a model of its own
	write("org/gpt/model.safetensors")
	write("models--org--llama/blobs/abc")
	write("models--org--llama/refs/main")
	write("models--org--llama/snapshots/rev1/config.json")
	write("models--org--llama/snapshots/rev2/config.json")
	write(".git/HEAD")
	got, err := queue.FindModels(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"loose.pkl", "models--org--llama/snapshots/rev1", "models--org--llama/snapshots/rev2", "org/bert", "org/gpt"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("FindModels (-want +got):\n%s", d)
	}
	if _, err := queue.FindModels(filepath.Join(root, "missing")); err == nil {
		t.Error("missing root accepted")
	}
}

func TestHubScanSQLite(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	st, err := sqlite.OpenDir(ctx, filepath.Join(dir, "data"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mirror := filepath.Join(dir, "mirror")
	bad, err := queuetest.WriteMirror(mirror, 30, 7)
	if err != nil {
		t.Fatal(err)
	}
	q, err := queue.Open(ctx, queue.Config{Store: st, SQLitePath: filepath.Join(dir, "data", "queue.db"), Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(context.Background())
	h, err := q.EnqueueHubScan(ctx, mirror, "test")
	if err != nil {
		t.Fatal(err)
	}
	if h.Total != 30 {
		t.Fatalf("hub scan total = %d, want 30", h.Total)
	}
	h, err = queue.WaitHubScan(ctx, st, h.ID, 100*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.Done != 30 || h.Failed != 0 || h.Status != store.HubScanDone {
		t.Fatalf("hub scan = %+v", h)
	}
	items, err := st.HubScanItems(ctx, h.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	flagged := 0
	for _, it := range items {
		a, err := st.Artifact(ctx, it.Artifact)
		if err != nil {
			t.Fatalf("item %s: %v", it.Path, err)
		}
		if !a.Directory || a.State != store.StateQuarantined || a.Name != it.Path {
			t.Errorf("item %s artifact %+v", it.Path, a)
		}
		fs, err := st.Findings(ctx, store.FindingQuery{Artifact: it.Artifact, MinSeverity: mlsec.SeverityHigh})
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) > 0 {
			flagged++
		}
	}
	if flagged != bad {
		t.Errorf("%d models with high findings, want %d", flagged, bad)
	}

	// Re-running one item's job (as after a crash) changes nothing.
	before, _ := st.HubScan(ctx, h.ID)
	it := items[0]
	if _, err := q.Insert(ctx, queue.ScanArgs{Path: filepath.Join(mirror, it.Path), Name: it.Path, HubScanID: h.ID, Item: it.Path}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		hist, _ := st.AuditLog(ctx, 0, 10000)
		n := 0
		for _, e := range hist {
			if e.Action == "findings.replace" && e.Subject == string(it.Artifact) {
				n++
			}
		}
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("re-run job not done: %d findings.replace entries", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	after, _ := st.HubScan(ctx, h.ID)
	if d := cmp.Diff(before, after, cmpIgnoreUpdated); d != "" {
		t.Errorf("re-run changed the hub scan (-before +after):\n%s", d)
	}

	// Gate jobs run the API's gate (the CEL stage policies): unsigned hub
	// models fail experimentation, flagged ones also on their findings.
	for _, it := range items[:5] {
		res, err := q.Gate(ctx, queue.GateArgs{Artifact: it.Artifact, Stage: "experimentation"})
		if err != nil {
			t.Fatal(err)
		}
		fs, _ := st.Findings(ctx, store.FindingQuery{Artifact: it.Artifact, MinSeverity: mlsec.SeverityHigh})
		reasons := strings.Join(res.Decision.Reasons, "\n")
		if res.Decision.Result != store.ResultFail || !strings.Contains(reasons, "FAIL EXP-001") ||
			strings.Contains(reasons, "FAIL EXP-002") != (len(fs) > 0) || res.Decision.Actor != queue.Actor {
			t.Errorf("gate %s (%d high findings) = %s:\n%s", it.Path, len(fs), res.Decision.Result, reasons)
		}
	}
	if n, err := st.VerifyAudit(ctx); err != nil || n == 0 {
		t.Errorf("VerifyAudit = %d, %v", n, err)
	}
}

var cmpIgnoreUpdated = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".UpdatedAt" }, cmp.Ignore())
