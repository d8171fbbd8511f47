package tflite

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/internal/testutil/golden"
	"github.com/mlsecops/mlsec/scan/detector/internal/sinktest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixtures is where format/tflite's generator writes the model fixtures.
const fixtures = "../../../format/tflite/testdata"

func scanBytes(t *testing.T, b []byte) []mlsec.Finding {
	t.Helper()
	return sinktest.New(t).Scan(sinktest.Detector(t, New), sinktest.Input("m.tflite", b, format.TFLite)).Findings
}

func subjects(fs []mlsec.Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.RuleID+" "+f.Subject)
	}
	return out
}

func TestFixtures(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"clean.tflite", []string{}},
		{"custom.tflite", []string{"TFLITE-001 MyNativeOp", "TFLITE-001 TFLite_Detection_PostProcess", "TFLITE-001 FlexReadFile"}},
		{"custom_name_only.tflite", []string{"TFLITE-001 Sneaky"}},
		{"buffer_range_ok.tflite", []string{}},
		{"bad_opcode_index.tflite", []string{"TFLITE-002 ", "TFLITE-001 Hidden"}},
		{"bad_buffer.tflite", []string{"TFLITE-002 "}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(fixtures, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got := scanBytes(t, b)
			if d := cmp.Diff(tc.want, subjects(got)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			golden.JSON(t, filepath.Join("testdata", "golden", strings.TrimSuffix(tc.file, ".tflite")+".json"), got, *update)
		})
	}
}

func TestMalformed(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(fixtures, "custom.tflite"))
	if err != nil {
		t.Fatal(err)
	}
	if got := subjects(scanBytes(t, b[:40])); !cmp.Equal(got, []string{"TFLITE-002 "}) {
		t.Errorf("truncated in the root table: %v", got)
	}
	// Cut in the buffers: the operator codes were read and still count.
	want := []string{"TFLITE-002 ", "TFLITE-001 MyNativeOp", "TFLITE-001 TFLite_Detection_PostProcess", "TFLITE-001 FlexReadFile"}
	if got := subjects(scanBytes(t, b[:len(b)-30])); !cmp.Equal(got, want) {
		t.Errorf("truncated in the buffers: %v", got)
	}
}
