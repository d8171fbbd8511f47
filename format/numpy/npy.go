// Package numpy parses the header of numpy .npy files (format versions 1.0,
// 2.0 and 3.0) without evaluating it: the header is a Python dict literal,
// read here by a small bounded literal parser that accepts only strings,
// integers, booleans, None, tuples, lists and dicts.
//
// An array whose dtype holds Python objects ("|O", or a structured dtype
// with an object field) is stored as a pickle after the header; numpy.load
// unpickles it when allow_pickle is set.
package numpy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// Sentinel errors.
var (
	ErrMagic   = errors.New("numpy: not an .npy file (bad magic)")
	ErrVersion = errors.New("numpy: unsupported format version")
	ErrHeader  = errors.New("numpy: malformed header")
	ErrTooBig  = errors.New("numpy: header too large")
)

// Magic opens every .npy file.
const Magic = "\x93NUMPY"

// MaxHeaderLen caps the header bytes this package reads (numpy itself
// refuses headers over 10,000 bytes unless told otherwise).
const MaxHeaderLen = 1 << 20

// NumpyMaxHeaderLen is numpy's default max_header_size.
const NumpyMaxHeaderLen = 10000

const (
	maxDepth    = 32
	maxItems    = 4096
	maxDims     = 64
	maxFieldLen = 64 << 10
)

// Header is a parsed .npy header.
type Header struct {
	Major, Minor int
	// Descr is the dtype description: a type string such as "<f8", or the
	// literal text of a structured dtype's field list.
	Descr string
	// Object is set when the dtype holds Python objects: the data is a
	// pickle.
	Object bool
	// FortranOrder and Shape are the array's layout.
	FortranOrder bool
	Shape        []int64
	// HeaderLen is the length of the dict literal (with padding).
	HeaderLen int
	// DataOffset is where the array data (or the pickle) begins.
	DataOffset int64
	// ItemSize is the size of one element, or -1 when unknown (structured
	// or object dtypes).
	ItemSize int64
}

// DataSize returns the byte size the array data should have, or -1 when
// it cannot be computed (object or structured dtypes, overflow).
func (h *Header) DataSize() int64 {
	if h.ItemSize < 0 || h.Object {
		return -1
	}
	n := h.ItemSize
	for _, d := range h.Shape {
		if d != 0 && n > math.MaxInt64/d {
			return -1
		}
		n *= d
	}
	return n
}

// ReadHeader reads and parses the header of the .npy file in the size
// bytes of r. It reads only the header. When only the dtype is not
// understood it returns the header (DataOffset set) with an error wrapping
// ErrDtype.
func ReadHeader(r io.ReaderAt, size int64) (*Header, error) {
	var pre [12]byte
	n, err := r.ReadAt(pre[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("numpy: read: %w", err)
	}
	if n < 10 || string(pre[:6]) != Magic {
		return nil, ErrMagic
	}
	h := &Header{Major: int(pre[6]), Minor: int(pre[7]), ItemSize: -1}
	var start int64
	var hlen uint64
	switch h.Major {
	case 1:
		start, hlen = 10, uint64(binary.LittleEndian.Uint16(pre[8:]))
	case 2, 3:
		if n < 12 {
			return nil, fmt.Errorf("%w: truncated preamble", ErrHeader)
		}
		start, hlen = 12, uint64(binary.LittleEndian.Uint32(pre[8:]))
	default:
		return nil, fmt.Errorf("%w %d.%d", ErrVersion, h.Major, h.Minor)
	}
	if h.Minor != 0 {
		return nil, fmt.Errorf("%w %d.%d", ErrVersion, h.Major, h.Minor)
	}
	if hlen > MaxHeaderLen {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooBig, hlen)
	}
	if int64(hlen) > size-start {
		return nil, fmt.Errorf("%w: header length %d beyond the file", ErrHeader, hlen)
	}
	buf := make([]byte, hlen)
	if _, err := r.ReadAt(buf, start); err != nil && !(errors.Is(err, io.EOF) && len(buf) > 0) {
		return nil, fmt.Errorf("numpy: read header: %w", err)
	}
	h.HeaderLen = int(hlen)
	h.DataOffset = start + int64(hlen)
	if err := h.parse(buf); err != nil {
		if errors.Is(err, ErrDtype) {
			return h, err // the layout is known; the dtype is not
		}
		return nil, err
	}
	return h, nil
}

// ParseHeader parses the dict literal of a header (what follows the
// preamble) into h's dtype and layout fields.
func ParseHeader(text []byte) (*Header, error) {
	h := &Header{Major: 1, ItemSize: -1, HeaderLen: len(text)}
	if err := h.parse(text); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *Header) parse(text []byte) error {
	if h.Major < 3 {
		for _, c := range text {
			if c >= 0x80 {
				return fmt.Errorf("%w: non-ASCII byte in a version %d header", ErrHeader, h.Major)
			}
		}
	}
	p := &parser{s: string(text)}
	v, err := p.value(0)
	if err != nil {
		return err
	}
	p.space()
	if p.i != len(p.s) {
		return fmt.Errorf("%w: trailing text at byte %d", ErrHeader, p.i)
	}
	d, ok := v.(dict)
	if !ok {
		return fmt.Errorf("%w: header is not a dict", ErrHeader)
	}
	if len(d.keys) != 3 {
		return fmt.Errorf("%w: want keys descr, fortran_order, shape; have %d keys", ErrHeader, len(d.keys))
	}
	descr, okD := d.get("descr")
	fo, okF := d.get("fortran_order")
	shape, okS := d.get("shape")
	if !okD || !okF || !okS {
		return fmt.Errorf("%w: want keys descr, fortran_order, shape", ErrHeader)
	}
	b, ok := fo.(bool)
	if !ok {
		return fmt.Errorf("%w: fortran_order is not a bool", ErrHeader)
	}
	h.FortranOrder = b
	t, ok := shape.(tuple)
	if !ok {
		return fmt.Errorf("%w: shape is not a tuple", ErrHeader)
	}
	if len(t) > maxDims {
		return fmt.Errorf("%w: %d dimensions", ErrHeader, len(t))
	}
	for _, x := range t {
		n, ok := x.(int64)
		if !ok || n < 0 {
			return fmt.Errorf("%w: shape entry %v is not a non-negative int", ErrHeader, x)
		}
		h.Shape = append(h.Shape, n)
	}
	obj, size, err := descrType(descr, 0)
	if err != nil {
		return err
	}
	if str, ok := descr.(string); ok {
		h.Descr = str
	} else {
		h.Descr = p.s[d.spans["descr"][0]:d.spans["descr"][1]]
	}
	h.Object, h.ItemSize = obj, size
	return nil
}

// ErrDtype reports a dtype this package does not understand. numpy may
// still accept it (its spellings vary by version), so a caller that fails
// closed treats the data as possibly a pickle.
var ErrDtype = fmt.Errorf("%w: dtype not understood", ErrHeader)

// descrType interprets a header descr the way numpy.lib.format's
// descr_to_dtype does: a dtype string (np.dtype(descr)), a (base, shape)
// tuple, or a list of (name, type[, shape]) fields whose types recurse.
// It reports whether the dtype holds Python objects and, for a plain type
// string, its item size (-1 when unknown).
func descrType(descr any, depth int) (object bool, size int64, err error) {
	if depth > maxDepth {
		return false, -1, fmt.Errorf("%w: dtype nested too deeply", ErrHeader)
	}
	switch ds := descr.(type) {
	case string:
		return typeString(ds)
	case tuple:
		// (base, shape): a subarray dtype
		if len(ds) != 2 {
			return false, -1, fmt.Errorf("%w: tuple descr is not (type, shape)", ErrHeader)
		}
		o, _, err := descrType(ds[0], depth+1)
		return o, -1, err
	case list:
		o, err := structured(ds, depth+1)
		return o, -1, err
	}
	return false, -1, fmt.Errorf("%w: descr is neither a type string, a (type, shape) tuple nor a field list", ErrHeader)
}

// objectNames are the type names np.dtype maps to the object dtype
// (numpy 1.x and 2.x; "object0" was removed in 2.0). Any type code
// beginning with 'O' is taken as object too ("O4", "O8"; numpy refuses
// the others, so erring there costs nothing).
var objectNames = map[string]bool{"object": true, "object_": true, "object0": true}

// plainNames are the type names np.dtype maps to a non-object dtype.
var plainNames = map[string]bool{
	"bool": true, "bool_": true, "bool8": true, "int": true, "float": true, "complex": true,
	"str": true, "str_": true, "unicode": true, "unicode_": true, "bytes": true, "bytes_": true,
	"string_": true, "void": true, "void0": true, "int0": true, "uint0": true, "intp": true,
	"uintp": true, "intc": true, "uintc": true, "int_": true, "uint": true, "long": true,
	"ulong": true, "longlong": true, "ulonglong": true, "short": true, "ushort": true,
	"byte": true, "ubyte": true, "half": true, "single": true, "double": true,
	"longdouble": true, "longfloat": true, "float_": true, "csingle": true, "cdouble": true,
	"clongdouble": true, "cfloat": true, "clongfloat": true, "complex_": true,
	"singlecomplex": true, "longcomplex": true, "datetime64": true, "timedelta64": true,
	"int8": true, "int16": true, "int32": true, "int64": true, "uint8": true, "uint16": true,
	"uint32": true, "uint64": true, "float16": true, "float32": true, "float64": true,
	"float96": true, "float128": true, "complex64": true, "complex128": true,
	"complex192": true, "complex256": true,
}

// typeString interprets a dtype string as np.dtype does: a comma-separated
// list makes a structured dtype ("i4,O"), each part may carry a subarray
// shape ("(2,3)O", "2O") and a byte order ("<f8", "|O"), then a type code
// with an optional size ("S10", "O8") or a type name ("object",
// "datetime64[ns]"). It reports whether the dtype holds objects and its
// item size (-1 if unknown). A string it cannot place is ErrDtype.
func typeString(s string) (object bool, size int64, err error) {
	if parts := splitFields(s); len(parts) > 1 {
		if strings.TrimSpace(parts[len(parts)-1]) == "" {
			parts = parts[:len(parts)-1] // "O," is one field
		}
		if len(parts) == 0 {
			return false, -1, fmt.Errorf("%w: %q", ErrDtype, s)
		}
		obj := false
		for _, part := range parts {
			o, _, err := typeString(strings.TrimSpace(part))
			if err != nil {
				return false, -1, err
			}
			obj = obj || o
		}
		if len(parts) == 1 {
			return typeString(strings.TrimSpace(parts[0]))
		}
		return obj, -1, nil
	}
	t := s
	sub := false
	if strings.HasPrefix(t, "(") {
		end := strings.IndexByte(t, ')')
		if end < 0 {
			return false, -1, fmt.Errorf("%w: %q", ErrDtype, s)
		}
		t, sub = t[end+1:], true
	} else if i := strings.IndexFunc(t, func(r rune) bool { return r < '0' || r > '9' }); i > 0 {
		t, sub = t[i:], true // "2O": a repeat count
	}
	if t != "" && strings.ContainsRune("<>|=", rune(t[0])) {
		t = t[1:]
	}
	if t == "" {
		return false, -1, fmt.Errorf("%w: empty dtype", ErrHeader)
	}
	if t[0] == 'O' || objectNames[t] {
		return true, -1, nil
	}
	name := t
	if i := strings.IndexByte(name, '['); i > 0 && strings.HasSuffix(name, "]") {
		name = name[:i] // datetime64[ns], M8[ns]
	}
	if plainNames[name] {
		return false, -1, nil
	}
	var n int64 = -1
	if len(t) > 1 {
		n = 0
		for _, c := range t[1:] {
			if c < '0' || c > '9' || n > 1<<40 {
				switch t[0] {
				case 'M', 'm':
					return false, -1, nil // "M8[ns]": legal, size not needed
				}
				return false, -1, fmt.Errorf("%w: %q", ErrDtype, s)
			}
			n = n*10 + int64(c-'0')
		}
	}
	if sub {
		n = -1
	}
	switch t[0] {
	case 'b', 'i', 'u', 'f', 'c', 'S', 'V', 'a':
		return false, n, nil
	case '?':
		return false, 1, nil
	case 'U':
		if n >= 0 {
			n *= 4
		}
		return false, n, nil
	case 'M', 'm', 'e', 'd', 'g', 'l', 'q', 'h', 'B', 'H', 'I', 'L', 'Q', 'F', 'D', 'G', 'p', 'P':
		return false, -1, nil
	}
	return false, -1, fmt.Errorf("%w: %q", ErrDtype, s)
}

// splitFields splits a comma-separated dtype string at the commas that are
// not inside a "(2,3)" shape.
func splitFields(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

// structured walks a structured dtype's field list ([(name, type[, shape]),
// ...]) and reports whether any field holds objects.
func structured(l list, depth int) (bool, error) {
	if depth > maxDepth {
		return false, fmt.Errorf("%w: dtype nested too deeply", ErrHeader)
	}
	obj := false
	for _, f := range l {
		ft, ok := f.(tuple)
		if !ok || len(ft) < 2 || len(ft) > 3 {
			return false, fmt.Errorf("%w: structured dtype field is not (name, type[, shape])", ErrHeader)
		}
		o, _, err := descrType(ft[1], depth+1)
		if err != nil {
			return false, err
		}
		obj = obj || o
	}
	return obj, nil
}

// Literal values.
type (
	tuple []any
	list  []any
	dict  struct {
		keys  []string
		vals  []any
		spans map[string][2]int
	}
)

func (d dict) get(k string) (any, bool) {
	for i, key := range d.keys {
		if key == k {
			return d.vals[i], true
		}
	}
	return nil, false
}

// parser reads a Python literal. It is recursive with a depth cap and an
// item cap, and never allocates more than the input's size.
type parser struct {
	s     string
	i     int
	items int
}

func (p *parser) errf(format string, args ...any) error {
	return fmt.Errorf("%w: %s at byte %d", ErrHeader, fmt.Sprintf(format, args...), p.i)
}

func (p *parser) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\n\r", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *parser) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, p.errf("nesting deeper than %d", maxDepth)
	}
	if p.items++; p.items > maxItems {
		return nil, p.errf("more than %d items", maxItems)
	}
	p.space()
	if p.i >= len(p.s) {
		return nil, p.errf("unexpected end")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.dict(depth)
	case c == '(':
		p.i++
		vs, trailingComma, err := p.seq(')', depth)
		if err != nil {
			return nil, err
		}
		if len(vs) == 1 && !trailingComma {
			return vs[0], nil // parenthesised expression
		}
		return tuple(vs), nil
	case c == '[':
		p.i++
		vs, _, err := p.seq(']', depth)
		return list(vs), err
	case c == '\'' || c == '"':
		return p.str()
	case c == '-' || c == '+' || (c >= '0' && c <= '9'):
		return p.int()
	case strings.HasPrefix(p.s[p.i:], "True"):
		p.i += 4
		return true, nil
	case strings.HasPrefix(p.s[p.i:], "False"):
		p.i += 5
		return false, nil
	case strings.HasPrefix(p.s[p.i:], "None"):
		p.i += 4
		return nil, nil
	}
	return nil, p.errf("unexpected %q", p.s[p.i])
}

func (p *parser) seq(end byte, depth int) ([]any, bool, error) {
	var vs []any
	comma := false
	for {
		p.space()
		if p.i < len(p.s) && p.s[p.i] == end {
			p.i++
			return vs, comma, nil
		}
		if len(vs) > 0 && !comma {
			return nil, false, p.errf("expected ',' or %q", end)
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, false, err
		}
		vs = append(vs, v)
		p.space()
		comma = p.i < len(p.s) && p.s[p.i] == ','
		if comma {
			p.i++
		}
	}
}

func (p *parser) dict(depth int) (any, error) {
	p.i++ // {
	d := dict{spans: map[string][2]int{}}
	for {
		p.space()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return d, nil
		}
		k, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		key, ok := k.(string)
		if !ok {
			return nil, p.errf("dict key is not a string")
		}
		if _, dup := d.spans[key]; dup {
			return nil, p.errf("duplicate key %q", key)
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, p.errf("expected ':'")
		}
		p.i++
		p.space()
		start := p.i
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		d.keys = append(d.keys, key)
		d.vals = append(d.vals, v)
		d.spans[key] = [2]int{start, p.i}
		p.space()
		switch {
		case p.i < len(p.s) && p.s[p.i] == ',':
			p.i++
		case p.i < len(p.s) && p.s[p.i] == '}':
		default:
			return nil, p.errf("expected ',' or '}'")
		}
	}
}

func (p *parser) str() (string, error) {
	q := p.s[p.i]
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch {
		case c == q:
			return b.String(), nil
		case c == '\n':
			return "", p.errf("newline in string")
		case c == '\\':
			if p.i >= len(p.s) {
				return "", p.errf("unterminated escape")
			}
			e := p.s[p.i]
			p.i++
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case '\\', '\'', '"':
				b.WriteByte(e)
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
		if b.Len() > maxFieldLen {
			return "", p.errf("string longer than %d bytes", maxFieldLen)
		}
	}
	return "", p.errf("unterminated string")
}

func (p *parser) int() (int64, error) {
	neg := false
	if c := p.s[p.i]; c == '-' || c == '+' {
		neg = c == '-'
		p.i++
	}
	start := p.i
	var n int64
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		d := int64(p.s[p.i] - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, p.errf("integer overflow")
		}
		n = n*10 + d
		p.i++
	}
	if p.i == start {
		return 0, p.errf("expected digits")
	}
	if p.i < len(p.s) && (p.s[p.i] == 'L' || p.s[p.i] == 'l') { // Python 2 long
		p.i++
	}
	if neg {
		n = -n
	}
	return n, nil
}
