package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// What a user sees when a signature, key or path is not what verify
// expects: exit 1 for a bad signature, 2 for usage, and a message that
// says what to do.
func TestVerifyMessages(t *testing.T) {
	dir := mkModel(t)
	key, _ := filepath.Abs(filepath.Join(keys, "signing-key.pem"))
	pub, _ := filepath.Abs(filepath.Join(keys, "signing-key-pub.pem"))
	cert, _ := filepath.Abs(filepath.Join(keys, "signing-key-cert.pem"))
	inside := filepath.Join(dir, "model.sig")
	if code, out, errs := run(t, "sign", dir, "--key", key, "--signature", inside); code != 0 {
		t.Fatalf("sign: %d %s%s", code, out, errs)
	}
	file := filepath.Join(t.TempDir(), "m.gguf")
	os.WriteFile(file, []byte("gguf"), 0o644)
	if code, out, errs := run(t, "sign", file, "--key", key, "--signature", file+".sig"); code != 0 {
		t.Fatalf("sign file: %d %s%s", code, out, errs)
	}
	empty := filepath.Join(t.TempDir(), "empty.sig")
	os.WriteFile(empty, nil, 0o644)
	other := filepath.Join(t.TempDir(), "other")
	os.MkdirAll(other, 0o755)
	os.WriteFile(filepath.Join(other, "a.bin"), []byte("a"), 0o644)

	t.Chdir(t.TempDir()) // no model.sig here
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		// The layout's signature is used by default (docs/evidence-layout.md).
		{"default signature, directory model", []string{"verify", dir, "--key", pub}, 0, "OK " + dir + ": signature valid"},
		{"default signature, file model", []string{"verify", file, "--key", pub}, 0, "OK " + file + ": signature valid"},
		{"no signature anywhere", []string{"verify", other, "--key", pub}, 2,
			other + " has no signature: " + filepath.Join(other, "model.sig") + " does not exist (or pass --signature FILE)"},
		{"--signature missing, layout's present", []string{"verify", dir, "--key", pub, "--signature", "elsewhere.sig"}, 2,
			"signature elsewhere.sig does not exist; " + dir + " has its signature at " + inside + ": leave out --signature to use it"},
		{"signature is a directory", []string{"verify", dir, "--key", pub, "--signature", dir}, 2, "is a directory: pass the bundle file"},
		{"empty signature", []string{"verify", dir, "--key", pub, "--signature", empty}, 1, "bundle is empty"},
		{"private key to verify", []string{"verify", dir, "--key", key, "--signature", inside}, 2, "holds a private key, not a public key"},
		{"certificate as key", []string{"verify", dir, "--key", cert, "--signature", inside}, 2, "holds a certificate, not a public key"},
		{"key as CA bundle", []string{"verify", dir, "--ca-bundle", pub, "--signature", inside}, 2, "no PEM certificate found (the file holds PUBLIC KEY)"},
		{"signature of another model", []string{"verify", other, "--key", pub, "--signature", inside}, 1, "probably the signature of another model"},
		{"ignore path outside the model", []string{"verify", dir, "--key", pub, "--signature", inside, "--ignore-paths", "tokenizer"}, 0,
			"--ignore-paths tokenizer is outside " + dir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := run(t, tt.args...)
			if code != tt.code || !strings.Contains(out+errs, tt.want) {
				t.Errorf("code %d, output %q, want %d and %q", code, out+errs, tt.code, tt.want)
			}
		})
	}
}

// A --certificate file holding the whole chain (leaf first, as fullchain
// files do) records the certificates after the leaf as the chain.
func TestSignCertificateFullChainFile(t *testing.T) {
	dir := mkModel(t)
	leaf, err := os.ReadFile(filepath.Join(keys, "signing-key-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	inter, err := os.ReadFile(filepath.Join(keys, "int-ca-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(t.TempDir(), "fullchain.pem")
	os.WriteFile(full, append(append([]byte{}, leaf...), inter...), 0o644)
	sig := filepath.Join(t.TempDir(), "model.sig")
	if code, out, errs := run(t, "sign", dir, "--certificate", full, "--key", filepath.Join(keys, "signing-key.pem"), "--signature", sig); code != 0 {
		t.Fatalf("sign: %d %s%s", code, out, errs)
	}
	if code, out, errs := run(t, "verify", dir, "--ca-bundle", filepath.Join(keys, "ca-cert.pem"), "--signature", sig); code != 0 {
		t.Errorf("verify: %d %s%s", code, out, errs)
	}
}
