package savedmodel

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/internal/testutil/golden"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/internal/sinktest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixtures is where format/savedmodel's generator writes SavedModel dirs.
const fixtures = "../../../format/savedmodel/testdata"

func scanInput(t *testing.T, in *scan.Input, limits scan.Limits) []mlsec.Finding {
	t.Helper()
	s := sinktest.New(t)
	s.Lim = limits
	return s.Scan(sinktest.Detector(t, New), in).Findings
}

func fileInput(t *testing.T, dir string) *scan.Input {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, dir, "saved_model.pb"))
	if err != nil {
		t.Fatal(err)
	}
	return sinktest.Input(dir+"/saved_model.pb", b, format.SavedModel)
}

func ruleIDs(fs []mlsec.Finding) []string {
	ids := []string{}
	for _, f := range fs {
		ids = append(ids, f.RuleID+" "+f.Subject)
	}
	sort.Strings(ids)
	return ids
}

func TestFixtures(t *testing.T) {
	tests := []struct {
		dir  string
		want []string
	}{
		{"normal", []string{}},
		{"pyfunc", []string{"SAVEDMODEL-001 EagerPyFunc", "SAVEDMODEL-001 PyFunc"}},
		{"writefile", []string{"SAVEDMODEL-002 WriteFile"}},
		{"readfile", []string{"SAVEDMODEL-003 ImmutableConst", "SAVEDMODEL-003 MatchingFiles", "SAVEDMODEL-003 ReadFile"}},
		{"print_file", []string{"SAVEDMODEL-003 PrintV2"}},
		{"debug", []string{"SAVEDMODEL-004 DebugIdentity"}},
		{"dataset", []string{"SAVEDMODEL-003 SaveDatasetV2", "SAVEDMODEL-003 TFRecordDataset"}},
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			got := scanInput(t, fileInput(t, tc.dir), scan.DefaultLimits())
			if d := cmp.Diff(tc.want, ruleIDs(got)); d != "" {
				t.Errorf("findings (-want +got):\n%s", d)
			}
			golden.JSON(t, filepath.Join("testdata", "golden", tc.dir+".json"), got, *update)
			// The same model given as a directory.
			dirGot := scanInput(t, &scan.Input{Path: tc.dir, Dir: filepath.Join(fixtures, tc.dir), Kind: format.SavedModel}, scan.DefaultLimits())
			if d := cmp.Diff(got, dirGot); d != "" {
				t.Errorf("directory scan differs (-file +dir):\n%s", d)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	in := fileInput(t, "normal")
	small := scan.DefaultLimits()
	small.MaxMemberBytes = 64
	if got := ruleIDs(scanInput(t, in, small)); !cmp.Equal(got, []string{"SAVEDMODEL-006 "}) {
		t.Errorf("over cap: %v", got)
	}
	b := make([]byte, in.Size-3)
	in.R.ReadAt(b, 0)
	trunc := &scan.Input{Path: "x", R: bytes.NewReader(b), Size: int64(len(b))}
	if got := ruleIDs(scanInput(t, trunc, scan.DefaultLimits())); !cmp.Equal(got, []string{"SAVEDMODEL-005 "}) {
		t.Errorf("truncated: %v", got)
	}
}
