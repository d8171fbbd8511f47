package storetest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mlsecops/mlsec/store"
)

// IngestChild is the body of the child process of KillDuringIngest: four
// goroutines write artifacts, evidence and decisions to s as fast as they
// can and print one acknowledgement line to w after each write returns,
// until ctx ends (the parent kills the process long before).
func IngestChild(ctx context.Context, s store.Store, w io.Writer) error {
	var mu sync.Mutex
	ack := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, format+"\n", args...)
	}
	pid := os.Getpid()
	errc := make(chan error, 4)
	for g := range 4 {
		go func() {
			for i := 0; ; i++ {
				if ctx.Err() != nil {
					errc <- nil
					return
				}
				label := fmt.Sprintf("%d-%d-%d", pid, g, i)
				d := D(label)
				if _, _, err := s.PutArtifact(ctx, store.Artifact{Digest: d, Name: label}, "ingest"); err != nil {
					errc <- err
					return
				}
				ack("artifact %s", d)
				e, _, err := s.AddEvidence(ctx, store.Evidence{Bundle: []byte("bundle " + label), Facts: []store.Fact{{PredicateType: "p", Subject: d, Time: time.Now()}}}, "ingest")
				if err != nil {
					errc <- err
					return
				}
				ack("evidence %d %s", e.ID, e.Digest)
				dec, err := s.RecordDecision(ctx, store.Decision{Artifact: d, Stage: "ci", Result: store.ResultPass, To: store.StateVerified, Actor: "ingest"})
				if err != nil {
					errc <- err
					return
				}
				ack("decision %d %s", dec.ID, d)
			}
		}()
	}
	return <-errc
}

// KillDuringIngest starts child (a process running IngestChild), reads its
// acknowledgements, kills it with SIGKILL once it has acknowledged at
// least minAcks writes, and checks with reopen that every acknowledged
// write is in the store and the audit chain still verifies.
func KillDuringIngest(t *testing.T, child *exec.Cmd, minAcks int, reopen func(t *testing.T) store.Store) {
	t.Helper()
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	var acks []string
	r := bufio.NewReader(out)
	killed := false
	deadline := time.Now().Add(2 * time.Minute)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break // EOF after the kill; an unterminated last line was never acknowledged
		}
		acks = append(acks, strings.TrimSuffix(line, "\n"))
		if !killed && (len(acks) >= minAcks || time.Now().After(deadline)) {
			if err := child.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	_ = child.Wait()
	if !killed || len(acks) < minAcks {
		t.Fatalf("child acknowledged %d writes (killed %v), want at least %d", len(acks), killed, minAcks)
	}
	t.Logf("killed the ingesting process after %d acknowledged writes", len(acks))
	s := reopen(t)
	defer s.Close()
	ctx := context.Background()
	for _, a := range acks {
		f := strings.Fields(a)
		switch f[0] {
		case "artifact":
			if _, err := s.Artifact(ctx, store.Digest(f[1])); err != nil {
				t.Errorf("acknowledged %q lost: %v", a, err)
			}
		case "evidence":
			id, _ := strconv.ParseInt(f[1], 10, 64)
			e, err := s.Evidence(ctx, id)
			if err != nil || string(e.Digest) != f[2] || len(e.Facts) != 1 {
				t.Errorf("acknowledged %q lost: %+v, %v", a, e, err)
			}
		case "decision":
			id, _ := strconv.ParseInt(f[1], 10, 64)
			ds, err := s.Decisions(ctx, store.Digest(f[2]))
			if err != nil || len(ds) != 1 || ds[0].ID != id {
				t.Errorf("acknowledged %q lost: %+v, %v", a, ds, err)
			}
			if a, err := s.Artifact(ctx, store.Digest(f[2])); err != nil || a.State != store.StateVerified {
				t.Errorf("state of %s after acknowledged promotion: %+v, %v", f[2], a, err)
			}
		default:
			t.Fatalf("unexpected child output %q", a)
		}
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Errorf("audit chain after kill -9: %v", err)
	}
}
