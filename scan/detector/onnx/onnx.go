// Package onnx is the ONNX model detector: operators that need native
// custom-op libraries, external data references that escape the model's
// directory or point past the end of their files, and malformed models.
package onnx

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/onnx"
	"github.com/mlsecops/mlsec/format/onnx/onnxpb"
	"github.com/mlsecops/mlsec/scan"
)

// Name is the detector's stable identifier.
const Name = "onnx"

// Rule ids.
const (
	RuleExternalEscape  = "ONNX-001"
	RuleUnknownDomain   = "ONNX-002"
	RuleRuntimeDomain   = "ONNX-003"
	RuleExternalRange   = "ONNX-004"
	RuleExternalMissing = "ONNX-005"
	RuleMalformed       = "ONNX-006"
	RuleLimit           = "ONNX-007"
	RulePythonOp        = "ONNX-008"
)

//go:embed rules.yaml
var rulesYAML []byte

// standardDomains are the operator domains the ONNX specification itself
// defines; every conforming runtime implements them.
var standardDomains = []string{"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training", "ai.onnx.preview"}

// runtimeDomains are extension domains implemented by widely used runtimes
// themselves (onnxruntime contrib and internal layout domains, PyTorch's
// ATen fallback, onnxruntime-extensions); they need no library from the
// model's author.
var runtimeDomains = []string{
	"com.microsoft", "com.microsoft.nchwc", "com.microsoft.experimental",
	"com.microsoft.dml", "com.microsoft.mlfeaturizers", "com.ms.internal.nhwc",
	"com.microsoft.extensions", "ai.onnx.contrib", "org.pytorch.aten",
}

// pythonOps are operator types, in any non-standard domain, that call a
// Python function registered in the host process: onnxruntime's ORTModule
// PythonOp/PythonOpGrad and onnxruntime-extensions' PyOp family.
var pythonOps = map[string]bool{
	"PythonOp": true, "PythonOpGrad": true, "PyOp": true, "PyOpGrad": true, "PyFunc": true,
}

// Detector examines ONNX models.
type Detector struct {
	scan.Base
	standard map[string]bool
	runtime  map[string]bool
}

var _ scan.Detector = (*Detector)(nil)

// New returns the ONNX detector.
func New(cfg scan.Config) (scan.Detector, error) {
	b := scan.NewBase(Name, []format.Kind{format.ONNX}, rulesYAML)
	d := &Detector{Base: b, standard: map[string]bool{}, runtime: map[string]bool{}}
	for _, s := range standardDomains {
		d.standard[s] = true
	}
	for _, s := range runtimeDomains {
		d.runtime[s] = true
	}
	return d, nil
}

// Scan implements scan.Detector.
func (d *Detector) Scan(ctx context.Context, in *scan.Input, sink scan.Sink) error {
	if in.R == nil {
		return nil
	}
	opt := onnx.Options{}
	if l := sink.Limits().MaxMemberBytes; l > 0 && l < onnx.DefaultMaxStructureBytes {
		opt.MaxStructureBytes = l
	}
	m, err := onnx.Decode(in.R, in.Size, opt)
	switch {
	case errors.Is(err, onnx.ErrTooLarge), errors.Is(err, onnx.ErrTooDeep):
		sink.Report(d.Finding(RuleLimit, "ONNX model not analysed: "+err.Error(), "", -1))
		return nil
	case errors.Is(err, onnx.ErrMalformed):
		sink.Report(d.Finding(RuleMalformed, "malformed ONNX model: "+err.Error(), "", -1))
		return nil
	case err != nil:
		return fmt.Errorf("onnx: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s := &state{d: d, in: in, local: map[string]bool{}, ops: map[string]*opUse{}, ext: map[string]bool{}}
	for _, f := range m.Proto.GetFunctions() {
		s.local[onnx.FunctionKey(f.GetDomain(), f.GetName())] = true
	}
	s.onDisk = onDisk(in)
	werr := onnx.Walk(m.Proto, onnx.DefaultMaxDepth, onnx.Visitor{Node: s.node, Tensor: s.tensor})
	s.reportOps(sink)
	for _, f := range s.findings {
		sink.Report(f)
	}
	if werr != nil {
		sink.Report(d.Finding(RuleLimit, "ONNX model only partly analysed: "+werr.Error(), "", -1))
	}
	return nil
}

// onDisk returns the model's directory when the input is a plain file on
// disk (not an archive member), so external data files can be examined.
func onDisk(in *scan.Input) string {
	if in.Member != "" || in.Path == "" || in.Depth != 0 {
		return ""
	}
	fi, err := os.Stat(in.Path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != in.Size {
		return ""
	}
	return filepath.Dir(in.Path)
}

type opUse struct {
	rule  string
	count int
	node  string
	scope string
}

type state struct {
	d        *Detector
	in       *scan.Input
	onDisk   string
	local    map[string]bool
	ops      map[string]*opUse
	ext      map[string]bool // rule+location already reported
	findings []mlsec.Finding
}

func (s *state) node(scope string, n *onnxpb.NodeProto) {
	dom := n.GetDomain()
	key := onnx.FunctionKey(dom, n.GetOpType())
	if s.d.standard[dom] || s.local[key] {
		return
	}
	rule := RuleUnknownDomain
	switch {
	case pythonOps[n.GetOpType()]:
		rule = RulePythonOp
	case s.d.runtime[dom]:
		rule = RuleRuntimeDomain
	}
	u := s.ops[key]
	if u == nil {
		u = &opUse{rule: rule, node: n.GetName(), scope: scope}
		s.ops[key] = u
	}
	u.count++
}

func (s *state) reportOps(sink scan.Sink) {
	keys := make([]string, 0, len(s.ops))
	for k := range s.ops {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		u := s.ops[k]
		dom, op, _ := strings.Cut(k, ":")
		what := "needs a custom operator library"
		switch u.rule {
		case RuleRuntimeDomain:
			what = "is a runtime extension operator"
		case RulePythonOp:
			what = "calls a Python function registered in the serving process"
		}
		msg := fmt.Sprintf("operator %s from domain %q %s (%d node(s); first %q in %s)", op, dom, what, u.count, u.node, u.scope)
		sink.Report(s.d.Finding(u.rule, msg, k, -1))
	}
}

// report records one finding per rule and key; subject is the external
// data location.
func (s *state) report(rule, key, subject, msg string) {
	if s.ext[rule+"\x00"+key] {
		return
	}
	s.ext[rule+"\x00"+key] = true
	s.findings = append(s.findings, s.d.Finding(rule, msg, subject, -1))
}

func (s *state) tensor(scope string, t *onnxpb.TensorProto) {
	e, ok := onnx.External(t)
	if !ok {
		return
	}
	tname := fmt.Sprintf("tensor %q in %s", t.GetName(), scope)
	if len(e.Problems) > 0 {
		rule := RuleMalformed
		for _, p := range e.Problems {
			if strings.HasPrefix(p, "offset") || strings.HasPrefix(p, "length") {
				rule = RuleExternalRange
			}
		}
		s.report(rule, e.Location+"\x00"+tname, e.Location, fmt.Sprintf("%s: malformed external data: %s", tname, strings.Join(e.Problems, "; ")))
	}
	if e.Location == "" {
		return
	}
	if why := unsafeLocation(e.Location); why != "" {
		s.report(RuleExternalEscape, e.Location, e.Location, fmt.Sprintf("%s: external data location %q %s", tname, e.Location, why))
		return
	}
	if s.onDisk == "" {
		return
	}
	s.checkFile(tname, e)
}

// unsafeLocation says why loc may name a file outside the model's
// directory, "" when it is a plain relative path.
func unsafeLocation(loc string) string {
	if strings.ContainsRune(loc, 0) {
		return "contains a NUL byte"
	}
	if strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, `\`) || filepath.IsAbs(loc) ||
		(len(loc) >= 2 && loc[1] == ':' && (loc[0]|0x20 >= 'a' && loc[0]|0x20 <= 'z')) {
		return "is an absolute path"
	}
	for _, part := range strings.FieldsFunc(loc, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return `contains a ".." component`
		}
	}
	return ""
}

// checkFile resolves a relative external data location against the
// model's directory, following symbolic links, and checks the range.
func (s *state) checkFile(tname string, e onnx.ExternalData) {
	target := filepath.Join(s.onDisk, filepath.FromSlash(strings.ReplaceAll(e.Location, `\`, "/")))
	real, err := filepath.EvalSymlinks(target)
	if err != nil {
		msg := fmt.Sprintf("%s: external data file %q not found", tname, e.Location)
		if _, lerr := os.Lstat(target); lerr == nil {
			msg = fmt.Sprintf("%s: external data file %q is a dangling symbolic link", tname, e.Location)
		}
		s.report(RuleExternalMissing, e.Location, e.Location, msg)
		return
	}
	base, err := filepath.EvalSymlinks(s.onDisk)
	if err != nil {
		base = s.onDisk
	}
	if rel, err := filepath.Rel(base, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		s.report(RuleExternalEscape, e.Location, e.Location, fmt.Sprintf("%s: external data location %q resolves outside the model directory (to %s) through a symbolic link", tname, e.Location, real))
		return
	}
	fi, err := os.Stat(real)
	if err != nil {
		s.report(RuleExternalMissing, e.Location, e.Location, fmt.Sprintf("%s: external data file %q: %v", tname, e.Location, err))
		return
	}
	if !fi.Mode().IsRegular() {
		s.report(RuleMalformed, e.Location, e.Location, fmt.Sprintf("%s: external data location %q is not a regular file", tname, e.Location))
		return
	}
	size := fi.Size()
	off := max(e.Offset, 0)
	switch {
	case off > size:
		s.report(RuleExternalRange, e.Location+"\x00"+tname, e.Location, fmt.Sprintf("%s: external data offset %d is beyond the end of %q (%d bytes)", tname, off, e.Location, size))
	case e.Length >= 0 && e.Length > size-off:
		s.report(RuleExternalRange, e.Location+"\x00"+tname, e.Location, fmt.Sprintf("%s: external data range %d+%d is beyond the end of %q (%d bytes)", tname, off, e.Length, e.Location, size))
	}
}
