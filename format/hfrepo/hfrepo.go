// Package hfrepo recognises Hugging Face model and dataset repositories on
// disk — git clones, huggingface_hub local_dir downloads, plain copies and
// cache snapshots (models--ORG--NAME/snapshots/REV) — and collects the
// repository-level facts the hfrepo detector judges: auto_map entries that
// make transformers load custom code, Python files, and weight files by
// serialization.
//
// Files are read bounded; symbolic links are followed only when they stay
// inside the repository or, for cache snapshots, inside the cache entry.
package hfrepo

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/mlsecops/mlsec/internal/regfile"
)

// Sentinel errors.
var (
	// ErrOutside means a link leads outside the repository or cache entry.
	ErrOutside = errors.New("hfrepo: link leads outside the repository")
	// ErrLimit means a cap on files, depth or bytes was reached.
	ErrLimit = errors.New("hfrepo: limit exceeded")
)

// Repository types.
const (
	TypeModel   = "model"
	TypeDataset = "dataset"
	TypeSpace   = "space"
)

// RepoInfo identifies a repository on disk.
type RepoInfo struct {
	// Root is the directory holding the repository's files (the snapshot
	// directory for a cache snapshot).
	Root string
	// Type is "model", "dataset" or "space".
	Type string
	// Name is "ORG/NAME" (or "NAME") when known, else the directory name.
	Name string
	// Revision is the commit (or ref) checked out, "" when unknown.
	Revision string
	// Cache is the models--ORG--NAME directory of a cache snapshot, "" otherwise.
	Cache string
	// Source says how the repository was recognised: "hf-cache", "git",
	// "hf-local-dir" or "files".
	Source string
}

// Caps on what IsRepo and Inspect read.
const (
	maxSmallFile = 4 << 20 // one JSON or text file
	maxFiles     = 100_000
	maxDepth     = 32
	maxJSONFiles = 64
)

var (
	cacheRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(models|datasets|spaces)--(.+)$`) })
	revRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`) })
)

// IsRepo reports whether dir is a Hugging Face repository or cache
// snapshot, and identifies it.
func IsRepo(dir string) (RepoInfo, bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return RepoInfo{}, false
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return RepoInfo{}, false
	}
	// Cache snapshot: <type>s--ORG--NAME/snapshots/REV.
	if snaps := filepath.Dir(abs); filepath.Base(snaps) == "snapshots" {
		entry := filepath.Dir(snaps)
		if m := cacheRE().FindStringSubmatch(filepath.Base(entry)); m != nil {
			return RepoInfo{
				Root:     abs,
				Type:     strings.TrimSuffix(m[1], "s"),
				Name:     strings.ReplaceAll(m[2], "--", "/"),
				Revision: filepath.Base(abs),
				Cache:    entry,
				Source:   "hf-cache",
			}, true
		}
	}
	info := RepoInfo{Root: abs, Name: filepath.Base(abs)}
	if name, typ, rev, ok := gitRemote(abs); ok {
		info.Name, info.Type, info.Revision, info.Source = name, typ, rev, "git"
	} else if rev, ok := localDirRevision(abs); ok {
		info.Revision, info.Source = rev, "hf-local-dir"
	} else if looksLikeRepo(abs) {
		info.Source = "files"
	} else {
		return RepoInfo{}, false
	}
	if info.Type == "" {
		info.Type = guessType(abs)
	}
	return info, true
}

// readSmall reads a regular file of at most maxSmallFile bytes.
func readSmall(p string) ([]byte, error) {
	f, _, err := regfile.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSmallFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSmallFile {
		return nil, fmt.Errorf("%w: %s larger than %d bytes", ErrLimit, p, maxSmallFile)
	}
	return b, nil
}

// gitRemote reads .git/config for a Hugging Face remote and .git/HEAD for
// the checked-out commit.
func gitRemote(dir string) (name, typ, rev string, ok bool) {
	cfg, err := readSmall(filepath.Join(dir, ".git", "config"))
	if err != nil {
		return "", "", "", false
	}
	sc := bufio.NewScanner(bytes.NewReader(cfg))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		k, v, found := strings.Cut(line, "=")
		if !found || strings.TrimSpace(k) != "url" {
			continue
		}
		if n, t, ok2 := parseHFURL(strings.TrimSpace(v)); ok2 {
			name, typ, ok = n, t, true
			break
		}
	}
	if !ok {
		return "", "", "", false
	}
	return name, typ, gitHead(filepath.Join(dir, ".git")), true
}

// parseHFURL extracts ORG/NAME and the type from a huggingface.co URL.
func parseHFURL(u string) (name, typ string, ok bool) {
	for _, host := range []string{"huggingface.co/", "hf.co/"} {
		i := strings.Index(u, host)
		if i < 0 {
			continue
		}
		p := strings.TrimSuffix(strings.Trim(u[i+len(host):], "/"), ".git")
		typ = TypeModel
		switch {
		case strings.HasPrefix(p, "datasets/"):
			typ, p = TypeDataset, strings.TrimPrefix(p, "datasets/")
		case strings.HasPrefix(p, "spaces/"):
			typ, p = TypeSpace, strings.TrimPrefix(p, "spaces/")
		}
		if p == "" {
			return "", "", false
		}
		return p, typ, true
	}
	return "", "", false
}

// gitHead resolves HEAD to a commit through loose refs or packed-refs.
func gitHead(gitDir string) string {
	b, err := readSmall(filepath.Join(gitDir, "HEAD"))
	if err != nil {
		return ""
	}
	head := strings.TrimSpace(string(b))
	ref, isRef := strings.CutPrefix(head, "ref: ")
	if !isRef {
		return head
	}
	ref = path.Clean(ref)
	if !strings.HasPrefix(ref, "refs/") || strings.Contains(ref, "..") {
		return ""
	}
	if b, err := readSmall(filepath.Join(gitDir, filepath.FromSlash(ref))); err == nil {
		return strings.TrimSpace(string(b))
	}
	if b, err := readSmall(filepath.Join(gitDir, "packed-refs")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if h, r, ok := strings.Cut(strings.TrimSpace(line), " "); ok && r == ref {
				return h
			}
		}
	}
	return strings.TrimPrefix(ref, "refs/heads/")
}

// localDirRevision reads the commit huggingface_hub records for files
// downloaded with local_dir (.cache/huggingface/download/*.metadata: the
// first line is the commit hash).
func localDirRevision(dir string) (string, bool) {
	md := filepath.Join(dir, ".cache", "huggingface", "download")
	var rev string
	found := false
	n := 0
	filepath.WalkDir(md, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		n++
		if n > 1000 || found {
			return filepath.SkipAll
		}
		if d.Type().IsRegular() && strings.HasSuffix(p, ".metadata") {
			if b, err := readSmall(p); err == nil {
				line, _, _ := strings.Cut(string(b), "\n")
				if line = strings.TrimSpace(line); revRE().MatchString(line) {
					rev, found = line, true
				}
			}
		}
		return nil
	})
	if !found {
		if fi, err := os.Stat(md); err == nil && fi.IsDir() {
			return "", true
		}
	}
	return rev, found
}

// looksLikeRepo recognises a repository by its files: a transformers-style
// config.json, a model card with YAML front matter next to weights or
// data, or dataset metadata files.
func looksLikeRepo(dir string) bool {
	if b, err := readSmall(filepath.Join(dir, "config.json")); err == nil {
		var c map[string]json.RawMessage
		if json.Unmarshal(b, &c) == nil {
			for _, k := range []string{"model_type", "architectures", "auto_map", "_name_or_path", "transformers_version"} {
				if _, ok := c[k]; ok {
					return true
				}
			}
		}
	}
	for _, f := range []string{"dataset_infos.json", "dataset_dict.json", "model_index.json", "adapter_config.json", "model.safetensors.index.json", "pytorch_model.bin.index.json"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	if fm := frontMatter(dir); fm != "" {
		for _, k := range []string{"library_name:", "pipeline_tag:", "base_model:", "dataset_info:", "configs:", "task_categories:", "datasets:", "model-index:"} {
			if strings.Contains(fm, "\n"+k) {
				return true
			}
		}
	}
	if b, err := readSmall(filepath.Join(dir, ".gitattributes")); err == nil && bytes.Contains(b, []byte("filter=lfs")) {
		if fi, err := os.Stat(filepath.Join(dir, "README.md")); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// frontMatter returns the YAML front matter of README.md ("" if none),
// with a leading newline so keys can be matched at line starts.
func frontMatter(dir string) string {
	b, err := readSmall(filepath.Join(dir, "README.md"))
	if err != nil || !bytes.HasPrefix(b, []byte("---")) {
		return ""
	}
	rest := b[3:]
	end := bytes.Index(rest, []byte("\n---"))
	if end < 0 {
		return ""
	}
	return "\n" + string(bytes.TrimLeft(rest[:end], "\r\n")) + "\n"
}

// guessType tells dataset repositories from model repositories by their
// metadata files.
func guessType(dir string) string {
	fm := frontMatter(dir)
	for _, k := range []string{"dataset_info:", "task_categories:", "configs:", "size_categories:"} {
		if strings.Contains(fm, "\n"+k) {
			return TypeDataset
		}
	}
	for _, f := range []string{"dataset_infos.json", "dataset_dict.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return TypeDataset
		}
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.Base(dir)+".py")); err == nil {
		if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
			return TypeDataset
		}
	}
	return TypeModel
}

// Resolve returns the real path of the repository file rel (slash
// separated), following symbolic links only while they stay inside the
// repository root or, for cache snapshots, the cache entry.
func (ri RepoInfo) Resolve(rel string) (string, error) {
	p := filepath.Join(ri.Root, filepath.FromSlash(rel))
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", err
	}
	if real, err = filepath.Abs(real); err != nil {
		return "", err
	}
	for _, base := range []string{ri.Root, ri.Cache} {
		if base == "" {
			continue
		}
		if b, err := filepath.EvalSymlinks(base); err == nil {
			base = b
		}
		if real == base || strings.HasPrefix(real, base+string(filepath.Separator)) {
			return real, nil
		}
	}
	return "", fmt.Errorf("%w: %s -> %s", ErrOutside, rel, real)
}

// AutoMap is one auto_map entry: transformers imports Module from the
// repository (or from Repo when set) and instantiates Class.
type AutoMap struct {
	// File is the JSON file holding the entry, e.g. "config.json".
	File string
	// Auto is the auto class, e.g. "AutoModelForCausalLM".
	Auto string
	// Repo is another repository the code comes from ("" for this one).
	Repo string
	// Module is the Python module, e.g. "modeling_foo".
	Module string
	// Class is the class name.
	Class string
	// Present reports whether Module's file exists in this repository.
	Present bool
}

// ModuleFile is the repository file of the auto_map module.
func (a AutoMap) ModuleFile() string { return strings.ReplaceAll(a.Module, ".", "/") + ".py" }

// Facts are what Inspect collects about a repository.
type Facts struct {
	// Files are the regular files and file links, slash separated,
	// relative to the root, sorted.
	Files []string
	// AutoMaps are the auto_map entries of the root JSON files.
	AutoMaps []AutoMap
	// Python are the .py files.
	Python []string
	// Safetensors are the .safetensors files.
	Safetensors []string
	// PickleWeights are .bin, .pt, .pth and .ckpt files.
	PickleWeights []string
	// Truncated is set when the walk stopped at a cap.
	Truncated bool
	// Unreadable lists root JSON files that could not be read, with why.
	Unreadable []string
}

// Inspect lists the repository's files and reads its auto_map entries.
func Inspect(ri RepoInfo) (*Facts, error) {
	f := &Facts{}
	err := filepath.WalkDir(ri.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, rerr := filepath.Rel(ri.Root, p)
		if rerr != nil || rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if d.Name() == ".git" || (d.Name() == ".cache" && !strings.Contains(rel, "/")) || strings.Count(rel, "/") >= maxDepth {
				return filepath.SkipDir
			}
			return nil
		}
		if len(f.Files) >= maxFiles {
			f.Truncated = true
			return filepath.SkipAll
		}
		if !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		f.Files = append(f.Files, rel)
		switch ext := strings.ToLower(path.Ext(rel)); ext {
		case ".py":
			f.Python = append(f.Python, rel)
		case ".safetensors":
			f.Safetensors = append(f.Safetensors, rel)
		case ".bin", ".pt", ".pth", ".ckpt":
			f.PickleWeights = append(f.PickleWeights, rel)
		}
		return nil
	})
	if err != nil {
		return f, err
	}
	for _, l := range []*[]string{&f.Files, &f.Python, &f.Safetensors, &f.PickleWeights} {
		sort.Strings(*l)
	}
	present := map[string]bool{}
	for _, p := range f.Files {
		present[p] = true
	}
	var jsonFiles []string
	for _, p := range f.Files {
		if !strings.Contains(p, "/") && strings.HasSuffix(p, ".json") {
			jsonFiles = append(jsonFiles, p)
		}
	}
	if len(jsonFiles) > maxJSONFiles {
		jsonFiles = jsonFiles[:maxJSONFiles]
		f.Truncated = true
	}
	for _, jf := range jsonFiles {
		real, err := ri.Resolve(jf)
		if err != nil {
			f.Unreadable = append(f.Unreadable, fmt.Sprintf("%s: %v", jf, err))
			continue
		}
		b, err := readSmall(real)
		if err != nil {
			f.Unreadable = append(f.Unreadable, fmt.Sprintf("%s: %v", jf, err))
			continue
		}
		// A map, not a struct: transformers reads the key "auto_map"
		// exactly, while struct decoding would also take "AUTO_MAP" (and a
		// later look-alike would hide the real one).
		var doc map[string]json.RawMessage
		var autoMap map[string]json.RawMessage
		if json.Unmarshal(b, &doc) != nil || json.Unmarshal(doc["auto_map"], &autoMap) != nil {
			continue
		}
		autos := make([]string, 0, len(autoMap))
		for k := range autoMap {
			autos = append(autos, k)
		}
		sort.Strings(autos)
		for _, auto := range autos {
			for _, ref := range autoRefs(autoMap[auto]) {
				am := parseRef(ref)
				am.File, am.Auto = jf, auto
				am.Present = am.Repo == "" && present[am.ModuleFile()]
				f.AutoMaps = append(f.AutoMaps, am)
			}
		}
	}
	return f, nil
}

// autoRefs returns the class references of an auto_map value: a string or
// a list of strings and nulls (tokenizers: [slow, fast]).
func autoRefs(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var l []*string
	if json.Unmarshal(raw, &l) == nil {
		var out []string
		for _, e := range l {
			if e != nil && *e != "" {
				out = append(out, *e)
			}
		}
		return out
	}
	return nil
}

// parseRef splits "[org/repo--]module.Class".
func parseRef(ref string) AutoMap {
	var am AutoMap
	if repo, rest, ok := strings.Cut(ref, "--"); ok {
		am.Repo, ref = repo, rest
	}
	if i := strings.LastIndex(ref, "."); i >= 0 {
		am.Module, am.Class = ref[:i], ref[i+1:]
	} else {
		am.Module = ref
	}
	return am
}
