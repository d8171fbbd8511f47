package tflite

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

var update = flag.Bool("update", false, "rewrite golden files")

// fixtures is where format/tflite's generator writes the model fixtures.
const fixtures = "../../../format/tflite/testdata"

type fakeSink struct{ findings []mlsec.Finding }

func (s *fakeSink) Report(f mlsec.Finding) { s.findings = append(s.findings, f) }
func (s *fakeSink) Nested(context.Context, string, io.ReaderAt, int64) error {
	return nil
}
func (s *fakeSink) Limits() scan.Limits { return scan.DefaultLimits() }

func scanBytes(t *testing.T, b []byte) []mlsec.Finding {
	t.Helper()
	d, err := New(scan.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeSink{}
	if err := d.Scan(context.Background(), &scan.Input{Path: "m.tflite", R: bytes.NewReader(b), Size: int64(len(b)), Kind: format.TFLite}, s); err != nil {
		t.Fatal(err)
	}
	return s.findings
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
			golden(t, strings.TrimSuffix(tc.file, ".tflite")+".json", got)
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

func golden(t *testing.T, name string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if d := cmp.Diff(string(want), string(b)); d != "" {
		t.Errorf("%s (-want +got):\n%s", p, d)
	}
}
