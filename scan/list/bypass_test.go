package list_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/list"
)

// bypassDirs hold the issue 11 bypass fixtures, each written by a script
// beside it with the real libraries and checked to load (or to reach the
// loader's dangerous path) there. Every file must fail a default scan at the
// severity its directory names; files named benign_* must stay low.
var bypassDirs = []struct {
	dir  string
	want mlsec.Severity
}{
	{"../detector/pickle/testdata/bypass", mlsec.SeverityCritical},
	{"../detector/joblib/testdata/bypass", mlsec.SeverityHigh},
	{"../detector/numpy/testdata/bypass", mlsec.SeverityCritical},
}

// notAnalysed are the fixtures whose verdict must be not-analysed, with
// the limit named.
var notAnalysed = map[string]string{
	"lzma_big_dict.joblib": "lzma_dictionary",
	"xz_big_dict.joblib":   "",
	"deep_if.onnx":         "onnx_limits",
	"deep_config.h5":       "keras_config",
	"deep_config.keras":    "keras_config",
}

func scanPath(t *testing.T, r *scan.Runner, path string) scan.Artifact {
	t.Helper()
	res, err := r.Scan(context.Background(), []string{path})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Artifacts) != 1 {
		t.Fatalf("%s: %d artifacts", path, len(res.Artifacts))
	}
	return res.Artifacts[0]
}

func describe(a scan.Artifact) string {
	var s []string
	for _, f := range a.Findings {
		s = append(s, "  "+f.RuleID+"/"+f.Severity.String()+"@"+f.Location.Member+": "+f.Message)
	}
	sort.Strings(s)
	return "format " + string(a.Format) + " status " + string(a.Status) + " " + a.Reason + "\n" + strings.Join(s, "\n")
}

// TestBypassFixtures scans every issue 11 bypass fixture through the full
// detector list at default settings.
func TestBypassFixtures(t *testing.T) {
	ds, err := list.All(scan.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	r := scan.NewRunner(ds, scan.DefaultConfig(), scan.Options{})
	for _, bd := range bypassDirs {
		entries, err := os.ReadDir(bd.dir)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || strings.HasSuffix(name, ".py") || name == "SHA256SUMS" {
				continue
			}
			n++
			t.Run(filepath.Base(bd.dir)+"/"+name, func(t *testing.T) {
				a := scanPath(t, r, filepath.Join(bd.dir, name))
				if strings.HasPrefix(name, "benign_") {
					// the same construction with benign content stays low
					if a.Verdict != scan.VerdictAnalysed {
						t.Errorf("verdict %s, want analysed:\n%s", a.Verdict, describe(a))
					}
					if got := mlsec.MaxSeverity(a.Findings); got > mlsec.SeverityLow {
						t.Errorf("max severity %s, want low at most:\n%s", got, describe(a))
					}
					return
				}
				if limit, ok := notAnalysed[name]; ok {
					if a.Verdict != scan.VerdictNotAnalysed || (limit != "" && a.Limit != limit) {
						t.Errorf("verdict %s limit %q, want not-analysed %q:\n%s", a.Verdict, a.Limit, limit, describe(a))
					}
				} else if a.Verdict != scan.VerdictAnalysed {
					t.Errorf("verdict %s, want analysed:\n%s", a.Verdict, describe(a))
				}
				if got := mlsec.MaxSeverity(a.Findings); got < bd.want {
					t.Errorf("max severity %s, want %s:\n%s", got, bd.want, describe(a))
				}
			})
		}
		if n == 0 {
			t.Errorf("%s: no fixtures", bd.dir)
		}
	}
}
