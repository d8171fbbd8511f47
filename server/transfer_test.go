package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/blob"
)

func TestTransferDigests(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := blob.NewKeyring(id)
	blobDir := t.TempDir()
	bs, err := blob.Open(blobDir, keys)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *Config) { c.Blobs = EncryptedBlobs(bs, 1<<20) })
	ml := store.RoleMLEngineer
	model := cleanSafetensors()
	sum := sha256.Sum256(model)
	d := "sha256:" + hex.EncodeToString(sum[:])
	cd := "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
	other := sha256.Sum256([]byte("other"))
	wrong := "sha256:" + hex.EncodeToString(other[:])

	upload := func(query, contentDigest string) (int, string) {
		req, _ := http.NewRequest("POST", e.http.URL+"/api/v1/uploads?name=m.safetensors"+query, bytes.NewReader(model))
		req.Header.Set("Authorization", "Bearer "+e.tokens[ml])
		if contentDigest != "" {
			req.Header.Set("Content-Digest", contentDigest)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Refused uploads register nothing and keep nothing.
	for name, tc := range map[string][2]string{
		"wrong ?digest":        {"&digest=" + wrong, ""},
		"wrong Content-Digest": {"", "sha-256=:" + base64.StdEncoding.EncodeToString(other[:]) + ":"},
		"bad Content-Digest":   {"", "sha-256=nope"},
		"only sha-512":         {"", "sha-512=:AAAA:"},
		"bad ?digest":          {"&digest=md5:abc", ""},
		"disagreeing digests":  {"&digest=" + d, "sha-256=:" + base64.StdEncoding.EncodeToString(other[:]) + ":"},
	} {
		status, body := upload(tc[0], tc[1])
		if status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, status, body)
		}
	}
	if status, _, _ := e.do(ml, "GET", "/api/v1/artifacts/"+d, nil, ""); status != http.StatusNotFound {
		t.Errorf("a refused upload registered the artifact: %d", status)
	}
	if _, err := bs.Open(store.Digest(d)); err == nil {
		t.Error("a refused upload left its bytes in the blob store")
	}
	if status, body := upload("&digest="+d, cd); status != http.StatusCreated {
		t.Fatalf("upload with matching digests: %d %s", status, body)
	}

	// Download: the bytes, with a Content-Digest the client checks.
	status, body, h := e.do(ml, "GET", "/api/v1/artifacts/"+d+"/blob", nil, "")
	if status != 200 || !bytes.Equal(body, model) || h.Get("Content-Digest") != cd || h.Get("ETag") != `"`+d+`"` {
		t.Fatalf("download: %d, %d bytes, Content-Digest %q ETag %q", status, len(body), h.Get("Content-Digest"), h.Get("ETag"))
	}

	// Stored bytes that no longer match their digest (re-encrypted with
	// the server's key, so only the digest check can catch them) are cut
	// off: the client never receives a complete body.
	var blobFile string
	filepath.Walk(filepath.Join(blobDir, "sha256"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, ".age") {
			blobFile = p
		}
		return nil
	})
	var enc bytes.Buffer
	w, _ := age.Encrypt(&enc, id.Recipient())
	w.Write(bytes.Repeat([]byte{0}, len(model)))
	w.Close()
	if err := os.WriteFile(blobFile, enc.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", e.http.URL+"/api/v1/artifacts/"+d+"/blob", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens[ml])
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("a download whose stored bytes fail their digest completed")
	}

	// An artifact registered by reference has no bytes here.
	ref := fakeDigest('c')
	if s := e.json(ml, "POST", "/api/v1/artifacts", map[string]any{"digest": ref, "name": "r", "kind": "model"}, nil); s != 201 {
		t.Fatalf("register: %d", s)
	}
	if status, _, _ := e.do(ml, "GET", "/api/v1/artifacts/"+string(ref)+"/blob", nil, ""); status != http.StatusNotFound {
		t.Errorf("download of a reference: %d", status)
	}
}
