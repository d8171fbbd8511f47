package attest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/signing"
)

// File names beside or inside an artifact, as package evidence lays them
// out (docs/evidence-layout.md).
const (
	// ClaimsFileName is the claims file inside a directory artifact.
	ClaimsFileName = evidence.ClaimsName
	// ClaimsSuffix names the claims file of a single-file artifact.
	ClaimsSuffix = evidence.ClaimsSuffix
	// DefaultSignatureName is the signature inside a directory artifact.
	DefaultSignatureName = evidence.SignatureName
)

// ClaimsPath returns where the claims of the artifact at path live.
//
// Deprecated: use evidence.ClaimsPath, which this calls.
func ClaimsPath(path string) (string, error) { return evidence.ClaimsPath(path) }

// SignaturePath returns where the artifact's own signature lives.
//
// Deprecated: use evidence.SignaturePath, which this calls.
func SignaturePath(path string) (string, error) { return evidence.SignaturePath(path) }

// DefaultSerialization is used for artifacts without a signature: the
// files method with SHA-256, as `mlsec sign` does by default.
func DefaultSerialization() signing.Serialization {
	return signing.Serialization{Method: signing.MethodFiles, Hash: signing.SHA256}
}

// Hasher computes the OMS manifests of artifacts, each artifact (path and
// serialization) at most once for the Hasher's lifetime, even when several
// goroutines ask at once: a verifier walking a lineage graph hashes a
// parent shared by several children once. Hashing itself streams with
// bounded memory (signing.HashModel).
type Hasher struct {
	// Workers bounds the goroutines hashing one artifact (0: GOMAXPROCS).
	Workers int
	// Total and Progress, if set, report the bytes to hash and hashed, as
	// signing.HashOptions does (a progress bar).
	Total, Progress func(n int64)

	mu    sync.Mutex
	cache map[string]*hashEntry
	count atomic.Int64
}

type hashEntry struct {
	done chan struct{}
	m    *signing.Manifest
	err  error
}

// Count returns how many artifacts were actually hashed.
func (h *Hasher) Count() int { return int(h.count.Load()) }

// Manifest hashes the artifact at path with ser. The signature and claims
// files inside a directory artifact are left out, like the serialization's
// own ignore paths.
func (h *Hasher) Manifest(ctx context.Context, path string, ser signing.Serialization) (*signing.Manifest, error) {
	return h.manifest(ctx, path, ser, nil)
}

// manifest is Manifest, except that the signature and claims files are
// hashed when signed covers them (a model signed elsewhere may hold files
// of those names), as mlsec verify does.
func (h *Hasher) manifest(ctx context.Context, path string, ser signing.Serialization, signed *signing.Manifest) (*signing.Manifest, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("attest: %w", err)
	}
	ignores := slices.Clone(ser.IgnorePaths)
	for _, n := range evidence.InsideNames() {
		if !covers(signed, n) {
			ignores = append(ignores, n)
		}
	}
	slices.Sort(ignores)
	ignores = slices.Compact(ignores)
	key := strings.Join([]string{abs, string(ser.Method), string(ser.Hash),
		strconv.FormatInt(ser.ShardSize, 10), strconv.FormatBool(ser.AllowSymlinks), strings.Join(ignores, "\x00")}, "\x01")
	h.mu.Lock()
	if h.cache == nil {
		h.cache = map[string]*hashEntry{}
	}
	e, ok := h.cache[key]
	if !ok {
		e = &hashEntry{done: make(chan struct{})}
		h.cache[key] = e
	}
	h.mu.Unlock()
	if ok {
		select {
		case <-e.done:
			return e.m, e.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	h.count.Add(1)
	e.m, e.err = signing.HashModel(ctx, path, signing.HashOptions{
		Method: ser.Method, Hash: ser.Hash, ShardSize: ser.ShardSize,
		AllowSymlinks: ser.AllowSymlinks, IgnorePaths: ignores, Workers: h.Workers,
		Total: h.Total, Progress: h.Progress,
	})
	close(e.done)
	return e.m, e.err
}

// covers reports whether the signed manifest has a file at or under name.
func covers(signed *signing.Manifest, name string) bool {
	if signed == nil {
		return false
	}
	for _, it := range signed.Items {
		if it.Path == name || strings.HasPrefix(it.Path, name+"/") {
			return true
		}
	}
	return false
}

// signedManifest reads the manifest recorded in the artifact's signature
// without verifying it (identity only); nil when there is no readable
// signature.
func signedManifest(path string) *signing.Manifest {
	sigPath, err := evidence.SignaturePath(path)
	if err != nil {
		return nil
	}
	m, err := readSignatureManifest(sigPath)
	if err != nil {
		return nil
	}
	return m
}

// readSignatureManifest parses a signature bundle's statement without
// verifying the signature.
func readSignatureManifest(sigPath string) (*signing.Manifest, error) {
	data, err := signing.ReadBundleFile(sigPath)
	if err != nil {
		return nil, err
	}
	b, err := signing.ReadBundle(data)
	if err != nil {
		return nil, err
	}
	return signing.ParseStatement(b.GetDsseEnvelope().GetPayload())
}

// Identify returns the artifact's OMS root digest as its subject: hashed
// the way its signature says it was signed (so provenance and signature
// pair up), or with DefaultSerialization when it has no signature.
func Identify(ctx context.Context, h *Hasher, path string) (Subject, error) {
	signed := signedManifest(path)
	ser := DefaultSerialization()
	if signed != nil {
		ser = signed.Serialization
	}
	m, err := h.manifest(ctx, path, ser, signed)
	if err != nil {
		return Subject{}, err
	}
	if len(m.Items) == 0 {
		return Subject{}, fmt.Errorf("attest: %s has no file to identify", path)
	}
	return Subject{Name: artifactName(path), Digest: DigestOf(m.RootDigest())}, nil
}

func artifactName(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Base(p)
	}
	return filepath.Base(abs)
}

// ErrNoSignature reports an artifact without a signature file.
var ErrNoSignature = errors.New("attest: artifact has no signature")

// SignatureCheck is the outcome of verifying an artifact's own signature.
type SignatureCheck struct {
	Signature string // the signature file
	Digest    Digest // root digest of the artifact on disk
	Diff      signing.Diff
	// ToolChanges are the tools changed since the signed tool snapshot
	// in the claims (MCP tool lists, A2A agent cards), on a mismatch.
	ToolChanges []ToolChange
}

// VerifyArtifact verifies the artifact's own OMS signature with v and that
// the artifact on disk matches it, hashing through h (once per artifact).
// The result's Digest is set whenever the artifact could be hashed, even
// when the signature or content check fails. Errors wrap ErrNoSignature,
// signing.ErrInvalidSignature or signing.ErrMismatch.
func VerifyArtifact(ctx context.Context, h *Hasher, v signing.Verifier, path string) (SignatureCheck, error) {
	sigPath, err := evidence.SignaturePath(path)
	if err != nil {
		return SignatureCheck{}, err
	}
	res := SignatureCheck{Signature: sigPath}
	data, err := signing.ReadBundleFile(sigPath)
	if errors.Is(err, fs.ErrNotExist) {
		if s, herr := Identify(ctx, h, path); herr == nil {
			res.Digest = s.Digest
		}
		return res, fmt.Errorf("%w: %s not found", ErrNoSignature, sigPath)
	}
	if err != nil {
		return res, err
	}
	signed, verr := signing.VerifyPayload(ctx, data, v)
	if verr != nil {
		signed = signedManifest(path) // for the digest only
	}
	ser := DefaultSerialization()
	if signed != nil {
		ser = signed.Serialization
	}
	actual, err := h.manifest(ctx, path, ser, signed)
	if err != nil {
		return res, err
	}
	res.Digest = DigestOf(actual.RootDigest())
	if verr != nil {
		return res, verr
	}
	res.Diff = signing.Compare(signed, actual)
	if !res.Diff.Empty() {
		res.ToolChanges, _ = ChangedTools(ctx, path, "", signed, v)
		return res, fmt.Errorf("%w: %s%s", signing.ErrMismatch, res.Diff, ToolChangeSummary(res.ToolChanges))
	}
	return res, nil
}

// SignedDigest returns the subject digest recorded in a signature file,
// without verifying the signature (for indexing evidence only).
func SignedDigest(sigPath string) (Digest, error) {
	m, err := readSignatureManifest(sigPath)
	if err != nil {
		return "", err
	}
	return DigestOf(m.RootDigest()), nil
}
