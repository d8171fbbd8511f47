package llmkind

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		kind Kind
		dia  Dialect
	}{
		{"messages object", `{"model":"gpt-4o","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"{{question}}"}]}`, PromptTemplate, DialectMessages},
		{"messages array", `[{"role":"developer","content":"Be brief."},{"role":"user","content":"hi"}]`, PromptTemplate, DialectMessages},
		{"messages without system", `{"messages":[{"role":"user","content":"hi"}]}`, None, ""},
		{"chat jsonl dataset", "{\"messages\":[{\"role\":\"system\",\"content\":\"a\"}]}\n{\"messages\":[{\"role\":\"system\",\"content\":\"b\"}]}\n", None, ""},
		{"langchain saved", `{"input_variables":["topic"],"template":"Tell me about {topic}","template_format":"f-string","_type":"prompt"}`, PromptTemplate, DialectLangChain},
		{"langchain lc", `{"lc":1,"type":"constructor","id":["langchain","prompts","chat","ChatPromptTemplate"],"kwargs":{}}`, PromptTemplate, DialectLangChain},
		{"prompty", "---\nname: Helper\nmodel:\n  api: chat\n  configuration:\n    type: azure_openai\n---\nsystem:\nYou are helpful.\n\nuser:\n{{question}}\n", PromptTemplate, DialectPrompty},
		{"markdown front matter", "---\ntitle: Post\nlayout: page\n---\nHello {{ page.title }}\n", None, ""},
		{"text template", "You are a support agent for Acme.\nAnswer using the context.\n\nContext: {{ context }}\n", PromptTemplate, DialectTextTemplate},
		{"text no placeholder", "You are a support agent for Acme.\n", None, ""},
		{"html with jinja", "<!DOCTYPE html>\n<html>You are a {{ name }}</html>", None, ""},
		{"promptfoo", "prompts:\n  - file://prompt.txt\nproviders:\n  - openai:gpt-4o-mini\ntests:\n  - vars: {q: hi}\n", PromptTemplate, DialectPromptfoo},
		{"nemo", "models:\n  - type: main\n    engine: openai\n    model: gpt-4o\nrails:\n  input:\n    flows:\n      - self check input\n", GuardrailConfig, DialectNeMo},
		{"generic models yaml", "models:\n  - name: a\n    path: b\n", None, ""},
		{"colang", "define user ask about weather\n  \"what is the weather\"\n\ndefine flow weather\n  user ask about weather\n  bot refuse\n", GuardrailConfig, DialectColang},
		{"colang2", "import core\nimport llm\n\nflow main\n  activate llm continuation\n", GuardrailConfig, DialectColang},
		{"llama guard prompt", "Task: check.\n<BEGIN UNSAFE CONTENT CATEGORIES>\nS1: Violent Crimes.\n<END UNSAFE CONTENT CATEGORIES>\n", GuardrailConfig, DialectLlamaGuard},
		{"llama guard yaml", "categories:\n  - id: S1\n    name: Violent Crimes\n  - id: S2\n    name: Non-Violent Crimes\n", GuardrailConfig, DialectLlamaGuard},
		{"rail", "<?xml version=\"1.0\"?>\n<rail version=\"0.1\">\n<output></output>\n</rail>\n", GuardrailConfig, DialectRAIL},
		{"xml other", "<project><rail/></project>", None, ""},
		{"mcp config", `{"mcpServers":{"fs":{"command":"npx","args":["-y","@modelcontextprotocol/server-filesystem","/tmp"]}}}`, MCPManifest, DialectMCPConfig},
		{"mcp tools", `{"tools":[{"name":"read","description":"Read a file","inputSchema":{"type":"object"}}]}`, MCPManifest, DialectMCPTools},
		{"mcp tools result", `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"read","inputSchema":{"type":"object"}}]}}`, MCPManifest, DialectMCPTools},
		{"mcp server.json", `{"$schema":"https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json","name":"io.github.x/y","description":"d","version":"1.0.0","packages":[{"registryType":"npm","identifier":"@x/y","version":"1.0.0","transport":{"type":"stdio"}}]}`, MCPManifest, DialectMCPServer},
		{"a2a", `{"name":"Travel agent","url":"https://agent.example/a2a","version":"1.0","capabilities":{"streaming":true},"skills":[{"id":"book","name":"Book"}]}`, A2AAgentCard, DialectA2A},
		{"peft", `{"peft_type":"LORA","base_model_name_or_path":"meta-llama/Llama-3.1-8B","r":16,"target_modules":["q_proj"]}`, LoRAAdapter, DialectPEFT},
		{"llamaindex", `{"index_store/data":{"abc":{"__type__":"vector_store","__data__":"{}"}}}`, VectorIndex, DialectLlamaIndex},
		{"index manifest", `{"embedding_model":"BAAI/bge-small-en-v1.5","dimension":384,"metric":"cosine","documents":["a.md"]}`, VectorIndex, DialectIndexJSON},
		{"package.json", `{"name":"x","version":"1.0.0","dependencies":{"a":"1"}}`, None, ""},
		{"tokenizer config", `{"chat_template":"{% for m in messages %}{{ m.content }}{% endfor %}"}`, None, ""},
		{"config.json with template", `{"template":"x"}`, None, ""},
		{"docker compose", "services:\n  web:\n    image: nginx\n", None, ""},
		{"empty", "", None, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Classify([]byte(tt.doc))
			if r.Kind != tt.kind || r.Dialect != tt.dia {
				t.Errorf("Classify = %q/%q, want %q/%q", r.Kind, r.Dialect, tt.kind, tt.dia)
			}
		})
	}
}

func TestClassifyBounds(t *testing.T) {
	big := "[" + strings.Repeat(`{"role":"system","content":"x"},`, MaxBytes/30) + `{"role":"system","content":"x"}]`
	if r := Classify([]byte(big)); r.Kind != None {
		t.Errorf("over MaxBytes: %q", r.Kind)
	}
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	if r := Classify([]byte(`{"messages":` + deep + `}`)); r.Kind != None {
		t.Errorf("deep: %q", r.Kind)
	}
	// A YAML alias bomb is refused by the node cap.
	bomb := "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\nrails: {input: {}}\n"
	if r := Classify([]byte(bomb)); r.Kind != None {
		t.Errorf("alias bomb: %q", r.Kind)
	}
}

// TestBenignSystemFiles classifies the YAML and JSON files installed on
// the machine: none of them is an LLM artifact.
func TestBenignSystemFiles(t *testing.T) {
	n := 0
	for _, root := range []string{"/usr/share/doc", "/etc", "/usr/lib/python3/dist-packages"} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || n > 20000 {
				return nil
			}
			ext := filepath.Ext(p)
			if ext != ".json" && ext != ".yaml" && ext != ".yml" && ext != ".txt" && ext != ".md" {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil || len(data) > MaxBytes {
				return nil
			}
			n++
			if r := Classify(data); r.Kind != None {
				t.Errorf("%s: classified %s/%s", p, r.Kind, r.Dialect)
			}
			return nil
		})
	}
	t.Logf("%d benign files", n)
}

func FuzzClassify(f *testing.F) {
	f.Add([]byte(`{"messages":[{"role":"system","content":"x"}]}`))
	f.Add([]byte("---\nmodel:\n  api: chat\n---\nsystem:\nYou are {{x}}"))
	f.Add([]byte("rails:\n  input:\n    flows: []\n"))
	f.Add([]byte(`{"peft_type":"LORA","base_model_name_or_path":"a/b"}`))
	f.Add([]byte("<rail version=\"0.1\"></rail>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		Classify(data)
	})
}

// BenchmarkClassifyText measures the screen every text document passes
// (MLSEC_LLMKIND_BENCH_FILE, else a generated 1 MiB Markdown text).
func BenchmarkClassifyText(b *testing.B) {
	data := []byte(strings.Repeat("## Section\n\nSome prose about models, with `code` and a [link](https://example.org).\n", 12000))
	if p := os.Getenv("MLSEC_LLMKIND_BENCH_FILE"); p != "" {
		var err error
		if data, err = os.ReadFile(p); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		Classify(data)
	}
}

// BenchmarkClassifyDocs measures Classify over typical non-LLM documents:
// up to 32 MB of the html, Markdown, text, JSON, YAML and C header files
// under /usr/share/doc and /usr/include (MLSEC_LLMKIND_BENCH_DIR to choose
// another tree).
func BenchmarkClassifyDocs(b *testing.B) {
	roots := []string{"/usr/share/doc", "/usr/include"}
	if d := os.Getenv("MLSEC_LLMKIND_BENCH_DIR"); d != "" {
		roots = []string{d}
	}
	var docs [][]byte
	var total int64
	for _, root := range roots {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() || total > 32<<20 {
				return nil
			}
			switch filepath.Ext(p) {
			case ".html", ".md", ".txt", ".json", ".yaml", ".yml", ".h", "":
			default:
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil || len(data) == 0 || len(data) > MaxBytes {
				return nil
			}
			docs = append(docs, data)
			total += int64(len(data))
			return nil
		})
	}
	if len(docs) == 0 {
		b.Skip("no documents")
	}
	b.SetBytes(total)
	for b.Loop() {
		for _, d := range docs {
			Classify(d)
		}
	}
}
