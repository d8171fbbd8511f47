// Package protowalk compacts a protobuf message read through an
// io.ReaderAt: it walks the wire format field by field, copies the fields a
// Schema keeps, descends into the sub-messages it names and skips the rest
// without reading them. Parsers use it to unmarshal the structure of
// multi-gigabyte models (graphs, node names) without loading their weights.
//
// Reads go through a 256 KiB window, so a walk costs one read per window
// of structure plus one per large copied field; skipped fields cost
// nothing.
package protowalk

import (
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
)

// Sentinel errors; callers wrap them with their package prefix.
var (
	// ErrMalformed means the input is not well-formed protobuf.
	ErrMalformed = errors.New("malformed protobuf")
	// ErrTooLarge means the kept structure exceeds Options.MaxBytes.
	ErrTooLarge = errors.New("too large")
	// ErrTooDeep means messages nest deeper than Options.MaxDepth.
	ErrTooDeep = errors.New("nesting too deep")
)

// Action says what to do with one field.
type Action uint8

// Field actions.
const (
	// Copy keeps the field's bytes verbatim.
	Copy Action = iota
	// Skip drops the field without reading its payload.
	Skip
	// Descend walks the field (which must be length-delimited) as a
	// sub-message of the kind Schema returns; a field of another wire type
	// is copied.
	Descend
)

// Schema decides the action for field num of a message of kind msg; for
// Descend it also returns the sub-message's kind.
type Schema func(msg int, num protowire.Number) (Action, int)

// Options bound a walk.
type Options struct {
	// MaxBytes caps the compacted output.
	MaxBytes int64
	// MaxDepth caps message nesting.
	MaxDepth int
}

// Result is a compacted message.
type Result struct {
	// Bytes is the message with skipped fields removed.
	Bytes []byte
	// Skipped counts the payload bytes of skipped fields.
	Skipped int64
}

// Compact walks the size bytes behind r as a message of kind root.
func Compact(r io.ReaderAt, size int64, root int, schema Schema, opt Options) (*Result, error) {
	if size < 0 {
		return nil, fmt.Errorf("%w: negative size", ErrMalformed)
	}
	w := &walker{r: &window{r: r, size: size}, schema: schema, max: opt.MaxBytes, maxDepth: opt.MaxDepth}
	out, err := w.walk(0, size, root, 0)
	if err != nil {
		return nil, err
	}
	return &Result{Bytes: out, Skipped: w.skipped}, nil
}

type walker struct {
	r        *window
	schema   Schema
	max      int64
	copied   int64
	skipped  int64
	maxDepth int
}

func (w *walker) walk(off, end int64, kind int, depth int) ([]byte, error) {
	if depth > w.maxDepth {
		return nil, fmt.Errorf("%w: messages nested more than %d deep at offset %d", ErrTooDeep, w.maxDepth, off)
	}
	var out []byte
	for off < end {
		start := off
		tag, n, err := w.r.varint(off, end)
		if err != nil {
			return nil, err
		}
		off += int64(n)
		num, typ := protowire.DecodeTag(tag)
		if num < protowire.MinValidNumber || tag>>3 > uint64(protowire.MaxValidNumber) {
			return nil, fmt.Errorf("%w: invalid field number at offset %d", ErrMalformed, start)
		}
		action, child := w.schema(kind, num)
		switch typ {
		case protowire.VarintType:
			_, n, err := w.r.varint(off, end)
			if err != nil {
				return nil, err
			}
			off += int64(n)
		case protowire.Fixed32Type:
			off += 4
		case protowire.Fixed64Type:
			off += 8
		case protowire.BytesType:
			l, n, err := w.r.varint(off, end)
			if err != nil {
				return nil, err
			}
			off += int64(n)
			if l > uint64(end-off) {
				return nil, fmt.Errorf("%w: field %d at offset %d: length %d runs past the end of its message", ErrMalformed, num, start, l)
			}
			body := off
			off += int64(l)
			if action == Descend {
				sub, err := w.walk(body, off, child, depth+1)
				if err != nil {
					return nil, err
				}
				if err := w.account(protowire.SizeTag(num) + protowire.SizeVarint(uint64(len(sub)))); err != nil {
					return nil, err
				}
				out = protowire.AppendTag(out, num, protowire.BytesType)
				out = protowire.AppendBytes(out, sub)
				continue
			}
		default:
			return nil, fmt.Errorf("%w: unsupported wire type %d for field %d at offset %d", ErrMalformed, typ, num, start)
		}
		if off > end {
			return nil, fmt.Errorf("%w: field %d at offset %d runs past the end of its message", ErrMalformed, num, start)
		}
		if action == Skip {
			w.skipped += off - start
			continue
		}
		if err := w.account(int(off - start)); err != nil {
			return nil, err
		}
		out, err = w.r.appendRange(out, start, off)
		if err != nil {
			return nil, err
		}
	}
	if off != end {
		return nil, fmt.Errorf("%w: message ends at offset %d, past its declared end %d", ErrMalformed, off, end)
	}
	return out, nil
}

func (w *walker) account(n int) error {
	w.copied += int64(n)
	if w.copied > w.max {
		return fmt.Errorf("%w: structure exceeds %d bytes", ErrTooLarge, w.max)
	}
	return nil
}

// windowSize is how much of the input is buffered at a time.
const windowSize = 256 << 10

const maxVarintLen = 10

// window is a buffered view of an io.ReaderAt for reads of small items.
type window struct {
	r    io.ReaderAt
	size int64
	buf  []byte
	off  int64 // offset of buf[0]
}

// load returns the input bytes [off, off+n), n <= windowSize.
func (w *window) load(off int64, n int64) ([]byte, error) {
	if off >= w.off && off+n <= w.off+int64(len(w.buf)) {
		return w.buf[off-w.off : off-w.off+n], nil
	}
	m := min(int64(windowSize), w.size-off)
	if n > m {
		return nil, fmt.Errorf("%w: read past end at offset %d", ErrMalformed, off)
	}
	if int64(cap(w.buf)) < m {
		w.buf = make([]byte, m, max(m, min(int64(windowSize), w.size)))
	}
	w.buf = w.buf[:m]
	if k, err := w.r.ReadAt(w.buf, off); k < len(w.buf) {
		w.buf = w.buf[:0]
		if err == nil || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: unexpected end of input at offset %d", ErrMalformed, off)
		}
		return nil, fmt.Errorf("read at %d: %w", off, err)
	}
	w.off = off
	return w.buf[:n], nil
}

// varint decodes the varint at off, which must end before end.
func (w *window) varint(off, end int64) (uint64, int, error) {
	b, err := w.load(off, min(maxVarintLen, end-off))
	if err != nil {
		return 0, 0, err
	}
	v, m := protowire.ConsumeVarint(b)
	if m < 0 {
		return 0, 0, fmt.Errorf("%w: bad varint at offset %d", ErrMalformed, off)
	}
	return v, m, nil
}

// appendRange appends the input bytes [from, to) to out.
func (w *window) appendRange(out []byte, from, to int64) ([]byte, error) {
	n := to - from
	if n <= windowSize {
		b, err := w.load(from, n)
		if err != nil {
			return nil, err
		}
		return append(out, b...), nil
	}
	l := len(out)
	out = append(out, make([]byte, n)...)
	if k, err := w.r.ReadAt(out[l:], from); int64(k) < n {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: unexpected end of input at offset %d", ErrMalformed, from)
		}
		return nil, fmt.Errorf("read at %d: %w", from, err)
	}
	return out, nil
}
