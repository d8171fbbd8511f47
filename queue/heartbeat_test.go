package queue

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mlsecops/mlsec/store/sqlite"
)

// TestRescueDeadWorkers: a running job is re-queued when its worker is a
// process of this host that is gone (at once), or has not beaten for the
// timeout; never while its worker beats, nor when it is this process's.
func TestRescueDeadWorkers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.OpenDir(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q, err := Open(ctx, Config{Store: st, SQLitePath: filepath.Join(dir, "queue.db"), ID: "me"})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	b := q.beats
	if err := b.init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.beat(ctx); err != nil {
		t.Fatal(err)
	}
	// A process that has exited: its pid is free.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	deadPID := gone.ProcessState.Pid()
	exec1 := func(q string, args ...any) {
		t.Helper()
		if _, err := b.exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, w := range []struct {
		id, host string
		pid      int
		ago      string
	}{
		{"silent", "elsewhere", 1, "-10 minutes"},
		{"beating", "elsewhere", 1, "-1 seconds"},
		{"crashed", b.host, deadPID, "-1 seconds"},
		{"living", b.host, os.Getppid(), "-1 seconds"},
	} {
		exec1(`INSERT INTO mlsec_worker (id, host, pid, started_at, seen_at) VALUES ($1, $2, $3, datetime('now', '-1 hour'), strftime('%Y-%m-%d %H:%M:%f', 'now', $4))`, w.id, w.host, w.pid, w.ago)
	}
	jobs := map[string]int64{}
	for _, who := range []string{"silent", "beating", "crashed", "living", "me", "unknown-new", "unknown-old"} {
		id, err := q.Insert(ctx, ScanArgs{Path: "/nonexistent/" + who})
		if err != nil {
			t.Fatal(err)
		}
		jobs[who] = id
		at := "-1 seconds"
		switch who {
		case "unknown-old":
			at = "-10 minutes"
		case "me":
			at = "+1 seconds" // after this incarnation's first beat
		}
		exec1(`UPDATE river_job SET state = 'running', attempt = 1, attempted_at = datetime('now', 'subsec', $2), attempted_by = jsonb(json_array($3)) WHERE id = $1`, id, at, who)
	}
	got, err := b.rescue(ctx, DefaultHeartbeatTimeout)
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{jobs["silent"], jobs["crashed"], jobs["unknown-old"]}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("re-queued %v, want %v (jobs %v)", got, want, jobs)
	}
	for who, id := range jobs {
		j, err := q.Job(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		wantState := "running"
		if slices.Contains(want, id) {
			wantState = "available"
		}
		if string(j.State) != wantState {
			t.Errorf("job of %s: %s, want %s", who, j.State, wantState)
		}
	}
	// A job this id ran before this incarnation started is an orphan too.
	exec1(`UPDATE river_job SET attempted_at = datetime('now', '-2 hours') WHERE id = $1`, jobs["me"])
	if got, err := b.rescue(ctx, DefaultHeartbeatTimeout); err != nil || !slices.Equal(got, []int64{jobs["me"]}) {
		t.Errorf("rescue of an earlier incarnation's job: %v, %v", got, err)
	}
}
