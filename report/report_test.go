package report_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/report"
	"github.com/mlsecops/mlsec/scan"
)

var update = flag.Bool("update", false, "rewrite golden files")

// sampleResult is a fixed scan result covering every artifact status, a
// nested member, offsets and mappings.
func sampleResult() *scan.Result {
	m := []mlsec.Mapping{{Framework: "owasp-ml-2023", ID: "ML06"}, {Framework: "mitre-atlas", ID: "AML.T0011.000"}}
	rules := scan.NewRuleSet([]scan.Rule{
		{ID: "T-CRIT", Severity: mlsec.SeverityCritical, Title: "Dangerous import", Description: "Imports a command runner.", Remediation: "Do not load it.", Mappings: m},
		{ID: "T-MED", Severity: mlsec.SeverityMedium, Title: "Corrupt stream", Description: "The stream ends early.", Remediation: "Get a clean copy.", Mappings: m},
		{ID: "T-NA", Severity: mlsec.SeverityHigh, Title: "File not analysed", Description: "Not analysed.", Remediation: "Do not load it.", Mappings: m},
	})
	return &scan.Result{
		Rules: rules,
		Artifacts: []scan.Artifact{
			{
				Path: "models/evil.pt", Format: format.PyTorchZip, Size: 1234, SHA256: strings.Repeat("ab", 32), Status: scan.StatusScanned, Verdict: scan.VerdictAnalysed,
				Members: []scan.Member{{Name: "archive/data.pkl", Format: format.Pickle, Size: 99, Status: scan.StatusScanned, Verdict: scan.VerdictAnalysed}},
				Findings: []mlsec.Finding{
					rules.Finding("T-CRIT", "imports os.system", "os.system", 17),
				},
			},
			{
				Path: "models/broken.pkl", Format: format.Pickle, Size: 10, Status: scan.StatusError, Verdict: scan.VerdictNotAnalysed,
				Reason: "pickle: stream ends early", Limit: "",
				Findings: []mlsec.Finding{rules.Finding("T-MED", "", "", 9), rules.Finding("T-NA", "not analysed: pickle: stream ends early", "", -1)},
			},
			{Path: "models/readme.txt", Format: format.Text, Size: 5, Status: scan.StatusSkipped, Verdict: scan.VerdictInert, Reason: "UTF-8 text (not a pickle program)"},
			{
				Path: "models/blob.bin", Format: format.Unknown, Size: 7, Status: scan.StatusSkipped, Verdict: scan.VerdictNotAnalysed,
				Reason:   "not a recognised model, archive or inert format",
				Findings: []mlsec.Finding{rules.Finding("T-NA", "not analysed: not a recognised model, archive or inert format", "", -1)},
			},
			{
				Path: "models/bomb.zip", Format: format.Zip, Size: 42, Status: scan.StatusScanned, Verdict: scan.VerdictNotAnalysed,
				Reason: "scan stopped: more than 10 container members", Limit: scan.LimitMaxMembers,
				Findings: []mlsec.Finding{rules.Finding("T-NA", "not analysed: scan stopped: more than 10 container members (limit max_members)", "", -1)},
			},
		},
	}
}

func fixPaths(res *scan.Result) *scan.Result {
	for i := range res.Artifacts {
		for j := range res.Artifacts[i].Findings {
			res.Artifacts[i].Findings[j].Path = res.Artifacts[i].Path
		}
	}
	res.Artifacts[0].Findings[0].Location.Member = "archive/data.pkl"
	return res
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer, *scan.Result) error
	}{
		{"scan.table.golden", func(b *bytes.Buffer, r *scan.Result) error { return report.WriteTable(b, r, true) }},
		{"scan.json.golden", func(b *bytes.Buffer, r *scan.Result) error { return report.WriteJSON(b, r) }},
		{"scan.sarif.golden", func(b *bytes.Buffer, r *scan.Result) error { return report.WriteSARIF(b, r) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b, fixPaths(sampleResult())); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, bytes.ReplaceAll(b.Bytes(), []byte(mlsec.Version), []byte("VERSION")))
		})
	}
}

func TestSummary(t *testing.T) {
	got := report.Summarize(fixPaths(sampleResult()))
	want := report.Summary{
		Artifacts: 5, Scanned: 2, Skipped: 2, Errors: 1, Analysed: 1, Inert: 1, NotAnalysed: 3, Findings: 5,
		BySeverity:  map[string]int{"critical": 1, "high": 3, "medium": 1, "low": 0, "info": 0},
		MaxSeverity: mlsec.SeverityCritical,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

// TestSARIFSchema validates the SARIF output, with and without findings,
// against the official SARIF 2.1.0 schema (testdata copy, OASIS).
func TestSARIFSchema(t *testing.T) {
	f, err := os.Open("testdata/sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("sarif.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("sarif.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, res := range map[string]*scan.Result{
		"findings": fixPaths(sampleResult()),
		"empty":    {},
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := report.WriteSARIF(&b, res); err != nil {
				t.Fatal(err)
			}
			v, err := jsonschema.UnmarshalJSON(&b)
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(v); err != nil {
				t.Errorf("SARIF does not validate: %v", err)
			}
		})
	}
	// A negative control: the schema must reject a log without runs.
	bad := map[string]any{"version": "2.1.0"}
	var v any
	raw, _ := json.Marshal(bad)
	_ = json.Unmarshal(raw, &v)
	if err := sch.Validate(v); err == nil {
		t.Error("schema accepted a SARIF log without runs; the validation test is not effective")
	}
}
