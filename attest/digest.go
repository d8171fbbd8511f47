package attest

import (
	"context"
	"fmt"

	"github.com/mlsecops/mlsec/signing"
)

// DigestOptions tune ArtifactDigest.
type DigestOptions struct {
	// FollowSymlinks hashes a symbolic link as its target's content under
	// the link's name (Hugging Face cache snapshots link every file into
	// blobs/). The digest is the one the same tree without links has; without
	// it a link is an error, as for `mlsec sign` without --allow-symlinks.
	FollowSymlinks bool
}

// ArtifactDigest is the content address of the artifact at path that
// every mlsec command and the server use: the OpenSSF Model Signing root
// digest that its signature and claims name, as `mlsec digest` prints it.
// The artifact is hashed the way its own signature says it was signed, else
// with DefaultSerialization (files, SHA-256); a directory's own signature
// (model.sig) and claims file (claims.jsonl) are left out, so signing a
// directory or appending a claim never changes its digest.
//
// It is Identify's digest; the server registers, re-checks and scans
// directories by it (package queue), so a directory registered with the
// output of `mlsec digest` is the one the server's jobs find.
func ArtifactDigest(ctx context.Context, h *Hasher, path string, opts DigestOptions) (Digest, error) {
	m, err := ArtifactManifest(ctx, h, path, opts)
	if err != nil {
		return "", err
	}
	return DigestOf(m.RootDigest()), nil
}

// ArtifactManifest is the manifest whose root is ArtifactDigest: the
// artifact hashed with its signature's serialization (else
// DefaultSerialization), its own evidence files left out.
func ArtifactManifest(ctx context.Context, h *Hasher, path string, opts DigestOptions) (*signing.Manifest, error) {
	if h == nil {
		h = &Hasher{}
	}
	signed := signedManifest(path)
	ser := DefaultSerialization()
	if signed != nil {
		ser = signed.Serialization
	}
	if opts.FollowSymlinks {
		ser.AllowSymlinks = true
	}
	m, err := h.manifest(ctx, path, ser, signed)
	if err != nil {
		return nil, err
	}
	if len(m.Items) == 0 {
		return nil, fmt.Errorf("attest: %s has no file to identify", path)
	}
	return m, nil
}
