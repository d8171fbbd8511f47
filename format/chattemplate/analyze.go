// Package chattemplate analyses Jinja chat templates (GGUF
// tokenizer.chat_template, Hugging Face tokenizer_config.json
// chat_template, chat_template.jinja) for server-side template injection.
//
// Chat templates are rendered by inference servers; when the renderer is
// not sandboxed (llama-cpp-python before 0.2.72, CVE-2024-34359) a
// template that walks Python's object graph (().__class__.__base__...)
// runs arbitrary code. Analyse never renders a template: it tokenises every
// {{ }} and {% %} tag with its own lexer and looks for the constructs such
// payloads need — dunder and private attributes by dot or subscript,
// attribute names built from string pieces, the attr filter, and Jinja's
// global objects that expose __init__.__globals__ (cycler, joiner,
// lipsum, namespace, self, config, request, ...). The syntax is also checked
// with github.com/ardanlabs/jinja's parser.
package chattemplate

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/ardanlabs/jinja"
)

// Kind classifies an Issue.
type Kind string

// The issue kinds Analyse reports.
const (
	// Dunder: a __dunder__ attribute reached by dot, subscript or a
	// string literal (e.g. map(attribute='__class__')).
	Dunder Kind = "dunder-attribute"
	// Private: an attribute starting with "_" (Jinja's sandbox refuses
	// them; exploits use _module, _TemplateReference__context).
	Private Kind = "private-attribute"
	// Internals: a Python frame/code/function internal without
	// underscores (mro, f_globals, gi_frame, func_globals, ...).
	Internals Kind = "python-internals"
	// StringBuilt: an attribute name assembled from string pieces
	// (concatenation, ~, join, format, replace, reverse, %c).
	StringBuilt Kind = "string-built-name"
	// AttrFilter: the attr filter, which reaches any attribute by name.
	AttrFilter Kind = "attr-filter"
	// Gadget: a Jinja global whose attributes lead to Python globals.
	Gadget Kind = "gadget-object"
	// Load: include, import, extends or from, which read other files.
	Load Kind = "template-load"
	// Syntax: the template does not tokenise or does not parse.
	Syntax Kind = "syntax"
)

// Issue is one suspicious construct in a template.
type Issue struct {
	Kind Kind `json:"kind"`
	// Offset is the byte offset in the template source.
	Offset int `json:"offset"`
	// Subject is the attribute, object or string involved.
	Subject string `json:"subject"`
	Detail  string `json:"detail"`
}

// MaxIssues caps the issues reported for one template.
const MaxIssues = 100

// MaxCompileLen caps the template size handed to the Jinja parser; longer
// templates are only tokenised.
const MaxCompileLen = 1 << 20

var dunderRE = regexp.MustCompile(`__[A-Za-z0-9_]*[A-Za-z0-9]__`)

// internals are attribute names of Python frames, code objects,
// generators, functions and classes that lead to globals or builtins
// without needing underscores.
var internals = map[string]bool{
	"mro": true, "func_globals": true, "func_code": true, "func_closure": true,
	"f_globals": true, "f_locals": true, "f_builtins": true, "f_back": true, "f_code": true,
	"gi_frame": true, "gi_code": true, "cr_frame": true, "cr_code": true, "ag_frame": true,
	"tb_frame": true, "tb_next": true, "co_code": true, "co_consts": true,
	"im_func": true, "im_self": true, "im_class": true, "popen": true,
}

// gadgets are Jinja (and Flask) globals whose attributes reach Python
// module globals: cycler.__init__.__globals__.os, lipsum.__globals__, ...
// Chat templates never need them. namespace() is ordinary in chat
// templates, so only attribute or item access on namespace itself counts.
var gadgets = map[string]bool{
	"cycler": true, "joiner": true, "lipsum": true, "self": true, "config": true,
	"request": true, "url_for": true, "get_flashed_messages": true, "session": true,
	"range": false, "namespace": false, "dict": false,
}

// Analyse returns the issues found in a template source. It never renders
// the template.
func Analyse(src string) []Issue {
	a := &analyser{}
	tags, lerr := lex(src)
	for _, t := range tags {
		a.tag(t)
	}
	a.symbolic(tags)
	if lerr != nil {
		a.add(Syntax, lerr.off, "", "template does not tokenise: %s; constructs after it were not analysed", lerr.msg)
	} else if len(src) <= MaxCompileLen {
		if err := compile(src); err != nil {
			a.add(Syntax, 0, "", "template does not parse: %v", err)
		}
	}
	return a.issues
}

// symbolic evaluates every tag's expressions in order (see symbolic.go).
// The evaluator is bounded and must not fail; if it does, the template is
// reported as not parsed rather than passing.
func (a *analyser) symbolic(tags []tag) {
	defer func() {
		if r := recover(); r != nil {
			a.add(Syntax, 0, "", "symbolic evaluation failed: %v", r)
		}
	}()
	ev := &evaluator{a: a, vars: map[string]sym{}}
	a.evalTags(ev, tags, 0)
}

// maxUnroll bounds the iterations of a {% for %} over a known list that
// are evaluated one by one (namespace accumulators build names that way).
const maxUnroll = 64

// evalTags evaluates tags in order; the body of a for loop over a known
// list is evaluated once per item with the loop variable bound.
func (a *analyser) evalTags(ev *evaluator, tags []tag, depth int) {
	for i := 0; i < len(tags); i++ {
		t := tags[i]
		ev.statement(t, a.flagged(t))
		if !t.stmt || len(t.tokens) == 0 || t.tokens[0].kind != tName || t.tokens[0].text != "for" {
			continue
		}
		end := matchingEnd(tags, i)
		name, items := ev.loopVar, ev.loopItems
		if end < 0 || depth > 4 || name == "" || len(items) == 0 || len(items) > maxUnroll {
			continue
		}
		for _, it := range items {
			ev.vars[name] = it
			a.evalTags(ev, tags[i+1:end], depth+1)
		}
		delete(ev.vars, name)
		i = end
	}
}

// matchingEnd returns the index of the {% endfor %} closing tags[i].
func matchingEnd(tags []tag, i int) int {
	depth := 0
	for j := i + 1; j < len(tags); j++ {
		t := tags[j]
		if !t.stmt || len(t.tokens) == 0 || t.tokens[0].kind != tName {
			continue
		}
		switch t.tokens[0].text {
		case "for":
			depth++
		case "endfor":
			if depth == 0 {
				return j
			}
			depth--
		}
	}
	return -1
}

// flagged reports whether the token pass already found a dunder, private
// or built name in the tag: the symbolic pass then adds nothing there.
func (a *analyser) flagged(t tag) bool {
	if len(t.tokens) == 0 {
		return false
	}
	lo, hi := t.tokens[0].off, t.tokens[len(t.tokens)-1].off
	for _, is := range a.issues {
		switch is.Kind {
		case Dunder, Private, StringBuilt:
			if is.Offset >= lo && is.Offset <= hi {
				return true
			}
		}
	}
	return false
}

// named reports whether an issue inside toks already names subject.
func (a *analyser) named(toks []token, subject string) bool {
	if len(toks) == 0 {
		return false
	}
	lo, hi := toks[0].off, toks[len(toks)-1].off
	for _, is := range a.issues {
		if is.Subject == subject && is.Offset >= lo && is.Offset <= hi {
			return true
		}
	}
	return false
}

// compile checks the syntax with a real Jinja parser. A panic in the
// parser is reported as a syntax error, never propagated.
func compile(src string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("jinja parser failed: %v", r)
		}
	}()
	_, err = jinja.Compile(src)
	return err
}

type analyser struct {
	issues []Issue
	seen   map[string]bool
}

func (a *analyser) add(k Kind, off int, subject, format string, args ...any) {
	key := fmt.Sprintf("%s\x00%d\x00%s", k, off, subject)
	if a.seen == nil {
		a.seen = map[string]bool{}
	}
	if a.seen[key] || len(a.issues) >= MaxIssues {
		return
	}
	a.seen[key] = true
	a.issues = append(a.issues, Issue{Kind: k, Offset: off, Subject: subject, Detail: fmt.Sprintf(format, args...)})
}

// attribute judges an attribute name reached by dot or subscript.
func (a *analyser) attribute(name string, off int, how string) {
	switch {
	case dunderRE.MatchString(name):
		a.add(Dunder, off, name, "%s access to %s walks Python's object graph (sandbox escape)", how, name)
	case strings.HasPrefix(name, "_"):
		a.add(Private, off, name, "%s access to private attribute %s (refused by Jinja's sandbox)", how, name)
	case internals[name]:
		a.add(Internals, off, name, "%s access to Python internal %s", how, name)
	}
}

func (a *analyser) tag(t tag) {
	toks := t.tokens
	if t.stmt && len(toks) > 0 && toks[0].kind == tName {
		switch toks[0].text {
		case "include", "import", "extends", "from":
			a.add(Load, toks[0].off, toks[0].text, "{%% %s %%} reads another template; chat templates are self-contained", toks[0].text)
		}
	}
	for i, tk := range toks {
		prev := opAt(toks, i-1)
		next := opAt(toks, i+1)
		switch tk.kind {
		case tName:
			switch {
			case prev == ".":
				a.attribute(tk.text, tk.off, "attribute")
			case prev == "|" && tk.text == "attr":
				a.add(AttrFilter, tk.off, "attr", "the attr filter looks attributes up by computed name")
			case prev == "|" || prev == "is":
				// filter or test name
			case gadgets[tk.text] && next != "=":
				a.add(Gadget, tk.off, tk.text, "Jinja global %s exposes __init__.__globals__ (module globals, os)", tk.text)
			case (tk.text == "namespace" || tk.text == "range" || tk.text == "dict") && (next == "." || next == "["):
				a.add(Gadget, tk.off, tk.text, "attribute access on the global %s reaches its Python internals", tk.text)
			}
			if (tk.text == "map" || tk.text == "select" || tk.text == "reject") && next == "(" && i+2 < len(toks) &&
				toks[i+2].kind == tString && toks[i+2].text == "attr" {
				a.add(AttrFilter, toks[i+2].off, "attr", "%s('attr', ...) applies the attr filter", tk.text)
			}
		case tString:
			if prev == "[" && next == "]" {
				a.attribute(tk.text, tk.off, "subscript")
			} else if m := dunderRE.FindString(tk.text); m != "" {
				a.add(Dunder, tk.off, m, "string literal names %s, an attribute used to walk Python's object graph", m)
			}
		}
	}
	a.built(toks)
	a.pieces(toks)
}

// opAt returns the text of toks[i] when it is an operator or the name
// "is", "" otherwise.
func opAt(toks []token, i int) string {
	if i < 0 || i >= len(toks) {
		return ""
	}
	if toks[i].kind == tOp || toks[i].kind == tName && toks[i].text == "is" {
		return toks[i].text
	}
	return ""
}

// built looks for attribute names assembled from string pieces. It folds
// runs of string literals joined by ~ or + and list literals of strings
// (for join), and applies a reverse, replace or format filter that follows
// them; a dunder in the result is reported. Otherwise a run whose pieces
// assemble "__", a literal starting or ending with "__", or a %c format, in
// a tag that builds strings, is reported: no chat template needs one. A
// lone "_" is not (replace('-', '_') is common).
func (a *analyser) built(toks []token) {
	building := false
	for i, tk := range toks {
		if tk.kind == tOp && (tk.text == "~" || tk.text == "%") {
			building = true
		}
		if tk.kind == tOp && tk.text == "+" && (i > 0 && toks[i-1].kind == tString || i+1 < len(toks) && toks[i+1].kind == tString) {
			building = true
		}
		if tk.kind == tName && opAt(toks, i-1) == "|" {
			switch tk.text {
			case "join", "format", "replace", "reverse", "string", "list", "first", "last":
				building = true
			}
		}
	}
	if !building {
		return
	}
	for i := 0; i < len(toks); i++ {
		if toks[i].kind != tString {
			continue
		}
		// Fold a run: "a" ~ "b" + "c", or ["a", "b"] (join).
		start := i
		var sb strings.Builder
		sb.WriteString(toks[i].text)
		j := i + 1
		for j+1 < len(toks) && toks[j].kind == tOp && (toks[j].text == "~" || toks[j].text == "+" || toks[j].text == ",") && toks[j+1].kind == tString {
			sb.WriteString(toks[j+1].text)
			j += 2
		}
		folded := sb.String()
		cands := []string{folded}
		filter := ""
		if opAt(toks, j) == "|" && j+1 < len(toks) {
			filter = toks[j+1].text
		}
		if filter == "reverse" {
			cands = append(cands, reverse(folded))
		}
		// A replace filter right after: "xxclassxx"|replace("x", "_").
		if filter == "replace" && j+5 < len(toks) && toks[j+3].kind == tString && toks[j+5].kind == tString {
			cands = append(cands, strings.ReplaceAll(folded, toks[j+3].text, toks[j+5].text))
		}
		// A format filter or % with string arguments: "%s%sclass%s%s"|format("_", ...).
		if strings.Contains(folded, "%s") && (filter == "format" || opAt(toks, j) == "%") {
			var args []string
			for k := j; k < len(toks) && k < j+40; k++ {
				if toks[k].kind == tString {
					args = append(args, toks[k].text)
				}
			}
			cands = append(cands, sprintfS(folded, args))
		}
		hit := false
		for _, c := range cands {
			m := dunderRE.FindString(c)
			if m != "" && (j > i+1 || c != folded) {
				a.add(StringBuilt, toks[start].off, m, "attribute name %s is assembled from string pieces to evade literal matching", m)
				hit = true
				break
			}
		}
		multi := j > i+1 || filter == "join" || filter == "format" || filter == "replace" || filter == "reverse"
		if !hit && multi && strings.Contains(folded, "__") && !dunderRE.MatchString(folded) {
			a.add(StringBuilt, toks[start].off, folded, "string pieces assemble a double underscore (%q), the start or end of a dunder name", folded)
			hit = true
		}
		if !hit {
			for k := i; k < j; k += 2 {
				s := toks[k].text
				switch {
				case dunderRE.MatchString(s):
					// Already reported as Dunder.
				case len(s) >= 2 && (strings.HasPrefix(s, "__") || strings.HasSuffix(s, "__")):
					a.add(StringBuilt, toks[k].off, s, "string %q starts or ends with a double underscore in a string-building expression", s)
				case strings.Contains(s, "%c") && (filter == "format" || opAt(toks, j) == "%"):
					a.add(StringBuilt, toks[k].off, s, "%%c formatting builds characters from numbers (hidden attribute names)")
				}
			}
		}
		i = j - 1
	}
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// sprintfS substitutes %s placeholders in order.
func sprintfS(f string, args []string) string {
	var b strings.Builder
	for {
		k := strings.Index(f, "%s")
		if k < 0 || len(args) == 0 {
			b.WriteString(f)
			return b.String()
		}
		b.WriteString(f[:k])
		b.WriteString(args[0])
		args = args[1:]
		f = f[k+2:]
	}
}
