package signing

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

const interopDir = "testdata/interop/model-transparency"

func vectorPath(parts ...string) string {
	return filepath.Join(append([]string{interopDir, "scripts", "tests"}, parts...)...)
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fixture rebuilds one of the reference's test models (tests/conftest.py)
// under a fresh temporary directory and returns its path.
func fixture(t testing.TB, name string) string {
	t.Helper()
	tmp := t.TempDir()
	switch name {
	case "sample_model_file":
		p := filepath.Join(tmp, "file_model")
		writeFile(t, p, "This is a simple model")
		return p
	case "empty_model_file":
		p := filepath.Join(tmp, "empty_file_model")
		writeFile(t, p, "")
		return p
	case "sample_model_folder":
		root := filepath.Join(tmp, "sample_model")
		for i := range 2 {
			for j := range 3 {
				writeFile(t, filepath.Join(root, fmt.Sprintf("d%d", i), fmt.Sprintf("f%d%d", i, j)),
					fmt.Sprintf("This is file f%d%d in d%d.", i, j, i))
			}
		}
		for i := range 4 {
			writeFile(t, filepath.Join(root, fmt.Sprintf("f%d", i)), fmt.Sprintf("This is file f%d in root.", i))
		}
		return root
	case "empty_model_folder":
		root := filepath.Join(tmp, "empty_folder_model")
		if err := os.Mkdir(root, 0o755); err != nil {
			t.Fatal(err)
		}
		return root
	case "model_folder_with_empty_file":
		root := filepath.Join(tmp, "empty_file_inside_model")
		writeFile(t, filepath.Join(root, "empty_file"), "")
		return root
	case "deep_model_folder":
		root := filepath.Join(tmp, "deep_model")
		dir := filepath.Join(root, "d0", "d1", "d2", "d3", "d4")
		for i := range 4 { // the reference builds f0..f3 (the shared README says 0..2)
			writeFile(t, filepath.Join(dir, fmt.Sprintf("f%d", i)), fmt.Sprintf("This is file f%d.", i))
		}
		return root
	case "symlink_model_folder":
		ext := filepath.Join(tmp, "external", "file")
		writeFile(t, ext, "This is a simple model")
		root := filepath.Join(tmp, "symlink_model")
		if err := os.Mkdir(root, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(ext, filepath.Join(root, "symlink_file")); err != nil {
			t.Fatal(err)
		}
		return root
	}
	t.Fatalf("unknown fixture %q", name)
	return ""
}

var fixtureNames = []string{
	"sample_model_file", "empty_model_file", "sample_model_folder", "empty_model_folder",
	"model_folder_with_empty_file", "deep_model_folder", "symlink_model_folder",
}

func newBuf() *bytes.Buffer { return new(bytes.Buffer) }
