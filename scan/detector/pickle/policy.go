package pickle

import (
	pk "github.com/mlsecops/mlsec/format/pickle"

	"errors"
	"fmt"
	"strings"

	"github.com/mlsecops/mlsec/scan"
)

// ErrBadEntry reports a malformed allow- or denylist entry in the
// configuration.
var ErrBadEntry = errors.New("pickle: bad import list entry")

// Class is the policy's verdict class for one import.
type Class int

// Verdict classes, from harmless to critical.
const (
	// Allowed imports are known-safe reconstruction helpers.
	Allowed Class = iota
	// Unknown imports are not on the allowlist: loading imports them and
	// may run code (high).
	Unknown
	// Dunder imports walk through a double-underscore attribute, a common
	// way to reach interpreter internals from an innocent-looking module
	// (high).
	Dunder
	// Denied imports are known-dangerous (critical).
	Denied
)

func (c Class) String() string {
	switch c {
	case Allowed:
		return "allowed"
	case Unknown:
		return "unknown"
	case Dunder:
		return "dunder"
	case Denied:
		return "denied"
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Verdict is the policy's judgement of one import.
type Verdict struct {
	Class Class
	// Path is the dotted name as imported, after Python 2 name mapping
	// ("builtins.eval.__call__").
	Path string
	// Target is what the import reaches when that differs from Path: an
	// attribute walk or known module alias resolved ("os.system").
	Target string
	// Category names the denylist category of a Denied verdict.
	Category string
}

// Reaches returns Target if set, else Path.
func (v Verdict) Reaches() string {
	if v.Target != "" {
		return v.Target
	}
	return v.Path
}

// Policy judges pickle imports: denylist first (critical), then the exact
// allowlist (clean), then attribute walks through dunders (high), then
// user module-wide allows (clean), and everything else unknown (high). It
// is immutable after construction and safe for concurrent use.
type Policy struct {
	allow       map[string]bool   // exact dotted paths
	allowPrefix []string          // user "module:*" entries, as "module"
	deny        map[string]string // dotted prefix -> category
	loaders     map[string]bool   // dotted callee paths that take a payload
	scanned     map[string]bool   // loaders allowed because their payload is scanned
}

// NewPolicy builds the built-in policy extended by the user's lists. A
// malformed entry is an error wrapping ErrBadEntry.
func NewPolicy(lists scan.ImportLists) (*Policy, error) {
	p := &Policy{
		allow:   map[string]bool{},
		deny:    map[string]string{},
		loaders: map[string]bool{},
		scanned: map[string]bool{},
	}
	for _, g := range builtinAllow {
		for _, e := range g.entries {
			path, wild, err := parseEntry(e)
			if err != nil || wild {
				return nil, fmt.Errorf("built-in allowlist %s: %q: %w", g.name, e, ErrBadEntry)
			}
			p.allow[path] = true
		}
	}
	for _, e := range scannedLoaders {
		path, _, _ := parseEntry(e)
		p.allow[path] = true
		p.scanned[path] = true
	}
	for _, g := range builtinDeny {
		for _, e := range g.entries {
			path, _, err := parseEntry(e)
			if err != nil {
				return nil, fmt.Errorf("built-in denylist %s: %q: %w", g.category, e, ErrBadEntry)
			}
			p.deny[path] = g.category
		}
	}
	for _, e := range loaderCallees {
		path, _, _ := parseEntry(e)
		p.loaders[path] = true
	}
	for _, e := range lists.Allow {
		path, wild, err := parseEntry(e)
		if err != nil {
			return nil, fmt.Errorf("imports.allow: %w", err)
		}
		if wild {
			p.allowPrefix = append(p.allowPrefix, path)
		} else {
			p.allow[path] = true
		}
	}
	for _, e := range lists.Deny {
		path, _, err := parseEntry(e)
		if err != nil {
			return nil, fmt.Errorf("imports.deny: %w", err)
		}
		p.deny[path] = catUser
	}
	return p, nil
}

// parseEntry turns "module:qualname" into "module.qualname" and "module:*"
// into "module" with wild set.
func parseEntry(e string) (path string, wild bool, err error) {
	mod, name, ok := strings.Cut(strings.TrimSpace(e), ":")
	if !ok || mod == "" || name == "" || !validDotted(mod) || (name != "*" && !validDotted(name)) {
		return "", false, fmt.Errorf("%q: want \"module:qualname\" or \"module:*\": %w", e, ErrBadEntry)
	}
	if name == "*" {
		return mod, true, nil
	}
	return mod + "." + name, false, nil
}

func validDotted(s string) bool {
	for _, part := range strings.Split(s, ".") {
		if part == "" || strings.ContainsAny(part, " \t\r\n:*") {
			return false
		}
	}
	return true
}

// torchScriptNamespace is TorchScript's class namespace.
const torchScriptNamespace = "__torch__"

// maxAliasRounds bounds alias rewriting (aliases could chain).
const maxAliasRounds = 8

// Judge classifies the import of name from module. Names may be dotted
// (protocol 4 attribute walks); Python 2 names are mapped first.
func (p *Policy) Judge(module, name string) Verdict {
	m, n, _ := pk.MapPython2(module, name)
	v := Verdict{Path: m + "." + n}
	modParts := strings.Split(m, ".")
	nameParts := strings.Split(n, ".")
	parts := append(append([]string{}, modParts...), nameParts...)
	resolved := resolveAliases(parts)
	if r := strings.Join(resolved, "."); r != v.Path {
		v.Target = r
	}
	if target, cat, ok := p.denied(v.Path, resolved, nameParts); ok {
		v.Class, v.Category = Denied, cat
		if target != v.Path {
			v.Target = target
		}
		return v
	}
	if p.allow[v.Path] || p.allow[v.Reaches()] {
		v.Class = Allowed
		return v
	}
	for _, part := range nameParts {
		if isDunder(part) {
			v.Class = Dunder
			return v
		}
	}
	// TorchScript archives (data.pkl, constants.pkl) name their classes in
	// the __torch__ namespace. It is not a Python module: pickle.load fails
	// with ImportError there (nothing before it is hidden: earlier imports
	// are judged), and torch.jit.load's C++ unpickler resolves these names
	// only to TorchScript classes compiled from the archive's code/
	// directory, never to Python code. This is the one namespace rule in
	// the built-in policy; deny and dunder checks above still apply.
	if hasPathPrefix(m, torchScriptNamespace) {
		v.Class = Allowed
		return v
	}
	for _, pre := range p.allowPrefix {
		if hasPathPrefix(v.Path, pre) {
			v.Class = Allowed
			return v
		}
	}
	v.Class = Unknown
	return v
}

// JudgePath judges a dotted "module.name" path whose module/name boundary
// is unknown (a call's callee). Python 2 mapping is applied to the first
// component only, which is where the analyzer leaves unmapped names.
func (p *Policy) JudgePath(path string) Verdict {
	mod, name, ok := strings.Cut(path, ".")
	if !ok || mod == "" || name == "" {
		return Verdict{Class: Unknown, Path: path}
	}
	// Judged as first component + dotted rest: deny prefixes and exact
	// allow entries compare whole paths, so the boundary does not matter.
	return p.Judge(mod, name)
}

// IsLoader reports whether the callee path is a deserializer whose first
// argument is a payload, and whether that loader is allowed on the
// condition that its literal payload is scanned.
func (p *Policy) IsLoader(callee string) (loader, scanned bool) {
	if callee == "" {
		return false, false
	}
	v := p.JudgePath(callee)
	path := v.Reaches()
	return p.loaders[path] || p.loaders[v.Path], p.scanned[path] || p.scanned[v.Path]
}

// JudgeModule judges an import whose name is unknown (computed): only the
// module can be judged, and only the denylist applies.
func (p *Policy) JudgeModule(module string) Verdict {
	m, _, _ := pk.MapPython2(module, "")
	v := Verdict{Class: Unknown, Path: m}
	if m == "" {
		return v
	}
	if cat, ok := p.denyPrefix(resolveAliases(strings.Split(m, "."))); ok {
		v.Class, v.Category = Denied, cat
	}
	return v
}

// denied checks the path, its alias-resolved form and every re-rooting of
// the attribute walk against the denylist. It returns what the import
// reaches and the deny category.
func (p *Policy) denied(path string, resolved, nameParts []string) (string, string, bool) {
	if cat, ok := p.denyPrefix(resolved); ok {
		return strings.Join(resolved, "."), cat, true
	}
	if cat, ok := p.denyPrefix(strings.Split(path, ".")); ok {
		return path, cat, true
	}
	// Re-root the walk at every name component: "torch" + "os.system"
	// reaches os.system when torch re-exports os, and a component named
	// like a private alias ("_os") or a dunder that leads to the builtins
	// module (__builtins__, __self__ of a builtin function) is judged as
	// the module it reaches.
	for j := range nameParts {
		rest := append([]string{}, nameParts[j:]...)
		if a, ok := componentAliases[rest[0]]; ok {
			rest = append(strings.Split(a, "."), rest[1:]...)
		}
		if cat, ok := p.denyPrefix(rest); ok {
			return strings.Join(rest, "."), cat, true
		}
		if isDunder(nameParts[j]) && j+1 < len(nameParts) {
			b := append([]string{"builtins"}, nameParts[j+1:]...)
			if cat, ok := p.denyPrefix(b); ok {
				return strings.Join(b, "."), cat, true
			}
		}
	}
	return "", "", false
}

// denyPrefix reports whether any component prefix of parts is denied,
// with the category of the longest (most specific) denied prefix.
func (p *Policy) denyPrefix(parts []string) (string, bool) {
	for i := len(parts); i >= 1; i-- {
		if cat, ok := p.deny[strings.Join(parts[:i], ".")]; ok {
			return cat, true
		}
	}
	return "", false
}

// resolveAliases rewrites the longest prefix of parts that is a known
// module alias, repeatedly.
func resolveAliases(parts []string) []string {
	out := parts
	for round := 0; round < maxAliasRounds; round++ {
		changed := false
		for i := len(out); i >= 2; i-- {
			if to, ok := builtinAliases[strings.Join(out[:i], ".")]; ok {
				out = append(strings.Split(to, "."), out[i:]...)
				changed = true
				break
			}
		}
		if !changed {
			break
		}
	}
	return out
}

func isDunder(s string) bool {
	return len(s) > 4 && strings.HasPrefix(s, "__") && strings.HasSuffix(s, "__")
}

func hasPathPrefix(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+".")
}
