package hfhub_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/transport/hfhub"
)

const commit = "0123456789abcdef0123456789abcdef01234567"

// hub serves the Hugging Face Hub API shapes huggingface_hub reads:
// /api/models/REPO/revision/REV, /api/models/REPO/tree/COMMIT (paginated
// by Link), /REPO/resolve/COMMIT/PATH (small files direct with the git
// blob id as ETag; LFS files as a 302 to a CDN on another host, with
// X-Linked-Etag = sha256 and X-Linked-Size).
type hub struct {
	t        *testing.T
	repo     string
	files    map[string][]byte
	lfs      map[string]bool
	gated    bool
	token    string
	served   map[string][]byte // content actually served (tampering)
	truncate map[string]int    // serve only this many bytes, once
	limit429 int               // answer 429 this many times to the tree

	mu       sync.Mutex
	log      []string
	cdnAuth  []string
	api, cdn *httptest.Server
}

func newHub(t *testing.T) *hub {
	h := &hub{t: t, repo: "acme/tiny", lfs: map[string]bool{}, served: map[string][]byte{}, truncate: map[string]int{},
		files: map[string][]byte{
			"config.json":              []byte(`{"model_type":"bert"}`),
			"model.safetensors":        bytes.Repeat([]byte("w"), 300_000),
			"tokenizer/tokenizer.json": []byte(`{}`),
		}}
	h.lfs["model.safetensors"] = true
	h.cdn = httptest.NewServer(http.HandlerFunc(h.serveCDN))
	h.api = httptest.NewServer(http.HandlerFunc(h.serveAPI))
	t.Cleanup(h.cdn.Close)
	t.Cleanup(h.api.Close)
	return h
}

func (h *hub) record(s string) {
	h.mu.Lock()
	h.log = append(h.log, s)
	h.mu.Unlock()
}

func gitOID(b []byte) string {
	s := sha1.New()
	fmt.Fprintf(s, "blob %d\x00", len(b))
	s.Write(b)
	return hex.EncodeToString(s.Sum(nil))
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func (h *hub) content(p string) []byte {
	if b, ok := h.served[p]; ok {
		return b
	}
	return h.files[p]
}

func (h *hub) serveAPI(w http.ResponseWriter, r *http.Request) {
	h.record(r.Method + " " + r.URL.RequestURI() + " range=" + r.Header.Get("Range"))
	if h.gated && r.Header.Get("Authorization") != "Bearer "+h.token {
		w.Header().Set("X-Error-Code", "GatedRepo")
		w.Header().Set("X-Error-Message", "Access to model acme/tiny is restricted.")
		http.Error(w, "gated", http.StatusUnauthorized)
		return
	}
	api := "/api/models/" + h.repo + "/"
	switch {
	case strings.HasPrefix(r.URL.Path, api+"revision/"):
		rev := strings.TrimPrefix(r.URL.Path, api+"revision/")
		if rev != "main" && rev != "v1.0" && rev != commit {
			w.Header().Set("X-Error-Code", "RevisionNotFound")
			http.Error(w, "Invalid rev id", http.StatusNotFound)
			return
		}
		var sibs []map[string]any
		for p := range h.files {
			sibs = append(sibs, map[string]any{"rfilename": p})
		}
		json.NewEncoder(w).Encode(map[string]any{"_id": "x", "id": h.repo, "sha": commit, "private": false, "gated": false, "siblings": sibs})
	case r.URL.Path == api+"tree/"+commit:
		if r.URL.Query().Get("recursive") != "true" {
			h.t.Errorf("tree without recursive=true: %s", r.URL)
		}
		if h.limit429 > 0 {
			h.limit429--
			w.Header().Set("Retry-After", "0")
			http.Error(w, "rate limited", http.StatusTooManyRequests)
			return
		}
		// Two entries a page; the cursor is the index.
		var entries []map[string]any
		entries = append(entries, map[string]any{"type": "directory", "oid": gitOID(nil), "size": 0, "path": "tokenizer"})
		for _, p := range []string{"config.json", "model.safetensors", "tokenizer/tokenizer.json"} {
			b := h.files[p]
			e := map[string]any{"type": "file", "path": p, "size": len(b), "oid": gitOID(b)}
			if h.lfs[p] {
				ptr := fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", sha(b), len(b))
				e["oid"], e["size"] = gitOID([]byte(ptr)), len(ptr)
				e["lfs"] = map[string]any{"oid": sha(b), "size": len(b), "pointerSize": len(ptr)}
				e["xetHash"] = strings.Repeat("ab", 32)
			}
			entries = append(entries, e)
		}
		cur, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
		end := min(cur+2, len(entries))
		if end < len(entries) {
			w.Header().Set("Link", fmt.Sprintf(`<%s%s?recursive=true&expand=false&cursor=%d>; rel="next"`, h.api.URL, r.URL.Path, end))
		}
		json.NewEncoder(w).Encode(entries[cur:end])
	case strings.HasPrefix(r.URL.Path, "/"+h.repo+"/resolve/"+commit+"/"):
		p := strings.TrimPrefix(r.URL.Path, "/"+h.repo+"/resolve/"+commit+"/")
		b, ok := h.files[p]
		if !ok {
			w.Header().Set("X-Error-Code", "EntryNotFound")
			http.Error(w, "Entry not found", http.StatusNotFound)
			return
		}
		w.Header().Set("X-Repo-Commit", commit)
		if h.lfs[p] {
			w.Header().Set("X-Linked-Etag", `"`+sha(b)+`"`)
			w.Header().Set("X-Linked-Size", strconv.Itoa(len(b)))
			w.Header().Set("Location", h.cdn.URL+"/repos/"+sha(b)+"?p="+p)
			w.WriteHeader(http.StatusFound)
			return
		}
		w.Header().Set("ETag", `"`+gitOID(b)+`"`)
		h.serveBytes(w, r, p, h.content(p))
	default:
		w.Header().Set("X-Error-Code", "RepoNotFound")
		http.Error(w, "Repository not found", http.StatusNotFound)
	}
}

func (h *hub) serveCDN(w http.ResponseWriter, r *http.Request) {
	h.record("CDN " + r.URL.RequestURI() + " range=" + r.Header.Get("Range"))
	if a := r.Header.Get("Authorization"); a != "" {
		h.mu.Lock()
		h.cdnAuth = append(h.cdnAuth, a)
		h.mu.Unlock()
	}
	p := r.URL.Query().Get("p")
	w.Header().Set("ETag", `"cdn-etag-1"`)
	h.serveBytes(w, r, p, h.content(p))
}

// serveBytes serves b with range support, or cut short once when asked.
func (h *hub) serveBytes(w http.ResponseWriter, r *http.Request, p string, b []byte) {
	h.mu.Lock()
	n, cut := h.truncate[p]
	if cut {
		delete(h.truncate, p)
	}
	h.mu.Unlock()
	if cut && r.Header.Get("Range") == "" {
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusOK)
		w.Write(b[:n])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the connection drops mid-body
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}

func (h *hub) client(token string) *hfhub.Client {
	return &hfhub.Client{Endpoint: h.api.URL, Token: token, Sleep: func(context.Context, time.Duration) error { return nil }}
}

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
	h := newHub(t)
	dir := t.TempDir()
	ref, err := hfhub.ParseRef("hf://acme/tiny@v1.0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := h.client("hf_secret").Download(context.Background(), ref, dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Commit != commit || len(s.Files) != 3 {
		t.Errorf("snapshot %+v", s)
	}
	if diff := cmp.Diff(h.files, readTree(t, dir)); diff != "" {
		t.Errorf("downloaded (-want +got):\n%s", diff)
	}
	if len(h.cdnAuth) != 0 {
		t.Errorf("token sent to the CDN: %v", h.cdnAuth)
	}
	for _, l := range h.log {
		if strings.Contains(l, "/resolve/") && !strings.Contains(l, "/resolve/"+commit+"/") {
			t.Errorf("download not pinned to the commit: %s", l)
		}
	}
	if got := h.client("").SourceURL(s); got != h.api.URL+"/acme/tiny/tree/"+commit {
		t.Errorf("source URL %s", got)
	}
}

func TestDownloadResumesTruncated(t *testing.T) {
	h := newHub(t)
	h.truncate["model.safetensors"] = 100_000 // the CDN drops the connection
	h.truncate["config.json"] = 5             // the hub itself drops it
	h.limit429 = 2
	dir := t.TempDir()
	if _, err := h.client("").Download(context.Background(), hfhub.Ref{Repo: "acme/tiny", Revision: "main"}, dir); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(h.files, readTree(t, dir)); diff != "" {
		t.Errorf("downloaded (-want +got):\n%s", diff)
	}
	joined := strings.Join(h.log, "\n")
	for _, want := range []string{"/config.json range=bytes=5-", "CDN /repos/" + sha(h.files["model.safetensors"]) + "?p=model.safetensors range=bytes=100000-"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no resumed request %q in\n%s", want, joined)
		}
	}
}

func TestDownloadRefuses(t *testing.T) {
	for name, tc := range map[string]struct {
		setup func(*hub)
		ref   string
		token string
		want  error
		msg   string
	}{
		"repo not found":     {ref: "hf://acme/nope", want: hfhub.ErrNotFound, msg: "RepoNotFound"},
		"revision not found": {ref: "hf://acme/tiny@nope", want: hfhub.ErrNotFound, msg: "RevisionNotFound"},
		"gated without token": {setup: func(h *hub) { h.gated, h.token = true, "hf_ok" }, ref: "hf://acme/tiny",
			want: hfhub.ErrUnauthorized, msg: "GatedRepo"},
		"gated wrong token": {setup: func(h *hub) { h.gated, h.token = true, "hf_ok" }, ref: "hf://acme/tiny", token: "hf_bad",
			want: hfhub.ErrUnauthorized, msg: "HF_TOKEN"},
		"lfs content differs": {setup: func(h *hub) { h.served["model.safetensors"] = bytes.Repeat([]byte("x"), 300_000) },
			ref: "hf://acme/tiny", want: hfhub.ErrIntegrity, msg: "model.safetensors: sha256"},
		"small file differs": {setup: func(h *hub) { h.served["config.json"] = []byte(`{"model_type":"evil"}`) },
			ref: "hf://acme/tiny", want: hfhub.ErrIntegrity, msg: "git blob sha1"},
		"lfs content longer": {setup: func(h *hub) { h.served["model.safetensors"] = bytes.Repeat([]byte("w"), 300_001) },
			ref: "hf://acme/tiny", want: hfhub.ErrIntegrity, msg: "larger than"},
		"always rate limited": {setup: func(h *hub) { h.limit429 = 100 }, ref: "hf://acme/tiny", want: hfhub.ErrRateLimited},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHub(t)
			if tc.setup != nil {
				tc.setup(h)
			}
			ref, err := hfhub.ParseRef(tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			_, err = h.client(tc.token).Download(context.Background(), ref, t.TempDir())
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err %v, want %v containing %q", err, tc.want, tc.msg)
			}
		})
	}
	t.Run("gated with token", func(t *testing.T) {
		h := newHub(t)
		h.gated, h.token = true, "hf_ok"
		if _, err := h.client("hf_ok").Download(context.Background(), hfhub.Ref{Repo: "acme/tiny", Revision: "main"}, t.TempDir()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestParseRef(t *testing.T) {
	for in, want := range map[string]hfhub.Ref{
		"hf://acme/tiny":             {Repo: "acme/tiny", Revision: "main"},
		"hf://acme/tiny@v1.0":        {Repo: "acme/tiny", Revision: "v1.0"},
		"hf://acme/tiny@refs/pr/1":   {Repo: "acme/tiny", Revision: "refs/pr/1"},
		"hf://acme/tiny@" + commit:   {Repo: "acme/tiny", Revision: commit},
		"hf://a/b/c":                 {},
		"hf://../x":                  {},
		"https://huggingface.co/a/b": {},
		"hf://acme":                  {},
	} {
		got, err := hfhub.ParseRef(in)
		if (err != nil) != (want == hfhub.Ref{}) || got != want {
			t.Errorf("ParseRef(%q) = %+v, %v", in, got, err)
		}
	}
}
