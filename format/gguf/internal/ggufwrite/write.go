// Package ggufwrite builds GGUF files for tests, benchmarks and the fixture
// generator. It writes exactly what it is told, including invalid values, so
// fixtures can carry deliberate violations.
package ggufwrite

import (
	"bytes"
	"encoding/binary"
	"math"
)

// Value types, as in the GGUF specification.
const (
	Uint8   = 0
	Int8    = 1
	Uint16  = 2
	Int16   = 3
	Uint32  = 4
	Int32   = 5
	Float32 = 6
	Bool    = 7
	String  = 8
	Array   = 9
	Uint64  = 10
	Int64   = 11
	Float64 = 12
)

// Builder accumulates a GGUF header.
type Builder struct {
	Version   uint32
	BigEndian bool
	buf       bytes.Buffer
	kvs       bytes.Buffer
	tensors   bytes.Buffer
	nKV       uint64
	nTensor   uint64
	// KVCount and TensorCount override the counts written when non-nil.
	KVCount, TensorCount *uint64
}

// New returns a builder for a little-endian file of the given version.
func New(version uint32) *Builder { return &Builder{Version: version} }

func (b *Builder) order() binary.AppendByteOrder {
	if b.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

func (b *Builder) u32(w *bytes.Buffer, v uint32) { w.Write(b.order().AppendUint32(nil, v)) }
func (b *Builder) u64(w *bytes.Buffer, v uint64) { w.Write(b.order().AppendUint64(nil, v)) }

// Len writes a count or length: 32 bits in v1, 64 bits after.
func (b *Builder) Len(w *bytes.Buffer, n uint64) {
	if b.Version == 1 {
		b.u32(w, uint32(n))
		return
	}
	b.u64(w, n)
}

// Str writes a GGUF string.
func (b *Builder) Str(w *bytes.Buffer, s string) {
	b.Len(w, uint64(len(s)))
	w.WriteString(s)
}

// Value writes a value of type t (without the type tag). Arrays are given
// as ArrayValue.
func (b *Builder) Value(w *bytes.Buffer, t uint32, v any) {
	switch t {
	case Uint8, Int8:
		w.WriteByte(byte(toU64(v)))
	case Bool:
		if x, ok := v.(bool); ok {
			v = map[bool]uint64{false: 0, true: 1}[x]
		}
		w.WriteByte(byte(toU64(v)))
	case Uint16, Int16:
		w.Write(b.order().AppendUint16(nil, uint16(toU64(v))))
	case Uint32, Int32:
		b.u32(w, uint32(toU64(v)))
	case Float32:
		b.u32(w, math.Float32bits(float32(v.(float64))))
	case Uint64, Int64:
		b.u64(w, toU64(v))
	case Float64:
		b.u64(w, math.Float64bits(v.(float64)))
	case String:
		b.Str(w, v.(string))
	case Array:
		a := v.(ArrayValue)
		b.u32(w, a.Type)
		n := uint64(len(a.Items))
		if a.Len != nil {
			n = *a.Len
		}
		b.Len(w, n)
		for _, it := range a.Items {
			b.Value(w, a.Type, it)
		}
	default:
		w.Write(v.([]byte))
	}
}

func toU64(v any) uint64 {
	switch x := v.(type) {
	case int:
		return uint64(x)
	case int64:
		return uint64(x)
	case uint64:
		return x
	case uint32:
		return uint64(x)
	}
	panic("ggufwrite: not an integer")
}

// ArrayValue is an array value; Len overrides the written length.
type ArrayValue struct {
	Type  uint32
	Items []any
	Len   *uint64
}

// KV adds a metadata pair.
func (b *Builder) KV(key string, t uint32, v any) *Builder {
	b.Str(&b.kvs, key)
	b.u32(&b.kvs, t)
	b.Value(&b.kvs, t, v)
	b.nKV++
	return b
}

// RawKV adds a key followed by raw bytes (type tag and value).
func (b *Builder) RawKV(key string, raw []byte) *Builder {
	b.Str(&b.kvs, key)
	b.kvs.Write(raw)
	b.nKV++
	return b
}

// Tensor adds a tensor info.
func (b *Builder) Tensor(name string, dims []uint64, typ uint32, offset uint64) *Builder {
	b.Str(&b.tensors, name)
	b.u32(&b.tensors, uint32(len(dims)))
	for _, d := range dims {
		b.Len(&b.tensors, d)
	}
	b.u32(&b.tensors, typ)
	b.u64(&b.tensors, offset)
	b.nTensor++
	return b
}

// Header returns the header, metadata and tensor infos, padded with zeros
// to align.
func (b *Builder) Header(align int) []byte {
	var w bytes.Buffer
	w.WriteString("GGUF")
	b.u32(&w, b.Version)
	nt, nk := b.nTensor, b.nKV
	if b.TensorCount != nil {
		nt = *b.TensorCount
	}
	if b.KVCount != nil {
		nk = *b.KVCount
	}
	b.Len(&w, nt)
	b.Len(&w, nk)
	w.Write(b.kvs.Bytes())
	w.Write(b.tensors.Bytes())
	if align > 0 {
		for w.Len()%align != 0 {
			w.WriteByte(0)
		}
	}
	return w.Bytes()
}

// U64 returns a pointer to v, for the override fields.
func U64(v uint64) *uint64 { return &v }
