package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeScansCLIDigest is issue 12's regression: a directory model
// signed and attested by the CLI (model.sig and claims.jsonl inside it) and
// registered with the digest `mlsec digest` prints is scanned by the
// server's job, not cancelled as "changed" — the server and the CLI compute
// a directory's digest with one function (attest.ArtifactDigest).
func TestServeScansCLIDigest(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "org.pem")
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	model := filepath.Join(dir, "model")
	hdr := []byte(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`)
	weights := append(append(binary.LittleEndian.AppendUint64(nil, uint64(len(hdr))), hdr...), make([]byte, 8)...)
	for name, b := range map[string][]byte{
		key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		filepath.Join(model, "model.safetensors"): weights,
		filepath.Join(model, "config.json"):       []byte(`{"model_type":"tiny"}`),
	} {
		os.MkdirAll(filepath.Dir(name), 0o755)
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) string {
		t.Helper()
		var out, errb strings.Builder
		if code := Run(context.Background(), args, strings.NewReader(""), &out, &errb); code != 0 {
			t.Fatalf("mlsec %s: exit %d\n%s", strings.Join(args, " "), code, errb.String())
		}
		return out.String()
	}
	run("sign", model, "--key", key, "--signature", filepath.Join(model, "model.sig"))
	run("attest", "provenance", "--model", model, "--builder-id", "https://ci.example/runner", "--key", key)
	for _, f := range []string{"model.sig", "claims.jsonl"} {
		if _, err := os.Stat(filepath.Join(model, f)); err != nil {
			t.Fatalf("the CLI wrote no %s inside the model: %v", f, err)
		}
	}
	d := strings.TrimSpace(run("digest", model))
	if !strings.HasPrefix(d, "sha256:") {
		t.Fatalf("mlsec digest printed %q", d)
	}

	// The server reads file:// sources only inside a --source-root.
	_, do, stop := startServe(t, filepath.Join(dir, "data"), "--source-root", model)
	defer stop()
	reg, _ := json.Marshal(map[string]any{"digest": d, "name": "model", "kind": "model", "directory": true, "source": "file://" + filepath.ToSlash(model)})
	if s, b := do("POST", "/api/v1/artifacts", string(reg)); s != 201 {
		t.Fatalf("register: %d %s", s, b)
	}
	s, b := do("POST", "/api/v1/artifacts/"+d+"/scan", "")
	var ja struct {
		StatusURL string `json:"status_url"`
	}
	if s != 202 || json.Unmarshal([]byte(b), &ja) != nil {
		t.Fatalf("scan: %d %s", s, b)
	}
	if st := waitJob(t, do, ja.StatusURL); st != "completed" {
		_, job := do("GET", ja.StatusURL, "")
		t.Fatalf("scan job of a directory registered with mlsec digest ended %s: %s", st, job)
	}
	s, b = do("GET", "/api/v1/artifacts/"+d+"/evidence?predicate_type=https://mlsec.dev/attestation/scan/v1", "")
	if s != 200 || !strings.Contains(b, `"subject":"`+d+`"`) {
		t.Fatalf("no scan evidence about %s: %d %s", d, s, b)
	}
}
