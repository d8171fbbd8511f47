// Package hubtest serves the Hugging Face Hub API shapes that
// huggingface_hub reads, on loopback, for tests: model or dataset info by
// revision,
// the recursive file listing (paginated by Link headers, LFS entries with
// lfs.oid = sha256 and xetHash), and resolve URLs (small files served
// directly with the git blob id as ETag; LFS files as a 302 to a CDN on
// another host with X-Linked-Etag = sha256), with knobs for tampering,
// truncation, 429, 401 (gated) and 404.
package hubtest

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlsecops/mlsec/transport/hfhub"
)

// Commit is the commit every revision of the test hub resolves to.
const Commit = "0123456789abcdef0123456789abcdef01234567"

// Hub serves the Hugging Face Hub API shapes huggingface_hub reads:
// /api/models/REPO/revision/REV, /api/models/REPO/tree/COMMIT (paginated
// by Link), /REPO/resolve/COMMIT/PATH (small files direct with the git
// blob id as ETag; LFS files as a 302 to a CDN on another host, with
// X-Linked-Etag = sha256 and X-Linked-Size).
type Hub struct {
	t testing.TB
	// Repo is the one repository served (acme/tiny).
	Repo string
	// Type is its type: hfhub.TypeModel (default) or hfhub.TypeDataset,
	// served under /api/datasets/… and /datasets/REPO/resolve/…; the other
	// type's paths answer 404 RepoNotFound, as the hub does.
	Type string
	// Files are its files; LFS marks those stored in LFS (served through
	// the CDN).
	Files map[string][]byte
	LFS   map[string]bool
	// Gated requires "Authorization: Bearer Token".
	Gated bool
	Token string
	// Served replaces a file's bytes as served (tampering).
	Served map[string][]byte
	// Truncate serves only this many bytes of a file, once.
	Truncate map[string]int
	// Limit429 answers 429 this many times to the listing.
	Limit429 int

	mu       sync.Mutex
	log      []string
	cdnAuth  []string
	api, cdn *httptest.Server
}

// New starts a hub serving acme/tiny (a config, an LFS weights file and a
// nested tokenizer) and a CDN, both stopped when the test ends. Tests may
// change the exported fields before the first request.
func New(t testing.TB) *Hub {
	h := &Hub{t: t, Repo: "acme/tiny", LFS: map[string]bool{}, Served: map[string][]byte{}, Truncate: map[string]int{},
		Files: map[string][]byte{
			"config.json":              []byte(`{"model_type":"bert"}`),
			"model.safetensors":        bytes.Repeat([]byte("w"), 300_000),
			"tokenizer/tokenizer.json": []byte(`{}`),
		}}
	h.LFS["model.safetensors"] = true
	h.cdn = httptest.NewServer(http.HandlerFunc(h.serveCDN))
	h.api = httptest.NewServer(http.HandlerFunc(h.serveAPI))
	t.Cleanup(h.cdn.Close)
	t.Cleanup(h.api.Close)
	return h
}

func (h *Hub) record(s string) {
	h.mu.Lock()
	h.log = append(h.log, s)
	h.mu.Unlock()
}

// GitOID returns the git blob id of b.
func GitOID(b []byte) string {
	s := sha1.New()
	fmt.Fprintf(s, "blob %d\x00", len(b))
	s.Write(b)
	return hex.EncodeToString(s.Sum(nil))
}

// SHA256 returns the hex sha256 of b.
func SHA256(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func (h *Hub) content(p string) []byte {
	if b, ok := h.Served[p]; ok {
		return b
	}
	return h.Files[p]
}

func (h *Hub) serveAPI(w http.ResponseWriter, r *http.Request) {
	h.record(r.Method + " " + r.URL.RequestURI() + " range=" + r.Header.Get("Range"))
	if h.Gated && r.Header.Get("Authorization") != "Bearer "+h.Token {
		w.Header().Set("X-Error-Code", "GatedRepo")
		w.Header().Set("X-Error-Message", "Access to model acme/tiny is restricted.")
		http.Error(w, "gated", http.StatusUnauthorized)
		return
	}
	api, resolve := "/api/models/"+h.Repo+"/", "/"+h.Repo+"/resolve/"+Commit+"/"
	if h.Type == hfhub.TypeDataset {
		api, resolve = "/api/datasets/"+h.Repo+"/", "/datasets/"+h.Repo+"/resolve/"+Commit+"/"
	}
	switch {
	case strings.HasPrefix(r.URL.Path, api+"revision/"):
		rev := strings.TrimPrefix(r.URL.Path, api+"revision/")
		if rev != "main" && rev != "v1.0" && rev != Commit {
			w.Header().Set("X-Error-Code", "RevisionNotFound")
			http.Error(w, "Invalid rev id", http.StatusNotFound)
			return
		}
		var sibs []map[string]any
		for p := range h.Files {
			sibs = append(sibs, map[string]any{"rfilename": p})
		}
		info := map[string]any{"_id": "x", "id": h.Repo, "sha": Commit, "private": false, "gated": false, "disabled": false, "siblings": sibs}
		if h.Type == hfhub.TypeDataset {
			info["author"], info["downloads"], info["cardData"] = strings.Split(h.Repo, "/")[0], 0, map[string]any{"license": "cc-by-4.0"}
		} else {
			info["pipeline_tag"], info["library_name"] = "text-classification", "transformers"
		}
		json.NewEncoder(w).Encode(info)
	case r.URL.Path == api+"tree/"+Commit:
		if r.URL.Query().Get("recursive") != "true" {
			h.t.Errorf("tree without recursive=true: %s", r.URL)
		}
		if h.Limit429 > 0 {
			h.Limit429--
			w.Header().Set("Retry-After", "0")
			http.Error(w, "rate limited", http.StatusTooManyRequests)
			return
		}
		// Two entries a page; the cursor is the index.
		var entries []map[string]any
		entries = append(entries, map[string]any{"type": "directory", "oid": GitOID(nil), "size": 0, "path": "tokenizer"})
		for _, p := range slices.Sorted(maps.Keys(h.Files)) {
			b := h.Files[p]
			e := map[string]any{"type": "file", "path": p, "size": len(b), "oid": GitOID(b)}
			if h.LFS[p] {
				ptr := fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", SHA256(b), len(b))
				e["oid"], e["size"] = GitOID([]byte(ptr)), len(ptr)
				e["lfs"] = map[string]any{"oid": SHA256(b), "size": len(b), "pointerSize": len(ptr)}
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
	case strings.HasPrefix(r.URL.Path, resolve):
		p := strings.TrimPrefix(r.URL.Path, resolve)
		b, ok := h.Files[p]
		if !ok {
			w.Header().Set("X-Error-Code", "EntryNotFound")
			http.Error(w, "Entry not found", http.StatusNotFound)
			return
		}
		w.Header().Set("X-Repo-Commit", Commit)
		if h.LFS[p] {
			w.Header().Set("X-Linked-Etag", `"`+SHA256(b)+`"`)
			w.Header().Set("X-Linked-Size", strconv.Itoa(len(b)))
			w.Header().Set("Location", h.cdn.URL+"/repos/"+SHA256(b)+"?p="+p)
			w.WriteHeader(http.StatusFound)
			return
		}
		w.Header().Set("ETag", `"`+GitOID(b)+`"`)
		h.serveBytes(w, r, p, h.content(p))
	default:
		w.Header().Set("X-Error-Code", "RepoNotFound")
		http.Error(w, "Repository not found", http.StatusNotFound)
	}
}

func (h *Hub) serveCDN(w http.ResponseWriter, r *http.Request) {
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
func (h *Hub) serveBytes(w http.ResponseWriter, r *http.Request, p string, b []byte) {
	h.mu.Lock()
	n, cut := h.Truncate[p]
	if cut {
		delete(h.Truncate, p)
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

// URL is the hub's endpoint (HF_ENDPOINT).
func (h *Hub) URL() string { return h.api.URL }

// Log returns the requests seen, "METHOD URI range=..." for the hub and
// "CDN URI range=..." for the CDN.
func (h *Hub) Log() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.log...)
}

// CDNAuth returns the Authorization headers the CDN received (none, for
// a client that keeps its token to the hub).
func (h *Hub) CDNAuth() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.cdnAuth...)
}

// Client returns a client for the hub that does not wait between retries.
func (h *Hub) Client(token string) *hfhub.Client {
	return &hfhub.Client{Endpoint: h.api.URL, Token: token, Sleep: func(context.Context, time.Duration) error { return nil }}
}
