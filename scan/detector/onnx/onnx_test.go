package onnx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/onnx/onnxtest"
	"github.com/mlsecops/mlsec/internal/testutil/golden"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/internal/sinktest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixtures is where format/onnx's generator writes the model fixtures.
const fixtures = "../../../format/onnx/testdata"

// scanFile scans path as a plain file on disk (member "" and depth 0).
func scanFile(t testing.TB, d scan.Detector, path string) []mlsec.Finding {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	s := sinktest.New(t)
	if err := d.Scan(context.Background(), &scan.Input{Path: path, R: f, Size: fi.Size(), Kind: format.ONNX}, s); err != nil {
		t.Fatal(err)
	}
	return s.Findings
}

func ruleIDs(fs []mlsec.Finding) []string {
	ids := []string{}
	for _, f := range fs {
		ids = append(ids, f.RuleID)
	}
	sort.Strings(ids)
	return ids
}

func TestFixtures(t *testing.T) {
	d := sinktest.Detector(t, New)
	tests := []struct {
		file string
		want []string
	}{
		{"clean.onnx", []string{}},
		{"ir1.onnx", []string{}},
		{"local_function.onnx", []string{}},
		{"external_ok.onnx", []string{}},
		{"custom_domain.onnx", []string{"ONNX-002"}},
		{"runtime_domain.onnx", []string{"ONNX-003", "ONNX-003"}},
		{"python_op.onnx", []string{"ONNX-003", "ONNX-008", "ONNX-008", "ONNX-008"}},
		{"function_custom.onnx", []string{"ONNX-002"}},
		{"nested.onnx", []string{"ONNX-002", "ONNX-003"}},
		{"deep.onnx", []string{"ONNX-007"}},
		{"external_abs.onnx", []string{"ONNX-001"}},
		{"external_dotdot.onnx", []string{"ONNX-001"}},
		{"external_windows.onnx", []string{"ONNX-001"}},
		{"external_attr.onnx", []string{"ONNX-001"}},
		{"external_missing.onnx", []string{"ONNX-005"}},
		{"external_range.onnx", []string{"ONNX-004", "ONNX-004", "ONNX-004"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got := scanFile(t, d, filepath.Join(fixtures, tc.file))
			if d := cmp.Diff(tc.want, ruleIDs(got)); d != "" {
				t.Errorf("rule ids (-want +got):\n%s", d)
			}
			for i := range got {
				got[i].Message = strings.ReplaceAll(got[i].Message, fixtures, "FIXTURES")
			}
			golden.JSON(t, filepath.Join("testdata", "golden", strings.TrimSuffix(tc.file, ".onnx")+".json"), got, *update)
		})
	}
}

// TestMember checks that a model inside an archive gets the lexical
// location checks but no file-system lookups.
func TestMember(t *testing.T) {
	d := sinktest.Detector(t, New)
	for file, want := range map[string][]string{
		"external_missing.onnx": {},
		"external_range.onnx":   {"ONNX-004"}, // the negative offset is malformed wherever the model is
		"external_dotdot.onnx":  {"ONNX-001"},
	} {
		b, err := os.ReadFile(filepath.Join(fixtures, file))
		if err != nil {
			t.Fatal(err)
		}
		s := sinktest.New(t)
		in := &scan.Input{Path: filepath.Join(fixtures, file), Member: "model.onnx", Depth: 1, R: bytes.NewReader(b), Size: int64(len(b)), Kind: format.ONNX}
		if err := d.Scan(context.Background(), in, s); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, ruleIDs(s.Findings)); diff != "" {
			t.Errorf("%s as a member (-want +got):\n%s", file, diff)
		}
	}
}

// TestSymlinkEscape puts a model beside a symbolic link that leaves its
// directory.
func TestSymlinkEscape(t *testing.T) {
	d := sinktest.Detector(t, New)
	root := t.TempDir()
	dir := filepath.Join(root, "model")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "secret"), make([]byte, 64), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../secret", filepath.Join(dir, "external_ok.bin")); err != nil {
		t.Skip(err)
	}
	b, err := os.ReadFile(filepath.Join(fixtures, "external_ok.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	got := scanFile(t, d, p)
	if diff := cmp.Diff([]string{"ONNX-001"}, ruleIDs(got)); diff != "" {
		t.Errorf("rule ids (-want +got):\n%s", diff)
	}
	// A link that stays inside the directory is fine.
	if err := os.Remove(filepath.Join(dir, "external_ok.bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data.bin"), make([]byte, 32), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("data.bin", filepath.Join(dir, "external_ok.bin")); err != nil {
		t.Fatal(err)
	}
	if got := scanFile(t, d, p); len(got) != 0 {
		t.Errorf("inside link: findings %v, want none", got)
	}
}

func TestMalformed(t *testing.T) {
	d := sinktest.Detector(t, New)
	b, err := os.ReadFile(filepath.Join(fixtures, "nested.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	s := sinktest.New(t)
	in := &scan.Input{Path: "x.onnx", Member: "m", R: bytes.NewReader(b[:len(b)-5]), Size: int64(len(b) - 5)}
	if err := d.Scan(context.Background(), in, s); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ONNX-006"}, ruleIDs(s.Findings)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRules(t *testing.T) {
	d := sinktest.Detector(t, New)
	ids := map[string]bool{}
	for _, r := range d.Rules() {
		ids[r.ID] = true
	}
	for _, id := range []string{RuleExternalEscape, RuleUnknownDomain, RuleRuntimeDomain, RuleExternalRange, RuleExternalMissing, RuleMalformed, RuleLimit, RulePythonOp} {
		if !ids[id] {
			t.Errorf("rule %s missing from rules.yaml", id)
		}
	}
}

// TestDebianModelsClean detects every Debian model by content and scans it:
// all must be ONNX and clean.
func TestDebianModelsClean(t *testing.T) {
	d := sinktest.Detector(t, New)
	files := onnxtest.DebianModels(t)
	start := time.Now()
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		k, err := format.Detect(f, fi.Size())
		f.Close()
		if err != nil || k != format.ONNX {
			t.Errorf("%s: detected %s, %v; want onnx", p, k, err)
			continue
		}
		if got := scanFile(t, d, p); len(got) != 0 {
			t.Errorf("%s: %v", p, got)
		}
	}
	t.Logf("detected and scanned %d models in %v", len(files), time.Since(start))
}

// TestSileroVAD scans the Silero VAD model from the npm package
// @ricky0123/vad-web (see testdata/silero/README.md); the newer v5/v6 models
// are scanned too when MLSEC_VAD_DIR names a directory holding them.
func TestSileroVAD(t *testing.T) {
	d := sinktest.Detector(t, New)
	files, _ := filepath.Glob("testdata/silero/*.onnx")
	if dir := os.Getenv("MLSEC_VAD_DIR"); dir != "" {
		more, _ := filepath.Glob(filepath.Join(dir, "*.onnx"))
		files = append(files, more...)
	}
	if len(files) == 0 {
		t.Fatal("testdata/silero/silero_vad_legacy.onnx is missing")
	}
	sums, err := os.ReadFile("testdata/silero/SHA256SUMS")
	if err != nil {
		t.Fatal(err)
	}
	want, name, _ := strings.Cut(strings.TrimSpace(string(sums)), "  ")
	b, err := os.ReadFile(filepath.Join("testdata/silero", name))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%x", sha256.Sum256(b)); got != want {
		t.Errorf("%s: sha256 %s, want %s", name, got, want)
	}
	for _, p := range files {
		if got := scanFile(t, d, p); len(got) != 0 {
			t.Errorf("%s: %v", p, got)
		}
	}
}

func BenchmarkDebianModels(b *testing.B) {
	d := sinktest.Detector(b, New)
	files := onnxtest.DebianModels(b)
	for b.Loop() {
		for _, p := range files {
			scanFile(b, d, p)
		}
	}
}
