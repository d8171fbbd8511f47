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
// opcode must decode, be a protocol 0/1 opcode, and keep the stack
// consistent (no underflow, no missing MARK, no unknown memo key). The head
// is accepted when it reaches STOP with a value on the stack, or when it
// ends (it is only a prefix of the file) after sniffMinOps clean opcodes.
func sniffText(head []byte) bool {
	if len(head) == 0 || opTable[head[0]].name == "" || opTable[head[0]].proto > 1 || head[0] == opStop {
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
	for _, a := range m.anomalies {
		if a.Kind != AnomalyTruncated {
			return false
		}
	}
	switch res {
	case resStop:
		return m.ops >= 2 && len(m.stack) > 0
	case resBroken:
		// Only truncation (the head is a prefix) is acceptable.
		return m.err == nil && len(m.anomalies) == 1 && m.ops >= sniffMinOps
	}
	return false
}
