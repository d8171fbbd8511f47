package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The header is decoded from the token stream of encoding/json rather than
// with Unmarshal, so duplicate keys (which encoding/json would silently
// resolve to the last value, and other parsers to the first) are seen, and
// the values kept are bounded: only the first three levels are stored and
// arrays keep at most maxArrayKeep entries.
const (
	maxStoreDepth = 3
	maxArrayKeep  = 1024
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

// decodeJSON decodes one JSON value from b (whitespace may follow it; any
// other trailing bytes are an error) and calls dup for every key repeated in
// an object, with its dotted path and offset.
func decodeJSON(b []byte, dup func(path string, off int64)) (any, error) {
	d := &jdec{dec: json.NewDecoder(bytes.NewReader(b)), dup: dup, src: b}
	d.dec.UseNumber()
	v, err := d.value(0, "")
	if err != nil {
		return nil, err
	}
	if _, err := d.dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("unexpected data after the header object at offset %d", d.dec.InputOffset())
	}
	return v, nil
}

type jdec struct {
	dec *json.Decoder
	dup func(string, int64)
	src []byte
}

// keyStart moves an offset taken before a key token past the separator
// and whitespace the decoder has not consumed yet, onto the key's quote.
func (d *jdec) keyStart(off int64) int64 {
	for off < int64(len(d.src)) {
		switch d.src[off] {
		case ' ', '\t', '\r', '\n', ',':
			off++
			continue
		}
		break
	}
	return off
}

func (d *jdec) value(depth int, path string) (any, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("nesting deeper than %d levels", maxJSONDepth)
	}
	tok, err := d.dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	store := depth < maxStoreDepth
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			seen := map[string]bool{}
			obj := &object{}
			for d.dec.More() {
				off := d.dec.InputOffset()
				kt, err := d.dec.Token()
				if err != nil {
					return nil, err
				}
				key, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key is not a string at offset %d", off)
				}
				off = d.keyStart(off)
				if len(key) > maxNameLen {
					return nil, fmt.Errorf("key of %d bytes at offset %d exceeds %d", len(key), off, maxNameLen)
				}
				sub := key
				if path != "" {
					sub = path + "." + key
				}
				if seen[key] {
					d.dup(sub, off)
				}
				seen[key] = true
				v, err := d.value(depth+1, sub)
				if err != nil {
					return nil, err
				}
				if store {
					obj.members = append(obj.members, member{key: key, off: off, value: v})
				}
			}
			if _, err := d.dec.Token(); err != nil {
				return nil, err
			}
			return obj, nil
		case '[':
			arr := array{}
			for d.dec.More() {
				v, err := d.value(depth+1, path)
				if err != nil {
					return nil, err
				}
				if store && arr.n < maxArrayKeep {
					arr.items = append(arr.items, v)
				}
				arr.n++
			}
			if _, err := d.dec.Token(); err != nil {
				return nil, err
			}
			return arr, nil
		}
		return nil, fmt.Errorf("unexpected %q at offset %d", t, d.dec.InputOffset())
	case json.Number:
		return number(t), nil
	default:
		return t, nil
	}
}
