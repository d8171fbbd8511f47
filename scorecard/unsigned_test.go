package scorecard_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mlsecops/mlsec/attest/attesttest"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/scorecard"
)

func TestUnsigned(t *testing.T) {
	st := fixture(t, "format/safetensors/testdata/valid-all-dtypes.safetensors")
	pkl := fixture(t, "testdata/models/plain_p2.pkl")
	root := t.TempDir()
	attesttest.Artifact(t, root, map[string]string{
		"loose/weights.bin":         st,  // model by content, unsigned
		"loose/notes.txt":           pkl, // a pickle named .txt, unsigned
		"loose/README.md":           "# hi\n",
		"loose/main.go":             "package main\n",
		"file/model.safetensors":    st, // signed as a file (FILE.sig)
		"dir/sub/model.safetensors": st, // covered by dir/model.sig
		"dir/config.json":           "{}",
	})
	k := attesttest.NewKey(t)
	attesttest.Sign(t, filepath.Join(root, "file", "model.safetensors"), k.Signer())
	attesttest.Sign(t, filepath.Join(root, "dir"), k.Signer())

	var paths []string
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := scorecard.Unsigned(paths, root)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]format.Kind{
		filepath.Join(root, "loose", "notes.txt"):   format.Pickle,
		filepath.Join(root, "loose", "weights.bin"): format.Safetensors,
	}
	if len(got) != len(want) {
		t.Fatalf("unsigned = %+v, want %v", got, want)
	}
	for _, f := range got {
		if want[f.Path] != f.Format {
			t.Errorf("unexpected %+v", f)
		}
	}
	// A directory signature above --root does not count.
	got, err = scorecard.Unsigned([]string{filepath.Join(root, "dir", "sub", "model.safetensors")}, filepath.Join(root, "dir", "sub"))
	if err != nil || len(got) != 1 {
		t.Errorf("signature above root counted: %+v, %v", got, err)
	}
	if _, err := scorecard.Unsigned([]string{filepath.Join(root, "missing")}, root); err == nil {
		t.Error("a missing file was not an error")
	}
}
