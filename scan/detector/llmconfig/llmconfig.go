// Package llmconfig is the detector for the configuration artifacts of LLM
// applications that format/llmkind recognises by content among text and
// JSON files: system prompts and prompt templates (secrets, personal data,
// user input in the system role, Jinja templates that reach Python
// internals), guardrail configurations (NeMo Guardrails config.yml and
// Colang, Llama Guard policies, Guardrails AI RAIL specs: missing or
// ineffective rails, plaintext model endpoints, secrets) and LoRA/PEFT
// adapter configurations (base model lineage, pinning, module imports).
// See docs/detectors/llmconfig.md.
package llmconfig

import (
	"context"
	_ "embed"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/chattemplate"
	"github.com/mlsecops/mlsec/format/llmkind"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/template"
)

// Name is the detector's stable identifier.
const Name = "llmconfig"

// Rule ids.
const (
	RulePromptSecret  = "PROMPT-001"
	RulePromptPII     = "PROMPT-002"
	RuleSystemVar     = "PROMPT-003"
	RuleNoInputRails  = "GUARD-001"
	RuleNoOutputRails = "GUARD-002"
	RuleAllowsAll     = "GUARD-003"
	RulePlainHTTP     = "GUARD-004"
	RuleGuardSecret   = "GUARD-005"
	RuleUnpinnedBase  = "LORA-001"
	RuleBaseNotAllow  = "LORA-002"
	RuleBaseUnknown   = "LORA-003"
	RuleAdapterImport = "LORA-004"
)

// maxFindingsPerRule caps the findings one rule reports per file.
const maxFindingsPerRule = 16

// maxStrings caps the string values walked per document.
const maxStrings = 100_000

//go:embed rules.yaml
var rulesYAML []byte

// Detector examines text and JSON files that llmkind classifies as a
// prompt template, guardrail configuration or LoRA adapter.
type Detector struct {
	scan.Base
	lineage scan.LineageConfig
	matcher func() *Matcher
}

var _ scan.Detector = (*Detector)(nil)

// New returns the detector; cfg.Lineage configures the allowed base models
// of adapters.
func New(cfg scan.Config) (scan.Detector, error) {
	trs, err := template.Rules()
	if err != nil {
		return nil, fmt.Errorf("llmconfig: %w", err)
	}
	b := scan.NewBase(Name, []format.Kind{format.Text, format.JSON}, rulesYAML, trs...)
	return &Detector{Base: b, lineage: cfg.Lineage, matcher: sync.OnceValue(NewMatcher)}, nil
}

// Scan implements scan.Detector. Files larger than llmkind.MaxBytes are
// not classified (they are documents, left to the rag detector).
func (d *Detector) Scan(ctx context.Context, in *scan.Input, sink scan.Sink) error {
	if in.Size > llmkind.MaxBytes || in.Size == 0 {
		return nil
	}
	data, err := scan.ReadAll(in, nil)
	if err != nil {
		return fmt.Errorf("llmconfig: read: %w", err)
	}
	res := llmkind.Classify(data)
	c := &check{d: d, m: d.matcher(), sink: sink, data: data, res: res, counts: map[string]int{}}
	switch res.Kind {
	case llmkind.PromptTemplate:
		c.prompt()
	case llmkind.GuardrailConfig:
		c.guardrail()
	case llmkind.LoRAAdapter:
		c.adapter()
	}
	if c.limit != "" {
		return scan.NotAnalysedf(c.limit, "%s", c.limitWhy)
	}
	return nil
}

// Limits named in not-analysed verdicts.
const (
	LimitStrings    = "llmconfig_strings"
	LimitRAILTokens = "llmconfig_rail_tokens"
)

// check is the state of one file's analysis.
type check struct {
	d      *Detector
	m      *Matcher
	sink   scan.Sink
	data   []byte
	res    llmkind.Result
	counts map[string]int
	// limit and limitWhy are set when a bound stopped the analysis.
	limit, limitWhy string
	strs            []strVal
}

// report emits one finding, at most maxFindingsPerRule per rule.
func (c *check) report(rule, msg, subject string, off int64) {
	c.counts[rule]++
	if c.counts[rule] > maxFindingsPerRule {
		return
	}
	c.sink.Report(c.d.Finding(rule, msg, subject, off))
}

// offsetOf locates s in the file (the first occurrence), -1 when it is not
// there verbatim (JSON escapes).
func (c *check) offsetOf(s string) int64 {
	if s == "" {
		return -1
	}
	i := strings.Index(string(c.data), s)
	return int64(i)
}

// strVal is one string of a decoded document with its key path.
type strVal struct {
	path, key, val string
}

// strings returns every string value (and string map key) of the document
// in a stable order, bounded.
func (c *check) strings() []strVal {
	if c.strs != nil {
		return c.strs
	}
	out := []strVal{}
	var walk func(v any, path, key string, d int)
	walk = func(v any, path, key string, d int) {
		if len(out) >= maxStrings || d > 128 {
			return
		}
		switch x := v.(type) {
		case string:
			out = append(out, strVal{path, key, x})
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(x[k], path+"."+k, k, d+1)
			}
		case []any:
			for i, e := range x {
				walk(e, fmt.Sprintf("%s[%d]", path, i), key, d+1)
			}
		}
	}
	walk(c.res.Doc, "", "", 0)
	if len(out) >= maxStrings {
		c.limit, c.limitWhy = LimitStrings, fmt.Sprintf("more than %d string values", maxStrings)
	}
	c.strs = out
	return out
}

// secrets reports credentials in the file with rule.
func (c *check) secrets(rule string) {
	if c.res.Doc == nil {
		for _, s := range c.m.Secrets(string(c.data)) {
			c.report(rule, fmt.Sprintf("%s: %s", s.What, Redact(s.Text)), s.What, int64(s.Off))
		}
		return
	}
	if c.res.Body != nil {
		base := c.offsetOf(string(c.res.Body[:min(len(c.res.Body), 64)]))
		for _, s := range c.m.Secrets(string(c.res.Body)) {
			off := int64(-1)
			if base >= 0 {
				off = base + int64(s.Off)
			}
			c.report(rule, fmt.Sprintf("%s: %s", s.What, Redact(s.Text)), s.What, off)
		}
	}
	for _, v := range c.strings() {
		found := c.m.Secrets(v.val)
		for _, s := range found {
			c.report(rule, fmt.Sprintf("%s at %s: %s", s.What, strings.TrimPrefix(v.path, "."), Redact(s.Text)), s.What, c.offsetOf(s.Text))
		}
		if len(found) == 0 && c.m.SecretKey(v.key) && c.m.SecretValue(v.val) {
			c.report(rule, fmt.Sprintf("credential in %s: %s", strings.TrimPrefix(v.path, "."), Redact(v.val)), v.key, c.offsetOf(v.val))
		}
	}
}

// pii reports personal data markers in the file.
func (c *check) pii() {
	report := func(text string, where string, base int64) {
		for _, p := range c.m.PII(text) {
			off := c.offsetOf(p.Text)
			if base >= 0 {
				off = base + int64(p.Off)
			}
			c.report(RulePromptPII, fmt.Sprintf("%s%s: %s", p.What, where, p.Text), p.What, off)
		}
	}
	if c.res.Doc == nil {
		report(string(c.data), "", 0)
		return
	}
	if c.res.Body != nil {
		report(string(c.res.Body), " in the prompt body", -1)
	}
	for _, v := range c.strings() {
		report(v.val, " at "+strings.TrimPrefix(v.path, "."), -1)
	}
}

// prompt checks a prompt template.
func (c *check) prompt() {
	c.secrets(RulePromptSecret)
	c.pii()
	for _, t := range c.templates() {
		c.systemVars(t)
		c.jinja(t)
	}
}

// tmpl is one template text of a prompt file with its role.
type tmpl struct {
	where  string
	role   string // "system", "developer", "user", ... or ""
	text   string
	jinja  bool // rendered with Jinja (or Jinja-compatible) syntax
	fstr   bool // Python str.format / LangChain f-string
	offset int64
}

var roleLine = regexp.MustCompile(`(?im)^[ \t]*(?:#{1,3}[ \t]*)?(system|developer|user|assistant|human|ai)[ \t]*:?[ \t]*$`)

// splitRoles splits a prompt body into role sections ("system:" lines as
// prompty writes them, "### System" headers).
func splitRoles(body string) []tmpl {
	locs := roleLine.FindAllStringSubmatchIndex(body, 256)
	var out []tmpl
	for i, l := range locs {
		end := len(body)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		role := strings.ToLower(body[l[2]:l[3]])
		out = append(out, tmpl{role: role, text: body[l[1]:end], offset: int64(l[1])})
	}
	return out
}

// templates lists the template texts of the prompt file.
func (c *check) templates() []tmpl {
	switch c.res.Dialect {
	case llmkind.DialectTextTemplate:
		ts := splitRoles(string(c.data))
		for i := range ts {
			ts[i].where = ts[i].role + " section"
			ts[i].jinja = true
		}
		if len(ts) == 0 {
			ts = []tmpl{{where: "template", text: string(c.data), jinja: true}}
		}
		return ts
	case llmkind.DialectPrompty:
		ts := splitRoles(string(c.res.Body))
		base := c.offsetOf(string(c.res.Body[:min(len(c.res.Body), 64)]))
		for i := range ts {
			ts[i].where = "prompty " + ts[i].role + " section"
			ts[i].jinja = true
			if base >= 0 {
				ts[i].offset += base
			} else {
				ts[i].offset = -1
			}
		}
		return ts
	case llmkind.DialectMessages:
		var list []any
		switch x := c.res.Doc.(type) {
		case []any:
			list = x
		case map[string]any:
			list, _ = x["messages"].([]any)
		}
		var ts []tmpl
		for i, e := range list {
			o, _ := e.(map[string]any)
			role, _ := o["role"].(string)
			for _, s := range contentText(o["content"]) {
				ts = append(ts, tmpl{where: fmt.Sprintf("messages[%d] (%s)", i, role), role: role, text: s, jinja: true, offset: c.offsetOf(s[:min(len(s), 48)])})
			}
		}
		return ts
	case llmkind.DialectLangChain:
		return c.langchain()
	}
	return nil
}

// contentText returns the text of a message content: a string or a list
// of {type: text, text} parts.
func contentText(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, p := range x {
			if o, ok := p.(map[string]any); ok {
				if s, ok := o["text"].(string); ok {
					out = append(out, s)
				}
			}
		}
		return out
	}
	return nil
}

// langchain lists the templates of a LangChain prompt: the top-level
// template (with its template_format), (role, text) message tuples and
// serialised message prompt templates (SystemMessagePromptTemplate, ...).
func (c *check) langchain() []tmpl {
	var out []tmpl
	var walk func(v any, role, format string, d int)
	walk = func(v any, role, format string, d int) {
		if d > 64 || len(out) > 1000 {
			c.limit, c.limitWhy = LimitStrings, "LangChain prompt nests deeper than 64 levels or holds more than 1000 templates"
			return
		}
		switch x := v.(type) {
		case map[string]any:
			if f, ok := x["template_format"].(string); ok {
				format = f
			}
			if id, ok := x["id"].([]any); ok && len(id) > 0 {
				last, _ := id[len(id)-1].(string)
				switch {
				case strings.HasPrefix(last, "SystemMessage"):
					role = "system"
				case strings.HasPrefix(last, "HumanMessage"):
					role = "user"
				case strings.HasPrefix(last, "AIMessage"):
					role = "assistant"
				}
			}
			if s, ok := x["template"].(string); ok {
				out = append(out, tmpl{where: "template", role: role, text: s, jinja: format == "jinja2" || format == "mustache", fstr: format == "" || format == "f-string", offset: c.offsetOf(s[:min(len(s), 48)])})
			}
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if k != "template" {
					walk(x[k], role, format, d+1)
				}
			}
		case []any:
			if len(x) == 2 {
				r, ok1 := x[0].(string)
				s, ok2 := x[1].(string)
				if ok1 && ok2 && (r == "system" || r == "human" || r == "user" || r == "ai" || r == "assistant") {
					out = append(out, tmpl{where: r + " message", role: r, text: s, jinja: format == "jinja2", fstr: format == "" || format == "f-string", offset: c.offsetOf(s[:min(len(s), 48)])})
					return
				}
			}
			for _, e := range x {
				walk(e, role, format, d+1)
			}
		}
	}
	walk(c.res.Doc, "", "", 0)
	return out
}

var (
	jinjaVar   = regexp.MustCompile(`\{\{-?\s*([A-Za-z_][A-Za-z0-9_.\[\]'"]*)`)
	fstringVar = regexp.MustCompile(`(?:^|[^{])\{([A-Za-z_][A-Za-z0-9_]*)\}(?:[^}]|$)`)
	mustacheOp = regexp.MustCompile(`\{\{[#^/>!]`)
)

// userWords are variable-name words that say the value comes from the
// user.
var userWords = map[string]bool{
	"user": true, "input": true, "query": true, "question": true, "message": true, "msg": true,
	"request": true, "prompt": true, "human": true, "utterance": true, "comment": true,
	"feedback": true, "search": true, "ask": true,
}

// userVariable reports whether a template variable name carries user input.
func userVariable(name string) bool {
	for _, w := range strings.FieldsFunc(strings.ToLower(name), func(r rune) bool {
		return r == '_' || r == '.' || r == '[' || r == ']' || r == '\'' || r == '"' || r == '-'
	}) {
		if userWords[w] || userWords[strings.TrimSuffix(w, "s")] {
			return true
		}
	}
	return false
}

// systemVars reports user-controlled variables in a system-role template.
func (c *check) systemVars(t tmpl) {
	if t.role != "system" && t.role != "developer" {
		return
	}
	seen := map[string]bool{}
	var names []string
	if t.fstr {
		for _, m := range fstringVar.FindAllStringSubmatch(t.text, 64) {
			names = append(names, m[1])
		}
	} else {
		for _, m := range jinjaVar.FindAllStringSubmatch(t.text, 64) {
			names = append(names, m[1])
		}
	}
	for _, n := range names {
		if seen[n] || !userVariable(n) {
			continue
		}
		seen[n] = true
		c.report(RuleSystemVar, fmt.Sprintf("%s interpolates %q, which carries user input, into the %s role", t.where, n, t.role), n, t.offset)
	}
}

// jinja runs the chat-template evaluator on a Jinja template and reports
// its issues with the TEMPLATE rules (a syntax error is not reported:
// prompt files also hold Mustache and plain text with braces).
func (c *check) jinja(t tmpl) {
	if t.fstr {
		// str.format replacement fields walk attributes and items:
		// "{x.__class__.__init__.__globals__}" reads module globals.
		for _, m := range formatDunder.FindAllStringIndex(t.text, 16) {
			field := t.text[m[0]:m[1]]
			c.report(template.RuleDunder, fmt.Sprintf("prompt %s: str.format field %s reaches a dunder attribute (format-string attribute access)", t.where, field), field, t.offset)
		}
		return
	}
	if !t.jinja || mustacheOp.MatchString(t.text) || !(strings.Contains(t.text, "{{") || strings.Contains(t.text, "{%")) {
		return
	}
	for _, is := range chattemplate.Analyse(t.text) {
		if is.Kind == chattemplate.Syntax || is.Kind == chattemplate.Gadget && promptNames[is.Subject] {
			continue
		}
		rule := templateRule[is.Kind]
		if rule == "" {
			continue
		}
		c.report(rule, fmt.Sprintf("prompt %s: %s (template offset %d)", t.where, is.Detail, is.Offset), is.Subject, t.offset)
	}
}

// promptNames are Flask globals that prompt templates commonly use as
// ordinary variables (prompt renderers do not define the Flask globals).
var promptNames = map[string]bool{"request": true, "session": true, "config": true}

// formatDunder matches a str.format replacement field that reaches a
// __dunder__ attribute or item ("{obj.__class__}", "{x[__globals__]}").
var formatDunder = regexp.MustCompile(`(?:^|[^{])\{[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[[^\]{}]{1,64}\])*?(?:\.|\[)__[A-Za-z0-9_]+__[^{}]{0,200}\}`)

var templateRule = map[chattemplate.Kind]string{
	chattemplate.Dunder:      template.RuleDunder,
	chattemplate.Private:     template.RulePrivate,
	chattemplate.Internals:   template.RuleInternals,
	chattemplate.StringBuilt: template.RuleStringBuilt,
	chattemplate.AttrFilter:  template.RuleAttrFilter,
	chattemplate.Gadget:      template.RuleGadget,
	chattemplate.Load:        template.RuleLoad,
}

// endpointKey names the keys whose values are model or service endpoints.
var endpointKey = regexp.MustCompile(`(?i)(url|endpoint|base|host|api|server|uri)`)

// plainHTTP reports http:// endpoints to non-loopback hosts in the values
// of endpoint keys (api_base, base_url, endpoint_url, server, ...).
func (c *check) plainHTTP() {
	for _, v := range c.strings() {
		if !endpointKey.MatchString(v.key) || !strings.HasPrefix(strings.ToLower(v.val), "http://") {
			continue
		}
		u, err := url.Parse(strings.TrimSpace(v.val))
		if err != nil || u.Hostname() == "" || loopback(u.Hostname()) {
			continue
		}
		c.report(RulePlainHTTP, fmt.Sprintf("%s is a plaintext endpoint: http://%s%s", strings.TrimPrefix(v.path, "."), u.Host, u.Path), u.Host, c.offsetOf(v.val))
	}
}

func loopback(h string) bool {
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
