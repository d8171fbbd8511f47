package inspect_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlsecops/mlsec/inspect"
	"github.com/mlsecops/mlsec/inspect/inspecttest"
)

func TestSmoke(t *testing.T) {
	dir := t.TempDir()
	inspecttest.Repo(t, filepath.Join(dir, "m"), inspecttest.RepoOptions{})
	inspecttest.GGUFModel(t, filepath.Join(dir, "m", "tiny.Q4_K_M.gguf"))
	r, err := inspect.Inspect(context.Background(), filepath.Join(dir, "m"), inspect.Options{Digest: true})
	if err != nil {
		t.Fatal(err)
	}
	inspect.WriteTable(os.Stdout, r)
	inspect.WriteJSON(os.Stdout, r)
}
