package pickle

import (
	"bytes"
	"context"
	"errors"
	"io"
	"unicode/utf8"
)

// Sniff reports whether head, the first bytes of a stream, looks like a
// pickle of any protocol. Protocol 2+ pickles open with PROTO; protocol 0
// and 1 pickles have no header, so Sniff walks their first opcodes and
// accepts the stream when they decode as a plausible pickle program.
func Sniff(head []byte) bool {
	if len(head) >= 2 && head[0] == 0x80 && head[1] <= 5 {
		return true
	}
	return sniffText(head)
}

// sniffMinOps is how many opcodes must execute cleanly when head ends
// before STOP.
const sniffMinOps = 3

// sniffText runs the symbolic machine in strict mode over head: every
// opcode must decode and keep the stack consistent (no underflow, no
// missing MARK, no unknown memo key). Opcodes of any protocol are accepted:
// CPython's unpickler never checks an opcode against the protocol, so a
// stream without PROTO that uses protocol 2–5 opcodes (SHORT_BINUNICODE,
// STACK_GLOBAL, …) still loads and runs, and must not be skipped. The head
// is accepted when it reaches STOP with a value on the stack, or when it
// breaks (it is only a prefix of the file, or the stream is truncated or
// corrupt) after sniffMinOps clean opcodes.
func sniffText(head []byte) bool {
	ok, _ := sniffWalk(head, false)
	return ok
}

// sniffWalk is sniffText that also reports, when the head is rejected only
// because it ends inside an opcode, that opcode's offset (else -1).
// whole says head is the entire stream, so running out of bytes is the
// stream's own end rather than the end of a window.
func sniffWalk(head []byte, whole bool) (bool, int64) {
	if len(head) == 0 || opTable[head[0]].name == "" || head[0] == opStop || head[0] == opProto {
		return false, -1
	}
	c := &collector{
		opts:      Options{MaxOps: 1 << 20, MaxStack: 1 << 16, MaxMemo: 1 << 16, MaxStringLen: 256, MaxPickles: 1, MaxCallArgs: 1}.withDefaults(),
		an:        &Analysis{},
		imports:   map[importKey]bool{},
		calls:     map[callKey]bool{},
		anomalies: map[anomalyKey]bool{},
		items:     1 << 12,
		budget:    1 << 16,
	}
	r := newReader(bytes.NewReader(head), int64(len(head)), false)
	m := c.newMachine(r, false)
	m.strict = true
	res := m.run(context.Background())
	// A decode failure (truncation, bad operand, unknown opcode) may end the
	// walk: the head may be a prefix, and a truncated or corrupted pickle is
	// still a pickle whose opcodes before the break would run. Any stack or
	// memo inconsistency means this is not a pickle.
	breaks := 0
	trunc := int64(-1)
	for _, a := range m.anomalies {
		switch a.Kind {
		case AnomalyTruncated:
			trunc = a.Offset
			breaks++
		case AnomalyBadOperand, AnomalyBadOpcode:
			breaks++
		default:
			return false, -1
		}
	}
	if isPrintableText(head) {
		// Ordinary text (release notes, configuration files, source code)
		// often decodes as a few opcodes by chance. A text pickle that can
		// do harm imports a global by a well-formed dotted name: accept it
		// as before. One that imports nothing cannot call anything; accept
		// it only when it looks like what CPython's protocol 0 writes
		// (protocol 0 opcodes that end in STOP with exactly one value, or
		// run clean to the end of the head).
		for _, imp := range m.imports {
			if isDottedName(imp.Module) && isDottedName(imp.Name) {
				switch res {
				case resStop:
					return breaks == 0 && m.ops >= 2 && len(m.stack) > 0, -1
				case resBroken:
					return breaks == 1, trunc
				}
				return false, -1
			}
		}
		if m.maxOpProto > 0 {
			return false, trunc
		}
		switch res {
		case resStop:
			return breaks == 0 && m.ops >= 2 && len(m.stack) == 1 && len(m.marks) == 0, -1
		case resBroken:
			return breaks == 1 && trunc >= 0 && !whole && m.ops >= sniffMinOps, trunc
		}
		return false, -1
	}
	switch res {
	case resStop:
		return breaks == 0 && m.ops >= 2 && len(m.stack) > 0, -1
	case resBroken:
		if breaks == 1 && m.ops >= sniffMinOps {
			return true, -1
		}
		if breaks == 1 {
			return false, trunc
		}
	}
	return false, -1
}

// isPrintableText reports whether b is text: printable ASCII, the usual
// whitespace and well-formed UTF-8 (a rune cut by the end of b is fine).
func isPrintableText(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			if (c < 0x20 || c == 0x7f) && c != '\n' && c != '\r' && c != '\t' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return !utf8.FullRune(b[i:])
		}
		i += n
	}
	return true
}

// isDottedName reports whether s is a dotted Python identifier such as
// "os.path" or "Module.Inner" (ASCII only).
func isDottedName(s string) bool {
	if s == "" {
		return false
	}
	start := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if start {
				return false
			}
			start = true
			continue
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9':
			if start {
				return false
			}
		default:
			return false
		}
		start = false
	}
	return !start
}

// SniffPrefix reports whether head, the first bytes of a longer stream
// that cannot be read at random (a decompressor's output), is rejected by
// Sniff only because it ends inside a string operand: the stream may be a
// pickle that opens with a long decoy string, and only reading on (what
// SniffAt does for random-access input) can tell.
func SniffPrefix(head []byte) bool {
	ok, t := sniffWalk(head, false)
	if ok {
		return true
	}
	if t < 0 || t >= int64(len(head)) {
		return false
	}
	switch opTable[head[t]].arg {
	case argString4, argBytes4, argUnicode4, argBytes8, argUnicode8:
		return true
	case argStringNL:
		return t+1 < int64(len(head)) && (head[t+1] == '\'' || head[t+1] == '"')
	case argUnicodeNL:
		return true
	}
	return false
}

// Bounds of SniffAt's look past the head.
const (
	sniffMaxSkips = 8        // leading operands skipped
	sniffMaxLine  = 16 << 20 // bytes searched for the end of a text operand
)

// SniffAt is Sniff for a whole stream: head holds its first bytes (a
// window of a larger stream when len(head) < size). A pickle may open with
// a decoy string longer than any head — CPython reads it and runs the
// program after it, with or without PROTO — so when the head is rejected
// only because it ends inside a string operand, SniffAt skips that operand
// (by its declared length, or to the end of its line for text opcodes),
// replaces it with an empty one of the same opcode, and sniffs the bytes
// that follow. At most sniffMaxSkips operands are skipped.
func SniffAt(r io.ReaderAt, size int64, head []byte) bool {
	if len(head) >= 2 && head[0] == 0x80 && head[1] <= 5 {
		return true
	}
	if ok, _ := sniffWalk(head, int64(len(head)) >= size); ok {
		return true
	}
	window := len(head)
	base := int64(0) // stream offset of head[len(prefix):]
	var prefix []byte
	cur := head
	for i := 0; i < sniffMaxSkips; i++ {
		ok, t := sniffWalk(cur, base+int64(len(cur)-len(prefix)) >= size)
		if ok {
			return true
		}
		if base+int64(len(cur)-len(prefix)) >= size {
			return false // the whole stream was seen: the break is real
		}
		if t < int64(len(prefix)) || t >= int64(len(cur)) {
			return false
		}
		at := base + t - int64(len(prefix)) // stream offset of the truncated opcode
		code := cur[t]
		stub, end, ok := skipOperand(r, size, at, code)
		if !ok {
			return false
		}
		prefix = append(append([]byte(nil), cur[:t]...), stub...)
		if len(prefix) > window {
			return false
		}
		base = end
		next := make([]byte, min(int64(window), size-end))
		n, err := r.ReadAt(next, end)
		if n < len(next) && err != nil && !errors.Is(err, io.EOF) {
			return false
		}
		cur = append(append([]byte(nil), prefix...), next[:n]...)
	}
	return false
}

// skipOperand returns an empty stand-in for the string opcode code at off
// and the stream offset just past its real operand.
func skipOperand(r io.ReaderAt, size, off int64, code byte) (stub []byte, end int64, ok bool) {
	lenBytes := 0
	switch opTable[code].arg {
	case argString4, argBytes4, argUnicode4, argLong4:
		lenBytes = 4
	case argBytes8, argUnicode8:
		lenBytes = 8
	case argStringNL, argUnicodeNL:
		var q [1]byte
		if code == opString {
			if _, err := r.ReadAt(q[:], off+1); err != nil || (q[0] != '\'' && q[0] != '"') {
				return nil, 0, false
			}
		}
		nl, found := findNewline(r, size, off+1)
		if !found {
			return nil, 0, false
		}
		if code == opString {
			return []byte("S''\n"), nl + 1, true
		}
		return []byte("V\n"), nl + 1, true
	default:
		return nil, 0, false
	}
	b := make([]byte, lenBytes)
	if _, err := r.ReadAt(b, off+1); err != nil {
		return nil, 0, false
	}
	var n uint64
	for i := lenBytes - 1; i >= 0; i-- {
		n = n<<8 | uint64(b[i])
	}
	if lenBytes == 4 && opTable[code].arg != argBytes4 && opTable[code].arg != argUnicode4 && n >= 1<<31 {
		return nil, 0, false // a negative signed length: CPython refuses it
	}
	end = off + 1 + int64(lenBytes) + int64(n)
	if n > uint64(size) || end > size {
		return nil, 0, false
	}
	return append([]byte{code}, make([]byte, lenBytes)...), end, true
}

// findNewline returns the offset of the first '\n' at or after off, looking
// at most sniffMaxLine bytes ahead.
func findNewline(r io.ReaderAt, size, off int64) (int64, bool) {
	buf := make([]byte, 64<<10)
	for pos := off; pos < size && pos-off < sniffMaxLine; {
		n, err := r.ReadAt(buf[:min(int64(len(buf)), size-pos)], pos)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			return pos + int64(i), true
		}
		if n == 0 || (err != nil && !errors.Is(err, io.EOF)) {
			return 0, false
		}
		pos += int64(n)
	}
	return 0, false
}
