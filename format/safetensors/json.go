package safetensors

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// The header is streamed through a jsontext.Decoder (the JSON v2 tokenizer;
// encoding/json's Token is about ten times slower) rather than unmarshalled,
// so duplicate keys (which encoding/json would silently resolve to the last
// value, and other parsers to the first) are seen, and the values kept are
// bounded: the header is never held whole, each top-level member is
// handled and dropped before the next is read, only the first three levels
// are stored, arrays keep at most maxArrayKeep entries and everything kept
// is charged against maxKept.
const (
	maxStoreDepth = 3
	maxArrayKeep  = 1024
	// maxKept bounds the keys and strings kept from one header (tensor
	// names, dtypes, metadata), about the memory they take: a header over
	// it is not analysed (ErrLimit).
	maxKept = 64 << 20
)

type (
	object struct{ members []member }
	member struct {
		key   string
		off   int64 // offset of the key's opening quote
		value any
	}
	// array keeps at most maxArrayKeep items; n is the real length.
	array struct {
		items []any
		n     int
	}
	number string
)

func (n number) uint64() (uint64, error) {
	if strings.ContainsAny(string(n), ".eE-+") {
		return 0, fmt.Errorf("not a non-negative integer")
	}
	return strconv.ParseUint(string(n), 10, 64)
}

func kindOf(v any) string {
	switch v.(type) {
	case *object:
		return "an object"
	case array:
		return "an array"
	case string:
		return "a string"
	case number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// errKept ends a decode whose kept values would exceed maxKept bytes, or
// that meets an object below the top level with more than maxMembers
// members.
var errKept = errors.New("header keeps too much")

// maxMembers caps the members of an object below the top level (tensor
// entries have three; __metadata__ maps are small in real files).
const maxMembers = 1 << 16

// decodeHeader streams the JSON object read from r. For every member of the
// top-level object it decodes the member's value (bounded as described
// above) and calls fn, so only one member's value is held at a time; fn's
// error ends the decode. dup is called for every key repeated in an object,
// with its dotted path and offset. A top-level value that is not an object
// is decoded and returned as root, without calling fn. Offsets are relative
// to the start of r.
func decodeHeader(r io.Reader, dup func(path string, off int64), fn func(member) error) (root any, err error) {
	d := &jdec{dec: jsontext.NewDecoder(r, jsontext.AllowDuplicateNames(true)), dup: dup, kept: maxKept}
	if d.dec.PeekKind() != '{' {
		root, err = d.value(0)
	} else {
		root, err = d.object(0, fn)
	}
	if err != nil {
		return nil, err
	}
	if _, err := d.dec.ReadToken(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("unexpected data after the header object at offset %d", d.dec.InputOffset())
	}
	return root, nil
}

type jdec struct {
	dec *jsontext.Decoder
	dup func(string, int64)
	// kept is what is left of the byte budget for stored keys and values.
	kept int64
	// path holds the keys leading to the value being decoded; it is joined
	// only to report a duplicate.
	path []string
}

// charge accounts n kept bytes (plus a per-value overhead).
func (d *jdec) charge(n int) error {
	d.kept -= int64(n) + 16
	if d.kept < 0 {
		return errKept
	}
	return nil
}

// str reads the string (a value or an object key) that is next, charging
// its raw length before it is unquoted, so an oversized string is refused
// without a second copy.
func (d *jdec) str(limit int) (string, int64, error) {
	off := d.dec.InputOffset() + int64(skipSep(d.dec.UnreadBuffer()))
	raw, err := d.dec.ReadValue()
	if err != nil {
		return "", off, eof(err)
	}
	if limit > 0 && len(raw) > limit+2 {
		return "", off, fmt.Errorf("string of %d bytes at offset %d exceeds %d", len(raw)-2, off, limit)
	}
	if err := d.charge(len(raw)); err != nil {
		return "", off, err
	}
	b, err := jsontext.AppendUnquote(nil, raw)
	return string(b), off, err
}

// object decodes an object whose '{' is next. With fn, members are handed
// to fn and not stored.
func (d *jdec) object(depth int, fn func(member) error) (*object, error) {
	if _, err := d.dec.ReadToken(); err != nil {
		return nil, eof(err)
	}
	store := depth < maxStoreDepth
	var small []string // keys seen, while few
	var seen map[string]bool
	obj := &object{}
	for n := 0; d.dec.PeekKind() != '}'; n++ {
		if depth > 0 && n == maxMembers {
			return nil, errKept
		}
		if k := d.dec.PeekKind(); k != '"' {
			if _, err := d.dec.ReadToken(); err != nil {
				return nil, eof(err) // the decoder's own error
			}
			return nil, fmt.Errorf("object key is not a string at offset %d", d.dec.InputOffset())
		}
		// Every key is charged: seen holds it until the object ends.
		key, off, err := d.str(maxNameLen)
		if err != nil {
			return nil, err
		}
		dup := false
		if seen == nil {
			dup = slices.Contains(small, key)
			small = append(small, key)
			if len(small) > 16 {
				seen = make(map[string]bool, 32)
				for _, k := range small {
					seen[k] = true
				}
			}
		} else {
			dup = seen[key]
			seen[key] = true
		}
		d.path = append(d.path, key)
		if dup {
			d.dup(strings.Join(d.path, "."), off)
		}
		v, err := d.value(depth + 1)
		d.path = d.path[:len(d.path)-1]
		if err != nil {
			return nil, err
		}
		switch {
		case fn != nil:
			if err := fn(member{key: key, off: off, value: v}); err != nil {
				return nil, err
			}
		case store:
			obj.members = append(obj.members, member{key: key, off: off, value: v})
		}
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return nil, eof(err)
	}
	return obj, nil
}

func (d *jdec) value(depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("nesting deeper than %d levels", maxJSONDepth)
	}
	store := depth < maxStoreDepth
	switch d.dec.PeekKind() {
	case '{':
		return d.object(depth, nil)
	case '[':
		if _, err := d.dec.ReadToken(); err != nil {
			return nil, eof(err)
		}
		arr := array{}
		for d.dec.PeekKind() != ']' {
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			if store && arr.n < maxArrayKeep {
				arr.items = append(arr.items, v)
			}
			arr.n++
		}
		if _, err := d.dec.ReadToken(); err != nil {
			return nil, eof(err)
		}
		return arr, nil
	case '"':
		if !store {
			return "", eof(d.dec.SkipValue())
		}
		s, _, err := d.str(0)
		return s, err
	case '0':
		raw, err := d.dec.ReadValue()
		if err != nil {
			return nil, eof(err)
		}
		return number(raw), nil
	}
	tok, err := d.dec.ReadToken()
	if err != nil {
		return nil, eof(err)
	}
	switch tok.Kind() {
	case 't', 'f':
		return tok.Bool(), nil
	case 'n':
		return nil, nil
	}
	return nil, fmt.Errorf("unexpected %s at offset %d", tok.Kind(), d.dec.InputOffset())
}

// skipSep counts the separator and whitespace bytes b starts with.
func skipSep(b []byte) int {
	for i, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n', ',', ':':
			continue
		}
		return i
	}
	return len(b)
}

// eof turns io.EOF inside a value into io.ErrUnexpectedEOF.
func eof(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
