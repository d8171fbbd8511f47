package hfrepo

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/format/internal/fuzzseed"
)

func TestParseHFURL(t *testing.T) {
	tests := []struct {
		url, name, typ string
		ok             bool
	}{
		{"https://huggingface.co/meta-llama/Llama-3-8B", "meta-llama/Llama-3-8B", TypeModel, true},
		{"https://huggingface.co/datasets/squad.git", "squad", TypeDataset, true},
		{"git@hf.co:spaces/acme/demo", "", "", false},
		{"https://hf.co/spaces/acme/demo/", "acme/demo", TypeSpace, true},
		{"https://github.com/acme/x", "", "", false},
		{"https://huggingface.co/", "", "", false},
	}
	for _, tt := range tests {
		name, typ, ok := parseHFURL(tt.url)
		if name != tt.name || typ != tt.typ || ok != tt.ok {
			t.Errorf("parseHFURL(%q) = %q, %q, %v; want %q, %q, %v", tt.url, name, typ, ok, tt.name, tt.typ, tt.ok)
		}
	}
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		ref  string
		want AutoMap
	}{
		{"modeling_x.XModel", AutoMap{Module: "modeling_x", Class: "XModel"}},
		{"org/repo--modeling_x.XModel", AutoMap{Repo: "org/repo", Module: "modeling_x", Class: "XModel"}},
		{"sub.mod.C", AutoMap{Module: "sub.mod", Class: "C"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, parseRef(tt.ref)); diff != "" {
			t.Errorf("parseRef(%q): %s", tt.ref, diff)
		}
	}
	if got := (AutoMap{Module: "sub.mod"}).ModuleFile(); got != "sub/mod.py" {
		t.Errorf("ModuleFile = %q", got)
	}
}

func TestIsRepoAndResolve(t *testing.T) {
	root := t.TempDir()
	mk := func(p, content string) {
		p = filepath.Join(root, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(p, target string) {
		p = filepath.Join(root, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	mk("secret", "x")
	mk("hub/models--gpt2/blobs/b1", `{"auto_map": {"AutoModel": "m.M"}}`)
	link("hub/models--gpt2/snapshots/r/config.json", "../../blobs/b1")
	link("hub/models--gpt2/snapshots/r/leak.json", "../../../../secret")
	mk("notrepo/x.txt", "x")
	mk("gitrepo/.git/config", "[remote \"origin\"]\n  url = https://huggingface.co/datasets/acme/d\n")
	mk("gitrepo/.git/HEAD", "ref: refs/heads/main\n")
	mk("gitrepo/.git/packed-refs", "# pack-refs\nabcdef1234567 refs/heads/main\n")

	ri, ok := IsRepo(filepath.Join(root, "hub/models--gpt2/snapshots/r"))
	if !ok || ri.Name != "gpt2" || ri.Revision != "r" || ri.Type != TypeModel || ri.Source != "hf-cache" {
		t.Fatalf("cache snapshot: %+v %v", ri, ok)
	}
	if _, err := ri.Resolve("config.json"); err != nil {
		t.Errorf("blob inside the cache: %v", err)
	}
	if _, err := ri.Resolve("leak.json"); !errors.Is(err, ErrOutside) {
		t.Errorf("link outside the cache: err = %v, want ErrOutside", err)
	}
	f, err := Inspect(ri)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.AutoMaps) != 1 || f.AutoMaps[0].Module != "m" || f.AutoMaps[0].Present {
		t.Errorf("auto maps %+v", f.AutoMaps)
	}
	if len(f.Unreadable) != 1 {
		t.Errorf("unreadable %v, want leak.json", f.Unreadable)
	}
	if _, ok := IsRepo(filepath.Join(root, "hub/models--gpt2")); ok {
		t.Error("cache entry root (not a snapshot) reported as a repository")
	}
	if _, ok := IsRepo(filepath.Join(root, "notrepo")); ok {
		t.Error("plain directory reported as a repository")
	}
	ri, ok = IsRepo(filepath.Join(root, "gitrepo"))
	if !ok || ri.Name != "acme/d" || ri.Type != TypeDataset || ri.Revision != "abcdef1234567" {
		t.Errorf("git clone: %+v %v", ri, ok)
	}
}

// FuzzInspect writes each input as the config.json of a repository and
// checks that recognising and inspecting it neither panics nor reports
// auto_map entries without a module.
func FuzzInspect(f *testing.F) {
	fuzzseed.Files(f, "testdata/*.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		ri, ok := IsRepo(dir)
		if !ok {
			ri = RepoInfo{Root: dir}
		}
		facts, err := Inspect(ri)
		if err != nil {
			t.Fatal(err)
		}
		for _, am := range facts.AutoMaps {
			if am.File != "config.json" {
				t.Fatalf("auto_map from %q", am.File)
			}
		}
	})
}

// The auto_map key is matched exactly, as transformers reads it: a later
// "AUTO_MAP" must not hide it, and alone it is not an auto_map.
func TestAutoMapKeyExact(t *testing.T) {
	for doc, want := range map[string]int{
		`{"model_type": "x", "auto_map": {"AutoModel": "modeling_x.X"}, "AUTO_MAP": {}}`: 1,
		`{"model_type": "x", "Auto_Map": {"AutoModel": "modeling_x.X"}}`:                 0,
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := Inspect(RepoInfo{Root: dir})
		if err != nil {
			t.Fatal(err)
		}
		if len(f.AutoMaps) != want {
			t.Errorf("%s: %d auto_map entries %+v, want %d", doc, len(f.AutoMaps), f.AutoMaps, want)
		}
	}
}
