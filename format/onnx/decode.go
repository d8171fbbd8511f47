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
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/mlsecops/mlsec/format/onnx/onnxpb"
	"github.com/mlsecops/mlsec/format/onnx/protowalk"
)

// Sentinel errors, shared with package protowalk (errors.Is works with
// either name). Decode wraps them with detail.
var (
	// ErrMalformed means the input is not a well-formed ModelProto.
	ErrMalformed = protowalk.ErrMalformed
	// ErrTooLarge means the file or its graph structure exceeds a cap.
	ErrTooLarge = protowalk.ErrTooLarge
	// ErrTooDeep means messages or graphs are nested deeper than a cap.
	ErrTooDeep = protowalk.ErrTooDeep
)

// MaxFileSize is the largest ModelProto protobuf can serialise (2 GiB - 1);
// a bigger file cannot be an ONNX model and is rejected before any parsing.
const MaxFileSize = 1<<31 - 1

// Defaults for Options.
const (
	// DefaultMaxStructureBytes keeps Unmarshal's Go structs (about ten
	// times the wire size) within the scan's memory budget: 2·10^6 nodes
	// are 54 MB on the wire and 600 MB decoded. Real graphs, payloads
	// skipped, are a few MB at most.
	DefaultMaxStructureBytes = 16 << 20
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
	// SkippedBytes counts the bytes of tensor payload fields (tag, length
	// and data) that were not read.
	SkippedBytes int64
	// StructureBytes is the size of the message that was unmarshalled.
	StructureBytes int64
}

// msgKind names the messages the wire walk descends into.
type msgKind = int

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

// schema keeps every field, descends into the messages that can hold
// tensors and skips tensor payloads. Field numbers are onnx.proto's.
func schema(k msgKind, num protowire.Number) (protowalk.Action, int) {
	if k == kTensor && payload(num) {
		return protowalk.Skip, kRaw
	}
	if c := child(k, num); c != kRaw {
		return protowalk.Descend, c
	}
	return protowalk.Copy, kRaw
}

// child returns the kind of field num of a message of kind k, kRaw for
// fields copied verbatim.
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
	if size > MaxFileSize {
		return nil, fmt.Errorf("onnx: %w: %d bytes exceeds the protobuf limit of %d", ErrTooLarge, size, int64(MaxFileSize))
	}
	depth := maxMsgDepth(opt.MaxDepth)
	res, err := protowalk.Compact(r, size, kModel, schema, protowalk.Options{MaxBytes: opt.MaxStructureBytes, MaxDepth: depth})
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	m := new(onnxpb.ModelProto)
	uo := proto.UnmarshalOptions{RecursionLimit: depth + 16}
	if err := uo.Unmarshal(res.Bytes, m); err != nil {
		return nil, fmt.Errorf("onnx: %w: %v", ErrMalformed, err)
	}
	return &Model{Proto: m, SkippedBytes: res.Skipped, StructureBytes: int64(len(res.Bytes))}, nil
}
