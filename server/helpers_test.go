package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/sqlite"
)

// memBlobs is an in-memory Blobs for tests.
type memBlobs struct {
	mu    sync.Mutex
	blobs map[store.Digest][]byte
	// hold, when set, blocks Put until closed (graceful-shutdown test).
	hold    chan struct{}
	entered chan struct{}
}

func newMemBlobs() *memBlobs { return &memBlobs{blobs: map[store.Digest][]byte{}} }

func (m *memBlobs) Put(ctx context.Context, r io.Reader) (store.Digest, int64, error) {
	if m.entered != nil {
		close(m.entered)
	}
	if m.hold != nil {
		<-m.hold
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return "", 0, err
	}
	sum := sha256.Sum256(b)
	d := store.Digest("sha256:" + hex.EncodeToString(sum[:]))
	m.mu.Lock()
	m.blobs[d] = b
	m.mu.Unlock()
	return d, int64(len(b)), nil
}

func (m *memBlobs) Open(ctx context.Context, d store.Digest) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[d]
	if !ok {
		return nil, errorf("not_found", "no blob %s", d)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// env is a server on a fresh SQLite store with one token per role.
type env struct {
	t      *testing.T
	srv    *Server
	st     store.Store
	blobs  *memBlobs
	http   *httptest.Server
	tokens map[store.Role]string
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	st, err := sqlite.OpenDir(context.Background(), t.TempDir(), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newEnvStore(t, st, mod)
}

// newEnvStore is newEnv on a given store.
func newEnvStore(t *testing.T, st store.Store, mod func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	var err error
	e := &env{t: t, st: st, blobs: newMemBlobs(), tokens: map[store.Role]string{}}
	cfg := Config{Store: st, Blobs: e.blobs, Rate: -1, Log: slog.New(slog.DiscardHandler)}
	if mod != nil {
		mod(&cfg)
	}
	if e.srv, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	for _, r := range store.Roles() {
		secret, _, err := st.CreateToken(ctx, store.NewToken{Name: "test-" + string(r), Role: r, Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[r] = secret
	}
	e.http = httptest.NewServer(e.srv.Handler())
	t.Cleanup(e.http.Close)
	return e
}

// do sends a request as role (empty: no token) and returns status and body.
func (e *env) do(role store.Role, method, path string, body io.Reader, contentType string) (int, []byte, http.Header) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.http.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.http.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header
}

// json sends a JSON body (nil: none) and decodes the response into out.
func (e *env) json(role store.Role, method, path string, in, out any) int {
	e.t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	status, b, _ := e.do(role, method, path, body, "application/json")
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: status %d, body %q: %v", method, path, status, b, err)
		}
	}
	return status
}

// errCode decodes an error body's code.
func errCode(t *testing.T, b []byte) string {
	t.Helper()
	var eb ErrorBody
	if err := json.Unmarshal(b, &eb); err != nil {
		t.Fatalf("not a JSON error body: %q", b)
	}
	return eb.Error.Code
}

// maliciousPickle is a protocol-2 pickle calling os.system("id").
func maliciousPickle() []byte {
	return []byte("\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.")
}

// cleanSafetensors is a minimal valid safetensors file: one F32 scalar.
func cleanSafetensors() []byte {
	hdr := `{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
	for len(hdr)%8 != 0 {
		hdr += " "
	}
	var b bytes.Buffer
	n := uint64(len(hdr))
	for i := range 8 {
		b.WriteByte(byte(n >> (8 * i)))
	}
	b.WriteString(hdr)
	b.Write([]byte{0, 0, 0x80, 0x3f})
	return b.Bytes()
}

func digestOf(b []byte) store.Digest {
	sum := sha256.Sum256(b)
	return store.Digest("sha256:" + hex.EncodeToString(sum[:]))
}

func fakeDigest(c byte) store.Digest {
	return store.Digest("sha256:" + strings.Repeat(string(c), 64))
}

// tokenActor is the audit actor of the env's token of role r.
func tokenActor(e *env, r store.Role) string {
	tok, err := e.st.Authenticate(context.Background(), e.tokens[r])
	if err != nil {
		e.t.Fatal(err)
	}
	return store.TokenActor(tok)
}
