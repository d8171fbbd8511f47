package chattemplate

import (
	"regexp"
	"strings"
)

// formatFieldRE matches a str.format replacement field that looks an
// attribute or item up ({0.__class__}, {x[y]}) or converts a number to a
// character ({:c}, {0:c}).
var formatFieldRE = regexp.MustCompile(`\{[^{}]*[.\[][^{}]*\}|\{[^{}]*:[^{}]*c\}`)

// literalMethods are string methods whose result is not a string: calling
// them on a literal that holds "_" cannot produce an attribute name.
var literalMethods = map[string]bool{
	"startswith": true, "endswith": true, "count": true, "find": true, "rfind": true,
	"index": true, "rindex": true, "isdigit": true, "isalpha": true, "isalnum": true,
	"isspace": true, "islower": true, "isupper": true,
}

// pickFilters are filters that take characters or items out of a string.
var pickFilters = map[string]bool{
	"first": true, "last": true, "list": true, "batch": true, "slice": true,
	"random": true, "truncate": true, "center": true, "min": true, "max": true,
}

// underscores reports whether s is a non-empty run of underscores.
func underscores(s string) bool {
	return s != "" && strings.Trim(s, "_") == ""
}

// callee returns the name of the function or method whose argument list
// directly holds toks[i], or "" when toks[i] is not a call argument.
func callee(toks []token, i int) string {
	depth := 0
	for k := i - 1; k >= 0; k-- {
		if toks[k].kind != tOp {
			continue
		}
		switch toks[k].text {
		case ")", "]", "}":
			depth++
		case "(", "[", "{":
			if depth > 0 {
				depth--
				continue
			}
			if toks[k].text == "(" && k > 0 && toks[k-1].kind == tName {
				return toks[k-1].text
			}
			return ""
		}
	}
	return ""
}

// pieces looks for the other ways a template can make an underscore, and
// so a dunder name, without writing one: a lone "_" multiplied, stored in
// a variable or used to join or format; characters picked out of a literal
// that holds "_" ('a_b'[1], '_a'|first, 'x_'.split('x')); a str.format
// field that looks attributes up or converts numbers to characters; and a
// dunder name used as a keyword (dict(__class__=1)|first).
func (a *analyser) pieces(toks []token) {
	if len(toks) == 0 {
		return
	}
	// A tag already reported as building a name needs no second finding
	// per underscore piece.
	built := false
	for _, is := range a.issues {
		if is.Kind == StringBuilt && is.Offset >= toks[0].off && is.Offset <= toks[len(toks)-1].off {
			built = true
		}
	}
	for i, tk := range toks {
		prev, next := opAt(toks, i-1), opAt(toks, i+1)
		switch tk.kind {
		case tName:
			if prev != "." && dunderRE.MatchString(tk.text) {
				a.add(Dunder, tk.off, tk.text, "name %s is a dunder: as a keyword or variable it yields the string %q (e.g. dict(%s=1)|first)", tk.text, tk.text, tk.text)
			}
		case tString:
			if built && underscores(tk.text) {
				continue
			}
			method := ""
			if next == "." && i+2 < len(toks) && toks[i+2].kind == tName {
				method = toks[i+2].text
			}
			filter := ""
			if next == "|" && i+2 < len(toks) && toks[i+2].kind == tName {
				filter = toks[i+2].text
			}
			switch {
			case underscores(tk.text) && (prev == "*" || next == "*"):
				a.add(StringBuilt, tk.off, tk.text, "underscore string %q is repeated with * to build a dunder name", tk.text)
			case underscores(tk.text) && prev == "=" && i >= 3 && toks[i-3].kind == tName && toks[i-3].text == "set":
				a.add(StringBuilt, tk.off, tk.text, "underscore string %q is stored in a variable, a piece for building dunder names", tk.text)
			case underscores(tk.text) && (method == "join" || method == "format"):
				a.add(StringBuilt, tk.off, tk.text, "underscore string %q joins or formats pieces into a dunder name", tk.text)
			case underscores(tk.text) && func() bool { c := callee(toks, i); return c == "join" || c == "format" || c == "format_map" }():
				a.add(StringBuilt, tk.off, tk.text, "underscore string %q joins or formats pieces into a dunder name", tk.text)
			case strings.Contains(tk.text, "_") && next == "[":
				a.add(StringBuilt, tk.off, tk.text, "characters are picked out of the string literal %q, which holds an underscore", tk.text)
			case strings.Contains(tk.text, "_") && pickFilters[filter]:
				a.add(StringBuilt, tk.off, tk.text, "the %s filter picks characters out of the string literal %q, which holds an underscore", filter, tk.text)
			case strings.Contains(tk.text, "_") && method != "" && !literalMethods[method] && !(method == "join" && !underscores(tk.text)):
				a.add(StringBuilt, tk.off, tk.text, "string method %s on the literal %q, which holds an underscore, can cut an underscore out of it", method, tk.text)
			case (method == "format" || method == "format_map") && formatFieldRE.MatchString(tk.text):
				a.add(StringBuilt, tk.off, tk.text, "str.format field in %q looks attributes up or converts numbers to characters", tk.text)
			}
		}
	}
}
