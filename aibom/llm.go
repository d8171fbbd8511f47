package aibom

import (
	"strconv"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/mlsecops/mlsec/format/llmkind"
	"github.com/mlsecops/mlsec/inspect"
)

// llmDataType is the CycloneDX data type of each LLM artifact kind that
// is described as a data component (LoRA adapters are
// machine-learning-model components).
var llmDataType = map[llmkind.Kind]cdx.ComponentDataType{
	llmkind.PromptTemplate:  cdx.ComponentDataTypeConfiguration,
	llmkind.GuardrailConfig: cdx.ComponentDataTypeConfiguration,
	llmkind.MCPManifest:     cdx.ComponentDataTypeDefinition,
	llmkind.A2AAgentCard:    cdx.ComponentDataTypeDefinition,
	llmkind.VectorIndex:     cdx.ComponentDataTypeDefinition,
	inspect.KindRAGCorpus:   cdx.ComponentDataTypeDataset,
}

// llmComponents describes the LLM-application artifacts of the report:
// one component each, bom-ref "llm:KIND:PATH", with the mlsec:kind property
// and the facts inspect found as mlsec: properties.
func llmComponents(r *inspect.Report) []cdx.Component {
	sha := map[string]string{}
	for _, f := range r.Files {
		sha[f.Path] = f.SHA256
	}
	var out []cdx.Component
	for _, a := range r.LLM {
		name := a.Name
		if name == "" {
			name = a.Path
		}
		c := cdx.Component{Name: name, Version: a.Version, Description: a.Description, BOMRef: "llm:" + string(a.Kind) + ":" + a.Path}
		props := []cdx.Property{{Name: propPrefix + "kind", Value: string(a.Kind)}, {Name: propPrefix + "path", Value: a.Path}}
		add := func(k, v string) {
			if v != "" {
				props = append(props, cdx.Property{Name: propPrefix + k, Value: v})
			}
		}
		add("dialect", string(a.Dialect))
		add("url", a.URL)
		for _, m := range a.Models {
			add("model", m)
		}
		for _, x := range a.Rails {
			add("rail", x)
		}
		for _, x := range a.Servers {
			add("mcp-server", x)
		}
		for _, x := range a.Tools {
			add("tool", x)
		}
		for _, x := range a.Skills {
			add("skill", x)
		}
		if h := sha[a.Path]; h != "" {
			c.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: h}}
		}
		if a.Kind == llmkind.LoRAAdapter {
			c.Type = cdx.ComponentTypeMachineLearningModel
			add("peft-type", a.PEFTType)
			add("task-type", a.TaskType)
			if a.Rank > 0 {
				add("lora-rank", strconv.Itoa(a.Rank))
			}
			add("target-modules", strings.Join(a.TargetModules, ","))
			add("base-model", a.BaseModel)
			if a.BaseRevision != "" {
				add("base-model-revision", a.BaseRevision)
			} else {
				add("base-model-revision", "unpinned")
			}
			if a.BaseModel != "" {
				c.Pedigree = &cdx.Pedigree{Ancestors: ancestors([]inspect.Reference{{
					Name: a.BaseModel, Version: a.BaseRevision, Source: "adapter_config", Relation: "adapter",
					URL: hubURL(a.BaseModel),
				}})}
				for i := range *c.Pedigree.Ancestors {
					(*c.Pedigree.Ancestors)[i].BOMRef = c.BOMRef + ":base"
				}
			}
		} else {
			c.Type = cdx.ComponentTypeData
			data := cdx.ComponentData{Type: llmDataType[a.Kind], Name: a.Path}
			if data.Type == "" {
				data.Type = cdx.ComponentDataTypeOther
			}
			if a.Kind == inspect.KindRAGCorpus {
				add("documents", strconv.Itoa(a.Documents))
				add("document-bytes", strconv.FormatInt(a.DocumentBytes, 10))
				for _, ix := range a.IndexFiles {
					add("index-file", ix)
				}
			}
			c.Data = &[]cdx.ComponentData{data}
		}
		c.Properties = &props
		out = append(out, c)
	}
	return out
}

// hubURL is the Hugging Face address of an "ORG/NAME" id, "" otherwise.
func hubURL(id string) string {
	org, name, ok := strings.Cut(id, "/")
	if !ok || org == "" || name == "" || strings.ContainsAny(name, "/\\ ") || strings.HasPrefix(org, ".") || strings.HasPrefix(org, "~") {
		return ""
	}
	return "https://huggingface.co/" + id
}
