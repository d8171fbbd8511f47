package cli_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/mlsecops/mlsec/internal/cli"
)

// A bundle with one flipped byte exits 1 with a clear message and lands
// nothing.
func TestUnsealFlippedByte(t *testing.T) {
	dir := t.TempDir()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "model")
	os.Mkdir(model, 0o755)
	os.WriteFile(filepath.Join(model, "weights.bin"), bytes.Repeat([]byte("w"), 300_000), 0o644)
	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600)
	bundle := filepath.Join(dir, "m.age")
	var stdout, stderr bytes.Buffer
	if code := cli.Run(context.Background(), []string{"seal", model, "-r", id.Recipient().String(), "-o", bundle}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("seal exit %d: %s", code, stderr.String())
	}
	b, _ := os.ReadFile(bundle)
	b[len(b)/2] ^= 0x80
	os.WriteFile(bundle, b, 0o644)
	dest := filepath.Join(dir, "out")
	stderr.Reset()
	code := cli.Run(context.Background(), []string{"unseal", bundle, "--identity", keyFile, "--insecure-skip-verify", dest}, nil, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "bad bundle") || !strings.Contains(stderr.String(), "untouched") {
		t.Errorf("stderr %q", stderr.String())
	}
	if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("dest created")
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".mlsec-quarantine") {
			t.Fatalf("quarantine left: %s", e.Name())
		}
	}
}

// seal -o naming the model itself, one of its evidence files, or a path
// inside the model directory is refused (exit 2) and the model is left as
// it was: the bundle would replace the plaintext model or become part of it.
func TestSealOutputInsideModelRefused(t *testing.T) {
	dir := t.TempDir()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "model")
	os.Mkdir(model, 0o755)
	weights := bytes.Repeat([]byte("w"), 1000)
	os.WriteFile(filepath.Join(model, "weights.bin"), weights, 0o644)
	file := filepath.Join(dir, "m.bin")
	os.WriteFile(file, weights, 0o644)
	os.WriteFile(file+".sig", []byte("{}"), 0o644)
	os.Symlink(model, filepath.Join(dir, "link"))
	for name, tc := range map[string]struct{ path, out string }{
		"file model over itself":        {file, file},
		"file model over its signature": {file, file + ".sig"},
		"directory model, inside it":    {model, filepath.Join(model, "m.age")},
		"directory model, its own file": {model, filepath.Join(model, "weights.bin")},
		"inside it through a symlink":   {model, filepath.Join(dir, "link", "m.age")},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := cli.Run(context.Background(), []string{"seal", tc.path, "-r", id.Recipient().String(), "-o", tc.out}, nil, &stdout, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), "inside the model") {
				t.Fatalf("exit %d, want 2: %s", code, stderr.String())
			}
			for _, p := range []string{file, filepath.Join(model, "weights.bin")} {
				if b, err := os.ReadFile(p); err != nil || !bytes.Equal(b, weights) {
					t.Fatalf("%s changed: %v", p, err)
				}
			}
			if ents, _ := os.ReadDir(model); len(ents) != 1 {
				t.Fatalf("model holds %v", ents)
			}
		})
	}
}

// sealFixture writes an age identity and a model directory with one
// weights file; it returns the identity file, its recipient and the model.
func sealFixture(t *testing.T, dir string) (keyFile, recipient, model string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keyFile = filepath.Join(dir, "age.key")
	os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600)
	model = filepath.Join(dir, "model")
	os.Mkdir(model, 0o755)
	copyFile(t, "../../testdata/models/config.json", filepath.Join(model, "config.json"))
	os.WriteFile(filepath.Join(model, "weights.bin"), bytes.Repeat([]byte("w"), 300_000), 0o644)
	return keyFile, id.Recipient().String(), model
}

// Unseal verifies the model's OMS signature with the trust flags of
// verify and pull, and scans it, before anything lands; without a trust
// flag it refuses to start unless --insecure-skip-verify is given.
func TestUnsealVerifiesSignature(t *testing.T) {
	dir := t.TempDir()
	keyFile, rcpt, model := sealFixture(t, dir)
	priv, pub := pullKeyPair(t, dir, "alice")
	_, otherPub := pullKeyPair(t, dir, "mallory")
	if r := mlsecRun(t, "sign", "--key", priv, model); r.code != 0 {
		t.Fatalf("sign: %+v", r)
	}
	bundle := filepath.Join(dir, "m.age")
	if r := mlsecRun(t, "seal", model, "-r", rcpt, "-o", bundle); r.code != 0 {
		t.Fatalf("seal: %+v", r)
	}
	dest := filepath.Join(dir, "out")

	r := mlsecRun(t, "unseal", bundle, "-i", keyFile, dest)
	if r.code != 2 || !strings.Contains(r.stderr, "--key PUB") || !strings.Contains(r.stderr, "--insecure-skip-verify") {
		t.Errorf("unseal without trust flags: %+v", r)
	}
	assertUntouched(t, dest)
	r = mlsecRun(t, "unseal", bundle, "-i", keyFile, "--key", pub, "--insecure-skip-verify", dest)
	if r.code != 2 {
		t.Errorf("--key with --insecure-skip-verify: %+v", r)
	}

	r = mlsecRun(t, "unseal", bundle, "-i", keyFile, "--key", otherPub, dest)
	if r.code != 1 || !strings.Contains(r.stderr, "unseal refused: no signature verifies") || !strings.Contains(r.stderr, dest+" untouched") {
		t.Errorf("unseal with the wrong key: %+v", r)
	}
	assertUntouched(t, dest)

	r = mlsecRun(t, "unseal", bundle, "-i", keyFile, "--key", otherPub, "--key", pub, dest)
	if r.code != 0 || !strings.Contains(r.stderr, "signature verified") || !strings.Contains(r.stdout, "signature yes (verified)") {
		t.Fatalf("unseal with the signer's key: %+v", r)
	}
	if r := mlsecRun(t, "verify", "--key", pub, dest); r.code != 0 {
		t.Errorf("verify after unseal: %+v", r)
	}
}

// A model changed after it was signed, an unsigned model and a model the
// scanner refuses are refused by unseal, DIR untouched;
// --insecure-skip-verify lands an unsigned model with a warning.
func TestUnsealRefusals(t *testing.T) {
	dir := t.TempDir()
	keyFile, rcpt, model := sealFixture(t, dir)
	priv, pub := pullKeyPair(t, dir, "alice")
	sealTo := func(name string) string {
		t.Helper()
		b := filepath.Join(dir, name+".age")
		if r := mlsecRun(t, "seal", model, "-r", rcpt, "-o", b); r.code != 0 {
			t.Fatalf("seal: %+v", r)
		}
		return b
	}
	dest := filepath.Join(dir, "out")

	unsigned := sealTo("unsigned")
	r := mlsecRun(t, "unseal", unsigned, "-i", keyFile, "--key", pub, dest)
	if r.code != 1 || !strings.Contains(r.stderr, "not signed") {
		t.Errorf("unsigned: %+v", r)
	}
	assertUntouched(t, dest)

	if r := mlsecRun(t, "sign", "--key", priv, model); r.code != 0 {
		t.Fatalf("sign: %+v", r)
	}
	os.WriteFile(filepath.Join(model, "weights.bin"), []byte("changed after signing"), 0o644)
	changed := sealTo("changed")
	r = mlsecRun(t, "unseal", changed, "-i", keyFile, "--key", pub, dest)
	if r.code != 1 || !strings.Contains(r.stderr, "does not match the files") {
		t.Errorf("changed after signing: %+v", r)
	}
	assertUntouched(t, dest)

	os.WriteFile(filepath.Join(model, "weights.bin"), []byte("cos\nsystem\n(S'echo pwned'\ntR."), 0o644)
	os.Rename(filepath.Join(model, "weights.bin"), filepath.Join(model, "pytorch_model.pkl"))
	os.Remove(filepath.Join(model, "model.sig"))
	if r := mlsecRun(t, "sign", "--key", priv, model); r.code != 0 {
		t.Fatalf("sign: %+v", r)
	}
	evil := sealTo("evil")
	r = mlsecRun(t, "unseal", evil, "-i", keyFile, "--key", pub, dest)
	if r.code != 1 || !strings.Contains(r.stderr, "PICKLE-001") || !strings.Contains(r.stderr, "scan: critical") {
		t.Errorf("malicious model: %+v", r)
	}
	assertUntouched(t, dest)

	r = mlsecRun(t, "unseal", unsigned, "-i", keyFile, "--insecure-skip-verify", dest)
	if r.code != 0 || !strings.Contains(r.stderr, "was not verified") || !strings.Contains(r.stdout, "NOT verified") {
		t.Errorf("--insecure-skip-verify: %+v", r)
	}
}

// A claims line about another model, put into the bundle by whoever
// sealed it, is refused like a swapped claim referrer in pull.
func TestUnsealRefusesClaimOfAnotherModel(t *testing.T) {
	dir := t.TempDir()
	keyFile, rcpt, model := sealFixture(t, dir)
	priv, pub := pullKeyPair(t, dir, "alice")
	other := filepath.Join(dir, "other")
	copyFile(t, "../../testdata/models/weights.json", filepath.Join(other, "weights.json"))
	for _, m := range []string{model, other} {
		if r := mlsecRun(t, "sign", "--key", priv, m); r.code != 0 {
			t.Fatalf("sign: %+v", r)
		}
	}
	if r := mlsecRun(t, "gate", "--stage", "ci", "--key", priv, "--trust", "trusted", other); r.code != 1 {
		t.Fatalf("gate ci: %+v", r)
	}
	claim, err := os.ReadFile(filepath.Join(other, "claims.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(model, "claims.jsonl"), claim, 0o644)
	bundle := filepath.Join(dir, "m.age")
	if r := mlsecRun(t, "seal", model, "-r", rcpt, "-o", bundle); r.code != 0 {
		t.Fatalf("seal: %+v", r)
	}
	dest := filepath.Join(dir, "out")
	r := mlsecRun(t, "unseal", bundle, "-i", keyFile, "--key", pub, dest)
	if r.code != 1 || !strings.Contains(r.stderr, "claims line 1") || !strings.Contains(r.stderr, "not this model") {
		t.Errorf("unseal: %+v", r)
	}
	assertUntouched(t, dest)
}
