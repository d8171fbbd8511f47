// Package pickle is the detector for Python pickle streams and the
// formats that are pickle streams at heart: plain pickles of every protocol
// (also the data.pkl members torch zips and TorchScript archives hand back
// to the runner, npy object arrays, and inflated joblib containers) and
// PyTorch legacy streams.
//
// It never unpickles. format/pickle disassembles the stream and executes it
// on a symbolic stack machine; this package judges what that machine saw:
// every import against an allowlist of known-safe reconstruction helpers
// and a denylist of known-dangerous globals (Policy), every call to a
// deserializer with an embedded payload (which is handed back to the runner
// and scanned by content), and every structural anomaly. The policy fails
// closed: anything not known to be safe is at least high.
package pickle

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/mlsecops/mlsec/format"
	pk "github.com/mlsecops/mlsec/format/pickle"
	"github.com/mlsecops/mlsec/scan"
)

// Name is the detector's stable identifier.
const Name = "pickle"

//go:embed rules.yaml
var rulesYAML []byte

// Rule ids.
const (
	RuleCriticalImport   = "PICKLE-001"
	RuleUnknownImport    = "PICKLE-002"
	RuleUnresolvedImport = "PICKLE-003"
	RuleDunderWalk       = "PICKLE-004"
	RuleNestedLoader     = "PICKLE-005"
	RuleFrameMismatch    = "PICKLE-006"
	RuleCorrupt          = "PICKLE-007"
	RuleLimit            = "PICKLE-008"
	RuleTrailingData     = "PICKLE-009"
	RuleLegacyMagic      = "PICKLE-010"
	RuleComputedCallee   = "PICKLE-011"
	RuleProtocol         = "PICKLE-012"
	RuleJoblibDiverges   = "PICKLE-013"
	RuleExpansion        = "PICKLE-014"
	RuleRebuildMutate    = "PICKLE-015"
)

// legacyPickles is the number of pickle programs torch.load reads from a
// legacy stream (magic number, protocol, sys_info, the object, the storage
// keys); the raw storages that follow are never unpickled.
const legacyPickles = 5

// maxPerRule caps the findings one input reports per rule; the rest are
// summarised in one further finding.
const maxPerRule = 100

// arrayWrapper is joblib's inline array marker.
const arrayWrapper = "joblib.numpy_pickle.NumpyArrayWrapper"

// Detector judges pickle streams. It is safe for concurrent use.
type Detector struct {
	scan.Base
	policy *Policy
}

var _ scan.Detector = (*Detector)(nil)

// New builds the detector with the built-in policy extended by cfg.Imports.
func New(cfg scan.Config) (scan.Detector, error) {
	b := scan.NewBase(Name, []format.Kind{format.Pickle, format.PyTorchLegacy}, rulesYAML)
	p, err := NewPolicy(cfg.Imports)
	if err != nil {
		return nil, err
	}
	return &Detector{Base: b, policy: p}, nil
}

// Scan implements scan.Detector.
func (d *Detector) Scan(ctx context.Context, in *scan.Input, sink scan.Sink) error {
	if in.R == nil {
		return fmt.Errorf("pickle: %s: no content", in.Path)
	}
	opts := pk.Options{MaxOps: sink.Limits().MaxPickleOps, Joblib: true}
	a, err := pk.Analyze(ctx, in.R, in.Size, opts)
	if err != nil {
		if ctx.Err() != nil || a == nil {
			return fmt.Errorf("pickle: analyze: %w", err)
		}
		if !errors.Is(err, pk.ErrNotPickle) {
			return fmt.Errorf("pickle: analyze: %w", err)
		}
	}
	s := &scanState{d: d, in: in, sink: sink, count: map[string]int{}, seen: map[string]bool{}}
	s.legacy = in.Kind == format.PyTorchLegacy
	if errors.Is(err, pk.ErrNotPickle) {
		s.report(RuleCorrupt, "not a pickle stream", "", 0)
	}
	s.imports(a)
	if err := s.calls(ctx, a); err != nil {
		return err
	}
	s.anomalies(a)
	s.legacyMagic(a)
	if err := s.joblibDivergence(ctx, a, opts); err != nil {
		return err
	}
	s.flush()
	return nil
}

// scanState carries one Scan's bookkeeping.
type scanState struct {
	d      *Detector
	in     *scan.Input
	sink   scan.Sink
	legacy bool
	count  map[string]int  // findings per rule
	seen   map[string]bool // dedup of (rule, offset, subject)
}

func (s *scanState) report(rule, msg, subject string, off int64) {
	key := fmt.Sprintf("%s\x00%d\x00%s", rule, off, subject)
	if s.seen[key] {
		return
	}
	s.seen[key] = true
	s.count[rule]++
	if s.count[rule] > maxPerRule {
		return
	}
	s.sink.Report(s.d.Finding(rule, msg, subject, off))
}

// flush reports, per rule, how many findings the cap suppressed.
func (s *scanState) flush() {
	for _, r := range s.d.Rules() {
		if n := s.count[r.ID] - maxPerRule; n > 0 {
			s.sink.Report(s.d.Finding(r.ID, fmt.Sprintf("%d more findings of this rule not listed", n), "", -1))
		}
	}
}

// runs reports whether loading executes pickle program i: a legacy stream
// is read for its first legacyPickles programs only.
func (s *scanState) runs(i int) bool { return !s.legacy || i < legacyPickles }

func (s *scanState) imports(a *pk.Analysis) {
	for _, imp := range a.Imports {
		if s.runs(imp.Pickle) {
			s.judgeImport(imp, "")
		}
	}
}

// judgeImport reports one import; prefix qualifies the message (used for
// alternative readings). It returns the verdict class.
func (s *scanState) judgeImport(imp pk.Import, prefix string) Class {
	p := s.d.policy
	if !imp.Resolved {
		if strings.HasPrefix(imp.Opcode, "EXT") {
			s.report(RuleUnresolvedImport, fmt.Sprintf("%s%s at offset %d imports through the copyreg extension registry: the global cannot be resolved statically", prefix, imp.Opcode, imp.Offset), imp.Opcode, imp.Offset)
			return Unknown
		}
		if imp.Module != "" {
			if v := p.JudgeModule(imp.Module); v.Class == Denied {
				s.report(RuleCriticalImport, fmt.Sprintf("%s%s at offset %d imports a computed name from %s (%s)", prefix, imp.Opcode, imp.Offset, v.Path, v.Category), v.Path+".?", imp.Offset)
				return Denied
			}
		}
		known := "computed module and name"
		mod, name := imp.Module, imp.Name
		switch {
		case mod != "" && name == "":
			known = fmt.Sprintf("module %q, computed name", mod)
		case mod == "" && name != "":
			known = fmt.Sprintf("computed module, name %q", name)
		}
		if mod == "" {
			mod = "?"
		}
		if name == "" {
			name = "?"
		}
		s.report(RuleUnresolvedImport, fmt.Sprintf("%s%s at offset %d imports a global whose operand is computed (%s): it cannot be resolved statically", prefix, imp.Opcode, imp.Offset, known), mod+"."+name, imp.Offset)
		return Unknown
	}
	v := p.Judge(imp.Module, imp.Name)
	switch v.Class {
	case Denied:
		what := v.Path
		if v.Target != "" && v.Target != v.Path {
			what = fmt.Sprintf("%s, which reaches %s,", v.Path, v.Target)
		}
		s.report(RuleCriticalImport, fmt.Sprintf("%simports %s at offset %d (%s): loading this pickle imports it and can call it", prefix, what, imp.Offset, v.Category), v.Path, imp.Offset)
	case Dunder:
		s.report(RuleDunderWalk, fmt.Sprintf("%simports %s at offset %d: the attribute walk passes through a double-underscore attribute", prefix, v.Path, imp.Offset), v.Path, imp.Offset)
	case Unknown:
		s.report(RuleUnknownImport, fmt.Sprintf("%sunknown global %s at offset %d: loading imports it and may run code", prefix, v.Path, imp.Offset), v.Path, imp.Offset)
	}
	return v.Class
}

func (s *scanState) calls(ctx context.Context, a *pk.Analysis) error {
	for _, c := range a.Calls {
		if !s.runs(c.Pickle) {
			continue
		}
		switch c.Opcode {
		case "REDUCE", "NEWOBJ", "NEWOBJ_EX", "OBJ":
		default:
			continue
		}
		if c.Callee == "" {
			// Only REDUCE: torch's legacy format instantiates module
			// classes returned by persistent_load with NEWOBJ, so a
			// non-global class there is normal (the class itself is an
			// import inside the persistent id, judged on its own).
			if c.Opcode == "REDUCE" {
				s.report(RuleComputedCallee, fmt.Sprintf("%s at offset %d calls an object that is not an imported global", c.Opcode, c.Offset), "", c.Offset)
			}
			continue
		}
		loader, scanned := s.d.policy.IsLoader(c.Callee)
		if !loader {
			continue
		}
		var arg pk.Value
		if len(c.Args) > 0 {
			arg = c.Args[0]
		}
		r, size, at, ok := s.payload(arg)
		if !ok {
			s.report(RuleNestedLoader, fmt.Sprintf("%s at offset %d calls %s on a computed argument that cannot be inspected", c.Opcode, c.Offset, c.Callee), c.Callee, c.Offset)
			continue
		}
		name := fmt.Sprintf("@%d", at)
		if !scanned {
			s.report(RuleNestedLoader, fmt.Sprintf("%s at offset %d calls %s on a %d-byte embedded payload (scanned as member %s)", c.Opcode, c.Offset, c.Callee, size, name), c.Callee, c.Offset)
		}
		if err := s.sink.Nested(ctx, name, r, size); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// Cap exceeded: the runner has reported it.
		}
	}
	return nil
}

// payload locates the literal first argument of a loader call. Large
// bytes literals are re-read from the input by offset; text and
// _codecs.encode(text, "latin1") (protocol 0-2 bytes) are rebuilt from the
// decoded string. at is the payload's offset in the stream, for naming.
func (s *scanState) payload(v pk.Value) (r io.ReaderAt, size, at int64, ok bool) {
	switch v.Kind {
	case pk.KindBytes:
		if v.Offset >= 0 && v.Length >= 0 && v.Offset+v.Length <= s.in.Size {
			return io.NewSectionReader(s.in.R, v.Offset, v.Length), v.Length, v.Offset, true
		}
		if !v.Truncated {
			return strings.NewReader(v.Str), int64(len(v.Str)), v.Offset, true
		}
	case pk.KindString:
		if !v.Truncated {
			b := latin1(v.Str)
			return bytes.NewReader(b), int64(len(b)), v.Offset, true
		}
		if v.Offset >= 0 && v.Length >= 0 && v.Offset+v.Length <= s.in.Size {
			return io.NewSectionReader(s.in.R, v.Offset, v.Length), v.Length, v.Offset, true
		}
	case pk.KindCallResult:
		switch v.Global {
		case "_codecs.encode", "codecs.encode", "builtins.bytes", "builtins.bytearray",
			"io.BytesIO", "_io.BytesIO":
			if len(v.Items) > 0 {
				return s.payload(v.Items[0])
			}
		}
	}
	return nil, 0, 0, false
}

// latin1 encodes text the way _codecs.encode(text, "latin1") does when
// every rune fits in a byte, and as UTF-8 otherwise.
func latin1(text string) []byte {
	out := make([]byte, 0, len(text))
	for _, r := range text {
		if r > 0xff || r == utf8.RuneError {
			return []byte(text)
		}
		out = append(out, byte(r))
	}
	return out
}

func (s *scanState) anomalies(a *pk.Analysis) {
	for _, an := range a.Anomalies {
		if !s.runs(an.Pickle) {
			continue
		}
		var rule, what string
		switch an.Kind {
		case pk.AnomalyFrameMismatch:
			rule, what = RuleFrameMismatch, "FRAME lengths disagree with opcode boundaries: linear parsers and CPython's file unpickler see different programs"
		case pk.AnomalyLimit:
			rule, what = RuleLimit, "analysis limit exceeded; the rest of the stream was not examined"
		case pk.AnomalyTrailing:
			if s.legacy {
				continue // raw storages follow the pickles
			}
			rule, what = RuleTrailingData, "data after the last pickle"
		case pk.AnomalyProtocol:
			rule, what = RuleProtocol, "opcode not allowed by the declared protocol"
		case pk.AnomalyExpansion:
			rule, what = RuleExpansion, "resource exhaustion"
		case pk.AnomalyRebuildMutate:
			rule, what = RuleRebuildMutate, "in-place write into a rebuilt tensor (CVE-2026-24747 class)"
		default:
			rule, what = RuleCorrupt, "corrupt stream ("+string(an.Kind)+"); everything before this point would already have run"
		}
		msg := fmt.Sprintf("%s at offset %d", what, an.Offset)
		if an.Detail != "" {
			msg += ": " + an.Detail
		}
		s.report(rule, msg, "", an.Offset)
	}
}

// legacyMagic reports a stream shaped like a PyTorch legacy checkpoint
// (three or more pickles, torch globals after the first) whose first
// program computes its value with a call instead of holding the literal
// magic number. format.Detect matches the literal only, so such a stream
// arrives as a plain pickle.
func (s *scanState) legacyMagic(a *pk.Analysis) {
	if s.legacy || a.Pickles < 3 {
		return
	}
	var first *pk.Call
	for i := range a.Calls {
		c := &a.Calls[i]
		if c.Pickle == 0 && c.Opcode != "BUILD" {
			first = c
			break
		}
	}
	if first == nil {
		return
	}
	for _, imp := range a.Imports {
		if imp.Pickle >= 1 && imp.Resolved && strings.HasPrefix(imp.Module, "torch") {
			callee := first.Callee
			if callee == "" {
				callee = "a computed callable"
			}
			s.report(RuleLegacyMagic, fmt.Sprintf("first pickle of a PyTorch legacy-shaped stream calls %s at offset %d instead of holding the literal magic number", callee, first.Offset), first.Callee, first.Offset)
			return
		}
	}
}

// identRE matches a dotted Python identifier, used to tell real imports
// from array bytes that happen to decode as GLOBAL.
var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)

// joblibDivergence re-reads a stream that uses joblib's inline arrays the
// way pickle.load would, where the array bytes are opcodes, and reports
// imports that only that reading sees.
func (s *scanState) joblibDivergence(ctx context.Context, a *pk.Analysis, opts pk.Options) error {
	uses := false
	for _, imp := range a.Imports {
		if imp.Resolved && imp.Module+"."+imp.Name == arrayWrapper {
			uses = true
			break
		}
	}
	if !uses {
		return nil
	}
	opts.Joblib = false
	b, err := pk.Analyze(ctx, s.in.R, s.in.Size, opts)
	if err != nil && (ctx.Err() != nil || b == nil) {
		return fmt.Errorf("pickle: analyze as plain pickle: %w", err)
	}
	known := map[string]bool{}
	for _, imp := range a.Imports {
		known[fmt.Sprintf("%d\x00%s\x00%s", imp.Offset, imp.Module, imp.Name)] = true
	}
	for _, imp := range b.Imports {
		if known[fmt.Sprintf("%d\x00%s\x00%s", imp.Offset, imp.Module, imp.Name)] || !imp.Resolved {
			continue
		}
		if !identRE.MatchString(imp.Module) || !identRE.MatchString(imp.Name) {
			continue // array bytes that happen to decode as an import
		}
		v := s.d.policy.Judge(imp.Module, imp.Name)
		if v.Class == Allowed {
			continue
		}
		s.report(RuleJoblibDiverges, fmt.Sprintf("read with pickle.load instead of joblib, the array bytes import %s at offset %d (%s)", v.Path, imp.Offset, v.Class), v.Path, imp.Offset)
	}
	return nil
}
