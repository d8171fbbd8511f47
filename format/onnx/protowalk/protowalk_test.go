package protowalk

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protowire"
)

func field(num protowire.Number, v []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v)
}

func varint(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
}

// testSchema: kind 0 descends into field 1 as kind 1 and skips field 2;
// kind 1 skips field 3; everything else is copied.
func testSchema(k int, num protowire.Number) (Action, int) {
	switch {
	case k == 0 && num == 1:
		return Descend, 1
	case k == 0 && num == 2, k == 1 && num == 3:
		return Skip, 0
	}
	return Copy, 0
}

func TestCompact(t *testing.T) {
	in := bytes.Join([][]byte{
		varint(5, 300),
		field(1, bytes.Join([][]byte{field(4, []byte("keep")), field(3, make([]byte, 1000)), varint(3, 7)}, nil)),
		field(2, make([]byte, 500)),
		protowire.AppendFixed32(protowire.AppendTag(nil, 6, protowire.Fixed32Type), 9),
	}, nil)
	want := bytes.Join([][]byte{
		varint(5, 300),
		field(1, field(4, []byte("keep"))),
		protowire.AppendFixed32(protowire.AppendTag(nil, 6, protowire.Fixed32Type), 9),
	}, nil)
	res, err := Compact(bytes.NewReader(in), int64(len(in)), 0, testSchema, Options{MaxBytes: 1 << 20, MaxDepth: 4})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, res.Bytes); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	wantSkipped := int64(len(field(3, make([]byte, 1000))) + len(varint(3, 7)) + len(field(2, make([]byte, 500))))
	if res.Skipped != wantSkipped {
		t.Errorf("Skipped = %d, want %d", res.Skipped, wantSkipped)
	}
}

func TestCompactErrors(t *testing.T) {
	nested := field(1, field(1, field(1, nil)))
	deepSchema := func(int, protowire.Number) (Action, int) { return Descend, 0 }
	tests := []struct {
		name   string
		in     []byte
		schema Schema
		opt    Options
		want   error
	}{
		{"truncated varint", []byte{0x28, 0x80}, testSchema, Options{MaxBytes: 100, MaxDepth: 4}, ErrMalformed},
		{"length past end", []byte{0x12, 0x05, 0x00}, testSchema, Options{MaxBytes: 100, MaxDepth: 4}, ErrMalformed},
		{"fixed past end", []byte{0x35, 0x01}, testSchema, Options{MaxBytes: 100, MaxDepth: 4}, ErrMalformed},
		{"group", []byte{0x0b}, testSchema, Options{MaxBytes: 100, MaxDepth: 4}, ErrMalformed},
		{"field 0", []byte{0x02, 0x00}, testSchema, Options{MaxBytes: 100, MaxDepth: 4}, ErrMalformed},
		{"cap", field(4, make([]byte, 200)), testSchema, Options{MaxBytes: 100, MaxDepth: 4}, ErrTooLarge},
		{"depth", nested, deepSchema, Options{MaxBytes: 100, MaxDepth: 2}, ErrTooDeep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Compact(bytes.NewReader(tc.in), int64(len(tc.in)), 0, tc.schema, tc.opt); !errors.Is(err, tc.want) {
				t.Errorf("error = %v, want %v", err, tc.want)
			}
		})
	}
}
