// Package onnx decodes ONNX models (ModelProto) from untrusted bytes without
// loading their weights.
//
// Large models hold their weights inline, in TensorProto data fields that
// can add up to almost 2 GiB. Decode therefore does not hand the file to
// proto.Unmarshal. It first walks the protobuf wire format field by field
// through the io.ReaderAt, descending only into the messages that can
// contain tensors (graphs, nodes, attributes, functions, training info,
// tensors and sparse tensors) and copying every other field verbatim, but
// skipping the tensor payload fields (raw_data, float_data, int32_data,
// string_data, int64_data, double_data, uint64_data) without reading them.
// The resulting "structure" message, usually a few kilobytes to megabytes,
// is bounded by Options.MaxStructureBytes and then unmarshalled into the
// generated onnxpb types. Tensor names, types, dims and external_data
// entries survive; tensor values do not.
package onnx

import (
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/mlsecops/mlsec/format/onnx/onnxpb"
)

// Sentinel errors. Decode wraps them with detail.
var (
	// ErrMalformed means the input is not a well-formed ModelProto.
	ErrMalformed = errors.New("onnx: malformed protobuf")
	// ErrTooLarge means the file or its graph structure exceeds a cap.
	ErrTooLarge = errors.New("onnx: too large")
	// ErrTooDeep means messages or graphs are nested deeper than a cap.
	ErrTooDeep = errors.New("onnx: nesting too deep")
)

// MaxFileSize is the largest ModelProto protobuf can serialise (2 GiB - 1);
// a bigger file cannot be an ONNX model and is rejected before any parsing.
const MaxFileSize = 1<<31 - 1

// Defaults for Options.
const (
	DefaultMaxStructureBytes = 256 << 20
	DefaultMaxDepth          = 32
)

// Options bound the work Decode and Walk do.
type Options struct {
	// MaxStructureBytes caps the model without tensor payloads, which is
	// held in memory. Zero means DefaultMaxStructureBytes.
	MaxStructureBytes int64
	// MaxDepth caps graph nesting (subgraphs in If/Loop/Scan attributes).
	// Zero means DefaultMaxDepth.
	MaxDepth int
}

func (o Options) withDefaults() Options {
	if o.MaxStructureBytes <= 0 {
		o.MaxStructureBytes = DefaultMaxStructureBytes
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	return o
}

// Model is a decoded ONNX model without tensor payloads.
type Model struct {
	// Proto is the ModelProto with tensor payload fields removed.
	Proto *onnxpb.ModelProto
	// SkippedBytes counts the tensor payload bytes that were not read.
	SkippedBytes int64
	// StructureBytes is the size of the message that was unmarshalled.
	StructureBytes int64
}

// msgKind names the messages the wire walk descends into.
type msgKind uint8

const (
	kRaw msgKind = iota // copied verbatim
	kModel
	kGraph
	kNode
	kAttr
	kTensor
	kSparse
	kFunction
	kTraining
)

// child returns the kind of field num of a message of kind k, kRaw for
// fields copied verbatim. Field numbers are onnx.proto's.
func child(k msgKind, num protowire.Number) msgKind {
	switch k {
	case kModel:
		switch num {
		case 7:
			return kGraph
		case 20:
			return kTraining
		case 25:
			return kFunction
		}
	case kTraining:
		if num == 1 || num == 2 {
			return kGraph
		}
	case kGraph:
		switch num {
		case 1:
			return kNode
		case 5:
			return kTensor
		case 15:
			return kSparse
		}
	case kFunction:
		switch num {
		case 7:
			return kNode
		case 11: // attribute_proto (ONNX >= 1.13)
			return kAttr
		}
	case kNode:
		if num == 5 {
			return kAttr
		}
	case kAttr:
		switch num {
		case 5, 10:
			return kTensor
		case 6, 11:
			return kGraph
		case 22, 23:
			return kSparse
		}
	case kSparse:
		if num == 1 || num == 2 {
			return kTensor
		}
	}
	return kRaw
}

// payload reports whether field num of a TensorProto holds tensor values:
// float_data 4, int32_data 5, string_data 6, int64_data 7, raw_data 9,
// double_data 10, uint64_data 11.
func payload(num protowire.Number) bool {
	switch num {
	case 4, 5, 6, 7, 9, 10, 11:
		return true
	}
	return false
}

// maxMsgDepth caps message nesting in the wire walk: a graph level costs
// three messages (graph, node, attribute).
func maxMsgDepth(graphDepth int) int { return 3*graphDepth + 8 }

// Decode reads the ModelProto behind r without its tensor payloads.
func Decode(r io.ReaderAt, size int64, opt Options) (*Model, error) {
	opt = opt.withDefaults()
	if size < 0 {
		return nil, fmt.Errorf("%w: negative size", ErrMalformed)
	}
	if size > MaxFileSize {
		return nil, fmt.Errorf("%w: %d bytes exceeds the protobuf limit of %d", ErrTooLarge, size, int64(MaxFileSize))
	}
	w := &walker{r: &window{r: r, size: size}, max: opt.MaxStructureBytes, maxDepth: maxMsgDepth(opt.MaxDepth)}
	structure, err := w.walk(0, size, kModel, 0)
	if err != nil {
		return nil, err
	}
	m := new(onnxpb.ModelProto)
	uo := proto.UnmarshalOptions{RecursionLimit: w.maxDepth + 16}
	if err := uo.Unmarshal(structure, m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return &Model{Proto: m, SkippedBytes: w.skipped, StructureBytes: int64(len(structure))}, nil
}

// walker compacts a message by copying its fields, descending into the
// messages that can hold tensors and dropping tensor payloads.
type walker struct {
	r        *window
	max      int64 // cap on the total bytes copied
	copied   int64
	skipped  int64
	maxDepth int
}

func (w *walker) walk(off, end int64, k msgKind, depth int) ([]byte, error) {
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
			if k == kTensor && payload(num) {
				w.skipped += int64(l)
				continue
			}
			if c := child(k, num); c != kRaw {
				sub, err := w.walk(body, off, c, depth+1)
				if err != nil {
					return nil, err
				}
				out = protowire.AppendTag(out, num, protowire.BytesType)
				out = protowire.AppendBytes(out, sub)
				if err := w.account(protowire.SizeTag(num) + protowire.SizeVarint(uint64(len(sub)))); err != nil {
					return nil, err
				}
				continue
			}
		default:
			return nil, fmt.Errorf("%w: unsupported wire type %d for field %d at offset %d", ErrMalformed, typ, num, start)
		}
		if off > end {
			return nil, fmt.Errorf("%w: field %d at offset %d runs past the end of its message", ErrMalformed, num, start)
		}
		if k == kTensor && typ != protowire.BytesType && payload(num) {
			// An unpacked repeated numeric value.
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
		return fmt.Errorf("%w: graph structure exceeds %d bytes", ErrTooLarge, w.max)
	}
	return nil
}

// windowSize is how much of the input the walk buffers at a time.
const windowSize = 256 << 10

// window is a buffered view of an io.ReaderAt for random-access reads of
// small items.
type window struct {
	r    io.ReaderAt
	size int64
	buf  []byte
	off  int64 // offset of buf[0]
}

// load makes [off, off+n) available in buf when it fits the window.
func (w *window) load(off int64, n int64) ([]byte, error) {
	if off >= w.off && off+n <= w.off+int64(len(w.buf)) {
		return w.buf[off-w.off : off-w.off+n], nil
	}
	m := int64(windowSize)
	if rest := w.size - off; rest < m {
		m = rest
	}
	if n > m {
		return nil, fmt.Errorf("%w: read past end at offset %d", ErrMalformed, off)
	}
	if cap(w.buf) < int(m) {
		w.buf = make([]byte, m, max(m, min(int64(windowSize), w.size)))
	}
	w.buf = w.buf[:m]
	if k, err := w.r.ReadAt(w.buf, off); k < len(w.buf) {
		w.buf = w.buf[:0]
		if err == nil || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: unexpected end of input at offset %d", ErrMalformed, off)
		}
		return nil, fmt.Errorf("onnx: read at %d: %w", off, err)
	}
	w.off = off
	return w.buf[:n], nil
}

// varint decodes the varint at off, which must end before end.
func (w *window) varint(off, end int64) (uint64, int, error) {
	n := min(int64(maxVarintLen), end-off)
	b, err := w.load(off, n)
	if err != nil {
		return 0, 0, err
	}
	v, m := protowire.ConsumeVarint(b)
	if m < 0 {
		return 0, 0, fmt.Errorf("%w: bad varint at offset %d", ErrMalformed, off)
	}
	return v, m, nil
}

const maxVarintLen = 10

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
		return nil, fmt.Errorf("onnx: read at %d: %w", from, err)
	}
	return out, nil
}
