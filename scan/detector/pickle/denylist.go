package pickle

// A denyGroup is one category of imports graded critical. Entries are
// "module:qualname" or "module:*"; a module-wide entry also covers its
// submodules and every attribute walk below it. Denylist entries only raise
// severity (anything not allowlisted is already high), so they may be
// broad.
type denyGroup struct {
	category string
	entries  []string
}

// Deny categories, as they appear in finding messages.
const (
	catCommand   = "command execution"
	catCode      = "code execution"
	catImport    = "import trampoline"
	catLoader    = "nested loader"
	catFileNet   = "file or network side effect"
	catInstaller = "package installer"
	catNative    = "native code"
	catInterp    = "interpreter state"
	catScanner   = "scanner tampering"
	catUser      = "denied by configuration"
)

// builtinDeny is the built-in denylist.
var builtinDeny = []denyGroup{
	{catCommand, []string{
		"os:*", "posix:*", "nt:*", "subprocess:*", "_posixsubprocess:*", "_winapi:*",
		"pty:*", "pipes:*", "popen2:*", "commands:*",
		"asyncio:*", // asyncio.subprocess, create_subprocess_exec/shell, event loops
		"multiprocessing.spawn:*", "multiprocessing.popen_fork:*",
		"multiprocessing.popen_forkserver:*", "multiprocessing.popen_spawn_posix:*",
		"multiprocessing.popen_spawn_win32:*", "multiprocessing.forkserver:*",
		"multiprocessing.util:spawnv_passfds", "multiprocessing.util:_spawn_passfds",
		"multiprocessing.context:Process", "multiprocessing.process:BaseProcess",
		"multiprocessing.reduction:*",
		"uuid:_get_command_stdout", "uuid:_popen", "uuid:_find_mac",
		"uuid:_find_mac_near_keyword", "uuid:_find_mac_under_heading",
		"uuid:_ifconfig_getnode", "uuid:_ip_getnode", "uuid:_arp_getnode",
		"uuid:_lanscan_getnode", "uuid:_netstat_getnode", "uuid:_ipconfig_getnode",
		"_osx_support:*", "_aix_support:*",
		"imaplib:IMAP4_stream",
		"platform:_syscmd_file", "platform:_syscmd_ver", "platform:popen",
		"torch.utils.collect_env:*",
		"test:*",    // test.support.script_helper.assert_python_ok & co. spawn interpreters
		"_pyrepl:*", // _pyrepl.pager pipe_pager/tempfile_pager run a shell command
	}},
	{catCode, []string{
		"builtins:eval", "builtins:exec", "builtins:compile", "builtins:__import__",
		"builtins:getattr", "builtins:setattr", "builtins:delattr", "builtins:vars",
		"builtins:globals", "builtins:locals", "builtins:open", "builtins:breakpoint",
		"builtins:help", "builtins:input", "builtins:exit", "builtins:quit",
		"builtins:__build_class__", "builtins:__loader__",
		"builtins:apply", // Python 2 apply(f, args), reached as __builtin__.apply
		"runpy:*", "timeit:*", "cProfile:*", "profile:*", "pdb:*", "bdb:*",
		"trace:*", "code:*", "codeop:*", "doctest:*", "idlelib:*", "lib2to3:*",
		"types:CodeType", "types:FunctionType", "types:LambdaType", "types:MethodType",
		"types:new_class", "marshal:*", "site:*", "IPython:*",
		"numpy.testing:*", "numpy.f2py:*", "numpy.distutils:*", "numpy.ctypeslib:*",
		"torch.jit:load", "torch.jit:script", "torch.jit:trace", "torch.jit:CompilationUnit",
		"torch.jit._script:*", "torch.jit._serialization:*", "torch.jit.frontend:*",
		"torch.jit._trace:*", "torch.jit._recursive:*",
		"torch.fx:*", "torch._dynamo:*", "torch._inductor:*", "torch:compile",
		"torch._C:*", "torch.package:*", "torch.utils.cpp_extension:*",
		"torch.ops:*", "torch.classes:*", "torch.testing:*", "torch.distributed:*",
		"torch.multiprocessing:*",
		"torch.jit.unsupported_tensor_ops:*", // execWrapper is exec
		"torch.utils.bottleneck:*",           // run_cprofile/run_autograd_prof exec code
	}},
	{catImport, []string{
		"importlib:*", "_imp:*", "_frozen_importlib:*", "_frozen_importlib_external:*",
		"zipimport:*", "pkgutil:*", "pydoc:*", "pkg_resources:*",
		"operator:*", "_operator:*",
		"functools:partial", "functools:partialmethod", "functools:reduce",
		"functools:singledispatch", "_functools:*",
		"gc:*", "inspect:*",
		// add_extension registers (module, name) under an EXT code, so a
		// later EXT1/2/4 imports it without a GLOBAL.
		"copyreg:add_extension", "copyreg:_extension_registry", "copyreg:_inverted_registry",
	}},
	{catLoader, []string{
		"pickle:*", "_pickle:*", "cPickle:*", "dill:*", "cloudpickle:*", "shelve:*",
		"jsonpickle:*", "joblib:load", "joblib.numpy_pickle:load",
		"joblib.numpy_pickle_compat:*",
		"torch:load", "torch.serialization:load", "torch.serialization:_load",
		"torch.serialization:_legacy_load", "torch.hub:*", "torch:hub",
		"numpy:load", "numpy:loads", "numpy.lib.npyio:load", "numpy.lib._npyio_impl:load",
		"numpy.lib.format:*", "numpy.ma:loads", "numpy.ma.core:loads",
		"numpy.core.multiarray:loads", "numpy:fromfile", "numpy:loadtxt", "numpy:genfromtxt",
		"pandas:read_pickle", "pandas.io.pickle:*",
		"yaml:load", "yaml:unsafe_load", "yaml:full_load", "yaml:load_all", "yaml:unsafe_load_all",
		"keras.models:load_model", "tensorflow:*",
		"torch.utils._config_module:*",               // ConfigModule.load_config unpickles bytes
		"torch.utils.data.datapipes.utils.decoder:*", // basichandlers unpickles bytes
	}},
	{catFileNet, []string{
		"shutil:*", "tempfile:*", "io:*", "_io:*", "codecs:open", "codecs:EncodedFile",
		"fileinput:*", "zipfile:*", "tarfile:*", "gzip:open", "bz2:open", "lzma:open",
		"mmap:*", "sqlite3:*", "dbm:*", "mailbox:*", "numpy:memmap", "numpy:save",
		"numpy:savez", "numpy:savez_compressed", "numpy:savetxt",
		"logging:FileHandler", "logging:basicConfig", "logging.config:*", "logging.handlers:*",
		"socket:*", "_socket:*", "ssl:*", "_ssl:*", "select:*", "selectors:*",
		"urllib:*", "http:*", "requests:*", "httpx:*", "urllib3:*", "aiohttp:*",
		"smtplib:*", "ftplib:*", "poplib:*", "imaplib:*", "nntplib:*", "telnetlib:*",
		"socketserver:*", "xmlrpc:*", "webbrowser:*", "wsgiref:*",
	}},
	{catInstaller, []string{
		"pip:*", "ensurepip:*", "venv:*", "setuptools:*", "distutils:*", "_distutils_hack:*",
	}},
	{catNative, []string{"ctypes:*", "_ctypes:*", "cffi:*"}},
	{catInterp, []string{"sys:*", "_thread:*", "threading:*", "signal:*"}},
	{catScanner, []string{
		"picklescan:*", "fickling:*", "modelscan:*", "modelaudit:*",
	}},
}

// loaderCallees are callables whose first argument is a serialized payload
// (or, for the file-based ones, a path). A call to one with a literal first
// argument gets that literal scanned as a nested input.
var loaderCallees = []string{
	"pickle:loads", "pickle:_loads", "pickle:load", "_pickle:loads", "_pickle:load",
	"cPickle:loads", "dill:loads", "dill._dill:loads", "cloudpickle:loads",
	"cloudpickle.cloudpickle:loads", "marshal:loads", "numpy:loads",
	"numpy.ma:loads", "numpy.ma.core:loads", "numpy.core.multiarray:loads",
	"torch:load", "torch.serialization:load", "torch.storage:_load_from_bytes",
	"joblib:load", "joblib.numpy_pickle:load", "pandas:read_pickle",
	"jsonpickle:decode", "yaml:load", "yaml:unsafe_load", "yaml:full_load",
}
