// Package policy judges the evidence gathered about an artifact at a
// lifecycle gate with CEL (cel.dev/cel-go) policies, and records the
// decision as an SLSA Verification Summary Attestation.
//
// A policy is a versioned YAML file of rules; each rule is a CEL expression
// over the typed Evidence document (see Evidence and docs/policy.md). A
// policy is compiled once, before anything is evaluated: an expression that
// does not parse, reads a field the evidence does not have, or does not
// return a bool, and a mapping to an unknown framework item, is rejected
// with its file, line and column. A rule that
// reads an absent evidence section fails (or warns) with a named reason; it
// never passes.
package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"
	"go.yaml.in/yaml/v3"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/taxonomy"
)

// APIVersion is the apiVersion of policy files.
const APIVersion = "mlsec.dev/policy/v1"

// Limits on policy input.
const (
	// MaxPolicySize bounds a policy or policy-test file.
	MaxPolicySize = 1 << 20
	// MaxRules bounds the rules of one policy.
	MaxRules = 1000
	// costLimit bounds the CEL evaluation cost of one rule.
	costLimit = 1_000_000
)

// Sentinel errors.
var (
	// ErrInvalid reports a policy that cannot be compiled: bad YAML, an
	// expression that does not parse or type-check, an unknown evidence
	// field, a non-boolean result, a bad parameter, a mapping to an unknown
	// framework item.
	ErrInvalid = errors.New("policy: invalid policy")
)

// Result is the outcome of one rule or one gate.
type Result string

// Results, in increasing order of severity.
const (
	Pass Result = "PASS"
	Warn Result = "WARN"
	Fail Result = "FAIL"
)

func (r Result) rank() int {
	switch r {
	case Warn:
		return 1
	case Fail:
		return 2
	}
	return 0
}

// PositionError is a policy error at a file position.
type PositionError struct {
	File         string
	Line, Column int
	Msg          string
}

func (e *PositionError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// Unwrap makes every position error an ErrInvalid.
func (e *PositionError) Unwrap() error { return ErrInvalid }

// Policy is a compiled policy.
type Policy struct {
	// Name and Version identify the policy; Stage is the stage it gates
	// ("" for any stage).
	Name        string
	Version     string
	Stage       string
	Description string
	// File is where it was read from ("builtin/NAME.yaml" for built-ins).
	File string
	// Digest is the sha256 of the file's bytes, recorded in the VSA.
	Digest string
	// Params are the parameter defaults.
	Params map[string]any
	Rules  []*Rule
}

// Rule is one compiled rule.
type Rule struct {
	ID          string
	Title       string
	Description string
	Remediation string
	Expr        string
	// OnFail is Fail or Warn: what a false expression gives.
	OnFail Result
	// OnMissing is Fail or Warn: what an absent section gives.
	OnMissing Result
	// Requires are the optional evidence sections the expression reads
	// that must be present for it to be evaluated.
	Requires []string
	Mappings []mlsec.Mapping
	Line     int

	prg     cel.Program
	explain cel.Program
}

type ruleYAML struct {
	ID          string          `yaml:"id"`
	Title       string          `yaml:"title"`
	Description string          `yaml:"description"`
	Remediation string          `yaml:"remediation"`
	Expr        string          `yaml:"expr"`
	Explain     string          `yaml:"explain"`
	OnFail      string          `yaml:"on_fail"`
	OnMissing   string          `yaml:"on_missing"`
	Optional    []string        `yaml:"optional"`
	Mappings    []mlsec.Mapping `yaml:"mappings"`
}

type policyYAML struct {
	APIVersion  string         `yaml:"apiVersion"`
	Name        string         `yaml:"name"`
	Version     string         `yaml:"version"`
	Stage       string         `yaml:"stage"`
	Description string         `yaml:"description"`
	Params      map[string]any `yaml:"params"`
	Rules       []ruleYAML     `yaml:"rules"`
}

// sectionNames are the top-level evidence variables.
func sectionNames() []string {
	return []string{"stage", "artifact", "source", "trust", "scan", "signature", "provenance",
		"bom", "evaluation", "intake", "decisions", "pipeline"}
}

// Engine holds the CEL environment shared by every policy of a run. It is
// safe for concurrent use.
type Engine struct {
	env *cel.Env
	// cat validates the rules' framework mappings.
	cat *taxonomy.Catalogues
}

// NewEngine builds the CEL environment: the evidence sections as typed
// variables and the helper function severity_rank(string) int; and loads
// the framework catalogues every rule mapping is checked against.
func NewEngine() (*Engine, error) {
	et := reflect.TypeFor[Evidence]()
	opts := []cel.EnvOption{
		ext.NativeTypes(ext.ParseStructTag("json"),
			reflect.TypeFor[Artifact](), reflect.TypeFor[Source](), reflect.TypeFor[Trust](),
			reflect.TypeFor[Scan](), reflect.TypeFor[Finding](), reflect.TypeFor[Excepted](), reflect.TypeFor[Signature](),
			reflect.TypeFor[Provenance](), reflect.TypeFor[Dependency](), reflect.TypeFor[BOM](),
			reflect.TypeFor[Evaluation](), reflect.TypeFor[Intake](), reflect.TypeFor[PriorDecision](),
			reflect.TypeFor[PipelineInfo]()),
		ext.Strings(), ext.Lists(), ext.Sets(),
		cel.Function("severity_rank",
			cel.Overload("severity_rank_string", []*cel.Type{cel.StringType}, cel.IntType,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					s, ok := v.Value().(string)
					if !ok {
						return types.NewErr("severity_rank: want a string")
					}
					sev, err := mlsec.ParseSeverity(s)
					if err != nil {
						return types.NewErr("severity_rank: %v", err)
					}
					return types.Int(sev)
				}))),
	}
	for i := range et.NumField() {
		f := et.Field(i)
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		var t *cel.Type
		switch f.Type.Kind() {
		case reflect.String:
			t = cel.StringType
		case reflect.Slice:
			t = cel.ListType(cel.ObjectType("policy." + f.Type.Elem().Name()))
		default:
			t = cel.ObjectType("policy." + f.Type.Name())
		}
		opts = append(opts, cel.Variable(name, t))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("policy: building the CEL environment: %w", err)
	}
	cat, err := taxonomy.Load()
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return &Engine{env: env, cat: cat}, nil
}

// Parse compiles a policy file's content. file names it in errors.
func (e *Engine) Parse(file string, data []byte) (*Policy, error) {
	if len(data) > MaxPolicySize {
		return nil, &PositionError{File: file, Line: 1, Column: 1, Msg: fmt.Sprintf("policy is larger than %d bytes", MaxPolicySize)}
	}
	var py policyYAML
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&py); err != nil {
		return nil, yamlError(file, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &PositionError{File: file, Line: yamlLine(err), Column: 1, Msg: err.Error()}
	}
	root := doc.Content[0]
	at := func(n *yaml.Node, format string, args ...any) error {
		line, col := 1, 1
		if n != nil {
			line, col = n.Line, n.Column
		}
		return &PositionError{File: file, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
	}
	sum := sha256.Sum256(data)
	p := &Policy{Name: py.Name, Version: py.Version, Stage: py.Stage, Description: py.Description,
		File: file, Digest: hex.EncodeToString(sum[:]), Params: map[string]any{}}
	var errs []error
	if py.APIVersion != APIVersion {
		errs = append(errs, at(field(root, "apiVersion"), "apiVersion %q: want %s", py.APIVersion, APIVersion))
	}
	if py.Name == "" {
		errs = append(errs, at(root, "policy has no name"))
	}
	if py.Version == "" {
		errs = append(errs, at(root, "policy has no version"))
	}
	if len(py.Rules) == 0 {
		errs = append(errs, at(root, "policy has no rules"))
	}
	if len(py.Rules) > MaxRules {
		errs = append(errs, at(field(root, "rules"), "policy has %d rules, more than %d", len(py.Rules), MaxRules))
		return nil, errors.Join(errs...)
	}
	// Parameters become typed variables "params.NAME".
	env := e.env
	paramsNode := field(root, "params")
	var paramNames []string
	for name := range py.Params {
		paramNames = append(paramNames, name)
	}
	sort.Strings(paramNames)
	var vars []cel.EnvOption
	for _, name := range paramNames {
		t, v, err := paramType(py.Params[name])
		if err != nil {
			errs = append(errs, at(field(paramsNode, name), "parameter %s: %v", name, err))
			continue
		}
		p.Params[name] = v
		vars = append(vars, cel.Variable("params."+name, t))
	}
	if len(vars) > 0 {
		var err error
		if env, err = env.Extend(vars...); err != nil {
			return nil, fmt.Errorf("policy: %s: %w", file, err)
		}
	}
	rulesNode := field(root, "rules")
	ids := map[string]bool{}
	sections := sectionNames()
	for i, ry := range py.Rules {
		var rn *yaml.Node
		if rulesNode != nil && i < len(rulesNode.Content) {
			rn = rulesNode.Content[i]
		}
		r := &Rule{ID: ry.ID, Title: ry.Title, Description: ry.Description, Remediation: ry.Remediation,
			Expr: ry.Expr, Mappings: ry.Mappings, Line: line(rn)}
		switch {
		case r.ID == "":
			errs = append(errs, at(rn, "rule has no id"))
		case ids[r.ID]:
			errs = append(errs, at(field(rn, "id"), "duplicate rule id %q", r.ID))
		}
		ids[r.ID] = true
		if r.Title == "" {
			errs = append(errs, at(rn, "rule %s has no title", r.ID))
		}
		var err error
		if r.OnFail, err = outcome(ry.OnFail); err != nil {
			errs = append(errs, at(field(rn, "on_fail"), "rule %s: on_fail: %v", r.ID, err))
		}
		if r.OnMissing, err = outcome(ry.OnMissing); err != nil {
			errs = append(errs, at(field(rn, "on_missing"), "rule %s: on_missing: %v", r.ID, err))
		}
		mn := field(rn, "mappings")
		for j, m := range ry.Mappings {
			if err := e.cat.Validate(m); err != nil {
				var n *yaml.Node
				if mn != nil && j < len(mn.Content) {
					n = mn.Content[j]
				}
				errs = append(errs, at(n, "rule %s: mapping: %s", r.ID, strings.TrimPrefix(err.Error(), "taxonomy: ")))
			}
		}
		for _, o := range ry.Optional {
			if !slices.Contains(sections, o) {
				errs = append(errs, at(field(rn, "optional"), "rule %s: optional: unknown evidence section %q", r.ID, o))
			}
		}
		if strings.TrimSpace(r.Expr) == "" {
			errs = append(errs, at(rn, "rule %s has no expr", r.ID))
			continue
		}
		exprNode := field(rn, "expr")
		ast, iss := env.Compile(r.Expr)
		if iss.Err() != nil {
			for _, ce := range iss.Errors() {
				l, c := exprPos(data, exprNode, ce.Location.Line(), ce.Location.Column())
				errs = append(errs, &PositionError{File: file, Line: l, Column: c, Msg: fmt.Sprintf("rule %s: %s", r.ID, ce.Message)})
			}
			continue
		}
		if !ast.OutputType().IsExactType(cel.BoolType) {
			errs = append(errs, at(exprNode, "rule %s: expression returns %s, want bool", r.ID, ast.OutputType()))
			continue
		}
		r.Requires = requiredSections(ast, ry.Optional)
		if r.prg, err = env.Program(ast, cel.CostLimit(costLimit), cel.EvalOptions(cel.OptOptimize)); err != nil {
			errs = append(errs, at(exprNode, "rule %s: %v", r.ID, err))
			continue
		}
		if ry.Explain != "" {
			en := field(rn, "explain")
			east, iss := env.Compile(ry.Explain)
			if iss.Err() != nil {
				for _, ce := range iss.Errors() {
					l, c := exprPos(data, en, ce.Location.Line(), ce.Location.Column())
					errs = append(errs, &PositionError{File: file, Line: l, Column: c, Msg: fmt.Sprintf("rule %s: explain: %s", r.ID, ce.Message)})
				}
				continue
			}
			if !east.OutputType().IsExactType(cel.StringType) {
				errs = append(errs, at(en, "rule %s: explain returns %s, want string", r.ID, east.OutputType()))
				continue
			}
			for _, s := range requiredSections(east, nil) {
				if !slices.Contains(r.Requires, s) && !slices.Contains(ry.Optional, s) {
					errs = append(errs, at(en, "rule %s: explain reads %s, which expr does not require", r.ID, s))
				}
			}
			if r.explain, err = env.Program(east, cel.CostLimit(costLimit)); err != nil {
				errs = append(errs, at(en, "rule %s: %v", r.ID, err))
			}
		}
		p.Rules = append(p.Rules, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// requiredSections returns the optional evidence sections an expression
// reads, minus those the rule declares optional.
func requiredSections(ast *cel.Ast, optional []string) []string {
	always := []string{"stage", "artifact", "trust", "pipeline"}
	var out []string
	for _, ref := range ast.NativeRep().ReferenceMap() {
		n := ref.Name
		if n == "" || slices.Contains(always, n) || slices.Contains(optional, n) || !slices.Contains(sectionNames(), n) {
			continue
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

func outcome(s string) (Result, error) {
	switch strings.ToLower(s) {
	case "", "fail":
		return Fail, nil
	case "warn":
		return Warn, nil
	}
	return "", fmt.Errorf("%q: want fail or warn", s)
}

// paramType maps a YAML parameter default to its CEL type and normalised value.
func paramType(v any) (*cel.Type, any, error) {
	switch x := v.(type) {
	case string:
		return cel.StringType, x, nil
	case bool:
		return cel.BoolType, x, nil
	case int:
		return cel.IntType, int64(x), nil
	case int64:
		return cel.IntType, x, nil
	case float64:
		return cel.DoubleType, x, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, nil, fmt.Errorf("lists must hold strings, found %T", e)
			}
			out = append(out, s)
		}
		return cel.ListType(cel.StringType), out, nil
	case nil:
		return nil, nil, errors.New("no default value (write [] for an empty list)")
	}
	return nil, nil, fmt.Errorf("unsupported type %T (want string, bool, int, double or a list of strings)", v)
}

// BindParams checks pipeline overrides against the policy's parameters
// and returns the values to evaluate with.
func (p *Policy) BindParams(overrides map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range p.Params {
		out["params."+k] = v
	}
	for k, v := range overrides {
		def, ok := p.Params[k]
		if !ok {
			continue // parameters of other policies of the same stage
		}
		_, nv, err := paramType(v)
		if err != nil {
			return nil, fmt.Errorf("%w: %s parameter %s: %v", ErrInvalid, p.Name, k, err)
		}
		if reflect.TypeOf(nv) != reflect.TypeOf(def) {
			return nil, fmt.Errorf("%w: %s parameter %s: got %T, want %T", ErrInvalid, p.Name, k, nv, def)
		}
		out["params."+k] = nv
	}
	return out, nil
}

// field returns the value node of key in mapping n, or nil.
func field(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func line(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}

// exprPos maps a CEL location (1-based line, 0-based column within the
// expression) to a 1-based line and column of the file.
func exprPos(data []byte, n *yaml.Node, l, c int) (int, int) {
	if n == nil {
		return 1, 1
	}
	if l < 1 {
		l = 1
	}
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		lines := strings.Split(string(data), "\n")
		fl := n.Line + l // the block starts on the line after the indicator
		indent := 0
		for i := n.Line; i < len(lines); i++ { // first non-blank content line
			if s := strings.TrimLeft(lines[i], " "); s != "" {
				indent = len(lines[i]) - len(s)
				break
			}
		}
		return fl, indent + c + 1
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		if l == 1 {
			return n.Line, n.Column + c + 1
		}
	}
	if l == 1 {
		return n.Line, n.Column + c
	}
	return n.Line + l - 1, c + 1
}

// yamlError turns a YAML decoding error into positioned errors, one per
// problem.
func yamlError(file string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return &PositionError{File: file, Line: yamlLine(err), Column: 1, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var errs []error
	for _, m := range te.Errors {
		msg := m
		if i := strings.Index(m, ": "); strings.HasPrefix(m, "line ") && i > 0 {
			msg = m[i+2:]
		}
		if i := strings.Index(msg, " in type "); i > 0 {
			msg = msg[:i]
		}
		errs = append(errs, &PositionError{File: file, Line: yamlLine(errors.New(m)), Column: 1, Msg: msg})
	}
	return errors.Join(errs...)
}

func yamlLine(err error) int {
	var l int
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		fmt.Sscanf(msg[i+5:], "%d", &l)
	}
	if l == 0 {
		l = 1
	}
	return l
}
