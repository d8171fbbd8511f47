package pickle

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Sentinel errors of the disassembler.
var (
	// ErrTruncated reports that the stream ended inside an opcode.
	ErrTruncated = errors.New("pickle: truncated stream")
	// ErrBadOpcode reports a byte that is not an opcode of protocols 0-5.
	ErrBadOpcode = errors.New("pickle: unknown opcode")
	// ErrBadOperand reports a malformed inline operand.
	ErrBadOperand = errors.New("pickle: malformed operand")
)

// Op is one decoded opcode with its inline operand.
type Op struct {
	// Offset is the byte offset of the opcode; End the offset just after its
	// operand.
	Offset, End int64
	// Code is the opcode byte and Name its pickletools name ("BININT1").
	Code byte
	Name string
	// Proto is the protocol that introduced the opcode.
	Proto int
	// Int is the integer operand: the value of INT/BININT*/LONG*, the index
	// of GET/PUT variants, the code of EXT*, the length of FRAME, the
	// version of PROTO. For LONG* values that do not fit, Big holds the
	// decimal text (or a placeholder for huge values) and Int is 0.
	Int int64
	Big string
	// Bool is set for the INT forms "I00"/"I01", which mean False/True.
	Bool bool
	// Float is the operand of FLOAT/BINFLOAT.
	Float float64
	// Str is a string or bytes operand (decoded: STRING unescaped, UNICODE
	// raw-unicode-escape decoded, the rest raw), at most the keep limit
	// long; for GLOBAL/INST the module and for PERSID the id. Str2 is the
	// name of GLOBAL/INST.
	Str, Str2 string
	// DataOffset and DataLen locate the operand bytes (the payload itself,
	// after any length prefix; for text operands the raw line without its
	// '\n'). DataLen is -1 for opcodes without a string operand.
	DataOffset, DataLen int64
	// Truncated is set when Str holds only a prefix of the operand.
	Truncated bool
}

// decoder turns stream bytes into Ops.
type decoder struct {
	r    *reader
	keep int64 // longest operand kept in memory
	// budget is the total number of operand bytes that may still be kept at
	// full length; afterwards operands keep at most lowKeep bytes.
	budget int64
}

const (
	lowKeep      = 4 << 10
	prefixKeep   = 256
	keepBudget   = 64 << 20
	maxBigDigits = 64 // LONG1/LONG4 byte lengths converted with math/big
	// maxNumberText is the longest INT/LONG/FLOAT/GET/PUT text accepted
	// (CPython's int() limit is 4300 digits).
	maxNumberText = 4400
)

// keepFor returns how many bytes of an n-byte operand to keep: all of it
// up to the keep limit; for longer operands only a prefix of prefixKeep
// bytes, enough to recognise the content, which keeps memory independent
// of tensor payload sizes.
func (d *decoder) keepFor(n int64) int64 {
	k := d.keep
	if n > k {
		k = min(k, prefixKeep)
	}
	if d.budget <= 0 && k > lowKeep {
		k = lowKeep
	}
	k = min(k, n)
	d.budget -= k
	return k
}

// operandError builds an ErrBadOperand error.
func operandError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadOperand, fmt.Sprintf(format, args...))
}

// next decodes one opcode at the reader position. On ErrBadOperand the op
// has been consumed and op is filled as far as possible; on other errors the
// stream cannot be decoded further.
func (d *decoder) next() (Op, error) {
	r := d.r
	b, err := r.fixed(1)
	if err != nil {
		return Op{Offset: r.pos}, err
	}
	op := Op{Offset: r.pos - 1, Code: b[0], DataLen: -1}
	info := &opTable[op.Code]
	if info.name == "" {
		r.pos-- // leave the reader at the bad byte
		return op, fmt.Errorf("%w 0x%02x", ErrBadOpcode, op.Code)
	}
	op.Name, op.Proto = info.name, info.proto
	err = d.operand(&op, info.arg)
	op.End = r.pos
	return op, err
}

func (d *decoder) operand(op *Op, kind argKind) error {
	r := d.r
	switch kind {
	case argNone:
		return nil
	case argUint1, argUint2, argUint4, argInt4, argUint8, argFloat8:
		n := 8
		switch kind {
		case argUint1:
			n = 1
		case argUint2:
			n = 2
		case argUint4, argInt4:
			n = 4
		}
		b, err := r.fixed(n)
		if err != nil {
			return err
		}
		switch kind {
		case argUint1:
			op.Int = int64(b[0])
		case argUint2:
			op.Int = int64(binary.LittleEndian.Uint16(b))
		case argUint4:
			op.Int = int64(binary.LittleEndian.Uint32(b))
		case argInt4:
			op.Int = int64(int32(binary.LittleEndian.Uint32(b)))
		case argUint8:
			u := binary.LittleEndian.Uint64(b)
			if u > math.MaxInt64 {
				op.Big = strconv.FormatUint(u, 10)
				return operandError("%s length %d exceeds the maximum size", op.Name, u)
			}
			op.Int = int64(u)
		case argFloat8:
			op.Float = math.Float64frombits(binary.BigEndian.Uint64(b))
		}
		return nil
	case argDecimalShort, argDecimalLong, argFloatNL:
		// Padding (whitespace, leading zeros) of any length is dropped
		// as CPython drops it; only the significant text is parsed.
		line, off, total, over, err := r.numberLine(maxNumberText)
		if err != nil {
			return err
		}
		op.DataOffset, op.DataLen = off, total
		s := string(line)
		op.Str = s
		if over {
			// More significant digits than CPython's int() accepts
			// since 3.11 (4300) — older interpreters accept them, and
			// FLOAT text may carry any number of digits: a number of
			// unknown value when what was kept is numeric.
			if strings.Trim(s, "+-0123456789_.eE") != "" || s == "" {
				return operandError("%s operand of %d bytes", op.Name, total)
			}
			if kind == argFloatNL {
				op.Float = math.NaN()
			} else {
				op.Big = s[:min(len(s), 32)] + "…"
			}
			return nil
		}
		switch kind {
		case argFloatNL:
			f, err := strconv.ParseFloat(s, 64)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return operandError("FLOAT %q", s)
			}
			op.Float = f
			return nil
		case argDecimalShort:
			if op.Code == opInt && total == 2 && (s == "0" || s == "01") { // "I00", "I01"
				if s == "0" {
					s = "00"
				}
				op.Bool, op.Int = true, int64(s[1]-'0')
				return nil
			}
		case argDecimalLong:
			s = strings.TrimSuffix(s, "L")
		}
		return parseTextInt(op, s)
	case argStringNL:
		line, off, total, err := r.line(d.keepFor(d.keep))
		if err != nil {
			return err
		}
		op.DataOffset, op.DataLen, op.Truncated = off, total, int64(len(line)) < total
		if len(line) < 2 || (line[0] != '"' && line[0] != '\'') || (!op.Truncated && line[len(line)-1] != line[0]) {
			return operandError("the STRING opcode argument must be quoted")
		}
		body := line[1:]
		if !op.Truncated {
			body = body[:len(body)-1]
		}
		s, err := escapeDecode(body)
		op.Str = s
		return err
	case argUnicodeNL:
		line, off, total, err := r.line(d.keepFor(d.keep))
		if err != nil {
			return err
		}
		op.DataOffset, op.DataLen, op.Truncated = off, total, int64(len(line)) < total
		s, err := rawUnicodeEscapeDecode(line, op.Truncated)
		op.Str = s
		return err
	case argLineASCII:
		line, off, total, err := r.line(d.keep)
		if err != nil {
			return err
		}
		op.Str, op.DataOffset, op.DataLen, op.Truncated = string(line), off, total, int64(len(line)) < total
		return nil
	case argLinePair:
		mod, off, total, err := r.line(d.keep)
		if err != nil {
			return err
		}
		op.DataOffset = off
		name, _, total2, err := r.line(d.keep)
		if err != nil {
			return err
		}
		op.Str, op.Str2 = string(mod), string(name)
		op.DataLen = r.pos - 1 - off
		op.Truncated = int64(len(mod)) < total || int64(len(name)) < total2
		// GLOBAL decodes both lines as UTF-8, INST as ASCII: a line that
		// does not decode makes CPython fail before importing.
		if !utf8.ValidString(op.Str) || !utf8.ValidString(op.Str2) {
			return operandError("%s operand is not valid UTF-8", op.Name)
		}
		if op.Code == opInst && (!isASCII(op.Str) || !isASCII(op.Str2)) {
			return operandError("INST operand is not ASCII")
		}
		return nil
	case argString1, argBytes1, argUnicode1, argLong1:
		b, err := r.fixed(1)
		if err != nil {
			return err
		}
		return d.data(op, kind, int64(b[0]))
	case argString4, argLong4:
		b, err := r.fixed(4)
		if err != nil {
			return err
		}
		n := int64(int32(binary.LittleEndian.Uint32(b)))
		if n < 0 {
			return operandError("%s has negative byte count %d", op.Name, n)
		}
		return d.data(op, kind, n)
	case argBytes4, argUnicode4:
		b, err := r.fixed(4)
		if err != nil {
			return err
		}
		return d.data(op, kind, int64(binary.LittleEndian.Uint32(b)))
	case argBytes8, argUnicode8:
		b, err := r.fixed(8)
		if err != nil {
			return err
		}
		u := binary.LittleEndian.Uint64(b)
		if u > math.MaxInt64 {
			return operandError("%s length %d exceeds the maximum size", op.Name, u)
		}
		return d.data(op, kind, int64(u))
	}
	return operandError("unknown operand kind %d", kind)
}

// data reads a length-prefixed payload of n bytes.
func (d *decoder) data(op *Op, kind argKind, n int64) error {
	keep := int64(0)
	if kind == argLong1 || kind == argLong4 {
		keep = min(n, maxBigDigits)
	} else {
		keep = d.keepFor(n)
	}
	b, off, err := d.r.payload(n, keep)
	if err != nil {
		return err
	}
	op.DataOffset, op.DataLen = off, n
	if kind == argLong1 || kind == argLong4 {
		op.DataLen = n
		decodeLong(op, b, n)
		return nil
	}
	op.Str, op.Truncated = string(b), int64(len(b)) < n
	return nil
}

// decodeLong decodes a little-endian two's complement integer.
func decodeLong(op *Op, b []byte, n int64) {
	if n > maxBigDigits {
		op.Big = fmt.Sprintf("<%d-byte integer>", n)
		return
	}
	if n == 0 {
		op.Int = 0
		return
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	v := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	if v.IsInt64() {
		op.Int = v.Int64()
	} else {
		op.Big = v.String()
	}
}

// parseTextInt parses the decimal text of INT/LONG/GET/PUT the way
// int(text, 0) does (sign, 0x/0o/0b prefixes, underscores).
func parseTextInt(op *Op, s string) error {
	t := strings.TrimSpace(s)
	v, ok := new(big.Int).SetString(t, 0)
	if !ok {
		// Python rejects "010" in base 0 but strtol (used by _pickle.c for
		// INT) accepts it as octal; accept plain decimals with leading
		// zeros, as GET/PUT parse base 10.
		v, ok = new(big.Int).SetString(t, 10)
	}
	if !ok {
		return operandError("%s %q is not an integer", op.Name, s)
	}
	if v.IsInt64() {
		op.Int = v.Int64()
	} else {
		op.Big = v.String()
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// escapeDecode decodes a Python 2 string literal body the way
// codecs.escape_decode does.
func escapeDecode(b []byte) (string, error) {
	if !containsByte(b, '\\') {
		return string(b), nil
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(b) {
			return string(out), operandError("trailing \\ in string")
		}
		switch c = b[i]; c {
		case '\n':
		case '\\', '\'', '"':
			out = append(out, c)
		case 'a':
			out = append(out, 7)
		case 'b':
			out = append(out, 8)
		case 'f':
			out = append(out, 12)
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'v':
			out = append(out, 11)
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(c - '0')
			for k := 0; k < 2 && i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '7'; k++ {
				i++
				v = v*8 + int(b[i]-'0')
			}
			out = append(out, byte(v))
		case 'x':
			if i+2 >= len(b) {
				return string(out), operandError("invalid \\x escape")
			}
			h, ok1 := unhex(b[i+1])
			l, ok2 := unhex(b[i+2])
			if !ok1 || !ok2 {
				return string(out), operandError("invalid \\x escape")
			}
			out = append(out, h<<4|l)
			i += 2
		default:
			out = append(out, '\\', c)
		}
	}
	return string(out), nil
}

// rawUnicodeEscapeDecode decodes raw-unicode-escape text: bytes are Latin-1
// characters, and \uXXXX / \UXXXXXXXX preceded by an odd number of
// backslashes are escapes.
func rawUnicodeEscapeDecode(b []byte, truncated bool) (string, error) {
	var sb strings.Builder
	sb.Grow(len(b))
	for i := 0; i < len(b); {
		c := b[i]
		if c != '\\' {
			sb.WriteRune(rune(c))
			i++
			continue
		}
		j := i
		for j < len(b) && b[j] == '\\' {
			j++
		}
		run := j - i
		if run%2 == 0 || j >= len(b) || (b[j] != 'u' && b[j] != 'U') {
			for k := 0; k < run; k++ {
				sb.WriteByte('\\')
			}
			i = j
			continue
		}
		for k := 0; k < run-1; k++ {
			sb.WriteByte('\\')
		}
		n := 4
		if b[j] == 'U' {
			n = 8
		}
		if j+1+n > len(b) {
			if truncated {
				return sb.String(), nil
			}
			return sb.String(), operandError("truncated \\%cXXXX escape", b[j])
		}
		var v rune
		for _, h := range b[j+1 : j+1+n] {
			x, ok := unhex(h)
			if !ok {
				return sb.String(), operandError("truncated \\%cXXXX escape", b[j])
			}
			v = v<<4 | rune(x)
		}
		if v > unicodeMax {
			return sb.String(), operandError("\\Uxxxxxxxx out of range")
		}
		sb.WriteRune(v)
		i = j + 1 + n
	}
	return sb.String(), nil
}

const unicodeMax = 0x10ffff

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// Ops disassembles the size bytes behind r linearly (FRAME boundaries are
// not trusted, so they do not affect decoding), calling fn for each opcode,
// across every pickle program until EOF. String operands are kept up to
// 1 MiB (longer ones are located by DataOffset/DataLen). Ops returns nil at
// EOF on an opcode boundary, the error of fn, ctx.Err(), an error wrapping
// ErrTruncated, ErrBadOpcode or ErrBadOperand for undecodable input (the
// Op of a malformed operand is still passed to fn first), or a read error.
func Ops(ctx context.Context, r io.ReaderAt, size int64, fn func(Op) error) error {
	d := &decoder{r: newReader(r, size, false), keep: 1 << 20, budget: keepBudget}
	for n := 0; d.r.pos < size; n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		off := d.r.pos
		op, err := d.next()
		if err != nil {
			if errors.Is(err, ErrBadOperand) {
				if ferr := fn(op); ferr != nil {
					return ferr
				}
			}
			return fmt.Errorf("offset %d: %w", off, err)
		}
		if err := fn(op); err != nil {
			return err
		}
	}
	return nil
}
