package cli_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/internal/cli"
	"github.com/mlsecops/mlsec/transport/oci/ocitest"
)

// pullKeyPair writes a PKCS#8 private key and its PKIX public key.
func pullKeyPair(t *testing.T, dir, name string) (priv, pub string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := x509.MarshalPKCS8PrivateKey(k)
	pp, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	priv, pub = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".pub")
	os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600)
	os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pp}), 0o644)
	return priv, pub
}

type runResult struct {
	code           int
	stdout, stderr string
}

func mlsecRun(t *testing.T, args ...string) runResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), args, nil, &out, &errb)
	return runResult{code, out.String(), errb.String()}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Dir(dst), 0o755)
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func assertUntouched(t *testing.T, dest string) {
	t.Helper()
	if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s exists after a refused pull", dest)
	}
	ents, _ := os.ReadDir(filepath.Dir(dest))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".mlsec-quarantine") {
			t.Fatalf("quarantine left behind: %s", e.Name())
		}
	}
}

// TestPushPullJourney pushes a signed model to the Debian docker-registry
// over TLS and pulls it back through every check; then the refusals.
func TestPushPullJourney(t *testing.T) {
	reg := ocitest.StartDistribution(t)
	dir := t.TempDir()
	priv, pub := pullKeyPair(t, dir, "alice")
	_, otherPub := pullKeyPair(t, dir, "mallory")
	model := filepath.Join(dir, "model")
	copyFile(t, "../../testdata/models/model.safetensors", filepath.Join(model, "model.safetensors"))
	copyFile(t, "../../testdata/models/config.json", filepath.Join(model, "config.json"))
	if r := mlsecRun(t, "sign", "--key", priv, "--signature", filepath.Join(model, "model.sig"), model); r.code != 0 {
		t.Fatalf("sign: %+v", r)
	}
	// A recorded (failed) ci decision: a signed VSA in the claims file,
	// which must travel with the model.
	if r := mlsecRun(t, "gate", "--stage", "ci", "--key", priv, "--trust", "trusted", model); r.code != 1 {
		t.Fatalf("gate ci: %+v", r)
	}
	ref := "oci://" + reg.Host + "/team/model:v1"
	r := mlsecRun(t, "push", "--ca-file", reg.CAFile, model, ref)
	if r.code != 0 {
		t.Fatalf("push: %+v", r)
	}
	pinned := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(pinned, "oci://"+reg.Host+"/team/model@sha256:") {
		t.Fatalf("push printed %q", pinned)
	}
	if !strings.Contains(r.stderr, "signature yes, 1 claims as referrers") {
		t.Errorf("push stderr %q", r.stderr)
	}

	dest := filepath.Join(dir, "pulled")
	r = mlsecRun(t, "pull", "--ca-file", reg.CAFile, "--key", pub, pinned, dest)
	if r.code != 0 {
		t.Fatalf("pull: %+v", r)
	}
	for _, f := range []string{"model.safetensors", "config.json", "model.sig", "claims.jsonl"} {
		a, _ := os.ReadFile(filepath.Join(model, f))
		b, err := os.ReadFile(filepath.Join(dest, f))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs after pull: %v", f, err)
		}
	}
	if r := mlsecRun(t, "verify", "--key", pub, "--signature", filepath.Join(dest, "model.sig"), dest); r.code != 0 {
		t.Errorf("verify after pull: %+v", r)
	}

	// A tag is resolved once and printed.
	r = mlsecRun(t, "pull", "--ca-file", reg.CAFile, "--key", pub, ref, filepath.Join(dir, "bytag"))
	if r.code != 0 || !strings.Contains(r.stderr, "resolved "+ref+" to "+pinned) {
		t.Fatalf("pull by tag: %+v", r)
	}

	// Without the CA the TLS handshake fails: nothing lands.
	dest = filepath.Join(dir, "noca")
	if r := mlsecRun(t, "pull", "--key", pub, pinned, dest); r.code != 2 || !strings.Contains(r.stderr, "certificate") {
		t.Errorf("pull without --ca-file: %+v", r)
	}
	assertUntouched(t, dest)

	// Signed by someone else than the trusted key: refused.
	dest = filepath.Join(dir, "wrongkey")
	r = mlsecRun(t, "pull", "--ca-file", reg.CAFile, "--key", otherPub, pinned, dest)
	if r.code != 1 || !strings.Contains(r.stderr, "no signature verifies") || !strings.Contains(r.stderr, "untouched") {
		t.Errorf("pull with the wrong key: %+v", r)
	}
	assertUntouched(t, dest)

	// --stage serving evaluates the serving gate: a model with no recorded
	// decision from the earlier stages does not pass it.
	dest = filepath.Join(dir, "serving")
	r = mlsecRun(t, "pull", "--ca-file", reg.CAFile, "--key", pub, "--stage", "serving", pinned, dest)
	if r.code != 1 || !strings.Contains(r.stderr, "gate serving FAILED: SERVE-001") {
		t.Errorf("pull --stage serving: %+v", r)
	}
	assertUntouched(t, dest)

	// A model changed since it was signed: the registry refuses the
	// upload of the digest the signature names.
	f, _ := os.OpenFile(filepath.Join(model, "model.safetensors"), os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte("tampered"))
	f.Close()
	if r := mlsecRun(t, "push", "--ca-file", reg.CAFile, model, "oci://"+reg.Host+"/team/model:v2"); r.code != 2 || !strings.Contains(r.stderr, "still match its signature") {
		t.Errorf("push of a model changed since signing: %+v", r)
	}

	// Trust flags are required.
	if r := mlsecRun(t, "pull", "--ca-file", reg.CAFile, pinned, filepath.Join(dir, "x")); r.code != 2 || !strings.Contains(r.stderr, "--key") {
		t.Errorf("pull without trust: %+v", r)
	}
}

// A signed model the scanner refuses is not landed.
func TestPullRefusesMaliciousModel(t *testing.T) {
	reg := ocitest.StartReferrers(t, nil)
	dir := t.TempDir()
	priv, pub := pullKeyPair(t, dir, "alice")
	model := filepath.Join(dir, "model")
	os.MkdirAll(model, 0o755)
	os.WriteFile(filepath.Join(model, "pytorch_model.pkl"), []byte("cos\nsystem\n(S'echo pwned'\ntR."), 0o644)
	if r := mlsecRun(t, "sign", "--key", priv, "--signature", filepath.Join(model, "model.sig"), model); r.code != 0 {
		t.Fatalf("sign: %+v", r)
	}
	r := mlsecRun(t, "push", "--plain-http", model, "oci://"+reg.Host+"/evil:v1")
	if r.code != 0 {
		t.Fatalf("push: %+v", r)
	}
	dest := filepath.Join(dir, "pulled")
	r = mlsecRun(t, "pull", "--plain-http", "--key", pub, strings.TrimSpace(r.stdout), dest)
	if r.code != 1 || !strings.Contains(r.stderr, "PICKLE-001") || !strings.Contains(r.stderr, "scan: critical") {
		t.Errorf("pull of a malicious model: %+v", r)
	}
	assertUntouched(t, dest)
}

// An unsigned model has no signature referrer: refused.
func TestPullRefusesUnsigned(t *testing.T) {
	reg := ocitest.StartReferrers(t, nil)
	dir := t.TempDir()
	_, pub := pullKeyPair(t, dir, "alice")
	model := filepath.Join(dir, "model")
	copyFile(t, "../../testdata/models/config.json", filepath.Join(model, "config.json"))
	r := mlsecRun(t, "push", "--plain-http", model, "oci://"+reg.Host+"/m:v1")
	if r.code != 0 || !strings.Contains(r.stderr, "warning: ") {
		t.Fatalf("push: %+v", r)
	}
	dest := filepath.Join(dir, "pulled")
	r = mlsecRun(t, "pull", "--plain-http", "--key", pub, strings.TrimSpace(r.stdout), dest)
	if r.code != 1 || !strings.Contains(r.stderr, "no OMS signature referrer") {
		t.Errorf("pull unsigned: %+v", r)
	}
	assertUntouched(t, dest)
}
