// Package hfhub downloads model and dataset snapshots from the Hugging Face
// Hub over its HTTP API, the endpoints and headers huggingface_hub uses:
// repository info by revision (/api/models/REPO/revision/REV, or
// /api/datasets/…) to pin a branch or tag to a commit, the recursive file
// listing at that commit (/api/models/REPO/tree/COMMIT?recursive=true,
// paginated by Link headers), and resolve URLs (/REPO/resolve/COMMIT/PATH,
// /datasets/REPO/resolve/…), which redirect LFS and xet files to a CDN. Every file is checked against the hub's own hash while it
// streams: the LFS sha256 (also the ETag / X-Linked-Etag) for LFS and xet
// files, the git blob SHA-1 for small files. Truncated downloads resume
// with range requests; 429 answers are retried after Retry-After.
package hfhub

import (
	"cmp"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mlsecops/mlsec/transport"
)

// Scheme prefixes a hub repository on the command line:
// hf://ORG/NAME[@REVISION] (a model) or hf://datasets/ORG/NAME[@REVISION].
const Scheme = "hf://"

// Repository types, as the hub names them (huggingface_hub's repo_type).
const (
	TypeModel   = "model"
	TypeDataset = "dataset"
)

// DefaultEndpoint is the public hub; HF_ENDPOINT overrides it.
const DefaultEndpoint = "https://huggingface.co"

// Limits on what the hub may send.
const (
	maxJSONBytes  = 32 << 20
	maxTreePages  = 1000
	maxRedirects  = 5
	maxRetryAfter = 60 * time.Second
)

// Errors a download can end with. ErrIntegrity means the hub sent bytes
// that do not match its own hashes: nothing of them may be used.
var (
	ErrNotFound     = errors.New("hfhub: not found")
	ErrUnauthorized = errors.New("hfhub: unauthorized")
	ErrIntegrity    = errors.New("hfhub: content does not match the hub's hash")
	ErrRateLimited  = errors.New("hfhub: rate limited")
)

// Ref names a repository (ORG/NAME), its type and a revision (branch, tag
// or commit; "main" when empty).
type Ref struct {
	Repo     string
	Revision string
	// Type is TypeModel (also when empty) or TypeDataset.
	Type string
}

// IsDataset reports a dataset repository.
func (r Ref) IsDataset() bool { return r.Type == TypeDataset }

// Name is the repository as the hub's URLs name it: ORG/NAME for a model,
// datasets/ORG/NAME for a dataset.
func (r Ref) Name() string {
	if r.IsDataset() {
		return "datasets/" + r.Repo
	}
	return r.Repo
}

// api is the API path prefix of the repository's type.
func (r Ref) api() string {
	if r.IsDataset() {
		return "/api/datasets/"
	}
	return "/api/models/"
}

var repoRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$`)

// ParseRef parses hf://ORG/NAME[@REVISION] (a model) and
// hf://datasets/ORG/NAME[@REVISION]. Spaces (hf://spaces/…) are refused:
// a Space is an application, not a model or a dataset to take in.
func ParseRef(s string) (Ref, error) {
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return Ref{}, fmt.Errorf("hfhub: %q: want hf://ORG/NAME[@REVISION] or hf://datasets/ORG/NAME[@REVISION]", s)
	}
	typ := TypeModel
	if r, ok := strings.CutPrefix(rest, "datasets/"); ok {
		typ, rest = TypeDataset, r
	} else if strings.HasPrefix(rest, "spaces/") {
		return Ref{}, fmt.Errorf("hfhub: %q: a Space is an application, not a model or a dataset: intake takes hf://ORG/NAME (models) or hf://datasets/ORG/NAME", s)
	}
	repo, rev, _ := strings.Cut(rest, "@")
	if !repoRE.MatchString(repo) || strings.Contains(repo, "..") {
		return Ref{}, fmt.Errorf("hfhub: %q: bad repository name %q", s, repo)
	}
	if rev == "" {
		rev = "main"
	}
	if len(rev) > 256 || strings.ContainsAny(rev, "\x00\n\r") {
		return Ref{}, fmt.Errorf("hfhub: %q: bad revision", s)
	}
	return Ref{Repo: repo, Revision: rev, Type: typ}, nil
}

// Client talks to one hub endpoint.
type Client struct {
	// Endpoint is the hub's base URL (DefaultEndpoint when empty).
	Endpoint string
	// Token is sent as a bearer token to the endpoint (never to the CDN a
	// download redirects to on another host).
	Token string
	// HTTP is the client (http.DefaultClient's settings when nil).
	HTTP *http.Client
	// UserAgent names the client.
	UserAgent string
	// Retries bounds the retries of one request after a 429, a 5xx or a
	// truncated body (default 3).
	Retries int
	// Sleep waits between retries (time.Sleep with ctx when nil).
	Sleep func(context.Context, time.Duration) error
}

// NewClientFromEnv returns a client for HF_ENDPOINT with HF_TOKEN.
func NewClientFromEnv(getenv func(string) string) *Client {
	return &Client{Endpoint: cmp.Or(getenv("HF_ENDPOINT"), DefaultEndpoint), Token: getenv("HF_TOKEN")}
}

func (c *Client) endpoint() string {
	return strings.TrimSuffix(cmp.Or(c.Endpoint, DefaultEndpoint), "/")
}

func (c *Client) retries() int {
	if c.Retries <= 0 {
		return 3
	}
	return c.Retries
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// httpClient returns the HTTP client; onRedirect, when set, sees every
// redirect answer (the hub's own headers before the CDN's).
func (c *Client) httpClient(onRedirect func(*http.Response)) *http.Client {
	base := c.HTTP
	if base == nil {
		base = &http.Client{}
	}
	hc := *base
	endpoint, _ := url.Parse(c.endpoint())
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if onRedirect != nil && req.Response != nil {
			onRedirect(req.Response)
		}
		if len(via) > maxRedirects {
			return fmt.Errorf("hfhub: more than %d redirects", maxRedirects)
		}
		if endpoint != nil && req.URL.Scheme == "http" && endpoint.Scheme == "https" {
			return fmt.Errorf("hfhub: redirect from https to http refused: %s", req.URL.Redacted())
		}
		// Go drops Authorization when the host changes; keep it so.
		if endpoint != nil && req.URL.Host != endpoint.Host {
			req.Header.Del("Authorization")
		}
		return nil
	}
	return &hc
}

func (c *Client) newRequest(ctx context.Context, method, u string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, fmt.Errorf("hfhub: %w", err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	req.Header.Set("User-Agent", cmp.Or(c.UserAgent, "mlsec"))
	return req, nil
}

// do sends a request, retrying 429 and 5xx answers, and returns a 2xx
// response or an error naming the hub's reason.
func (c *Client) do(ctx context.Context, newReq func() (*http.Request, error), onRedirect func(*http.Response)) (*http.Response, error) {
	hc := c.httpClient(onRedirect)
	for attempt := 0; ; attempt++ {
		req, err := newReq()
		if err != nil {
			return nil, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			if attempt < c.retries() && ctx.Err() == nil {
				if serr := c.sleep(ctx, backoff(attempt)); serr != nil {
					return nil, serr
				}
				continue
			}
			return nil, fmt.Errorf("hfhub: %w", err)
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return resp, nil
		}
		herr := statusError(req, resp)
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		retry := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		if !retry || attempt >= c.retries() {
			return nil, herr
		}
		wait := backoff(attempt)
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			wait = min(time.Duration(s)*time.Second, maxRetryAfter)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

func backoff(attempt int) time.Duration { return time.Duration(1<<attempt) * 500 * time.Millisecond }

func statusError(req *http.Request, resp *http.Response) error {
	code := resp.Header.Get("X-Error-Code")
	msg := resp.Header.Get("X-Error-Message")
	what := req.URL.Path
	detail := strings.TrimSpace(strings.Join([]string{code, msg}, " "))
	if detail != "" {
		detail = " (" + detail + ")"
	}
	switch resp.StatusCode {
	case http.StatusNotFound:
		return fmt.Errorf("%w: %s%s", ErrNotFound, what, detail)
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("%w: %s: HTTP %d%s: set HF_TOKEN to a token that may read this repository (private or gated)", ErrUnauthorized, what, resp.StatusCode, detail)
	case http.StatusTooManyRequests:
		return fmt.Errorf("%w: %s: HTTP 429%s", ErrRateLimited, what, detail)
	}
	return fmt.Errorf("hfhub: %s: HTTP %d%s", what, resp.StatusCode, detail)
}

func (c *Client) getJSON(ctx context.Context, u string, v any) (http.Header, error) {
	resp, err := c.do(ctx, func() (*http.Request, error) { return c.newRequest(ctx, http.MethodGet, u) }, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONBytes+1))
	if err != nil {
		return nil, fmt.Errorf("hfhub: %s: %w", u, err)
	}
	if len(b) > maxJSONBytes {
		return nil, fmt.Errorf("hfhub: %s: answer larger than %d bytes", u, maxJSONBytes)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("hfhub: %s: %w", u, err)
	}
	return resp.Header, nil
}

// ModelInfo is the part of /api/models/REPO/revision/REV (or
// /api/datasets/…) that pins a revision.
type ModelInfo struct {
	ID  string `json:"id"`
	SHA string `json:"sha"`
}

var commitRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Info returns the repository's info at rev; SHA is the commit it
// resolves to.
func (c *Client) Info(ctx context.Context, ref Ref) (*ModelInfo, error) {
	u := c.endpoint() + ref.api() + ref.Repo + "/revision/" + url.PathEscape(ref.Revision)
	var mi ModelInfo
	if _, err := c.getJSON(ctx, u, &mi); err != nil {
		return nil, err
	}
	if !commitRE.MatchString(mi.SHA) {
		return nil, fmt.Errorf("hfhub: %s@%s: the hub answered no commit (sha %q)", ref.Name(), ref.Revision, mi.SHA)
	}
	return &mi, nil
}

// Entry is one item of the file listing.
type Entry struct {
	Type string `json:"type"` // "file" or "directory"
	Path string `json:"path"`
	// OID is the git blob SHA-1 of the file as stored in git (the LFS
	// pointer for LFS files).
	OID  string `json:"oid"`
	Size int64  `json:"size"`
	LFS  *struct {
		OID         string `json:"oid"` // sha256 of the content
		Size        int64  `json:"size"`
		PointerSize int64  `json:"pointerSize"`
	} `json:"lfs,omitempty"`
	XetHash string `json:"xetHash,omitempty"`
}

// ContentSize is the size of the file's content.
func (e Entry) ContentSize() int64 {
	if e.LFS != nil {
		return e.LFS.Size
	}
	return e.Size
}

var (
	sha1RE   = regexp.MustCompile(`^[0-9a-f]{40}$`)
	sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Tree lists the files of ref's repository at commit, recursively.
func (c *Client) Tree(ctx context.Context, ref Ref, commit string) ([]Entry, error) {
	repo := ref.Name()
	u := c.endpoint() + ref.api() + ref.Repo + "/tree/" + commit + "?recursive=true&expand=false"
	var files []Entry
	for page := 0; u != ""; page++ {
		if page >= maxTreePages {
			return nil, fmt.Errorf("hfhub: %s: more than %d listing pages", repo, maxTreePages)
		}
		var entries []Entry
		h, err := c.getJSON(ctx, u, &entries)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.Type != "file" {
				continue
			}
			if err := transport.CheckName(e.Path); err != nil {
				return nil, fmt.Errorf("hfhub: %s lists %q: %w", repo, e.Path, err)
			}
			if e.Size < 0 || (e.LFS != nil && (e.LFS.Size < 0 || !sha256RE.MatchString(e.LFS.OID))) || (e.LFS == nil && !sha1RE.MatchString(e.OID)) {
				return nil, fmt.Errorf("hfhub: %s lists %q without a usable hash or size", repo, e.Path)
			}
			files = append(files, e)
			if len(files) > transport.MaxMembers {
				return nil, fmt.Errorf("hfhub: %s holds more than %d files", repo, transport.MaxMembers)
			}
		}
		u, err = nextLink(u, h.Get("Link"))
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// nextLink returns the rel="next" URL of a Link header, on the same host
// as the current page.
func nextLink(cur, link string) (string, error) {
	for _, part := range strings.Split(link, ",") {
		part = strings.TrimSpace(part)
		if !strings.Contains(part, `rel="next"`) {
			continue
		}
		s, e := strings.Index(part, "<"), strings.Index(part, ">")
		if s < 0 || e < s {
			return "", fmt.Errorf("hfhub: bad Link header %q", link)
		}
		base, _ := url.Parse(cur)
		next, err := base.Parse(part[s+1 : e])
		if err != nil || next.Host != base.Host {
			return "", fmt.Errorf("hfhub: bad next page %q", part[s+1:e])
		}
		return next.String(), nil
	}
	return "", nil
}

// Snapshot is a downloaded revision.
type Snapshot struct {
	Repo string
	// Type is the repository's type (TypeModel or TypeDataset).
	Type   string
	Commit string
	Files  []Entry
	Bytes  int64
}

// SourceURL is the snapshot's pinned address on the hub.
func (c *Client) SourceURL(s *Snapshot) string {
	return c.endpoint() + "/" + Ref{Repo: s.Repo, Type: s.Type}.Name() + "/tree/" + s.Commit
}

// Download pins ref to a commit, lists its files and downloads each into
// dir, checking the hub's hashes while streaming. On error dir holds a
// partial download the caller discards.
func (c *Client) Download(ctx context.Context, ref Ref, dir string) (*Snapshot, error) {
	info, err := c.Info(ctx, ref)
	if err != nil {
		return nil, err
	}
	files, err := c.Tree(ctx, ref, info.SHA)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("hfhub: %s@%s holds no file", ref.Name(), info.SHA)
	}
	s := &Snapshot{Repo: ref.Repo, Type: cmp.Or(ref.Type, TypeModel), Commit: info.SHA, Files: files}
	for _, e := range files {
		if err := c.downloadFile(ctx, ref.Name(), info.SHA, e, filepath.Join(dir, filepath.FromSlash(e.Path))); err != nil {
			return nil, err
		}
		s.Bytes += e.ContentSize()
	}
	return s, nil
}

// expected returns the hash the hub promises for the file's content.
func expected(e Entry) (hash.Hash, string, string) {
	if e.LFS != nil {
		return sha256.New(), e.LFS.OID, "sha256"
	}
	// A small file: its git blob id is SHA-1 over "blob SIZE\0" + content.
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", e.Size)
	return h, e.OID, "git blob sha1"
}

// downloadFile fetches one file of repo (its URL name, Ref.Name) at commit.
func (c *Client) downloadFile(ctx context.Context, repo, commit string, e Entry, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("hfhub: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("hfhub: %w", err)
	}
	defer f.Close()
	u := c.endpoint() + "/" + repo + "/resolve/" + commit + "/" + escapePath(e.Path)
	size := e.ContentSize()
	h, want, algo := expected(e)
	var done int64
	buf := make([]byte, 1<<20)
	for attempt := 0; ; attempt++ {
		from := done
		var hub http.Header // the hub's answer: the first redirect, or the file itself
		resp, err := c.do(ctx, func() (*http.Request, error) {
			hub = nil
			req, err := c.newRequest(ctx, http.MethodGet, u)
			if err == nil && from > 0 {
				req.Header.Set("Range", fmt.Sprintf("bytes=%d-", from))
			}
			return req, err
		}, func(r *http.Response) {
			if hub == nil {
				hub = r.Header
			}
		})
		if err != nil {
			return fmt.Errorf("%w (file %s)", err, e.Path)
		}
		if hub == nil {
			hub = resp.Header
		}
		if rc := hub.Get("X-Repo-Commit"); rc != "" && rc != commit {
			resp.Body.Close()
			return fmt.Errorf("%w: %s served from commit %s, pinned %s", ErrIntegrity, e.Path, rc, commit)
		}
		if etag := linkedETag(hub); e.LFS != nil && etag != "" && etag != want {
			resp.Body.Close()
			return fmt.Errorf("%w: %s: ETag %s, listing says sha256 %s", ErrIntegrity, e.Path, etag, want)
		}
		if from > 0 && resp.StatusCode != http.StatusPartialContent {
			// The server ignored the range: start over.
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				resp.Body.Close()
				return fmt.Errorf("hfhub: %w", err)
			}
			if err := f.Truncate(0); err != nil {
				resp.Body.Close()
				return fmt.Errorf("hfhub: %w", err)
			}
			h, _, _ = expected(e)
			done = 0
		} else if from > 0 && !strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", from)) {
			resp.Body.Close()
			return fmt.Errorf("hfhub: %s: range answer %q does not start at %d", e.Path, resp.Header.Get("Content-Range"), from)
		}
		n, rerr := io.CopyBuffer(io.MultiWriter(f, h), io.LimitReader(resp.Body, size-done+1), buf)
		resp.Body.Close()
		done += n
		if done > size {
			return fmt.Errorf("%w: %s is larger than the %d bytes listed", ErrIntegrity, e.Path, size)
		}
		if done == size {
			break
		}
		// Truncated: resume with a range request.
		if attempt >= c.retries() {
			return fmt.Errorf("hfhub: %s: download ends at %d of %d bytes (%v)", e.Path, done, size, rerr)
		}
		if err := c.sleep(ctx, backoff(attempt)); err != nil {
			return err
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("%w: %s: %s %s, the hub lists %s", ErrIntegrity, e.Path, algo, got, want)
	}
	return f.Close()
}

// linkedETag returns the content hash the resolve answer advertises: the
// X-Linked-Etag of a redirect followed, else the ETag, unquoted.
func linkedETag(h http.Header) string {
	t := cmp.Or(h.Get("X-Linked-Etag"), h.Get("ETag"))
	t = strings.TrimPrefix(t, "W/")
	t = strings.Trim(t, `"`)
	if !sha256RE.MatchString(t) {
		return "" // a git blob id or a CDN's own ETag: not the content sha256
	}
	return t
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// Fetch downloads one listed file of commit to path, checking the hub's
// hash of it while it streams, as Download does for every file.
func (c *Client) Fetch(ctx context.Context, ref Ref, commit string, e Entry, path string) error {
	if !commitRE.MatchString(commit) {
		return fmt.Errorf("hfhub: %q is not a commit", commit)
	}
	return c.downloadFile(ctx, ref.Name(), commit, e, path)
}

// ErrBudget means a RemoteFile was asked for more bytes than its budget.
var ErrBudget = errors.New("hfhub: remote read budget exhausted")

// rangeBlock is the unit a RemoteFile fetches and caches.
const rangeBlock = 64 << 10

// RemoteFile reads parts of a listed file with range requests, without
// downloading it: enough to judge a weight file's format by its first and
// last bytes. It is an io.ReaderAt over the file's content. The bytes are
// those the hub serves for the pinned commit (the hub's X-Repo-Commit is
// checked), but a part of a file cannot be checked against the file's
// hash: what a RemoteFile reads is evidence about a format, never content
// to keep.
type RemoteFile struct {
	c      *Client
	ctx    context.Context
	url    string
	commit string
	path   string
	size   int64
	budget int64
	// Fetched counts the bytes received so far.
	Fetched int64
	// Requests counts the range requests sent.
	Requests int
	blocks   map[int64][]byte
}

// Open returns a RemoteFile for a listed file of commit that reads at
// most budget bytes in all (whole 64 KiB blocks, cached).
func (c *Client) Open(ctx context.Context, ref Ref, commit string, e Entry, budget int64) (*RemoteFile, error) {
	if !commitRE.MatchString(commit) {
		return nil, fmt.Errorf("hfhub: %q is not a commit", commit)
	}
	return &RemoteFile{c: c, ctx: ctx, url: c.endpoint() + "/" + ref.Name() + "/resolve/" + commit + "/" + escapePath(e.Path),
		commit: commit, path: e.Path, size: e.ContentSize(), budget: budget, blocks: map[int64][]byte{}}, nil
}

// Size is the file's content size from the listing.
func (r *RemoteFile) Size() int64 { return r.size }

// ReadAt reads len(p) bytes at off, fetching the blocks it needs.
func (r *RemoteFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("hfhub: %s: negative offset", r.path)
	}
	n := 0
	for n < len(p) && off+int64(n) < r.size {
		at := off + int64(n)
		i := at / rangeBlock
		b, err := r.block(i)
		if err != nil {
			return n, err
		}
		n += copy(p[n:], b[at-i*rangeBlock:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (r *RemoteFile) block(i int64) ([]byte, error) {
	if b, ok := r.blocks[i]; ok {
		return b, nil
	}
	start := i * rangeBlock
	end := min(start+rangeBlock, r.size) - 1
	want := end - start + 1
	if r.Fetched+want > r.budget {
		return nil, fmt.Errorf("%w: %s: %d bytes read, %d more asked, budget %d", ErrBudget, r.path, r.Fetched, want, r.budget)
	}
	var hub http.Header
	resp, err := r.c.do(r.ctx, func() (*http.Request, error) {
		hub = nil
		req, err := r.c.newRequest(r.ctx, http.MethodGet, r.url)
		if err == nil {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", start, end))
		}
		return req, err
	}, func(h *http.Response) {
		if hub == nil {
			hub = h.Header
		}
	})
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, r.path)
	}
	defer resp.Body.Close()
	r.Requests++
	if hub == nil {
		hub = resp.Header
	}
	if rc := hub.Get("X-Repo-Commit"); rc != "" && rc != r.commit {
		return nil, fmt.Errorf("%w: %s served from commit %s, pinned %s", ErrIntegrity, r.path, rc, r.commit)
	}
	if resp.StatusCode != http.StatusPartialContent || !strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-%d/", start, end)) {
		return nil, fmt.Errorf("hfhub: %s: range %d-%d answered HTTP %d, Content-Range %q", r.path, start, end, resp.StatusCode, resp.Header.Get("Content-Range"))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, want+1))
	r.Fetched += int64(len(b))
	if err != nil {
		return nil, fmt.Errorf("hfhub: %s: %w", r.path, err)
	}
	if int64(len(b)) != want {
		return nil, fmt.Errorf("hfhub: %s: range %d-%d sent %d bytes", r.path, start, end, len(b))
	}
	r.blocks[i] = b
	return b, nil
}
