package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/taxonomy"
)

func newEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestBuiltinPolicies runs every built-in policy's test file and checks
// that each policy has passing and failing cases.
func TestBuiltinPolicies(t *testing.T) {
	e := newEngine(t)
	res, err := e.RunTests(BuiltinFS(), "builtin")
	if err != nil {
		t.Fatal(err)
	}
	results := map[string]map[Result]bool{}
	for _, r := range res {
		if !r.OK {
			t.Errorf("%s: %s: %s", r.File, r.Case, strings.Join(r.Errors, "; "))
		}
		if results[r.File] == nil {
			results[r.File] = map[Result]bool{}
		}
		results[r.File][r.Got] = true
	}
	for _, name := range BuiltinNames() {
		f := "builtin/" + name + "_test.yaml"
		if !results[f][Pass] || !results[f][Fail] {
			t.Errorf("%s: want at least one passing and one failing case, got %v", f, results[f])
		}
	}
	for _, st := range lifecycle.StageNames() {
		p, err := e.Builtin(st)
		if err != nil {
			t.Errorf("stage %s has no built-in policy: %v", st, err)
			continue
		}
		if p.Stage != st {
			t.Errorf("builtin %s gates stage %q", st, p.Stage)
		}
	}
}

// TestBuiltinMappings fails on a mapping to an unknown framework id.
func TestBuiltinMappings(t *testing.T) {
	e := newEngine(t)
	cat, err := taxonomy.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range BuiltinNames() {
		p, err := e.Builtin(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Rules {
			if len(r.Mappings) == 0 {
				t.Errorf("%s %s: no mappings", name, r.ID)
			}
			if err := cat.ValidateAll(r.Mappings); err != nil {
				t.Errorf("%s %s: %v", name, r.ID, err)
			}
		}
	}
}

func TestParseErrorsHavePositions(t *testing.T) {
	e := newEngine(t)
	head := "apiVersion: mlsec.dev/policy/v1\nname: t\nversion: 1.0.0\n"
	tests := []struct {
		name, body string
		want       []string
	}{
		{"unknown field", "rules:\n  - id: A\n    title: a\n    expr: scan.max_rnk < 3\n",
			[]string{"t.yaml:7:15: rule A: undefined field 'max_rnk'"}},
		{"unknown section", "rules:\n  - id: A\n    title: a\n    expr: scans.present\n",
			[]string{"t.yaml:7:11: rule A: undeclared reference to 'scans'"}},
		{"non-boolean", "rules:\n  - id: A\n    title: a\n    expr: scan.max_severity\n",
			[]string{"t.yaml:7:11: rule A: expression returns string, want bool"}},
		{"syntax error in block", "rules:\n  - id: A\n    title: a\n    expr: |\n      scan.present &&\n        signature.identty == \"x\"\n",
			[]string{"t.yaml:9:18: rule A: undefined field 'identty'"}},
		{"quoted", "rules:\n  - id: A\n    title: a\n    expr: \"scan.findings +\"\n",
			[]string{"t.yaml:7:27: rule A: Syntax error"}},
		{"unknown param", "rules:\n  - id: A\n    title: a\n    expr: params.nope == 1\n",
			[]string{"t.yaml:7:11: rule A: undeclared reference to 'params'"}},
		{"bad on_fail", "rules:\n  - id: A\n    title: a\n    expr: scan.present\n    on_fail: maybe\n",
			[]string{"t.yaml:8:14: rule A: on_fail: \"maybe\": want fail or warn"}},
		{"duplicate id", "rules:\n  - id: A\n    title: a\n    expr: scan.present\n  - id: A\n    title: b\n    expr: scan.present\n",
			[]string{"t.yaml:8:9: duplicate rule id \"A\""}},
		{"unknown policy field", "rulez: []\n", []string{"t.yaml:4:1: field rulez not found"}},
		{"unknown mapping id", "rules:\n  - id: A\n    title: a\n    expr: scan.present\n    mappings:\n      - {framework: owasp-ml-2023, id: ML6}\n      - {framework: owasp-ml-2021, id: ML06}\n",
			[]string{`t.yaml:9:9: rule A: mapping: unknown id "ML6" in framework "owasp-ml-2023"`,
				`t.yaml:10:9: rule A: mapping: unknown framework "owasp-ml-2021"`}},
		{"bad explain", "rules:\n  - id: A\n    title: a\n    expr: scan.present\n    explain: scan.findings\n",
			[]string{"t.yaml:8:14: rule A: explain returns int, want string"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Parse("t.yaml", []byte(head+tt.body))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%s\nwant it to contain\n%s", err, w)
				}
			}
		})
	}
}

func TestMissingEvidenceNeverPasses(t *testing.T) {
	e := newEngine(t)
	p, err := e.Parse("t.yaml", []byte(`apiVersion: mlsec.dev/policy/v1
name: t
version: "1"
rules:
  - id: NEG
    title: provenance not from a bad builder
    expr: provenance.builder_id != "bad"
  - id: WARNMISS
    title: bom
    expr: bom.verified
    on_missing: warn
  - id: OPT
    title: optional bom
    expr: '!bom.present || bom.verified'
    optional: [bom]
`))
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGate("ci", []*Policy{p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := g.Evaluate(&Evidence{Stage: "ci"})
	got := map[string]string{}
	for _, r := range d.Rules {
		got[r.RuleID] = string(r.Result) + " " + r.Reason
	}
	want := map[string]string{
		"NEG":      "FAIL missing evidence: provenance (no provenance attestation in the claims)",
		"WARNMISS": "WARN missing evidence: bom (no AI-BOM in the claims)",
		"OPT":      "PASS optional bom",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	if d.Result != Fail {
		t.Errorf("gate %s, want FAIL", d.Result)
	}
}

func TestBindParams(t *testing.T) {
	e := newEngine(t)
	p, err := e.Builtin("experimentation")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewGate("experimentation", []*Policy{p}, map[string]any{"fail_on": 3}); !errors.Is(err, ErrInvalid) {
		t.Errorf("int for a string parameter: err %v, want ErrInvalid", err)
	}
	if _, err := NewGate("experimentation", []*Policy{p}, map[string]any{"allowed_identities": []any{"a", 1}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("mixed list: err %v, want ErrInvalid", err)
	}
	if _, err := NewGate("cd", []*Policy{p}, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("wrong stage: err %v, want ErrInvalid", err)
	}
}

func TestPolicyTestFailures(t *testing.T) {
	e := newEngine(t)
	fsys := mapFS{
		"p/x.yaml":      "apiVersion: mlsec.dev/policy/v1\nname: x\nversion: '1'\nrules:\n  - {id: A, title: a, expr: scan.present}\n",
		"p/x_test.yaml": "cases:\n  - name: wrong expectation\n    evidence: {scan: {present: true}}\n    want: FAIL\n",
	}
	res, err := e.RunTests(fsys, "p")
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].OK || res[0].Got != Pass {
		t.Errorf("got %+v, want one failed case that got PASS", res)
	}
	fsys["p/x_test.yaml"] = "cases:\n  - name: typo\n    evidence: {scan: {presnt: true}}\n    want: PASS\n"
	if _, err := e.RunTests(fsys, "p"); err == nil || !strings.Contains(err.Error(), "presnt") {
		t.Errorf("unknown evidence field: err %v", err)
	}
}

func TestStageGatePipelineParams(t *testing.T) {
	e := newEngine(t)
	src := "apiVersion: mlsec.dev/pipeline/v1\nstages:\n  cd:\n    params:\n      approver_roles: [platform]\n      aprover_roles: [grc]\n      fail_on: 3\n"
	pl, err := lifecycle.ParsePipeline("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.StageGate("cd", pl, "")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`p.yaml:6:22: stage cd: parameter "aprover_roles" is not declared by any of its policies`,
		`p.yaml:7:16: stage cd: policy: invalid policy: builtin/cd parameter fail_on: got int64, want string`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error\n%v\nwant %q", err, want)
		}
	}
	if _, err := e.StageGate("experimentation", pl, ""); err != nil {
		t.Errorf("other stage: %v", err)
	}
}

// TestBuiltinRulesHaveFailingCases: every rule of every built-in policy is
// asserted FAIL or WARN by at least one case of its test file, so no rule
// ships without evidence that makes it bite.
func TestBuiltinRulesHaveFailingCases(t *testing.T) {
	e := newEngine(t)
	for _, name := range BuiltinNames() {
		p, err := e.Builtin(name)
		if err != nil {
			t.Fatal(err)
		}
		data, err := BuiltinFS().ReadFile("builtin/" + name + "_test.yaml")
		if err != nil {
			t.Fatal(err)
		}
		var tf TestFile
		if err := yaml.Unmarshal(data, &tf); err != nil {
			t.Fatal(err)
		}
		bites := map[string]bool{}
		for _, c := range tf.Cases {
			for id, r := range c.Rules {
				if r != Pass {
					bites[id] = true
				}
			}
		}
		for _, r := range p.Rules {
			if !bites[r.ID] {
				t.Errorf("%s: no case of builtin/%s_test.yaml asserts that %s fails or warns", name, name, r.ID)
			}
		}
	}
}

// TestRunTestsDirNamesFilesFromCWD: results and compile errors name files
// by their path from the current directory, as given, not relative to DIR.
func TestRunTestsDirNamesFilesFromCWD(t *testing.T) {
	e := newEngine(t)
	dir := filepath.Join(t.TempDir(), "policies")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("x.yaml", "apiVersion: mlsec.dev/policy/v1\nname: x\nversion: '1'\nrules:\n  - {id: A, title: a, expr: scan.present}\n")
	write("x_test.yaml", "cases:\n  - name: scanned\n    evidence: {scan: {present: true}}\n    want: PASS\n")
	res, err := e.RunTestsDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "x_test.yaml"); len(res) != 1 || res[0].File != want || !res[0].OK {
		t.Errorf("got %+v, want one passing case of %s", res, want)
	}
	write("x.yaml", "apiVersion: mlsec.dev/policy/v1\nname: x\nversion: '1'\nrules:\n  - id: A\n    title: a\n    expr: scan.presnt\n")
	_, err = e.RunTestsDir(dir)
	if want := filepath.Join(dir, "x.yaml") + ":7:15: rule A: undefined field 'presnt'"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err %v, want it to contain %q", err, want)
	}
	_, err = e.RunTestsDir(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "no *_test.yaml files under /") {
		t.Errorf("empty dir: err %v", err)
	}
}
