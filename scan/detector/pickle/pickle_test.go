package pickle

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/pickle/pickletest"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/internal/sinktest"
)

// fakeSink collects findings; Nested scans nested pickles with the same
// detector, the way the runner dispatches members by content.
type fakeSink struct {
	d        scan.Detector
	limits   scan.Limits
	member   string
	depth    int
	findings []mlsec.Finding
	nested   []string
}

func (s *fakeSink) Report(f mlsec.Finding) {
	if f.Location.Member == "" {
		f.Location.Member = s.member
	}
	s.findings = append(s.findings, f)
}

func (s *fakeSink) Limits() scan.Limits { return s.limits }

func (s *fakeSink) Nested(ctx context.Context, name string, r io.ReaderAt, size int64) error {
	member := name
	if s.member != "" {
		member = s.member + "!" + name
	}
	s.nested = append(s.nested, member)
	if s.depth >= 4 {
		return scan.ErrLimit
	}
	kind, err := format.Detect(r, size)
	if err != nil {
		return err
	}
	if kind != format.Pickle && kind != format.PyTorchLegacy {
		return nil
	}
	child := &fakeSink{d: s.d, limits: s.limits, member: member, depth: s.depth + 1}
	err = s.d.Scan(ctx, &scan.Input{Path: "test", Member: member, R: r, Size: size, Kind: kind, Depth: s.depth + 1}, child)
	s.findings = append(s.findings, child.findings...)
	s.nested = append(s.nested, child.nested...)
	return err
}

func newDetector(t *testing.T, cfg scan.Config) scan.Detector {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// scanBytes scans data with kind (detected by content when empty).
func scanBytes(t *testing.T, d scan.Detector, data []byte, kind format.Kind, limits scan.Limits) *fakeSink {
	t.Helper()
	r := bytes.NewReader(data)
	if kind == "" {
		k, err := format.Detect(r, int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		kind = k
	}
	if limits == (scan.Limits{}) {
		limits = scan.DefaultLimits()
	}
	s := &fakeSink{d: d, limits: limits}
	if err := d.Scan(context.Background(), &scan.Input{Path: "test", R: r, Size: int64(len(data)), Kind: kind}, s); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return s
}

func describe(fs []mlsec.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "\n  %s %s member=%q off=%d subject=%q: %s", f.RuleID, f.Severity, f.Location.Member, f.Location.Offset, f.Subject, f.Message)
	}
	return b.String()
}

// want is one expected finding: rule, severity, and optionally the member,
// offset and subject (zero values are wildcards; offset -2 means any).
type want struct {
	rule    string
	sev     mlsec.Severity
	member  string
	offset  int64
	subject string
}

func has(fs []mlsec.Finding, w want) bool {
	for _, f := range fs {
		if f.RuleID == w.rule && f.Severity == w.sev && f.Location.Member == w.member &&
			(w.offset == -2 || f.Location.Offset == w.offset) &&
			(w.subject == "" || f.Subject == w.subject) {
			return true
		}
	}
	return false
}

const any = -2

func crit(rule string) want { return want{rule: rule, sev: mlsec.SeverityCritical, offset: any} }
func high(rule string) want { return want{rule: rule, sev: mlsec.SeverityHigh, offset: any} }
func med(rule string) want  { return want{rule: rule, sev: mlsec.SeverityMedium, offset: any} }
func low(rule string) want  { return want{rule: rule, sev: mlsec.SeverityLow, offset: any} }

func at(w want, off int) want        { w.offset = int64(off); return w }
func subj(w want, s string) want     { w.subject = s; return w }
func inMember(w want, m string) want { w.member = m; return w }

// osSystem is the classic payload: GLOBAL os.system, REDUCE ("id",).
func osSystem(proto int) []byte {
	return pickletest.New(proto).Call("os", "system", "id").Stop().Bytes()
}

type fixture struct {
	name  string
	data  []byte
	kind  format.Kind // "" = detect by content
	wants []want
	// signal marks fixtures of low/medium signals that alone do not fail
	// a default scan (they are not code-execution techniques).
	signal bool
}

func maliciousFixtures() []fixture {
	var fx []fixture
	add := func(name string, data []byte, kind format.Kind, wants ...want) {
		fx = append(fx, fixture{name: name, data: data, kind: kind, wants: wants})
	}

	// GLOBAL + REDUCE, protocols 0 (text, no PROTO) to 5.
	for p := 0; p <= 5; p++ {
		proto := p
		if p < 2 {
			proto = -1 // no PROTO opcode
		}
		b := pickletest.New(proto)
		off := b.Len()
		b.Call("os", "system", "id").Stop()
		add(fmt.Sprintf("global-reduce-p%d", p), b.Bytes(), "", subj(at(crit(RuleCriticalImport), off), "os.system"))
	}
	{ // INST imports and calls in one opcode.
		b := pickletest.New(-1).Mark().Str("id")
		off := b.Len()
		b.Inst("subprocess", "getoutput").Stop()
		add("inst", b.Bytes(), "", subj(at(crit(RuleCriticalImport), off), "subprocess.getoutput"))
	}
	{ // OBJ: MARK class args OBJ.
		b := pickletest.New(1).Mark()
		off := b.Len()
		b.Global("subprocess", "Popen").Str("id").Obj().Stop()
		add("obj", b.Bytes(), "", at(crit(RuleCriticalImport), off))
	}
	{ // NEWOBJ and NEWOBJ_EX.
		b := pickletest.New(2)
		off := b.Len()
		b.Global("subprocess", "Popen").Str("id").Tuple1().NewObj().Stop()
		add("newobj", b.Bytes(), "", at(crit(RuleCriticalImport), off))
		b = pickletest.New(4)
		b.GlobalStr("posix", "system")
		off = b.Len() - 1
		b.Str("id").Tuple1().EmptyDict().NewObjEx().Stop()
		add("newobj-ex", b.Bytes(), "", at(crit(RuleCriticalImport), off))
	}
	{ // STACK_GLOBAL operands from the memo, with decoys pushed and popped.
		b := pickletest.New(4)
		b.Str("os").Memoize() // memo 0
		b.Str("collections").Str("OrderedDict").Pop().Pop()
		b.Str("system").BinPut(7)
		b.Mark().Str("builtins").Str("set").PopMark()
		b.BinGet(0).BinGet(7)
		off := b.Len()
		b.StackGlobal().Str("id").Tuple1().Reduce().Stop()
		add("stack-global-memo-decoys", b.Bytes(), "", subj(at(crit(RuleCriticalImport), off), "os.system"))
	}
	{ // Text PUT/GET and LONG_BINPUT/LONG_BINGET with explicit, sparse indexes.
		b := pickletest.New(4)
		b.Str("subprocess").Put(100).Pop()
		b.Str("getoutput").LongBinPut(70000).Pop()
		b.Str("decoy").Put(101).Pop()
		b.Get(100).LongBinGet(70000)
		off := b.Len()
		b.StackGlobal().Str("id").Tuple1().Reduce().Stop()
		add("stack-global-text-memo", b.Bytes(), "", subj(at(crit(RuleCriticalImport), off), "subprocess.getoutput"))
	}
	{ // Protocol 4 attribute walks.
		b := pickletest.New(4)
		b.GlobalStr("tempfile", "_os.system").Str("id").Tuple1().Reduce().Stop()
		add("walk-tempfile-os", b.Bytes(), "", subj(crit(RuleCriticalImport), "tempfile._os.system"))
		b = pickletest.New(4)
		b.GlobalStr("builtins", "eval.__call__").Str("1").Tuple1().Reduce().Stop()
		add("walk-eval-call", b.Bytes(), "", subj(crit(RuleCriticalImport), "builtins.eval.__call__"))
		b = pickletest.New(4)
		b.GlobalStr("torch.serialization", "os.system").Str("id").Tuple1().Reduce().Stop()
		add("walk-reexport", b.Bytes(), "", crit(RuleCriticalImport))
		b = pickletest.New(4)
		b.GlobalStr("collections", "OrderedDict.__class__").Stop()
		add("walk-dunder", b.Bytes(), "", high(RuleDunderWalk))
	}
	{ // Python 2 names: mapped by the unpickler below protocol 3, and by the
		// policy at every protocol.
		add("py2-builtin-eval", pickletest.New(2).Call("__builtin__", "eval", "1").Stop().Bytes(), "",
			subj(crit(RuleCriticalImport), "builtins.eval"))
		add("py2-builtin-p4", pickletest.New(4).Call("__builtin__", "exec", "1").Stop().Bytes(), "",
			subj(crit(RuleCriticalImport), "builtins.exec"))
		add("py2-commands", pickletest.New(-1).Call("commands", "getoutput", "id").Stop().Bytes(), "",
			subj(crit(RuleCriticalImport), "subprocess.getoutput"))
	}
	{ // Computed operands: the module comes from a call.
		b := pickletest.New(4)
		b.Call("builtins", "str", "os").Str("system")
		off := b.Len()
		b.StackGlobal().Str("id").Tuple1().Reduce().Stop()
		add("computed-module", b.Bytes(), "", at(high(RuleUnresolvedImport), off))
		b = pickletest.New(4)
		b.Str("os").Call("builtins", "str", "system")
		off = b.Len()
		b.StackGlobal().Stop()
		add("computed-name-denied-module", b.Bytes(), "", at(crit(RuleCriticalImport), off))
		b = pickletest.New(2)
		off = b.Len()
		b.Ext1(42).Stop()
		add("extension-registry", b.Bytes(), "", at(high(RuleUnresolvedImport), off))
	}
	{ // A nested pickle.loads payload: the call is critical and the payload
		// is scanned as a member named after its offset.
		inner := osSystem(2)
		b := pickletest.New(4)
		b.GlobalStr("pickle", "loads")
		b.Raw('B', byte(len(inner)), 0, 0, 0) // BINBYTES header
		payloadAt := b.Len()
		b.Raw(inner...).Tuple1()
		call := b.Len()
		b.Reduce().Stop()
		member := fmt.Sprintf("@%d", payloadAt)
		add("nested-pickle-loads", b.Bytes(), "",
			subj(crit(RuleCriticalImport), "pickle.loads"),
			at(crit(RuleNestedLoader), call),
			inMember(subj(crit(RuleCriticalImport), "os.system"), member))
		// protocol 2 spells bytes as _codecs.encode(text, "latin1").
		b = pickletest.New(2)
		b.Global("_pickle", "loads").Mark().Call("_codecs", "encode", string(inner), "latin1").Tuple().Reduce().Stop()
		add("nested-codecs-bytes", b.Bytes(), "", crit(RuleNestedLoader),
			want{rule: RuleCriticalImport, sev: mlsec.SeverityCritical, offset: any, subject: "os.system", member: "@"})
		// torch.storage._load_from_bytes is allowed, but its payload is scanned.
		b = pickletest.New(2)
		b.Global("torch.storage", "_load_from_bytes").BinBytes(inner).Tuple1().Reduce().Stop()
		add("torch-load-from-bytes", b.Bytes(), "",
			want{rule: RuleCriticalImport, sev: mlsec.SeverityCritical, offset: any, subject: "os.system", member: "@"})
		// a loader on a computed argument cannot be inspected.
		b = pickletest.New(2)
		b.Global("marshal", "loads").Mark().Call("builtins", "bytes", "x").Call("builtins", "str", "y").Tuple().Reduce().Stop()
		add("loader-computed-arg", b.Bytes(), "", crit(RuleNestedLoader))
	}
	{ // A FRAME whose length lies: CPython's file unpickler reads the payload
		// that a linear parser treats as a string operand.
		b := pickletest.New(4)
		fr := b.BeginFrame()
		b.Str("x").Pop()
		b.EndFrame(fr)
		fr2 := b.BeginFrame()
		b.Call("os", "system", "id").Stop()
		b.PatchFrame(fr2, 3)
		add("lying-frame", b.Bytes(), "", high(RuleFrameMismatch), crit(RuleCriticalImport))
	}
	{ // Several pickles in one stream: the second one is malicious.
		b := pickletest.New(2).Str("benign").Stop().Then(2)
		off := b.Len()
		b.Call("os", "system", "id").Stop()
		add("multi-pickle", b.Bytes(), "", at(crit(RuleCriticalImport), off))
	}
	{ // Truncated right after the REDUCE: the call has already run.
		b := pickletest.New(2).Call("os", "system", "id")
		add("truncated-after-reduce", b.Bytes(), "", crit(RuleCriticalImport), med(RuleCorrupt))
		b = pickletest.New(2).Call("os", "system", "id").Raw(0xff)
		add("bad-opcode-after-reduce", b.Bytes(), "", crit(RuleCriticalImport), med(RuleCorrupt))
	}
	{ // PyTorch legacy stream whose magic number is computed.
		b := pickletest.New(2)
		b.Call("builtins", "int", "1950a86a20f9469cfc6c", "16").Stop()
		b.Then(2).BinInt2(1001).Stop()
		b.Then(2).EmptyDict().Stop()
		b.Then(2).Global("torch._utils", "_rebuild_tensor_v2").Mark().Str("k").Tuple().Reduce().Stop()
		b.Then(2).EmptyList().Stop()
		add("legacy-computed-magic", b.Bytes(), "", subj(high(RuleLegacyMagic), "builtins.int"))
	}
	{ // Unknown globals are high, denylisted scanner modules critical.
		add("unknown-global", pickletest.New(2).Global("__main__", "Evil").EmptyTuple().NewObj().Stop().Bytes(), "",
			subj(high(RuleUnknownImport), "__main__.Evil"))
		for _, m := range []string{"picklescan.scanner", "fickling.analysis", "modelscan.modelscan", "modelaudit.core"} {
			add("scanner-"+m, pickletest.New(2).Global(m, "scan").Stop().Bytes(), "",
				want{rule: RuleCriticalImport, sev: mlsec.SeverityCritical, offset: any, subject: m + ".scan"})
		}
	}
	// One import per denylist category (the policy table tests cover every
	// family; this checks the detector reports them with the category).
	for _, c := range [][2]string{
		{"pty", "spawn"}, {"asyncio.subprocess", "create_subprocess_shell"},
		{"multiprocessing.util", "spawnv_passfds"}, {"uuid", "_get_command_stdout"},
		{"_osx_support", "_read_output"}, {"_aix_support", "_read_cmd_output"}, {"imaplib", "IMAP4_stream"},
		{"builtins", "compile"}, {"builtins", "__import__"}, {"builtins", "getattr"}, {"builtins", "setattr"},
		{"builtins", "vars"}, {"builtins", "globals"}, {"builtins", "open"}, {"runpy", "run_path"},
		{"timeit", "timeit"}, {"cProfile", "run"}, {"profile", "run"}, {"pdb", "run"}, {"bdb", "Bdb"},
		{"trace", "Trace"}, {"code", "interact"}, {"doctest", "debug_script"}, {"idlelib.run", "main"},
		{"lib2to3.pgen2.pgen", "generate_grammar"}, {"numpy.testing._private.utils", "runstring"},
		{"numpy.f2py", "compile"}, {"torch.jit", "load"}, {"torch.fx.graph_module", "reduce_graph_module"},
		{"torch._dynamo", "optimize"}, {"torch.utils.collect_env", "run"}, {"types", "CodeType"},
		{"types", "FunctionType"}, {"marshal", "loads"}, {"importlib", "import_module"},
		{"pkgutil", "resolve_name"}, {"pydoc", "locate"}, {"operator", "attrgetter"},
		{"_operator", "itemgetter"}, {"operator", "methodcaller"}, {"functools", "partial"},
		{"functools", "reduce"}, {"pickle", "loads"}, {"_pickle", "loads"}, {"dill", "loads"},
		{"cloudpickle", "loads"}, {"joblib", "load"}, {"torch", "load"}, {"torch.hub", "load"},
		{"numpy", "load"}, {"shutil", "rmtree"}, {"tempfile", "mktemp"}, {"io", "open"}, {"_io", "open"},
		{"logging", "FileHandler"}, {"socket", "socket"}, {"ssl", "wrap_socket"}, {"urllib.request", "urlopen"},
		{"http.client", "HTTPSConnection"}, {"requests", "get"}, {"smtplib", "SMTP"}, {"webbrowser", "open"},
		{"pip", "main"}, {"ensurepip", "bootstrap"}, {"venv", "create"}, {"ctypes", "CDLL"}, {"sys", "exit"},
		{"nt", "system"}, {"posix", "system"},
	} {
		b := pickletest.New(2)
		off := b.Len()
		b.Global(c[0], c[1]).Stop()
		add("deny-"+c[0]+"."+c[1], b.Bytes(), "", at(subj(crit(RuleCriticalImport), c[0]+"."+c[1]), off))
	}
	{ // Bytes after the last pickle.
		add("trailing-data", append(pickletest.New(2).ShortBinString("x").Stop().Bytes(), 0xff, 0xfe, 0, 1), "",
			low(RuleTrailingData))
		fx[len(fx)-1].signal = true
		// SHORT_BINUNICODE is a protocol 4 opcode.
		add("protocol-mismatch", pickletest.New(2).ShortBinUnicode("x").Stop().Bytes(), "", low(RuleProtocol))
		fx[len(fx)-1].signal = true
	}
	{ // Calling a computed callable (what a call returned).
		b := pickletest.New(2).Call("builtins", "str", "x").EmptyTuple().Reduce().Stop()
		add("computed-callee", b.Bytes(), "", med(RuleComputedCallee))
		fx[len(fx)-1].signal = true
	}
	{ // joblib's inline array bytes are opcodes for pickle.load.
		hidden := pickletest.New(-1).Call("os", "system", "id").Pop().Bytes()
		b := pickletest.New(2)
		b.Global("joblib.numpy_pickle", "NumpyArrayWrapper").EmptyTuple().NewObj()
		b.EmptyDict().Mark()
		b.Str("dtype").Global("numpy", "dtype").Mark().Str("i1").False().True().Tuple().Reduce()
		b.Mark().IntValue(3).Str("|").None().None().None().IntValue(-1).IntValue(-1).IntValue(0).Tuple().Build()
		b.Str("shape").IntValue(int64(len(hidden))).Tuple1()
		b.Str("order").Str("C")
		b.SetItems().Build()
		b.Raw(hidden...).Stop()
		add("joblib-divergence", b.Bytes(), "", crit(RuleJoblibDiverges))
	}
	{ // "billion laughs" by DUP: each level a tuple of the level below twice
		b := pickletest.New(2).EmptyList()
		for i := 0; i < 40; i++ {
			b.Dup().Tuple2()
		}
		add("expansion-dup", b.Stop().Bytes(), "", high(RuleExpansion))
	}
	{ // ... and by memo GET: ten references per level
		b := pickletest.New(2).EmptyList().BinPut(0)
		for i := 0; i < 12; i++ {
			b.Mark()
			for j := 0; j < 10; j++ {
				b.BinGet(uint8(i))
			}
			b.List().BinPut(uint8(i + 1))
		}
		add("expansion-memo", b.Stop().Bytes(), "", high(RuleExpansion))
	}
	// CVE-2026-24747 class: in-place writes into a _rebuild_* result.
	rebuilt := func() *pickletest.Builder {
		return pickletest.New(4).Global("torch._utils", "_rebuild_tensor_v2").
			Mark().Global("torch", "FloatStorage").BinInt1(0).BinInt1(4).Tuple1().BinInt1(1).Tuple1().False().EmptyTuple().Tuple().Reduce()
	}
	add("rebuild-build", rebuilt().EmptyDict().Str("x").BinInt1(1).SetItem().Build().Stop().Bytes(), "", crit(RuleRebuildMutate))
	add("rebuild-setitem", rebuilt().BinInt1(0).BinInt(0x7fffffff).SetItem().Stop().Bytes(), "", crit(RuleRebuildMutate))
	add("rebuild-memo-setitems", rebuilt().BinPut(7).Pop().BinGet(7).Mark().BinInt1(0).BinInt1(1).SetItems().Stop().Bytes(), "", crit(RuleRebuildMutate))
	add("rebuild-setstate-call", pickletest.New(2).Global("torch", "Tensor.__setstate__").Mark().Global("torch._utils", "_rebuild_parameter").EmptyTuple().Reduce().EmptyTuple().Tuple().Reduce().Stop().Bytes(), "", crit(RuleRebuildMutate))
	return fx
}

// TestMaliciousFixtures checks every technique fires its rule with the
// expected severity, and that every fixture fails a default scan (some
// finding at or above high).
func TestMaliciousFixtures(t *testing.T) {
	d := newDetector(t, scan.DefaultConfig())
	for _, fx := range maliciousFixtures() {
		t.Run(fx.name, func(t *testing.T) {
			s := scanBytes(t, d, fx.data, fx.kind, scan.Limits{})
			for _, w := range fx.wants {
				if w.member == "@" { // any nested member
					found := false
					for _, f := range s.findings {
						if strings.HasPrefix(f.Location.Member, "@") && f.RuleID == w.rule && f.Severity == w.sev && (w.subject == "" || f.Subject == w.subject) {
							found = true
						}
					}
					if !found {
						t.Errorf("no nested %s %s %s; findings:%s", w.rule, w.sev, w.subject, describe(s.findings))
					}
					continue
				}
				if !has(s.findings, w) {
					t.Errorf("missing %+v; findings:%s", w, describe(s.findings))
				}
			}
			if !fx.signal && mlsec.MaxSeverity(s.findings) < mlsec.SeverityHigh {
				t.Errorf("max severity %s < high: would pass a default scan;%s", mlsec.MaxSeverity(s.findings), describe(s.findings))
			}
		})
	}
}

func TestLimitFinding(t *testing.T) {
	d := newDetector(t, scan.DefaultConfig())
	b := pickletest.New(2)
	for i := 0; i < 100; i++ {
		b.Str("x").Pop()
	}
	b.Call("os", "system", "id").Stop()
	lim := scan.DefaultLimits()
	lim.MaxPickleOps = 20
	s := scanBytes(t, d, b.Bytes(), "", lim)
	if !has(s.findings, high(RuleLimit)) {
		t.Errorf("no limit finding:%s", describe(s.findings))
	}
}

// TestLegacyStream: a real legacy checkpoint is clean even though raw
// storages follow its pickles, and a legacy stream's extra pickles after
// the storage keys are never run by torch.load.
func TestLegacyStream(t *testing.T) {
	d := newDetector(t, scan.DefaultConfig())
	data, err := os.ReadFile(filepath.Join("testdata", "benign", "torch_legacy_state_dict.pt"))
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := format.Detect(bytes.NewReader(data), int64(len(data))); k != format.PyTorchLegacy {
		t.Fatalf("kind = %s, want %s", k, format.PyTorchLegacy)
	}
	if s := scanBytes(t, d, data, "", scan.Limits{}); len(s.findings) != 0 {
		t.Errorf("legacy checkpoint not clean:%s", describe(s.findings))
	}
	// The same bytes read as a plain pickle report the trailing storages.
	s := scanBytes(t, d, data, format.Pickle, scan.Limits{})
	if !has(s.findings, low(RuleTrailingData)) {
		t.Errorf("plain reading: no trailing-data finding:%s", describe(s.findings))
	}
	// A malicious state pickle in a legacy stream is found.
	magic := []byte(format.PyTorchLegacyMagic)
	b := pickletest.New(-1).Raw(magic...).Then(2).BinInt2(1001).Stop().Then(2).EmptyDict().Stop().Then(2)
	b.Call("os", "system", "id").Stop()
	if s := scanBytes(t, d, b.Bytes(), "", scan.Limits{}); !has(s.findings, crit(RuleCriticalImport)) {
		t.Errorf("legacy payload missed:%s", describe(s.findings))
	}
}

// TestBenignFixtures: every pickle stream the real libraries wrote scans
// clean (no finding at all) at default settings.
func TestBenignFixtures(t *testing.T) {
	d := newDetector(t, scan.DefaultConfig())
	files, err := filepath.Glob(filepath.Join("testdata", "benign", "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if filepath.Base(f) == "SHA256SUMS" {
			continue
		}
		n++
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		k, _ := format.Detect(bytes.NewReader(data), int64(len(data)))
		if k != format.Pickle && k != format.PyTorchLegacy {
			t.Errorf("%s: detected as %s", f, k)
			continue
		}
		s := scanBytes(t, d, data, k, scan.Limits{})
		if len(s.findings) != 0 {
			t.Errorf("%s (%s) not clean:%s", f, k, describe(s.findings))
		}
	}
	if n < 50 {
		t.Errorf("only %d benign fixtures", n)
	}
}

// TestConfigExtends: the user's lists change verdicts without code.
func TestConfigExtends(t *testing.T) {
	cfg, err := scan.ParseConfig([]byte("imports:\n  allow: [\"__main__:Net\"]\n  deny: [\"collections:OrderedDict\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := newDetector(t, cfg)
	s := scanBytes(t, d, pickletest.New(2).Global("__main__", "Net").EmptyTuple().NewObj().Stop().Bytes(), "", scan.Limits{})
	if len(s.findings) != 0 {
		t.Errorf("allowed class reported:%s", describe(s.findings))
	}
	s = scanBytes(t, d, pickletest.New(2).Global("collections", "OrderedDict").EmptyTuple().Reduce().Stop().Bytes(), "", scan.Limits{})
	if !has(s.findings, crit(RuleCriticalImport)) {
		t.Errorf("denied class not critical:%s", describe(s.findings))
	}
	if _, err := New(scan.Config{Imports: scan.ImportLists{Deny: []string{"os.system"}}}); err == nil {
		t.Error("malformed deny entry accepted")
	}
}

// TestRulesMatchCode: every rule id the code emits is in rules.yaml and
// every rule in rules.yaml is emitted by the code.
func TestRulesMatchCode(t *testing.T) {
	d := newDetector(t, scan.DefaultConfig())
	inYAML := map[string]bool{}
	for _, r := range d.Rules() {
		inYAML[r.ID] = true
	}
	inCode := []string{RuleCriticalImport, RuleUnknownImport, RuleUnresolvedImport, RuleDunderWalk,
		RuleNestedLoader, RuleFrameMismatch, RuleCorrupt, RuleLimit, RuleTrailingData, RuleLegacyMagic,
		RuleComputedCallee, RuleProtocol, RuleJoblibDiverges, RuleExpansion, RuleRebuildMutate}
	var missing []string
	for _, id := range inCode {
		if !inYAML[id] {
			missing = append(missing, id)
		}
		delete(inYAML, id)
	}
	for id := range inYAML {
		missing = append(missing, "unused:"+id)
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("rules.yaml and code disagree: %v", missing)
	}
	// And the fixtures exercise every rule.
	fired := map[string]bool{}
	for _, fx := range maliciousFixtures() {
		for _, w := range fx.wants {
			fired[w.rule] = true
		}
	}
	fired[RuleLimit] = true // TestLimitFinding
	for _, id := range inCode {
		if !fired[id] {
			t.Errorf("no fixture expects %s", id)
		}
	}
	for _, r := range d.Rules() {
		fws := map[string]bool{}
		for _, m := range r.Mappings {
			fws[m.Framework] = true
		}
		if !fws["owasp-ml-2023"] || !fws["owasp-llm-2025"] || !fws["mitre-atlas"] {
			t.Errorf("%s: mappings %v lack a framework", r.ID, r.Mappings)
		}
	}
}

// TestCorpus scans every file in $MLSEC_PICKLE_CORPUS (e.g. the output of
// testdata/gen.py without its size cap, or a directory of real models'
// pickles) and fails on any finding. Skipped when the variable is unset.
func TestCorpus(t *testing.T) {
	dir := os.Getenv("MLSEC_PICKLE_CORPUS")
	if dir == "" {
		t.Skip("MLSEC_PICKLE_CORPUS not set")
	}
	d := newDetector(t, scan.DefaultConfig())
	err := filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		k, _ := format.Detect(bytes.NewReader(data), int64(len(data)))
		if k != format.Pickle && k != format.PyTorchLegacy {
			return nil
		}
		if s := scanBytes(t, d, data, k, scan.Limits{}); len(s.findings) != 0 {
			t.Errorf("%s (%s):%s", path, k, describe(s.findings))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// FuzzScan: hostile bytes never make the detector panic or fail; it
// reports findings instead.
func FuzzScan(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "benign", "*.pkl"))
	for i, p := range files {
		if i%8 != 0 {
			continue
		}
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	for _, fx := range maliciousFixtures()[:20] {
		f.Add(fx.data)
	}
	d := sinktest.Detector(f, New)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, k := range []format.Kind{format.Pickle, format.PyTorchLegacy} {
			s := &fakeSink{d: d, limits: scan.DefaultLimits()}
			if err := d.Scan(context.Background(), &scan.Input{Path: "fuzz", R: bytes.NewReader(data), Size: int64(len(data)), Kind: k}, s); err != nil {
				t.Fatalf("Scan(%s): %v", k, err)
			}
		}
	})
}
