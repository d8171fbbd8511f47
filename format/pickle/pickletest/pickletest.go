// Package pickletest builds pickle streams opcode by opcode, for tests and
// for malicious fixtures. Nothing here validates the program: the point is
// to write exactly the bytes a hostile file would contain.
//
// Every method appends one opcode (with its operand) and returns the
// Builder, so programs read like pickletools disassembly:
//
//	b := pickletest.New(4)          // PROTO 4
//	b.ShortBinUnicode("os").Memoize()
//	b.ShortBinUnicode("system").StackGlobal()
//	b.ShortBinUnicode("id").Tuple1().Reduce().Stop()
//	data := b.Bytes()
//
// Offsets: Len (or Offset) before an opcode is that opcode's byte offset,
// which is what pickle.Import.Offset and pickle.Call.Offset report:
//
//	at := b.Len(); b.StackGlobal() // the import's Offset is at
//
// Techniques and the helpers that produce them:
//   - imports: Global, Inst (import + call), StackGlobal, GlobalStr
//     (STACK_GLOBAL from two strings), Ext1/Ext2/Ext4 (extension registry);
//   - calls: Reduce, NewObj, NewObjEx, Obj, Inst, Build;
//   - memo tricks: Put/BinPut/LongBinPut with explicit indexes, Memoize,
//     Get/BinGet/LongBinGet; decoys: push strings and Pop/PopMark them;
//   - frames: BeginFrame/EndFrame write a correct FRAME around what is
//     written in between, Frame writes one with any (lying) length, and
//     PatchFrame rewrites the length of an earlier FRAME;
//   - nested payloads: pass another Builder's Bytes to BinBytes etc.;
//   - several pickles in one stream: Then(proto) starts the next program;
//   - truncation and garbage: Truncate, Raw.
package pickletest

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Builder accumulates a pickle stream. The zero value is an empty stream
// with no PROTO header.
type Builder struct {
	buf []byte
}

// New returns a Builder whose stream starts with PROTO proto when proto is
// 2 or more; protocol 0 and 1 pickles have no header.
func New(proto int) *Builder {
	b := &Builder{}
	if proto >= 2 {
		b.Proto(proto)
	}
	return b
}

// Bytes returns the stream written so far (a copy).
func (b *Builder) Bytes() []byte { return append([]byte(nil), b.buf...) }

// String returns the stream as a string, convenient for strings.NewReader.
func (b *Builder) String() string { return string(b.buf) }

// Len returns the number of bytes written, i.e. the offset of the next
// opcode.
func (b *Builder) Len() int { return len(b.buf) }

// Offset is Len as int64, the type of pickle offsets.
func (b *Builder) Offset() int64 { return int64(len(b.buf)) }

// Raw appends arbitrary bytes (garbage, hand-made opcodes, trailing data).
func (b *Builder) Raw(p ...byte) *Builder { b.buf = append(b.buf, p...); return b }

// RawString appends the bytes of s.
func (b *Builder) RawString(s string) *Builder { b.buf = append(b.buf, s...); return b }

// Truncate removes the last n bytes (to cut the stream inside an opcode).
func (b *Builder) Truncate(n int) *Builder {
	b.buf = b.buf[:max(0, len(b.buf)-n)]
	return b
}

// Then starts another pickle program in the same stream (after a Stop),
// with a PROTO header when proto >= 2, as PyTorch's legacy format and
// joblib write several pickles back to back.
func (b *Builder) Then(proto int) *Builder {
	if proto >= 2 {
		b.Proto(proto)
	}
	return b
}

func (b *Builder) op(code byte, arg ...byte) *Builder {
	b.buf = append(b.buf, code)
	b.buf = append(b.buf, arg...)
	return b
}

func (b *Builder) u32(code byte, n uint32, data ...byte) *Builder {
	b.buf = append(b.buf, code)
	b.buf = binary.LittleEndian.AppendUint32(b.buf, n)
	b.buf = append(b.buf, data...)
	return b
}

func (b *Builder) u64(code byte, n uint64, data ...byte) *Builder {
	b.buf = append(b.buf, code)
	b.buf = binary.LittleEndian.AppendUint64(b.buf, n)
	b.buf = append(b.buf, data...)
	return b
}

func (b *Builder) line(code byte, lines ...string) *Builder {
	b.buf = append(b.buf, code)
	for _, l := range lines {
		b.buf = append(b.buf, l...)
		b.buf = append(b.buf, '\n')
	}
	return b
}

// Proto writes PROTO v (any byte, also unsupported versions).
func (b *Builder) Proto(v int) *Builder { return b.op(0x80, byte(v)) }

// Stop writes STOP.
func (b *Builder) Stop() *Builder { return b.op('.') }

// Mark writes MARK.
func (b *Builder) Mark() *Builder { return b.op('(') }

// Pop writes POP.
func (b *Builder) Pop() *Builder { return b.op('0') }

// PopMark writes POP_MARK.
func (b *Builder) PopMark() *Builder { return b.op('1') }

// Dup writes DUP.
func (b *Builder) Dup() *Builder { return b.op('2') }

// None writes NONE.
func (b *Builder) None() *Builder { return b.op('N') }

// True writes NEWTRUE.
func (b *Builder) True() *Builder { return b.op(0x88) }

// False writes NEWFALSE.
func (b *Builder) False() *Builder { return b.op(0x89) }

// Int writes the text INT opcode with operand text (e.g. "42", "01").
func (b *Builder) Int(text string) *Builder { return b.line('I', text) }

// IntValue writes INT with the decimal form of v.
func (b *Builder) IntValue(v int64) *Builder { return b.Int(strconv.FormatInt(v, 10)) }

// BinInt writes BININT.
func (b *Builder) BinInt(v int32) *Builder { return b.u32('J', uint32(v)) }

// BinInt1 writes BININT1.
func (b *Builder) BinInt1(v uint8) *Builder { return b.op('K', v) }

// BinInt2 writes BININT2.
func (b *Builder) BinInt2(v uint16) *Builder {
	return b.op('M', byte(v), byte(v>>8))
}

// Long writes the text LONG opcode ("123L").
func (b *Builder) Long(text string) *Builder { return b.line('L', text) }

// Long1 writes LONG1 with the minimal two's complement encoding of v.
func (b *Builder) Long1(v *big.Int) *Builder {
	enc := encodeLong(v)
	return b.op(0x8a, append([]byte{byte(len(enc))}, enc...)...)
}

// Long4 writes LONG4 with the minimal two's complement encoding of v.
func (b *Builder) Long4(v *big.Int) *Builder {
	enc := encodeLong(v)
	return b.u32(0x8b, uint32(len(enc)), enc...)
}

// encodeLong is pickle's encode_long: little-endian two's complement.
func encodeLong(v *big.Int) []byte {
	if v.Sign() == 0 {
		return nil
	}
	n := v.BitLen()/8 + 1
	m := new(big.Int).Set(v)
	if v.Sign() < 0 {
		m.Add(m, new(big.Int).Lsh(big.NewInt(1), uint(8*n)))
	}
	be := m.FillBytes(make([]byte, n))
	le := make([]byte, n)
	for i := range be {
		le[n-1-i] = be[i]
	}
	// drop a redundant sign byte, as CPython does
	if n > 1 && ((le[n-1] == 0 && le[n-2]&0x80 == 0) || (le[n-1] == 0xff && le[n-2]&0x80 != 0)) {
		le = le[:n-1]
	}
	return le
}

// Float writes the text FLOAT opcode.
func (b *Builder) Float(text string) *Builder { return b.line('F', text) }

// BinFloat writes BINFLOAT.
func (b *Builder) BinFloat(f float64) *Builder {
	b.buf = append(b.buf, 'G')
	b.buf = binary.BigEndian.AppendUint64(b.buf, math.Float64bits(f))
	return b
}

// String0 writes the protocol 0 STRING opcode with s quoted and escaped the
// way Python 2's repr does.
func (b *Builder) String0(s string) *Builder { return b.line('S', Quote(s)) }

// StringRaw writes STRING with literal as its operand line, unmodified
// (for malformed quoting).
func (b *Builder) StringRaw(literal string) *Builder { return b.line('S', literal) }

// Quote returns s as a single-quoted Python 2 str literal.
func Quote(s string) string {
	var sb strings.Builder
	sb.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' || c == '\'':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c == '\n':
			sb.WriteString(`\n`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&sb, `\x%02x`, c)
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte('\'')
	return sb.String()
}

// BinString writes BINSTRING (int4 length).
func (b *Builder) BinString(s string) *Builder { return b.u32('T', uint32(len(s)), []byte(s)...) }

// ShortBinString writes SHORT_BINSTRING (len(s) must be < 256).
func (b *Builder) ShortBinString(s string) *Builder {
	return b.op('U', append([]byte{byte(len(s))}, s...)...)
}

// BinBytes writes BINBYTES.
func (b *Builder) BinBytes(p []byte) *Builder { return b.u32('B', uint32(len(p)), p...) }

// BinBytesLen writes a BINBYTES header declaring n bytes without payload:
// follow it with Raw, or leave it to test truncation.
func (b *Builder) BinBytesLen(n uint32) *Builder { return b.u32('B', n) }

// ShortBinBytes writes SHORT_BINBYTES (len(p) must be < 256).
func (b *Builder) ShortBinBytes(p []byte) *Builder {
	return b.op('C', append([]byte{byte(len(p))}, p...)...)
}

// BinBytes8 writes BINBYTES8.
func (b *Builder) BinBytes8(p []byte) *Builder { return b.u64(0x8e, uint64(len(p)), p...) }

// BinBytes8Len writes a BINBYTES8 header declaring n bytes without payload.
func (b *Builder) BinBytes8Len(n uint64) *Builder { return b.u64(0x8e, n) }

// ByteArray8 writes BYTEARRAY8.
func (b *Builder) ByteArray8(p []byte) *Builder { return b.u64(0x96, uint64(len(p)), p...) }

// Unicode writes the protocol 0 UNICODE opcode, raw-unicode-escape encoded.
func (b *Builder) Unicode(s string) *Builder {
	var sb strings.Builder
	for _, r := range s {
		switch {
		case r == '\\' || r == '\n' || r == '\r' || r == 0 || r > 0xff:
			if r > 0xffff {
				fmt.Fprintf(&sb, `\U%08x`, r)
			} else {
				fmt.Fprintf(&sb, `\u%04x`, r)
			}
		default:
			sb.WriteByte(byte(r))
		}
	}
	return b.line('V', sb.String())
}

// UnicodeRaw writes UNICODE with an unmodified operand line.
func (b *Builder) UnicodeRaw(line string) *Builder { return b.line('V', line) }

// BinUnicode writes BINUNICODE.
func (b *Builder) BinUnicode(s string) *Builder { return b.u32('X', uint32(len(s)), []byte(s)...) }

// ShortBinUnicode writes SHORT_BINUNICODE (len(s) must be < 256).
func (b *Builder) ShortBinUnicode(s string) *Builder {
	return b.op(0x8c, append([]byte{byte(len(s))}, s...)...)
}

// BinUnicode8 writes BINUNICODE8.
func (b *Builder) BinUnicode8(s string) *Builder { return b.u64(0x8d, uint64(len(s)), []byte(s)...) }

// Str writes s with SHORT_BINUNICODE when it fits, else BINUNICODE.
func (b *Builder) Str(s string) *Builder {
	if len(s) < 256 {
		return b.ShortBinUnicode(s)
	}
	return b.BinUnicode(s)
}

// EmptyTuple writes EMPTY_TUPLE.
func (b *Builder) EmptyTuple() *Builder { return b.op(')') }

// Tuple writes TUPLE (items since the last MARK).
func (b *Builder) Tuple() *Builder { return b.op('t') }

// Tuple1 writes TUPLE1.
func (b *Builder) Tuple1() *Builder { return b.op(0x85) }

// Tuple2 writes TUPLE2.
func (b *Builder) Tuple2() *Builder { return b.op(0x86) }

// Tuple3 writes TUPLE3.
func (b *Builder) Tuple3() *Builder { return b.op(0x87) }

// EmptyList writes EMPTY_LIST.
func (b *Builder) EmptyList() *Builder { return b.op(']') }

// List writes LIST.
func (b *Builder) List() *Builder { return b.op('l') }

// Append writes APPEND.
func (b *Builder) Append() *Builder { return b.op('a') }

// Appends writes APPENDS.
func (b *Builder) Appends() *Builder { return b.op('e') }

// EmptyDict writes EMPTY_DICT.
func (b *Builder) EmptyDict() *Builder { return b.op('}') }

// Dict writes DICT.
func (b *Builder) Dict() *Builder { return b.op('d') }

// SetItem writes SETITEM.
func (b *Builder) SetItem() *Builder { return b.op('s') }

// SetItems writes SETITEMS.
func (b *Builder) SetItems() *Builder { return b.op('u') }

// EmptySet writes EMPTY_SET.
func (b *Builder) EmptySet() *Builder { return b.op(0x8f) }

// AddItems writes ADDITEMS.
func (b *Builder) AddItems() *Builder { return b.op(0x90) }

// FrozenSet writes FROZENSET.
func (b *Builder) FrozenSet() *Builder { return b.op(0x91) }

// Put writes the text PUT opcode with index n.
func (b *Builder) Put(n int64) *Builder { return b.line('p', strconv.FormatInt(n, 10)) }

// BinPut writes BINPUT.
func (b *Builder) BinPut(n uint8) *Builder { return b.op('q', n) }

// LongBinPut writes LONG_BINPUT.
func (b *Builder) LongBinPut(n uint32) *Builder { return b.u32('r', n) }

// Memoize writes MEMOIZE (index = current memo size).
func (b *Builder) Memoize() *Builder { return b.op(0x94) }

// Get writes the text GET opcode with index n.
func (b *Builder) Get(n int64) *Builder { return b.line('g', strconv.FormatInt(n, 10)) }

// BinGet writes BINGET.
func (b *Builder) BinGet(n uint8) *Builder { return b.op('h', n) }

// LongBinGet writes LONG_BINGET.
func (b *Builder) LongBinGet(n uint32) *Builder { return b.u32('j', n) }

// Global writes GLOBAL module name.
func (b *Builder) Global(module, name string) *Builder { return b.line('c', module, name) }

// Inst writes INST module name: it imports the class and calls it with the
// items since the last MARK.
func (b *Builder) Inst(module, name string) *Builder { return b.line('i', module, name) }

// StackGlobal writes STACK_GLOBAL (module and name strings on the stack).
func (b *Builder) StackGlobal() *Builder { return b.op(0x93) }

// GlobalStr pushes module and name with Str and writes STACK_GLOBAL; it
// returns the Builder, the STACK_GLOBAL offset is Len()-1.
func (b *Builder) GlobalStr(module, name string) *Builder {
	return b.Str(module).Str(name).StackGlobal()
}

// Reduce writes REDUCE.
func (b *Builder) Reduce() *Builder { return b.op('R') }

// Build writes BUILD.
func (b *Builder) Build() *Builder { return b.op('b') }

// Obj writes OBJ (class and arguments since the last MARK).
func (b *Builder) Obj() *Builder { return b.op('o') }

// NewObj writes NEWOBJ.
func (b *Builder) NewObj() *Builder { return b.op(0x81) }

// NewObjEx writes NEWOBJ_EX.
func (b *Builder) NewObjEx() *Builder { return b.op(0x92) }

// Ext1 writes EXT1.
func (b *Builder) Ext1(code uint8) *Builder { return b.op(0x82, code) }

// Ext2 writes EXT2.
func (b *Builder) Ext2(code uint16) *Builder { return b.op(0x83, byte(code), byte(code>>8)) }

// Ext4 writes EXT4.
func (b *Builder) Ext4(code int32) *Builder { return b.u32(0x84, uint32(code)) }

// PersID writes PERSID with the given id line.
func (b *Builder) PersID(id string) *Builder { return b.line('P', id) }

// BinPersID writes BINPERSID.
func (b *Builder) BinPersID() *Builder { return b.op('Q') }

// NextBuffer writes NEXT_BUFFER.
func (b *Builder) NextBuffer() *Builder { return b.op(0x97) }

// ReadonlyBuffer writes READONLY_BUFFER.
func (b *Builder) ReadonlyBuffer() *Builder { return b.op(0x98) }

// Frame writes FRAME declaring n bytes, true or not.
func (b *Builder) Frame(n uint64) *Builder { return b.u64(0x95, n) }

// BeginFrame writes a FRAME with a placeholder length and returns its
// offset for EndFrame or PatchFrame.
func (b *Builder) BeginFrame() int {
	at := len(b.buf)
	b.Frame(0)
	return at
}

// EndFrame sets the length of the FRAME written at offset at so that it
// ends exactly here.
func (b *Builder) EndFrame(at int) *Builder {
	return b.PatchFrame(at, uint64(len(b.buf)-at-9))
}

// PatchFrame sets the declared length of the FRAME at offset at to n.
func (b *Builder) PatchFrame(at int, n uint64) *Builder {
	if at < 0 || at+9 > len(b.buf) || b.buf[at] != 0x95 {
		panic(fmt.Sprintf("pickletest: no FRAME at offset %d", at))
	}
	binary.LittleEndian.PutUint64(b.buf[at+1:], n)
	return b
}

// Call writes the common malicious shape module.name(*args) with GLOBAL
// (protocol < 4 style) and REDUCE, each argument pushed with Str. It
// returns the Builder; the REDUCE offset is Len()-1.
func (b *Builder) Call(module, name string, args ...string) *Builder {
	b.Global(module, name).Mark()
	for _, a := range args {
		b.Str(a)
	}
	return b.Tuple().Reduce()
}
