package transport

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/signing"
)

// VerifyStreamed verifies an OMS signature over a directory model whose
// files' SHA-256 digests were computed while the files arrived (a pull
// checks every layer digest as it streams), so the model is read once.
// files maps each model file's slash path (relative to the model) to its
// SHA-256. It applies when the signature uses the files method with
// SHA-256 and covers neither the signature nor the claims file; otherwise
// applied is false and the caller hashes the files (attest.VerifyArtifact).
// A bad signature or a content mismatch is an error wrapping
// signing.ErrInvalidSignature or signing.ErrMismatch.
func VerifyStreamed(ctx context.Context, v signing.Verifier, bundle []byte, files map[string][]byte) (root attest.Digest, applied bool, err error) {
	signed, err := signing.VerifyPayload(ctx, bundle, v)
	if err != nil {
		return "", true, err
	}
	ser := signed.Serialization
	if ser.Method != signing.MethodFiles || (ser.Hash != signing.SHA256 && ser.Hash != "") {
		return "", false, nil
	}
	for _, it := range signed.Items {
		if it.Shard || it.Path == "." || evidence.IsInside(it.Path) {
			return "", false, nil
		}
	}
	actual := &signing.Manifest{Serialization: ser}
	for name, sum := range files {
		if ignored(name, ser.IgnorePaths) {
			continue
		}
		actual.Items = append(actual.Items, signing.Item{Path: name, Algorithm: string(signing.SHA256), Digest: sum})
	}
	if d := signing.Compare(signed, actual); !d.Empty() {
		return "", true, fmt.Errorf("%w: %s", signing.ErrMismatch, d)
	}
	for _, it := range signed.Items {
		if !bytes.Equal(it.Digest, files[it.Path]) {
			return "", true, fmt.Errorf("%w: %s changed", signing.ErrMismatch, it.Path)
		}
	}
	return attest.DigestOf(signed.RootDigest()), true, nil
}

func ignored(name string, ignores []string) bool {
	for _, ig := range ignores {
		ig = strings.TrimSuffix(ig, "/")
		if name == ig || strings.HasPrefix(name, ig+"/") {
			return true
		}
	}
	return false
}

// SignedDigests returns the SHA-256 digest of every file the signature in
// sigPath records, by slash path, when it uses the files method with
// SHA-256 over a directory (nil otherwise). The signature is not verified:
// the digests only let a push stream each file once, and the registry
// checks them against the bytes it receives.
func SignedDigests(sigPath string) map[string][]byte {
	data, err := signing.ReadBundleFile(sigPath)
	if err != nil {
		return nil
	}
	b, err := signing.ReadBundle(data)
	if err != nil {
		return nil
	}
	m, err := signing.ParseStatement(b.GetDsseEnvelope().GetPayload())
	if err != nil || m.Serialization.Method != signing.MethodFiles || (m.Serialization.Hash != signing.SHA256 && m.Serialization.Hash != "") {
		return nil
	}
	out := make(map[string][]byte, len(m.Items))
	for _, it := range m.Items {
		if it.Shard || it.Path == "." || len(it.Digest) != 32 {
			return nil
		}
		out[it.Path] = it.Digest
	}
	return out
}
