package store

import (
	"fmt"
	"unicode/utf8"
)

// IsControl reports whether r is a character the store refuses in names,
// versions and other free text, and that mlsec escapes wherever it prints
// stored text to a terminal: C0 and C1 control characters (NUL, ESC,
// newlines, tabs, DEL, CSI), and the Unicode bidirectional overrides and
// isolates that make text display in an order other than its bytes'.
func IsControl(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return false
}

// CheckPrintable returns an error wrapping ErrInvalid when v is not valid
// UTF-8 or holds a control character (IsControl); field names the value.
func CheckPrintable(field, v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, field)
	}
	for i, r := range v {
		if IsControl(r) {
			return fmt.Errorf("%w: %s holds control character %U at byte %d (control characters, newlines and bidirectional overrides are not allowed)", ErrInvalid, field, r, i)
		}
	}
	return nil
}
