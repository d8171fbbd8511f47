// Package tflite reads the parts of a TensorFlow Lite model (a FlatBuffer
// with file identifier "TFL3") that mlsec inspects: the root Model table,
// its operator codes and the sizes of its subgraph and buffer vectors.
//
// The reader is hand-written and bounded: every offset is checked against
// the file size before it is followed, vtables and tables must lie inside
// the file, vector lengths must fit in the bytes that remain, and at most
// MaxOperatorCodes operator codes are read. Tensor data is never read.
package tflite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Sentinel errors. Decode wraps them with detail.
var (
	// ErrNotTFLite means the file identifier is not "TFL3".
	ErrNotTFLite = errors.New("tflite: not a TFLite model")
	// ErrMalformed means an offset, vtable or vector lies out of bounds.
	ErrMalformed = errors.New("tflite: malformed flatbuffer")
	// ErrTooLarge means a count exceeds a cap.
	ErrTooLarge = errors.New("tflite: too large")
)

// Identifier is the FlatBuffer file identifier of TFLite models.
const Identifier = "TFL3"

// BuiltinCustom is the BuiltinOperator value of custom operators.
const BuiltinCustom = 32

// Caps on what Decode reads.
const (
	MaxOperatorCodes = 1 << 16
	MaxSubgraphs     = 1 << 12
	MaxOperators     = 1 << 20 // over all subgraphs
	MaxBuffers       = 1 << 20
	maxStringLen     = 4096
)

// Model is what Decode extracts from the root table.
type Model struct {
	// Version is the schema version (3 for current models).
	Version uint32
	// OperatorCodes are the model's operator codes in order.
	OperatorCodes []OperatorCode
	// Subgraphs and Buffers are the lengths of those vectors; Operators
	// counts the operators of all subgraphs.
	Subgraphs, Buffers, Operators int
	// Description is the model description string.
	Description string
}

// OperatorCode is one entry of Model.operator_codes.
type OperatorCode struct {
	// Builtin is max(deprecated_builtin_code, builtin_code), as TFLite
	// resolves it.
	Builtin int32
	// Custom is custom_code, set for custom operators.
	Custom string
	// Version is the operator version.
	Version int32
}

// IsCustom reports whether the operator is a custom one: resolved by name
// from operators registered with the interpreter, not a builtin kernel.
func (o OperatorCode) IsCustom() bool { return o.Builtin == BuiltinCustom || o.Custom != "" }

// reader reads little-endian FlatBuffer items with bounds checks.
type reader struct {
	r    io.ReaderAt
	size int64
}

func (rd *reader) bytes(off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off > rd.size || n > rd.size-off {
		return nil, fmt.Errorf("%w: %d bytes at offset %d lie outside the file (%d bytes)", ErrMalformed, n, off, rd.size)
	}
	b := make([]byte, n)
	if k, err := rd.r.ReadAt(b, off); int64(k) < n {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: short read at offset %d", ErrMalformed, off)
		}
		return nil, fmt.Errorf("tflite: read at %d: %w", off, err)
	}
	return b, nil
}

func (rd *reader) u32(off int64) (uint32, error) {
	b, err := rd.bytes(off, 4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

// table is a FlatBuffer table: its position and its vtable's field offsets.
type table struct {
	rd     *reader
	pos    int64
	fields []uint16
}

// table reads the table at pos and checks its vtable.
func (rd *reader) table(pos int64) (*table, error) {
	so, err := rd.u32(pos)
	if err != nil {
		return nil, err
	}
	vt := pos - int64(int32(so))
	hdr, err := rd.bytes(vt, 4)
	if err != nil {
		return nil, fmt.Errorf("vtable of table at %d: %w", pos, err)
	}
	vsize := int64(binary.LittleEndian.Uint16(hdr))
	tsize := int64(binary.LittleEndian.Uint16(hdr[2:]))
	if vsize < 4 || vsize%2 != 0 || tsize < 4 {
		return nil, fmt.Errorf("%w: vtable at %d has size %d and table size %d", ErrMalformed, vt, vsize, tsize)
	}
	if tsize > rd.size-pos {
		return nil, fmt.Errorf("%w: table at %d (%d bytes) runs past the end of the file", ErrMalformed, pos, tsize)
	}
	vb, err := rd.bytes(vt+4, vsize-4)
	if err != nil {
		return nil, fmt.Errorf("vtable at %d: %w", vt, err)
	}
	t := &table{rd: rd, pos: pos, fields: make([]uint16, len(vb)/2)}
	for i := range t.fields {
		f := binary.LittleEndian.Uint16(vb[2*i:])
		if f != 0 && (f < 4 || int64(f) >= tsize) {
			return nil, fmt.Errorf("%w: vtable at %d: field %d offset %d outside table size %d", ErrMalformed, vt, i, f, tsize)
		}
		t.fields[i] = f
	}
	return t, nil
}

// field returns the position of field i, or 0 when it is absent.
func (t *table) field(i int) int64 {
	if i >= len(t.fields) || t.fields[i] == 0 {
		return 0
	}
	return t.pos + int64(t.fields[i])
}

func (t *table) scalar(i int, n int64) ([]byte, error) {
	p := t.field(i)
	if p == 0 {
		return nil, nil
	}
	return t.rd.bytes(p, n)
}

// ref follows the uoffset in field i; 0 when the field is absent.
func (t *table) ref(i int) (int64, error) {
	p := t.field(i)
	if p == 0 {
		return 0, nil
	}
	u, err := t.rd.u32(p)
	if err != nil {
		return 0, err
	}
	target := p + int64(u)
	if u == 0 || target >= t.rd.size {
		return 0, fmt.Errorf("%w: field %d of table at %d points to %d, outside the file", ErrMalformed, i, t.pos, target)
	}
	return target, nil
}

// vector returns the element position and length of the vector in field i
// with elements of elem bytes.
func (t *table) vector(i int, elem int64) (int64, int, error) {
	v, err := t.ref(i)
	if err != nil || v == 0 {
		return 0, 0, err
	}
	n, err := t.rd.u32(v)
	if err != nil {
		return 0, 0, err
	}
	if int64(n) > (t.rd.size-v-4)/elem {
		return 0, 0, fmt.Errorf("%w: vector at %d claims %d elements, more than the file holds", ErrMalformed, v, n)
	}
	return v + 4, int(n), nil
}

// str reads the string in field i.
func (t *table) str(i int) (string, error) {
	v, err := t.ref(i)
	if err != nil || v == 0 {
		return "", err
	}
	n, err := t.rd.u32(v)
	if err != nil {
		return "", err
	}
	if int64(n) > t.rd.size-v-4 {
		return "", fmt.Errorf("%w: string at %d claims %d bytes, more than the file holds", ErrMalformed, v, n)
	}
	if n > maxStringLen {
		n = maxStringLen // longer names are truncated for reporting
	}
	b, err := t.rd.bytes(v+4, int64(n))
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		return fmt.Sprintf("%q", b), nil
	}
	return string(b), nil
}

// Decode reads the model behind r. When the operator codes were read but a
// later structure (subgraphs, buffers) is bad, the partial model is
// returned together with the error.
func Decode(r io.ReaderAt, size int64) (*Model, error) {
	rd := &reader{r: r, size: size}
	head, err := rd.bytes(0, 8)
	if err != nil {
		return nil, fmt.Errorf("%w: file too short for a FlatBuffer header", ErrMalformed)
	}
	if string(head[4:8]) != Identifier {
		return nil, fmt.Errorf("%w: file identifier %q", ErrNotTFLite, head[4:8])
	}
	root := int64(binary.LittleEndian.Uint32(head))
	if root < 8 || root%4 != 0 || root >= size {
		return nil, fmt.Errorf("%w: root table offset %d is outside the file (%d bytes) or misaligned", ErrMalformed, root, size)
	}
	t, err := rd.table(root)
	if err != nil {
		return nil, fmt.Errorf("root table: %w", err)
	}
	m := &Model{}
	if b, err := t.scalar(0, 4); err != nil {
		return nil, err
	} else if b != nil {
		m.Version = binary.LittleEndian.Uint32(b)
	}
	if m.Description, err = t.str(3); err != nil {
		return nil, fmt.Errorf("description: %w", err)
	}
	pos, n, err := t.vector(1, 4)
	if err != nil {
		return nil, fmt.Errorf("operator_codes: %w", err)
	}
	if n > MaxOperatorCodes {
		return nil, fmt.Errorf("%w: %d operator codes (cap %d)", ErrTooLarge, n, MaxOperatorCodes)
	}
	m.OperatorCodes = make([]OperatorCode, 0, n)
	for i := 0; i < n; i++ {
		p := pos + 4*int64(i)
		u, err := rd.u32(p)
		if err != nil {
			return nil, err
		}
		if u == 0 || p+int64(u) >= size {
			return nil, fmt.Errorf("%w: operator code %d points outside the file", ErrMalformed, i)
		}
		oc, err := operatorCode(rd, p+int64(u))
		if err != nil {
			return nil, fmt.Errorf("operator code %d: %w", i, err)
		}
		m.OperatorCodes = append(m.OperatorCodes, oc)
	}
	if err := m.subgraphs(rd, t); err != nil {
		return m, fmt.Errorf("subgraphs: %w", err)
	}
	if err := m.buffers(rd, t); err != nil {
		return m, fmt.Errorf("buffers: %w", err)
	}
	return m, nil
}

// elem returns the table that element i of the offset vector at pos
// points to.
func (rd *reader) elem(pos int64, i int) (*table, error) {
	p := pos + 4*int64(i)
	u, err := rd.u32(p)
	if err != nil {
		return nil, err
	}
	if u == 0 || p+int64(u) >= rd.size {
		return nil, fmt.Errorf("%w: element %d points outside the file", ErrMalformed, i)
	}
	return rd.table(p + int64(u))
}

// subgraphs checks every subgraph's operators: each table must be in
// bounds and its opcode_index must name an operator code (TFLite Micro
// indexes the operator codes without a check).
func (m *Model) subgraphs(rd *reader, t *table) error {
	pos, n, err := t.vector(2, 4)
	if err != nil {
		return err
	}
	if n > MaxSubgraphs {
		return fmt.Errorf("%w: %d subgraphs (cap %d)", ErrTooLarge, n, MaxSubgraphs)
	}
	m.Subgraphs = n
	for i := 0; i < n; i++ {
		sg, err := rd.elem(pos, i)
		if err != nil {
			return fmt.Errorf("subgraph %d: %w", i, err)
		}
		opos, k, err := sg.vector(3, 4)
		if err != nil {
			return fmt.Errorf("subgraph %d operators: %w", i, err)
		}
		if m.Operators+k > MaxOperators {
			return fmt.Errorf("%w: more than %d operators", ErrTooLarge, MaxOperators)
		}
		m.Operators += k
		for j := 0; j < k; j++ {
			op, err := rd.elem(opos, j)
			if err != nil {
				return fmt.Errorf("subgraph %d operator %d: %w", i, j, err)
			}
			b, err := op.scalar(0, 4)
			if err != nil {
				return fmt.Errorf("subgraph %d operator %d: %w", i, j, err)
			}
			var idx uint32
			if b != nil {
				idx = binary.LittleEndian.Uint32(b)
			}
			if int64(idx) >= int64(len(m.OperatorCodes)) {
				return fmt.Errorf("%w: subgraph %d operator %d uses operator code %d of %d", ErrMalformed, i, j, idx, len(m.OperatorCodes))
			}
		}
	}
	return nil
}

// buffers checks the buffers' out-of-flatbuffer data ranges (offset and
// size, used by models over 2 GiB): they must lie inside the file.
func (m *Model) buffers(rd *reader, t *table) error {
	pos, n, err := t.vector(4, 4)
	if err != nil {
		return err
	}
	if n > MaxBuffers {
		return fmt.Errorf("%w: %d buffers (cap %d)", ErrTooLarge, n, MaxBuffers)
	}
	m.Buffers = n
	for i := 0; i < n; i++ {
		bt, err := rd.elem(pos, i)
		if err != nil {
			return fmt.Errorf("buffer %d: %w", i, err)
		}
		ob, err := bt.scalar(1, 8)
		if err != nil || ob == nil {
			if err != nil {
				return fmt.Errorf("buffer %d: %w", i, err)
			}
			continue
		}
		off := binary.LittleEndian.Uint64(ob)
		var size uint64
		if sb, err := bt.scalar(2, 8); err != nil {
			return fmt.Errorf("buffer %d: %w", i, err)
		} else if sb != nil {
			size = binary.LittleEndian.Uint64(sb)
		}
		if off > 1 && (off > uint64(rd.size) || size > uint64(rd.size)-off) {
			return fmt.Errorf("%w: buffer %d data %d+%d lies outside the file (%d bytes)", ErrMalformed, i, off, size, rd.size)
		}
	}
	return nil
}

func operatorCode(rd *reader, pos int64) (OperatorCode, error) {
	t, err := rd.table(pos)
	if err != nil {
		return OperatorCode{}, err
	}
	oc := OperatorCode{Version: 1}
	if b, err := t.scalar(0, 1); err != nil {
		return oc, err
	} else if b != nil {
		oc.Builtin = int32(int8(b[0]))
	}
	if oc.Custom, err = t.str(1); err != nil {
		return oc, err
	}
	if b, err := t.scalar(2, 4); err != nil {
		return oc, err
	} else if b != nil {
		oc.Version = int32(binary.LittleEndian.Uint32(b))
	}
	if b, err := t.scalar(3, 4); err != nil {
		return oc, err
	} else if b != nil {
		oc.Builtin = max(oc.Builtin, int32(binary.LittleEndian.Uint32(b)))
	}
	return oc, nil
}
