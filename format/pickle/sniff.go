package pickle

import (
	"bytes"
	"context"
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
	if len(head) == 0 || opTable[head[0]].name == "" || head[0] == opStop || head[0] == opProto {
		return false
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
	for _, a := range m.anomalies {
		switch a.Kind {
		case AnomalyTruncated, AnomalyBadOperand, AnomalyBadOpcode:
			breaks++
		default:
			return false
		}
	}
	switch res {
	case resStop:
		return breaks == 0 && m.ops >= 2 && len(m.stack) > 0
	case resBroken:
		return breaks == 1 && m.ops >= sniffMinOps
	}
	return false
}
