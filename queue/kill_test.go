package queue_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mlsecops/mlsec/queue"
	"github.com/mlsecops/mlsec/queue/queuetest"
	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/postgres"
	"github.com/mlsecops/mlsec/store/postgres/pgtest"
)

// buildMlsec compiles the mlsec binary for process-level tests.
func buildMlsec(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the mlsec binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "mlsec")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/mlsecops/mlsec/cmd/mlsec")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type worker struct {
	cmd *exec.Cmd
	log *os.File
}

func startWorker(t *testing.T, bin, url, schema, id string, extra ...string) *worker {
	t.Helper()
	logf, err := os.Create(filepath.Join(t.TempDir(), id+".log"))
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"worker", "--database", url, "--schema", schema, "--id", id}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &worker{cmd: cmd, log: logf}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%s log:\n%s", id, b)
		}
	})
	return w
}

// TestKillWorkerMidJob kills -9 a worker process while it holds jobs; the
// other worker process rescues them and the hub scan completes with every
// item counted exactly once.
func TestKillWorkerMidJob(t *testing.T) {
	url := pgtest.URL(t)
	bin := buildMlsec(t)
	schema := pgtest.Schema(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	st, err := postgres.Open(ctx, url, postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q, err := queue.Open(ctx, queue.Config{Store: st, PostgresURL: url, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Stop(context.Background())

	// Worker A sleeps an hour in every job: whatever it takes, it holds
	// until it is killed.
	a := startWorker(t, bin, url, schema, "worker-a", "--concurrency", "2", "--job-delay", "1h", "--job-timeout", "2h", "--rescue-after", "2h")
	mirror := filepath.Join(t.TempDir(), "mirror")
	bad, err := queuetest.WriteMirror(mirror, 12, 4)
	if err != nil {
		t.Fatal(err)
	}
	h, err := q.EnqueueHubScan(ctx, mirror, "test")
	if err != nil {
		t.Fatal(err)
	}

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	held := func() int {
		var n int
		if err := conn.QueryRow(ctx, fmt.Sprintf(`SELECT COUNT(*) FROM %s.river_job WHERE state = 'running' AND 'worker-a' = ANY(attempted_by)`, schema)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for held() < 2 {
		if ctx.Err() != nil {
			t.Fatal("worker A never took a job")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Worker B runs with the defaults: River's own rescuer would wait 15
	// minutes; heartbeats must bring A's jobs back within a minute.
	startWorker(t, bin, url, schema, "worker-b", "--concurrency", "2")
	// Let B finish the jobs A does not hold, then kill A mid-job.
	time.Sleep(2 * time.Second)
	if n := held(); n != 2 {
		t.Fatalf("worker A holds %d jobs before the kill, want 2", n)
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = a.cmd.Wait()
	killed := time.Now()
	t.Logf("killed worker A holding 2 jobs at %s", killed.Format(time.TimeOnly))

	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	h, err = queue.WaitHubScan(wctx, st, h.ID, 200*time.Millisecond, nil)
	if err != nil {
		t.Fatalf("hub scan did not complete within a minute of the kill: %v", err)
	}
	t.Logf("hub scan complete %v after the kill", time.Since(killed).Round(time.Millisecond))
	if h.Done != 12 || h.Failed != 0 || h.Findings != bad || h.Status != store.HubScanDone {
		t.Errorf("hub scan after kill = %+v, want 12 done, 0 failed, %d findings", h, bad)
	}
	// The two jobs A held were retried and completed by B (River marks a
	// job completed just after its results are stored).
	for {
		var open int
		if err := conn.QueryRow(ctx, fmt.Sprintf(`SELECT COUNT(*) FROM %s.river_job WHERE state <> 'completed'`, schema)).Scan(&open); err != nil {
			t.Fatal(err)
		}
		if open == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d jobs never completed", open)
		}
		time.Sleep(100 * time.Millisecond)
	}
	rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT state, attempt, attempted_by FROM %s.river_job WHERE 'worker-a' = ANY(attempted_by)`, schema))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var state string
		var attempt int
		var by []string
		if err := rows.Scan(&state, &attempt, &by); err != nil {
			t.Fatal(err)
		}
		n++
		if state != "completed" || attempt < 2 || by[len(by)-1] != "worker-b" {
			t.Errorf("job held by the killed worker: state %s, attempt %d, attempted by %v", state, attempt, by)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("%d jobs attempted by worker A, want 2", n)
	}
	items, err := st.HubScanItems(ctx, h.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Status != "done" || !strings.HasPrefix(string(it.Artifact), "sha256:") {
			t.Errorf("item %+v", it)
		}
	}
	if _, err := st.VerifyAudit(ctx); err != nil {
		t.Error(err)
	}
}
