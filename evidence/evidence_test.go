package evidence_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/signing"
)

func TestNamesMatchModelSigning(t *testing.T) {
	if evidence.SignatureName != signing.DefaultSignatureName {
		t.Errorf("SignatureName %q, want the reference's %q", evidence.SignatureName, signing.DefaultSignatureName)
	}
	if evidence.ClaimsName != signing.ClaimsFileName {
		t.Errorf("ClaimsName %q, want %q", evidence.ClaimsName, signing.ClaimsFileName)
	}
}

func TestLocate(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m")
	file := filepath.Join(dir, "w.safetensors")
	if err := os.Mkdir(model, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want evidence.Paths
	}{
		{model + "/", evidence.Paths{Artifact: model, Dir: true, Signature: model + "/model.sig", Claims: model + "/claims.jsonl"}},
		{file, evidence.Paths{Artifact: file, Signature: file + ".sig", Claims: file + ".claims.jsonl"}},
	} {
		got, err := evidence.Locate(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("Locate(%s) (-want +got):\n%s", tc.path, d)
		}
		if got != evidence.For(tc.path, tc.want.Dir) {
			t.Errorf("For(%s) differs from Locate", tc.path)
		}
	}
	if _, err := evidence.Locate(filepath.Join(dir, "missing")); err == nil {
		t.Error("Locate of a missing artifact: no error")
	}
	if got := evidence.Inside(model); len(got) != 2 || got[0] != model+"/model.sig" || got[1] != model+"/claims.jsonl" {
		t.Errorf("Inside(dir) = %v", got)
	}
	if got := evidence.Inside(file); got != nil {
		t.Errorf("Inside(file) = %v, want none", got)
	}
}

func TestArtifactOf(t *testing.T) {
	for _, tc := range []struct {
		file, artifact string
		kind           evidence.Kind
		ok             bool
	}{
		{"a/m/model.sig", "a/m", evidence.Signature, true},
		{"a/m/claims.jsonl", "a/m", evidence.Claims, true},
		{"a/w.gguf.sig", "a/w.gguf", evidence.Signature, true},
		{"a/w.gguf.claims.jsonl", "a/w.gguf", evidence.Claims, true},
		{"a/.sig", "", "", false},
		{"a/weights.bin", "", "", false},
	} {
		a, k, ok := evidence.ArtifactOf(tc.file)
		if a != tc.artifact || k != tc.kind || ok != tc.ok {
			t.Errorf("ArtifactOf(%s) = %q %q %v, want %q %q %v", tc.file, a, k, ok, tc.artifact, tc.kind, tc.ok)
		}
	}
}

// From inside a model directory, "." searches the directory around the
// model, never the model itself.
func TestSearchDirFromInside(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m")
	if err := os.Mkdir(model, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(model)
	got, err := evidence.SearchDir(".")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.EvalSymlinks(dir)
	if g, _ := filepath.EvalSymlinks(got); g != want {
		t.Errorf("SearchDir(.) = %s, want %s", got, dir)
	}
}

// A model.sig in the current directory is mentioned, never used.
func TestMissingSignatureMentionsCurrentDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	err := evidence.MissingSignature("m", "m/model.sig")
	if !errors.Is(err, evidence.ErrNoSignature) || strings.Contains(err.Error(), "current directory") {
		t.Errorf("no ./model.sig: %v", err)
	}
	if err := os.WriteFile("model.sig", []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = evidence.MissingSignature("m", "m/model.sig")
	if !errors.Is(err, evidence.ErrNoSignature) || !strings.Contains(err.Error(), "pass --signature model.sig") {
		t.Errorf("with ./model.sig: %v", err)
	}
}

// The layout is asked by every layer: the package imports only the
// standard library.
func TestStandardLibraryOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if got := strings.Fields(string(out)); len(got) != 1 || got[0] != "github.com/mlsecops/mlsec/evidence" {
		t.Errorf("package evidence depends on %v", got)
	}
}
