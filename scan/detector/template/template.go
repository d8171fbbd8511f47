// Package template is the chat template detector: it analyses the
// chat_template of Hugging Face tokenizer_config.json files (a string, a
// list of {name, template} or an object of named templates) and chat_template.jinja files for server-side
// template injection. The GGUF detector applies the same analysis to
// tokenizer.chat_template through Report.
package template

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/chattemplate"
	"github.com/mlsecops/mlsec/scan"
)

// Name is the detector's stable identifier.
const Name = "template"

// Rule ids.
const (
	RuleDunder      = "TEMPLATE-001"
	RulePrivate     = "TEMPLATE-002"
	RuleInternals   = "TEMPLATE-003"
	RuleStringBuilt = "TEMPLATE-004"
	RuleAttrFilter  = "TEMPLATE-005"
	RuleGadget      = "TEMPLATE-006"
	RuleLoad        = "TEMPLATE-007"
	RuleSyntax      = "TEMPLATE-008"
	RuleMalformed   = "TEMPLATE-009"
)

// MaxFileSize caps the tokenizer_config.json or chat_template.jinja read
// into memory.
const MaxFileSize = 16 << 20

//go:embed rules.yaml
var rulesYAML []byte

var ruleFor = map[chattemplate.Kind]string{
	chattemplate.Dunder:      RuleDunder,
	chattemplate.Private:     RulePrivate,
	chattemplate.Internals:   RuleInternals,
	chattemplate.StringBuilt: RuleStringBuilt,
	chattemplate.AttrFilter:  RuleAttrFilter,
	chattemplate.Gadget:      RuleGadget,
	chattemplate.Load:        RuleLoad,
	chattemplate.Syntax:      RuleSyntax,
}

// Rules returns the template rules, for detectors that call Report.
func Rules() ([]scan.Rule, error) { return scan.ParseRules(rulesYAML) }

// Report analyses one template and reports each issue with rule set rs
// (which must hold Rules()). where names the template
// ("tokenizer.chat_template", "chat_template[tool_use]"). When exact is
// true the template's bytes appear verbatim in the input from offset on,
// and each finding points at its construct; otherwise (JSON-escaped
// templates) every finding carries offset.
func Report(rs scan.RuleSet, sink scan.Sink, src, where string, offset int64, exact bool) {
	for _, is := range chattemplate.Analyse(src) {
		msg := fmt.Sprintf("%s: %s (template offset %d)", where, is.Detail, is.Offset)
		off := offset
		if exact {
			off += int64(is.Offset)
		}
		sink.Report(rs.Finding(ruleFor[is.Kind], msg, is.Subject, off))
	}
}

// Detector examines tokenizer_config.json and chat_template.jinja files.
type Detector struct {
	scan.Base
}

var _ scan.Detector = (*Detector)(nil)

// New returns the detector; cfg is not used.
func New(cfg scan.Config) (scan.Detector, error) {
	b := scan.NewBase(Name, []format.Kind{format.HFTokenizerConfig, format.ChatTemplate}, rulesYAML)
	return &Detector{Base: b}, nil
}

// Scan implements scan.Detector.
func (d *Detector) Scan(ctx context.Context, in *scan.Input, sink scan.Sink) error {
	if in.Size > MaxFileSize {
		sink.Report(d.Finding(RuleMalformed, fmt.Sprintf("file of %d bytes exceeds the %d-byte cap; not analysed", in.Size, MaxFileSize), "", -1))
		return nil
	}
	data := make([]byte, in.Size)
	if _, err := in.R.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("template: read: %w", err)
	}
	if in.Kind == format.ChatTemplate {
		Report(d.RuleSet(), sink, string(data), "chat_template.jinja", 0, true)
		return nil
	}
	d.config(data, sink)
	return nil
}

// config analyses the chat_template of a tokenizer_config.json. Keys are
// matched exactly, as Python's json module does (encoding/json's struct
// decoding would also take "CHAT_TEMPLATE" and let a later look-alike key
// hide the real one), and every occurrence of a duplicated key is analysed
// (Python keeps the last, other parsers the first).
func (d *Detector) config(data []byte, sink scan.Sink) {
	vals, offs, err := topLevel(data, "chat_template")
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		sink.Report(d.Finding(RuleMalformed, "tokenizer_config.json is not valid JSON: "+err.Error(), "chat_template", -1))
		return
	}
	for i, v := range vals {
		d.value(v, offs[i], sink)
	}
}

// topLevel returns the raw values of every top-level key of the JSON
// object in data that equals key exactly, with the offset of each key.
func topLevel(data []byte, key string) ([]json.RawMessage, []int64, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, err
	}
	if tok != json.Delim('{') {
		return nil, nil, fmt.Errorf("top level is not an object")
	}
	var vals []json.RawMessage
	var offs []int64
	for dec.More() {
		start := dec.InputOffset()
		k, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, err
		}
		if k == key {
			// start is where the previous value or the brace ended; the
			// key's quote follows after a comma and white space.
			off := start
			if i := bytes.IndexByte(data[start:], '"'); i >= 0 {
				off += int64(i)
			}
			vals = append(vals, raw)
			offs = append(offs, off)
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	return vals, offs, nil
}

// value analyses one chat_template value: a string, an object of named
// templates or a list of {name, template} objects.
func (d *Detector) value(v json.RawMessage, off int64, sink scan.Sink) {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		Report(d.RuleSet(), sink, s, "chat_template", off, false)
		return
	}
	// Some writers store named templates as an object {name: template}.
	var named map[string]string
	if err := json.Unmarshal(v, &named); err == nil && named != nil {
		names := make([]string, 0, len(named))
		for n := range named {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			Report(d.RuleSet(), sink, named[n], fmt.Sprintf("chat_template[%s]", n), off, false)
		}
		return
	}
	// Entries are decoded as maps so that "name" and "template" match
	// exactly (not "NAME" or "Template" as struct fields would).
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(v, &list); err != nil {
		sink.Report(d.Finding(RuleMalformed, "chat_template is neither a string nor a list of {name, template} objects", "chat_template", off))
		return
	}
	for i, e := range list {
		var name, tmpl string
		if json.Unmarshal(e["name"], &name) != nil || json.Unmarshal(e["template"], &tmpl) != nil {
			sink.Report(d.Finding(RuleMalformed, fmt.Sprintf("chat_template[%d] lacks a string name or template", i), "chat_template", off))
			continue
		}
		Report(d.RuleSet(), sink, tmpl, fmt.Sprintf("chat_template[%s]", name), off, false)
	}
}
