package tflite

import (
	"encoding/binary"
	"flag"
	"path/filepath"
	"testing"

	"github.com/mlsecops/mlsec/internal/testutil/golden"
)

var update = flag.Bool("update", false, "rewrite testdata fixtures")

// builder writes FlatBuffers front to back: every object is placed after
// the field that refers to it, so uoffsets are positive as the format
// requires. It is the checked-in generator of testdata/*.tflite; run
// `go test ./format/tflite -run TestFixtures -update` to rewrite them.
type builder struct {
	buf     []byte
	pending []int // ref slots not yet patched, in order of creation
}

// ref is a placeholder for an offset field.
type ref struct{}

func (b *builder) align() {
	for len(b.buf)%4 != 0 {
		b.buf = append(b.buf, 0)
	}
}

func (b *builder) u32(v uint32) { b.buf = binary.LittleEndian.AppendUint32(b.buf, v) }

// table writes a vtable and a table whose fields are nil (absent), int8,
// int32, uint32 or ref{}; it returns the table's position and the
// positions of the ref slots.
func (b *builder) table(fields ...any) (int, []int) {
	b.align()
	vsize := 4 + 2*len(fields)
	tsize := 4
	for _, f := range fields {
		switch f.(type) {
		case nil:
		case uint64:
			tsize += 8
		default:
			tsize += 4
		}
	}
	vt := len(b.buf)
	b.buf = binary.LittleEndian.AppendUint16(b.buf, uint16(vsize))
	b.buf = binary.LittleEndian.AppendUint16(b.buf, uint16(tsize))
	off := 4
	for _, f := range fields {
		if f == nil {
			b.buf = binary.LittleEndian.AppendUint16(b.buf, 0)
			continue
		}
		b.buf = binary.LittleEndian.AppendUint16(b.buf, uint16(off))
		if _, ok := f.(uint64); ok {
			off += 8
		} else {
			off += 4
		}
	}
	b.align()
	pos := len(b.buf)
	b.u32(uint32(pos - vt))
	var refs []int
	for _, f := range fields {
		switch v := f.(type) {
		case nil:
		case int8:
			b.buf = append(b.buf, byte(v), 0, 0, 0)
		case int32:
			b.u32(uint32(v))
		case uint32:
			b.u32(v)
		case uint64:
			b.buf = binary.LittleEndian.AppendUint64(b.buf, v)
		case ref:
			refs = append(refs, len(b.buf))
			b.u32(0)
		}
	}
	return pos, refs
}

// patch points the ref slot at slot to pos.
func (b *builder) patch(slot, pos int) {
	binary.LittleEndian.PutUint32(b.buf[slot:], uint32(pos-slot))
}

// here patches the ref slot at slot to point at the current (aligned) end.
func (b *builder) here(slot int) {
	b.align()
	binary.LittleEndian.PutUint32(b.buf[slot:], uint32(len(b.buf)-slot))
}

func (b *builder) str(s string) {
	b.u32(uint32(len(s)))
	b.buf = append(b.buf, s...)
	b.buf = append(b.buf, 0)
}

// vector writes a vector of n offsets and returns their slots.
func (b *builder) vector(n int) []int {
	b.u32(uint32(n))
	var slots []int
	for range n {
		slots = append(slots, len(b.buf))
		b.u32(0)
	}
	return slots
}

type opcode struct {
	deprecated int8
	builtin    int32
	custom     string
}

// spec describes a fixture model.
type spec struct {
	ops []opcode
	// calls are the opcode indexes of the subgraph's operators; nil means
	// one operator per operator code.
	calls []uint32
	// bufOffset and bufSize, when bufOffset is set, give the second
	// buffer's out-of-flatbuffer data range.
	bufOffset, bufSize uint64
}

// modelBytes builds a Model with the given operator codes, one subgraph
// calling them and two buffers.
func modelBytes(sp spec) []byte {
	ops := sp.ops
	calls := sp.calls
	if calls == nil {
		for i := range ops {
			calls = append(calls, uint32(i))
		}
	}
	b := &builder{}
	b.u32(0) // root offset, patched below
	b.buf = append(b.buf, Identifier...)
	// Model: version, operator_codes, subgraphs, description, buffers.
	root, refs := b.table(uint32(3), ref{}, ref{}, ref{}, ref{})
	b.patch(0, root)
	b.here(refs[0])
	slots := b.vector(len(ops))
	for i, op := range ops {
		if op.custom != "" {
			pos, r := b.table(op.deprecated, ref{}, int32(1), op.builtin)
			b.patch(slots[i], pos)
			b.here(r[0])
			b.str(op.custom)
		} else {
			pos, _ := b.table(op.deprecated, nil, int32(1), op.builtin)
			b.patch(slots[i], pos)
		}
	}
	b.here(refs[1])
	sg := b.vector(1)
	pos, sgRefs := b.table(nil, nil, nil, ref{}) // SubGraph with operators only
	b.patch(sg[0], pos)
	b.here(sgRefs[0])
	opSlots := b.vector(len(calls))
	for i, c := range calls {
		p, _ := b.table(c) // Operator.opcode_index
		b.patch(opSlots[i], p)
	}
	b.here(refs[2])
	b.str("mlsec testdata")
	b.here(refs[3])
	bufs := b.vector(2)
	pos, _ = b.table() // empty Buffer
	b.patch(bufs[0], pos)
	if sp.bufOffset != 0 {
		pos, _ = b.table(nil, sp.bufOffset, sp.bufSize)
	} else {
		pos, _ = b.table()
	}
	b.patch(bufs[1], pos)
	return b.buf
}

func fixtures() map[string][]byte {
	return map[string][]byte{
		"clean.tflite":            modelBytes(spec{ops: []opcode{{0, 0, ""}, {3, 3, ""}, {9, 9, ""}, {127, 150, ""}}}),
		"custom.tflite":           modelBytes(spec{ops: []opcode{{0, 0, ""}, {32, 32, "MyNativeOp"}, {32, 32, "TFLite_Detection_PostProcess"}, {32, 32, "FlexReadFile"}}}),
		"custom_name_only.tflite": modelBytes(spec{ops: []opcode{{0, 0, "Sneaky"}}}),
		"bad_opcode_index.tflite": modelBytes(spec{ops: []opcode{{0, 0, ""}, {32, 32, "Hidden"}}, calls: []uint32{0, 7}}),
		"bad_buffer.tflite":       modelBytes(spec{ops: []opcode{{0, 0, ""}}, bufOffset: 1 << 40, bufSize: 16}),
		"buffer_range_ok.tflite":  modelBytes(spec{ops: []opcode{{0, 0, ""}}, bufOffset: 8, bufSize: 16}),
	}
}

func TestFixtures(t *testing.T) {
	for name, b := range fixtures() {
		golden.File(t, filepath.Join("testdata", name), b, *update)
	}
}
