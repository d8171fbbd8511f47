package scratch_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mlsecops/mlsec/scratch"
)

// A directory left by a dead process (its lock free) is removed at the
// next Open; a live process's directory is kept.
func TestOpenCleansDeadProcesses(t *testing.T) {
	data := t.TempDir()
	live, err := scratch.Open(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	jd, done, err := live.Dir()
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	if err := os.WriteFile(filepath.Join(jd, "model.bin"), []byte("plaintext"), 0o600); err != nil {
		t.Fatal(err)
	}
	// What a kill -9 leaves: a process directory whose lock nobody holds.
	dead := filepath.Join(data, scratch.DirName, "p-dead")
	if err := os.MkdirAll(filepath.Join(dead, "job-1"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{".lock", "job-1/model.bin"} {
		if err := os.WriteFile(filepath.Join(dead, f), []byte("plaintext"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	next, err := scratch.Open(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("dead process's scratch survived: %v", err)
	}
	if _, err := os.Stat(filepath.Join(jd, "model.bin")); err != nil {
		t.Errorf("live process's scratch removed: %v", err)
	}
	for _, d := range []string{filepath.Join(data, scratch.DirName), next.Path()} {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o700 {
			t.Errorf("%s mode %v, want 0700", d, st.Mode().Perm())
		}
	}
	if err := next.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(next.Path()); !os.IsNotExist(err) {
		t.Errorf("Close left %s", next.Path())
	}
}
