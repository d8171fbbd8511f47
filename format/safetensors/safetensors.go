// Package safetensors parses and strictly validates the header of a
// safetensors file: an 8-byte little-endian header length, a JSON header
// describing every tensor (dtype, shape, data_offsets) plus an optional
// "__metadata__" string map, then the raw tensor bytes.
//
// Parse reads only the length prefix, the header and a few small probes
// (the first bytes of the data region, the trailer and the file's last
// bytes); tensor data is never read in bulk. Every violation of the format is
// reported as a Problem rather than an error, so a caller sees all of them.
package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"

	"github.com/mlsecops/mlsec/format/internal/problem"
)

// MaxHeaderSize is the largest header accepted, as in the reference
// implementation (100 MB).
const MaxHeaderSize = 100_000_000

// MaxTensors caps the tensors read from one header; a header declaring
// more is not analysed (ErrLimit). Real checkpoints shard long before this.
const MaxTensors = 1 << 18

// Caps on what the header may declare. Exceeding one is a problem.
const (
	maxDims       = 64
	maxJSONDepth  = 64
	maxNameLen    = 64 << 10
	probeSize     = 64
	eocdSearchLen = 22 + 65535
)

// Sentinel errors carried by Problem.Err; test them with errors.Is.
var (
	ErrHeaderSize = errors.New("safetensors: invalid header length")
	ErrJSON       = errors.New("safetensors: malformed header JSON")
	ErrDuplicate  = errors.New("safetensors: duplicate JSON key")
	ErrSchema     = errors.New("safetensors: header does not follow the schema")
	ErrDType      = errors.New("safetensors: unknown dtype")
	ErrShape      = errors.New("safetensors: shape and dtype disagree with the byte length")
	ErrOffsets    = errors.New("safetensors: invalid data offsets")
	ErrMetadata   = errors.New("safetensors: __metadata__ is not a string-to-string map")
	ErrTrailing   = errors.New("safetensors: data after the last tensor")
	ErrPolyglot   = errors.New("safetensors: embedded pickle or zip")
	ErrTooMany    = errors.New("safetensors: too many problems")
	// ErrLimit is a cap hit (MaxTensors, kept bytes): the file was not
	// analysed completely.
	ErrLimit = errors.New("safetensors: header exceeds a scan limit")
)

// Problem is one violation of the format. Its Err is one of the
// sentinel errors above; errors.Is(p, ErrX) reports the problem's kind.
type Problem = problem.Problem

// Tensor describes one tensor declared in the header.
type Tensor struct {
	Name  string   `json:"name"`
	DType string   `json:"dtype"`
	Shape []uint64 `json:"shape"`
	// Begin and End are the data_offsets, relative to the data region.
	Begin uint64 `json:"begin"`
	End   uint64 `json:"end"`
}

// Elements returns the number of elements of t and whether the product
// fits in 64 bits.
func (t Tensor) Elements() (uint64, bool) {
	n := uint64(1)
	for _, d := range t.Shape {
		hi, lo := bits.Mul64(n, d)
		if hi != 0 {
			return 0, false
		}
		n = lo
	}
	return n, true
}

// File is what Parse learned about a safetensors file.
type File struct {
	// Size is the file size.
	Size int64 `json:"size"`
	// HeaderLen is the declared header length (the first 8 bytes).
	HeaderLen uint64 `json:"header_len"`
	// DataStart is the offset of the data region (8 + HeaderLen).
	DataStart int64 `json:"data_start"`
	// Tensors in header order.
	Tensors []Tensor `json:"tensors"`
	// Metadata is the "__metadata__" map (string values only).
	Metadata map[string]string `json:"metadata,omitempty"`
	// Params is the total number of elements (saturating at MaxUint64).
	Params uint64 `json:"params"`
	// Incomplete is true when a cap (ErrLimit) stopped the header walk:
	// Tensors and Params cover only the part read.
	Incomplete bool `json:"incomplete,omitempty"`
	// Problems lists every violation found, in file order where possible.
	Problems []Problem `json:"-"`
}

// DTypes returns the distinct dtypes of the tensors, sorted.
func (f *File) DTypes() []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range f.Tensors {
		if !seen[t.DType] {
			seen[t.DType] = true
			out = append(out, t.DType)
		}
	}
	sort.Strings(out)
	return out
}

// DTypeBits returns the width in bits of one element of a safetensors
// dtype, and false for an unknown dtype. The list follows the reference
// implementation (safetensors 0.6), including the sub-byte float formats.
func DTypeBits(dtype string) (int, bool) {
	switch dtype {
	case "F4":
		return 4, true
	case "F6_E2M3", "F6_E3M2":
		return 6, true
	case "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0":
		return 8, true
	case "I16", "U16", "F16", "BF16":
		return 16, true
	case "I32", "U32", "F32":
		return 32, true
	case "F64", "I64", "U64", "C64":
		return 64, true
	}
	return 0, false
}

// Parse reads and validates the safetensors file behind r. It returns an
// error only when r cannot be read; malformed content is reported in
// File.Problems, with as many facts as could be recovered.
func Parse(r io.ReaderAt, size int64) (*File, error) {
	f := &File{Size: size}
	p := &parser{r: r, f: f}
	if err := p.parse(); err != nil {
		return f, err
	}
	return f, nil
}

type parser struct {
	r io.ReaderAt
	f *File
}

func (p *parser) problem(err error, off int64, subject, format string, args ...any) {
	p.f.Problems = problem.Add(p.f.Problems, ErrTooMany, err, off, subject, format, args...)
}

// readAt reads exactly len(b) bytes at off; io.EOF short reads are errors.
func (p *parser) readAt(b []byte, off int64) error {
	n, err := p.r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("safetensors: read %d bytes at %d: %w", len(b), off, err)
}

func (p *parser) parse() error {
	f := p.f
	if f.Size < 8 {
		p.problem(ErrHeaderSize, 0, "", "file has %d bytes, fewer than the 8-byte length prefix", f.Size)
		return nil
	}
	var pre [8]byte
	if err := p.readAt(pre[:], 0); err != nil {
		return err
	}
	n := binary.LittleEndian.Uint64(pre[:])
	f.HeaderLen = n
	switch {
	case n > MaxHeaderSize:
		p.problem(ErrHeaderSize, 0, "", "header length %d exceeds the %d-byte cap", n, MaxHeaderSize)
		return nil
	case n > uint64(f.Size-8):
		p.problem(ErrHeaderSize, 0, "", "header length %d exceeds the %d bytes after the prefix", n, f.Size-8)
		return nil
	case n < 2:
		p.problem(ErrHeaderSize, 0, "", "header length %d cannot hold a JSON object", n)
		return nil
	}
	f.DataStart = 8 + int64(n)
	if err := p.header(io.NewSectionReader(p.r, 8, int64(n))); err != nil {
		return err
	}
	if !f.Incomplete {
		p.layout()
	}
	return p.polyglot()
}

// header streams the JSON header and fills Tensors and Metadata. It
// returns an error only when the file cannot be read.
func (p *parser) header(r io.Reader) error {
	f := p.f
	rr := &readErrs{r: bufio.NewReaderSize(r, 64<<10)}
	var first [1]byte
	if _, err := io.ReadFull(rr, first[:]); err != nil {
		return p.readErr(rr, err)
	}
	if first[0] != '{' {
		p.problem(ErrJSON, 8, "", "header does not start with '{'")
	}
	root, err := decodeHeader(io.MultiReader(bytes.NewReader(first[:]), rr), func(path string, off int64) {
		p.problem(ErrDuplicate, 8+off, path, "key appears more than once; parsers disagree on which value wins")
	}, func(m member) error {
		if m.key == "__metadata__" {
			p.metadata(m)
			return nil
		}
		if len(f.Tensors) == MaxTensors {
			p.problem(ErrLimit, 8+m.off, m.key, "more than %d tensors: the header is not analysed further", MaxTensors)
			return errStop
		}
		if t, ok := p.tensor(m); ok {
			f.Tensors = append(f.Tensors, t)
		}
		return nil
	})
	switch {
	case rr.err != nil:
		return p.readErr(rr, rr.err)
	case errors.Is(err, errStop):
		f.Incomplete = true
		return nil
	case errors.Is(err, errKept):
		p.problem(ErrLimit, 8, "", "the header keeps more than %d bytes of names and values: not analysed further", maxKept)
		f.Incomplete = true
		return nil
	case err != nil:
		p.problem(ErrJSON, 8, "", "%v", err)
		return nil
	}
	if _, ok := root.(*object); !ok {
		p.problem(ErrSchema, 8, "", "header is not a JSON object")
	}
	return nil
}

// errStop ends the header walk after a cap was hit.
var errStop = errors.New("stop")

// readErrs remembers the first read error other than io.EOF, so a failing
// file is told apart from malformed JSON.
type readErrs struct {
	r   io.Reader
	err error
}

func (r *readErrs) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

func (p *parser) readErr(rr *readErrs, err error) error {
	if rr.err != nil {
		err = rr.err
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("safetensors: read header: %w", err)
}

func (p *parser) metadata(m member) {
	obj, ok := m.value.(*object)
	if !ok {
		if m.value != nil {
			p.problem(ErrMetadata, 8+m.off, "__metadata__", "value is %s, not an object", kindOf(m.value))
		}
		return
	}
	md := make(map[string]string, len(obj.members))
	for _, e := range obj.members {
		s, ok := e.value.(string)
		if !ok {
			p.problem(ErrMetadata, 8+e.off, "__metadata__."+e.key, "value is %s, not a string", kindOf(e.value))
			continue
		}
		md[e.key] = s
	}
	p.f.Metadata = md
}

func (p *parser) tensor(m member) (Tensor, bool) {
	t := Tensor{Name: m.key}
	off := 8 + m.off
	obj, ok := m.value.(*object)
	if !ok {
		p.problem(ErrSchema, off, m.key, "tensor entry is %s, not an object", kindOf(m.value))
		return t, false
	}
	var haveD, haveS, haveO bool
	valid := true
	for _, e := range obj.members {
		switch e.key {
		case "dtype":
			s, ok := e.value.(string)
			if !ok {
				p.problem(ErrSchema, 8+e.off, m.key, "dtype is %s, not a string", kindOf(e.value))
				valid = false
				continue
			}
			t.DType, haveD = s, true
		case "shape":
			dims, ok := p.uints(e, m.key, "shape", maxDims)
			if !ok {
				valid = false
				continue
			}
			t.Shape, haveS = dims, true
		case "data_offsets":
			v, ok := p.uints(e, m.key, "data_offsets", 2)
			if !ok || len(v) != 2 {
				if ok {
					p.problem(ErrSchema, 8+e.off, m.key, "data_offsets has %d entries, want 2", len(v))
				}
				valid = false
				continue
			}
			t.Begin, t.End, haveO = v[0], v[1], true
		default:
			p.problem(ErrSchema, 8+e.off, m.key, "unexpected field %q in tensor entry", e.key)
		}
	}
	if !haveD || !haveS || !haveO {
		if valid {
			p.problem(ErrSchema, off, m.key, "tensor entry needs dtype, shape and data_offsets")
		}
		return t, false
	}
	if t.Shape == nil {
		t.Shape = []uint64{}
	}
	bitsPer, known := DTypeBits(t.DType)
	if !known {
		p.problem(ErrDType, off, m.key, "dtype %q is not a safetensors dtype", t.DType)
	}
	n, fits := t.Elements()
	if !fits {
		p.problem(ErrShape, off, m.key, "shape %v overflows 64 bits", t.Shape)
	} else {
		p.f.Params = satAdd(p.f.Params, n)
	}
	if t.Begin > t.End {
		p.problem(ErrOffsets, off, m.key, "data_offsets [%d, %d] end before they begin", t.Begin, t.End)
	} else if known && fits {
		hi, nbits := bits.Mul64(n, uint64(bitsPer))
		switch {
		case hi != 0:
			p.problem(ErrShape, off, m.key, "shape %v of %s overflows 64 bits", t.Shape, t.DType)
		case nbits%8 != 0:
			p.problem(ErrShape, off, m.key, "%d elements of %d bits do not fill whole bytes", n, bitsPer)
		case nbits/8 != t.End-t.Begin:
			p.problem(ErrShape, off, m.key, "shape %v of %s needs %d bytes, data_offsets give %d", t.Shape, t.DType, nbits/8, t.End-t.Begin)
		}
	}
	return t, true
}

// uints decodes an array of non-negative integers of at most max entries.
func (p *parser) uints(e member, tensor, field string, max int) ([]uint64, bool) {
	arr, ok := e.value.(array)
	if !ok {
		p.problem(ErrSchema, 8+e.off, tensor, "%s is %s, not an array", field, kindOf(e.value))
		return nil, false
	}
	if arr.n > max {
		p.problem(ErrSchema, 8+e.off, tensor, "%s has %d entries, more than %d", field, arr.n, max)
		return nil, false
	}
	out := make([]uint64, 0, arr.n)
	for _, v := range arr.items {
		num, ok := v.(number)
		if !ok {
			p.problem(ErrSchema, 8+e.off, tensor, "%s holds %s, not an integer", field, kindOf(v))
			return nil, false
		}
		u, err := num.uint64()
		if err != nil {
			p.problem(ErrSchema, 8+e.off, tensor, "%s holds %s: %v", field, string(num), err)
			return nil, false
		}
		out = append(out, u)
	}
	return out, true
}

// layout checks that the tensors tile the data region exactly.
func (p *parser) layout() {
	f := p.f
	dataLen := uint64(f.Size - f.DataStart)
	ts := make([]Tensor, 0, len(f.Tensors))
	for _, t := range f.Tensors {
		if t.Begin <= t.End {
			ts = append(ts, t)
		}
	}
	sort.SliceStable(ts, func(i, j int) bool {
		if ts[i].Begin != ts[j].Begin {
			return ts[i].Begin < ts[j].Begin
		}
		return ts[i].End < ts[j].End
	})
	var pos uint64
	var prev string
	for _, t := range ts {
		switch {
		case t.End > dataLen:
			p.problem(ErrOffsets, f.DataStart+clampOff(t.Begin), t.Name, "data_offsets [%d, %d] run past the %d-byte data region", t.Begin, t.End, dataLen)
		case t.Begin < pos:
			p.problem(ErrOffsets, f.DataStart+clampOff(t.Begin), t.Name, "data_offsets [%d, %d] overlap tensor %q (ends at %d)", t.Begin, t.End, prev, pos)
		case t.Begin > pos:
			p.problem(ErrOffsets, f.DataStart+clampOff(pos), t.Name, "gap of %d unreferenced bytes before this tensor at data offset %d", t.Begin-pos, pos)
		}
		if t.End > pos {
			pos, prev = t.End, t.Name
		}
	}
	if pos < dataLen {
		p.problem(ErrTrailing, f.DataStart+int64(pos), "", "%d bytes after the last tensor are not described by the header", dataLen-pos)
	}
}

func clampOff(v uint64) int64 {
	if v > math.MaxInt64/2 {
		return math.MaxInt64 / 2
	}
	return int64(v)
}

// polyglot looks for a pickle or zip hidden in the data region, the trailer
// or at the end of the file.
func (p *parser) polyglot() error {
	f := p.f
	probe := func(off int64) ([]byte, error) {
		n := min(int64(probeSize), f.Size-off)
		if n <= 0 {
			return nil, nil
		}
		b := make([]byte, n)
		return b, p.readAt(b, off)
	}
	// Start of the data region.
	b, err := probe(f.DataStart)
	if err != nil {
		return err
	}
	if what := embedded(b); what != "" {
		p.problem(ErrPolyglot, f.DataStart, "", "the data region starts with %s", what)
	}
	// Trailer after the last described byte.
	var end uint64
	for _, t := range f.Tensors {
		if t.Begin <= t.End && t.End > end {
			end = t.End
		}
	}
	if !f.Incomplete && end < uint64(f.Size-f.DataStart) {
		off := f.DataStart + int64(end)
		b, err := probe(off)
		if err != nil {
			return err
		}
		if what := embedded(b); what != "" {
			p.problem(ErrPolyglot, off, "", "the trailing data starts with %s", what)
		}
	}
	// A zip end-of-central-directory record at the very end makes the file
	// open as a zip archive (zip readers search from the end).
	n := min(int64(eocdSearchLen), f.Size-f.DataStart)
	if n >= 22 {
		tail := make([]byte, n)
		if err := p.readAt(tail, f.Size-n); err != nil {
			return err
		}
		for i := len(tail) - 22; i >= 0; i-- {
			if string(tail[i:i+4]) != "PK\x05\x06" {
				continue
			}
			comment := int(binary.LittleEndian.Uint16(tail[i+20:]))
			if i+22+comment == len(tail) {
				p.problem(ErrPolyglot, f.Size-n+int64(i), "", "a zip end-of-central-directory record ends the file: zip readers (torch.load) open it as an archive")
				break
			}
		}
	}
	return nil
}

// embedded names the container signature b starts with, or "".
func embedded(b []byte) string {
	switch {
	case isPickle(b):
		return "a pickle (PROTO opcode)"
	case bytes.HasPrefix(b, []byte("PK\x03\x04")) && len(b) >= 30:
		return "a zip local file header"
	}
	return ""
}

// isPickle recognises a protocol 2-5 pickle: PROTO n followed by one of the
// opcodes pickle writers emit next. The extra opcode keeps random tensor
// bytes (0x80 0x02 is a plausible F16 value) from matching.
func isPickle(b []byte) bool {
	if len(b) < 3 || b[0] != 0x80 || b[1] < 2 || b[1] > 5 {
		return false
	}
	switch b[2] {
	case 0x95, '}', ']', '(', 'c', 0x8c, 0x8a, 'X', 'K', 'J', ')', 0x93:
		return true
	}
	return false
}

func satAdd(a, b uint64) uint64 {
	s, carry := bits.Add64(a, b, 0)
	if carry != 0 {
		return math.MaxUint64
	}
	return s
}
