package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec/attest/attesttest"
)

// Regression tests of issue 12 §1: every command finds a model's evidence
// where docs/evidence-layout.md puts it, with default flags.

// mustRunT runs mlsec and checks the exit code.
func mustRunT(t *testing.T, want int, args ...string) string {
	t.Helper()
	code, out, errs := run(t, args...)
	if code != want {
		t.Fatalf("mlsec %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errs)
	}
	return out + errs
}

// sign DIR writes DIR/model.sig (never ./model.sig); sign FILE writes
// FILE.sig; verify uses them without --signature.
func TestSignDefaultLayout(t *testing.T) {
	tmp := t.TempDir()
	k := attesttest.NewKey(t)
	priv, pub := k.WriteFiles(t, tmp)
	dir := mkModel(t)
	file := filepath.Join(t.TempDir(), "w.gguf")
	attesttest.WriteFile(t, file, "GGUF")
	cwd := t.TempDir()
	t.Chdir(cwd)
	out := mustRunT(t, 0, "sign", dir, "--key", priv)
	if !strings.Contains(out, "-> "+filepath.Join(dir, "model.sig")) {
		t.Errorf("sign DIR output: %s", out)
	}
	mustRunT(t, 0, "sign", file, "--key", priv)
	for _, p := range []string{filepath.Join(dir, "model.sig"), file + ".sig"} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("no signature at %s: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(cwd, "model.sig")); err == nil {
		t.Error("sign wrote ./model.sig in the current directory")
	}
	mustRunT(t, 0, "verify", dir, "--key", pub)
	mustRunT(t, 0, "verify", file, "--key", pub)
	// The signature inside the model is not part of it: the digest is the
	// signed root digest.
	var signed, dig struct {
		RootDigest string `json:"root_digest"`
	}
	_, js, errs := run(t, "sign", dir, "--key", priv, "--format", "json")
	json.Unmarshal([]byte(js), &signed)
	if !strings.Contains(errs, "note: replacing the existing signature "+filepath.Join(dir, "model.sig")) {
		t.Errorf("re-signing replaced the signature without a note: %q", errs)
	}
	json.Unmarshal([]byte(mustRunT(t, 0, "digest", dir, "--format", "json")), &dig)
	if signed.RootDigest == "" || signed.RootDigest != dig.RootDigest {
		t.Errorf("sign root %q, digest %q", signed.RootDigest, dig.RootDigest)
	}
	// --signature still writes anywhere (model_signing compatible), and
	// says where the other commands look.
	elsewhere := filepath.Join(t.TempDir(), "x.sig")
	out = mustRunT(t, 0, "sign", dir, "--key", priv, "--signature", elsewhere)
	if !strings.Contains(out, "pass --signature "+elsewhere+" to mlsec verify") {
		t.Errorf("--signature elsewhere: no note: %s", out)
	}
	mustRunT(t, 0, "verify", dir, "--key", pub, "--signature", elsewhere)
}

// A stale ./model.sig in the current directory is never picked up by
// verify: an unsigned model is reported unsigned, and the message names
// the stale file without using it.
func TestVerifyIgnoresCurrentDirectorySignature(t *testing.T) {
	tmp := t.TempDir()
	k := attesttest.NewKey(t)
	priv, pub := k.WriteFiles(t, tmp)
	signedModel, unsigned := mkModel(t), mkModel(t)
	cwd := t.TempDir()
	t.Chdir(cwd)
	mustRunT(t, 0, "sign", signedModel, "--key", priv, "--signature", filepath.Join(cwd, "model.sig"))
	out := mustRunT(t, 2, "verify", unsigned, "--key", pub)
	if !strings.Contains(out, unsigned+" has no signature: "+filepath.Join(unsigned, "model.sig")+" does not exist") ||
		!strings.Contains(out, "pass --signature model.sig") {
		t.Errorf("verify of an unsigned model beside a stale ./model.sig: %s", out)
	}
	// Named explicitly, it is used.
	mustRunT(t, 0, "verify", signedModel, "--key", pub, "--signature", "model.sig")
}

// lineageFixture signs a dataset and a model trained on it in ev, with
// the given hash, and records the model's provenance; it returns the
// key files and paths.
func lineageFixture(t *testing.T, hash string) (priv, pub, ev, data, model string, digests map[string]string) {
	t.Helper()
	tmp := t.TempDir()
	k := attesttest.NewKey(t)
	priv, pub = k.WriteFiles(t, tmp)
	ev = filepath.Join(tmp, "work")
	data = attesttest.Artifact(t, filepath.Join(ev, "data"), map[string]string{"train.jsonl": "{}\n"})
	model = attesttest.Artifact(t, filepath.Join(ev, "model"), map[string]string{"weights.safetensors": "w"})
	digests = map[string]string{}
	for _, p := range []string{data, model} {
		var res struct {
			RootDigest string `json:"root_digest"`
		}
		json.Unmarshal([]byte(mustRunT(t, 0, "sign", p, "--key", priv, "--hash", hash, "--format", "json")), &res)
		digests[p] = res.RootDigest
	}
	return priv, pub, ev, data, model, digests
}

// With --hash blake2b the attestation subject is the signed root digest
// (the signature is found where sign wrote it), and the chain verifies.
func TestHashAlgorithmSubjectMatchesSignature(t *testing.T) {
	for _, hash := range []string{"sha256", "blake2b", "blake3"} {
		t.Run(hash, func(t *testing.T) {
			priv, pub, _, data, model, digests := lineageFixture(t, hash)
			var rec struct {
				Subject string `json:"subject"`
			}
			json.Unmarshal([]byte(mustRunT(t, 0, "attest", "provenance", "--model", model, "--dataset", data,
				"--builder-id", "https://ci.example/b", "--key", priv, "--format", "json")), &rec)
			if rec.Subject != digests[model] {
				t.Errorf("provenance subject %s, signed root digest %s", rec.Subject, digests[model])
			}
			mustRunT(t, 0, "verify-chain", "--key", pub, model)
		})
	}
}

// verify-chain . and lineage . from inside the model directory search the
// directory around the model for its parents, not the model itself; a
// stale model.sig at the top of the evidence directory does not make the
// directory an artifact.
func TestLineageFromInsideModel(t *testing.T) {
	priv, pub, ev, data, model, digests := lineageFixture(t, "sha256")
	mustRunT(t, 0, "attest", "provenance", "--model", model, "--dataset", data, "--builder-id", "https://ci.example/b", "--key", priv)
	// The stale signature an older mlsec sign left in the working directory.
	mustRunT(t, 0, "sign", data, "--key", priv, "--signature", filepath.Join(ev, "model.sig"))
	t.Chdir(model)
	out := mustRunT(t, 0, "verify-chain", "--key", pub, ".")
	if !strings.Contains(out, "OK .: chain verified, 2 links") {
		t.Errorf("verify-chain . inside the model: %s", out)
	}
	out = mustRunT(t, 0, "lineage", ".")
	if !strings.Contains(out, "model "+digests[model]+" ../model — training") || !strings.Contains(out, "data [dataset] "+digests[data]+" ../data —") || strings.Contains(out, "CYCLE") {
		t.Errorf("lineage . inside the model: %s", out)
	}
	var node struct {
		Paths []string `json:"paths"`
	}
	code, js, errs := run(t, "lineage", "--format", "json", digests[data], "--evidence", ev)
	if err := json.Unmarshal([]byte(js), &node); code != 0 || err != nil {
		t.Fatalf("lineage --format json: %d %v %s", code, err, errs)
	}
	if len(node.Paths) != 1 || node.Paths[0] != data {
		t.Errorf("the dataset is at %v, want only %s (the evidence directory itself is no artifact)", node.Paths, data)
	}
}

// lineage impact has the same default evidence directory as lineage, and
// both take a bare hex digest as other tools print it.
func TestImpactDefaultsAndBareHex(t *testing.T) {
	priv, _, ev, data, model, digests := lineageFixture(t, "sha256")
	mustRunT(t, 0, "attest", "provenance", "--model", model, "--dataset", data, "--builder-id", "https://ci.example/b", "--key", priv)
	out := mustRunT(t, 0, "lineage", "impact", data)
	if !strings.Contains(out, "1 artifacts derived from "+digests[data]) || !strings.Contains(out, model+"  "+digests[model]) {
		t.Errorf("impact PATH without --evidence: %s", out)
	}
	t.Chdir(ev)
	bare := strings.TrimPrefix(digests[data], "sha256:")
	out = mustRunT(t, 0, "lineage", "impact", bare)
	if !strings.Contains(out, "1 artifacts derived from "+digests[data]) {
		t.Errorf("impact HEX from the evidence directory: %s", out)
	}
	out = mustRunT(t, 0, "lineage", strings.TrimPrefix(digests[model], "sha256:"))
	if !strings.Contains(out, "data [dataset] "+digests[data]) {
		t.Errorf("lineage HEX: %s", out)
	}
	mustRunT(t, 2, "lineage", "impact", "sha256:zz")
}

// A claim about an unsigned artifact says which digest it names.
func TestAttestUnsignedNote(t *testing.T) {
	tmp := t.TempDir()
	k := attesttest.NewKey(t)
	priv, _ := k.WriteFiles(t, tmp)
	dir := mkModel(t)
	out := mustRunT(t, 0, "attest", "provenance", "--model", dir, "--builder-id", "https://ci.example/b", "--key", priv)
	if !strings.Contains(out, "note: "+dir+" has no signature at "+filepath.Join(dir, "model.sig")) {
		t.Errorf("no note about the missing signature: %s", out)
	}
	mustRunT(t, 0, "sign", dir, "--key", priv)
	if out := mustRunT(t, 0, "attest", "provenance", "--model", dir, "--builder-id", "https://ci.example/b", "--key", priv); strings.Contains(out, "note:") {
		t.Errorf("a note about a signed model: %s", out)
	}
}

// mlsec digest prints the digest the signature and the claims name even
// when the signature used another serialization (--hash blake2b/blake3,
// --method shards): with no hashing flag it hashes as the signature
// records, the way the server's jobs do (attest.ArtifactDigest); a hashing
// flag given explicitly still wins.
func TestDigestFollowsSignatureSerialization(t *testing.T) {
	priv, _ := attesttest.NewKey(t).WriteFiles(t, t.TempDir())
	for _, flags := range [][]string{{"--hash", "blake2b"}, {"--hash", "blake3"}, {"--method", "shards", "--shard-size", "3"}} {
		t.Run(strings.Join(flags, " "), func(t *testing.T) {
			dir := mkModel(t)
			var signed, dig, def struct {
				RootDigest string `json:"root_digest"`
			}
			json.Unmarshal([]byte(mustRunT(t, 0, append([]string{"sign", dir, "--key", priv, "--format", "json"}, flags...)...)), &signed)
			json.Unmarshal([]byte(mustRunT(t, 0, "digest", dir, "--format", "json")), &dig)
			if signed.RootDigest == "" || dig.RootDigest != signed.RootDigest {
				t.Errorf("sign %v root %q, mlsec digest %q", flags, signed.RootDigest, dig.RootDigest)
			}
			json.Unmarshal([]byte(mustRunT(t, 0, "digest", dir, "--format", "json", "--hash", "sha256")), &def)
			if def.RootDigest == "" || def.RootDigest == signed.RootDigest {
				t.Errorf("digest --hash sha256 %q: want the sha256 files digest, not the signed %q", def.RootDigest, signed.RootDigest)
			}
		})
	}
}

// A single file named "model" has no layout signature of its own: its
// FILE.sig is DIR/model.sig, the signature of the directory around it, so
// sign refuses instead of silently replacing the directory's signature
// (with --signature it still signs).
func TestSignFileNamedModelKeepsDirectorySignature(t *testing.T) {
	priv, pub := attesttest.NewKey(t).WriteFiles(t, t.TempDir())
	dir := mkModel(t)
	attesttest.WriteFile(t, filepath.Join(dir, "model"), "GGUF")
	mustRunT(t, 0, "sign", dir, "--key", priv)
	before, err := os.ReadFile(filepath.Join(dir, "model.sig"))
	if err != nil {
		t.Fatal(err)
	}
	out := mustRunT(t, 2, "sign", filepath.Join(dir, "model"), "--key", priv)
	if !strings.Contains(out, "signature of the directory") {
		t.Errorf("sign DIR/model: %s", out)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "model.sig")); string(after) != string(before) {
		t.Error("sign DIR/model replaced the directory's signature")
	}
	mustRunT(t, 0, "verify", dir, "--key", pub)
	elsewhere := filepath.Join(t.TempDir(), "model.file.sig")
	mustRunT(t, 0, "sign", filepath.Join(dir, "model"), "--key", priv, "--signature", elsewhere)
	mustRunT(t, 0, "verify", filepath.Join(dir, "model"), "--key", pub, "--signature", elsewhere)
}
