package pickle

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

// sniffText is a placeholder walker, replaced by the disassembler-based one.
func sniffText(head []byte) bool {
	if len(head) == 0 {
		return false
	}
	switch head[0] {
	case '(', '}', ']', 'c', 'N', ')':
		for _, b := range head {
			if b == '.' {
				return true
			}
		}
	}
	return false
}
