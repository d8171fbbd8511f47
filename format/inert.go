package format

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/mlsecops/mlsec/format/onnx/onnxpb"
	"github.com/mlsecops/mlsec/format/pickle"
)

// Bounds of the inert sniffers. Each walks the whole input once, reading
// it sequentially and allocating nothing proportional to it.
const (
	// maxInertBytes caps the size of a file the text, JSON, msgpack and
	// SentencePiece sniffers walk (larger ones stay Unknown).
	maxInertBytes = 1 << 30
	// maxMsgpackDepth caps MessagePack nesting.
	maxMsgpackDepth = 64
)

// inertReasons says in words what each inert kind was recognised as.
var inertReasons = map[Kind]string{
	Empty:             "empty file",
	Text:              "UTF-8 text that is not a pickle program",
	JSON:              "JSON document (or JSON Lines)",
	Image:             "image",
	SentencePiece:     "SentencePiece model (protobuf)",
	TFCheckpointIndex: "TensorFlow checkpoint index (tensor bundle table)",
	TFCheckpointData:  "TensorFlow checkpoint data shard (raw tensor bytes read through its index)",
	Msgpack:           "MessagePack document",
	ONNXTensor:        "ONNX tensor or value proto (test or input data, no external data)",
}

// InertReason describes what an inert kind was recognised as, "" for
// other kinds.
func InertReason(k Kind) string { return inertReasons[k] }

// sniffInert recognises content no supported loader executes. It runs only
// after every model, archive and name rule has declined the input, so a
// pickle, zip, HDF5 ... with an innocent name or an innocent head is never
// classed inert. Unknown means "not shown inert".
func sniffInert(r io.ReaderAt, size int64, head []byte) Kind {
	switch {
	case size == 0:
		return Empty
	case isImage(head, size):
		return Image
	case isTFIndex(r, size):
		return TFCheckpointIndex
	case size > maxInertBytes:
		return Unknown
	}
	if isText(r, size) {
		if isInertJSON(r, size, head) {
			return JSON
		}
		if looksLikeJSON(head) {
			// JSON-like text that is not one inert JSON document (a
			// Keras configuration, jsonpickle, several documents,
			// broken JSON): a loader may read it as objects.
			return Unknown
		}
		if isPickleProgram(r, size) {
			return Pickle
		}
		return Text
	}
	if isSentencePiece(r, size) {
		return SentencePiece
	}
	if isONNXTensor(r, size) {
		return ONNXTensor
	}
	if isMsgpack(r, size, head) {
		return Msgpack
	}
	return Unknown
}

// isImage recognises PNG, JPEG, GIF, WebP and BMP by their signatures and
// header fields.
func isImage(head []byte, size int64) bool {
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")):
		return true
	case len(head) >= 4 && head[0] == 0xff && head[1] == 0xd8 && head[2] == 0xff && head[3] >= 0xc0:
		return true
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return true
	case len(head) >= 16 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP" &&
		int64(binary.LittleEndian.Uint32(head[4:8]))+8 == size:
		return true
	case len(head) >= 18 && string(head[:2]) == "BM" && int64(binary.LittleEndian.Uint32(head[2:6])) == size &&
		binary.LittleEndian.Uint32(head[14:18]) >= 12:
		return true
	}
	return false
}

// tfTableMagic ends every LevelDB-format table, which is what a TensorFlow
// tensor bundle index (*.index) is.
const tfTableMagic = 0xdb4775248b80fb57

// isTFIndex recognises a LevelDB table by its 48-byte footer: two block
// handles (varint offset and size, inside the file) and the magic number.
func isTFIndex(r io.ReaderAt, size int64) bool {
	if size < 48 {
		return false
	}
	var foot [48]byte
	if _, err := r.ReadAt(foot[:], size-48); err != nil && !errors.Is(err, io.EOF) {
		return false
	}
	if binary.LittleEndian.Uint64(foot[40:]) != tfTableMagic {
		return false
	}
	b := foot[:40]
	for i := 0; i < 2; i++ { // metaindex and index block handles
		off, n := binary.Uvarint(b)
		if n <= 0 {
			return false
		}
		b = b[n:]
		l, n := binary.Uvarint(b)
		if n <= 0 || off > uint64(size) || l > uint64(size)-off {
			return false
		}
		b = b[n:]
	}
	return true
}

// isText reports whether the input is UTF-8 text: valid UTF-8 with no
// control characters other than tab, line feed, vertical tab, form feed,
// carriage return and escape.
func isText(r io.ReaderAt, size int64) bool {
	buf := make([]byte, min(max(size, 16), 64<<10)+utf8.UTFMax)
	carry := 0 // bytes of an incomplete rune moved to the start of buf
	for off := int64(0); off < size; {
		n, err := r.ReadAt(buf[carry:carry+int(min(size-off, int64(len(buf)-utf8.UTFMax)))], off)
		if n == 0 && err != nil {
			return false
		}
		off += int64(n)
		b := buf[:carry+n]
		i := 0
		for i < len(b) {
			switch textClass[b[i]] {
			case textOK:
				i++
				// Skip runs of printable ASCII eight bytes at a time: no
				// byte below 0x20 (a control, maybe allowed) and none from
				// 0x7f up; any other word goes byte by byte.
				for i+8 <= len(b) {
					x := binary.LittleEndian.Uint64(b[i:])
					if (x-0x2020202020202020)&^x&0x8080808080808080 != 0 || (x+0x0101010101010101|x)&0x8080808080808080 != 0 {
						break
					}
					i += 8
				}
				continue
			case textBad:
				return false
			}
			if off < size && !utf8.FullRune(b[i:]) {
				break // completed by the next read
			}
			c, w := utf8.DecodeRune(b[i:])
			if c == utf8.RuneError && w == 1 {
				return false
			}
			i += w
		}
		carry = copy(buf, b[i:])
	}
	return carry == 0
}

// Classes of bytes for isText: printable ASCII and the white-space and
// escape controls text has, other controls (and DEL), and the bytes of
// multi-byte UTF-8 sequences.
const (
	textOK = iota
	textBad
	textMulti
)

var textClass = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c >= 0x80:
			t[c] = textMulti
		case c < 0x20 && c != '\t' && c != '\n' && c != '\v' && c != '\f' && c != '\r' && c != 0x1b, c == 0x7f:
			t[c] = textBad
		}
	}
	return t
}()

// isInertJSON reports whether the input is one JSON object or array, or a
// stream of them (JSON Lines, as datasets ship: train.jsonl), after an
// optional byte order mark. Documents a loader turns into objects are not
// inert: Keras model configurations ("class_name", which model_from_json
// instantiates, Lambda layers included) and jsonpickle ("py/object",
// "py/reduce").
func isInertJSON(r io.ReaderAt, size int64, head []byte) bool {
	t := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(t) == 0 || (t[0] != '{' && t[0] != '[') {
		return false
	}
	off := int64(len(head) - len(t))
	dec := json.NewDecoder(io.NewSectionReader(r, off, size-off))
	depth := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) && depth == 0 {
			return true
		}
		if err != nil {
			return false
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				depth++
			} else {
				depth--
			}
		case string:
			switch v {
			case "class_name", "py/object", "py/reduce", "py/function", "py/type", "py/repr":
				return false
			}
		default:
			if depth == 0 {
				return false // a top-level scalar: not a document stream
			}
		}
	}
}

// looksLikeJSON reports whether text opens like a JSON object or array
// ("[PAD]", the first line of a BERT vocab.txt, and "{{" of a Jinja
// template do not).
func looksLikeJSON(head []byte) bool {
	t := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(t) == 0 || (t[0] != '{' && t[0] != '[') {
		return false
	}
	u := bytes.TrimLeft(t[1:], " \t\r\n")
	if t[0] == '{' {
		// "{{" and "{%" open Jinja templates, not objects.
		return len(u) == 0 || u[0] == '"' || u[0] == '}'
	}
	return len(u) == 0 || bytes.IndexByte([]byte("{[\"-0123456789tfn]"), u[0]) >= 0
}

// errPickleProgram stops the disassembly at a STOP reached cleanly.
var errPickleProgram = errors.New("format: pickle program")

// isPickleProgram reports whether text, disassembled opcode by opcode from
// its first byte as pickle.load reads it, imports something and then calls
// something before it stops or breaks: a protocol 0 pickle is printable
// text, and pickle.load runs the call even when garbage follows it,
// whatever the sniffer thought of the head.
func isPickleProgram(r io.ReaderAt, size int64) bool {
	imported := false
	err := pickle.Ops(context.Background(), r, size, func(op pickle.Op) error {
		switch op.Name {
		case "INST":
			if !importable(op.Str, op.Str2) {
				return io.EOF // find_class fails: nothing is called
			}
			return errPickleProgram
		case "GLOBAL":
			if !importable(op.Str, op.Str2) {
				return io.EOF
			}
			imported = true
		case "STACK_GLOBAL", "EXT1", "EXT2", "EXT4":
			imported = true
		case "REDUCE", "OBJ", "NEWOBJ", "NEWOBJ_EX", "BUILD":
			if imported {
				return errPickleProgram
			}
		case "STOP":
			return io.EOF
		}
		return nil
	})
	return errors.Is(err, errPickleProgram)
}

// importable reports whether module and name could name something
// find_class imports: dotted names whose parts are identifiers. Non-ASCII
// letters count (Python identifiers may use them); a part that is empty,
// starts with a digit or holds punctuation or spaces cannot be imported, so
// a text line such as a CSV header "id,name" read as INST is no program.
func importable(module, name string) bool {
	return dottedIdent(module) && dottedIdent(name)
}

func dottedIdent(s string) bool {
	if s == "" {
		return false
	}
	for part := range strings.SplitSeq(s, ".") {
		if part == "" || part[0] >= '0' && part[0] <= '9' {
			return false
		}
		for _, r := range part {
			if r != '_' && r < 0x80 && !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

// isSentencePiece recognises a SentencePiece ModelProto: top-level fields
// 1 (pieces), 2 (trainer_spec), 3 (normalizer_spec), 4 (self_test_data) and
// 5 (denormalizer_spec), all length-delimited, at least one piece, and
// every piece a message whose field 1 is a UTF-8 string, field 2 a float
// score and field 3 a type enum. The whole input must be consumed.
func isSentencePiece(r io.ReaderAt, size int64) bool {
	br := newBufReader(r, size)
	pieces := 0
	var buf []byte
	for {
		num, typ, err := readTag(br)
		if errors.Is(err, io.EOF) {
			return pieces > 0
		}
		if err != nil || typ != protowire.BytesType || num < 1 || num > 5 {
			return false
		}
		n, err := binary.ReadUvarint(br)
		if err != nil || n > uint64(size) {
			return false
		}
		if num != 1 {
			if _, err := br.Discard(int(n)); err != nil {
				return false
			}
			continue
		}
		if n > 1<<16 {
			return false
		}
		buf = append(buf[:0], make([]byte, n)...)
		if _, err := io.ReadFull(br, buf); err != nil || !isPiece(buf) {
			return false
		}
		pieces++
	}
}

// readTag reads one protobuf field tag.
func readTag(br *bufio.Reader) (protowire.Number, protowire.Type, error) {
	v, err := binary.ReadUvarint(br)
	if err != nil {
		return 0, 0, err
	}
	num, typ := protowire.DecodeTag(v)
	if num < protowire.MinValidNumber {
		return 0, 0, errors.New("bad tag")
	}
	return num, typ, nil
}

// flatField is what flatFields accepts for one field number of a message
// with no nested fields: its wire type and, for varints, the largest value.
type flatField struct {
	typ protowire.Type
	max uint64
}

// flatFields checks that b is a message of only the given fields, each of
// its wire type (bytes must be UTF-8, varints at most max), and returns a
// bit per field number seen (numbers up to 63).
func flatFields(b []byte, fields map[protowire.Number]flatField) (seen uint64, ok bool) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, false
		}
		b = b[n:]
		f, known := fields[num]
		if !known || f.typ != typ || num > 63 {
			return 0, false
		}
		switch typ {
		case protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 || !utf8.Valid(v) {
				return 0, false
			}
			n = m
		case protowire.Fixed32Type:
			n = protowire.ConsumeFieldValue(num, typ, b)
		case protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 || v > f.max {
				return 0, false
			}
			n = m
		default:
			return 0, false
		}
		if n < 0 {
			return 0, false
		}
		b, seen = b[n:], seen|1<<num
	}
	return seen, true
}

// isPiece checks one SentencePiece message: a UTF-8 piece (field 1), a
// float score (2) and a type enum 0..6 (3); the piece is required.
func isPiece(b []byte) bool {
	seen, ok := flatFields(b, map[protowire.Number]flatField{
		1: {typ: protowire.BytesType}, 2: {typ: protowire.Fixed32Type}, 3: {typ: protowire.VarintType, max: 6}})
	return ok && seen&(1<<1) != 0
}

// isMsgpack reports whether the input is exactly one MessagePack map (what
// flax.serialization.to_bytes writes), nested at most maxMsgpackDepth
// deep. Extension types carry bytes only (Flax uses them for arrays).
func isMsgpack(r io.ReaderAt, size int64, head []byte) bool {
	if len(head) == 0 || !(head[0]&0xf0 == 0x80 || head[0] == 0xde || head[0] == 0xdf) {
		return false
	}
	br := newBufReader(r, size)
	if err := skipMsgpack(br, 0); err != nil {
		return false
	}
	_, err := br.ReadByte()
	return errors.Is(err, io.EOF)
}

var errMsgpack = errors.New("format: not msgpack")

// skipMsgpack reads one MessagePack object.
func skipMsgpack(br *bufio.Reader, depth int) error {
	if depth > maxMsgpackDepth {
		return errMsgpack
	}
	c, err := br.ReadByte()
	if err != nil {
		return errMsgpack
	}
	u := func(n int) (uint64, error) {
		var b [8]byte
		if _, err := io.ReadFull(br, b[:n]); err != nil {
			return 0, errMsgpack
		}
		var v uint64
		for _, x := range b[:n] {
			v = v<<8 | uint64(x)
		}
		return v, nil
	}
	skip := func(n uint64) error {
		if n > maxInertBytes {
			return errMsgpack
		}
		if _, err := br.Discard(int(n)); err != nil {
			return errMsgpack
		}
		return nil
	}
	items := func(n uint64, per int) error {
		for i := uint64(0); i < n*uint64(per); i++ {
			if err := skipMsgpack(br, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	switch {
	case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		return nil
	case c&0xf0 == 0x80:
		return items(uint64(c&0x0f), 2)
	case c&0xf0 == 0x90:
		return items(uint64(c&0x0f), 1)
	case c&0xe0 == 0xa0:
		return skip(uint64(c & 0x1f))
	}
	switch c {
	case 0xcc, 0xd0:
		return skip(1)
	case 0xcd, 0xd1:
		return skip(2)
	case 0xca, 0xce, 0xd2:
		return skip(4)
	case 0xcb, 0xcf, 0xd3:
		return skip(8)
	case 0xc4, 0xd9: // bin8, str8
		n, err := u(1)
		if err != nil {
			return err
		}
		return skip(n)
	case 0xc5, 0xda:
		n, err := u(2)
		if err != nil {
			return err
		}
		return skip(n)
	case 0xc6, 0xdb:
		n, err := u(4)
		if err != nil {
			return err
		}
		return skip(n)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16
		return skip(1 + (1 << (c - 0xd4)))
	case 0xc7, 0xc8, 0xc9: // ext 8, 16, 32
		n, err := u(1 << (c - 0xc7))
		if err != nil {
			return err
		}
		return skip(n + 1)
	case 0xdc:
		n, err := u(2)
		if err != nil {
			return err
		}
		return items(n, 1)
	case 0xdd:
		n, err := u(4)
		if err != nil {
			return err
		}
		return items(n, 1)
	case 0xde:
		n, err := u(2)
		if err != nil {
			return err
		}
		return items(n, 2)
	case 0xdf:
		n, err := u(4)
		if err != nil {
			return err
		}
		return items(n, 2)
	}
	return errMsgpack
}

// newBufReader reads the size bytes behind r sequentially, with a buffer no
// larger than the input (most inert files are small).
func newBufReader(r io.ReaderAt, size int64) *bufio.Reader {
	return bufio.NewReaderSize(io.NewSectionReader(r, 0, size), int(min(max(size, 16), 64<<10)))
}

// maxONNXTensor caps the TensorProto files isONNXTensor decodes (they are
// decoded whole).
const maxONNXTensor = 64 << 20

// isEmptyONNXValue recognises an empty onnx.OptionalProto or SequenceProto:
// only a name (field 1, UTF-8) and an element type (field 2, 0..5), which is
// required.
func isEmptyONNXValue(b []byte) bool {
	seen, ok := flatFields(b, map[protowire.Number]flatField{
		1: {typ: protowire.BytesType}, 2: {typ: protowire.VarintType, max: 5}})
	return ok && seen&(1<<2) != 0
}

// isONNXTensor recognises a serialised onnx.TensorProto (what
// onnx.numpy_helper writes for test inputs and outputs): it decodes with no
// unknown field, has a valid data type and keeps its data inline. A tensor
// with external data names a file to read, so it is not inert.
func isONNXTensor(r io.ReaderAt, size int64) bool {
	if size < 2 || size > maxONNXTensor {
		return false
	}
	// Check the first field before reading the whole input: a TensorProto
	// field (1..14) or an Optional/Sequence name or type.
	var first [binary.MaxVarintLen64]byte
	n, _ := r.ReadAt(first[:min(size, int64(len(first)))], 0)
	num, typ, tn := protowire.ConsumeTag(first[:n])
	if tn < 0 || num < 1 || num > 14 || typ == protowire.StartGroupType || typ == protowire.EndGroupType {
		return false
	}
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return false
	}
	if isEmptyONNXValue(b) {
		return true
	}
	var t onnxpb.TensorProto
	if err := (proto.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(b, &t); err != nil {
		return false
	}
	if len(t.ProtoReflect().GetUnknown()) > 0 || t.DataType == nil || len(t.ExternalData) > 0 ||
		t.GetDataLocation() != onnxpb.TensorProto_DEFAULT {
		return false
	}
	dt := t.GetDataType()
	return dt > 0 && dt <= 23
}
