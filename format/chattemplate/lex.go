package chattemplate

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokKind classifies a token inside a Jinja tag.
type tokKind int

const (
	tName tokKind = iota
	tString
	tNumber
	tOp
)

// token is one lexeme of a Jinja expression or statement. For strings,
// text is the decoded value.
type token struct {
	kind tokKind
	text string
	off  int
}

// tag is one {{ ... }} or {% ... %} with its tokens.
type tag struct {
	stmt   bool // {% %}
	off    int
	tokens []token
}

// lexError is a syntax error found while lexing.
type lexError struct {
	off int
	msg string
}

// lex splits src into tags. Text, comments and {% raw %} blocks are
// skipped. It stops at the first syntax error, returning the tags before it.
func lex(src string) ([]tag, *lexError) {
	var tags []tag
	i := 0
	for {
		j := indexOpen(src, i)
		if j < 0 {
			return tags, nil
		}
		switch src[j+1] {
		case '#':
			k := strings.Index(src[j+2:], "#}")
			if k < 0 {
				return tags, &lexError{j, "unterminated comment"}
			}
			i = j + 2 + k + 2
			continue
		}
		stmt := src[j+1] == '%'
		t, end, err := lexTag(src, j, stmt)
		if err != nil {
			return tags, err
		}
		tags = append(tags, t)
		i = end
		if stmt && len(t.tokens) > 0 && t.tokens[0].kind == tName && t.tokens[0].text == "raw" {
			// Everything up to {% endraw %} is literal text.
			k := findEndRaw(src, i)
			if k < 0 {
				return tags, &lexError{j, "unterminated raw block"}
			}
			i = k
		}
	}
}

// indexOpen finds the next "{{", "{%" or "{#" at or after i.
func indexOpen(src string, i int) int {
	for {
		k := strings.IndexByte(src[i:], '{')
		if k < 0 || i+k+1 >= len(src) {
			return -1
		}
		switch src[i+k+1] {
		case '{', '%', '#':
			return i + k
		}
		i += k + 1
	}
}

// findEndRaw returns the offset after the {% endraw %} tag following i.
func findEndRaw(src string, i int) int {
	for {
		j := indexOpen(src, i)
		if j < 0 {
			return -1
		}
		if src[j+1] == '%' {
			t, end, err := lexTag(src, j, true)
			if err == nil && len(t.tokens) == 1 && t.tokens[0].text == "endraw" {
				return end
			}
		}
		i = j + 2
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdent(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// lexTag tokenises the tag opening at j and returns it with the offset
// after its closing delimiter.
func lexTag(src string, j int, stmt bool) (tag, int, *lexError) {
	closer := "}}"
	if stmt {
		closer = "%}"
	}
	t := tag{stmt: stmt, off: j}
	i := j + 2
	if i < len(src) && (src[i] == '-' || src[i] == '+') {
		i++
	}
	depth := 0 // brackets, so "}}" inside a dict literal does not close
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case depth == 0 && strings.HasPrefix(src[i:], closer):
			return t, i + 2, nil
		case (c == '-' || c == '+') && depth == 0 && strings.HasPrefix(src[i+1:], closer):
			return t, i + 3, nil
		case isIdentStart(c):
			k := i
			for k < len(src) && isIdent(src[k]) {
				k++
			}
			t.tokens = append(t.tokens, token{tName, src[i:k], i})
			i = k
		case c >= '0' && c <= '9':
			k := i
			for k < len(src) && (isIdent(src[k]) || src[k] == '.') {
				k++
			}
			t.tokens = append(t.tokens, token{tNumber, src[i:k], i})
			i = k
		case c == '\'' || c == '"':
			s, k, err := lexString(src, i)
			if err != nil {
				return t, 0, err
			}
			t.tokens = append(t.tokens, token{tString, s, i})
			i = k
		default:
			op := string(c)
			if i+1 < len(src) {
				switch two := src[i : i+2]; two {
				case "**", "//", "==", "!=", "<=", ">=":
					op = two
				}
			}
			switch c {
			case '(', '[', '{':
				depth++
			case ')', ']', '}':
				if depth > 0 {
					depth--
				}
			}
			t.tokens = append(t.tokens, token{tOp, op, i})
			i += len(op)
		}
	}
	return t, 0, &lexError{j, "unterminated tag"}
}

// lexString decodes the string literal at i with Python's escapes (Jinja
// string literals follow Python's), returning the value and the offset
// after the closing quote.
func lexString(src string, i int) (string, int, *lexError) {
	q := src[i]
	var b strings.Builder
	k := i + 1
	for k < len(src) {
		c := src[k]
		switch {
		case c == q:
			return b.String(), k + 1, nil
		case c == '\\' && k+1 < len(src):
			n, w := decodeEscape(src[k+1:])
			if w == 0 {
				b.WriteByte('\\')
				k++
				continue
			}
			b.WriteString(n)
			k += 1 + w
		default:
			b.WriteByte(c)
			k++
		}
	}
	return "", 0, &lexError{i, "unterminated string literal"}
}

// decodeEscape decodes the escape after a backslash; w is the number of
// bytes consumed (0 when the escape is not recognised).
func decodeEscape(s string) (string, int) {
	switch s[0] {
	case 'n':
		return "\n", 1
	case 't':
		return "\t", 1
	case 'r':
		return "\r", 1
	case '\\', '\'', '"':
		return s[:1], 1
	case '\n':
		return "", 1
	case 'a':
		return "\a", 1
	case 'b':
		return "\b", 1
	case 'f':
		return "\f", 1
	case 'v':
		return "\v", 1
	case 'x':
		return hexEscape(s, 2)
	case 'u':
		return hexEscape(s, 4)
	case 'U':
		return hexEscape(s, 8)
	case 'N':
		return "", 0
	}
	if s[0] >= '0' && s[0] <= '7' {
		k := 1
		for k < 3 && k < len(s) && s[k] >= '0' && s[k] <= '7' {
			k++
		}
		v, _ := strconv.ParseUint(s[:k], 8, 32)
		return string(rune(v)), k
	}
	return "", 0
}

func hexEscape(s string, n int) (string, int) {
	if len(s) < 1+n {
		return "", 0
	}
	v, err := strconv.ParseUint(s[1:1+n], 16, 32)
	if err != nil || !utf8.ValidRune(rune(v)) {
		return "", 0
	}
	return string(rune(v)), 1 + n
}

func (e *lexError) Error() string { return fmt.Sprintf("offset %d: %s", e.off, e.msg) }
