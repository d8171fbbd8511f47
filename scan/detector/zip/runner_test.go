package zip_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format/zip/ziptest"
	"github.com/mlsecops/mlsec/scan"
	jobdet "github.com/mlsecops/mlsec/scan/detector/joblib"
	npydet "github.com/mlsecops/mlsec/scan/detector/numpy"
	pickledet "github.com/mlsecops/mlsec/scan/detector/pickle"
	torchdet "github.com/mlsecops/mlsec/scan/detector/torch"
	zipdet "github.com/mlsecops/mlsec/scan/detector/zip"
)

// runner builds a Runner with the container detectors and the pickle
// detector, as mlsec scan does.
func runner(t testing.TB, cfg scan.Config) *scan.Runner {
	t.Helper()
	var ds []scan.Detector
	for _, newDet := range []func(scan.Config) (scan.Detector, error){zipdet.New, npydet.New, jobdet.New, torchdet.New, pickledet.New} {
		d, err := newDet(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	return scan.NewRunner(ds, cfg, scan.Options{Workers: 1})
}

func scanBytes(t *testing.T, cfg scan.Config, name string, b []byte) scan.Artifact {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := runner(t, cfg).Scan(context.Background(), []string{p})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Artifacts) != 1 {
		t.Fatalf("%d artifacts", len(res.Artifacts))
	}
	return res.Artifacts[0]
}

// criticalAt reports whether a critical pickle finding was made in member.
func criticalAt(a scan.Artifact, member string) bool {
	for _, f := range a.Findings {
		if f.Severity == mlsec.SeverityCritical && f.Location.Member == member {
			return true
		}
	}
	return false
}

func summary(a scan.Artifact) string {
	var s []string
	for _, f := range a.Findings {
		s = append(s, f.RuleID+"/"+f.Severity.String()+"@"+f.Location.Member+": "+f.Message)
	}
	sort.Strings(s)
	return strings.Join(s, "\n")
}

func npyFile(descr string, payload []byte) []byte {
	h := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (1,), }"
	h += strings.Repeat(" ", 63-(10+len(h))%64) + "\n"
	b := binary.LittleEndian.AppendUint16([]byte("\x93NUMPY\x01\x00"), uint16(len(h)))
	return append(append(b, h...), payload...)
}

func zlibBytes(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// TestRunnerMalicious: every hiding technique ends in a critical pickle
// finding located in the member torch.load or numpy.load would read.
func TestRunnerMalicious(t *testing.T) {
	inner := ziptest.Archive{Files: []ziptest.File{{Name: "deep/evil.pkl", Data: evil, Method: 8}}}.Bytes()
	decoyed := append(append([]byte("X\xa0\x86\x01\x00"), bytes.Repeat([]byte("A"), 100_000)...), '0')
	decoyed = append(decoyed, evil...)
	tests := []struct {
		name   string
		file   []byte
		member string
		also   string // a further rule that must fire
	}{
		{"hidden name", ziptest.Archive{Files: []ziptest.File{{Name: "archive/data.pkl", Data: benign}, {Name: "archive/extra/evil.txt", Data: evil}}}.Bytes(), "archive/extra/evil.txt", ""},
		{"crc mismatch", ziptest.Archive{Files: []ziptest.File{{Name: "archive/data.pkl", Data: evil, BadCRC: true}}}.Bytes(), "archive/data.pkl", zipdet.RuleCRC},
		{"name mismatch", ziptest.Archive{Files: []ziptest.File{{Name: "archive/data.pkl", LocalName: "archive/data.txt", Data: evil}}}.Bytes(), "archive/data.pkl", zipdet.RuleNameMismatch},
		{"encrypted flag", ziptest.Archive{Files: []ziptest.File{{Name: "archive/data.pkl", Data: evil, Flags: 1}}}.Bytes(), "archive/data.pkl", zipdet.RuleEncrypted},
		{"nested zip", ziptest.Archive{Files: []ziptest.File{{Name: "inner.zip", Data: inner, Method: 8}}}.Bytes(), "inner.zip!deep/evil.pkl", ""},
		{"npz object member", ziptest.Archive{Files: []ziptest.File{{Name: "x.npy", Data: npyFile("|O", evil), Method: 8}}}.Bytes(), "x.npy![pickle]", npydet.RuleObject},
		{"npy object", npyFile("|O", evil), "[pickle]", npydet.RuleObject},
		{"joblib zlib", zlibBytes(evil), "[decompressed]", ""},
		// a decoy string longer than the inflated head opens the pickle
		{"deflated data.pkl with a long decoy", ziptest.Archive{Files: []ziptest.File{{Name: "archive/data.pkl", Data: decoyed, Method: 8}}}.Bytes(), "archive/data.pkl", ""},
		{"stored member with a long decoy", ziptest.Archive{Files: []ziptest.File{{Name: "archive/extra/blob", Data: decoyed}}}.Bytes(), "archive/extra/blob", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := scanBytes(t, scan.DefaultConfig(), "model.bin", tt.file)
			if !criticalAt(a, tt.member) {
				t.Errorf("no critical finding at %q; format %s, status %s:\n%s", tt.member, a.Format, a.Status, summary(a))
			}
			if tt.also != "" && !strings.Contains(summary(a), tt.also+"/") {
				t.Errorf("rule %s did not fire:\n%s", tt.also, summary(a))
			}
		})
	}
}

// TestRunnerPrepended: a pickle prepended to a zip is what torch.load reads
// first; Detect sees a pickle, and the pickle detector judges it.
func TestRunnerPrepended(t *testing.T) {
	b := ziptest.Archive{Prepend: []byte("garbage!"), Files: []ziptest.File{{Name: "a/data.pkl", Data: evil}}}.Bytes()
	a := scanBytes(t, scan.DefaultConfig(), "m.pt", b)
	if !strings.Contains(summary(a), zipdet.RulePrepended+"/high") || !criticalAt(a, "a/data.pkl") {
		t.Errorf("format %s:\n%s", a.Format, summary(a))
	}
}

// TestRunnerBomb: a nested-zip bomb ends in a finding within the caps.
func TestRunnerBomb(t *testing.T) {
	layer := ziptest.Archive{Files: []ziptest.File{{Name: "z.pkl", Data: append([]byte("\x80\x02X"), make([]byte, 16<<20)...), Method: 8}}}.Bytes()
	for range 3 {
		layer = ziptest.Archive{Files: []ziptest.File{{Name: "l.zip", Data: layer, Method: 8}, {Name: "m.zip", Data: layer, Method: 8}}}.Bytes()
	}
	a := scanBytes(t, scan.DefaultConfig(), "bomb.zip", layer)
	if !strings.Contains(summary(a), zipdet.RuleBomb+"/high") {
		t.Errorf("no bomb finding:\n%s", summary(a))
	}
}

// TestRunnerBenign: the fixtures written by torch, numpy and joblib raise
// nothing at or above medium through the whole pipeline.
func TestRunnerBenign(t *testing.T) {
	var paths []string
	for _, g := range []string{"testdata/*.pt", "testdata/*.npz", "testdata/*.zip", "../numpy/testdata/*.npy", "../joblib/testdata/*.joblib", "../torch/testdata/*.tar"} {
		m, _ := filepath.Glob(g)
		paths = append(paths, m...)
	}
	if len(paths) < 12 {
		t.Fatalf("only %d fixtures", len(paths))
	}
	res, err := runner(t, scan.DefaultConfig()).Scan(context.Background(), paths)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range res.Artifacts {
		if a.Status != scan.StatusScanned {
			t.Errorf("%s: %s %s (%s)", a.Path, a.Format, a.Status, a.Reason)
		}
		for _, f := range a.Findings {
			if f.Severity >= mlsec.SeverityMedium {
				t.Errorf("%s: %s %s at %q: %s", a.Path, f.RuleID, f.Severity, f.Location.Member, f.Message)
			}
		}
	}
}
