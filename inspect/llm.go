package inspect

import (
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/mlsecops/mlsec/format/llmkind"
)

// KindRAGCorpus is the LLMArtifact kind of a RAG corpus: a directory of
// documents beside a vector-index manifest.
const KindRAGCorpus llmkind.Kind = "rag-corpus"

// LLMArtifact is one artifact of an LLM application found by content: a
// prompt template, guardrail configuration, MCP manifest or tool list, A2A
// agent card, LoRA/PEFT adapter, vector-index manifest or RAG corpus.
type LLMArtifact struct {
	// Path is the file (or, for a corpus, the directory), slash separated
	// and relative to the inspected directory.
	Path string `json:"path"`
	// Kind is the llmkind kind ("prompt-template", ...) or "rag-corpus".
	Kind llmkind.Kind `json:"kind"`
	// Dialect is the concrete format ("prompty", "nemo-guardrails", ...).
	Dialect     llmkind.Dialect `json:"dialect,omitempty"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Version     string          `json:"version,omitempty"`
	// URL is an A2A agent's endpoint.
	URL string `json:"url,omitempty"`
	// Models are the models a prompt or guardrail configuration calls.
	Models []string `json:"models,omitempty"`
	// Rails are a guardrail configuration's input and output rail flows
	// ("input:self check input").
	Rails []string `json:"rails,omitempty"`
	// Servers are an MCP configuration's servers, Tools an MCP tool list's
	// tools, Skills an A2A card's skills (names, sorted).
	Servers []string `json:"servers,omitempty"`
	Tools   []string `json:"tools,omitempty"`
	Skills  []string `json:"skills,omitempty"`
	// BaseModel and BaseRevision name an adapter's base model;
	// PEFTType, TaskType, Rank and TargetModules describe it.
	BaseModel     string   `json:"base_model,omitempty"`
	BaseRevision  string   `json:"base_revision,omitempty"`
	PEFTType      string   `json:"peft_type,omitempty"`
	TaskType      string   `json:"task_type,omitempty"`
	Rank          int      `json:"rank,omitempty"`
	TargetModules []string `json:"target_modules,omitempty"`
	// Documents and DocumentBytes count a corpus's documents; IndexFiles
	// are its vector-index manifests.
	Documents     int      `json:"documents,omitempty"`
	DocumentBytes int64    `json:"document_bytes,omitempty"`
	IndexFiles    []string `json:"index_files,omitempty"`
}

// maxListed caps the names listed per LLMArtifact field.
const maxListed = 256

// llmFile classifies one file (at most llmkind.MaxBytes) and returns its
// LLM artifact, or nil.
func llmFile(full string, f *File) (*LLMArtifact, error) {
	if f.Size == 0 || f.Size > llmkind.MaxBytes {
		return nil, nil
	}
	fh, err := os.Open(full)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, llmkind.MaxBytes+1))
	if err != nil {
		return nil, err
	}
	res := llmkind.Classify(data)
	if res.Kind == llmkind.None {
		return nil, nil
	}
	a := &LLMArtifact{Path: f.Path, Kind: res.Kind, Dialect: res.Dialect}
	m, _ := res.Doc.(map[string]any)
	str := func(v any) string { s, _ := v.(string); return strings.TrimSpace(s) }
	switch res.Kind {
	case llmkind.PromptTemplate:
		a.Name, a.Description = str(m["name"]), str(m["description"])
		if mod, ok := m["model"].(map[string]any); ok {
			cfg, _ := mod["configuration"].(map[string]any)
			a.Models = addName(a.Models, firstString(str(cfg["model"]), str(cfg["azure_deployment"]), str(cfg["name"])))
		} else {
			a.Models = addName(a.Models, str(m["model"]))
		}
		if l, ok := m["providers"].([]any); ok {
			for _, p := range l {
				a.Models = addName(a.Models, str(p))
			}
		}
	case llmkind.GuardrailConfig:
		if l, ok := m["models"].([]any); ok {
			for _, e := range l {
				o, _ := e.(map[string]any)
				if mod := str(o["model"]); mod != "" {
					a.Models = addName(a.Models, str(o["type"])+":"+str(o["engine"])+"/"+mod)
				}
			}
		}
		rails, _ := m["rails"].(map[string]any)
		for _, side := range []string{"input", "output", "retrieval", "dialog", "execution"} {
			sec, _ := rails[side].(map[string]any)
			if l, ok := sec["flows"].([]any); ok {
				for _, fl := range l {
					a.Rails = addName(a.Rails, side+":"+str(fl))
				}
			}
		}
	case llmkind.MCPManifest:
		a.Name, a.Description, a.Version = str(m["name"]), str(m["description"]), str(m["version"])
		for _, k := range []string{"mcpServers", "servers"} {
			if s, ok := m[k].(map[string]any); ok {
				for n := range s {
					a.Servers = addName(a.Servers, n)
				}
			}
		}
		tools := m["tools"]
		if r, ok := m["result"].(map[string]any); ok && tools == nil {
			tools = r["tools"]
		}
		if l, ok := tools.([]any); ok {
			for _, e := range l {
				o, _ := e.(map[string]any)
				a.Tools = addName(a.Tools, str(o["name"]))
			}
		}
	case llmkind.A2AAgentCard:
		a.Name, a.Description, a.Version, a.URL = str(m["name"]), str(m["description"]), str(m["version"]), str(m["url"])
		if l, ok := m["skills"].([]any); ok {
			for _, e := range l {
				o, _ := e.(map[string]any)
				a.Skills = addName(a.Skills, firstString(str(o["id"]), str(o["name"])))
			}
		}
	case llmkind.LoRAAdapter:
		a.BaseModel, a.BaseRevision = str(m["base_model_name_or_path"]), str(m["revision"])
		a.PEFTType, a.TaskType = str(m["peft_type"]), str(m["task_type"])
		if r, err := strconv.Atoi(fmt.Sprint(m["r"])); err == nil && r > 0 {
			a.Rank = r
		}
		switch t := m["target_modules"].(type) {
		case []any:
			for _, e := range t {
				a.TargetModules = addName(a.TargetModules, str(e))
			}
		case string:
			a.TargetModules = addName(a.TargetModules, t)
		}
	}
	for _, l := range [][]string{a.Models, a.Rails, a.Servers, a.Tools, a.Skills} {
		sort.Strings(l)
	}
	return a, nil
}

func addName(l []string, s string) []string {
	s = strings.TrimSpace(s)
	if s == "" || s == ":/" || len(l) >= maxListed || len(s) > 512 {
		return l
	}
	for _, x := range l {
		if x == s {
			return l
		}
	}
	return append(l, s)
}

func firstString(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// docExts are the extensions of documents a RAG corpus ingests.
var docExts = []string{".txt", ".md", ".markdown", ".rst", ".html", ".htm", ".json", ".jsonl", ".csv", ".pdf", ".xml", ".docx"}

// indexDirs are directory names that hold a vector store next to the
// documents (LlamaIndex's storage/, persist dirs, ...).
var indexDirs = map[string]bool{"index": true, "storage": true, "persist": true, "vector_store": true, "vectorstore": true, ".index": true}

// corpora adds a rag-corpus artifact for each directory that holds a
// vector-index manifest (or whose index/, storage/ ... subdirectory does):
// its documents are the files below it with a document extension that are
// not themselves LLM artifacts.
func (r *Report) corpora() {
	roots := map[string][]string{}
	for _, a := range r.LLM {
		if a.Kind != llmkind.VectorIndex {
			continue
		}
		dir := path.Dir(a.Path)
		if indexDirs[path.Base(dir)] {
			dir = path.Dir(dir)
		}
		roots[dir] = append(roots[dir], a.Path)
	}
	if len(roots) == 0 {
		return
	}
	claimed := map[string]bool{}
	for _, a := range r.LLM {
		claimed[a.Path] = true
	}
	dirs := make([]string, 0, len(roots))
	for d := range roots {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		c := LLMArtifact{Path: dir, Kind: KindRAGCorpus, IndexFiles: roots[dir]}
		prefix := dir + "/"
		if dir == "." {
			prefix = ""
		}
		for _, f := range r.Files {
			if !strings.HasPrefix(f.Path, prefix) || claimed[f.Path] || indexDirs[path.Base(path.Dir(f.Path))] {
				continue
			}
			ext := strings.ToLower(path.Ext(f.Path))
			for _, e := range docExts {
				if ext == e {
					c.Documents++
					c.DocumentBytes += f.Size
					break
				}
			}
		}
		r.LLM = append(r.LLM, c)
	}
}

// adapterBases records the base model of every LoRA adapter among the
// model's base models (relation "adapter"), unless the card names it.
func (r *Report) adapterBases() {
	for _, a := range r.LLM {
		if a.Kind != llmkind.LoRAAdapter || a.BaseModel == "" {
			continue
		}
		known := false
		for i, b := range r.Model.BaseModels {
			if strings.EqualFold(b.Name, a.BaseModel) {
				known = true
				if b.Version == "" && a.BaseRevision != "" {
					r.Model.BaseModels[i].Version = a.BaseRevision
				}
			}
		}
		if !known {
			ref := Reference{Name: a.BaseModel, Version: a.BaseRevision, Source: "adapter_config", Relation: "adapter"}
			if hubRepoID(a.BaseModel) {
				ref.URL = "https://huggingface.co/" + a.BaseModel
			}
			r.Model.BaseModels = append(r.Model.BaseModels, ref)
		}
	}
}

// hubRepoID reports whether s looks like a Hugging Face "ORG/NAME" id.
func hubRepoID(s string) bool {
	org, name, ok := strings.Cut(s, "/")
	return ok && org != "" && name != "" && !strings.ContainsAny(name, "/\\ ") && !strings.HasPrefix(org, ".") && !strings.HasPrefix(org, "~")
}
