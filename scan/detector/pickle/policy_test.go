package pickle

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/scan"
)

func mustPolicy(t *testing.T, lists scan.ImportLists) *Policy {
	t.Helper()
	p, err := NewPolicy(lists)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestJudge(t *testing.T) {
	p := mustPolicy(t, scan.ImportLists{})
	tests := []struct {
		module, name string
		want         Verdict
	}{
		// allowlist: exact entries
		{"torch._utils", "_rebuild_tensor_v2", Verdict{Class: Allowed, Path: "torch._utils._rebuild_tensor_v2"}},
		{"torch", "FloatStorage", Verdict{Class: Allowed, Path: "torch.FloatStorage"}},
		{"torch.nn.modules.linear", "Linear", Verdict{Class: Allowed, Path: "torch.nn.modules.linear.Linear"}},
		{"collections", "OrderedDict", Verdict{Class: Allowed, Path: "collections.OrderedDict"}},
		{"numpy.core.multiarray", "_reconstruct", Verdict{Class: Allowed, Path: "numpy.core.multiarray._reconstruct"}},
		{"numpy._core.multiarray", "_reconstruct", Verdict{Class: Allowed, Path: "numpy._core.multiarray._reconstruct"}},
		{"sklearn.tree._tree", "Tree", Verdict{Class: Allowed, Path: "sklearn.tree._tree.Tree"}},
		{"joblib.numpy_pickle", "NumpyArrayWrapper", Verdict{Class: Allowed, Path: "joblib.numpy_pickle.NumpyArrayWrapper"}},
		{"copyreg", "__newobj__", Verdict{Class: Allowed, Path: "copyreg.__newobj__"}},
		{"torch.storage", "_load_from_bytes", Verdict{Class: Allowed, Path: "torch.storage._load_from_bytes"}},
		// false positives of earlier releases (issue 11): each is one entry
		{"torch", "OrderedDict", Verdict{Class: Allowed, Path: "torch.OrderedDict"}},
		{"builtins", "len", Verdict{Class: Allowed, Path: "builtins.len"}},
		{"__builtin__", "len", Verdict{Class: Allowed, Path: "builtins.len"}},
		{"collections.abc", "Iterable", Verdict{Class: Allowed, Path: "collections.abc.Iterable"}},
		{"__future__", "annotations", Verdict{Class: Allowed, Path: "__future__.annotations"}},
		{"__future__", "print_function", Verdict{Class: Allowed, Path: "__future__.print_function"}},
		// ... and only those: neighbours stay unknown or denied
		{"__future__", "_Feature", Verdict{Class: Unknown, Path: "__future__._Feature"}},
		{"collections.abc", "Callable", Verdict{Class: Unknown, Path: "collections.abc.Callable"}},
		{"torch", "load", Verdict{Class: Denied, Path: "torch.load", Category: catLoader}},
		{"builtins", "len.__self__", Verdict{Class: Dunder, Path: "builtins.len.__self__"}},
		// Python 2 names are mapped at every protocol.
		{"__builtin__", "set", Verdict{Class: Allowed, Path: "builtins.set"}},
		{"copy_reg", "_reconstructor", Verdict{Class: Allowed, Path: "copyreg._reconstructor"}},
		{"__builtin__", "xrange", Verdict{Class: Allowed, Path: "builtins.range"}},
		{"__builtin__", "eval", Verdict{Class: Denied, Path: "builtins.eval", Category: catCode}},
		{"__builtin__", "reduce", Verdict{Class: Denied, Path: "functools.reduce", Category: catImport}},
		{"__builtin__", "intern", Verdict{Class: Denied, Path: "sys.intern", Category: catInterp}},
		{"commands", "getoutput", Verdict{Class: Denied, Path: "subprocess.getoutput", Category: catCommand}},
		{"cPickle", "loads", Verdict{Class: Denied, Path: "pickle.loads", Category: catLoader}},
		{"urllib", "urlretrieve", Verdict{Class: Denied, Path: "urllib.request.urlretrieve", Category: catFileNet}},
		// protocol 4 attribute walks with an alias table
		{"torch._utils", "torch.channels_last", Verdict{Class: Allowed, Path: "torch._utils.torch.channels_last", Target: "torch.channels_last"}},
		{"tempfile", "_os.system", Verdict{Class: Denied, Path: "tempfile._os.system", Target: "os.system", Category: catCommand}},
		{"torch.serialization", "os.system", Verdict{Class: Denied, Path: "torch.serialization.os.system", Target: "os.system", Category: catCommand}},
		{"sklearn.tree._tree", "os.system", Verdict{Class: Denied, Path: "sklearn.tree._tree.os.system", Target: "os.system", Category: catCommand}},
		{"numpy", "_os.popen", Verdict{Class: Denied, Path: "numpy._os.popen", Target: "os.popen", Category: catCommand}},
		{"builtins", "eval.__call__", Verdict{Class: Denied, Path: "builtins.eval.__call__", Category: catCode}},
		{"collections", "__builtins__.exec", Verdict{Class: Denied, Path: "collections.__builtins__.exec", Target: "builtins.exec", Category: catCode}},
		{"builtins", "len.__self__.exec", Verdict{Class: Denied, Path: "builtins.len.__self__.exec", Target: "builtins.exec", Category: catCode}},
		{"collections", "OrderedDict.__init__", Verdict{Class: Dunder, Path: "collections.OrderedDict.__init__"}},
		{"numpy", "dtype.__class__", Verdict{Class: Dunder, Path: "numpy.dtype.__class__"}},
		{"collections", "OrderedDict.fromkeys", Verdict{Class: Unknown, Path: "collections.OrderedDict.fromkeys"}},
		// TorchScript class namespace
		{"__torch__.torch.nn.modules.linear", "Linear", Verdict{Class: Allowed, Path: "__torch__.torch.nn.modules.linear.Linear"}},
		{"__torch__.torch.nn.modules.linear.___torch_mangle_0", "Linear", Verdict{Class: Allowed, Path: "__torch__.torch.nn.modules.linear.___torch_mangle_0.Linear"}},
		{"__torch__", "os.system", Verdict{Class: Denied, Path: "__torch__.os.system", Target: "os.system", Category: catCommand}},
		{"__torch__", "X.__class__", Verdict{Class: Dunder, Path: "__torch__.X.__class__"}},
		{"__torchx__", "X", Verdict{Class: Unknown, Path: "__torchx__.X"}},
		// unknown: not allowlisted
		{"__main__", "Net", Verdict{Class: Unknown, Path: "__main__.Net"}},
		{"collections", "namedtuple", Verdict{Class: Unknown, Path: "collections.namedtuple"}},
		{"builtins", "type", Verdict{Class: Unknown, Path: "builtins.type"}},
		{"joblib.numpy_pickle_compat", "NDArrayWrapper", Verdict{Class: Denied, Path: "joblib.numpy_pickle_compat.NDArrayWrapper", Category: catLoader}},
		{"torch.nn.modules", "linear.Linear", Verdict{Class: Allowed, Path: "torch.nn.modules.linear.Linear"}},
		// denylist categories
		{"os", "system", Verdict{Class: Denied, Path: "os.system", Category: catCommand}},
		{"posix", "system", Verdict{Class: Denied, Path: "posix.system", Category: catCommand}},
		{"nt", "system", Verdict{Class: Denied, Path: "nt.system", Category: catCommand}},
		{"os.path", "join", Verdict{Class: Denied, Path: "os.path.join", Category: catCommand}},
		{"subprocess", "Popen", Verdict{Class: Denied, Path: "subprocess.Popen", Category: catCommand}},
		{"pty", "spawn", Verdict{Class: Denied, Path: "pty.spawn", Category: catCommand}},
		{"asyncio.subprocess", "create_subprocess_shell", Verdict{Class: Denied, Path: "asyncio.subprocess.create_subprocess_shell", Category: catCommand}},
		{"multiprocessing.util", "spawnv_passfds", Verdict{Class: Denied, Path: "multiprocessing.util.spawnv_passfds", Category: catCommand}},
		{"uuid", "_get_command_stdout", Verdict{Class: Denied, Path: "uuid._get_command_stdout", Category: catCommand}},
		{"uuid", "UUID", Verdict{Class: Allowed, Path: "uuid.UUID"}},
		{"_osx_support", "_read_output", Verdict{Class: Denied, Path: "_osx_support._read_output", Category: catCommand}},
		{"_aix_support", "_read_cmd_output", Verdict{Class: Denied, Path: "_aix_support._read_cmd_output", Category: catCommand}},
		{"imaplib", "IMAP4_stream", Verdict{Class: Denied, Path: "imaplib.IMAP4_stream", Category: catCommand}},
		{"builtins", "exec", Verdict{Class: Denied, Path: "builtins.exec", Category: catCode}},
		{"builtins", "compile", Verdict{Class: Denied, Path: "builtins.compile", Category: catCode}},
		{"builtins", "__import__", Verdict{Class: Denied, Path: "builtins.__import__", Category: catCode}},
		{"builtins", "getattr", Verdict{Class: Denied, Path: "builtins.getattr", Category: catCode}},
		{"builtins", "setattr", Verdict{Class: Denied, Path: "builtins.setattr", Category: catCode}},
		{"builtins", "vars", Verdict{Class: Denied, Path: "builtins.vars", Category: catCode}},
		{"builtins", "globals", Verdict{Class: Denied, Path: "builtins.globals", Category: catCode}},
		{"builtins", "open", Verdict{Class: Denied, Path: "builtins.open", Category: catCode}},
		{"runpy", "_run_code", Verdict{Class: Denied, Path: "runpy._run_code", Category: catCode}},
		{"timeit", "timeit", Verdict{Class: Denied, Path: "timeit.timeit", Category: catCode}},
		{"cProfile", "run", Verdict{Class: Denied, Path: "cProfile.run", Category: catCode}},
		{"profile", "Profile", Verdict{Class: Denied, Path: "profile.Profile", Category: catCode}},
		{"pdb", "run", Verdict{Class: Denied, Path: "pdb.run", Category: catCode}},
		{"bdb", "Bdb", Verdict{Class: Denied, Path: "bdb.Bdb", Category: catCode}},
		{"trace", "Trace", Verdict{Class: Denied, Path: "trace.Trace", Category: catCode}},
		{"code", "InteractiveInterpreter", Verdict{Class: Denied, Path: "code.InteractiveInterpreter", Category: catCode}},
		{"doctest", "debug_script", Verdict{Class: Denied, Path: "doctest.debug_script", Category: catCode}},
		{"idlelib.pyshell", "ModifiedInterpreter", Verdict{Class: Denied, Path: "idlelib.pyshell.ModifiedInterpreter", Category: catCode}},
		{"lib2to3.pgen2.pgen", "generate_grammar", Verdict{Class: Denied, Path: "lib2to3.pgen2.pgen.generate_grammar", Category: catCode}},
		{"numpy.testing._private.utils", "runstring", Verdict{Class: Denied, Path: "numpy.testing._private.utils.runstring", Category: catCode}},
		{"numpy.f2py.diagnose", "run_command", Verdict{Class: Denied, Path: "numpy.f2py.diagnose.run_command", Category: catCode}},
		{"torch.jit", "load", Verdict{Class: Denied, Path: "torch.jit.load", Category: catCode}},
		{"torch.fx.graph_module", "reduce_graph_module", Verdict{Class: Denied, Path: "torch.fx.graph_module.reduce_graph_module", Category: catCode}},
		{"torch._dynamo", "optimize", Verdict{Class: Denied, Path: "torch._dynamo.optimize", Category: catCode}},
		{"torch.utils.collect_env", "run", Verdict{Class: Denied, Path: "torch.utils.collect_env.run", Category: catCommand}},
		{"types", "CodeType", Verdict{Class: Denied, Path: "types.CodeType", Category: catCode}},
		{"types", "FunctionType", Verdict{Class: Denied, Path: "types.FunctionType", Category: catCode}},
		{"marshal", "loads", Verdict{Class: Denied, Path: "marshal.loads", Category: catCode}},
		{"importlib", "import_module", Verdict{Class: Denied, Path: "importlib.import_module", Category: catImport}},
		{"pkgutil", "resolve_name", Verdict{Class: Denied, Path: "pkgutil.resolve_name", Category: catImport}},
		{"pydoc", "locate", Verdict{Class: Denied, Path: "pydoc.locate", Category: catImport}},
		{"operator", "attrgetter", Verdict{Class: Denied, Path: "operator.attrgetter", Category: catImport}},
		{"_operator", "methodcaller", Verdict{Class: Denied, Path: "_operator.methodcaller", Category: catImport}},
		{"operator", "itemgetter", Verdict{Class: Denied, Path: "operator.itemgetter", Category: catImport}},
		{"functools", "partial", Verdict{Class: Denied, Path: "functools.partial", Category: catImport}},
		{"pickle", "loads", Verdict{Class: Denied, Path: "pickle.loads", Category: catLoader}},
		{"_pickle", "loads", Verdict{Class: Denied, Path: "_pickle.loads", Category: catLoader}},
		{"dill", "loads", Verdict{Class: Denied, Path: "dill.loads", Category: catLoader}},
		{"cloudpickle", "loads", Verdict{Class: Denied, Path: "cloudpickle.loads", Category: catLoader}},
		{"joblib", "load", Verdict{Class: Denied, Path: "joblib.load", Category: catLoader}},
		{"torch", "load", Verdict{Class: Denied, Path: "torch.load", Category: catLoader}},
		{"torch.hub", "load", Verdict{Class: Denied, Path: "torch.hub.load", Category: catLoader}},
		{"numpy", "load", Verdict{Class: Denied, Path: "numpy.load", Category: catLoader}},
		{"shutil", "rmtree", Verdict{Class: Denied, Path: "shutil.rmtree", Category: catFileNet}},
		{"tempfile", "mkdtemp", Verdict{Class: Denied, Path: "tempfile.mkdtemp", Category: catFileNet}},
		{"io", "open", Verdict{Class: Denied, Path: "io.open", Category: catFileNet}},
		{"_io", "FileIO", Verdict{Class: Denied, Path: "_io.FileIO", Category: catFileNet}},
		{"logging", "FileHandler", Verdict{Class: Denied, Path: "logging.FileHandler", Category: catFileNet}},
		{"logging.handlers", "RotatingFileHandler", Verdict{Class: Denied, Path: "logging.handlers.RotatingFileHandler", Category: catFileNet}},
		{"socket", "create_connection", Verdict{Class: Denied, Path: "socket.create_connection", Category: catFileNet}},
		{"ssl", "wrap_socket", Verdict{Class: Denied, Path: "ssl.wrap_socket", Category: catFileNet}},
		{"urllib.request", "urlopen", Verdict{Class: Denied, Path: "urllib.request.urlopen", Category: catFileNet}},
		{"http.client", "HTTPConnection", Verdict{Class: Denied, Path: "http.client.HTTPConnection", Category: catFileNet}},
		{"requests", "get", Verdict{Class: Denied, Path: "requests.get", Category: catFileNet}},
		{"smtplib", "SMTP", Verdict{Class: Denied, Path: "smtplib.SMTP", Category: catFileNet}},
		{"webbrowser", "open", Verdict{Class: Denied, Path: "webbrowser.open", Category: catFileNet}},
		{"pip", "main", Verdict{Class: Denied, Path: "pip.main", Category: catInstaller}},
		{"pip._internal.cli.main", "main", Verdict{Class: Denied, Path: "pip._internal.cli.main.main", Category: catInstaller}},
		{"ensurepip", "bootstrap", Verdict{Class: Denied, Path: "ensurepip.bootstrap", Category: catInstaller}},
		{"venv", "create", Verdict{Class: Denied, Path: "venv.create", Category: catInstaller}},
		{"ctypes", "CDLL", Verdict{Class: Denied, Path: "ctypes.CDLL", Category: catNative}},
		{"sys", "modules", Verdict{Class: Denied, Path: "sys.modules", Category: catInterp}},
		{"picklescan.scanner", "scan_pickle_bytes", Verdict{Class: Denied, Path: "picklescan.scanner.scan_pickle_bytes", Category: catScanner}},
		{"fickling", "is_likely_safe", Verdict{Class: Denied, Path: "fickling.is_likely_safe", Category: catScanner}},
		{"modelscan.modelscan", "ModelScan", Verdict{Class: Denied, Path: "modelscan.modelscan.ModelScan", Category: catScanner}},
		{"modelaudit", "scan", Verdict{Class: Denied, Path: "modelaudit.scan", Category: catScanner}},
		// near misses are not denied by prefix accident
		{"codecs", "lookup", Verdict{Class: Unknown, Path: "codecs.lookup"}},
		{"ossaudiodev", "open", Verdict{Class: Unknown, Path: "ossaudiodev.open"}},
		{"systemd", "x", Verdict{Class: Unknown, Path: "systemd.x"}},
	}
	for _, tt := range tests {
		got := p.Judge(tt.module, tt.name)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Judge(%q, %q) mismatch (-want +got):\n%s", tt.module, tt.name, diff)
		}
	}
}

func TestJudgeUserLists(t *testing.T) {
	p := mustPolicy(t, scan.ImportLists{
		Allow: []string{"mypkg.layers:Block", "otherpkg:*", "os:system", "__main__:Net"},
		Deny:  []string{"collections:OrderedDict", "evil:*"},
	})
	tests := []struct {
		module, name string
		want         Class
	}{
		{"mypkg.layers", "Block", Allowed},
		{"mypkg.layers", "Other", Unknown},
		{"mypkg", "layers.Block", Allowed}, // same object through the walk
		{"otherpkg", "Anything", Allowed},
		{"otherpkg.sub", "Thing", Allowed},
		{"otherpkgs", "Thing", Unknown},
		{"otherpkg", "Thing.__init__", Dunder}, // a wildcard does not bless dunder walks
		{"otherpkg", "__builtins__.eval", Denied},
		{"os", "system", Denied}, // deny wins over the user's allow
		{"__main__", "Net", Allowed},
		{"collections", "OrderedDict", Denied}, // user deny wins over the built-in allow
		{"evil.sub", "x", Denied},
	}
	for _, tt := range tests {
		if got := p.Judge(tt.module, tt.name).Class; got != tt.want {
			t.Errorf("Judge(%q, %q) = %v, want %v", tt.module, tt.name, got, tt.want)
		}
	}
	if v := p.Judge("evil", "x"); v.Category != catUser {
		t.Errorf("user deny category = %q, want %q", v.Category, catUser)
	}
}

func TestNewPolicyBadEntries(t *testing.T) {
	for _, e := range []string{"os.system", "", ":x", "os:", "a b:c", "a..b:c", "os:sys*tem"} {
		if _, err := NewPolicy(scan.ImportLists{Deny: []string{e}}); !errors.Is(err, ErrBadEntry) {
			t.Errorf("deny %q: err = %v, want ErrBadEntry", e, err)
		}
		if _, err := NewPolicy(scan.ImportLists{Allow: []string{e}}); !errors.Is(err, ErrBadEntry) {
			t.Errorf("allow %q: err = %v, want ErrBadEntry", e, err)
		}
	}
}

func TestJudgeModuleAndLoaders(t *testing.T) {
	p := mustPolicy(t, scan.ImportLists{})
	for mod, want := range map[string]Class{"os": Denied, "__builtin__": Unknown, "cPickle": Denied, "torch._utils": Unknown, "": Unknown} {
		if got := p.JudgeModule(mod).Class; got != want {
			t.Errorf("JudgeModule(%q) = %v, want %v", mod, got, want)
		}
	}
	for callee, want := range map[string][2]bool{
		"pickle.loads":                   {true, false},
		"_pickle.loads":                  {true, false},
		"marshal.loads":                  {true, false},
		"torch.load":                     {true, false},
		"dill.loads":                     {true, false},
		"cloudpickle.loads":              {true, false},
		"joblib.load":                    {true, false},
		"numpy.loads":                    {true, false},
		"torch.storage._load_from_bytes": {true, true},
		"os.system":                      {false, false},
		"":                               {false, false},
	} {
		l, s := p.IsLoader(callee)
		if [2]bool{l, s} != want {
			t.Errorf("IsLoader(%q) = %v %v, want %v", callee, l, s, want)
		}
	}
}

// Every built-in list entry must be well-formed and no allowlist entry may
// also be denied (that would make it dead data).
func TestBuiltinListsConsistent(t *testing.T) {
	p := mustPolicy(t, scan.ImportLists{})
	for _, g := range builtinAllow {
		for _, e := range g.entries {
			path, _, _ := parseEntry(e)
			mod, name, _ := splitEntry(e)
			if v := p.Judge(mod, name); v.Class != Allowed {
				t.Errorf("allowlist %s entry %s (%s) judged %v (%s)", g.name, e, path, v.Class, v.Category)
			}
		}
	}
}

func splitEntry(e string) (string, string, bool) {
	for i := 0; i < len(e); i++ {
		if e[i] == ':' {
			return e[:i], e[i+1:], true
		}
	}
	return e, "", false
}
