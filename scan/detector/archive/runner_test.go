package archive

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/internal/sinktest"
	pickledet "github.com/mlsecops/mlsec/scan/detector/pickle"
	zipdet "github.com/mlsecops/mlsec/scan/detector/zip"
)

// stubPickle stands in for the pickle detector: it flags a pickle that
// imports posix.system, which is enough to prove the runner reached the
// pickle through the archive layers.
type stubPickle struct{}

func (stubPickle) Name() string         { return "stub-pickle" }
func (stubPickle) Kinds() []format.Kind { return []format.Kind{format.Pickle} }
func (stubPickle) Rules() []scan.Rule   { return nil }
func (stubPickle) Scan(ctx context.Context, in *scan.Input, s scan.Sink) error {
	b := make([]byte, min(in.Size, 1<<16))
	in.R.ReadAt(b, 0)
	if bytes.Contains(b, []byte("cposix\nsystem\n")) {
		s.Report(mlsec.Finding{RuleID: "STUB-PICKLE", Severity: mlsec.SeverityCritical, Subject: "posix.system", Location: mlsec.Location{Offset: 0}})
	}
	return nil
}

// TestNullifAIThroughRunner scans a 7z-wrapped PyTorch checkpoint, and the
// same checkpoint inside a zip inside a tar.gz inside a 7z, with the real
// runner: the pickle's finding must surface with the full member path.
func TestNullifAIThroughRunner(t *testing.T) {
	evil := "cposix\nsystem\n(S'id'\ntR."
	ckpt := torchZip(t, evil)
	nested := write7z([]szFile{{name: "bundle.tar.gz", data: gz(t, makeTar(t, []tarEntry{
		{name: "models/ckpt.pt", typ: '0', data: string(ckpt)},
	}))}})
	dir := t.TempDir()
	files := map[string][]byte{
		"nullifai.7z": write7z([]szFile{{name: "pytorch_model.bin", data: ckpt}}),
		"nested.7z":   nested,
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ad, _ := New(scan.DefaultConfig())
	zd := sinktest.Detector(t, zipdet.New)
	r := scan.NewRunner([]scan.Detector{ad, zd, stubPickle{}}, scan.DefaultConfig(), scan.Options{Workers: 1})
	res, err := r.Scan(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, a := range res.Artifacts {
		for _, f := range a.Findings {
			got[filepath.Base(a.Path)] = append(got[filepath.Base(a.Path)], f.RuleID+" "+f.Location.Member)
		}
	}
	want := map[string][]string{
		// The 7z stores the checkpoint uncompressed, so zipfile also opens
		// nullifai.7z by the zip's end of central directory: a polyglot,
		// analysed as both (the zip analysis finds the pickle too).
		"nullifai.7z": {"MLSEC-SCAN-006 ", "STUB-PICKLE pytorch_model.bin!archive/data.pkl", "ARCHIVE-004 [prepended]",
			"MLSEC-SCAN-001 [prepended]", "STUB-PICKLE archive/data.pkl", "ZIP-012 ", "ZIP-003 "},
		"nested.7z": {"STUB-PICKLE bundle.tar.gz!models/ckpt.pt!archive/data.pkl"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

// TestNullifAIRealPickle runs the same 7z-wrapped checkpoint through the
// real pickle detector: the archive must end in a critical finding on
// posix.system at the pickle member.
func TestNullifAIRealPickle(t *testing.T) {
	ckpt := torchZip(t, "cposix\nsystem\n(S'id'\ntR.")
	dir := t.TempDir()
	p := filepath.Join(dir, "model.7z")
	if err := os.WriteFile(p, write7z([]szFile{{name: "pytorch_model.bin", data: ckpt}}), 0o644); err != nil {
		t.Fatal(err)
	}
	ds := realDetectors(t)
	res, err := scan.NewRunner(ds, scan.DefaultConfig(), scan.Options{Workers: 1}).Scan(context.Background(), []string{p})
	if err != nil {
		t.Fatal(err)
	}
	var hit bool
	for _, f := range res.Findings() {
		if f.Severity == mlsec.SeverityCritical && f.Location.Member == "pytorch_model.bin!archive/data.pkl" && strings.Contains(f.Subject, "system") {
			hit = true
		}
	}
	if !hit {
		t.Errorf("no critical posix.system finding at pytorch_model.bin!archive/data.pkl: %+v", res.Findings())
	}
}

// realDetectors returns the archive, zip and pickle detectors.
func realDetectors(t *testing.T) []scan.Detector {
	t.Helper()
	return []scan.Detector{sinktest.Detector(t, New), sinktest.Detector(t, zipdet.New), sinktest.Detector(t, pickledet.New)}
}

// TestRealSevenZip scans 7z archives made by 7-Zip around checkpoints made
// by torch.save (format/archive/testdata/gen.sh) with the real detectors.
func TestRealSevenZip(t *testing.T) {
	ds := realDetectors(t)
	r := scan.NewRunner(ds, scan.DefaultConfig(), scan.Options{Workers: 1})
	for _, tc := range []struct {
		file string
		want mlsec.Severity
	}{
		{"benign_torch.7z", mlsec.SeverityNone},
		{"nullifai_torch.7z", mlsec.SeverityCritical},
	} {
		res, err := r.Scan(context.Background(), []string{filepath.Join(fixtures, tc.file)})
		if err != nil {
			t.Fatal(err)
		}
		fs := res.Findings()
		got := mlsec.MaxSeverity(fs)
		if got <= mlsec.SeverityLow && tc.want == mlsec.SeverityNone {
			got = mlsec.SeverityNone // info notes from the zip reader (zip64) are fine
		}
		if got != tc.want {
			t.Errorf("%s: max severity %v, want %v: %+v", tc.file, got, tc.want, fs)
		}
		if tc.want == mlsec.SeverityCritical {
			var members []string
			for _, f := range fs {
				if f.Severity == mlsec.SeverityCritical {
					members = append(members, f.Location.Member+" "+f.Subject)
				}
			}
			if len(members) == 0 || !strings.HasPrefix(members[0], "evil.pt!") || !strings.Contains(members[0], "system") {
				t.Errorf("%s: critical findings %v, want evil.pt!…/data.pkl os.system", tc.file, members)
			}
		}
	}
}
