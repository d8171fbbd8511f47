// Package agent parses the manifests that describe tools and agents to a
// language model: MCP tool lists (the result of tools/list), MCP server
// manifests (the registry's server.json), MCP client configurations
// (mcpServers / servers maps of commands and URLs, as Claude Desktop,
// Cursor and VS Code write them) and A2A agent cards
// (/.well-known/agent.json). Parsing is bounded (document size, JSON
// depth, number of tools, servers and values, string length) and never
// contacts or starts anything a manifest names.
package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Type is the kind of manifest a document is.
type Type int

// Manifest types.
const (
	TypeNone   Type = iota // not an agent or tool manifest
	TypeTools              // MCP tools/list result (or a JSON-RPC response holding one)
	TypeServer             // MCP registry server manifest (server.json)
	TypeConfig             // MCP client configuration (mcpServers / servers)
	TypeCard               // A2A agent card
)

// String names the type.
func (t Type) String() string {
	switch t {
	case TypeTools:
		return "mcp-tools"
	case TypeServer:
		return "mcp-server"
	case TypeConfig:
		return "mcp-config"
	case TypeCard:
		return "a2a-agent-card"
	}
	return "none"
}

// Limits of the parser.
const (
	// MaxDepth caps JSON nesting.
	MaxDepth = 128
	// MaxItems caps the tools, skills and servers of one document.
	MaxItems = 4096
	// MaxValues caps the JSON values (strings, numbers, ...) of one document.
	MaxValues = 1 << 20
	// MaxString caps the length of one string value (a tool description,
	// a schema text).
	MaxString = 256 << 10
)

// Sentinel errors; a limit error means the document was not fully parsed.
var (
	ErrSyntax = errors.New("agent: malformed JSON")
	ErrDepth  = errors.New("agent: JSON nested too deep")
	ErrItems  = errors.New("agent: too many tools, skills or servers")
	ErrValues = errors.New("agent: too many JSON values")
	ErrString = errors.New("agent: string value too long")
)

// Tool is one MCP tool or A2A skill.
type Tool struct {
	// Name is the tool's name (an A2A skill's id, or its name without one).
	Name string `json:"name"`
	// Title is the human-readable title, if any.
	Title string `json:"title,omitempty"`
	// Description is the text the model reads.
	Description string `json:"description,omitempty"`
	// Schema is the canonical JSON of the input schema (MCP inputSchema;
	// for A2A skills, the tags, examples and modes), "" when absent.
	Schema string `json:"schema,omitempty"`
	// Path is the JSON pointer of the tool in the document.
	Path string `json:"-"`
	// Value is the tool's decoded object.
	Value map[string]any `json:"-"`
}

// Server is one MCP server a configuration launches or connects to, or
// one package or remote of a server manifest.
type Server struct {
	Name    string
	Path    string // JSON pointer
	Command string
	Args    []string
	Env     map[string]string
	URL     string
	Headers map[string]string
	// Package and Version are set for server.json packages (identifier
	// and version) and runtime hints.
	Package, Version, Registry string
	// SecretEnv lists environment variables a server.json marks isSecret
	// and gives a literal default or value for.
	SecretEnv map[string]string
}

// AgentCard is what the checks read from an A2A agent card.
type AgentCard struct {
	Name string
	// URLs are the card's endpoint URLs (url, additionalInterfaces,
	// supportedInterfaces).
	URLs []string
	// Auth reports declared authentication: non-empty securitySchemes,
	// security requirements, or authentication.schemes.
	Auth bool
}

// Doc is a parsed manifest.
type Doc struct {
	Type    Type
	Tools   []Tool
	Servers []Server
	Card    *AgentCard
	// Root is the decoded document (map[string]any, []any, string,
	// json.Number, bool, nil).
	Root any
}

// Sniff reports whether head (the start of a JSON document) names a key
// only agent manifests use; it is a cheap screen before Parse.
func Sniff(head []byte) bool {
	for _, k := range []string{`"tools"`, `"mcpServers"`, `"servers"`, `"skills"`, `"packages"`, `"remotes"`, `"inputSchema"`} {
		if bytes.Contains(head, []byte(k)) {
			return true
		}
	}
	return false
}

// Parse decodes one JSON document and classifies it. A document that is
// JSON but no manifest has Type TypeNone and a nil error. Limit errors wrap
// ErrDepth, ErrItems, ErrValues or ErrString; the returned Doc is then nil.
func Parse(data []byte) (*Doc, error) {
	p := &parser{dec: json.NewDecoder(bytes.NewReader(data))}
	p.dec.UseNumber()
	root, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: data after the document", ErrSyntax)
	}
	return classify(root)
}

type parser struct {
	dec    *json.Decoder
	values int
}

func (p *parser) value(depth int) (any, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	p.values++
	if p.values > MaxValues {
		return nil, ErrValues
	}
	switch v := tok.(type) {
	case json.Delim:
		if depth+1 > MaxDepth {
			return nil, ErrDepth
		}
		if v == '{' {
			m := map[string]any{}
			for p.dec.More() {
				kt, err := p.dec.Token()
				if err != nil {
					return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("%w: object key", ErrSyntax)
				}
				if len(k) > MaxString {
					return nil, ErrString
				}
				val, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				m[k] = val
			}
			if _, err := p.dec.Token(); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
			}
			return m, nil
		}
		if v != '[' {
			return nil, fmt.Errorf("%w: unexpected %v", ErrSyntax, v)
		}
		a := []any{}
		for p.dec.More() {
			val, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			a = append(a, val)
		}
		if _, err := p.dec.Token(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
		}
		return a, nil
	case string:
		if len(v) > MaxString {
			return nil, ErrString
		}
		return v, nil
	default:
		return v, nil
	}
}

func has(m map[string]any, k string) bool { _, ok := m[k]; return ok }
func obj(v any) map[string]any            { m, _ := v.(map[string]any); return m }
func arr(v any) []any                     { a, _ := v.([]any); return a }
func str(v any) string                    { s, _ := v.(string); return s }

// canonical renders v as JSON with sorted keys (encoding/json sorts map
// keys), "" for nil.
func canonical(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

func classify(root any) (*Doc, error) {
	d := &Doc{Root: root}
	m := obj(root)
	if m == nil {
		return d, nil
	}
	switch {
	case isToolList(m["tools"]) && (len(arr(m["tools"])) > 0 || has(m, "nextCursor")):
		d.Type = TypeTools
		return d, d.tools(arr(m["tools"]), "/tools")
	case obj(m["result"]) != nil && isToolList(obj(m["result"])["tools"]):
		d.Type = TypeTools
		return d, d.tools(arr(obj(m["result"])["tools"]), "/result/tools")
	case isServerMap(m["mcpServers"], true):
		d.Type = TypeConfig
		return d, d.configServers(obj(m["mcpServers"]), "/mcpServers")
	case isServerMap(m["servers"], false):
		d.Type = TypeConfig
		return d, d.configServers(obj(m["servers"]), "/servers")
	case str(m["name"]) != "" && isServerManifest(m):
		d.Type = TypeServer
		return d, d.serverManifest(m)
	case str(m["name"]) != "" && arr(m["skills"]) != nil &&
		(m["url"] != nil || m["capabilities"] != nil || m["protocolVersion"] != nil || m["supportedInterfaces"] != nil):
		d.Type = TypeCard
		return d, d.card(m)
	}
	return d, nil
}

// isToolList: an array whose elements are objects with a string name and
// an inputSchema or description (an empty list counts).
func isToolList(v any) bool {
	a, ok := v.([]any)
	if !ok {
		return false
	}
	for _, e := range a {
		t := obj(e)
		if t == nil || str(t["name"]) == "" || (obj(t["inputSchema"]) == nil && t["description"] == nil) {
			return false
		}
	}
	return true
}

// isServerMap: an object of server entries, each with a command or a URL.
func isServerMap(v any, allowEmpty bool) bool {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return ok && allowEmpty
	}
	for _, e := range m {
		s := obj(e)
		if s == nil || (str(s["command"]) == "" && str(s["url"]) == "" && str(s["serverUrl"]) == "" && str(s["httpUrl"]) == "") {
			return false
		}
	}
	return true
}

func isServerManifest(m map[string]any) bool {
	if strings.Contains(str(m["$schema"]), "modelcontextprotocol") {
		return true
	}
	for _, e := range arr(m["packages"]) {
		p := obj(e)
		if p != nil && (p["registryType"] != nil || p["registry_type"] != nil || p["registry_name"] != nil) && (p["identifier"] != nil || p["name"] != nil) {
			return true
		}
	}
	for _, e := range arr(m["remotes"]) {
		r := obj(e)
		if r != nil && str(r["url"]) != "" && (r["type"] != nil || r["transport_type"] != nil) {
			return true
		}
	}
	return false
}

func (d *Doc) tools(a []any, path string) error {
	if len(a) > MaxItems {
		return ErrItems
	}
	for i, e := range a {
		t := obj(e)
		d.Tools = append(d.Tools, Tool{
			Name: str(t["name"]), Title: str(t["title"]), Description: str(t["description"]),
			Schema: canonical(t["inputSchema"]), Path: path + "/" + strconv.Itoa(i), Value: t,
		})
	}
	return nil
}

func strs(v any) []string {
	var out []string
	for _, e := range arr(v) {
		switch x := e.(type) {
		case string:
			out = append(out, x)
		case json.Number:
			out = append(out, x.String())
		}
	}
	return out
}

func strMap(v any) map[string]string {
	m := obj(v)
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		out[k] = str(e)
	}
	return out
}

func (d *Doc) configServers(m map[string]any, path string) error {
	if len(m) > MaxItems {
		return ErrItems
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, n := range names {
		s := obj(m[n])
		u := str(s["url"])
		if u == "" {
			u = str(s["serverUrl"])
		}
		if u == "" {
			u = str(s["httpUrl"])
		}
		d.Servers = append(d.Servers, Server{
			Name: n, Path: path + "/" + escapePointer(n), Command: str(s["command"]), Args: strs(s["args"]),
			Env: strMap(s["env"]), URL: u, Headers: strMap(s["headers"]),
		})
	}
	return nil
}

// arguments renders server.json argument objects (positional values,
// named flags with values) as a command line.
func arguments(v any) []string {
	var out []string
	for _, e := range arr(v) {
		a := obj(e)
		if a == nil {
			continue
		}
		if n := str(a["name"]); n != "" && str(a["type"]) == "named" {
			out = append(out, n)
		}
		if val := str(a["value"]); val != "" {
			out = append(out, val)
		} else if val := str(a["default"]); val != "" {
			out = append(out, val)
		}
	}
	return out
}

func (d *Doc) serverManifest(m map[string]any) error {
	pk, rm := arr(m["packages"]), arr(m["remotes"])
	if len(pk)+len(rm) > MaxItems {
		return ErrItems
	}
	name := str(m["name"])
	for i, e := range pk {
		p := obj(e)
		if p == nil {
			continue
		}
		reg := str(p["registryType"])
		if reg == "" {
			reg = str(p["registry_type"])
		}
		if reg == "" {
			reg = str(p["registry_name"])
		}
		id := str(p["identifier"])
		if id == "" {
			id = str(p["name"])
		}
		s := Server{Name: name, Path: "/packages/" + strconv.Itoa(i), Package: id, Version: str(p["version"]), Registry: reg,
			Command: str(p["runtimeHint"]), Env: map[string]string{}, SecretEnv: map[string]string{}}
		s.Args = append(arguments(p["runtimeArguments"]), arguments(p["packageArguments"])...)
		for _, ev := range arr(p["environmentVariables"]) {
			o := obj(ev)
			k := str(o["name"])
			v := str(o["value"])
			if v == "" {
				v = str(o["default"])
			}
			s.Env[k] = v
			if b, _ := o["isSecret"].(bool); b && v != "" {
				s.SecretEnv[k] = v
			}
		}
		d.Servers = append(d.Servers, s)
	}
	for i, e := range rm {
		r := obj(e)
		if r == nil {
			continue
		}
		s := Server{Name: name, Path: "/remotes/" + strconv.Itoa(i), URL: str(r["url"]), Headers: map[string]string{}}
		for _, h := range arr(r["headers"]) {
			o := obj(h)
			v := str(o["value"])
			if v == "" {
				v = str(o["default"])
			}
			s.Headers[str(o["name"])] = v
		}
		d.Servers = append(d.Servers, s)
	}
	return nil
}

func (d *Doc) card(m map[string]any) error {
	skills := arr(m["skills"])
	if len(skills) > MaxItems {
		return ErrItems
	}
	c := &AgentCard{Name: str(m["name"])}
	if u := str(m["url"]); u != "" {
		c.URLs = append(c.URLs, u)
	}
	for _, k := range []string{"additionalInterfaces", "supportedInterfaces"} {
		for _, e := range arr(m[k]) {
			if u := str(obj(e)["url"]); u != "" {
				c.URLs = append(c.URLs, u)
			}
		}
	}
	c.Auth = len(obj(m["securitySchemes"])) > 0 || len(arr(m["security"])) > 0 || len(arr(m["securityRequirements"])) > 0 ||
		len(arr(obj(m["authentication"])["schemes"])) > 0
	d.Card = c
	for i, e := range skills {
		s := obj(e)
		if s == nil {
			continue
		}
		name := str(s["id"])
		if name == "" {
			name = str(s["name"])
		}
		rest := map[string]any{}
		for _, k := range []string{"tags", "examples", "inputModes", "outputModes"} {
			if s[k] != nil {
				rest[k] = s[k]
			}
		}
		schema := ""
		if len(rest) > 0 {
			schema = canonical(rest)
		}
		d.Tools = append(d.Tools, Tool{Name: name, Title: str(s["name"]), Description: str(s["description"]), Schema: schema,
			Path: "/skills/" + strconv.Itoa(i), Value: s})
	}
	return nil
}

// escapePointer escapes a JSON pointer reference token (RFC 6901).
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// Walk calls fn for every string in the document (object keys with
// isKey set), with its JSON pointer, in a stable order.
func Walk(root any, fn func(path, s string, isKey bool)) {
	walk(root, "", fn)
}

func walk(v any, path string, fn func(path, s string, isKey bool)) {
	switch x := v.(type) {
	case string:
		fn(path, x, false)
	case []any:
		for i, e := range x {
			walk(e, path+"/"+strconv.Itoa(i), fn)
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := path + "/" + escapePointer(k)
			fn(p, k, true)
			walk(x[k], p, fn)
		}
	}
}
