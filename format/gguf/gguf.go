// Package gguf parses the header, metadata and tensor infos of GGUF files
// (versions 1 to 3, little- and big-endian) as written by llama.cpp.
//
// Parse reads the file sequentially up to the end of the tensor infos and
// never reads tensor data. Every count and length is checked against the
// bytes that remain before anything is allocated; absurd values are
// reported as Problems and end the parse instead of allocating. Metadata
// values are kept (large arrays only in part), so callers can reuse the
// parsed facts: architecture, general.* keys, quantisation, context
// length, chat templates, tensor and parameter counts.
package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"

	"github.com/mlsecops/mlsec/format/internal/problem"
)

// Magic is the four bytes that open every GGUF file.
const Magic = "GGUF"

// Caps on what a file may declare. Exceeding one is a Problem.
const (
	// MaxTensors caps the tensor infos read. Real files hold a few
	// thousand; a million would take hundreds of MiB to keep.
	MaxTensors = 1 << 16
	// MaxKVs caps the metadata key/value pairs read (real files: dozens;
	// vocabularies are single array values).
	MaxKVs = 1 << 16
	// MaxKeyLen is the longest key the specification allows.
	MaxKeyLen = 65535
	// MaxStringLen caps one metadata string kept in memory.
	MaxStringLen = 16 << 20
	// MaxArrayKeep is how many items of an array are kept; the rest are
	// read and dropped.
	MaxArrayKeep = 64
	// MaxDims is ggml's GGML_MAX_DIMS.
	MaxDims = 4
	// MaxArrayDepth caps arrays nested in arrays.
	MaxArrayDepth = 8
	// DefaultAlignment applies when general.alignment is absent.
	DefaultAlignment = 32
	// MaxKept caps the bytes of keys, names, strings and array items kept
	// in memory for one file (real headers, with 256k-token vocabularies,
	// keep well under 64 MiB).
	MaxKept = 64 << 20

	maxArrayStringKeep = 4096
	bufSize            = 64 << 10
)

// Sentinel errors carried by Problem.Err; test them with errors.Is.
var (
	ErrMagic      = errors.New("gguf: not a GGUF file")
	ErrVersion    = errors.New("gguf: unsupported version")
	ErrTruncated  = errors.New("gguf: truncated")
	ErrCount      = errors.New("gguf: absurd count")
	ErrLength     = errors.New("gguf: absurd length")
	ErrValueType  = errors.New("gguf: unknown metadata value type")
	ErrDuplicate  = errors.New("gguf: duplicate name")
	ErrDims       = errors.New("gguf: invalid tensor dimensions")
	ErrTensorType = errors.New("gguf: unknown tensor type")
	ErrAlignment  = errors.New("gguf: invalid general.alignment")
	ErrOffset     = errors.New("gguf: invalid tensor offset")
	ErrValue      = errors.New("gguf: invalid metadata value")
	ErrTooMany    = errors.New("gguf: too many problems")
)

// Problem is one violation of the format. Its Err is one of the
// sentinel errors above; errors.Is(p, ErrX) reports the problem's kind.
type Problem = problem.Problem

// Array is an array metadata value. Only the first MaxArrayKeep items are
// kept in Items; Len is the declared length.
type Array struct {
	Type  ValueType
	Len   uint64
	Items []any
}

// KV is one metadata key/value pair. Value holds uint8, int8, uint16,
// int16, uint32, int32, float32, bool, string, uint64, int64, float64 or
// *Array according to Type.
type KV struct {
	Key   string
	Type  ValueType
	Value any
	// Offset is where the pair (its key) starts; ValueOffset where the
	// value starts (for strings, at the length field).
	Offset      int64
	ValueOffset int64
}

// Tensor is one tensor info.
type Tensor struct {
	Name string
	Dims []uint64
	Type TensorType
	// Offset is relative to the start of the data region.
	Offset uint64
	// Elements is the product of Dims; Bytes the data size (0 when the
	// type is unknown or the size overflows).
	Elements uint64
	Bytes    uint64
	// InfoOffset is where the tensor info starts in the file.
	InfoOffset int64
}

// File is what Parse learned about a GGUF file.
type File struct {
	Size        int64
	Version     uint32
	BigEndian   bool
	TensorCount uint64
	KVCount     uint64
	KVs         []KV
	Tensors     []Tensor
	// Alignment is general.alignment, or DefaultAlignment.
	Alignment uint64
	// InfoEnd is the offset after the last tensor info; DataStart is it
	// rounded up to Alignment.
	InfoEnd   int64
	DataStart int64
	// Complete is true when the header, metadata and every tensor info
	// were read.
	Complete bool
	Problems []Problem
}

// Parse reads the GGUF file behind r. It returns an error only when r
// fails; malformed content is reported in File.Problems.
func Parse(r io.ReaderAt, size int64) (*File, error) {
	f := &File{Size: size, Alignment: DefaultAlignment}
	// The buffer never exceeds the file: a 64 KiB buffer for every small
	// input made FuzzGGUF allocate-bound (4k execs/s) and stretched the
	// fuzzer's minimisation of each new input into a minute-long stall.
	buf := int(min(max(size, 16), bufSize))
	p := &parser{f: f, br: bufio.NewReaderSize(io.NewSectionReader(r, 0, size), buf), size: size}
	err := p.parse()
	var te *truncErr
	switch {
	case errors.As(err, &te):
		p.problem(ErrTruncated, p.pos, te.what, "file ends at %d while reading %s", size, te.what)
		return f, nil
	case errors.Is(err, errStop):
		return f, nil
	case err != nil:
		return f, fmt.Errorf("gguf: read: %w", err)
	}
	f.Complete = true
	p.layout()
	return f, nil
}

// errStop ends a parse after a problem that makes the rest unreadable.
var errStop = errors.New("stop")

type truncErr struct{ what string }

func (e *truncErr) Error() string { return "truncated " + e.what }

type parser struct {
	f    *File
	br   *bufio.Reader
	bo   binary.ByteOrder
	pos  int64
	size int64
	v1   bool
	buf  [8]byte
	// kept counts the bytes kept in memory, against MaxKept.
	kept int64
}

// charge accounts n kept bytes; exceeding MaxKept is a problem that ends
// the parse.
func (p *parser) charge(n int64, what string) error {
	p.kept += n
	if p.kept > MaxKept {
		p.problem(ErrCount, p.pos, what, "more than %d bytes of metadata and names to keep", MaxKept)
		return errStop
	}
	return nil
}

func (p *parser) problem(err error, off int64, subject, format string, args ...any) {
	p.f.Problems = problem.Add(p.f.Problems, ErrTooMany, err, off, subject, format, args...)
}

func (p *parser) remaining() uint64 { return uint64(p.size - p.pos) }

func (p *parser) read(n int, what string) ([]byte, error) {
	b := p.buf[:n]
	if _, err := io.ReadFull(p.br, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &truncErr{what}
		}
		return nil, err
	}
	p.pos += int64(n)
	return b, nil
}

func (p *parser) u32(what string) (uint32, error) {
	b, err := p.read(4, what)
	if err != nil {
		return 0, err
	}
	return p.bo.Uint32(b), nil
}

func (p *parser) u64(what string) (uint64, error) {
	b, err := p.read(8, what)
	if err != nil {
		return 0, err
	}
	return p.bo.Uint64(b), nil
}

// count reads a count or length: 32 bits in v1, 64 bits from v2 on.
func (p *parser) count(what string) (uint64, error) {
	if p.v1 {
		v, err := p.u32(what)
		return uint64(v), err
	}
	return p.u64(what)
}

func (p *parser) skip(n uint64, what string) error {
	if n > p.remaining() {
		return &truncErr{what}
	}
	for n > 0 {
		step := min(n, 1<<30)
		d, err := p.br.Discard(int(step))
		p.pos += int64(d)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return &truncErr{what}
			}
			return err
		}
		n -= step
	}
	return nil
}

// str reads a GGUF string of at most limit bytes. Longer strings that fit
// in the file are skipped and reported by kept=false; strings longer than
// the rest of the file are a Problem and stop the parse.
func (p *parser) str(what string, limit uint64) (s string, kept bool, err error) {
	start := p.pos
	n, err := p.count(what + " length")
	if err != nil {
		return "", false, err
	}
	if n > p.remaining() {
		p.problem(ErrLength, start, what, "string length %d exceeds the %d bytes left in the file", n, p.remaining())
		return "", false, errStop
	}
	if n > limit {
		return "", false, p.skip(n, what)
	}
	if err := p.charge(int64(n), what); err != nil {
		return "", false, err
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(p.br, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return "", false, &truncErr{what}
		}
		return "", false, err
	}
	p.pos += int64(n)
	return string(b), true, nil
}

func (p *parser) parse() error {
	f := p.f
	var hdr [8]byte
	if _, err := io.ReadFull(p.br, hdr[:]); err != nil {
		p.problem(ErrTruncated, 0, "header", "file of %d bytes is too short for a GGUF header", p.size)
		return errStop
	}
	p.pos = 8
	if string(hdr[:4]) != Magic {
		p.problem(ErrMagic, 0, "", "magic %q is not %q", hdr[:4], Magic)
		return errStop
	}
	le, be := binary.LittleEndian.Uint32(hdr[4:]), binary.BigEndian.Uint32(hdr[4:])
	switch {
	case le >= 1 && le <= 3:
		p.bo, f.Version = binary.LittleEndian, le
	case be >= 1 && be <= 3:
		p.bo, f.Version, f.BigEndian = binary.BigEndian, be, true
	default:
		p.problem(ErrVersion, 4, "", "version %d is not 1, 2 or 3", le)
		return errStop
	}
	p.v1 = f.Version == 1
	var err error
	if f.TensorCount, err = p.count("tensor count"); err != nil {
		return err
	}
	if f.KVCount, err = p.count("metadata count"); err != nil {
		return err
	}
	// The smallest KV is a key length, a type and a one-byte value; the
	// smallest tensor info a name length, n_dims, type and offset.
	lenSize := uint64(8)
	if p.v1 {
		lenSize = 4
	}
	minKV, minTensor := lenSize+4+1, lenSize+4+4+8
	if hi, lo := bits.Mul64(f.KVCount, minKV); hi != 0 || lo > p.remaining() {
		p.problem(ErrCount, 16, "metadata count", "%d key/value pairs cannot fit in the %d bytes left", f.KVCount, p.remaining())
		return errStop
	}
	if f.KVCount > MaxKVs {
		p.problem(ErrCount, 16, "metadata count", "%d key/value pairs exceed the scan cap of %d: not analysed", f.KVCount, MaxKVs)
		return errStop
	}
	if hi, lo := bits.Mul64(f.TensorCount, minTensor); hi != 0 || lo > p.remaining() {
		p.problem(ErrCount, 8, "tensor count", "%d tensor infos cannot fit in the %d bytes left", f.TensorCount, p.remaining())
		return errStop
	}
	if f.TensorCount > MaxTensors {
		p.problem(ErrCount, 8, "tensor count", "%d tensor infos exceed the scan cap of %d: not analysed", f.TensorCount, MaxTensors)
		return errStop
	}
	seen := make(map[string]bool, f.KVCount)
	for i := uint64(0); i < f.KVCount; i++ {
		off := p.pos
		key, kept, err := p.str("metadata key", MaxKeyLen)
		if err != nil {
			return err
		}
		if !kept {
			p.problem(ErrLength, off, "metadata key", "key longer than %d bytes", MaxKeyLen)
		}
		if seen[key] {
			p.problem(ErrDuplicate, off, key, "metadata key appears more than once; readers disagree on which value wins")
		}
		seen[key] = true
		t, err := p.u32(key + " type")
		if err != nil {
			return err
		}
		voff := p.pos
		v, err := p.value(ValueType(t), key, 0)
		if err != nil {
			return err
		}
		f.KVs = append(f.KVs, KV{Key: key, Type: ValueType(t), Value: v, Offset: off, ValueOffset: voff})
	}
	p.alignment()
	names := make(map[string]bool, f.TensorCount)
	for i := uint64(0); i < f.TensorCount; i++ {
		t, err := p.tensor()
		if err != nil {
			return err
		}
		if names[t.Name] {
			p.problem(ErrDuplicate, t.InfoOffset, t.Name, "tensor name appears more than once")
		}
		names[t.Name] = true
		f.Tensors = append(f.Tensors, t)
	}
	f.InfoEnd = p.pos
	return nil
}

// value reads one metadata value of type t.
func (p *parser) value(t ValueType, key string, depth int) (any, error) {
	start := p.pos
	switch t {
	case TypeString:
		s, kept, err := p.str(key, MaxStringLen)
		if err == nil && !kept {
			p.problem(ErrLength, start, key, "string value longer than %d bytes is not kept", MaxStringLen)
		}
		return s, err
	case TypeArray:
		return p.array(key, depth)
	}
	n := t.size()
	if n <= 0 {
		p.problem(ErrValueType, start-4, key, "value type %d is not a GGUF type", uint32(t))
		return nil, errStop
	}
	b, err := p.read(n, key)
	if err != nil {
		return nil, err
	}
	return p.scalar(t, b, key, start), nil
}

func (p *parser) scalar(t ValueType, b []byte, key string, off int64) any {
	switch t {
	case TypeUint8:
		return b[0]
	case TypeInt8:
		return int8(b[0])
	case TypeBool:
		if b[0] > 1 {
			p.problem(ErrValue, off, key, "bool byte is %d, not 0 or 1", b[0])
		}
		return b[0] != 0
	case TypeUint16:
		return p.bo.Uint16(b)
	case TypeInt16:
		return int16(p.bo.Uint16(b))
	case TypeUint32:
		return p.bo.Uint32(b)
	case TypeInt32:
		return int32(p.bo.Uint32(b))
	case TypeFloat32:
		return math.Float32frombits(p.bo.Uint32(b))
	case TypeUint64:
		return p.bo.Uint64(b)
	case TypeInt64:
		return int64(p.bo.Uint64(b))
	case TypeFloat64:
		return math.Float64frombits(p.bo.Uint64(b))
	}
	return nil
}

func (p *parser) array(key string, depth int) (any, error) {
	start := p.pos
	if depth >= MaxArrayDepth {
		p.problem(ErrCount, start, key, "arrays nested deeper than %d levels", MaxArrayDepth)
		return nil, errStop
	}
	et, err := p.u32(key + " array type")
	if err != nil {
		return nil, err
	}
	n, err := p.count(key + " array length")
	if err != nil {
		return nil, err
	}
	a := &Array{Type: ValueType(et), Len: n}
	es := a.Type.size()
	if es < 0 {
		p.problem(ErrValueType, start, key, "array element type %d is not a GGUF type", et)
		return nil, errStop
	}
	// Every element takes at least one byte (strings and arrays at least
	// their length field).
	minSize := uint64(es)
	if es == 0 {
		minSize = 8
		if p.v1 {
			minSize = 4
		}
		if a.Type == TypeArray {
			minSize += 4
		}
	}
	if hi, lo := bits.Mul64(n, minSize); hi != 0 || lo > p.remaining() {
		p.problem(ErrCount, start, key, "array of %d %s elements cannot fit in the %d bytes left", n, a.Type, p.remaining())
		return nil, errStop
	}
	// Items are kept for top-level arrays and their direct children only.
	keep := min(n, MaxArrayKeep)
	if depth >= 2 {
		keep = 0
	}
	if err := p.charge(int64(keep)*16, key); err != nil {
		return nil, err
	}
	a.Items = make([]any, 0, keep)
	if es > 0 {
		for i := uint64(0); i < keep; i++ {
			b, err := p.read(es, key)
			if err != nil {
				return nil, err
			}
			a.Items = append(a.Items, p.scalar(a.Type, b, key, p.pos-int64(es)))
		}
		return a, p.skip((n-keep)*uint64(es), key)
	}
	for i := uint64(0); i < n; i++ {
		if a.Type == TypeString {
			limit := uint64(maxArrayStringKeep)
			if i >= keep {
				limit = 0
			}
			s, _, err := p.str(key, limit)
			if err != nil {
				return nil, err
			}
			if i < keep {
				a.Items = append(a.Items, s)
			}
			continue
		}
		v, err := p.array(key, depth+1)
		if err != nil {
			return nil, err
		}
		if i < keep {
			a.Items = append(a.Items, v)
		}
	}
	return a, nil
}

func (p *parser) alignment() {
	kv, ok := p.f.Lookup("general.alignment")
	if !ok {
		return
	}
	v, isU32 := kv.Value.(uint32)
	switch {
	case !isU32:
		p.problem(ErrAlignment, kv.Offset, kv.Key, "type is %s, not uint32", kv.Type)
	case v == 0 || v&(v-1) != 0:
		p.problem(ErrAlignment, kv.Offset, kv.Key, "alignment %d is not a power of two", v)
	default:
		p.f.Alignment = uint64(v)
	}
}

func (p *parser) tensor() (Tensor, error) {
	t := Tensor{InfoOffset: p.pos}
	name, kept, err := p.str("tensor name", MaxKeyLen)
	if err != nil {
		return t, err
	}
	if !kept {
		p.problem(ErrLength, t.InfoOffset, "tensor name", "name longer than %d bytes", MaxKeyLen)
	}
	t.Name = name
	nd, err := p.u32(name + " n_dims")
	if err != nil {
		return t, err
	}
	if nd > MaxDims {
		p.problem(ErrDims, t.InfoOffset, name, "%d dimensions exceed ggml's %d", nd, MaxDims)
		return t, errStop
	}
	t.Dims = make([]uint64, nd)
	for i := range t.Dims {
		if t.Dims[i], err = p.count(name + " dimension"); err != nil {
			return t, err
		}
	}
	ty, err := p.u32(name + " type")
	if err != nil {
		return t, err
	}
	t.Type = TensorType(ty)
	if t.Offset, err = p.u64(name + " offset"); err != nil {
		return t, err
	}
	t.Elements = 1
	overflow := false
	for _, d := range t.Dims {
		if d > math.MaxInt64 {
			p.problem(ErrDims, t.InfoOffset, name, "dimension %d is negative as ggml's int64", d)
			overflow = true
			break
		}
		hi, lo := bits.Mul64(t.Elements, d)
		if hi != 0 || lo > math.MaxInt64 {
			p.problem(ErrDims, t.InfoOffset, name, "dimensions %v overflow", t.Dims)
			overflow = true
			break
		}
		t.Elements = lo
	}
	if overflow {
		t.Elements = 0
	}
	ti, ok := tensorTypes[t.Type]
	if !ok {
		p.problem(ErrTensorType, t.InfoOffset, name, "ggml type %d is unknown", ty)
		return t, nil
	}
	if overflow {
		return t, nil
	}
	if len(t.Dims) > 0 && t.Dims[0]%ti.block != 0 {
		p.problem(ErrDims, t.InfoOffset, name, "first dimension %d is not a multiple of the %s block size %d", t.Dims[0], ti.name, ti.block)
		return t, nil
	}
	hi, lo := bits.Mul64(t.Elements/ti.block, ti.bytes)
	if hi != 0 {
		p.problem(ErrDims, t.InfoOffset, name, "data size overflows")
		return t, nil
	}
	t.Bytes = lo
	return t, nil
}

// layout checks tensor offsets against the alignment, the file size and
// each other.
func (p *parser) layout() {
	f := p.f
	a := f.Alignment
	ds := uint64(f.InfoEnd)
	if r := ds % a; r != 0 {
		ds += a - r
	}
	f.DataStart = int64(min(ds, uint64(math.MaxInt64)))
	if len(f.Tensors) == 0 {
		return
	}
	if ds > uint64(f.Size) {
		p.problem(ErrOffset, f.InfoEnd, "", "data region starts at %d, after the end of the %d-byte file", ds, f.Size)
		return
	}
	dataLen := uint64(f.Size) - ds
	idx := make([]int, 0, len(f.Tensors))
	for i, t := range f.Tensors {
		if t.Offset%a != 0 {
			p.problem(ErrOffset, t.InfoOffset, t.Name, "offset %d is not a multiple of the alignment %d", t.Offset, a)
		}
		if t.Offset > dataLen || t.Bytes > dataLen-t.Offset {
			p.problem(ErrOffset, t.InfoOffset, t.Name, "data [%d, +%d) runs past the %d-byte data region", t.Offset, t.Bytes, dataLen)
			continue
		}
		idx = append(idx, i)
	}
	sort.SliceStable(idx, func(i, j int) bool { return f.Tensors[idx[i]].Offset < f.Tensors[idx[j]].Offset })
	var end uint64
	prev := ""
	for _, i := range idx {
		t := f.Tensors[i]
		if t.Offset < end && t.Bytes > 0 {
			p.problem(ErrOffset, t.InfoOffset, t.Name, "data at %d overlaps tensor %q (ends at %d)", t.Offset, prev, end)
		}
		if e := t.Offset + t.Bytes; e > end {
			end, prev = e, t.Name
		}
	}
}
