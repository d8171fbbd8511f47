package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// TestFile is a policy test file (NAME_test.yaml beside NAME.yaml): cases
// of evidence with the expected gate result and, optionally, the expected
// result of individual rules.
type TestFile struct {
	// Policy is the policy file, relative to the test file, or "builtin:NAME".
	Policy string `yaml:"policy"`
	// Stage is the stage the policy is evaluated for (default: the policy's).
	Stage string `yaml:"stage"`
	// Params override the policy's parameters for every case.
	Params map[string]any `yaml:"params"`
	Cases  []TestCase     `yaml:"cases"`
}

// TestCase is one evidence document and what the policy must decide.
type TestCase struct {
	Name string `yaml:"name"`
	// Evidence is written like the evidence document's JSON (docs/policy.md);
	// unknown fields are errors.
	Evidence map[string]any `yaml:"evidence"`
	// Params override the file's params for this case.
	Params map[string]any    `yaml:"params"`
	Want   Result            `yaml:"want"`
	Rules  map[string]Result `yaml:"rules"`
}

// CaseResult is the outcome of one test case.
type CaseResult struct {
	File   string   `json:"file"`
	Case   string   `json:"case"`
	OK     bool     `json:"ok"`
	Got    Result   `json:"got"`
	Want   Result   `json:"want"`
	Errors []string `json:"errors,omitempty"`
}

// RunTests runs every *_test.yaml file under root in fsys. A test file that
// cannot be read, a policy that does not compile or a case whose evidence
// is malformed is an error (returned), not a failed case.
func (e *Engine) RunTests(fsys fs.FS, root string) ([]CaseResult, error) {
	return e.runTests(fsys, root, "")
}

// RunTestsDir runs every *_test.yaml file under the directory dir, like
// RunTests, naming files in results and errors by their path from the
// current directory (dir joined with the file), so a position such as
// "policies/release.yaml:12:9" can be opened as printed.
func (e *Engine) RunTestsDir(dir string) ([]CaseResult, error) {
	return e.runTests(os.DirFS(dir), ".", dir)
}

// runTests runs the tests under root in fsys; display, when not empty, is
// the directory prepended to file names in results and errors.
func (e *Engine) runTests(fsys fs.FS, root, display string) ([]CaseResult, error) {
	var files []string
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, "_test.yaml") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	name := func(p string) string {
		if display == "" {
			return p
		}
		return filepath.Join(display, filepath.FromSlash(p))
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: no *_test.yaml files under %s", ErrInvalid, name(root))
	}
	sort.Strings(files)
	var out []CaseResult
	for _, f := range files {
		rs, err := e.runTestFile(fsys, f, name)
		if err != nil {
			return out, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

func (e *Engine) runTestFile(fsys fs.FS, fsFile string, name func(string) string) ([]CaseResult, error) {
	file := name(fsFile)
	data, err := fs.ReadFile(fsys, fsFile)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	var tf TestFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&tf); err != nil {
		return nil, yamlError(file, err)
	}
	polRef := tf.Policy
	if polRef == "" {
		polRef = strings.TrimSuffix(path.Base(fsFile), "_test.yaml") + ".yaml"
	}
	var p *Policy
	if bn, ok := strings.CutPrefix(polRef, BuiltinPrefix); ok {
		p, err = e.Builtin(bn)
	} else {
		pf := path.Join(path.Dir(fsFile), polRef)
		var pd []byte
		if pd, err = fs.ReadFile(fsys, pf); err == nil {
			p, err = e.Parse(name(pf), pd)
		} else {
			err = fmt.Errorf("%w: %s: policy %s: %v", ErrInvalid, file, polRef, err)
		}
	}
	if err != nil {
		return nil, err
	}
	if len(tf.Cases) == 0 {
		return nil, fmt.Errorf("%w: %s has no cases", ErrInvalid, file)
	}
	stage := tf.Stage
	if stage == "" {
		stage = p.Stage
	}
	var out []CaseResult
	for i, c := range tf.Cases {
		params := map[string]any{}
		for k, v := range tf.Params {
			params[k] = v
		}
		for k, v := range c.Params {
			params[k] = v
		}
		g, err := NewGate(stage, []*Policy{p}, params)
		if err != nil {
			return nil, fmt.Errorf("%s: case %d (%s): %w", file, i+1, c.Name, err)
		}
		ev, err := DecodeEvidence(c.Evidence)
		if err != nil {
			return nil, fmt.Errorf("%s: case %d (%s): %w", file, i+1, c.Name, err)
		}
		if ev.Stage == "" {
			ev.Stage = stage
		}
		d := g.Evaluate(ev)
		cr := CaseResult{File: file, Case: c.Name, Got: d.Result, Want: c.Want, OK: true}
		if c.Want == "" {
			return nil, fmt.Errorf("%w: %s: case %d (%s) has no want", ErrInvalid, file, i+1, c.Name)
		}
		if d.Result != c.Want {
			cr.OK = false
			cr.Errors = append(cr.Errors, fmt.Sprintf("gate: got %s, want %s", d.Result, c.Want))
		}
		got := map[string]RuleResult{}
		for _, r := range d.Rules {
			got[r.RuleID] = r
		}
		ids := make([]string, 0, len(c.Rules))
		for id := range c.Rules {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			r, ok := got[id]
			switch {
			case !ok:
				return nil, fmt.Errorf("%w: %s: case %d (%s): no rule %s in %s", ErrInvalid, file, i+1, c.Name, id, p.Name)
			case r.Result != c.Rules[id]:
				cr.OK = false
				cr.Errors = append(cr.Errors, fmt.Sprintf("%s: got %s (%s), want %s", id, r.Result, r.Reason, c.Rules[id]))
			}
		}
		out = append(out, cr)
	}
	return out, nil
}

// DecodeEvidence turns a generic document (decoded YAML or JSON) into
// Evidence, rejecting unknown fields.
func DecodeEvidence(doc map[string]any) (*Evidence, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: evidence: %v", ErrInvalid, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var ev Evidence
	if err := dec.Decode(&ev); err != nil {
		return nil, fmt.Errorf("%w: evidence: %v", ErrInvalid, err)
	}
	if ev.Trust.State == "" {
		ev.Trust.State = "quarantined"
	}
	if ev.Decisions == nil {
		ev.Decisions = []PriorDecision{}
	}
	return &ev, nil
}
