package chattemplate

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Symbolic evaluation of string-building expressions.
//
// A template can spell an attribute name without writing it: "_"*2 ~ "class"
// ~ "_"*2, dict(__cl=1, ass__=1)|join, "%c%c"|format(95, 95), ["__", "globals",
// "__"]|join, "__ssalc__"|reverse, adjacent literals, escapes, variables set
// earlier. Matching literals misses the next spelling, so every {{ }} and
// {% set/if/for %} expression is parsed into a small AST and evaluated over
// abstract values: strings, numbers, lists and dicts whose contents are
// known, and "unknown" for everything that depends on the render context.
// Every value an operation produces is checked: a known string that holds
// a dunder name (or a list or dict holding one) is reported. Nothing is
// rendered and no template code runs.

// Bounds of the evaluation.
const (
	symMaxStr   = 4096 // longer strings become unknown
	symMaxItems = 256  // longer lists become unknown
	symMaxDepth = 64   // expression nesting
	symMaxVars  = 1024 // variables tracked
)

type symKind int

const (
	symUnknown symKind = iota
	symStr
	symNum
	symList
	symDict
)

// sym is an abstract value.
type sym struct {
	kind  symKind
	s     string
	n     int64
	items []sym
	keys  []string
	built bool // made by an operation, not written as one literal
}

// unknown is a value that depends on the render context.
var unknown = sym{}

func str(s string, built bool) sym {
	if len(s) > symMaxStr {
		return unknown
	}
	return sym{kind: symStr, s: s, built: built}
}

// text converts a value to the string Jinja's ~ and string filter give.
func (v sym) text() (string, bool) {
	switch v.kind {
	case symStr:
		return v.s, true
	case symNum:
		return strconv.FormatInt(v.n, 10), true
	}
	return "", false
}

// strs lists the strings a list, tuple or dict (its keys) iterates over.
func (v sym) strs() ([]string, bool) {
	switch v.kind {
	case symList:
		out := make([]string, 0, len(v.items))
		for _, it := range v.items {
			t, ok := it.text()
			if !ok {
				return nil, false
			}
			out = append(out, t)
		}
		return out, true
	case symDict:
		return v.keys, true
	case symStr:
		out := make([]string, 0, len(v.s))
		for _, r := range v.s {
			out = append(out, string(r))
		}
		return out, true
	}
	return nil, false
}

// evaluator parses and evaluates the expressions of one template.
type evaluator struct {
	a    *analyser
	toks []token
	pos  int
	vars map[string]sym
	fail bool
	// kwOrder is the order of the keyword arguments of the last call
	// parsed (dict(a=1, b=2) keeps it, and |join follows it).
	kwOrder []string
	kwLast  map[string]sym
	// quiet suppresses reports (the tag is already flagged); reported
	// limits them to one per tag.
	quiet, reported bool
	// loopVar and loopItems describe the last {% for %} parsed when it
	// iterates over a known list or string.
	loopVar   string
	loopItems []sym
}

func (e *evaluator) peek(k int) (token, bool) {
	if e.pos+k < len(e.toks) {
		return e.toks[e.pos+k], true
	}
	return token{}, false
}

func (e *evaluator) isOp(text string) bool {
	t, ok := e.peek(0)
	return ok && t.kind == tOp && t.text == text
}

func (e *evaluator) isName(text string) bool {
	t, ok := e.peek(0)
	return ok && t.kind == tName && t.text == text
}

func (e *evaluator) next() token {
	t, _ := e.peek(0)
	e.pos++
	return t
}

// check reports a computed value that names a dunder attribute.
func (e *evaluator) check(v sym, off int, how string) sym {
	if !v.built || e.reported {
		return v
	}
	var cands []string
	switch v.kind {
	case symStr:
		cands = []string{v.s}
	case symList, symDict:
		cands, _ = v.strs()
	}
	for _, c := range cands {
		if m := dunderRE.FindString(c); m != "" {
			if e.quiet && e.a.named(e.toks, m) {
				break // the token pass already named it in this tag
			}
			e.a.add(StringBuilt, off, m, "expression builds the name %s (%s): a way to reach Python internals without writing the name", m, how)
			e.reported = true
			break
		}
	}
	return v
}

// statement evaluates the expressions of one tag and records {% set %}.
func (e *evaluator) statement(t tag, quiet bool) {
	e.toks, e.pos, e.fail = t.tokens, 0, false
	e.quiet, e.reported = quiet, false
	if len(e.toks) == 0 {
		return
	}
	if !t.stmt {
		e.expr(0)
		return
	}
	kw := e.next()
	switch kw.text {
	case "set":
		// set name = expr | set ns.attr = expr | set a, b = expr
		var names []string
		for {
			n, ok := e.peek(0)
			if !ok || n.kind != tName {
				return
			}
			e.pos++
			name := n.text
			for e.isOp(".") {
				e.pos++
				if a, ok := e.peek(0); ok && a.kind == tName {
					name += "." + a.text
					e.pos++
				}
			}
			names = append(names, name)
			if !e.isOp(",") {
				break
			}
			e.pos++
		}
		if !e.isOp("=") {
			return // block set: the body is text and tags
		}
		e.pos++
		start := e.pos
		e.kwLast = nil
		v := e.expr(0)
		if len(names) == 1 && start+1 < len(e.toks) && e.toks[start].kind == tName && e.toks[start].text == "namespace" &&
			e.toks[start+1].kind == tOp && e.toks[start+1].text == "(" {
			for k, kv := range e.kwLast { // namespace(s='') starts n.s
				if len(e.vars) < symMaxVars {
					e.vars[names[0]+"."+k] = kv
				}
			}
		}
		if len(names) == 1 && len(e.vars) < symMaxVars {
			e.vars[names[0]] = v
		} else {
			for _, n := range names {
				delete(e.vars, n)
			}
		}
	case "for":
		e.loopVar, e.loopItems = "", nil
		var vars []string
		for e.pos < len(e.toks) && !e.isName("in") {
			if n := e.next(); n.kind == tName {
				delete(e.vars, n.text)
				vars = append(vars, n.text)
			}
		}
		if e.isName("in") {
			e.pos++
			it := e.expr(0)
			if len(vars) == 1 {
				e.loopVar = vars[0]
				switch it.kind {
				case symList:
					e.loopItems = it.items
				case symStr:
					for _, r := range it.s {
						e.loopItems = append(e.loopItems, str(string(r), true))
					}
				}
			}
		}
	case "if", "elif", "filter":
		e.expr(0)
	default:
		// Other statements (macro, call, with, ...) hold expressions too:
		// evaluate every maximal one, skipping what does not parse.
		for e.pos < len(e.toks) {
			start := e.pos
			e.fail = false
			e.expr(0)
			if e.pos == start {
				e.pos++
			}
		}
	}
}

// expr parses and evaluates an expression: conditional, or, and, not,
// comparisons, ~, + -, * / // %, **, unary, postfix, primary.
func (e *evaluator) expr(depth int) sym {
	if depth > symMaxDepth {
		e.fail = true
		return unknown
	}
	v := e.or(depth + 1)
	if e.isName("if") {
		e.pos++
		e.or(depth + 1)
		if e.isName("else") {
			e.pos++
			w := e.expr(depth + 1)
			if v.kind == symUnknown {
				return w
			}
		}
	}
	return v
}

func (e *evaluator) or(depth int) sym {
	v := e.and(depth)
	for e.isName("or") {
		e.pos++
		w := e.and(depth)
		if v.kind == symUnknown {
			v = w
		}
	}
	return v
}

func (e *evaluator) and(depth int) sym {
	v := e.not(depth)
	for e.isName("and") {
		e.pos++
		v = e.not(depth)
	}
	return v
}

func (e *evaluator) not(depth int) sym {
	if e.isName("not") {
		e.pos++
		e.not(depth)
		return unknown
	}
	return e.compare(depth)
}

func (e *evaluator) compare(depth int) sym {
	v := e.concat(depth)
	for {
		t, ok := e.peek(0)
		if !ok {
			return v
		}
		switch {
		case t.kind == tOp && (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == ">" || t.text == "<=" || t.text == ">="):
			e.pos++
		case t.kind == tName && t.text == "in":
			e.pos++
		case t.kind == tName && t.text == "not":
			if n, ok := e.peek(1); ok && n.kind == tName && n.text == "in" {
				e.pos += 2
			} else {
				return v
			}
		default:
			return v
		}
		e.concat(depth)
		v = unknown
	}
}

func (e *evaluator) concat(depth int) sym {
	v := e.sum(depth)
	for e.isOp("~") {
		off := e.next().off
		w := e.sum(depth)
		a, ok1 := v.text()
		b, ok2 := w.text()
		if ok1 && ok2 {
			v = e.check(str(a+b, true), off, "~ concatenation")
		} else {
			v = unknown
		}
	}
	return v
}

func (e *evaluator) sum(depth int) sym {
	v := e.product(depth)
	for e.isOp("+") || e.isOp("-") {
		op := e.next()
		w := e.product(depth)
		switch {
		case op.text == "+" && v.kind == symStr && w.kind == symStr:
			v = e.check(str(v.s+w.s, true), op.off, "+ concatenation")
		case op.text == "+" && v.kind == symList && w.kind == symList && len(v.items)+len(w.items) <= symMaxItems:
			v = e.check(sym{kind: symList, items: append(append([]sym{}, v.items...), w.items...), built: true}, op.off, "list concatenation")
		case v.kind == symNum && w.kind == symNum:
			if op.text == "+" {
				v = sym{kind: symNum, n: v.n + w.n}
			} else {
				v = sym{kind: symNum, n: v.n - w.n}
			}
		default:
			v = unknown
		}
	}
	return v
}

func (e *evaluator) product(depth int) sym {
	v := e.power(depth)
	for e.isOp("*") || e.isOp("/") || e.isOp("//") || e.isOp("%") {
		op := e.next()
		w := e.power(depth)
		switch {
		case op.text == "*" && v.kind == symStr && w.kind == symNum && w.n >= 0 && int64(len(v.s))*w.n <= symMaxStr:
			v = e.check(str(strings.Repeat(v.s, int(w.n)), true), op.off, "string repetition")
		case op.text == "*" && v.kind == symNum && w.kind == symStr && v.n >= 0 && int64(len(w.s))*v.n <= symMaxStr:
			v = e.check(str(strings.Repeat(w.s, int(v.n)), true), op.off, "string repetition")
		case op.text == "%" && v.kind == symStr:
			args := []sym{w}
			if w.kind == symList {
				args = w.items
			}
			v = e.check(percent(v.s, args), op.off, "% formatting")
		case op.text == "*" && v.kind == symNum && w.kind == symNum:
			v = sym{kind: symNum, n: v.n * w.n}
		default:
			v = unknown
		}
	}
	return v
}

func (e *evaluator) power(depth int) sym {
	v := e.unary(depth)
	for e.isOp("**") {
		e.pos++
		e.unary(depth)
		v = unknown
	}
	return v
}

func (e *evaluator) unary(depth int) sym {
	if e.isOp("-") || e.isOp("+") {
		neg := e.next().text == "-"
		v := e.unary(depth)
		if v.kind == symNum && neg {
			v.n = -v.n
		}
		return v
	}
	return e.postfix(depth)
}

// postfix applies attribute, subscript, call, filter and test suffixes.
func (e *evaluator) postfix(depth int) sym {
	v := e.primary(depth)
	for !e.fail {
		t, ok := e.peek(0)
		if !ok {
			return v
		}
		switch {
		case t.kind == tOp && t.text == ".":
			e.pos++
			n, ok := e.peek(0)
			if !ok || n.kind != tName && n.kind != tNumber {
				e.fail = true
				return unknown
			}
			e.pos++
			if e.isOp("(") {
				args, kw := e.args(depth)
				v = e.method(v, n.text, args, kw, n.off)
			} else {
				v = unknown
			}
		case t.kind == tOp && t.text == "[":
			e.pos++
			v = e.subscript(v, depth, t.off)
		case t.kind == tOp && t.text == "(":
			e.args(depth)
			v = unknown
		case t.kind == tOp && t.text == "|":
			e.pos++
			n, ok := e.peek(0)
			if !ok || n.kind != tName {
				e.fail = true
				return unknown
			}
			e.pos++
			name := n.text
			for e.isOp(".") { // dotted filter names
				e.pos++
				if m, ok := e.peek(0); ok && m.kind == tName {
					name += "." + m.text
					e.pos++
				}
			}
			var args []sym
			var kw map[string]sym
			if e.isOp("(") {
				args, kw = e.args(depth)
			}
			v = e.filter(v, name, args, kw, n.off)
		case t.kind == tName && t.text == "is":
			e.pos++
			if e.isName("not") {
				e.pos++
			}
			if n, ok := e.peek(0); ok && n.kind == tName {
				e.pos++
				if e.isOp("(") {
					e.args(depth)
				} else if a, ok := e.peek(0); ok && (a.kind == tString || a.kind == tNumber) {
					e.pos++
				}
			}
			v = unknown
		default:
			return v
		}
	}
	return v
}

// args parses a call's arguments.
func (e *evaluator) args(depth int) ([]sym, map[string]sym) {
	e.kwOrder = e.kwOrder[:0]
	e.pos++ // (
	var args []sym
	kw := map[string]sym{}
	var order []string
	for !e.fail && !e.isOp(")") {
		if _, ok := e.peek(0); !ok {
			e.fail = true
			break
		}
		n, _ := e.peek(0)
		if n2, ok := e.peek(1); ok && n.kind == tName && n2.kind == tOp && n2.text == "=" {
			e.pos += 2
			v := e.expr(depth + 1)
			kw[n.text] = v
			order = append(order, n.text)
		} else if e.isOp("*") || e.isOp("**") {
			e.pos++
			e.expr(depth + 1)
		} else {
			args = append(args, e.expr(depth+1))
		}
		if e.isOp(",") {
			e.pos++
		} else if !e.isOp(")") {
			e.fail = true
		}
	}
	e.pos++ // )
	e.kwOrder, e.kwLast = order, kw
	return args, kw
}

func (e *evaluator) subscript(v sym, depth int, off int) sym {
	var parts []sym
	colons := 0
	for !e.fail && !e.isOp("]") {
		if _, ok := e.peek(0); !ok {
			e.fail = true
			return unknown
		}
		if e.isOp(":") {
			e.pos++
			colons++
			for len(parts) < colons {
				parts = append(parts, unknown)
			}
			continue
		}
		if len(parts) > colons {
			e.fail = true
			return unknown
		}
		parts = append(parts, e.expr(depth+1))
	}
	e.pos++ // ]
	for len(parts) <= colons {
		parts = append(parts, unknown)
	}
	if colons == 0 {
		k := parts[0]
		e.check(k, off, "subscript key")
		if v.kind == symStr && k.kind == symNum {
			r := []rune(v.s)
			i := int(k.n)
			if i < 0 {
				i += len(r)
			}
			if i >= 0 && i < len(r) {
				return str(string(r[i]), true)
			}
		}
		if v.kind == symList && k.kind == symNum && k.n >= 0 && int(k.n) < len(v.items) {
			it := v.items[k.n]
			it.built = true
			return it
		}
		return unknown
	}
	// Slices of a known string: [a:b:c] with known or absent bounds.
	if v.kind != symStr {
		return unknown
	}
	r := []rune(v.s)
	idx := func(s sym, def int) (int, bool) {
		if s.kind == symUnknown {
			return def, true
		}
		if s.kind != symNum {
			return 0, false
		}
		return int(s.n), true
	}
	step := 1
	if colons == 2 {
		s, ok := idx(parts[2], 1)
		if !ok || s == 0 {
			return unknown
		}
		step = s
	}
	startDef, stopDef := 0, len(r)
	if step < 0 {
		startDef, stopDef = len(r)-1, -len(r)-1
	}
	start, ok1 := idx(parts[0], startDef)
	stop, ok2 := idx(parts[1], stopDef)
	if !ok1 || !ok2 {
		return unknown
	}
	norm := func(i int) int {
		if i < 0 {
			i += len(r)
		}
		return i
	}
	start, stop = norm(start), norm(stop)
	var b strings.Builder
	for i := start; (step > 0 && i < stop || step < 0 && i > stop) && b.Len() < symMaxStr; i += step {
		if i >= 0 && i < len(r) {
			b.WriteRune(r[i])
		}
	}
	return e.check(str(b.String(), true), off, "slice")
}

// primary parses a literal, name, parenthesised expression, list or dict.
func (e *evaluator) primary(depth int) sym {
	t, ok := e.peek(0)
	if !ok {
		e.fail = true
		return unknown
	}
	switch t.kind {
	case tString:
		e.pos++
		s, n := t.text, 1
		for { // adjacent literals concatenate
			u, ok := e.peek(0)
			if !ok || u.kind != tString {
				break
			}
			s += u.text
			n++
			e.pos++
		}
		return e.check(str(s, n > 1), t.off, "adjacent string literals")
	case tNumber:
		e.pos++
		n, err := strconv.ParseInt(strings.ReplaceAll(t.text, "_", ""), 0, 64)
		if err != nil {
			return unknown
		}
		return sym{kind: symNum, n: n}
	case tName:
		e.pos++
		switch t.text {
		case "true", "True", "false", "False", "none", "None":
			return unknown
		case "dict":
			if e.isOp("(") {
				args, _ := e.args(depth)
				if len(args) == 0 {
					d := sym{kind: symDict, built: true, keys: append([]string(nil), e.kwOrder...)}
					return e.check(d, t.off, "dict() keyword names")
				}
				return unknown
			}
		}
		if v, ok := e.vars[t.text]; ok {
			name := t.text
			for e.isOp(".") { // namespace attributes set earlier
				if a, ok := e.peek(1); ok && a.kind == tName {
					if w, ok := e.vars[name+"."+a.text]; ok {
						e.pos += 2
						name += "." + a.text
						v = w
						continue
					}
				}
				break
			}
			return v
		}
		return unknown
	case tOp:
		switch t.text {
		case "(":
			e.pos++
			var items []sym
			tuple := false
			for !e.fail && !e.isOp(")") {
				if _, ok := e.peek(0); !ok {
					e.fail = true
					return unknown
				}
				items = append(items, e.expr(depth+1))
				if e.isOp(",") {
					tuple = true
					e.pos++
				} else if !e.isOp(")") {
					e.fail = true
				}
			}
			e.pos++
			if !tuple && len(items) == 1 {
				return items[0]
			}
			return list(items)
		case "[":
			e.pos++
			var items []sym
			for !e.fail && !e.isOp("]") {
				if _, ok := e.peek(0); !ok {
					e.fail = true
					return unknown
				}
				items = append(items, e.expr(depth+1))
				if e.isOp(",") {
					e.pos++
				} else if !e.isOp("]") {
					e.fail = true
				}
			}
			e.pos++
			return list(items)
		case "{":
			e.pos++
			d := sym{kind: symDict}
			for !e.fail && !e.isOp("}") {
				if _, ok := e.peek(0); !ok {
					e.fail = true
					return unknown
				}
				k := e.expr(depth + 1)
				if ks, ok := k.text(); ok {
					d.keys = append(d.keys, ks)
				}
				if e.isOp(":") {
					e.pos++
					e.expr(depth + 1)
				}
				if e.isOp(",") {
					e.pos++
				} else if !e.isOp("}") {
					e.fail = true
				}
			}
			e.pos++
			return d
		}
	}
	e.fail = true
	e.pos++
	return unknown
}

func list(items []sym) sym {
	if len(items) > symMaxItems {
		return unknown
	}
	return sym{kind: symList, items: items}
}

// filter applies the string-shaping Jinja filters to a known value.
func (e *evaluator) filter(v sym, name string, args []sym, kw map[string]sym, off int) sym {
	for _, a := range args {
		e.check(a, off, "filter argument")
	}
	for _, a := range kw {
		e.check(a, off, "filter argument")
	}
	argStr := func(i int) (string, bool) {
		if i < len(args) {
			return args[i].text()
		}
		return "", false
	}
	switch name {
	case "join":
		items, ok := v.strs()
		if !ok {
			return unknown
		}
		sep := ""
		if s, ok := argStr(0); ok {
			sep = s
		} else if s, ok := kw["d"]; ok {
			sep, _ = s.text()
		}
		if a, ok := kw["attribute"]; ok {
			e.check(a, off, "join attribute")
			return unknown
		}
		return e.check(str(strings.Join(items, sep), true), off, "join filter")
	case "format":
		if v.kind != symStr {
			return unknown
		}
		return e.check(percent(v.s, args), off, "format filter")
	case "replace":
		s, ok := v.text()
		old, ok1 := argStr(0)
		nw, ok2 := argStr(1)
		if !ok || !ok1 || !ok2 {
			return unknown
		}
		count := -1
		if len(args) > 2 && args[2].kind == symNum {
			count = int(args[2].n)
		}
		return e.check(str(strings.Replace(s, old, nw, count), true), off, "replace filter")
	case "reverse":
		switch v.kind {
		case symStr:
			r := []rune(v.s)
			for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
				r[i], r[j] = r[j], r[i]
			}
			return e.check(str(string(r), true), off, "reverse filter")
		case symList:
			items := make([]sym, len(v.items))
			for i, it := range v.items {
				items[len(items)-1-i] = it
			}
			return sym{kind: symList, items: items, built: true}
		}
		return unknown
	case "string", "e", "escape", "forceescape", "safe", "trim":
		s, ok := v.text()
		if !ok {
			return unknown
		}
		if name == "trim" {
			s = strings.TrimSpace(s)
		}
		return e.check(str(s, v.built || name == "trim"), off, name+" filter")
	case "lower", "upper", "capitalize", "title":
		s, ok := v.text()
		if !ok {
			return unknown
		}
		switch name {
		case "lower":
			s = strings.ToLower(s)
		case "upper":
			s = strings.ToUpper(s)
		default:
			s = strings.ToLower(s)
		}
		return e.check(str(s, true), off, name+" filter")
	case "first", "last":
		items, ok := v.strs()
		if !ok || len(items) == 0 {
			return unknown
		}
		if name == "first" {
			return e.check(str(items[0], true), off, "first filter")
		}
		return e.check(str(items[len(items)-1], true), off, "last filter")
	case "list":
		items, ok := v.strs()
		if !ok || len(items) > symMaxItems {
			return unknown
		}
		out := sym{kind: symList, built: true}
		for _, s := range items {
			out.items = append(out.items, str(s, true))
		}
		return out
	case "sort", "unique":
		if v.kind != symList {
			return unknown
		}
		v.built = true
		return v
	case "attr":
		return unknown // the name was checked as an argument
	case "map", "select", "reject", "selectattr", "rejectattr", "groupby", "sum":
		return unknown
	}
	return unknown
}

// method applies Python str methods a sandbox-less renderer allows.
func (e *evaluator) method(v sym, name string, args []sym, kw map[string]sym, off int) sym {
	for _, a := range args {
		e.check(a, off, "method argument")
	}
	s, ok := v.text()
	if !ok || v.kind != symStr {
		return unknown
	}
	argStr := func(i int) (string, bool) {
		if i < len(args) {
			return args[i].text()
		}
		return "", false
	}
	switch name {
	case "join":
		if len(args) != 1 {
			return unknown
		}
		items, ok := args[0].strs()
		if !ok {
			return unknown
		}
		return e.check(str(strings.Join(items, s), true), off, "str.join")
	case "format":
		return e.check(str(braceFormat(s, args, kw), true), off, "str.format")
	case "replace":
		old, ok1 := argStr(0)
		nw, ok2 := argStr(1)
		if !ok1 || !ok2 {
			return unknown
		}
		return e.check(str(strings.ReplaceAll(s, old, nw), true), off, "str.replace")
	case "lower", "casefold":
		return e.check(str(strings.ToLower(s), true), off, "str."+name)
	case "upper", "swapcase", "title", "capitalize":
		if name == "upper" {
			return e.check(str(strings.ToUpper(s), true), off, "str.upper")
		}
		return e.check(str(strings.ToLower(s), true), off, "str."+name)
	case "strip", "lstrip", "rstrip":
		cut, ok := argStr(0)
		if !ok {
			cut = " \t\n\r"
		}
		switch name {
		case "strip":
			s = strings.Trim(s, cut)
		case "lstrip":
			s = strings.TrimLeft(s, cut)
		default:
			s = strings.TrimRight(s, cut)
		}
		return e.check(str(s, true), off, "str."+name)
	case "split":
		sep, ok := argStr(0)
		var parts []string
		if ok && sep != "" {
			parts = strings.Split(s, sep)
		} else {
			parts = strings.Fields(s)
		}
		if len(parts) > symMaxItems {
			return unknown
		}
		out := sym{kind: symList, built: true}
		for _, p := range parts {
			out.items = append(out.items, str(p, true))
		}
		return e.check(out, off, "str.split")
	case "center", "ljust", "rjust", "zfill":
		return unknown
	}
	return unknown
}

// percent applies printf-style %s, %r, %d and %c formatting.
func percent(f string, args []sym) sym {
	var b strings.Builder
	ai := 0
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' || i+1 >= len(f) {
			b.WriteByte(c)
			continue
		}
		i++
		// skip flags, width and precision
		for i < len(f) && strings.IndexByte("-+ #0123456789.", f[i]) >= 0 {
			i++
		}
		if i >= len(f) {
			return unknown
		}
		verb := f[i]
		if verb == '%' {
			b.WriteByte('%')
			continue
		}
		if ai >= len(args) {
			return unknown
		}
		a := args[ai]
		ai++
		switch verb {
		case 's', 'r', 'a', 'd', 'i':
			t, ok := a.text()
			if !ok {
				return unknown
			}
			b.WriteString(t)
		case 'c':
			switch a.kind {
			case symNum:
				if a.n < 0 || a.n > utf8.MaxRune {
					return unknown
				}
				b.WriteRune(rune(a.n))
			case symStr:
				b.WriteString(a.s)
			default:
				return unknown
			}
		default:
			return unknown
		}
	}
	return str(b.String(), true)
}

// braceFormat applies str.format with {} {0} {name} fields and the :c
// conversion; other specs are dropped.
func braceFormat(f string, args []sym, kw map[string]sym) string {
	var b strings.Builder
	auto := 0
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case c == '{' && i+1 < len(f) && f[i+1] == '{':
			b.WriteByte('{')
			i++
		case c == '}' && i+1 < len(f) && f[i+1] == '}':
			b.WriteByte('}')
			i++
		case c == '{':
			j := strings.IndexByte(f[i:], '}')
			if j < 0 {
				b.WriteString(f[i:])
				return b.String()
			}
			field := f[i+1 : i+j]
			i += j
			name, spec, _ := strings.Cut(field, ":")
			var a sym
			switch {
			case name == "":
				if auto < len(args) {
					a = args[auto]
				}
				auto++
			default:
				if n, err := strconv.Atoi(name); err == nil {
					if n >= 0 && n < len(args) {
						a = args[n]
					}
				} else {
					a = kw[name]
				}
			}
			if strings.HasSuffix(spec, "c") && a.kind == symNum && a.n >= 0 && a.n <= utf8.MaxRune {
				b.WriteRune(rune(a.n))
			} else if t, ok := a.text(); ok {
				b.WriteString(t)
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
