package keras

import (
	"archive/zip"
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/internal/testutil/golden"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/internal/sinktest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fakeSink records findings and nested members.
type fakeSink struct {
	findings []mlsec.Finding
	nested   []string
}

func (s *fakeSink) Report(f mlsec.Finding) { s.findings = append(s.findings, f) }
func (s *fakeSink) Limits() scan.Limits    { return scan.DefaultLimits() }
func (s *fakeSink) Nested(ctx context.Context, name string, r io.ReaderAt, size int64) error {
	k, err := format.Detect(r, size)
	if err != nil {
		return err
	}
	s.nested = append(s.nested, name+":"+string(k))
	return nil
}

// checkGolden compares what s recorded with testdata/golden/<name>.json.
func checkGolden(t *testing.T, name string, s *fakeSink) {
	t.Helper()
	got := golden.Scan{Findings: golden.Brief(s.findings), Nested: s.nested}
	golden.JSON(t, filepath.Join("testdata", "golden", name+".json"), got, *update)
}

// kerasZip builds a .keras archive around a config.json.
func kerasZip(t *testing.T, config []byte, extra map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, b []byte) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	add("metadata.json", []byte(`{"keras_version": "3.6.0", "date_saved": "2024-11-01@12:00:00"}`))
	add("config.json", config)
	h5, err := os.ReadFile("../../../format/hdf5/testdata/plain.h5")
	if err != nil {
		t.Fatal(err)
	}
	// Keras writes weights stored or deflated; store them here so the
	// in-place (no copy) path is exercised.
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "model.weights.h5", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(h5)
	for n, b := range extra {
		add(n, b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func scanBytes(t *testing.T, b []byte, wantKind format.Kind) *fakeSink {
	t.Helper()
	k, err := format.Detect(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if k != wantKind {
		t.Fatalf("detected %q, want %q", k, wantKind)
	}
	d := sinktest.Detector(t, New)
	s := &fakeSink{}
	in := &scan.Input{Path: "x", R: bytes.NewReader(b), Size: int64(len(b)), Kind: k}
	if err := d.Scan(context.Background(), in, s); err != nil {
		t.Fatal(err)
	}
	return s
}

func maxSev(s *fakeSink) mlsec.Severity { return mlsec.MaxSeverity(s.findings) }

func TestKerasArchives(t *testing.T) {
	tests := []struct {
		config string
		extra  map[string][]byte
		want   mlsec.Severity
	}{
		{"keras3_sequential.json", nil, mlsec.SeverityNone},
		{"keras3_functional.json", nil, mlsec.SeverityNone},
		{"keras3_lambda.json", nil, mlsec.SeverityCritical},
		{"keras3_cve_2025_1550.json", nil, mlsec.SeverityCritical},
		{"keras3_get_file.json", nil, mlsec.SeverityCritical},
		{"keras3_sequential.json", map[string][]byte{"../../evil.sh": []byte("#!/bin/sh\n")}, mlsec.SeverityHigh},
	}
	for _, tt := range tests {
		name := strings.TrimSuffix(tt.config, ".json")
		if tt.extra != nil {
			name += "_zipslip"
		}
		t.Run(name, func(t *testing.T) {
			cfg, err := os.ReadFile(filepath.Join("../../../format/keras/testdata", tt.config))
			if err != nil {
				t.Fatal(err)
			}
			s := scanBytes(t, kerasZip(t, cfg, tt.extra), format.Keras)
			if got := maxSev(s); got != tt.want {
				t.Errorf("max severity %v, want %v", got, tt.want)
			}
			checkGolden(t, name, s)
		})
	}
}

func TestKerasH5(t *testing.T) {
	tests := []struct {
		file string
		want mlsec.Severity
	}{
		{"keras2_fixed.h5", mlsec.SeverityNone},
		{"keras2_vlen.h5", mlsec.SeverityNone},
		{"keras2_latest.h5", mlsec.SeverityNone},
		{"keras2_v108.h5", mlsec.SeverityNone},
		{"keras2_lambda_fixed.h5", mlsec.SeverityCritical},
		{"keras2_lambda_vlen.h5", mlsec.SeverityCritical},
		{"keras2_lambda_latest.h5", mlsec.SeverityCritical},
		{"plain.h5", mlsec.SeverityNone},
		{"dense_attrs.h5", mlsec.SeverityHigh}, // attributes not read: not analysed
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("../../../format/hdf5/testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			s := scanBytes(t, b, format.HDF5)
			if got := maxSev(s); got != tt.want {
				t.Errorf("max severity %v, want %v", got, tt.want)
			}
			checkGolden(t, strings.TrimSuffix(tt.file, ".h5"), s)
		})
	}
}

func TestAllowFromConfig(t *testing.T) {
	cfg, err := os.ReadFile("../../../format/keras/testdata/keras3_lambda.json")
	if err != nil {
		t.Fatal(err)
	}
	custom := bytes.Replace(cfg, []byte(`"module": "keras.layers", "class_name": "Lambda"`), []byte(`"module": "acme.layers", "class_name": "Block"`), 1)
	custom = bytes.Replace(custom, []byte(`"class_name": "__lambda__"`), []byte(`"class_name": "Zeros"`), 1)
	b := kerasZip(t, custom, nil)
	for _, tc := range []struct {
		allow []string
		want  mlsec.Severity
	}{{nil, mlsec.SeverityHigh}, {[]string{"acme.layers:Block"}, mlsec.SeverityNone}} {
		c := scan.DefaultConfig()
		c.Imports.Allow = tc.allow
		d, _ := New(c)
		s := &fakeSink{}
		if err := d.Scan(context.Background(), &scan.Input{R: bytes.NewReader(b), Size: int64(len(b)), Kind: format.Keras}, s); err != nil {
			t.Fatal(err)
		}
		if got := maxSev(s); got != tc.want {
			t.Errorf("allow %v: max severity %v, want %v (%v)", tc.allow, got, tc.want, s.findings)
		}
	}
}

func TestRules(t *testing.T) {
	d, _ := New(scan.DefaultConfig())
	ids := map[string]bool{}
	for _, r := range d.Rules() {
		ids[r.ID] = true
	}
	for _, id := range []string{RuleLambda, RuleDangerous, RuleForeign, RuleTFSMLayer, RulePath, RuleIncomplete, RuleZipSlip, RuleBomb} {
		if !ids[id] {
			t.Errorf("rule %s missing from rules.yaml", id)
		}
	}
}

func TestKerasBombMember(t *testing.T) {
	cfg, err := os.ReadFile("../../../format/keras/testdata/keras3_sequential.json")
	if err != nil {
		t.Fatal(err)
	}
	b := kerasZip(t, cfg, map[string][]byte{"assets/zeros.bin": make([]byte, 16<<20)})
	s := scanBytes(t, b, format.Keras)
	var rules []string
	for _, f := range s.findings {
		rules = append(rules, f.RuleID)
	}
	if diff := cmp.Diff([]string{RuleBomb}, rules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
}

// TestKerasMetadata scans the keras_metadata.pb of a tf.keras SavedModel,
// recognised by its name: a Lambda layer there runs at load_model time.
func TestKerasMetadata(t *testing.T) {
	for file, want := range map[string]mlsec.Severity{
		"keras_metadata_clean.pb":  mlsec.SeverityNone,
		"keras_metadata_lambda.pb": mlsec.SeverityCritical,
	} {
		t.Run(file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("../../../format/keras/testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			k, err := format.DetectFile("model/keras_metadata.pb", bytes.NewReader(b), int64(len(b)))
			if err != nil || k != format.KerasMetadata {
				t.Fatalf("detected %q, %v; want %q", k, err, format.KerasMetadata)
			}
			d := sinktest.Detector(t, New)
			s := &fakeSink{}
			if err := d.Scan(context.Background(), &scan.Input{Path: "model/keras_metadata.pb", R: bytes.NewReader(b), Size: int64(len(b)), Kind: k}, s); err != nil {
				t.Fatal(err)
			}
			if got := maxSev(s); got != want {
				t.Errorf("max severity %v, want %v", got, want)
			}
			checkGolden(t, strings.TrimSuffix(file, ".pb"), s)
		})
	}
}

// TestDuplicateConfig: Python's zipfile (and so Keras) reads the last of
// several config.json entries, other readers the first; both are examined.
func TestDuplicateConfig(t *testing.T) {
	clean, err := os.ReadFile("../../../format/keras/testdata/keras3_sequential.json")
	if err != nil {
		t.Fatal(err)
	}
	evil, err := os.ReadFile("../../../format/keras/testdata/keras3_lambda.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, order := range map[string][][]byte{"evil-last": {clean, evil}, "evil-first": {evil, clean}} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			for _, c := range order {
				w, err := zw.Create("config.json")
				if err != nil {
					t.Fatal(err)
				}
				w.Write(c)
			}
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			s := scanBytes(t, buf.Bytes(), format.Keras)
			if got := maxSev(s); got != mlsec.SeverityCritical {
				t.Errorf("max severity %v, want critical: %v", got, s.findings)
			}
		})
	}
}

// Keras's loader reads config.json without metadata.json: archives of Keras
// members only are Keras; a root config.json among other files (a zipped
// Hugging Face repository) is a plain zip.
func TestDetectWithoutMetadata(t *testing.T) {
	tests := []struct {
		names []string
		want  format.Kind
	}{
		{[]string{"config.json"}, format.Keras},
		{[]string{"config.json", "model.weights.h5"}, format.Keras},
		{[]string{"config.json", "assets/vocab.txt"}, format.Keras},
		{[]string{"config.json", "metadata.json", "extra.bin"}, format.Keras},
		{[]string{"config.json", "model.safetensors", "tokenizer.json"}, format.Zip},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, n := range tt.names {
			w, err := zw.Create(n)
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte("{}"))
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		k, err := format.Detect(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil || k != tt.want {
			t.Errorf("%v: detected %q (%v), want %q", tt.names, k, err, tt.want)
		}
	}
}
