package format

import (
	"bytes"
	"encoding/json"
	"io"
	"path"
	"path/filepath"
	"strings"
)

// maxTokenizerConfig caps the JSON read to find a top-level "chat_template"
// key; tokenizer_config.json files with large added_tokens_decoder maps
// are a few MB.
const maxTokenizerConfig = 16 << 20

// isTokenizerConfig reports whether the input is a JSON object with a
// top-level "chat_template" key (a Hugging Face tokenizer_config.json). The
// object is streamed token by token and reading stops at the key.
func isTokenizerConfig(r io.ReaderAt, size int64, head []byte) bool {
	t := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(t) == 0 || t[0] != '{' || size > maxTokenizerConfig || !bytes.Contains(head, []byte(`"`)) {
		return false
	}
	dec := json.NewDecoder(io.NewSectionReader(r, 0, size))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return false
		}
		if key == "chat_template" {
			return true
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return false
		}
	}
	return false
}

// DetectFile is Detect plus the rules that need the file name: a file
// named chat_template.jinja (Hugging Face's separate chat template file) or
// additional_chat_templates/NAME.jinja (its named templates) is a
// ChatTemplate, and keras_metadata.pb (tf.keras's per-object JSON
// configurations beside saved_model.pb) is KerasMetadata, when the content
// is not otherwise recognised. name is the path, optionally followed by
// "!" and the archive member path (nested members joined by "!"); only
// the last element's base name counts.
func DetectFile(name string, r io.ReaderAt, size int64) (Kind, error) {
	head, err := readHead(r, size)
	if err != nil {
		return Unknown, err
	}
	k, _ := detectFile(name, r, size, head)
	return k, nil
}

// detectFile is DetectFile over an already read head; sniffed is as for
// detectSniffed.
func detectFile(name string, r io.ReaderAt, size int64, head []byte) (k Kind, sniffed bool) {
	k, sniffed = detectSniffed(r, size, head)
	name = strings.TrimRight(name, "!")
	if i := strings.LastIndexByte(name, '!'); i >= 0 {
		name = name[i+1:]
	}
	if k == Unknown {
		p := filepath.ToSlash(name)
		switch base := path.Base(p); {
		case base == "chat_template.jinja":
			return ChatTemplate, sniffed
		case strings.HasSuffix(base, ".jinja") && path.Base(path.Dir(p)) == "additional_chat_templates":
			// transformers saves named templates as additional_chat_templates/NAME.jinja.
			return ChatTemplate, sniffed
		case base == "keras_metadata.pb":
			return KerasMetadata, sniffed
		}
		if isPDF(head) {
			return PDF, sniffed
		}
		k = sniffInert(r, size, head)
		if k == JSON {
			k = agentKind(r, size, head)
		}
		return k, sniffed
	}
	return k, sniffed
}

// isPDF recognises a PDF by its header, which PDF readers accept anywhere
// in the first 1024 bytes; away from the start an object must follow it,
// so text that merely quotes a PDF header stays text.
func isPDF(head []byte) bool {
	i := bytes.Index(head[:min(len(head), 1024)], []byte("%PDF-"))
	return i == 0 || (i > 0 && bytes.Contains(head[i:], []byte(" 0 obj")))
}
