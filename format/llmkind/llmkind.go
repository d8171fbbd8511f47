// Package llmkind classifies the text and JSON documents of LLM
// applications by content: prompt templates and system prompts, guardrail
// configurations, MCP server manifests and tool lists, A2A agent cards,
// LoRA/PEFT adapter configurations and vector-index manifests.
//
// The format sniffer (package format) sees all of these as text or JSON;
// Classify refines that for the detectors, mlsec inspect and mlsec bom. The
// rules are deliberately narrow — each kind needs keys or markers that a
// generic JSON or YAML document does not carry (see docs/llmsecops.md,
// "Recognition") — so that a generic config.yml or data.json is never
// claimed. Classify never executes anything and bounds what it decodes.
package llmkind

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"regexp"

	"go.yaml.in/yaml/v3"

	"github.com/mlsecops/mlsec/format/agent"
)

// Kind is an LLM-application artifact kind. The string values are stable:
// they appear in inspect reports and as the mlsec:kind BOM property.
type Kind string

// The kinds Classify recognises.
const (
	None            Kind = ""
	PromptTemplate  Kind = "prompt-template"       // system prompts and prompt templates
	GuardrailConfig Kind = "guardrail-config"      // NeMo Guardrails, Colang, Llama Guard policy, Guardrails AI RAIL
	MCPManifest     Kind = "mcp-manifest"          // MCP client configuration, server.json or tools/list (format/agent)
	A2AAgentCard    Kind = "a2a-agent-card"        // A2A agent card (format/agent)
	LoRAAdapter     Kind = "lora-adapter"          // PEFT adapter_config.json
	VectorIndex     Kind = "vector-index-manifest" // vector store / index manifest of a RAG corpus
)

// Dialect names the concrete format within a kind ("nemo-guardrails",
// "openai-messages", "prompty", ...).
type Dialect string

// Dialects.
const (
	DialectMessages     Dialect = "openai-messages"
	DialectPrompty      Dialect = "prompty"
	DialectLangChain    Dialect = "langchain"
	DialectPromptfoo    Dialect = "promptfoo"
	DialectTextTemplate Dialect = "text-template"
	DialectNeMo         Dialect = "nemo-guardrails"
	DialectColang       Dialect = "colang"
	DialectLlamaGuard   Dialect = "llama-guard"
	DialectRAIL         Dialect = "guardrails-ai-rail"
	DialectMCPConfig    Dialect = "mcp-servers"
	DialectMCPTools     Dialect = "mcp-tools"
	DialectMCPServer    Dialect = "mcp-server-json"
	DialectA2A          Dialect = "a2a"
	DialectPEFT         Dialect = "peft"
	DialectLlamaIndex   Dialect = "llamaindex"
	DialectIndexJSON    Dialect = "index-manifest"
)

// MaxBytes caps the document Classify looks at; larger documents are None.
const MaxBytes = 4 << 20

// maxYAMLNodes caps the YAML nodes decoded (aliases expanded count too).
const maxYAMLNodes = 200_000

// Result is what Classify found.
type Result struct {
	Kind    Kind
	Dialect Dialect
	// Doc is the decoded document (map[string]any, []any, ...) for JSON and
	// YAML dialects; nil for text dialects.
	Doc any
	// Body is the template text after a front matter (prompty), else nil.
	Body []byte
}

// Classify recognises the kind of one document. data must be the whole
// document (at most MaxBytes). It returns a zero Result for everything else.
func Classify(data []byte) Result {
	if len(data) == 0 || len(data) > MaxBytes {
		return Result{}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	t := bytes.TrimLeft(data, " \t\r\n")
	if len(t) == 0 {
		return Result{}
	}
	switch t[0] {
	case '{', '[':
		return classifyJSON(t)
	case '<':
		if isRAIL(t) {
			return Result{Kind: GuardrailConfig, Dialect: DialectRAIL}
		}
	}
	if r := classifyText(data); r.Kind != None {
		return r
	}
	return classifyYAML(data)
}

// jsonAnchors are the keys a JSON document must mention before it is
// decoded at all (a cheap screen: most JSON is none of these kinds).
var jsonAnchors = [][]byte{
	[]byte(`"peft_type"`), []byte(`"messages"`), []byte(`"mcpServers"`), []byte(`"servers"`),
	[]byte(`"inputSchema"`), []byte(`"skills"`), []byte(`"_type"`), []byte(`"lc"`),
	[]byte(`"template"`), []byte(`"index_store/data"`), []byte(`"docstore/data"`),
	[]byte(`"embedding_dict"`), []byte(`"embedding_model"`), []byte(`modelcontextprotocol`),
	[]byte(`"rails"`), []byte(`"categories"`), []byte(`"role"`),
}

func anyAnchor(data []byte, anchors [][]byte) bool {
	for _, a := range anchors {
		if bytes.Contains(data, a) {
			return true
		}
	}
	return false
}

// decodeOneJSON decodes data as exactly one JSON value (JSON Lines and
// trailing garbage are refused: a chat dataset of many conversations is
// not a prompt).
func decodeOneJSON(data []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false
	}
	if depth(v, 0) > maxDepth {
		return nil, false
	}
	return v, true
}

// maxDepth caps the nesting Classify and the detectors walk.
const maxDepth = 128

func depth(v any, d int) int {
	if d > maxDepth {
		return d
	}
	m := d
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			m = max(m, depth(e, d+1))
		}
	case []any:
		for _, e := range x {
			m = max(m, depth(e, d+1))
		}
	}
	return m
}

func classifyJSON(data []byte) Result {
	// MCP manifests and A2A agent cards are format/agent's: one classifier
	// for the scanner's kinds, inspect and bom.
	if agent.Sniff(data[:min(len(data), 8192)]) {
		if doc, err := agent.Parse(data); err == nil {
			switch doc.Type {
			case agent.TypeTools:
				return Result{Kind: MCPManifest, Dialect: DialectMCPTools, Doc: doc.Root}
			case agent.TypeServer:
				return Result{Kind: MCPManifest, Dialect: DialectMCPServer, Doc: doc.Root}
			case agent.TypeConfig:
				return Result{Kind: MCPManifest, Dialect: DialectMCPConfig, Doc: doc.Root}
			case agent.TypeCard:
				return Result{Kind: A2AAgentCard, Dialect: DialectA2A, Doc: doc.Root}
			}
		}
	}
	if !anyAnchor(data, jsonAnchors) {
		return Result{}
	}
	v, ok := decodeOneJSON(data)
	if !ok {
		return Result{}
	}
	k, d := classifyDoc(v, true)
	if k == None {
		return Result{}
	}
	return Result{Kind: k, Dialect: d, Doc: v}
}

// classifyDoc classifies a decoded JSON or YAML document.
func classifyDoc(v any, isJSON bool) (Kind, Dialect) {
	switch x := v.(type) {
	case []any:
		if isMessages(x) {
			return PromptTemplate, DialectMessages
		}
		return None, ""
	case map[string]any:
		return classifyObject(x, isJSON)
	}
	return None, ""
}

func classifyObject(m map[string]any, isJSON bool) (Kind, Dialect) {
	has := func(k string) bool { _, ok := m[k]; return ok }
	str := func(k string) string { s, _ := m[k].(string); return s }
	switch {
	case str("peft_type") != "" && (has("base_model_name_or_path") || has("target_modules") || has("r")):
		return LoRAAdapter, DialectPEFT
	case has("index_store/data") || has("docstore/data") || isObject(m["embedding_dict"]) && has("text_id_to_ref_doc_id"):
		return VectorIndex, DialectLlamaIndex
	case str("embedding_model") != "" && (has("dimension") || has("dim") || has("embedding_dim")) && (has("index_type") || has("metric") || has("documents") || has("chunks") || has("collection")):
		return VectorIndex, DialectIndexJSON
	case isLangChain(m):
		return PromptTemplate, DialectLangChain
	case isList(m["messages"]) && isMessages(m["messages"].([]any)) && !has("prompt") && !has("completion"):
		return PromptTemplate, DialectMessages
	case isObject(m["rails"]) && railsLook(m["rails"].(map[string]any)) || isList(m["models"]) && nemoModels(m["models"].([]any)) && (has("rails") || has("instructions") || has("prompts") || has("sample_conversation")):
		return GuardrailConfig, DialectNeMo
	case isList(m["categories"]) && llamaGuardCategories(m["categories"].([]any)):
		return GuardrailConfig, DialectLlamaGuard
	case isList(m["prompts"]) && (has("providers") || has("tests")) && !isJSON:
		return PromptTemplate, DialectPromptfoo
	}
	return None, ""
}

func isObject(v any) bool { _, ok := v.(map[string]any); return ok }
func isList(v any) bool   { _, ok := v.([]any); return ok }

var chatRoles = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true, "tool": true, "function": true, "human": true, "ai": true}

// isMessages: a non-empty list of {role, content} objects, at least one of
// them a system or developer message.
func isMessages(l []any) bool {
	if len(l) == 0 {
		return false
	}
	sys := false
	for _, e := range l {
		o, ok := e.(map[string]any)
		if !ok {
			return false
		}
		role, ok := o["role"].(string)
		if !ok || !chatRoles[role] {
			return false
		}
		if _, ok := o["content"]; !ok {
			return false
		}
		if role == "system" || role == "developer" {
			sys = true
		}
	}
	return sys
}

// isLangChain recognises LangChain's saved prompts ({"_type": "prompt",
// "template": ..., "input_variables": [...]}, also Semantic Kernel's
// template + input_variables YAML) and its serialised objects
// ({"lc": 1, "type": "constructor", "id": [..., "prompts", ...]}).
func isLangChain(m map[string]any) bool {
	t, _ := m["_type"].(string)
	_, tmpl := m["template"].(string)
	_, msgs := m["messages"].([]any)
	_, vars := m["input_variables"]
	switch {
	case (t == "prompt" || t == "chat" || t == "few_shot") && (tmpl || msgs || vars):
		return true
	case tmpl && vars:
		return true
	}
	if _, ok := m["lc"]; ok && m["type"] == "constructor" {
		if id, ok := m["id"].([]any); ok {
			for _, e := range id {
				if e == "prompts" {
					return true
				}
			}
		}
	}
	return false
}

var railKeys = []string{"input", "output", "dialog", "retrieval", "execution", "config"}

func railsLook(m map[string]any) bool {
	for _, k := range railKeys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// nemoModels: a list of {type, engine, model} entries.
func nemoModels(l []any) bool {
	if len(l) == 0 {
		return false
	}
	for _, e := range l {
		o, ok := e.(map[string]any)
		if !ok {
			return false
		}
		if _, ok := o["engine"].(string); !ok {
			return false
		}
		if _, ok := o["type"].(string); !ok {
			return false
		}
	}
	return true
}

var llamaGuardID = regexp.MustCompile(`^[SO][0-9]{1,2}$`)

// llamaGuardCategories: a list of {id|code: S1.., name, description}.
func llamaGuardCategories(l []any) bool {
	if len(l) == 0 {
		return false
	}
	for _, e := range l {
		o, ok := e.(map[string]any)
		if !ok {
			return false
		}
		id, _ := o["id"].(string)
		if id == "" {
			id, _ = o["code"].(string)
		}
		if !llamaGuardID.MatchString(id) {
			return false
		}
	}
	return true
}

// isRAIL recognises a Guardrails AI RAIL spec: an XML document whose root
// element is <rail>.
func isRAIL(t []byte) bool {
	for len(t) > 0 && t[0] == '<' {
		switch {
		case bytes.HasPrefix(t, []byte("<?xml")):
			i := bytes.Index(t, []byte("?>"))
			if i < 0 {
				return false
			}
			t = bytes.TrimLeft(t[i+2:], " \t\r\n")
		case bytes.HasPrefix(t, []byte("<!--")):
			i := bytes.Index(t, []byte("-->"))
			if i < 0 {
				return false
			}
			t = bytes.TrimLeft(t[i+3:], " \t\r\n")
		default:
			return bytes.HasPrefix(t, []byte("<rail ")) || bytes.HasPrefix(t, []byte("<rail>")) || bytes.HasPrefix(t, []byte("<rail\n"))
		}
	}
	return false
}

// LlamaGuardMarker opens the category list of a Llama Guard prompt.
const LlamaGuardMarker = "<BEGIN UNSAFE CONTENT CATEGORIES>"

// The Colang line patterns are matched against one line at a time (without
// its newline), and only against lines that begin with the pattern's
// literal prefix: see colangLines.
var (
	colangDefine   = regexp.MustCompile(`^define (user|bot|flow|subflow) [^\n]{1,200}$`)
	colang2Flow    = regexp.MustCompile(`^flow [a-z_][a-z0-9_ ]{0,100}(\$[a-z_]+ ?)*$`)
	colang2Import  = regexp.MustCompile(`^import (core|llm|guardrails|avatars|timing)\b`)
	placeholder    = regexp.MustCompile(`\{\{\s*[A-Za-z_][A-Za-z0-9_.]*\s*(\|[^}]{0,80})?\}\}|\{%-?\s*(if|for|set|include|raw)\b`)
	mustacheSecion = regexp.MustCompile(`\{\{[#^/][A-Za-z_][A-Za-z0-9_.]*\}\}`)
	roleHeader     = regexp.MustCompile(`(?im)^(?:#{1,3} ?)?(?:system|developer)(?: prompt| message)?\s*:?\s*$|^<\|?system\|?>|^\[system\]`)
	youAre         = regexp.MustCompile(`(?m)^(?:\s*)You are (?:a|an|the|[A-Z][a-z]+),? `)
)

// classifyText recognises the text dialects: prompty (front matter with a
// model key), Colang, the Llama Guard prompt and plain Jinja/Mustache prompt
// templates (a placeholder and, in the first 4 KiB, a system-role header or a
// line opening "You are a ...").
func classifyText(data []byte) Result {
	if fm, body, ok := frontMatter(data); ok {
		if m, ok := decodeYAML(fm).(map[string]any); ok {
			if mod, ok := m["model"].(map[string]any); ok {
				if _, a := mod["api"]; a || mod["configuration"] != nil || mod["parameters"] != nil {
					return Result{Kind: PromptTemplate, Dialect: DialectPrompty, Doc: m, Body: body}
				}
			}
		}
		return Result{}
	}
	if bytes.Contains(data, []byte(LlamaGuardMarker)) && bytes.Contains(data, []byte("<END UNSAFE CONTENT CATEGORIES>")) {
		return Result{Kind: GuardrailConfig, Dialect: DialectLlamaGuard}
	}
	// Colang 1: a "define user|bot|flow|subflow" line, and a flow or a second
	// such line; Colang 2: an import of a standard library and a flow line.
	if n, imp, flow := colangLines(data); n >= 2 || n == 1 && bytes.Contains(data, []byte("define flow")) || imp && flow {
		return Result{Kind: GuardrailConfig, Dialect: DialectColang}
	}
	if !bytes.Contains(data, []byte("{{")) && !bytes.Contains(data, []byte("{%")) {
		return Result{}
	}
	head := data[:min(len(data), 4096)]
	if (roleHeader.Match(head) || youAre.Match(head)) && !looksStructured(data) && (placeholder.Match(data) || mustacheSecion.Match(data)) {
		return Result{Kind: PromptTemplate, Dialect: DialectTextTemplate}
	}
	return Result{}
}

// colangLines makes one pass over the line starts of data and returns how
// many lines (up to 2) match colangDefine and whether any line matches
// colang2Import and colang2Flow. Each pattern is applied to one line alone,
// without its "\n", and only to lines that begin with the pattern's literal
// prefix, so ordinary documents cost one newline scan and no
// regular-expression work.
func colangLines(data []byte) (define int, imp, flow bool) {
	for i := 0; i < len(data) && define < 2; {
		c := data[i]
		if c != 'd' && c != 'i' && c != 'f' {
			j := bytes.IndexByte(data[i:], '\n')
			if j < 0 {
				break
			}
			i += j + 1
			continue
		}
		end := len(data)
		if j := bytes.IndexByte(data[i:], '\n'); j >= 0 {
			end = i + j
		}
		line := data[i:end]
		switch {
		case c == 'd' && bytes.HasPrefix(line, []byte("define ")):
			if colangDefine.Match(line) {
				define++
			}
		case c == 'i' && !imp && bytes.HasPrefix(line, []byte("import ")):
			imp = colang2Import.Match(line)
		case c == 'f' && !flow && bytes.HasPrefix(line, []byte("flow ")):
			flow = colang2Flow.Match(line)
		}
		i = end + 1
	}
	return define, imp, flow
}

// looksStructured: HTML and source code with templates (web pages, Helm
// charts) are not prompts.
func looksStructured(data []byte) bool {
	h := bytes.ToLower(data[:min(len(data), 1024)])
	for _, s := range []string{"<!doctype", "<html", "apiversion:", "package ", "#include", "import "} {
		if bytes.Contains(h, []byte(s)) {
			return true
		}
	}
	return false
}

// frontMatter splits a "---\nYAML\n---\nbody" document.
func frontMatter(data []byte) (fm, body []byte, ok bool) {
	if !bytes.HasPrefix(data, []byte("---\n")) && !bytes.HasPrefix(data, []byte("---\r\n")) {
		return nil, nil, false
	}
	d := bytes.ReplaceAll(data[:min(len(data), 64<<10)], []byte("\r\n"), []byte("\n"))
	if !bytes.HasPrefix(d, []byte("---\n")) {
		return nil, nil, false
	}
	i := bytes.Index(d[4:], []byte("\n---"))
	if i < 0 {
		return nil, nil, false
	}
	fm = d[4 : 4+i]
	rest := bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))[4+i+4:]
	if j := bytes.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[j+1:]
	} else {
		rest = nil
	}
	return fm, rest, true
}

// yamlAnchors screen YAML documents before they are decoded. Each ends in
// 's:' or 'e:' (hasYAMLAnchor relies on it).
var yamlAnchors = [][]byte{
	[]byte("rails:"), []byte("models:"), []byte("prompts:"), []byte("template:"),
	[]byte("_type:"), []byte("categories:"), []byte("messages:"), []byte("peft_type:"),
}

// hasYAMLAnchor reports whether data contains one of yamlAnchors. Every
// anchor ends in ':', so it looks only at the colons of the document (one
// IndexByte scan) instead of searching for each anchor in turn.
func hasYAMLAnchor(data []byte) bool {
	for off := 0; off < len(data); {
		i := bytes.IndexByte(data[off:], ':')
		if i < 0 {
			return false
		}
		i += off
		if i > 0 && (data[i-1] == 's' || data[i-1] == 'e') {
			w := data[:i+1]
			for _, a := range yamlAnchors {
				if bytes.HasSuffix(w, a) {
					return true
				}
			}
		}
		off = i + 1
	}
	return false
}

func classifyYAML(data []byte) Result {
	if !hasYAMLAnchor(data) {
		return Result{}
	}
	v := decodeYAML(data)
	if v == nil {
		return Result{}
	}
	k, d := classifyDoc(v, false)
	if k == None {
		return Result{}
	}
	return Result{Kind: k, Dialect: d, Doc: v}
}

// decodeYAML decodes one YAML document into JSON-like values (nil when it
// is not valid, too large after alias expansion, or too deep).
func decodeYAML(data []byte) any {
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return nil
	}
	count := 0
	v, ok := nodeValue(&n, 0, &count)
	if !ok {
		return nil
	}
	return v
}

// nodeValue converts a YAML node tree to map[string]any / []any / string /
// bool / json.Number, bounding nodes (aliases count each time they are
// followed) and depth.
func nodeValue(n *yaml.Node, d int, count *int) (any, bool) {
	*count++
	if *count > maxYAMLNodes || d > maxDepth {
		return nil, false
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, true
		}
		return nodeValue(n.Content[0], d, count)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, true
		}
		return nodeValue(n.Alias, d+1, count)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			v, ok := nodeValue(n.Content[i+1], d+1, count)
			if !ok {
				return nil, false
			}
			if k.Kind == yaml.ScalarNode {
				m[k.Value] = v
			}
		}
		return m, true
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, ok := nodeValue(c, d+1, count)
			if !ok {
				return nil, false
			}
			l = append(l, v)
		}
		return l, true
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil, true
		case "!!bool":
			return n.Value == "true" || n.Value == "True" || n.Value == "TRUE", true
		case "!!int", "!!float":
			return json.Number(n.Value), true
		}
		return n.Value, true
	}
	return nil, true
}
