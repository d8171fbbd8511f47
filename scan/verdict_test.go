package scan_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/scan"
)

var declRules = scan.MustParseRules([]byte(`
rules:
  - id: DECL-001
    severity: medium
    title: own limit finding
    remediation: none
    not_analysed: true
    limit: decl_cap
    mappings: [{framework: owasp-ml-2023, id: ML06}]
  - id: DECL-002
    severity: low
    title: ordinary finding
    remediation: none
    mappings: [{framework: owasp-ml-2023, id: ML06}]
`))

// declarer declares its pickle input not analysed in the way the pickle
// says: "err:" returns a NotAnalysedError, "sink:" calls
// ReportNotAnalysed and goes on, "rule:" reports a not_analysed rule,
// "low:" reports an ordinary finding only.
type declarer struct{}

func (declarer) Name() string         { return "decl" }
func (declarer) Kinds() []format.Kind { return []format.Kind{format.Pickle} }
func (declarer) Rules() []scan.Rule   { return declRules }
func (declarer) Scan(ctx context.Context, in *scan.Input, s scan.Sink) error {
	b, err := io.ReadAll(io.NewSectionReader(in.R, 0, in.Size))
	if err != nil {
		return err
	}
	rs := scan.NewRuleSet(declRules)
	switch {
	case strings.Contains(string(b), "err:"):
		return fmt.Errorf("wrapped: %w", scan.NotAnalysed("dict_size", "dictionary too big"))
	case strings.Contains(string(b), "sink:"):
		scan.ReportNotAnalysed(s, "json_depth", "JSON nested too deep")
		s.Report(rs.Finding("DECL-002", "", "", -1))
	case strings.Contains(string(b), "rule:"):
		s.Report(rs.Finding("DECL-001", "stopped at the cap", "", -1))
	case strings.Contains(string(b), "low:"):
		s.Report(rs.Finding("DECL-002", "", "", -1))
	}
	return nil
}

func TestVerdicts(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content string
		cfg           string
		verdict       scan.Verdict
		limit, reason string
		rules         []string
		sev           mlsec.Severity // of the MLSEC-SCAN finding
	}{
		{name: "err", content: "err:", verdict: scan.VerdictNotAnalysed, limit: "dict_size", reason: "dictionary too big",
			rules: []string{scan.RuleLimit}, sev: mlsec.SeverityHigh},
		{name: "sink", content: "sink:", verdict: scan.VerdictNotAnalysed, limit: "json_depth", reason: "JSON nested too deep",
			rules: []string{"DECL-002", scan.RuleLimit}, sev: mlsec.SeverityHigh},
		{name: "rule", content: "rule:", verdict: scan.VerdictNotAnalysed, limit: "decl_cap", reason: "stopped at the cap",
			rules: []string{"DECL-001", scan.RuleLimit}, sev: mlsec.SeverityHigh},
		{name: "low", content: "low:", verdict: scan.VerdictAnalysed, rules: []string{"DECL-002"}},
		{name: "clean", content: "hello", verdict: scan.VerdictAnalysed},
		{name: "unknown", content: "\x00\x01\x02\x03 not anything", verdict: scan.VerdictNotAnalysed,
			reason: "not a recognised", rules: []string{scan.RuleNotRecognised}, sev: mlsec.SeverityHigh},
		{name: "lowered", content: "err:", cfg: "not_analysed_severity: medium\n", verdict: scan.VerdictNotAnalysed,
			limit: "dict_size", rules: []string{scan.RuleLimit}, sev: mlsec.SeverityMedium},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.content)
			if tc.name != "unknown" {
				data = pickleBytes(tc.content)
			}
			p := write(t, dir, tc.name+".bin", data)
			cfg, err := scan.ParseConfig([]byte(tc.cfg))
			if err != nil {
				t.Fatal(err)
			}
			res, err := scan.NewRunner([]scan.Detector{declarer{}}, cfg, scan.Options{}).Scan(context.Background(), []string{p})
			if err != nil {
				t.Fatal(err)
			}
			a := res.Artifacts[0]
			if a.Verdict != tc.verdict || a.Limit != tc.limit || !strings.Contains(a.Reason, tc.reason) {
				t.Errorf("verdict = %s, limit %q, reason %q; want %s, %q, ~%q", a.Verdict, a.Limit, a.Reason, tc.verdict, tc.limit, tc.reason)
			}
			var got []string
			for _, f := range a.Findings {
				got = append(got, f.RuleID)
				if strings.HasPrefix(f.RuleID, "MLSEC-SCAN-") {
					if f.Severity != tc.sev {
						t.Errorf("%s severity = %s, want %s", f.RuleID, f.Severity, tc.sev)
					}
					if tc.limit != "" && !strings.Contains(f.Message, tc.limit) {
						t.Errorf("%s message %q does not name the limit %q", f.RuleID, f.Message, tc.limit)
					}
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.rules, ",") {
				t.Errorf("rules = %v, want %v", got, tc.rules)
			}
		})
	}
}

func TestNotAnalysedError(t *testing.T) {
	err := scan.NotAnalysedf("max_ratio", "member %s inflates %dx: %w", "a.bin", 900, io.ErrUnexpectedEOF)
	var na *scan.NotAnalysedError
	if !errors.As(err, &na) || na.Limit != "max_ratio" || !strings.Contains(na.Reason, "inflates 900x") {
		t.Fatalf("NotAnalysedf = %#v", err)
	}
	if !strings.Contains(err.Error(), "(limit max_ratio)") {
		t.Errorf("Error() = %q", err.Error())
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cause lost")
	}
}

// TestSymlinkVerdicts: a link leaving the scanned tree is a high
// MLSEC-SCAN-004 and its target is scanned under the link's path; a link
// that cannot be followed to a file is not analysed; a link to a directory
// inside the tree is inert (the directory is scanned where it is).
func TestSymlinkVerdicts(t *testing.T) {
	outside := t.TempDir()
	write(t, outside, "evil.pkl", pickleBytes("evil"))
	if err := os.MkdirAll(filepath.Join(outside, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write(t, dir, "in/real.pkl", pickleBytes("hello"))
	for name, target := range map[string]string{
		"escape.pkl": filepath.Join(outside, "evil.pkl"),
		"escape_dir": filepath.Join(outside, "sub"),
		"dangling":   filepath.Join(dir, "missing"),
		"inner_dir":  filepath.Join(dir, "in"),
	} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Skip("symlinks unsupported:", err)
		}
	}
	res, err := scan.NewRunner([]scan.Detector{picklish{}}, scan.DefaultConfig(), scan.Options{}).Scan(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		Verdict scan.Verdict
		Rules   string
	}
	want := map[string]got{
		"escape.pkl": {scan.VerdictAnalysed, "MLSEC-SCAN-004:high FAKE-001:critical"},
		"escape_dir": {scan.VerdictNotAnalysed, "MLSEC-SCAN-004:high MLSEC-SCAN-005:high"},
		"dangling":   {scan.VerdictNotAnalysed, "MLSEC-SCAN-004:high MLSEC-SCAN-005:high"},
		"inner_dir":  {scan.VerdictInert, ""},
		"real.pkl":   {scan.VerdictAnalysed, ""},
	}
	for _, a := range res.Artifacts {
		var rules []string
		for _, f := range a.Findings {
			rules = append(rules, f.RuleID+":"+f.Severity.String())
		}
		g := got{a.Verdict, strings.Join(rules, " ")}
		if w, ok := want[filepath.Base(a.Path)]; !ok || g != w {
			t.Errorf("%s: %+v, want %+v", filepath.Base(a.Path), g, w)
		}
		delete(want, filepath.Base(a.Path))
	}
	if len(want) > 0 {
		t.Errorf("not reported: %v", want)
	}
}

// blocker waits for its context to end, as a detector stuck on hostile
// input would (detectors check ctx in their loops).
type blocker struct{}

func (blocker) Name() string         { return "blocker" }
func (blocker) Kinds() []format.Kind { return []format.Kind{format.Pickle} }
func (blocker) Rules() []scan.Rule   { return nil }
func (blocker) Scan(ctx context.Context, in *scan.Input, s scan.Sink) error {
	<-ctx.Done()
	return nil // even a detector that swallows the error ends not analysed
}

// TestTimeoutNotAnalysed: an artifact whose scan outlives max_file_seconds
// is not analysed, limit "timeout"; the run itself goes on.
func TestTimeoutNotAnalysed(t *testing.T) {
	p := write(t, t.TempDir(), "slow.pkl", pickleBytes("x"))
	cfg, err := scan.ParseConfig([]byte("limits: {max_file_seconds: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := scan.NewRunner([]scan.Detector{blocker{}}, cfg, scan.Options{}).Scan(context.Background(), []string{p})
	if err != nil {
		t.Fatal(err)
	}
	a := res.Artifacts[0]
	if a.Verdict != scan.VerdictNotAnalysed || a.Limit != scan.LimitTimeout || len(a.Findings) != 1 || a.Findings[0].RuleID != scan.RuleLimit {
		t.Errorf("artifact = %+v, want not-analysed, limit timeout, one %s", a, scan.RuleLimit)
	}
}
