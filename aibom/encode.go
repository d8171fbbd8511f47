package aibom

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// Output formats.
const (
	FormatCycloneDXJSON = "cyclonedx-json"
	FormatCycloneDXXML  = "cyclonedx-xml"
	FormatSPDX3JSON     = "spdx3-json"
)

// Formats lists the output formats of Encode and WriteSPDX3.
func Formats() []string {
	return []string{FormatCycloneDXJSON, FormatCycloneDXXML, FormatSPDX3JSON}
}

// Encode writes the BOM as CycloneDX JSON or XML of spec version spec, with
// the model card properties cyclonedx-go cannot hold put back in place.
func (b *BOM) Encode(w io.Writer, format, spec string) error {
	sv, err := ParseSpec(spec)
	if err != nil {
		return err
	}
	var ff cdx.BOMFileFormat
	switch format {
	case FormatCycloneDXJSON:
		ff = cdx.BOMFileFormatJSON
	case FormatCycloneDXXML:
		ff = cdx.BOMFileFormatXML
	default:
		return fmt.Errorf("aibom: unknown CycloneDX format %q", format)
	}
	// EncodeVersion rewrites the BOM for older versions; encode a copy.
	var raw bytes.Buffer
	enc := cdx.NewBOMEncoder(&raw, ff)
	enc.SetPretty(true)
	if err := enc.EncodeVersion(b.BOM, sv); err != nil {
		return fmt.Errorf("aibom: encoding CycloneDX: %w", err)
	}
	out := raw.Bytes()
	if len(b.ModelCardProperties) > 0 {
		if ff == cdx.BOMFileFormatJSON {
			out, err = injectJSON(out, b.ModelCardProperties)
		} else {
			out, err = injectXML(out, b.ModelCardProperties)
		}
		if err != nil {
			return err
		}
	}
	_, err = w.Write(out)
	return err
}

// DecodeJSON reads a CycloneDX JSON BOM, keeping model card properties.
func DecodeJSON(data []byte) (*BOM, error) {
	bom := new(cdx.BOM)
	if err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatJSON).Decode(bom); err != nil {
		return nil, fmt.Errorf("aibom: decoding CycloneDX JSON: %w", err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("aibom: decoding CycloneDX JSON: %w", err)
	}
	props := map[string][]cdx.Property{}
	collectJSON(doc, props)
	return &BOM{BOM: bom, ModelCardProperties: props}, nil
}

// DecodeXML reads a CycloneDX XML BOM, keeping model card properties.
func DecodeXML(data []byte) (*BOM, error) {
	bom := new(cdx.BOM)
	if err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatXML).Decode(bom); err != nil {
		return nil, fmt.Errorf("aibom: decoding CycloneDX XML: %w", err)
	}
	// XML has no bomFormat element (the namespace says it): fill it in so
	// that the BOM encodes as valid JSON.
	if bom.BOMFormat == "" {
		bom.BOMFormat = cdx.BOMFormat
	}
	props, err := collectXML(data)
	if err != nil {
		return nil, err
	}
	return &BOM{BOM: bom, ModelCardProperties: props}, nil
}

// collectJSON finds every "modelCard" object with a bom-ref and properties.
func collectJSON(v any, out map[string][]cdx.Property) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if mc, ok := val.(map[string]any); ok && k == "modelCard" {
				ref, _ := mc["bom-ref"].(string)
				if ps, ok := mc["properties"].([]any); ok && ref != "" {
					for _, p := range ps {
						pm, _ := p.(map[string]any)
						name, _ := pm["name"].(string)
						value, _ := pm["value"].(string)
						out[ref] = append(out[ref], cdx.Property{Name: name, Value: value})
					}
				}
			}
			collectJSON(val, out)
		}
	case []any:
		for _, it := range x {
			collectJSON(it, out)
		}
	}
}

// collectXML finds <modelCard bom-ref=…><properties><property name=…>.
func collectXML(data []byte) (map[string][]cdx.Property, error) {
	out := map[string][]cdx.Property{}
	d := xml.NewDecoder(bytes.NewReader(data))
	var stack []string
	ref := ""
	cardDepth := -1
	var cur *cdx.Property
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("aibom: decoding CycloneDX XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
			if t.Name.Local == "modelCard" {
				cardDepth = len(stack)
				ref = attr(t, "bom-ref")
			}
			if cardDepth > 0 && len(stack) == cardDepth+2 && t.Name.Local == "property" && stack[cardDepth] == "properties" {
				cur = &cdx.Property{Name: attr(t, "name")}
			}
		case xml.CharData:
			if cur != nil {
				cur.Value += string(t)
			}
		case xml.EndElement:
			if cur != nil && t.Name.Local == "property" {
				if ref != "" {
					out[ref] = append(out[ref], *cur)
				}
				cur = nil
			}
			if len(stack) == cardDepth {
				cardDepth, ref = -1, ""
			}
			stack = stack[:len(stack)-1]
		}
	}
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// injectXML inserts <properties> as the last child of each <modelCard>
// whose bom-ref has properties (the schema puts properties last).
func injectXML(doc []byte, props map[string][]cdx.Property) ([]byte, error) {
	s := string(doc)
	for _, ref := range sortedKeys(props) {
		var esc bytes.Buffer
		_ = xml.EscapeText(&esc, []byte(ref))
		open := `<modelCard bom-ref="` + strings.ReplaceAll(esc.String(), `"`, "&#34;") + `">`
		i := strings.Index(s, open)
		if i < 0 {
			continue // the card was not written (older spec version)
		}
		j := strings.Index(s[i:], "</modelCard>")
		if j < 0 {
			return nil, fmt.Errorf("aibom: unterminated modelCard %q in XML output", ref)
		}
		j += i
		// Insert before the closing tag's line, indented one level deeper.
		lineStart := strings.LastIndex(s[:j], "\n") + 1
		indent := s[lineStart:j]
		if strings.TrimSpace(indent) != "" {
			lineStart, indent = j, ""
		}
		var b strings.Builder
		b.WriteString(indent + "  <properties>\n")
		for _, p := range props[ref] {
			var n, v bytes.Buffer
			_ = xml.EscapeText(&n, []byte(p.Name))
			_ = xml.EscapeText(&v, []byte(p.Value))
			fmt.Fprintf(&b, "%s    <property name=\"%s\">%s</property>\n", indent, n.String(), v.String())
		}
		b.WriteString(indent + "  </properties>\n")
		s = s[:lineStart] + b.String() + s[lineStart:]
	}
	return []byte(s), nil
}

// injectJSON adds "properties" to each "modelCard" object whose bom-ref has
// properties, keeping cyclonedx-go's key order.
func injectJSON(doc []byte, props map[string][]cdx.Property) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	root, err := parseNode(d)
	if err != nil {
		return nil, fmt.Errorf("aibom: re-reading CycloneDX JSON: %w", err)
	}
	root.walk(func(n *node) {
		if n.kind != '{' {
			return
		}
		for i, k := range n.keys {
			mc := n.vals[i]
			if k != "modelCard" || mc.kind != '{' {
				continue
			}
			r := mc.get("bom-ref")
			if r == nil {
				continue
			}
			ref, _ := r.scalar.(string)
			ps, ok := props[ref]
			if !ok || mc.get("properties") != nil {
				continue
			}
			arr := &node{kind: '['}
			for _, p := range ps {
				arr.items = append(arr.items, &node{kind: '{', keys: []string{"name", "value"}, vals: []*node{{scalar: p.Name}, {scalar: p.Value}}})
			}
			mc.keys = append(mc.keys, "properties")
			mc.vals = append(mc.vals, arr)
		}
	})
	var b bytes.Buffer
	if err := root.write(&b, ""); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// node is a JSON value that keeps its object keys in order.
type node struct {
	kind   byte // '{', '[' or 0 for a scalar
	keys   []string
	vals   []*node
	items  []*node
	scalar any
}

func (n *node) get(key string) *node {
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

func (n *node) walk(fn func(*node)) {
	fn(n)
	for _, v := range n.vals {
		v.walk(fn)
	}
	for _, v := range n.items {
		v.walk(fn)
	}
}

func parseNode(d *json.Decoder) (*node, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &node{kind: '{'}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key %v", kt)
				}
				v, err := parseNode(d)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k)
				n.vals = append(n.vals, v)
			}
			_, err := d.Token()
			return n, err
		case '[':
			n := &node{kind: '['}
			for d.More() {
				v, err := parseNode(d)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, v)
			}
			_, err := d.Token()
			return n, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return &node{scalar: t}, nil
	}
}

func (n *node) write(b *bytes.Buffer, indent string) error {
	switch n.kind {
	case '{':
		if len(n.keys) == 0 {
			b.WriteString("{}")
			return nil
		}
		b.WriteString("{\n")
		for i, k := range n.keys {
			b.WriteString(indent + "  ")
			writeScalar(b, k)
			b.WriteString(": ")
			if err := n.vals[i].write(b, indent+"  "); err != nil {
				return err
			}
			if i < len(n.keys)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "}")
	case '[':
		if len(n.items) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteString("[\n")
		for i, it := range n.items {
			b.WriteString(indent + "  ")
			if err := it.write(b, indent+"  "); err != nil {
				return err
			}
			if i < len(n.items)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "]")
	default:
		writeScalar(b, n.scalar)
	}
	return nil
}

func writeScalar(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case json.Number:
		b.WriteString(x.String())
	case nil:
		b.WriteString("null")
	default:
		enc := json.NewEncoder(b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(x)
		b.Truncate(b.Len() - 1) // Encode's newline
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
