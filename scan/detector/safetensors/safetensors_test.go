package safetensors

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/internal/testutil/golden"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/internal/sinktest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.json")

func scanBytes(t *testing.T, d scan.Detector, data []byte) []mlsec.Finding {
	t.Helper()
	return sinktest.New(t).Scan(d, sinktest.Input("x", data, format.Safetensors)).Findings
}

// TestGolden scans every fixture of format/safetensors: valid-* files are
// clean, the others carry the expected rules; all findings are golden.
func TestGolden(t *testing.T) {
	d := sinktest.Detector(t, New)
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
	golden.JSON(t, "testdata/golden.json", got, *update)
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
