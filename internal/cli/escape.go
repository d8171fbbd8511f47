package cli

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/mlsecops/mlsec/store"
)

// escapeText makes stored text safe to print to a terminal: control
// characters, bidirectional overrides (store.IsControl) and invalid UTF-8
// become Go-style escapes (\x1b, \u202e), so a hostile name can neither
// drive the terminal nor disguise itself. Backslashes are doubled so an
// escape in the output always means an escaped byte.
func escapeText(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case store.IsControl(r) && r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case store.IsControl(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func needsEscape(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if r == '\\' || store.IsControl(r) {
			return true
		}
	}
	return false
}

// jsonSafe escapes, in JSON text from encoding/json, the characters it
// leaves raw that a terminal or a reader's eye would act on: DEL, C1
// controls and bidirectional overrides (encoding/json escapes C0 itself).
func jsonSafe(b []byte) []byte {
	s := string(b)
	if utf8.ValidString(s) && !strings.ContainsFunc(s, store.IsControl) {
		return b
	}
	var out strings.Builder
	for _, r := range s {
		if store.IsControl(r) {
			fmt.Fprintf(&out, `\u%04x`, r)
			continue
		}
		out.WriteRune(r)
	}
	return []byte(out.String())
}
