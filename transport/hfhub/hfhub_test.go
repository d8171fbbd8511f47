package hfhub_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/transport/hfhub"
	"github.com/mlsecops/mlsec/transport/hfhub/hubtest"
)

func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	got := map[string][]byte{}
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		got[filepath.ToSlash(rel)] = b
		return nil
	})
	return got
}

func TestDownload(t *testing.T) {
	h := hubtest.New(t)
	dir := t.TempDir()
	ref, err := hfhub.ParseRef("hf://acme/tiny@v1.0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := h.Client("hf_secret").Download(context.Background(), ref, dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Commit != hubtest.Commit || len(s.Files) != 3 {
		t.Errorf("snapshot %+v", s)
	}
	if diff := cmp.Diff(h.Files, readTree(t, dir)); diff != "" {
		t.Errorf("downloaded (-want +got):\n%s", diff)
	}
	if len(h.CDNAuth()) != 0 {
		t.Errorf("token sent to the CDN: %v", h.CDNAuth())
	}
	for _, l := range h.Log() {
		if strings.Contains(l, "/resolve/") && !strings.Contains(l, "/resolve/"+hubtest.Commit+"/") {
			t.Errorf("download not pinned to the hubtest.Commit: %s", l)
		}
	}
	if got := h.Client("").SourceURL(s); got != h.URL()+"/acme/tiny/tree/"+hubtest.Commit {
		t.Errorf("source URL %s", got)
	}
}

func TestDownloadResumesTruncated(t *testing.T) {
	h := hubtest.New(t)
	h.Truncate["model.safetensors"] = 100_000 // the CDN drops the connection
	h.Truncate["config.json"] = 5             // the hub itself drops it
	h.Limit429 = 2
	dir := t.TempDir()
	if _, err := h.Client("").Download(context.Background(), hfhub.Ref{Repo: "acme/tiny", Revision: "main"}, dir); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(h.Files, readTree(t, dir)); diff != "" {
		t.Errorf("downloaded (-want +got):\n%s", diff)
	}
	joined := strings.Join(h.Log(), "\n")
	for _, want := range []string{"/config.json range=bytes=5-", "CDN /repos/" + hubtest.SHA256(h.Files["model.safetensors"]) + "?p=model.safetensors range=bytes=100000-"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no resumed request %q in\n%s", want, joined)
		}
	}
}

func TestDownloadRefuses(t *testing.T) {
	for name, tc := range map[string]struct {
		setup func(*hubtest.Hub)
		ref   string
		token string
		want  error
		msg   string
	}{
		"repo not found":     {ref: "hf://acme/nope", want: hfhub.ErrNotFound, msg: "RepoNotFound"},
		"revision not found": {ref: "hf://acme/tiny@nope", want: hfhub.ErrNotFound, msg: "RevisionNotFound"},
		"gated without token": {setup: func(h *hubtest.Hub) { h.Gated, h.Token = true, "hf_ok" }, ref: "hf://acme/tiny",
			want: hfhub.ErrUnauthorized, msg: "GatedRepo"},
		"gated wrong token": {setup: func(h *hubtest.Hub) { h.Gated, h.Token = true, "hf_ok" }, ref: "hf://acme/tiny", token: "hf_bad",
			want: hfhub.ErrUnauthorized, msg: "HF_TOKEN"},
		"lfs content differs": {setup: func(h *hubtest.Hub) { h.Served["model.safetensors"] = bytes.Repeat([]byte("x"), 300_000) },
			ref: "hf://acme/tiny", want: hfhub.ErrIntegrity, msg: "model.safetensors: sha256"},
		"small file differs": {setup: func(h *hubtest.Hub) { h.Served["config.json"] = []byte(`{"model_type":"evil"}`) },
			ref: "hf://acme/tiny", want: hfhub.ErrIntegrity, msg: "git blob sha1"},
		"lfs content longer": {setup: func(h *hubtest.Hub) { h.Served["model.safetensors"] = bytes.Repeat([]byte("w"), 300_001) },
			ref: "hf://acme/tiny", want: hfhub.ErrIntegrity, msg: "larger than"},
		"always rate limited": {setup: func(h *hubtest.Hub) { h.Limit429 = 100 }, ref: "hf://acme/tiny", want: hfhub.ErrRateLimited},
	} {
		t.Run(name, func(t *testing.T) {
			h := hubtest.New(t)
			if tc.setup != nil {
				tc.setup(h)
			}
			ref, err := hfhub.ParseRef(tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			_, err = h.Client(tc.token).Download(context.Background(), ref, t.TempDir())
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err %v, want %v containing %q", err, tc.want, tc.msg)
			}
		})
	}
	t.Run("gated with token", func(t *testing.T) {
		h := hubtest.New(t)
		h.Gated, h.Token = true, "hf_ok"
		if _, err := h.Client("hf_ok").Download(context.Background(), hfhub.Ref{Repo: "acme/tiny", Revision: "main"}, t.TempDir()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestParseRef(t *testing.T) {
	for in, want := range map[string]hfhub.Ref{
		"hf://acme/tiny":                                  {Repo: "acme/tiny", Revision: "main", Type: hfhub.TypeModel},
		"hf://acme/tiny@v1.0":                             {Repo: "acme/tiny", Revision: "v1.0", Type: hfhub.TypeModel},
		"hf://acme/tiny@refs/pr/1":                        {Repo: "acme/tiny", Revision: "refs/pr/1", Type: hfhub.TypeModel},
		"hf://acme/tiny@" + hubtest.Commit:                {Repo: "acme/tiny", Revision: hubtest.Commit, Type: hfhub.TypeModel},
		"hf://datasets/acme/reviews":                      {Repo: "acme/reviews", Revision: "main", Type: hfhub.TypeDataset},
		"hf://datasets/acme/reviews@refs/convert/parquet": {Repo: "acme/reviews", Revision: "refs/convert/parquet", Type: hfhub.TypeDataset},
		"hf://datasets/acme":                              {},
		"hf://datasets/a/b/c":                             {},
		"hf://spaces/acme/demo":                           {},
		"hf://a/b/c":                                      {},
		"hf://../x":                                       {},
		"https://huggingface.co/a/b":                      {},
		"hf://acme":                                       {},
	} {
		got, err := hfhub.ParseRef(in)
		if (err != nil) != (want == hfhub.Ref{}) || got != want {
			t.Errorf("ParseRef(%q) = %+v, %v", in, got, err)
		}
	}
}

// TestDownloadRefusesEscapingPath: a listing naming a file outside the
// snapshot (../, absolute, unclean) ends the download before any file is
// fetched, and nothing is written beside the destination.
func TestDownloadRefusesEscapingPath(t *testing.T) {
	for _, p := range []string{"../evil.txt", "tokenizer/../../evil.txt", "/tmp/evil.txt", "a/./evil.txt", `a\..\evil.txt`} {
		t.Run(p, func(t *testing.T) {
			h := hubtest.New(t)
			h.Files[p] = []byte("evil")
			parent := t.TempDir()
			dir := filepath.Join(parent, "snap")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			_, err := h.Client("").Download(context.Background(), hfhub.Ref{Repo: "acme/tiny", Revision: "main"}, dir)
			if err == nil || !strings.Contains(err.Error(), "lists") {
				t.Fatalf("err %v, want the listing refused", err)
			}
			for _, l := range h.Log() {
				if strings.Contains(l, "/resolve/") {
					t.Errorf("downloaded after a bad listing: %s", l)
				}
			}
			if ents, _ := os.ReadDir(parent); len(ents) != 1 {
				t.Errorf("written beside the destination: %v", ents)
			}
		})
	}
}

// TestDownloadDataset: hf://datasets/ORG/NAME speaks the dataset endpoints
// (/api/datasets/REPO/revision/REV, /api/datasets/REPO/tree/COMMIT,
// /datasets/REPO/resolve/COMMIT/PATH) with the same checks as a model; the
// model endpoints of the same name answer 404.
func TestDownloadDataset(t *testing.T) {
	h := hubtest.New(t)
	h.Repo, h.Type = "acme/reviews", hfhub.TypeDataset
	h.Files = map[string][]byte{
		"README.md":                           []byte("---\nlicense: cc-by-4.0\n---\n# reviews\n"),
		"data/train-00000-of-00001.jsonl":     bytes.Repeat([]byte(`{"text":"good","label":1}`+"\n"), 4000),
		"data/validation-00000-of-00001.json": []byte(`[{"text":"bad","label":0}]`),
	}
	h.LFS = map[string]bool{"data/train-00000-of-00001.jsonl": true}
	h.Truncate["data/train-00000-of-00001.jsonl"] = 1000
	ref, err := hfhub.ParseRef("hf://datasets/acme/reviews@v1.0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s, err := h.Client("hf_secret").Download(context.Background(), ref, dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Type != hfhub.TypeDataset || s.Repo != "acme/reviews" || s.Commit != hubtest.Commit || len(s.Files) != 3 {
		t.Errorf("snapshot %+v", s)
	}
	if diff := cmp.Diff(h.Files, readTree(t, dir)); diff != "" {
		t.Errorf("downloaded (-want +got):\n%s", diff)
	}
	if got, want := h.Client("").SourceURL(s), h.URL()+"/datasets/acme/reviews/tree/"+hubtest.Commit; got != want {
		t.Errorf("source URL %s, want %s", got, want)
	}
	joined := strings.Join(h.Log(), "\n")
	for _, want := range []string{
		"GET /api/datasets/acme/reviews/revision/v1.0 ",
		"GET /api/datasets/acme/reviews/tree/" + hubtest.Commit + "?recursive=true",
		"GET /datasets/acme/reviews/resolve/" + hubtest.Commit + "/README.md ",
		"GET /datasets/acme/reviews/resolve/" + hubtest.Commit + "/data/train-00000-of-00001.jsonl ",
		"range=bytes=1000-", // the CDN cut resumed
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("no request %q in\n%s", want, joined)
		}
	}
	if len(h.CDNAuth()) != 0 {
		t.Errorf("token sent to the CDN: %v", h.CDNAuth())
	}

	// The same name as a model is not this repository.
	_, err = h.Client("").Download(context.Background(), hfhub.Ref{Repo: "acme/reviews", Revision: "main"}, t.TempDir())
	if !errors.Is(err, hfhub.ErrNotFound) || !strings.Contains(err.Error(), "RepoNotFound") {
		t.Errorf("model endpoint of a dataset: %v", err)
	}

	// A tampered dataset file ends the download.
	h.Served["data/validation-00000-of-00001.json"] = []byte(`[{"text":"bad","label":1}]`)
	_, err = h.Client("").Download(context.Background(), ref, t.TempDir())
	if !errors.Is(err, hfhub.ErrIntegrity) {
		t.Errorf("tampered dataset file: %v", err)
	}
}

// FuzzParseRef: any argument parses to a repository of two clean name
// parts and a known type, or is refused; it never panics.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"hf://acme/tiny", "hf://datasets/acme/reviews@v1", "hf://spaces/a/b", "hf://datasets/../x", "hf://a/b@", "hf://datasets/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := hfhub.ParseRef(s)
		if err != nil {
			return
		}
		org, name, ok := strings.Cut(r.Repo, "/")
		if !ok || org == "" || name == "" || strings.Contains(name, "/") || strings.Contains(r.Repo, "..") {
			t.Errorf("ParseRef(%q) repo %q", s, r.Repo)
		}
		if r.Type != hfhub.TypeModel && r.Type != hfhub.TypeDataset || r.Revision == "" {
			t.Errorf("ParseRef(%q) = %+v", s, r)
		}
		if strings.HasPrefix(s, "hf://spaces/") {
			t.Errorf("ParseRef(%q) accepted a Space", s)
		}
	})
}

// TestRemoteFile reads parts of files with range requests: the first and
// last bytes of an LFS file through the CDN, a small file directly, within
// a budget, never the whole file.
func TestRemoteFile(t *testing.T) {
	h := hubtest.New(t)
	body := make([]byte, 300_000)
	for i := range body {
		body[i] = byte(i * 7)
	}
	h.Files["model.safetensors"] = body
	c := h.Client("")
	ctx := context.Background()
	files, err := c.Tree(ctx, hfhub.Ref{Repo: h.Repo}, hubtest.Commit)
	if err != nil {
		t.Fatal(err)
	}
	entry := map[string]hfhub.Entry{}
	for _, e := range files {
		entry[e.Path] = e
	}
	r, err := c.Open(ctx, hfhub.Ref{Repo: h.Repo}, hubtest.Commit, entry["model.safetensors"], 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if r.Size() != int64(len(body)) {
		t.Fatalf("Size %d", r.Size())
	}
	for _, off := range []int64{0, 10, 65_530, int64(len(body)) - 20} {
		p := make([]byte, 20)
		if n, err := r.ReadAt(p, off); n != 20 || err != nil || !bytes.Equal(p, body[off:off+20]) {
			t.Errorf("ReadAt(20, %d) = %d, %v, %x", off, n, err, p)
		}
	}
	p := make([]byte, 30)
	if n, err := r.ReadAt(p, int64(len(body))-20); n != 20 || err != io.EOF {
		t.Errorf("ReadAt past the end = %d, %v, want 20, EOF", n, err)
	}
	if r.Requests != 3 || r.Fetched >= int64(len(body)) {
		t.Errorf("%d requests, %d bytes fetched: want 3 blocks, not the file", r.Requests, r.Fetched)
	}
	small, _ := c.Open(ctx, hfhub.Ref{Repo: h.Repo}, hubtest.Commit, entry["config.json"], 1<<20)
	p = make([]byte, len(h.Files["config.json"]))
	if _, err := small.ReadAt(p, 0); err != nil || !bytes.Equal(p, h.Files["config.json"]) {
		t.Errorf("small file: %v %q", err, p)
	}
	tight, _ := c.Open(ctx, hfhub.Ref{Repo: h.Repo}, hubtest.Commit, entry["model.safetensors"], 100_000)
	if _, err := tight.ReadAt(make([]byte, 10), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := tight.ReadAt(make([]byte, 10), 200_000); !errors.Is(err, hfhub.ErrBudget) {
		t.Errorf("over budget: %v, want ErrBudget", err)
	}
	if _, err := c.Open(ctx, hfhub.Ref{Repo: h.Repo}, "main", entry["config.json"], 1); err == nil {
		t.Error("Open with a branch, not a commit: no error")
	}
}
