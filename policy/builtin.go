package policy

import (
	"embed"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/lifecycle"
)

//go:embed builtin/*.yaml
var builtinFS embed.FS

// BuiltinPrefix marks a built-in policy reference: "builtin:experimentation".
const BuiltinPrefix = "builtin:"

// BuiltinNames returns the names of the built-in policies: one per stage,
// and "intake".
func BuiltinNames() []string {
	ents, _ := builtinFS.ReadDir("builtin")
	var out []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasSuffix(n, ".yaml") && !strings.HasSuffix(n, "_test.yaml") {
			out = append(out, strings.TrimSuffix(n, ".yaml"))
		}
	}
	sort.Strings(out)
	return out
}

// BuiltinFS returns the embedded built-in policies and their tests, for
// `mlsec policy test` and `mlsec policy show`.
func BuiltinFS() embed.FS { return builtinFS }

// Builtin compiles the built-in policy name.
func (e *Engine) Builtin(name string) (*Policy, error) {
	data, err := builtinFS.ReadFile(path.Join("builtin", name+".yaml"))
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EINVALID, "policy: no built-in policy %q (have %s)", name, strings.Join(BuiltinNames(), ", "))
	}
	return e.Parse("builtin/"+name+".yaml", data)
}

// Load compiles a policy reference: "builtin:NAME" or a file path
// (relative paths are taken relative to baseDir when it is not empty).
func (e *Engine) Load(ref, baseDir string) (*Policy, error) {
	if name, ok := strings.CutPrefix(ref, BuiltinPrefix); ok {
		return e.Builtin(name)
	}
	p := ref
	if baseDir != "" && !filepath.IsAbs(p) {
		p = filepath.Join(baseDir, p)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EINVALID, "policy: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxPolicySize+1))
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EIO, "policy: %w", err)
	}
	return e.Parse(p, data)
}

// StageGate compiles the gate of stage: the --policy file if given, else
// the pipeline's policies for the stage, else the stage's built-in policy.
// Every policy is compiled before anything is evaluated.
func (e *Engine) StageGate(stage string, pl *lifecycle.Pipeline, policyFile string) (*Gate, error) {
	if _, ok := lifecycle.LookupStage(stage); !ok {
		return nil, mlsec.Errorf(mlsec.EINVALID, "unknown stage %q (want one of %s)", stage, strings.Join(lifecycle.StageNames(), ", "))
	}
	var refs []string
	var params map[string]any
	base := ""
	switch {
	case policyFile != "":
		refs = []string{policyFile}
	case pl != nil:
		base = filepath.Dir(pl.File)
		if sc, ok := pl.Stages[stage]; ok {
			refs, params = sc.Policies, sc.Params
		}
	}
	if pl != nil && policyFile != "" {
		if sc, ok := pl.Stages[stage]; ok {
			params = sc.Params
		}
	}
	if len(refs) == 0 {
		refs = []string{BuiltinPrefix + stage}
	}
	var ps []*Policy
	var errs []string
	for _, r := range refs {
		p, err := e.Load(r, base)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		ps = append(ps, p)
	}
	if len(errs) > 0 {
		return nil, mlsec.Errorf(mlsec.EINVALID, "%s", strings.Join(errs, "\n"))
	}
	if err := checkParams(stage, pl, ps); err != nil {
		return nil, err
	}
	g, err := NewGate(stage, ps, params)
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EINVALID, "%w", err)
	}
	return g, nil
}

// checkParams reports, at its position in the pipeline file, a stage
// parameter that none of the stage's policies declares or whose type
// differs from the declaration.
func checkParams(stage string, pl *lifecycle.Pipeline, ps []*Policy) error {
	if pl == nil {
		return nil
	}
	sc, ok := pl.Stages[stage]
	if !ok {
		return nil
	}
	var errs []string
	names := make([]string, 0, len(sc.Params))
	for k := range sc.Params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		pos := pl.File
		if n := sc.ParamNodes[k]; n != nil {
			pos = fmt.Sprintf("%s:%d:%d", pl.File, n.Line, n.Column)
		}
		declared := false
		for _, p := range ps {
			if _, ok := p.Params[k]; ok {
				declared = true
				if _, err := p.BindParams(map[string]any{k: sc.Params[k]}); err != nil {
					errs = append(errs, fmt.Sprintf("%s: stage %s: %v", pos, stage, err))
				}
			}
		}
		if !declared {
			errs = append(errs, fmt.Sprintf("%s: stage %s: parameter %q is not declared by any of its policies", pos, stage, k))
		}
	}
	if len(errs) > 0 {
		return mlsec.Errorf(mlsec.EINVALID, "%s", strings.Join(errs, "\n"))
	}
	return nil
}

// IntakeGate compiles the built-in intake policy (or policyFile) for stage.
func (e *Engine) IntakeGate(stage, policyFile string, params map[string]any) (*Gate, error) {
	ref := BuiltinPrefix + "intake"
	if policyFile != "" {
		ref = policyFile
	}
	p, err := e.Load(ref, "")
	if err != nil {
		return nil, err
	}
	p.Stage = ""
	g, err := NewGate(stage, []*Policy{p}, params)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return g, nil
}
