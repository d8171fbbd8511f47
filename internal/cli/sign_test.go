package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/internal/cli"
)

const vectors = "../../signing/testdata/interop/model-transparency/scripts/tests"

var keys = filepath.Join(vectors, "keys/certificate")

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func mkModel(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "model")
	for name, content := range map[string]string{
		"model.safetensors": "weights", "config.json": "{}", "tokenizer/vocab.txt": "a b c", ".git/HEAD": "ref",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSignVerifyKey(t *testing.T) {
	dir := mkModel(t)
	sig := filepath.Join(dir, "model.sig")
	code, out, errs := run(t, "sign", dir, "--key", filepath.Join(keys, "signing-key.pem"), "--signature", sig)
	if code != 0 || !strings.Contains(out, "signed "+dir+" (3 resources, key") {
		t.Fatalf("sign: code %d\n%s%s", code, out, errs)
	}
	pub := filepath.Join(keys, "signing-key-pub.pem")
	code, out, _ = run(t, "verify", dir, "--key", pub, "--signature", sig)
	if code != 0 || !strings.HasPrefix(out, "OK "+dir+": signature valid (key), 3 resources match") {
		t.Fatalf("verify: code %d: %s", code, out)
	}

	// Tamper, add and remove: exit 1, each file named.
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"evil":1}`), 0o644)
	os.WriteFile(filepath.Join(dir, "backdoor.pkl"), []byte("x"), 0o644)
	os.Remove(filepath.Join(dir, "tokenizer/vocab.txt"))
	code, out, _ = run(t, "verify", dir, "--key", pub, "--signature", sig)
	if code != 1 {
		t.Fatalf("tampered verify: code %d: %s", code, out)
	}
	for _, want := range []string{"added: backdoor.pkl", "missing: tokenizer/vocab.txt", "changed: config.json"} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
	code, out, _ = run(t, "verify", dir, "--key", pub, "--signature", sig, "--format", "json")
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 1 {
		t.Fatalf("json verify: code %d, %v: %s", code, err, out)
	}
	want := map[string]any{"valid": false, "added": []any{"backdoor.pkl"}, "missing": []any{"tokenizer/vocab.txt"}, "changed": []any{"config.json"}}
	for k, v := range want {
		if diff := cmp.Diff(v, got[k]); diff != "" {
			t.Errorf("json %s (-want +got):\n%s", k, diff)
		}
	}
	// --ignore-paths (comma-separated) and --ignore-unsigned-files.
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{}`), 0o644)
	os.WriteFile(filepath.Join(dir, "tokenizer/vocab.txt"), []byte("a b c"), 0o644)
	if code, out, _ = run(t, "verify", dir, "--key", pub, "--signature", sig, "--ignore-unsigned-files"); code != 0 {
		t.Errorf("--ignore-unsigned-files: code %d: %s", code, out)
	}
	if code, out, _ = run(t, "verify", dir, "--key", pub, "--signature", sig, "--ignore-paths", filepath.Join(dir, "backdoor.pkl")+",nonexistent"); code != 0 {
		t.Errorf("--ignore-paths: code %d: %s", code, out)
	}
	// Wrong key: exit 1 with the reason.
	other := filepath.Join(t.TempDir(), "other.pub")
	os.WriteFile(other, []byte(otherPub), 0o644)
	if code, out, _ = run(t, "verify", dir, "--key", other, "--signature", sig); code != 1 || !strings.Contains(out, "key mismatch") {
		t.Errorf("wrong key: code %d: %s", code, out)
	}
	// A key bundle verified as a certificate bundle: exit 1.
	if code, out, _ = run(t, "verify", dir, "--ca-bundle", filepath.Join(keys, "ca-cert.pem"), "--signature", sig); code != 1 || !strings.Contains(out, "verify it with --key") {
		t.Errorf("key bundle as certificate: code %d: %s", code, out)
	}
}

// A P-256 public key that signed nothing here.
const otherPub = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEpwa4L6KiR4EtjFU1ezdF8B8aW8/M
3s+smFhKmQyCUmhLIl4equ/nY8WtDR6LfNlD71dhEKQHVDtTKji0ZkOTLA==
-----END PUBLIC KEY-----
`

func TestSignVerifyCertificateJSON(t *testing.T) {
	dir := mkModel(t)
	sig := filepath.Join(t.TempDir(), "model.sig")
	code, out, errs := run(t, "sign", dir, "--certificate", filepath.Join(keys, "signing-key-cert.pem"),
		"--certificate-chain", filepath.Join(keys, "int-ca-cert.pem"), "--key", filepath.Join(keys, "signing-key.pem"),
		"--signature", sig, "--hash", "blake2b", "--method", "shards", "--shard-size", "4", "--format", "json")
	if code != 0 {
		t.Fatalf("sign: %d %s %s", code, out, errs)
	}
	var s map[string]any
	if err := json.Unmarshal([]byte(out), &s); err != nil || s["method"] != "certificate" || s["resources"] != float64(5) {
		t.Fatalf("sign json: %v %s", err, out)
	}
	code, out, _ = run(t, "verify", dir, "--ca-bundle", filepath.Join(keys, "ca-cert.pem"), "--signature", sig, "--format", "json")
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil || code != 0 || v["valid"] != true || v["root_digest"] != s["root_digest"] {
		t.Fatalf("verify: code %d %v: %s", code, err, out)
	}
}

// The reference's vectors verify through the CLI with each method.
func TestVerifyVectorsCLI(t *testing.T) {
	tests := []struct {
		dir  string
		args []string
	}{
		{"v1.1.0-elliptic-key", []string{"--key", filepath.Join(keys, "signing-key-pub.pem")}},
		{"v1.0.1-certificate", []string{"--ca-bundle", filepath.Join(keys, "ca-cert.pem"), "--ignore-paths", filepath.Join(vectors, "v1.0.1-certificate/ignore-me")}},
		{"v0.2.0-certificate", []string{"--ca-bundle", filepath.Join(keys, "ca-cert.pem")}},
		{"v1.1.0-sigstore", []string{"--identity", "stefanb@us.ibm.com", "--issuer", "https://sigstore.verify.ibm.com/oauth2",
			"--trusted-root", "../../signing/testdata/interop/sigstore/trusted-root-public-good.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			dir := filepath.Join(vectors, tt.dir)
			args := append([]string{"verify", dir, "--signature", filepath.Join(dir, "model.sig")}, tt.args...)
			if code, out, errs := run(t, args...); code != 0 {
				t.Fatalf("code %d: %s%s", code, out, errs)
			}
		})
	}
	// Wrong identity: exit 1.
	dir := filepath.Join(vectors, "v1.1.0-sigstore")
	code, out, _ := run(t, "verify", dir, "--signature", filepath.Join(dir, "model.sig"), "--identity", "eve@example.com",
		"--issuer", "https://sigstore.verify.ibm.com/oauth2", "--trusted-root", "../../signing/testdata/interop/sigstore/trusted-root-public-good.json")
	if code != 1 || !strings.Contains(out, "eve@example.com") {
		t.Errorf("wrong identity: code %d: %s", code, out)
	}
}

func TestDigestCLI(t *testing.T) {
	dir := filepath.Join(vectors, "v1.1.0-elliptic-key")
	// The subject digest the reference signed for this folder.
	code, out, _ := run(t, "digest", dir, "--ignore-paths", filepath.Join(dir, "ignore-me")+","+filepath.Join(dir, "model.sig"))
	if code != 0 || out != "sha256:92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4\n" {
		t.Fatalf("digest: code %d: %q", code, out)
	}
	code, out, _ = run(t, "digest", filepath.Join(dir, "signme-1"), "--manifest")
	if want := "sha256:"; code != 0 || !strings.HasPrefix(out, want) || !strings.Contains(out, "\n.:bc9a717db6064a32cbe9eae6fc40651dd6d36ef1757183f590eff2b1765d7ebc\n") {
		t.Fatalf("digest --manifest: code %d: %q", code, out)
	}
}

func TestSigningUsageErrors(t *testing.T) {
	t.Setenv("SIGSTORE_ID_TOKEN", "")
	dir := mkModel(t)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(filepath.Join(dir, "config.json"), link); err != nil {
		t.Fatal(err)
	}
	sig := filepath.Join(t.TempDir(), "s.sig")
	key := filepath.Join(keys, "signing-key.pem")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no method", []string{"sign", dir}, "choose a signing method"},
		{"missing key", []string{"sign", dir, "--key", "/nonexistent.pem"}, "no such file"},
		{"bad hash", []string{"sign", dir, "--key", key, "--hash", "md5"}, "md5"},
		{"bad method", []string{"sign", dir, "--key", key, "--method", "tensors"}, "tensors"},
		{"symlink", []string{"sign", dir, "--key", key, "--signature", sig}, "symbolic link"},
		{"missing model", []string{"sign", "/nonexistent/model", "--key", key}, "does not exist"},
		{"public key as private", []string{"sign", dir, "--key", filepath.Join(keys, "signing-key-pub.pem")}, "holds a public key, not a private key"},
		{"verify two methods", []string{"verify", dir, "--key", key, "--ca-bundle", key}, "exactly one"},
		{"verify no signature", []string{"verify", dir, "--key", filepath.Join(keys, "signing-key-pub.pem"), "--signature", "/nonexistent.sig"}, "does not exist"},
		{"issuer without identity", []string{"verify", dir, "--issuer", "https://x"}, "both --identity and --issuer"},
		{"bad format", []string{"digest", dir, "--format", "xml"}, "--format"},
		{"sigstore without token", []string{"sign", dir, "--sigstore"}, "identity token"},
		{"sigstore and key", []string{"sign", dir, "--sigstore", "--key", key}, "excludes"},
		{"sigstore unreachable", []string{"sign", dir, "--sigstore", "--allow-symlinks", "--identity-token", "a.eyJzdWIiOiJ4In0.c", "--fulcio-url", "http://127.0.0.1:1", "--signature", sig}, "127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := run(t, tt.args...)
			if code != 2 || !strings.Contains(errs, tt.want) {
				t.Errorf("code %d, stderr %q (stdout %q), want 2 and %q", code, errs, out, tt.want)
			}
		})
	}
	// --allow-symlinks hashes the link.
	if code, out, errs := run(t, "sign", dir, "--key", key, "--signature", sig, "--allow-symlinks"); code != 0 {
		t.Errorf("--allow-symlinks: %d %s %s", code, out, errs)
	}
}

// Without --signature, sign writes the layout's signature: model.sig
// inside the directory model (left out of the manifest).
func TestDefaultSignature(t *testing.T) {
	dir := mkModel(t)
	key, _ := filepath.Abs(filepath.Join(keys, "signing-key.pem"))
	pub, _ := filepath.Abs(filepath.Join(keys, "signing-key-pub.pem"))
	t.Chdir(dir)
	if code, out, errs := run(t, "sign", ".", "--key", key); code != 0 {
		t.Fatalf("sign: %d %s %s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "model.sig")); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := run(t, "verify", ".", "--key", pub); code != 0 {
		t.Fatalf("verify: %d %s %s", code, out, errs)
	}
}

// On a terminal, hashing shows a progress bar on stderr.
func TestDigestProgress(t *testing.T) {
	dir := mkModel(t)
	var out, errb bytes.Buffer
	app := &cli.App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, StderrIsTerminal: true}
	if code := app.Run(context.Background(), []string{"digest", dir}); code != 0 {
		t.Fatalf("code %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "hashing") {
		t.Errorf("no progress bar on stderr: %q", errb.String())
	}
	if !strings.HasPrefix(out.String(), "sha256:") {
		t.Errorf("stdout %q", out.String())
	}
}

// digest leaves claims.jsonl out as sign does, so it prints the root
// digest sign records; a claims file elsewhere (a single-file model's
// name, or below the root) is hashed.
func TestDigestIgnoresClaims(t *testing.T) {
	dir := mkModel(t)
	sig := filepath.Join(t.TempDir(), "model.sig")
	if err := os.WriteFile(filepath.Join(dir, "claims.jsonl"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "sign", dir, "--key", filepath.Join(keys, "signing-key.pem"), "--signature", sig, "--format", "json")
	var signed struct {
		RootDigest string `json:"root_digest"`
		Resources  int    `json:"resources"`
	}
	if err := json.Unmarshal([]byte(out), &signed); err != nil || code != 0 || signed.Resources != 3 {
		t.Fatalf("sign: code %d, %v: %s%s", code, err, out, errs)
	}
	code, out, errs = run(t, "digest", dir, "--manifest")
	if code != 0 {
		t.Fatalf("digest: code %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[0] != signed.RootDigest || len(lines) != 4 || strings.Contains(out, "claims.jsonl") {
		t.Errorf("digest = %q, want root %s and 3 resources without claims.jsonl", out, signed.RootDigest)
	}
	// Appending a claim does not change the digest.
	if err := os.WriteFile(filepath.Join(dir, "claims.jsonl"), []byte("{}\n{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out2, _ := run(t, "digest", dir, "--manifest"); code != 0 || out2 != out {
		t.Errorf("digest after a claim = %q, want %q", out2, out)
	}
	// Only the model root's claims file is left out.
	if err := os.WriteFile(filepath.Join(dir, "tokenizer", "claims.jsonl"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := run(t, "digest", dir, "--manifest"); code != 0 || !strings.Contains(out, "\ntokenizer/claims.jsonl:") {
		t.Errorf("nested claims.jsonl not hashed: %q", out)
	}
}

// TestDigestIgnoresSignature: a signature written inside a directory model
// is not content, so digest names the same root digest as the signature.
func TestDigestIgnoresSignature(t *testing.T) {
	dir := mkModel(t)
	sig := filepath.Join(dir, "model.sig")
	code, out, errs := run(t, "sign", dir, "--key", filepath.Join(keys, "signing-key.pem"), "--signature", sig, "--format", "json")
	var signed struct {
		RootDigest string `json:"root_digest"`
	}
	if err := json.Unmarshal([]byte(out), &signed); err != nil || code != 0 {
		t.Fatalf("sign: code %d, %v: %s%s", code, err, out, errs)
	}
	code, out, errs = run(t, "digest", dir)
	if code != 0 || strings.TrimSpace(out) != signed.RootDigest {
		t.Errorf("digest = %q (code %d, %s), want %s", out, code, errs, signed.RootDigest)
	}
}

// A model directory reached through a symbolic link: naming it with a
// trailing slash names the directory; naming the link itself is refused by
// sign and verify alike, and the message says what to do for both (verify
// has no --allow-symlinks: it follows what the signature recorded).
func TestSymlinkedModelDir(t *testing.T) {
	dir := mkModel(t)
	key, _ := filepath.Abs(filepath.Join(keys, "signing-key.pem"))
	pub, _ := filepath.Abs(filepath.Join(keys, "signing-key-pub.pem"))
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := run(t, "sign", link+"/", "--key", key); code != 0 {
		t.Fatalf("sign link/: %d %s %s", code, out, errs)
	}
	if code, out, errs := run(t, "verify", link+"/", "--key", pub); code != 0 {
		t.Fatalf("verify link/: %d %s %s", code, out, errs)
	}
	code, _, errs := run(t, "verify", link, "--key", pub, "--signature", filepath.Join(dir, "model.sig"))
	if code == 0 || !strings.Contains(errs, "name the link's target instead") {
		t.Errorf("verify link: code %d, stderr %q; want a refusal that names the target", code, errs)
	}
}
