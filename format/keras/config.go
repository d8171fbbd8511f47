// Package keras analyses Keras model configurations — the config.json of a
// Keras v3 .keras archive and the model_config / training_config attributes
// of a Keras 2 HDF5 model — for constructs that make loading the model run
// code: Lambda layers with marshalled bytecode, references to modules,
// classes or functions outside Keras, TFSMLayer, and file paths or URLs.
//
// The analysis is static: configurations are decoded as JSON with caps on
// size, nesting depth and node count; nothing is imported or executed.
package keras

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

//go:embed classes.txt
var classesTxt string

// knownClasses is the set of built-in Keras class names in classes.txt.
var knownClasses = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(classesTxt))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			m[line] = true
		}
	}
	return m
})

// builtinClass reports whether name is a built-in Keras class, also in the
// "Custom>Adam" form tf.keras 2.11+ writes for its own optimizers.
func builtinClass(name string) bool {
	if pkg, n, ok := strings.Cut(name, ">"); ok {
		if pkg != "Custom" && pkg != "keras" && !strings.HasPrefix(pkg, "keras.") {
			return false
		}
		name = n
	}
	return knownClasses()[name]
}

// specialClass reports the class names Keras 3 uses for serialized plain
// values (tensors, arrays, bytes, slices, tuples, symbolic tensors).
func specialClass(name string) bool {
	switch name {
	case "__tensor__", "__numpy__", "__bytes__", "__slice__", "__ellipsis__", "__typespec__",
		"__keras_tensor__", "__tuple__", "__dict__", "__list__":
		return true
	}
	return false
}

// Sentinel errors. Errors returned by this package wrap one of them.
var (
	// ErrFormat means the configuration is not well-formed JSON or not a
	// Keras archive.
	ErrFormat = errors.New("keras: malformed input")
	// ErrLimit means a cap in Options was exceeded.
	ErrLimit = errors.New("keras: limit exceeded")
)

// IssueKind classifies a finding in a configuration.
type IssueKind string

// The issue kinds.
const (
	// Lambda is a serialized Python lambda or function bytecode (Keras 3
	// "__lambda__" objects, Keras 2 Lambda layers with function_type
	// "lambda").
	Lambda IssueKind = "lambda"
	// DangerousReference names a module, class or function from a module
	// that runs commands or code (os, subprocess, builtins, ...).
	DangerousReference IssueKind = "dangerous-reference"
	// ForeignReference names a module, class, registered name or function
	// outside the Keras allowlist: loading imports or calls it.
	ForeignReference IssueKind = "foreign-reference"
	// TFSMLayer loads a TensorFlow SavedModel from a path.
	TFSMLayer IssueKind = "tfsmlayer"
	// ExternalPath is a file system path or URL in the configuration.
	ExternalPath IssueKind = "external-path"
)

// Issue is one finding in a configuration.
type Issue struct {
	Kind IssueKind
	// Path is the JSON path of the value, e.g. "config.layers[2].config.function".
	Path string
	// Subject is the reference involved, e.g. "os.system" or the path string.
	Subject string
	// Detail explains the issue in one sentence.
	Detail string
}

// Options bounds the analysis and extends the allowlist. Zero fields take
// defaults.
type Options struct {
	// MaxBytes caps the configuration size (default 64 MiB).
	MaxBytes int64
	// MaxDepth caps the JSON nesting depth (default 256).
	MaxDepth int
	// MaxNodes caps the JSON values visited (default 5,000,000).
	MaxNodes int
	// MaxIssues caps the issues returned (default 1000).
	MaxIssues int
	// Allow lists extra references treated as safe: "module:name" for one
	// class or function, "module:*" (or "module") for a module and its
	// submodules. Registered custom objects "package>Name" match
	// "package:Name".
	Allow []string
	// Deny lists references graded dangerous, in the same notation.
	Deny []string
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 64 << 20
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = 256
	}
	if o.MaxNodes <= 0 {
		o.MaxNodes = 5_000_000
	}
	if o.MaxIssues <= 0 {
		o.MaxIssues = 1000
	}
	return o
}

// checkDepth scans JSON text for nesting deeper than max without decoding.
func checkDepth(data []byte, max int) error {
	depth := 0
	inStr, esc := false, false
	for _, c := range data {
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
			if depth > max {
				return fmt.Errorf("%w: JSON nested deeper than %d", ErrLimit, max)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// Analyze decodes a Keras configuration (JSON) and returns its issues,
// sorted by path. A configuration that is not JSON is an ErrFormat error.
func Analyze(data []byte, opt Options) ([]Issue, error) {
	opt = opt.withDefaults()
	if int64(len(data)) > opt.MaxBytes {
		return nil, fmt.Errorf("%w: configuration of %d bytes (cap %d)", ErrLimit, len(data), opt.MaxBytes)
	}
	if err := checkDepth(data, opt.MaxDepth); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after JSON value", ErrFormat)
	}
	w := walker{opt: opt, allow: parseRefs(opt.Allow), deny: parseRefs(opt.Deny)}
	w.walk(v, "", 0)
	if w.err != nil {
		return w.issues, w.err
	}
	sort.SliceStable(w.issues, func(i, j int) bool { return w.issues[i].Path < w.issues[j].Path })
	return w.issues, nil
}

type walker struct {
	opt         Options
	allow, deny map[string]bool
	issues      []Issue
	nodes       int
	seen        map[Issue]bool
	err         error
}

func (w *walker) add(is Issue) {
	if w.seen == nil {
		w.seen = map[Issue]bool{}
	}
	if w.seen[is] {
		return
	}
	if len(w.issues) >= w.opt.MaxIssues {
		w.err = fmt.Errorf("%w: more than %d issues", ErrLimit, w.opt.MaxIssues)
		return
	}
	w.seen[is] = true
	w.issues = append(w.issues, is)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (w *walker) walk(v any, path string, depth int) {
	if w.err != nil {
		return
	}
	w.nodes++
	if w.nodes > w.opt.MaxNodes {
		w.err = fmt.Errorf("%w: more than %d JSON values", ErrLimit, w.opt.MaxNodes)
		return
	}
	switch x := v.(type) {
	case map[string]any:
		w.object(x, path)
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			w.walk(x[k], join(path, k), depth+1)
		}
	case []any:
		for i, e := range x {
			w.walk(e, path+"["+strconv.Itoa(i)+"]", depth+1)
		}
	case string:
		w.str(x, path)
	}
}

func str(m map[string]any, k string) (string, bool) {
	s, ok := m[k].(string)
	return s, ok
}

// object checks one JSON object for serialized-object keys.
func (w *walker) object(m map[string]any, path string) {
	class, hasClass := str(m, "class_name")
	module, hasModule := str(m, "module")
	registered, _ := str(m, "registered_name")

	// Keras 3 lambdas: {"class_name": "__lambda__", "config": {"code"|"value": ...}}.
	if class == "__lambda__" {
		w.add(Issue{Kind: Lambda, Path: path, Subject: "__lambda__",
			Detail: "serialized Python lambda: loading unmarshals and runs its bytecode"})
	}
	// Keras 2 Lambda layers: config {"function": [b64 code, defaults, closure] or "b64", "function_type": "lambda"}.
	if ft, ok := str(m, "function_type"); ok {
		if ft == "lambda" {
			// tf.keras's json_utils writes the (code, defaults, closure)
			// tuple as {"class_name": "__tuple__", "items": [...]}.
			if !isObject(m["function"]) {
				w.add(Issue{Kind: Lambda, Path: join(path, "function"), Subject: "Lambda",
					Detail: "Keras 2 Lambda layer with marshalled bytecode: loading runs it"})
			}
		} else if ft == "function" {
			if fn, ok := str(m, "function"); ok {
				mod, _ := str(m, "module")
				w.ref(join(path, "function"), mod, fn, "function")
			}
		}
	}
	if ft, ok := str(m, "output_shape_type"); ok && ft == "lambda" {
		if !isObject(m["output_shape"]) && m["output_shape"] != nil {
			w.add(Issue{Kind: Lambda, Path: join(path, "output_shape"), Subject: "Lambda",
				Detail: "Keras 2 Lambda output_shape with marshalled bytecode: loading runs it"})
		}
	}
	// A Lambda layer's "function" with no function_type: Keras 3 hands a
	// non-object value to deserialize_keras_object, and loaders that
	// default the type treat a string or tuple as marshalled bytecode. It
	// is code either way.
	if class == "Lambda" {
		if cfg, ok := m["config"].(map[string]any); ok {
			if fn, has := cfg["function"]; has && fn != nil && !isObject(fn) {
				if _, typed := cfg["function_type"]; !typed {
					w.add(Issue{Kind: Lambda, Path: join(join(path, "config"), "function"), Subject: "Lambda",
						Detail: "Lambda layer with a function value but no function_type: a loader may unmarshal and run it"})
				}
			}
		}
	}
	// Module references under any key: "module", "fn_module",
	// "output_shape_module", ... and registered names outside class
	// objects. Each names code that loading imports.
	for k, v := range m {
		mod, ok := v.(string)
		if !ok || mod == "" || k == "module" && hasClass {
			continue // a class object's module is judged with its class below
		}
		// Keras 2 Lambda configs: "module" and "output_shape_module" say
		// where a lambda was defined (judged as a lambda above) or which
		// module a named function comes from (judged as a reference).
		if _, typed := str(m, "function_type"); k == "module" && typed {
			continue
		}
		if k == "output_shape_module" {
			if typ, typed := str(m, "output_shape_type"); typed {
				if fn, ok := str(m, "output_shape"); ok && typ == "function" {
					w.ref(join(path, "output_shape"), mod, fn, "function")
				}
				continue
			}
		}
		switch {
		case k == "module" || strings.HasSuffix(k, "_module") || strings.HasSuffix(k, "Module"):
			if isModuleName(mod) {
				w.moduleRef(join(path, k), mod)
			}
		case k == "registered_name" && !hasClass:
			w.refRegistered(path, mod)
		}
	}
	if class == "TFSMLayer" {
		w.add(Issue{Kind: TFSMLayer, Path: path, Subject: "TFSMLayer",
			Detail: "TFSMLayer loads and runs a TensorFlow SavedModel from a path outside the archive"})
	}
	if !hasClass {
		return
	}
	reported := false
	switch {
	case hasModule:
		name := class
		if class == "function" {
			// Functions: the name is the config string (builtins) or the registered name.
			if c, ok := str(m, "config"); ok {
				name = c
			} else if registered != "" {
				name = registered
			}
		}
		reported = w.ref(path, module, name, class)
	case specialClass(class):
	case !builtinClass(class) && class != "__lambda__" && class != "TFSMLayer":
		w.add(Issue{Kind: ForeignReference, Path: path, Subject: class,
			Detail: fmt.Sprintf("class %q is not a built-in Keras class: loading needs custom code", class)})
		reported = true
	}
	// A registered custom object under an allowed module still needs code
	// the loading program registers; one finding per object is enough.
	if !reported && registered != "" && class != "function" && registered != class {
		w.refRegistered(path, registered)
	}
}

// isObject reports whether v is a JSON object other than a serialized
// tuple.
func isObject(v any) bool {
	m, ok := v.(map[string]any)
	return ok && m["class_name"] != "__tuple__"
}

// refRegistered checks a registered_name ("package>Name" for custom
// objects; a built-in Keras class otherwise).
func (w *walker) refRegistered(path, registered string) {
	if builtinClass(registered) || specialClass(registered) {
		return
	}
	pkg, name, ok := strings.Cut(registered, ">")
	if !ok {
		pkg, name = "", registered
	}
	if matchRef(w.allow, pkg, name) {
		return
	}
	w.add(Issue{Kind: ForeignReference, Path: join(path, "registered_name"), Subject: registered,
		Detail: fmt.Sprintf("registered custom object %q: loading needs custom code", registered)})
}

// ref judges a module + name reference and reports whether it added an
// issue.
func (w *walker) ref(path, module, name, class string) bool {
	subject := name
	if module != "" {
		subject = module + "." + name
	}
	switch {
	case w.denied(module, name) || dangerousModule(module) || (module == "" && dangerousName(name)):
		w.add(Issue{Kind: DangerousReference, Path: path, Subject: subject,
			Detail: fmt.Sprintf("reference to %s: loading imports it and may run commands or code", subject)})
	case (module == "" || kerasModule(module)) && riskyKerasName(name):
		w.add(Issue{Kind: DangerousReference, Path: path, Subject: subject,
			Detail: fmt.Sprintf("reference to %s: a Keras function that downloads or writes files, loads another model or turns safe mode off (CVE-2025-8747 family); loading calls it", subject)})
	case module == "" || module == "__main__":
		if class != "function" && builtinClass(name) {
			return false
		}
		w.add(Issue{Kind: ForeignReference, Path: path, Subject: subject,
			Detail: fmt.Sprintf("%s %q from the loading program: needs custom code", kindOf(class), name)})
	case !w.allowed(module, name):
		w.add(Issue{Kind: ForeignReference, Path: path, Subject: subject,
			Detail: fmt.Sprintf("%s %s is outside Keras: loading imports module %q", kindOf(class), subject, module)})
	default:
		return false
	}
	return true
}

// moduleRef judges a bare module reference (a "*_module" key).
func (w *walker) moduleRef(path, module string) {
	switch {
	case w.denied(module, "") || dangerousModule(module):
		w.add(Issue{Kind: DangerousReference, Path: path, Subject: module,
			Detail: fmt.Sprintf("reference to module %s: loading imports it and may run commands or code", module)})
	case module == "__main__", !w.allowed(module, ""):
		w.add(Issue{Kind: ForeignReference, Path: path, Subject: module,
			Detail: fmt.Sprintf("reference to module %q outside Keras: loading imports it", module)})
	}
}

// isModuleName reports a dotted Python module name.
func isModuleName(s string) bool {
	if len(s) > 256 {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		for i, c := range part {
			if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}

func kindOf(class string) string {
	if class == "function" {
		return "function"
	}
	return "class"
}

func (w *walker) allowed(module, name string) bool {
	return matchRef(w.allow, module, name) || kerasModule(module)
}

func (w *walker) denied(module, name string) bool { return matchRef(w.deny, module, name) }

// matchRef reports whether set holds "module:name", or "P:*" for module P
// or a parent package of module.
func matchRef(set map[string]bool, module, name string) bool {
	if set[module+":"+name] {
		return true
	}
	for m := module; m != ""; {
		if set[m+":*"] {
			return true
		}
		i := strings.LastIndexByte(m, '.')
		if i < 0 {
			break
		}
		m = m[:i]
	}
	return false
}

// kerasModule reports whether module belongs to Keras itself: keras,
// keras.* (including keras.src.*) and the tf_keras compatibility package.
func kerasModule(module string) bool {
	for _, p := range []string{"keras", "tf_keras"} {
		if module == p || strings.HasPrefix(module, p+".") {
			return true
		}
	}
	return false
}

func dangerousModule(module string) bool {
	if module == "" {
		return false
	}
	// These modules run commands or code, touch files or the network, or
	// load further code: referencing them in a model is an attack.
	top, _, _ := strings.Cut(module, ".")
	switch top {
	case "os", "posix", "nt", "subprocess", "pty", "builtins", "__builtin__", "__builtins__",
		"importlib", "runpy", "sys", "shutil", "socket", "pickle", "_pickle", "marshal", "ctypes",
		"code", "codeop", "webbrowser", "pdb", "timeit", "tempfile", "io", "_io", "urllib",
		"requests", "http", "asyncio", "multiprocessing", "dill", "cloudpickle", "joblib", "types",
		"operator", "_operator", "functools", "pydoc", "pkgutil", "inspect", "numpy.testing":
		return true
	}
	return false
}

// riskyKerasName reports Keras's own functions that a configuration must
// never reference although they live in an allowed keras.* module: they
// download or write files (keras.utils.get_file, CVE-2025-8747), load
// further models or weights from a path, or disable safe_mode.
func riskyKerasName(name string) bool {
	switch name {
	case "get_file", "load_model", "load_weights", "load_img", "save_model", "save_weights",
		"save_img", "enable_unsafe_deserialization", "export_saved_model":
		return true
	}
	return false
}

// dangerousName catches bare builtins used as function names.
func dangerousName(name string) bool {
	switch name {
	case "eval", "exec", "compile", "__import__", "open", "system", "popen", "getattr", "setattr":
		return true
	}
	return false
}

func parseRefs(list []string) map[string]bool {
	m := map[string]bool{}
	for _, e := range list {
		if !strings.Contains(e, ":") {
			e += ":*"
		}
		m[e] = true
	}
	return m
}

var (
	urlRE   = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.\-]{1,15}://`)
	driveRE = regexp.MustCompile(`^[a-zA-Z]:[\\/]`)
)

// pathKey reports config keys that name files.
func pathKey(k string) bool {
	switch k {
	case "filepath", "file_path", "url", "uri", "saved_model_dir", "vocabulary_file":
		return true
	}
	return false
}

// str flags file paths and URLs.
func (w *walker) str(s, path string) {
	key := path
	if i := strings.LastIndexAny(path, ".]"); i >= 0 {
		key = path[i+1:]
	}
	if strings.Contains(path, "vocabulary[") || strings.Contains(path, "tokens[") {
		return // inline vocabularies hold arbitrary tokens ("/", "../", URLs)
	}
	looksPath := (len(s) > 1 && strings.HasPrefix(s, "/") && !strings.ContainsAny(s, " \n")) || strings.HasPrefix(s, "\\") || strings.HasPrefix(s, "~/") ||
		strings.HasPrefix(s, "../") || strings.HasPrefix(s, "..\\") || strings.Contains(s, "/../") ||
		driveRE.MatchString(s) || urlRE.MatchString(s)
	if looksPath || (pathKey(key) && s != "") {
		if len(s) > 200 {
			s = s[:200] + "…"
		}
		w.add(Issue{Kind: ExternalPath, Path: path, Subject: s,
			Detail: fmt.Sprintf("file path or URL %q in the configuration: loading may read it", s)})
	}
}
