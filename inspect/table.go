package inspect

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report for people: the model summary, then one block
// per artifact, then the files.
func WriteTable(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	m := r.Model
	row("path", r.Path)
	row("subject", r.Subject)
	if rp := r.Repository; rp != nil {
		row("repository", strings.TrimSpace(rp.Name+" "+rp.Revision)+" ("+rp.Type+", "+rp.Source+")")
	}
	row("name", m.Name)
	row("formats", strings.Join(m.Formats, ", "))
	row("framework", m.Framework)
	row("architecture", m.Architecture)
	row("model type", m.ModelType)
	row("task", m.Task)
	if m.Params > 0 {
		row("parameters", HumanCount(m.Params)+" ("+strconv.FormatUint(m.Params, 10)+")")
	}
	if m.Tensors > 0 {
		row("tensors", strconv.Itoa(m.Tensors))
	}
	row("dtypes", strings.Join(m.DTypes, ", "))
	row("quantization", m.Quantization)
	if m.ContextLength > 0 {
		row("context length", strconv.FormatUint(m.ContextLength, 10))
	}
	row("tokenizer", m.Tokenizer)
	for _, t := range m.ChatTemplates {
		row("chat template", fmt.Sprintf("%s %s sha256:%s (%d bytes)", t.Source, t.Name, t.SHA256[:16], t.Length))
	}
	row("license", m.License)
	row("languages", strings.Join(m.Languages, ", "))
	for _, b := range m.BaseModels {
		row("base model", refText(b))
	}
	for _, d := range m.Datasets {
		row("dataset", refText(d))
	}
	for _, in := range m.Inputs {
		row("input", in.Name+" "+in.Type)
	}
	for _, out := range m.Outputs {
		row("output", out.Name+" "+out.Type)
	}
	if r.Card != nil {
		row("evaluation results", plural(len(r.Card.Results), "metric"))
		var kinds []string
		for _, s := range r.Card.Sections {
			kinds = append(kinds, s.Kind)
		}
		row("card sections", strings.Join(kinds, ", "))
	}
	row("root digest", r.RootDigest)
	for _, a := range r.Artifacts {
		fmt.Fprintf(tw, "\t\n")
		row("artifact", a.Path)
		row("  format", string(a.Format))
		row("  framework", a.Framework)
		row("  architecture", a.Architecture)
		if a.Params > 0 {
			row("  parameters", HumanCount(a.Params))
		}
		if a.Tensors > 0 {
			row("  tensors", strconv.Itoa(a.Tensors))
		}
		row("  dtypes", strings.Join(a.DTypes, ", "))
		row("  quantization", a.Quantization)
		if a.ContextLength > 0 {
			row("  context length", strconv.FormatUint(a.ContextLength, 10))
		}
		row("  tokenizer", a.Tokenizer)
		if o := a.ONNX; o != nil {
			row("  producer", strings.TrimSpace(o.Producer+" "+o.ProducerVersion))
			var ops []string
			for _, op := range o.Opsets {
				ops = append(ops, op.Domain+" "+strconv.FormatInt(op.Version, 10))
			}
			row("  opsets", strings.Join(ops, ", "))
			row("  domains", strings.Join(o.Domains, ", "))
			row("  nodes", strconv.Itoa(o.Nodes))
		}
		if k := a.Keras; k != nil {
			row("  keras", strings.TrimSpace(k.Class+" "+k.Version))
			row("  layers", layerSummary(k.Layers))
		}
		if len(a.Imports) > 0 {
			row("  imports", strings.Join(a.Imports, ", "))
		}
		if a.Problems > 0 {
			row("  problems", strconv.Itoa(a.Problems)+" (run mlsec scan)")
		}
	}
	for _, a := range r.LLM {
		fmt.Fprintf(tw, "\t\n")
		row(string(a.Kind), a.Path)
		row("  dialect", string(a.Dialect))
		row("  name", a.Name)
		row("  version", a.Version)
		row("  url", a.URL)
		row("  models", strings.Join(a.Models, ", "))
		row("  rails", strings.Join(a.Rails, ", "))
		row("  servers", strings.Join(a.Servers, ", "))
		row("  tools", strings.Join(a.Tools, ", "))
		row("  skills", strings.Join(a.Skills, ", "))
		if a.BaseModel != "" {
			rev := a.BaseRevision
			if rev == "" {
				rev = "(unpinned)"
			}
			row("  base model", a.BaseModel+"@"+rev)
		}
		row("  peft", strings.TrimSpace(a.PEFTType+" "+a.TaskType))
		if a.Rank > 0 {
			row("  rank", strconv.Itoa(a.Rank))
		}
		row("  target modules", strings.Join(a.TargetModules, ", "))
		if a.Kind == KindRAGCorpus {
			row("  documents", fmt.Sprintf("%d (%d bytes)", a.Documents, a.DocumentBytes))
			row("  index", strings.Join(a.IndexFiles, ", "))
		}
	}
	fmt.Fprintf(tw, "\t\n")
	fmt.Fprintf(tw, "FILE\tSIZE\tFORMAT\tSHA256\n")
	for _, f := range r.Files {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", f.Path, f.Size, f.Format, f.SHA256)
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(tw, "warning\t%s\n", wn)
	}
	return tw.Flush()
}

func refText(r Reference) string {
	s := r.Name
	if r.Version != "" {
		s += "@" + r.Version
	}
	if r.Relation != "" {
		s += " (" + r.Relation + ")"
	}
	return s + " [" + r.Source + "]"
}

func plural(n int, what string) string {
	if n == 0 {
		return ""
	}
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// layerSummary counts the layer classes: "Dense×2, Dropout".
func layerSummary(layers []string) string {
	counts := map[string]int{}
	var order []string
	for _, l := range layers {
		if counts[l] == 0 {
			order = append(order, l)
		}
		counts[l]++
	}
	sort.Strings(order)
	var parts []string
	for _, l := range order {
		if counts[l] > 1 {
			parts = append(parts, fmt.Sprintf("%s×%d", l, counts[l]))
		} else {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, ", ")
}

// HumanCount formats a parameter count: 7.24B, 125M, 4.2K.
func HumanCount(n uint64) string {
	f := float64(n)
	switch {
	case n >= 1e12:
		return trimFloat(f/1e12) + "T"
	case n >= 1e9:
		return trimFloat(f/1e9) + "B"
	case n >= 1e6:
		return trimFloat(f/1e6) + "M"
	case n >= 1e3:
		return trimFloat(f/1e3) + "K"
	}
	return strconv.FormatUint(n, 10)
}

func trimFloat(f float64) string {
	s := strconv.FormatFloat(f, 'f', 2, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
