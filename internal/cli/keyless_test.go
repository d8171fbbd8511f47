package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/signing/sigstoretest"
)

// mlsec sign --sigstore and attest --sigstore sign keyless through
// sigstore-go against a virtual Fulcio and Rekor, check the bundle against
// --trusted-root, and mlsec verify / attest verify accept it for the
// token's identity and issuer only.
func TestKeylessCLI(t *testing.T) {
	const identity, issuer = "alice@example.com", "https://issuer.test"
	ss := sigstoretest.New(t)
	trusted := filepath.Join(t.TempDir(), "trusted-root.json")
	if err := os.WriteFile(trusted, ss.TrustedRootJSON(t), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SIGSTORE_ID_TOKEN", sigstoretest.Token(map[string]any{"email": identity, "email_verified": true, "iss": issuer}))
	services := []string{"--fulcio-url", ss.URL, "--rekor-url", ss.URL, "--trusted-root", trusted}

	dir := mkModel(t)
	sig := filepath.Join(t.TempDir(), "model.sig")
	code, out, errs := run(t, append([]string{"sign", dir, "--sigstore", "--signature", sig, "--format", "json"}, services...)...)
	var signed map[string]any
	if err := json.Unmarshal([]byte(out), &signed); err != nil || code != 0 || signed["method"] != "sigstore" {
		t.Fatalf("sign: code %d, %v: %s%s", code, err, out, errs)
	}
	verify := func(id, iss string) (int, string) {
		code, out, errs := run(t, "verify", dir, "--signature", sig, "--identity", id, "--issuer", iss, "--trusted-root", trusted, "--no-sct")
		return code, out + errs
	}
	if code, out := verify(identity, issuer); code != 0 || !strings.Contains(out, "signature valid (sigstore)") {
		t.Errorf("verify: code %d: %s", code, out)
	}
	if code, out := verify("mallory@example.com", issuer); code != 1 || !strings.Contains(out, "mallory@example.com") {
		t.Errorf("wrong identity: code %d: %s", code, out)
	}
	if code, out := verify(identity, "https://accounts.google.com"); code != 1 || !strings.Contains(out, "accounts.google.com") {
		t.Errorf("wrong issuer: code %d: %s", code, out)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"evil":1}`), 0o644)
	if code, out := verify(identity, issuer); code != 1 || !strings.Contains(out, "changed: config.json") {
		t.Errorf("tampered: code %d: %s", code, out)
	}

	// Another trusted root: the new bundle is refused before it is written.
	other := filepath.Join(t.TempDir(), "other-root.json")
	os.WriteFile(other, sigstoretest.New(t).TrustedRootJSON(t), 0o644)
	sig2 := filepath.Join(t.TempDir(), "model.sig")
	code, _, errs = run(t, "sign", dir, "--sigstore", "--signature", sig2, "--fulcio-url", ss.URL, "--rekor-url", ss.URL, "--trusted-root", other)
	if _, err := os.Stat(sig2); code != 2 || err == nil || !strings.Contains(errs, "sigstore") {
		t.Errorf("sign against another root: code %d, signature written: %v: %s", code, err == nil, errs)
	}

	// attest (signflags) signs keyless too.
	code, out, errs = run(t, append([]string{"attest", "scan", dir, "--sigstore"}, services...)...)
	if code != 0 {
		t.Fatalf("attest scan --sigstore: code %d: %s%s", code, out, errs)
	}
	code, out, errs = run(t, "attest", "verify", dir, "--identity", identity, "--issuer", issuer, "--trusted-root", trusted, "--no-sct")
	if code != 0 || !strings.Contains(out, "1 claims verified") {
		t.Errorf("attest verify: code %d: %s%s", code, out, errs)
	}
	code, out, errs = run(t, "attest", "verify", dir, "--identity", "mallory@example.com", "--issuer", issuer, "--trusted-root", trusted, "--no-sct")
	if code != 1 || !strings.Contains(out, "mallory@example.com") {
		t.Errorf("attest verify, wrong identity: code %d: %s%s", code, out, errs)
	}
}
