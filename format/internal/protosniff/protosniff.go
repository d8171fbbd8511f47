// Package protosniff recognises the top-level protobuf messages of model
// files — ONNX ModelProto and TensorFlow SavedModel — whatever the order of
// their fields. Protobuf allows fields in any order and parsers accept
// them so; a check of the first bytes alone misses a model whose writer
// (or attacker) put the graph first. The whole message is walked at the
// top level only: length-delimited fields are skipped by their declared
// length without being read, so a multi-gigabyte model costs a few reads.
package protosniff

import (
	"bufio"
	"errors"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
)

// Kind is what Classify recognised.
type Kind int

// Kinds.
const (
	None Kind = iota
	ONNX
	SavedModel
)

// maxFields caps the top-level fields walked.
const maxFields = 1 << 16

// onnxFields are ModelProto's fields and wire types (onnx.proto3):
// ir_version 1, producer_name 2, producer_version 3, domain 4,
// model_version 5, doc_string 6, graph 7, opset_import 8,
// metadata_props 14, training_info 20, functions 25, configuration 26.
var onnxFields = map[protowire.Number]protowire.Type{
	1: protowire.VarintType, 2: protowire.BytesType, 3: protowire.BytesType,
	4: protowire.BytesType, 5: protowire.VarintType, 6: protowire.BytesType,
	7: protowire.BytesType, 8: protowire.BytesType, 14: protowire.BytesType,
	20: protowire.BytesType, 25: protowire.BytesType, 26: protowire.BytesType,
}

// Classify walks the size bytes of r as one protobuf message. It returns
// ONNX when every ModelProto field has its wire type (fields ModelProto
// does not define are allowed: parsers keep them), ir_version is present and plausible, and there is a graph or a function
// library; SavedModel when the fields are saved_model_schema_version (1)
// and meta_graphs (2), with at least one meta graph; None otherwise,
// including when the walk does not end exactly at size.
func Classify(r io.ReaderAt, size int64) Kind {
	if size < 2 {
		return None
	}
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 4096)
	var pos int64
	seen := map[protowire.Number]int{}
	onnx, saved := true, true
	var irVersion uint64
	for n := 0; pos < size; n++ {
		if n >= maxFields {
			return None
		}
		tag, err := readVarint(br, &pos)
		if err != nil {
			return None
		}
		num, typ := protowire.DecodeTag(tag)
		if num < 1 {
			return None
		}
		// Unknown fields are kept by protobuf parsers (onnx.load accepts
		// them); a known field with the wrong wire type is an error.
		if t, ok := onnxFields[num]; ok && t != typ {
			onnx = false
		}
		if !(num == 1 && typ == protowire.VarintType || num == 2 && typ == protowire.BytesType) {
			saved = false
		}
		if !onnx && !saved {
			return None
		}
		seen[num]++
		switch typ {
		case protowire.VarintType:
			v, err := readVarint(br, &pos)
			if err != nil {
				return None
			}
			if num == 1 {
				irVersion = v
			}
		case protowire.BytesType:
			l, err := readVarint(br, &pos)
			if err != nil || l > uint64(size-pos) {
				return None
			}
			if _, err := br.Discard(int(l)); err != nil {
				return None
			}
			pos += int64(l)
		case protowire.Fixed32Type, protowire.Fixed64Type:
			n := 4
			if typ == protowire.Fixed64Type {
				n = 8
			}
			if _, err := br.Discard(n); err != nil {
				return None
			}
			pos += int64(n)
		default:
			return None
		}
	}
	switch {
	case onnx && seen[1] > 0 && irVersion >= 1 && irVersion <= 100 && (seen[7] > 0 || seen[25] > 0):
		return ONNX
	case saved && seen[2] > 0:
		return SavedModel
	}
	return None
}

var errVarint = errors.New("protosniff: bad varint")

func readVarint(br *bufio.Reader, pos *int64) (uint64, error) {
	var v uint64
	for i := 0; i < 10; i++ {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		*pos++
		v |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			return v, nil
		}
	}
	return 0, errVarint
}
