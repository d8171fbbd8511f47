package pickle

// Python 2 names. CPython's unpickler rewrites them (Lib/_compat_pickle.py)
// only while the stream's protocol is below 3; a protocol 3+ GLOBAL naming
// __builtin__ fails to import on a stock Python 3. The policy nevertheless
// maps them at every protocol: a later PROTO opcode can lower the protocol
// mid-stream, an environment may provide a "__builtin__" module (the future
// and six shims install similar aliases), and mapping can only make the
// verdict stricter, never looser, because an unmapped Python 2 name is not
// on the allowlist anyway. The analyzer applies CPython's exact behaviour
// and marks such imports Import.Mapped; this table is the policy's own
// fail-closed pass and covers every module CPython maps.

// py2Modules maps Python 2 module names to their Python 3 modules.
var py2Modules = map[string]string{
	"__builtin__": "builtins", "copy_reg": "copyreg", "Queue": "queue",
	"SocketServer": "socketserver", "ConfigParser": "configparser", "repr": "reprlib",
	"tkFileDialog": "tkinter.filedialog", "tkSimpleDialog": "tkinter.simpledialog",
	"tkColorChooser": "tkinter.colorchooser", "tkCommonDialog": "tkinter.commondialog",
	"Dialog": "tkinter.dialog", "Tkdnd": "tkinter.dnd", "tkFont": "tkinter.font",
	"tkMessageBox": "tkinter.messagebox", "ScrolledText": "tkinter.scrolledtext",
	"Tkconstants": "tkinter.constants", "Tix": "tkinter.tix", "ttk": "tkinter.ttk",
	"Tkinter": "tkinter", "markupbase": "_markupbase", "_winreg": "winreg",
	"thread": "_thread", "dummy_thread": "_dummy_thread", "dbhash": "dbm.bsd",
	"dumbdbm": "dbm.dumb", "dbm": "dbm.ndbm", "gdbm": "dbm.gnu",
	"xmlrpclib": "xmlrpc.client", "SimpleXMLRPCServer": "xmlrpc.server",
	"httplib": "http.client", "htmlentitydefs": "html.entities",
	"HTMLParser": "html.parser", "Cookie": "http.cookies", "cookielib": "http.cookiejar",
	"BaseHTTPServer": "http.server", "test.test_support": "test.support",
	"commands": "subprocess", "urlparse": "urllib.parse", "robotparser": "urllib.robotparser",
	"urllib2": "urllib.request", "anydbm": "dbm", "_abcoll": "collections.abc",
	"cPickle": "pickle", "_elementtree": "xml.etree.ElementTree",
	"FileDialog": "tkinter.filedialog", "SimpleDialog": "tkinter.simpledialog",
	"DocXMLRPCServer": "xmlrpc.server", "SimpleHTTPServer": "http.server",
	"CGIHTTPServer": "http.server", "UserDict": "collections", "UserList": "collections",
	"UserString": "collections", "whichdb": "dbm", "StringIO": "io", "cStringIO": "io",
	"exceptions": "builtins",
}

// py2Names maps Python 2 (module, name) pairs that moved to another module.
// It is consulted before py2Modules, as CPython does.
var py2Names = map[[2]string][2]string{
	{"__builtin__", "xrange"}:              {"builtins", "range"},
	{"__builtin__", "reduce"}:              {"functools", "reduce"},
	{"__builtin__", "intern"}:              {"sys", "intern"},
	{"__builtin__", "unichr"}:              {"builtins", "chr"},
	{"__builtin__", "unicode"}:             {"builtins", "str"},
	{"__builtin__", "long"}:                {"builtins", "int"},
	{"__builtin__", "basestring"}:          {"builtins", "str"},
	{"__builtin__", "execfile"}:            {"builtins", "exec"}, // not in CPython's table; Python 2's file exec
	{"itertools", "izip"}:                  {"builtins", "zip"},
	{"itertools", "imap"}:                  {"builtins", "map"},
	{"itertools", "ifilter"}:               {"builtins", "filter"},
	{"itertools", "ifilterfalse"}:          {"itertools", "filterfalse"},
	{"itertools", "izip_longest"}:          {"itertools", "zip_longest"},
	{"UserDict", "IterableUserDict"}:       {"collections", "UserDict"},
	{"UserDict", "UserDict"}:               {"collections", "UserDict"},
	{"UserList", "UserList"}:               {"collections", "UserList"},
	{"UserString", "UserString"}:           {"collections", "UserString"},
	{"whichdb", "whichdb"}:                 {"dbm", "whichdb"},
	{"_socket", "fromfd"}:                  {"socket", "fromfd"},
	{"socket", "_socketobject"}:            {"socket", "SocketType"},
	{"exceptions", "StandardError"}:        {"builtins", "Exception"},
	{"_multiprocessing", "Connection"}:     {"multiprocessing.connection", "Connection"},
	{"multiprocessing.process", "Process"}: {"multiprocessing.context", "Process"},
	{"multiprocessing.forking", "Popen"}:   {"multiprocessing.popen_fork", "Popen"},
	{"urllib", "ContentTooShortError"}:     {"urllib.error", "ContentTooShortError"},
	{"urllib", "getproxies"}:               {"urllib.request", "getproxies"},
	{"urllib", "pathname2url"}:             {"urllib.request", "pathname2url"},
	{"urllib", "quote_plus"}:               {"urllib.parse", "quote_plus"},
	{"urllib", "quote"}:                    {"urllib.parse", "quote"},
	{"urllib", "unquote_plus"}:             {"urllib.parse", "unquote_plus"},
	{"urllib", "unquote"}:                  {"urllib.parse", "unquote"},
	{"urllib", "url2pathname"}:             {"urllib.request", "url2pathname"},
	{"urllib", "urlcleanup"}:               {"urllib.request", "urlcleanup"},
	{"urllib", "urlencode"}:                {"urllib.parse", "urlencode"},
	{"urllib", "urlopen"}:                  {"urllib.request", "urlopen"},
	{"urllib", "urlretrieve"}:              {"urllib.request", "urlretrieve"},
	{"urllib2", "HTTPError"}:               {"urllib.error", "HTTPError"},
	{"urllib2", "URLError"}:                {"urllib.error", "URLError"},
}

// mapPy2 applies the Python 2 name mapping and reports whether it changed
// anything.
func mapPy2(module, name string) (string, string, bool) {
	if to, ok := py2Names[[2]string{module, name}]; ok {
		return to[0], to[1], true
	}
	if to, ok := py2Modules[module]; ok {
		return to, name, true
	}
	return module, name, false
}
