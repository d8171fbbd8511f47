package safetensors

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/scan"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.json")

type fakeSink struct{ findings []mlsec.Finding }

func (s *fakeSink) Report(f mlsec.Finding) { s.findings = append(s.findings, f) }
func (s *fakeSink) Nested(context.Context, string, io.ReaderAt, int64) error {
	return nil
}
func (s *fakeSink) Limits() scan.Limits { return scan.DefaultLimits() }

func scanBytes(t *testing.T, d scan.Detector, data []byte) []mlsec.Finding {
	t.Helper()
	s := &fakeSink{}
	in := &scan.Input{Path: "x", R: bytes.NewReader(data), Size: int64(len(data)), Kind: format.Safetensors}
	if err := d.Scan(context.Background(), in, s); err != nil {
		t.Fatal(err)
	}
	return s.findings
}

// TestGolden scans every fixture of format/safetensors: valid-* files are
// clean, the others carry the expected rules; all findings are golden.
func TestGolden(t *testing.T) {
	d, err := New(scan.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../../../format/safetensors/testdata/*.safetensors")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	got := map[string][]mlsec.Finding{}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if k, _ := format.Detect(bytes.NewReader(data), int64(len(data))); k != format.Safetensors && !strings.Contains(name, "header-length") {
			t.Errorf("%s detected as %s", name, k)
		}
		fs := scanBytes(t, d, data)
		base := filepath.Base(name)
		if strings.HasPrefix(base, "valid") != (len(fs) == 0) {
			t.Errorf("%s: %d findings", base, len(fs))
		}
		got[base] = fs
	}
	checkGolden(t, got)
}

func checkGolden(t *testing.T, got any) {
	t.Helper()
	b, _ := json.MarshalIndent(got, "", "  ")
	b = append(b, '\n')
	if *update {
		if err := os.WriteFile("testdata/golden.json", b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(want), string(b)); diff != "" {
		t.Errorf("golden mismatch (-want +got):\n%s", diff)
	}
}

func TestRules(t *testing.T) {
	d, _ := New(scan.DefaultConfig())
	ids := map[string]bool{}
	for _, r := range d.Rules() {
		ids[r.ID] = true
	}
	for _, m := range ruleFor {
		if !ids[m.rule] {
			t.Errorf("rule %s is not in rules.yaml", m.rule)
		}
	}
	if len(ids) != len(ruleFor) {
		t.Errorf("%d rules, %d mapped", len(ids), len(ruleFor))
	}
}
