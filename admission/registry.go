package admission

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sync/singleflight"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/transport"
	"github.com/mlsecops/mlsec/transport/oci"
)

// ErrRegistryUnavailable marks a registry lookup that could not be
// answered: the registry is unreachable, timed out, refused the
// credentials or answered an error. Like ErrUnavailable it denies unless
// the webhook runs with FailOpen. Content the registry did serve and that
// failed a check is never unavailability: it is a definite denial.
var ErrRegistryUnavailable = errors.New("admission: registry unavailable")

// Registry resolves an oci://HOST/REPO@sha256:… reference that no artifact
// of the mlsec server is registered with to the artifact it holds, through
// the registry and without downloading any layer: the model manifest by
// digest, its OMS signature referrers, the signature verified with
// Verifier, and the manifest's file layers compared with the files the
// signature covers (a raw layer's digest is its file's sha256). What it
// yields is the signed OMS root digest (and, for a single-file model, the
// file's sha256, which is how the server addresses an uploaded file): the
// server is then asked about those digests.
//
// Successful resolutions are remembered by manifest digest (a manifest
// never changes, nor does a verified signature over it); failures are
// not, so a signature pushed later is found by the next review.
type Registry struct {
	// Verifier decides which OMS signatures are trusted (required).
	Verifier signing.Verifier
	// Options connect to registries (TLS roots, credentials, plain HTTP).
	Options oci.Options
	// Timeout bounds one resolution (default 30 s). A resolution runs on
	// past the review that started it (whose --timeout is shorter), once
	// per manifest however many reviews wait for it, so that the API
	// server's retry finds it done.
	Timeout time.Duration

	flight singleflight.Group
	mu     sync.Mutex
	cache  map[digest.Digest]Resolution
	repos  map[string]*remote.Repository
}

// Resolution is what a verified model manifest resolves to.
type Resolution struct {
	// Manifest is the model manifest's digest.
	Manifest digest.Digest
	// Root is the OMS root digest the trusted signature covers.
	Root string
	// File is the sha256 of the model file of a single-file model ("" for
	// a directory model).
	File string
	// Files counts the model files (layers) checked against the signature.
	Files int
}

// Digests are the artifact digests to ask the server about, in order.
func (r Resolution) Digests() []string {
	if r.File != "" {
		return []string{r.Root, r.File}
	}
	return []string{r.Root}
}

// maxRegistryCache bounds the remembered resolutions and repositories.
const maxRegistryCache = 10000

// refused is a definite "no" from the registry path: the reason is the
// verdict's.
type refused struct{ reason string }

func (r *refused) Error() string { return r.reason }

func refuse(format string, args ...any) error { return &refused{fmt.Sprintf(format, args...)} }

// Resolve resolves ref (an oci reference with a digest). A definite "no"
// (no such manifest, no signature, no trusted signature, files that differ
// from the signed ones, content over the limits) is an error whose message
// is the reason and that does not wrap ErrRegistryUnavailable; a registry
// that cannot be asked is an error wrapping ErrRegistryUnavailable.
func (g *Registry) Resolve(ctx context.Context, ref Ref) (Resolution, error) {
	if ref.Scheme != "oci" || len(ref.Sources) == 0 {
		return Resolution{}, refuse("%s is not an oci reference", ref.Raw)
	}
	rr, err := oci.ParseReference(ref.Sources[0])
	if err != nil {
		return Resolution{}, refuse("%s: %v", ref.Raw, err)
	}
	want, err := rr.Digest()
	if err != nil {
		return Resolution{}, refuse("%s has no digest", ref.Raw)
	}
	g.mu.Lock()
	res, hit := g.cache[want]
	g.mu.Unlock()
	if hit {
		return res, nil
	}
	timeout := g.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	// Keyed by the reference as written: a failure (no such manifest, no
	// signature) is the repository's, and its message names the reference.
	ch := g.flight.DoChan(ref.Raw, func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		return g.resolve(rctx, ref, rr, want)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return Resolution{}, r.Err
		}
		return r.Val.(Resolution), nil
	case <-ctx.Done():
		return Resolution{}, fmt.Errorf("%w: %s: %w", ErrRegistryUnavailable, ref.Raw, ctx.Err())
	}
}

// resolve does one resolution and remembers it when it succeeds.
func (g *Registry) resolve(ctx context.Context, ref Ref, rr registry.Reference, want digest.Digest) (Resolution, error) {
	repo, err := g.repository(rr.Registry, rr.Repository)
	if err != nil {
		return Resolution{}, err
	}
	desc, err := repo.Resolve(ctx, want.String())
	if err != nil {
		return Resolution{}, registryErr(ref, "manifest", err)
	}
	if desc.Digest != want {
		return Resolution{}, refuse("%s: the registry answered with manifest %s", ref.Raw, desc.Digest)
	}
	p, err := oci.Inspect(ctx, repo, desc)
	if err != nil {
		return Resolution{}, registryErr(ref, "manifest and signature referrers", err)
	}
	res, err := g.verify(ctx, ref, p)
	if err != nil {
		return Resolution{}, err
	}
	g.mu.Lock()
	if g.cache == nil || len(g.cache) >= maxRegistryCache {
		g.cache = map[digest.Digest]Resolution{}
	}
	g.cache[want] = res
	g.mu.Unlock()
	return res, nil
}

// registryErr sorts an error of the registry: content that failed a check
// and a manifest the registry does not have are definite; the rest is
// unavailability.
func registryErr(ref Ref, what string, err error) error {
	switch {
	case errors.Is(err, oci.ErrArtifact):
		return refuse("%s: the registry's content fails a check: %v", ref.Raw, err)
	case errors.Is(err, errdef.ErrNotFound):
		return refuse("%s is not a known artifact: no artifact in the mlsec server is registered with this source, and the registry has no such manifest", ref.Raw)
	}
	return fmt.Errorf("%w: %s: %s: %w", ErrRegistryUnavailable, ref.Raw, what, err)
}

// repository returns the (shared) client of a registry repository.
func (g *Registry) repository(host, name string) (*remote.Repository, error) {
	key := host + "/" + name
	g.mu.Lock()
	defer g.mu.Unlock()
	if r, ok := g.repos[key]; ok {
		return r, nil
	}
	rr, err := oci.ParseReference(oci.Scheme + key)
	if err != nil {
		return nil, refuse("oci://%s: %v", key, err)
	}
	repo, err := oci.NewRepository(rr, g.Options)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRegistryUnavailable, err)
	}
	if g.repos == nil || len(g.repos) >= maxRegistryCache {
		g.repos = map[string]*remote.Repository{}
	}
	g.repos[key] = repo
	return repo, nil
}

// verify checks the signatures of p against its layers, as mlsec pull
// does after streaming them: every signature referrer is checked; one
// from a trusted signer that does not match the layers denies; at least
// one must verify; all that verify must cover the same root digest.
func (g *Registry) verify(ctx context.Context, ref Ref, p *oci.Pulled) (Resolution, error) {
	if len(p.Signatures) == 0 {
		return Resolution{}, refuse("%s has no OMS signature referrer in the registry: push the model with its signature (mlsec sign, then mlsec push)", ref.Raw)
	}
	if p.Archives {
		return Resolution{}, refuse("%s holds tar layers, whose files are not known without downloading them: register the artifact in the mlsec server with this reference as its source", ref.Raw)
	}
	if len(p.Digests) != len(p.Files) {
		return Resolution{}, refuse("%s has layers whose digests are not sha256: their files cannot be compared with the signature", ref.Raw)
	}
	res := Resolution{Manifest: p.Manifest.Digest, Files: len(p.Files)}
	var untrusted []string
	for _, s := range p.Signatures {
		label := "referrer " + s.Referrer.Digest.String()
		root, file, err := g.check(ctx, p, s.Bundle)
		switch {
		case err == nil:
			if res.Root != "" && res.Root != root {
				return Resolution{}, refuse("%s: signatures verify over different digests (%s, %s)", ref.Raw, res.Root, root)
			}
			res.Root, res.File = root, file
		case errors.Is(err, signing.ErrMismatch):
			return Resolution{}, refuse("%s: signature %s is from a trusted signer but the manifest's files differ from the signed ones: %v", ref.Raw, label, err)
		case errors.As(err, new(*refused)):
			return Resolution{}, refuse("%s: signature %s: %v", ref.Raw, label, err)
		default:
			// Not trusted, malformed, or not verifiable here: never a
			// reason to admit, and never unavailability.
			untrusted = append(untrusted, fmt.Sprintf("%s: %v", label, err))
		}
	}
	if res.Root == "" {
		return Resolution{}, refuse("%s: no OMS signature in the registry verifies with the webhook's trust flags (%s)", ref.Raw, strings.Join(untrusted, "; "))
	}
	return res, nil
}

// check verifies one signature bundle and compares the files it covers
// with p's layers. It returns the root digest and, for a single-file
// model, the file's sha256.
func (g *Registry) check(ctx context.Context, p *oci.Pulled, bundle []byte) (root, file string, err error) {
	signed, err := signing.VerifyPayload(ctx, bundle, g.Verifier)
	if err != nil {
		return "", "", err
	}
	ser := signed.Serialization
	if ser.Method != signing.MethodFiles || (ser.Hash != signing.SHA256 && ser.Hash != "") {
		return "", "", refuse("it was made with method %s and hash %s; only the files method with sha256 (mlsec sign's default) can be checked against layer digests", ser.Method, ser.Hash)
	}
	if !p.Dir {
		// A single file is signed as one item "." whose digest is the
		// file's sha256, the one layer's digest.
		if len(signed.Items) != 1 || signed.Items[0].Path != "." || signed.Items[0].Shard || len(p.Files) != 1 {
			return "", "", refuse("it does not sign one file, as the manifest holds")
		}
		sum := p.Digests[p.Files[0]]
		if !bytes.Equal(signed.Items[0].Digest, sum) {
			return "", "", fmt.Errorf("%w: %s changed", signing.ErrMismatch, p.Files[0])
		}
		return string(attest.DigestOf(signed.RootDigest())), "sha256:" + hex.EncodeToString(sum), nil
	}
	// Every layer must be a signed file: a layer at a path the signature
	// ignores (its own ignore paths, the evidence files) would reach the
	// model server unchecked.
	for _, name := range p.Files {
		if evidence.IsInside(name) || ignoredBy(name, ser.IgnorePaths) {
			return "", "", refuse("layer %q is a path the signature does not cover", name)
		}
	}
	d, applied, err := transport.VerifyStreamed(ctx, g.Verifier, bundle, p.Digests)
	if err != nil {
		return "", "", err
	}
	if !applied {
		return "", "", refuse("its items (shards, or a single file) cannot be compared with layer digests")
	}
	return string(d), "", nil
}

// ignoredBy reports whether name is under one of a signature's ignore
// paths.
func ignoredBy(name string, ignores []string) bool {
	for _, ig := range ignores {
		ig = strings.TrimSuffix(ig, "/")
		if name == ig || strings.HasPrefix(name, ig+"/") {
			return true
		}
	}
	return false
}
