package format

import (
	"bytes"
	"encoding/binary"
	"testing"
	"unicode/utf8"
)

func TestSniffInert(t *testing.T) {
	table := func(footer []byte) []byte {
		b := append(bytes.Repeat([]byte{0}, 16), footer...)
		return b
	}
	// A LevelDB footer: metaindex handle (0, 4), index handle (4, 8),
	// padding to 40 bytes, magic.
	foot := make([]byte, 48)
	copy(foot, []byte{0, 4, 4, 8})
	binary.LittleEndian.PutUint64(foot[40:], tfTableMagic)
	badFoot := append([]byte(nil), foot...)
	badFoot[0], badFoot[1] = 0xff, 0xff // handle past the end

	piece := []byte{0x0a, 0x0a, 0x0a, 0x03, 'a', 'b', 'c', 0x15, 0, 0, 0x80, 0xbf}
	for _, tc := range []struct {
		name string
		in   []byte
		want Kind
	}{
		{"empty", nil, Empty},
		{"text", []byte("hello world\n"), Text},
		{"text with NUL", []byte("hello\x00world"), Unknown},
		{"invalid UTF-8", []byte("caf\xe9\n"), Unknown},
		{"bert vocab", []byte("[PAD]\n[UNK]\n"), Text},
		{"json object", []byte(`{"a": [1, 2, {"b": null}]}`), JSON},
		{"json array", []byte("\xef\xbb\xbf[1, 2]\n"), JSON},
		{"broken json", []byte(`{"a": `), Unknown},
		{"json then junk", []byte(`{"a": 1} x`), Unknown},
		{"json lines", []byte("{\"text\": \"good\", \"label\": 1}\n{\"text\": \"bad\", \"label\": 0}\n"), JSON},
		{"json lines with a scalar", []byte("{\"a\": 1}\n2\n"), Unknown},
		{"jinja text", []byte("{{ bos_token }}{% for m in messages %}"), Text},
		{"keras config", []byte(`{"class_name": "Sequential"}`), Unknown},
		{"jsonpickle", []byte(`{"py/object": "os.system"}`), Unknown},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDRxxxxxxxx"), Image},
		{"png magic only", []byte("\x89PNG\r\n\x1a\nxxxxxxxxxxxxxxxx"), Unknown},
		{"jpeg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF"), Image},
		{"gif", []byte("GIF89a\x01\x00\x01\x00"), Image},
		{"webp", []byte("RIFF\x08\x00\x00\x00WEBPVP8 "), Image},
		{"webp wrong size", []byte("RIFF\x09\x00\x00\x00WEBPVP8 "), Unknown},
		{"sentencepiece", piece, SentencePiece},
		{"sentencepiece with unknown field", append(append([]byte(nil), piece...), 0x30, 0x01), Unknown},
		{"sentencepiece piece type out of range", []byte{0x0a, 0x04, 0x0a, 0x00, 0x18, 0x09}, Unknown},
		{"tf index", table(foot), TFCheckpointIndex},
		{"tf index bad handle", table(badFoot), Unknown},
		{"msgpack map", []byte("\x81\xa1a\x92\x01\xc7\x02\x01xy"), Msgpack},
		{"msgpack trailing", []byte("\x81\xa1a\x01\x00"), Unknown},
		{"msgpack truncated", []byte("\x82\xa1a\x01"), Unknown},
		{"msgpack too deep", append(bytes.Repeat([]byte("\x81\xa1a"), 100), 0x01), Unknown},
		{"protocol 0 pickle program", []byte("cos\nsystem\n(S'id'\ntR."), Pickle},
		{"protocol 0 call then garbage", []byte("cos\nsystem\n(S'id'\ntR then some words\n"), Pickle},
		{"INST then garbage", []byte("(S'id'\nios\nsystem\n words"), Pickle},
		{"text opening like GLOBAL, no call", []byte("config\nvalue\nfoo bar\n"), Text},
		{"CSV with an id header (INST of a module that cannot be imported)", []byte("id,name\n1,a\n2,b\n"), Text},
		{"CSV id header, three columns", []byte("id,name,label\n1,alpha,0\n"), Text},
		{"INST of an importable name then garbage", []byte("(S'x'\nibuiltins\nexec\n words"), Pickle},
		{"GLOBAL of a non-identifier then call", []byte("cnot a module\nsystem\n(tR junk"), Text},
		{"onnx empty optional", []byte("\x0a\x03abc\x10\x00"), ONNXTensor},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head := tc.in
			if len(head) > HeadSize {
				head = head[:HeadSize]
			}
			if got := sniffInert(bytes.NewReader(tc.in), int64(len(tc.in)), head); got != tc.want {
				t.Errorf("sniffInert = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestDetectFileNameRulesBeforeInert: a chat template is text, but its name
// makes it a ChatTemplate for the template detector, not inert text.
func TestDetectFileNameRulesBeforeInert(t *testing.T) {
	b := []byte("{% for m in messages %}{{ m.content }}{% endfor %}")
	k, err := DetectFile("repo/chat_template.jinja", bytes.NewReader(b), int64(len(b)))
	if err != nil || k != ChatTemplate {
		t.Errorf("DetectFile = %s, %v; want %s", k, err, ChatTemplate)
	}
	k, _ = DetectFile("repo/notes.jinja", bytes.NewReader(b), int64(len(b)))
	if k != Text {
		t.Errorf("other .jinja = %s, want text", k)
	}
}

// FuzzIsText checks the chunked text sniffer against a direct reading of
// the definition (valid UTF-8, no control characters but white space and
// ESC), across its 64 KiB read boundaries.
func FuzzIsText(f *testing.F) {
	f.Add([]byte("plain text\n"), 0)
	f.Add([]byte("caf\xc3\xa9 \xe2\x80\x8b"), 65534)
	f.Add([]byte("\xff"), 3)
	f.Fuzz(func(t *testing.T, b []byte, pad int) {
		if pad < 0 || pad > 70000 {
			return
		}
		in := append(bytes.Repeat([]byte("a"), pad), b...)
		want := utf8.Valid(in)
		for _, c := range string(in) {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\v' && c != '\f' && c != '\r' && c != 0x1b || c == 0x7f {
				want = false
			}
		}
		if got := isText(bytes.NewReader(in), int64(len(in))); got != want {
			t.Errorf("isText(%q after %d bytes) = %v, want %v", b, pad, got, want)
		}
	})
}
