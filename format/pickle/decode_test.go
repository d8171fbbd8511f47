package pickle

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

func TestOpsErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want error
		ops  int
	}{
		{"ok", "\x80\x04N.", nil, 3},
		{"truncated operand", "\x80\x04B\x10\x00\x00\x00abc", ErrTruncated, 1},
		{"truncated line", "\x80\x02cos\nsys", ErrTruncated, 1},
		{"bad opcode", "\x80\x04N\xff.", ErrBadOpcode, 2},
		{"unquoted STRING", "Sabc\n.", ErrBadOperand, 1},
		{"negative BINSTRING", "T\xff\xff\xff\xff.", ErrBadOperand, 1},
		{"huge BINBYTES8", "\x8e\xff\xff\xff\xff\xff\xff\xff\xff", ErrBadOperand, 1},
		{"declared length past EOF", "\x8e\x00\x00\x00\x00\x01\x00\x00\x00xx", ErrTruncated, 0},
		{"GLOBAL not UTF-8", "c\xff\xfe\nx\n.", ErrBadOperand, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			err := Ops(context.Background(), bytes.NewReader([]byte(tc.data)), int64(len(tc.data)), func(Op) error { n++; return nil })
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if n != tc.ops {
				t.Fatalf("%d ops before the error, want %d", n, tc.ops)
			}
		})
	}
}

func TestOpOperands(t *testing.T) {
	data := "I01\nI-0x10\nL99999999999999999999L\nF-1.25\n\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01g12\n."
	var got []Op
	if err := Ops(context.Background(), bytes.NewReader([]byte(data)), int64(len(data)), func(op Op) error { got = append(got, op); return nil }); err != nil {
		t.Fatal(err)
	}
	if !got[0].Bool || got[0].Int != 1 || got[1].Int != -16 || got[2].Big != "99999999999999999999" ||
		got[3].Float != -1.25 || got[4].Big != "18446744073709551616" || got[5].Int != 12 || got[5].Name != "GET" {
		t.Fatalf("operands: %+v", got)
	}
}

func TestEscapeDecode(t *testing.T) {
	for in, want := range map[string]string{
		`abc`:          "abc",
		`a\'b`:         "a'b",
		`\x41\101\n\t`: "AA\n\t",
		`\q`:           `\q`,
		`\\`:           `\`,
		`\0`:           "\x00",
	} {
		if got, err := escapeDecode([]byte(in)); err != nil || got != want {
			t.Errorf("escapeDecode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`\`, `\x4`, `\xzz`} {
		if _, err := escapeDecode([]byte(bad)); !errors.Is(err, ErrBadOperand) {
			t.Errorf("escapeDecode(%q) err = %v", bad, err)
		}
	}
}

func TestRawUnicodeEscape(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:        "plain",
		`\u20ac`:       "\u20ac",
		`\U0001f600`:   "\U0001f600",
		`\\u20ac`:      `\\u20ac`, // even backslashes: not an escape
		`\\\u20ac`:     "\\\\\u20ac",
		"caf\xe9":      "café", // bytes are Latin-1
		`\n stays raw`: `\n stays raw`,
	} {
		if got, err := rawUnicodeEscapeDecode([]byte(in), false); err != nil || got != want {
			t.Errorf("rawUnicodeEscapeDecode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`\u12`, `\U00110000`, `\uzzzz`} {
		if _, err := rawUnicodeEscapeDecode([]byte(bad), false); !errors.Is(err, ErrBadOperand) {
			t.Errorf("rawUnicodeEscapeDecode(%q) err = %v", bad, err)
		}
	}
}
