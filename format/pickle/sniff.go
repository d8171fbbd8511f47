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
	w := sniffWalkAt(bytes.NewReader(head), int64(len(head)), head, whole)
	return w.ok, w.trunc
}

// Bounds of a sniff walk over a whole stream. A walk that reaches one of
// them without deciding has seen only well-formed opcodes, so the stream
// is taken for a pickle (fail closed) and the pickle analyser, which has
// no such bounds, judges all of it.
const (
	sniffLineBudget = 64 << 20 // bytes of text operand lines scanned
	sniffMaxOps     = 1 << 20  // opcodes executed
)

// walk is the outcome of one sniff walk.
type walk struct {
	ok    bool  // a pickle (or undecided within the bounds: fail closed)
	trunc int64 // offset of the opcode the input ends inside, else -1
	clean bool  // reached STOP cleanly with exactly one value
	stop  bool  // clean, and imported a global by a dotted name
	// broke reports that the walk ended, not clean and not for want of
	// bytes, before end, where its reader stopped.
	broke bool
	end   int64
	// imported reports that the walk reached an import that could
	// succeed (canImport), whatever came after it.
	imported bool
	// undecided reports a walk stopped by its own bounds after only
	// well-formed opcodes.
	undecided bool
}

// sniffWalkAt runs the strict symbolic machine over the size bytes of r;
// head holds its first bytes. Operands are streamed: text lines of any
// length are scanned (within sniffLineBudget), length-prefixed payloads
// are skipped without being read, so what pickle.load would parse is
// walked to its end whatever decoys open it.
func sniffWalkAt(r io.ReaderAt, size int64, head []byte, whole bool) walk {
	no := walk{trunc: -1}
	if len(head) == 0 || opTable[head[0]].name == "" || head[0] == opStop || head[0] == opProto {
		return no
	}
	c := &collector{
		opts:      Options{MaxOps: sniffMaxOps, MaxStack: 1 << 16, MaxMemo: 1 << 16, MaxStringLen: 256, MaxPickles: 1, MaxCallArgs: 1}.withDefaults(),
		an:        &Analysis{},
		imports:   map[importKey]bool{},
		calls:     map[callKey]bool{},
		anomalies: map[anomalyKey]bool{},
		items:     1 << 12,
		budget:    1 << 16,
	}
	rd := newReader(r, size, false)
	rd.lineBudget = sniffLineBudget
	m := c.newMachine(rd, false)
	m.strict = true
	res := m.run(context.Background())
	for _, imp := range m.imports {
		no.imported = no.imported || canImport(imp) && !stoppedBy(m.anomalies, imp.Offset)
	}
	if errors.Is(m.err, errLineBudget) {
		return walk{ok: true, trunc: -1, undecided: true, imported: no.imported}
	}
	if m.err != nil {
		return no
	}
	no.end = rd.pos
	// A decode failure (truncation, bad operand, unknown opcode) may end the
	// walk: the head may be a prefix, and a truncated or corrupted pickle is
	// still a pickle whose opcodes before the break would run. Any stack or
	// memo inconsistency means this is not a pickle. A cap reached after
	// that many clean opcodes is undecided: fail closed.
	breaks := 0
	trunc := int64(-1)
	for _, a := range m.anomalies {
		switch a.Kind {
		case AnomalyTruncated:
			trunc = a.Offset
			breaks++
		case AnomalyBadOperand, AnomalyBadOpcode:
			breaks++
		case AnomalyLimit:
			if res == resLimit {
				return walk{ok: true, trunc: -1, undecided: true, imported: no.imported}
			}
			return no
		default:
			no.broke = true
			return no
		}
	}
	imports := false
	for _, imp := range m.imports {
		if isDottedName(imp.Module) && isDottedName(imp.Name) {
			imports = true
		}
	}
	out := walk{trunc: trunc, end: rd.pos, imported: no.imported}
	out.clean = res == resStop && breaks == 0 && m.ops >= 2 && len(m.stack) == 1 && len(m.marks) == 0
	out.broke = !out.clean && trunc < 0
	out.stop = out.clean && imports
	end := rd.pos
	if isPrintableText(head[:min(int64(len(head)), end)]) && (end <= int64(len(head)) || printableRegion(r, int64(len(head)), end)) {
		// Ordinary text (release notes, configuration files, source code)
		// often decodes as a few opcodes by chance. A text pickle that can
		// do harm imports a global by a well-formed dotted name: accept it
		// as before. One that imports nothing cannot call anything; accept
		// it only when it looks like what CPython's protocol 0 writes
		// (protocol 0 opcodes that end in STOP with exactly one value, or
		// run clean to the end of the head).
		if imports {
			switch res {
			case resStop:
				out.ok = breaks == 0 && m.ops >= 2 && len(m.stack) > 0
			case resBroken:
				out.ok = breaks == 1
			}
			return out
		}
		if m.maxOpProto > 0 {
			return out
		}
		switch res {
		case resStop:
			out.ok = breaks == 0 && m.ops >= 2 && len(m.stack) == 1 && len(m.marks) == 0
		case resBroken:
			out.ok = breaks == 1 && trunc >= 0 && !whole && m.ops >= sniffMinOps
		}
		return out
	}
	switch res {
	case resStop:
		out.ok = breaks == 0 && m.ops >= 2 && len(m.stack) > 0
	case resBroken:
		out.ok = breaks == 1 && m.ops >= sniffMinOps
	}
	return out
}

// printableRegion reports whether the bytes [from, to) of r are text in
// the sense of isPrintableText (bytes of 0x80 and above are accepted
// without UTF-8 validation, since chunks may split a rune).
func printableRegion(r io.ReaderAt, from, to int64) bool {
	buf := make([]byte, 64<<10)
	for pos := from; pos < to; {
		n, err := r.ReadAt(buf[:min(int64(len(buf)), to-pos)], pos)
		for _, c := range buf[:n] {
			if (c < 0x20 || c == 0x7f) && c != '\n' && c != '\r' && c != '\t' {
				return false
			}
		}
		if n == 0 || (err != nil && !errors.Is(err, io.EOF)) {
			return false
		}
		pos += int64(n)
	}
	return true
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
// that cannot be read at random (a decompressor's output), may be a
// pickle: Sniff accepts it, or every opcode of it is well formed and it is
// rejected only because it ends inside one. The stream may be a pickle
// that opens with decoys longer than the head (string, bytes or number
// operands, any number of them), and only reading on can tell: the caller
// inflates the whole stream and decides with SniffAt.
func SniffPrefix(head []byte) bool {
	ok, t := sniffWalk(head, false)
	return ok || (t >= 0 && t < int64(len(head)))
}

// maxJunk is how many leading bytes that are not a pickle SniffAt and
// Analyze look past for a pickle program.
const maxJunk = 16

// SniffAt is Sniff for a whole stream: head holds its first bytes (a
// window of a larger stream when len(head) < size). A pickle may open with
// decoys longer than any head — string, bytes or number operands of any
// length, any number of leading opcodes whose values are popped — and
// CPython reads them and runs the program after them, with or without
// PROTO, so SniffAt walks the stream itself, not the head: text operands
// are scanned to their end (up to 64 MiB of lines), payloads skipped by
// their declared length. A walk that reaches its bounds without deciding
// counts as a pickle. A stream whose first bytes are junk but which holds
// a complete importing (or PROTO-led) pickle program within its first 16
// bytes is reported too: no honest file looks like that (see JunkPrefix).
func SniffAt(r io.ReaderAt, size int64, head []byte) bool {
	if len(head) >= 2 && head[0] == 0x80 && head[1] <= 5 {
		return true
	}
	// What the head alone shows to be a pickle stays one (the walk over
	// the stream may break later, but the opcodes before would run).
	if ok, _ := sniffWalk(head, int64(len(head)) >= size); ok {
		return true
	}
	if sniffWalkAt(r, size, head, true).ok {
		return true
	}
	return JunkPrefix(r, size, head) > 0
}

// canImport reports whether imp could import anything in a default
// interpreter: not EXT (its registry is empty), and no part that is known
// and not a dotted name (find_class fails on it). An empty part may be a
// value the walk does not know: fail closed.
func canImport(imp Import) bool {
	switch imp.Opcode {
	case "EXT1", "EXT2", "EXT4":
		return false
	}
	for _, part := range []string{imp.Module, imp.Name} {
		if part != "" && !isDottedName(part) {
			return false
		}
	}
	return true
}

// stoppedBy reports whether one of the anomalies stops CPython's
// unpickler at or before offset (so an import there never happens): a
// truncation, an unknown opcode, a malformed operand, a stack underflow or
// a missing memo key all raise.
func stoppedBy(anomalies []Anomaly, offset int64) bool {
	for _, a := range anomalies {
		switch a.Kind {
		case AnomalyTruncated, AnomalyBadOpcode, AnomalyBadOperand, AnomalyStack, AnomalyMemo:
			if a.Offset <= offset {
				return true
			}
		}
	}
	return false
}

// SniffBehindHeader reports whether r, whose offset 0 holds another
// format's valid binary header (safetensors, GGUF, .npy), is also a pickle
// that pickle.load would act on: read from offset 0 (past PROTO), its
// opcodes reach an import (GLOBAL, INST, STACK_GLOBAL) before the stream
// breaks, or end cleanly at STOP with one value, or run past the walk's
// bounds undecided (fail closed). A header's length or magic bytes often
// decode as a few opcodes by chance: a safetensors header of 640 bytes
// opens with PROTO 2, one of 80 or 86 bytes with PERSID or UNICODE, whose
// line runs on into the tensor data, where random weights decode as more
// opcodes. Without an import nothing on the stack is callable, so such a
// stream cannot run code however it continues, and pickle.load refuses a
// persistent id outright (no persistent_load by default; torch.load and
// joblib read a stand-alone file's first pickle without one).
func SniffBehindHeader(r io.ReaderAt, size int64, head []byte) bool {
	off := int64(0)
	if len(head) >= 2 && head[0] == opProto {
		if head[1] > 5 {
			return false
		}
		off = 2
	}
	if int64(len(head)) <= off {
		return false
	}
	h := head[off:]
	if h[0] == opPersID || h[0] == opBinPersID {
		return false
	}
	w := sniffWalkAt(io.NewSectionReader(r, off, size-off), size-off, h, true)
	return w.imported || w.clean || w.undecided
}

// headDecides reports whether a walk over h, the first bytes of a stream
// of size bytes, already shows that the stream is no clean program: it
// broke on the bytes of h itself (a bad opcode or operand, an inconsistent
// stack) before reaching their end. Those bytes are the same in the whole
// stream, so walking the stream would break the same way; only a walk that
// ran clean or ran out of bytes needs the stream. It spares JunkPrefix a
// read window per candidate offset of every file it sniffs.
func headDecides(h []byte, size int64) bool {
	if int64(len(h)) >= size {
		return false // h is the whole stream: the caller's walk is as cheap
	}
	if h[0] == opProto {
		if len(h) < 3 {
			return false
		}
		h = h[2:]
	}
	w := sniffWalkAt(bytes.NewReader(h), int64(len(h)), h, false)
	return w.broke && w.end < int64(len(h))
}

// JunkPrefix returns the offset, between 1 and 16, at which a pickle
// program starts after leading bytes that are not one, or 0 when there is
// none. The program must either open with PROTO (2 to 5) and reach STOP
// cleanly with one value, or import a global and reach STOP cleanly with one value: a bare PROTO
// byte pair is too common in binary data to mean anything alone.
func JunkPrefix(r io.ReaderAt, size int64, head []byte) int64 {
	for off := int64(1); off <= maxJunk && off+2 <= int64(len(head)); off++ {
		c := head[off]
		if opTable[c].name == "" || c == opStop {
			continue
		}
		if headDecides(head[off:], size-off) {
			continue
		}
		sr := io.NewSectionReader(r, off, size-off)
		if c == opProto {
			if head[off+1] < 2 || head[off+1] > 5 {
				continue
			}
			body := io.NewSectionReader(r, off+2, size-off-2)
			bh := head[off+2:]
			if len(bh) == 0 {
				continue
			}
			if sniffWalkAt(body, size-off-2, bh, true).clean {
				return off
			}
			continue
		}
		if sniffWalkAt(sr, size-off, head[off:], true).stop {
			return off
		}
	}
	return 0
}
