package main

import (
	"bytes"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/mini.golden")

// TestGenerateGolden converts a small ATLAS-shaped document and compares the
// output with testdata/mini.golden (refresh with -update).
func TestGenerateGolden(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "mini.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := generate(in)
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	golden := filepath.Join("testdata", "mini.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("generate(mini.yaml) (-want +got):\n%s", diff)
	}
}

func TestGenerateErrors(t *testing.T) {
	base := "version: 1\nmatrices:\n- id: M\n"
	tests := []struct{ name, in, contains string }{
		{"not yaml", "matrices: [\n", "parse ATLAS.yaml"},
		{"no version", "matrices:\n- id: M\n", "no version or no matrices"},
		{"no matrices", "version: 1\n", "no version or no matrices"},
		{"dangling parent", base + "  techniques:\n  - {id: T1.000, name: S, subtechnique-of: T1}\n", "T1.000 refers to unknown id T1"},
		{"dangling tactic", base + "  techniques:\n  - {id: T1, name: S, tactics: [TA9]}\n", "T1 refers to unknown id TA9"},
		{"dangling mitigation target", base + "  mitigations:\n  - {id: M1, name: M, techniques: [{id: T9}]}\n", "M1 refers to unknown id T9"},
		{"no name", base + "  tactics:\n  - {id: TA1}\n", "without id or name"},
		{"conflicting duplicate", base + "  tactics:\n  - {id: TA1, name: A}\n  - {id: TA1, name: B}\n", "appears twice"},
	}
	for _, tt := range tests {
		_, err := generate([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.contains) {
			t.Errorf("%s: generate = %v, want error containing %q", tt.name, err, tt.contains)
		}
	}
	// An identical duplicate (the same object in two matrices) is kept once.
	out, err := generate([]byte(base + "  tactics:\n  - {id: TA1, name: A}\n  - {id: TA1, name: A}\n"))
	if err != nil || bytes.Count(out, []byte(`"id":"TA1"`)) != 1 {
		t.Errorf("identical duplicate: err %v, output:\n%s", err, out)
	}
}

// TestCheckedInUpToDate regenerates the embedded catalogue from the upstream
// ATLAS.yaml in ../shared (skipped when absent) and requires it to equal the
// checked-in file, so nobody edits the generated file by hand.
func TestCheckedInUpToDate(t *testing.T) {
	src := filepath.Join("..", "..", "..", "..", "shared", "taxonomy", "atlas", "ATLAS.yaml")
	in, err := os.ReadFile(src)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("upstream ATLAS.yaml not present at %s", src)
	}
	if err != nil {
		t.Fatal(err)
	}
	got, err := generate(in)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "data", "atlas", "atlas.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("taxonomy/data/atlas/atlas.yaml is stale or hand-edited; run go generate ./taxonomy\n%s", cmp.Diff(string(want), string(got)))
	}
	lic, err := os.ReadFile(filepath.Join(filepath.Dir(src), "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	gotLic, err := os.ReadFile(filepath.Join("..", "..", "data", "atlas", "LICENSE"))
	if err != nil || !bytes.Equal(lic, gotLic) {
		t.Errorf("taxonomy/data/atlas/LICENSE differs from upstream (err %v)", err)
	}
}

// TestRun exercises the file handling: output and LICENSE written beside it.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	lic := filepath.Join(dir, "UPSTREAM-LICENSE")
	if err := os.WriteFile(lic, []byte("license text\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out", "atlas.yaml")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := run(filepath.Join("testdata", "mini.yaml"), lic, out); err != nil {
		t.Fatalf("run: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "out", "LICENSE")); err != nil || string(b) != "license text\n" {
		t.Errorf("LICENSE beside output: %q, %v", b, err)
	}
	if err := run(filepath.Join("testdata", "missing.yaml"), lic, out); err == nil {
		t.Error("run with a missing input succeeded")
	}
}
