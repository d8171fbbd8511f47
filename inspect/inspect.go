// Package inspect gathers the facts an AI-BOM is built from: for a model or
// dataset directory (a Hugging Face repository, a cache snapshot or a plain
// directory) or a single model file, it records the format and framework of
// every model file, its architecture, parameter and tensor counts, dtypes,
// quantisation, context length, tokenizer and chat templates, ONNX opsets and
// Keras layers, and the model card's licence, base models, datasets,
// evaluation results and text sections.
//
// Everything comes from local files and the parsers under format/: tensor
// data is never read. File hashes and the OpenSSF Model Signing root digest
// are computed only when Options.Digest is set, because they read every byte.
package inspect

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/hfrepo"
	"github.com/mlsecops/mlsec/signing"
)

// Schema names the JSON document Inspect's Report encodes to.
const Schema = "mlsec.inspect/v1"

// Subjects of a report.
const (
	SubjectModel   = "model"
	SubjectDataset = "dataset"
)

// Caps on what Inspect reads.
const (
	// DefaultMaxFiles caps the files listed in a directory.
	DefaultMaxFiles = 10_000
	// MaxSmallFile caps a JSON or README file read whole.
	MaxSmallFile = 16 << 20
)

// ErrPath is returned when the path cannot be inspected.
var ErrPath = errors.New("inspect: cannot read path")

// Options configure Inspect.
type Options struct {
	// Digest computes the sha256 of every file and the OMS root digest
	// (signing.HashModel with the files method). It reads every byte.
	Digest bool
	// Name ("ORG/NAME") and Revision override the repository identity
	// found on disk; they feed the package URLs.
	Name, Revision string
	// MaxFiles caps the files listed (DefaultMaxFiles when zero).
	MaxFiles int
	// Log receives debug messages; nil discards them.
	Log *slog.Logger
}

// Report is everything Inspect learned about a path.
type Report struct {
	Schema string `json:"schema"`
	// Path is the inspected path as given.
	Path string `json:"path"`
	// Subject is "model" or "dataset".
	Subject string `json:"subject"`
	// Repository identifies a Hugging Face repository, when the path is one
	// (or when Options named it).
	Repository *Repository `json:"repository,omitempty"`
	// Model summarises the artifacts, config files and the card.
	Model Model `json:"model"`
	// Card holds the README's front matter and text sections.
	Card *Card `json:"card,omitempty"`
	// Config holds the Hugging Face configuration files.
	Config *Config `json:"config,omitempty"`
	// Artifacts are the model files, one per recognised format file.
	Artifacts []Artifact `json:"artifacts"`
	// LLM are the artifacts of LLM applications found by content (prompt
	// templates, guardrail configurations, MCP manifests, A2A agent cards,
	// LoRA adapters, vector-index manifests and RAG corpora), by path.
	LLM []LLMArtifact `json:"llm_artifacts,omitempty"`
	// Files are every regular file, sorted by path.
	Files []File `json:"files"`
	// RootDigest is the OMS root digest ("sha256:<hex>") with Options.Digest.
	RootDigest string `json:"root_digest,omitempty"`
	// Warnings say what could not be read or understood.
	Warnings []string `json:"warnings,omitempty"`
}

// Repository identifies a Hugging Face repository.
type Repository struct {
	// Name is "ORG/NAME" (or "NAME" when the organisation is unknown).
	Name string `json:"name"`
	// Type is "model" or "dataset".
	Type     string `json:"type"`
	Revision string `json:"revision,omitempty"`
	// Source says how it was recognised: "hf-cache", "git",
	// "hf-local-dir", "files" or "options".
	Source string `json:"source"`
}

// File is one file of the inspected path.
type File struct {
	// Path is slash separated, relative to the inspected directory (the base
	// name for a single file).
	Path string `json:"path"`
	Size int64  `json:"size"`
	// Format is the detected format, "" for files that are not models.
	Format format.Kind `json:"format,omitempty"`
	// SHA256 is the hex digest with Options.Digest.
	SHA256 string `json:"sha256,omitempty"`
}

// Model is the summary of a model (or dataset) across its files.
type Model struct {
	Name         string   `json:"name,omitempty"`
	Formats      []string `json:"formats,omitempty"`
	Framework    string   `json:"framework,omitempty"`
	Architecture string   `json:"architecture,omitempty"`
	// ModelType is config.json's model_type (the architecture family).
	ModelType     string   `json:"model_type,omitempty"`
	Task          string   `json:"task,omitempty"`
	Params        uint64   `json:"params,omitempty"`
	Tensors       int      `json:"tensors,omitempty"`
	DTypes        []string `json:"dtypes,omitempty"`
	Quantization  string   `json:"quantization,omitempty"`
	ContextLength uint64   `json:"context_length,omitempty"`
	Tokenizer     string   `json:"tokenizer,omitempty"`
	// ChatTemplates are the chat templates found anywhere (GGUF metadata,
	// tokenizer_config.json, chat_template.jinja), by hash.
	ChatTemplates []ChatTemplate `json:"chat_templates,omitempty"`
	// Description, Version, Organization, Author and URL come from the card
	// and the repository id, else from GGUF general.* metadata.
	Description  string `json:"description,omitempty"`
	Version      string `json:"version,omitempty"`
	Organization string `json:"organization,omitempty"`
	Author       string `json:"author,omitempty"`
	URL          string `json:"url,omitempty"`
	// License is the licence as declared (card, else GGUF metadata).
	License    string      `json:"license,omitempty"`
	BaseModels []Reference `json:"base_models,omitempty"`
	Datasets   []Reference `json:"datasets,omitempty"`
	Languages  []string    `json:"languages,omitempty"`
	// Inputs and Outputs describe the model interface where a format
	// records it (ONNX graph inputs and outputs).
	Inputs  []IO `json:"inputs,omitempty"`
	Outputs []IO `json:"outputs,omitempty"`
	// Hyperparameters are the scalar architecture settings of config.json
	// (hidden_size, num_hidden_layers, ...).
	Hyperparameters map[string]string `json:"hyperparameters,omitempty"`
}

// Reference names a related model or dataset.
type Reference struct {
	// Name is "ORG/NAME" for Hugging Face references, else free text.
	Name string `json:"name"`
	// URL is where it is published, when known.
	URL string `json:"url,omitempty"`
	// Version is a version or revision, when known.
	Version string `json:"version,omitempty"`
	// Source is where the reference was found: "card", "gguf" or
	// "adapter_config" (a PEFT adapter's base model).
	Source string `json:"source"`
	// Relation is the card's base_model_relation (finetune, adapter,
	// quantized, merge) for base models.
	Relation string `json:"relation,omitempty"`
}

// IO is one model input or output.
type IO struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
}

// ChatTemplate is a chat template, recorded by hash.
type ChatTemplate struct {
	// Name is "default" or the template's name.
	Name string `json:"name"`
	// Source is where it was found: a file path, with the GGUF key after a
	// colon for GGUF files.
	Source string `json:"source"`
	SHA256 string `json:"sha256"`
	Length int    `json:"length"`
}

// Inspect gathers the facts about path: a directory or a single file.
func Inspect(ctx context.Context, path string, opts Options) (*Report, error) {
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = DefaultMaxFiles
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPath, err)
	}
	rep := &Report{Schema: Schema, Path: path, Subject: SubjectModel, Artifacts: []Artifact{}, Files: []File{}}
	root := path
	if fi.IsDir() {
		// Symbolic links are followed only while they stay inside the
		// directory (or, for a cache snapshot, inside its cache entry, where
		// the blobs are): a link to /etc/passwd named README.md must not end
		// up in a BOM.
		allowed := []string{path}
		if ri, ok := hfrepo.IsRepo(path); ok {
			rep.Repository = &Repository{Name: ri.Name, Type: ri.Type, Revision: ri.Revision, Source: ri.Source}
			root = ri.Root
			allowed = []string{ri.Root}
			if ri.Cache != "" {
				allowed = append(allowed, ri.Cache)
			}
		}
		if err := rep.listDir(ctx, root, allowed, opts.MaxFiles); err != nil {
			return nil, err
		}
	} else if fi.Mode().IsRegular() {
		rep.Files = append(rep.Files, File{Path: filepath.Base(path), Size: fi.Size()})
		root = filepath.Dir(path)
	} else {
		return nil, fmt.Errorf("%w: %s is not a regular file or directory", ErrPath, path)
	}
	if opts.Name != "" || opts.Revision != "" {
		if rep.Repository == nil {
			rep.Repository = &Repository{Type: SubjectModel, Source: "options"}
		}
		if opts.Name != "" {
			rep.Repository.Name = opts.Name
			if rep.Repository.Source == "files" {
				rep.Repository.Source = "options"
			}
		}
		if opts.Revision != "" {
			rep.Repository.Revision = opts.Revision
		}
	}

	// Model files, by content.
	for i := range rep.Files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f := &rep.Files[i]
		full := filepath.Join(root, filepath.FromSlash(f.Path))
		if !fi.IsDir() {
			full = path
		}
		a, err := inspectFile(ctx, full, f)
		if err != nil {
			rep.warn("%s: %v", f.Path, err)
			continue
		}
		if a != nil {
			rep.Artifacts = append(rep.Artifacts, *a)
			continue
		}
		la, err := llmFile(full, f)
		if err != nil {
			rep.warn("%s: %v", f.Path, err)
			continue
		}
		if la != nil {
			rep.LLM = append(rep.LLM, *la)
		}
	}
	rep.corpora()
	if fi.IsDir() {
		rep.readRepoFiles(root)
	}
	if rep.Repository != nil && rep.Repository.Type == SubjectDataset {
		rep.Subject = SubjectDataset
	} else if rep.Card != nil && rep.Card.isDatasetCard() && len(rep.Artifacts) == 0 {
		rep.Subject = SubjectDataset
	} else if fi.IsDir() && len(rep.Artifacts) == 0 && rep.Config == nil && hasDataFiles(rep.Files) {
		// No model file and no model configuration, but data files: a
		// dataset without a card.
		rep.Subject = SubjectDataset
	}
	rep.summarise(path, fi.IsDir())
	rep.adapterBases()

	if opts.Digest {
		if err := rep.digest(ctx, path, fi.IsDir()); err != nil {
			return nil, err
		}
	}
	log.Debug("inspected", "path", path, "files", len(rep.Files), "artifacts", len(rep.Artifacts))
	return rep, nil
}

func (r *Report) warn(format string, args ...any) {
	r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...))
}

// listDir lists the regular files below root, skipping .git and the
// huggingface_hub .cache directory.
func (r *Report) listDir(ctx context.Context, root string, allowed []string, max int) error {
	var inside []string
	for _, a := range allowed {
		if real, err := filepath.EvalSymlinks(a); err == nil {
			inside = append(inside, real)
		}
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			r.warn("%s: %v", p, err)
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if p != root && (d.Name() == ".git" || rel == ".cache") {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			real, err := filepath.EvalSymlinks(p)
			if err != nil || !within(real, inside) {
				r.warn("%s: symbolic link leads outside the repository: skipped", rel)
				return nil
			}
		}
		info, err := os.Stat(p) // follows links to files
		if err != nil || !info.Mode().IsRegular() {
			return nil
		}
		if len(r.Files) >= max {
			r.warn("more than %d files: the rest are not listed", max)
			return filepath.SkipAll
		}
		r.Files = append(r.Files, File{Path: rel, Size: info.Size()})
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPath, err)
	}
	sort.Slice(r.Files, func(i, j int) bool { return r.Files[i].Path < r.Files[j].Path })
	return nil
}

// dataExts are the extensions of common dataset files.
var dataExts = []string{".jsonl", ".csv", ".tsv", ".parquet", ".arrow", ".jsonl.gz", ".jsonl.zst", ".csv.gz", ".tfrecord"}

// hasDataFiles reports whether any file looks like dataset content.
func hasDataFiles(files []File) bool {
	for _, f := range files {
		name := strings.ToLower(path.Base(f.Path))
		if strings.HasPrefix(name, ".") {
			continue
		}
		for _, ext := range dataExts {
			if strings.HasSuffix(name, ext) {
				return true
			}
		}
	}
	return false
}

// within reports whether path lies inside one of the directories.
func within(path string, dirs []string) bool {
	for _, d := range dirs {
		if rel, err := filepath.Rel(d, path); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			return true
		}
	}
	return false
}

// digest hashes every file with the OMS serialization (files method,
// sha256), filling File.SHA256 and RootDigest. In a directory, the
// signature (model.sig) and the claims file are evidence about the model,
// not part of it: they are left out as mlsec sign leaves them out, so that
// RootDigest is the digest the model's signature and attestations record.
func (r *Report) digest(ctx context.Context, path string, dir bool) error {
	var ignore []string
	if dir {
		ignore = []string{signing.DefaultSignatureName, signing.ClaimsFileName}
	}
	m, err := signing.HashModel(ctx, path, signing.HashOptions{Method: signing.MethodFiles, Hash: signing.SHA256, AllowSymlinks: true, IgnorePaths: ignore})
	if err != nil {
		return fmt.Errorf("inspect: hashing %s: %w", path, err)
	}
	r.RootDigest = "sha256:" + hex.EncodeToString(m.RootDigest())
	byPath := map[string]string{}
	for _, it := range m.Items {
		p := it.Path
		if !dir {
			p = filepath.Base(path)
		}
		byPath[p] = hex.EncodeToString(it.Digest)
	}
	for i := range r.Files {
		r.Files[i].SHA256 = byPath[r.Files[i].Path]
	}
	return nil
}

// summarise merges artifact, config and card facts into r.Model.
func (r *Report) summarise(path string, dir bool) {
	m := &r.Model
	var dtypes []string
	formats := map[string]bool{}
	for _, a := range r.Artifacts {
		formats[string(a.Format)] = true
		m.Params += a.Params
		m.Tensors += a.Tensors
		dtypes = append(dtypes, a.DTypes...)
		setIf(&m.Framework, a.Framework)
		setIf(&m.Architecture, a.Architecture)
		setIf(&m.Quantization, a.Quantization)
		setIf(&m.Tokenizer, a.Tokenizer)
		setIf(&m.Name, a.Name)
		if m.ContextLength == 0 {
			m.ContextLength = a.ContextLength
		}
		m.ChatTemplates = append(m.ChatTemplates, a.ChatTemplates...)
		if a.ONNX != nil {
			m.Inputs = append(m.Inputs, a.ONNX.Inputs...)
			m.Outputs = append(m.Outputs, a.ONNX.Outputs...)
		}
	}
	for f := range formats {
		m.Formats = append(m.Formats, f)
	}
	sort.Strings(m.Formats)
	slices.Sort(dtypes)
	m.DTypes = slices.Compact(dtypes)

	if c := r.Config; c != nil {
		// config.json names the architecture class and the family; it is more
		// precise than what a weights file stores.
		if c.Architecture != "" {
			m.Architecture = c.Architecture
		}
		setIf(&m.ModelType, c.ModelType)
		if c.ContextLength > 0 {
			m.ContextLength = c.ContextLength
		}
		if c.Quantization != "" {
			m.Quantization = c.Quantization
		}
		setIf(&m.Tokenizer, c.Tokenizer)
		m.ChatTemplates = append(m.ChatTemplates, c.ChatTemplates...)
		if len(c.Hyperparameters) > 0 {
			m.Hyperparameters = c.Hyperparameters
		}
		if c.TransformersVersion != "" && (m.Framework == "" || m.Framework == "pytorch" || m.Framework == "safetensors") {
			m.Framework = "transformers"
		}
	}
	if c := r.Card; c != nil {
		if c.License != "" {
			m.License = c.License
			if c.License == "other" && c.LicenseName != "" {
				m.License = c.LicenseName
			}
		}
		setIf(&m.Task, c.PipelineTag)
		if c.LibraryName != "" {
			m.Framework = c.LibraryName
		}
		setIf(&m.Name, c.ModelName)
		m.Languages = c.Languages
		for _, b := range c.BaseModels {
			m.BaseModels = append(m.BaseModels, Reference{Name: b, URL: hfURL(SubjectModel, b), Source: "card", Relation: c.BaseModelRelation})
		}
		for _, d := range c.Datasets {
			m.Datasets = append(m.Datasets, Reference{Name: d, URL: hfURL(SubjectDataset, d), Source: "card"})
		}
	}
	if r.Card != nil {
		m.Description = r.Card.Description
	}
	// GGUF general.* metadata fills what the card did not say.
	for _, a := range r.Artifacts {
		if m.License == "" {
			m.License = a.License
		}
		setIf(&m.Description, a.Metadata["general.description"])
		setIf(&m.Version, a.Metadata["general.version"])
		setIf(&m.Organization, a.Metadata["general.organization"])
		setIf(&m.Author, a.Metadata["general.author"])
		setIf(&m.URL, firstNonEmpty(a.Metadata["general.url"], a.Metadata["general.repo_url"], a.Metadata["general.source.url"], a.Metadata["general.source.repo_url"]))
		m.BaseModels = mergeRefs(m.BaseModels, a.BaseModels)
		m.Datasets = mergeRefs(m.Datasets, a.Datasets)
	}
	if r.Repository != nil && r.Repository.Name != "" && (r.Repository.Source != "files" || m.Name == "") {
		m.Name = r.Repository.Name
	}
	if m.Name == "" {
		if dir {
			abs, _ := filepath.Abs(path)
			m.Name = filepath.Base(abs)
		} else {
			m.Name = filepath.Base(path)
		}
	}
	sort.SliceStable(m.ChatTemplates, func(i, j int) bool {
		return m.ChatTemplates[i].Source+m.ChatTemplates[i].Name < m.ChatTemplates[j].Source+m.ChatTemplates[j].Name
	})
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// mergeRefs appends the references of add whose names are not in refs.
func mergeRefs(refs, add []Reference) []Reference {
	for _, a := range add {
		dup := false
		for _, r := range refs {
			if strings.EqualFold(r.Name, a.Name) {
				dup = true
				break
			}
		}
		if !dup {
			refs = append(refs, a)
		}
	}
	return refs
}

func setIf(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

// hfURL returns the Hugging Face URL of an "ORG/NAME" reference, "" for
// anything else (URLs are returned as they are).
func hfURL(kind, name string) string {
	if strings.HasPrefix(name, "https://") || strings.HasPrefix(name, "http://") {
		return name
	}
	if !IsHFName(name) {
		return ""
	}
	if kind == SubjectDataset {
		return "https://huggingface.co/datasets/" + name
	}
	return "https://huggingface.co/" + name
}

// IsHFName reports whether s looks like a Hugging Face repository id:
// "NAME" or "ORG/NAME" with letters, digits, '-', '_' and '.'.
func IsHFName(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	parts := strings.Split(s, "/")
	if len(parts) > 2 {
		return false
	}
	for _, p := range parts {
		if p == "" || p == "." || p == ".." {
			return false
		}
		for _, c := range p {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
				return false
			}
		}
	}
	return true
}
