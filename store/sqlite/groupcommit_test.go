package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/sqlite"
	"github.com/mlsecops/mlsec/store/storetest"
)

// TestGroupCommit: many concurrent writers, half of them failing inside
// their transaction, share commits; every successful write is stored and
// audited exactly once, every failed one leaves no trace, and the audit
// chain verifies. A writer whose context is cancelled before its turn
// writes nothing.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.OpenDir(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const writers, each = 32, 20
	var wg sync.WaitGroup
	errc := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				d := storetest.D(fmt.Sprintf("w%d-%d", w, i))
				if i%2 == 0 {
					if _, _, err := st.PutArtifact(ctx, store.Artifact{Digest: d, Name: "m", Kind: "model"}, "test"); err != nil {
						errc <- err
					}
					continue
				}
				// Fails inside its transaction: no such artifact.
				_, err := st.Override(ctx, store.Override{Artifact: d, To: store.StateReleased, Actor: "test", Reason: "r"})
				if !errors.Is(err, store.ErrNotFound) {
					errc <- fmt.Errorf("override of a missing artifact: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	for w := range writers {
		for i := 0; i < each; i++ {
			d := storetest.D(fmt.Sprintf("w%d-%d", w, i))
			_, err := st.Artifact(ctx, d)
			if (i%2 == 0) != (err == nil) {
				t.Fatalf("artifact %d-%d: %v", w, i, err)
			}
		}
	}
	n, err := st.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(writers * each / 2); n != want {
		t.Errorf("audit entries %d, want %d (one per successful write)", n, want)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := st.PutArtifact(cancelled, store.Artifact{Digest: storetest.D("late"), Name: "m"}, "test"); err == nil {
		t.Error("a cancelled write succeeded")
	}
	if _, err := st.Artifact(ctx, storetest.D("late")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a cancelled write was stored: %v", err)
	}
}
