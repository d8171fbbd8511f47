package pickle

import (
	"testing"

	"github.com/mlsecops/mlsec/scan"
)

// knownBypassGadgets are imports that published scanner bypasses used to
// run code while a denylist-only scanner reported the file clean: every
// entry picklescan added to its unsafe globals after an advisory
// (CVE-2025-1716, CVE-2025-10155/10156/10157 and the 2025–2026 GHSAs),
// the gadgets fickling integrated from them (trailofbits/fickling#190,
// #210), and the pkgutil/importlib trampolines reported against both.
// mlsec fails closed (anything not allowlisted is already high), so this
// test pins the stronger property: each is graded critical.
var knownBypassGadgets = [][2]string{
	{"__builtin__", "apply"}, {"builtins", "apply"}, {"builtins", "breakpoint"},
	{"cloudpickle.cloudpickle", "_builtin_type"}, {"cloudpickle.cloudpickle", "_make_function"},
	{"cloudpickle.cloudpickle", "subimport"}, {"types", "CodeType"},
	{"aiohttp.client", "request"}, {"asyncio.unix_events", "_UnixSubprocessTransport._start"},
	{"asyncio.base_events", "BaseEventLoop.subprocess_shell"},
	{"bdb", "Bdb.run"}, {"commands", "getstatusoutput"}, {"ctypes", "CDLL"},
	{"functools", "partial"}, {"httplib", "HTTPSConnection"}, {"logging", "FileHandler"},
	{"_io", "FileIO"}, {"io", "FileIO"}, {"numpy.f2py.crackfortran", "getlincoef"},
	{"numpy.f2py.crackfortran", "_eval_length"}, {"numpy.testing._private.utils", "runstring"},
	{"nt", "system"}, {"posix", "system"}, {"_operator", "attrgetter"}, {"operator", "methodcaller"},
	{"os", "system"}, {"requests.api", "get"}, {"runpy", "_run_code"}, {"shutil", "copyfile"},
	{"socket", "create_connection"}, {"ssl", "get_server_certificate"}, {"subprocess", "Popen"},
	{"sys", "modules"}, {"code", "InteractiveInterpreter.runcode"}, {"cProfile", "runctx"},
	{"distutils.file_util", "write_file"}, {"doctest", "debug_script"}, {"ensurepip", "_run_pip"},
	{"idlelib.autocomplete", "AutoComplete.get_entity"}, {"idlelib.calltip", "get_entity"},
	{"idlelib.debugobj", "ObjectTreeItem.SetText"}, {"idlelib.pyshell", "ModifiedInterpreter.runcode"},
	{"idlelib.run", "Executive.runcode"}, {"imaplib", "IMAP4_stream"},
	{"lib2to3.pgen2.grammar", "Grammar.loads"}, {"lib2to3.pgen2.pgen", "ParserGenerator.make_label"},
	{"pdb", "Pdb.run"}, {"pickle", "loads"}, {"_pickle", "loads"}, {"pip", "main"},
	{"pip._internal", "main"}, {"pip._internal.cli.main", "main"},
	{"pip._vendor.distlib.scripts", "ScriptMaker"}, {"pkgutil", "resolve_name"},
	{"importlib", "import_module"}, {"importlib.util", "module_from_spec"},
	{"pty", "spawn"}, {"profile", "run"}, {"pydoc", "pipepager"}, {"pydoc", "locate"},
	{"test.support.script_helper", "assert_python_ok"}, {"timeit", "timeit"},
	{"torch._dynamo.guards", "GuardBuilder.get"}, {"torch._inductor.codecache", "compile_file"},
	{"torch.fx.experimental.symbolic_shapes", "ShapeEnv.evaluate_guards_expression"},
	{"torch.jit.unsupported_tensor_ops", "execWrapper"}, {"torch.serialization", "load"},
	{"torch.utils._config_module", "ConfigModule.load_config"},
	{"torch.utils.bottleneck.__main__", "run_cprofile"}, {"torch.utils.bottleneck.__main__", "run_autograd_prof"},
	{"torch.utils.collect_env", "run"},
	{"torch.utils.data.datapipes.utils.decoder", "basichandlers"},
	{"trace", "Trace.runctx"}, {"urllib.request", "urlopen"}, {"uuid", "_get_command_stdout"},
	{"venv", "create"}, {"webbrowser", "open"}, {"_osx_support", "_read_output"},
	{"_osx_support", "_find_build_tool"}, {"_aix_support", "_read_cmd_output"},
	{"_pyrepl.pager", "pipe_pager"}, {"_pyrepl.pager", "tempfile_pager"},
	{"marshal", "loads"}, {"builtins", "__import__"}, {"builtins", "getattr"},
	// the extension registry as a trampoline: register os.system, then EXT1
	{"copyreg", "add_extension"}, {"copy_reg", "add_extension"},
}

func TestKnownBypassGadgetsAreCritical(t *testing.T) {
	p := mustPolicy(t, scan.ImportLists{})
	for _, g := range knownBypassGadgets {
		if v := p.Judge(g[0], g[1]); v.Class != Denied {
			t.Errorf("%s.%s: %s, want denied (critical)", g[0], g[1], v.Class)
		}
	}
}
