// Package signing implements OpenSSF Model Signing (OMS), interoperable with
// the reference implementation model_signing (sigstore/model-transparency):
// it serializes a model or dataset directory into a manifest of per-file or
// per-shard digests, wraps the manifest in an in-toto v1 Statement, signs it
// as a DSSE envelope inside a Sigstore bundle v0.3 (key, certificate or
// keyless Sigstore) and verifies such bundles against a model on disk.
//
// The serialization follows the reference exactly: the same resource names,
// digest algorithm names, ordering (paths sorted component by component),
// root digest and serialization parameters, so that bundles written by either
// implementation verify with the other.
package signing

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Statement and bundle constants shared with the reference implementation.
const (
	// PredicateType is the predicate type of model signatures since v1.0.
	PredicateType = "https://model_signing/signature/v1.0"
	// LegacyPredicateType is the experimental predicate of model_signing
	// v0.2, accepted on verification only.
	LegacyPredicateType = "https://model_signing/Digests/v0.1"
	// StatementType is the in-toto v1 Statement type.
	StatementType = "https://in-toto.io/Statement/v1"
	// PayloadType is the DSSE payload type of in-toto statements.
	PayloadType = "application/vnd.in-toto+json"
	// BundleMediaType is the Sigstore bundle media type written and
	// required for key and certificate bundles.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// DefaultShardSize is the reference's default shard size (1 GB).
	DefaultShardSize int64 = 1_000_000_000
	// DefaultSignatureName is the reference's default signature file name.
	DefaultSignatureName = "model.sig"
)

// Sentinel errors. Errors wrapping ErrInvalidSignature or ErrMismatch are
// negative verification results; everything else is a usage or I/O problem.
var (
	// ErrInvalidSignature reports a bundle that is malformed, whose
	// signature does not verify, or whose signer is not trusted.
	ErrInvalidSignature = errors.New("signing: invalid signature")
	// ErrMismatch reports a model whose content differs from the signed
	// manifest.
	ErrMismatch = errors.New("signing: model does not match signature")
	// ErrSymlink reports a symbolic link in a model hashed without
	// AllowSymlinks.
	ErrSymlink = errors.New("signing: symbolic link not allowed")
	// ErrUnsupported reports an unknown hash algorithm, serialization
	// method or key type.
	ErrUnsupported = errors.New("signing: unsupported")
)

// Method is a serialization method.
type Method string

// Serialization methods.
const (
	MethodFiles  Method = "files"
	MethodShards Method = "shards"
)

// Serialization records how a manifest was built: the parameters a verifier
// needs to rebuild it. It is the predicate's "serialization" object.
type Serialization struct {
	Method        Method
	Hash          HashAlgorithm
	ShardSize     int64 // shards only
	AllowSymlinks bool
	// IgnorePaths are the paths, relative to the model, left out of the
	// manifest. They are recorded in the predicate (omitted when empty).
	IgnorePaths []string
}

// Item is one resource of a manifest: a file or a shard of a file.
type Item struct {
	// Path is the file's slash-separated path relative to the model root;
	// "." for a single-file model.
	Path string
	// Start and End delimit a shard [Start, End); both are zero for a file
	// item (Shard false).
	Start, End int64
	Shard      bool
	// Algorithm is the digest's name as the reference writes it: the hash
	// name for files, "<hash>-sharded-<size>" for shards.
	Algorithm string
	Digest    []byte
}

// Name returns the resource name: the path, or "path:start:end" for a shard.
func (it Item) Name() string {
	if !it.Shard {
		return it.Path
	}
	return it.Path + ":" + strconv.FormatInt(it.Start, 10) + ":" + strconv.FormatInt(it.End, 10)
}

// ParseItemName splits a resource name into its path and shard offsets.
func ParseItemName(method Method, name string) (Item, error) {
	if method != MethodShards {
		return Item{Path: name}, nil
	}
	parts := strings.Split(name, ":")
	if len(parts) != 3 {
		return Item{}, fmt.Errorf("invalid shard resource name %q: want path:start:end", name)
	}
	start, err1 := strconv.ParseInt(parts[1], 10, 64)
	end, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return Item{}, fmt.Errorf("invalid shard offsets in resource name %q", name)
	}
	return Item{Path: parts[0], Start: start, End: end, Shard: true}, nil
}

// Manifest pairs every file or shard of a model with its digest.
type Manifest struct {
	// ModelName is informative only (the last path component of the model).
	ModelName     string
	Items         []Item
	Serialization Serialization
}

// comparePaths orders slash paths component by component, as Python's
// PurePosixPath does: "a/b" sorts before "a-b".
func comparePaths(a, b string) int {
	ap, bp := pathParts(a), pathParts(b)
	for i := 0; i < len(ap) && i < len(bp); i++ {
		if c := strings.Compare(ap[i], bp[i]); c != 0 {
			return c
		}
	}
	return len(ap) - len(bp)
}

func pathParts(p string) []string {
	if p == "." || p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func compareItems(a, b Item) int {
	if c := comparePaths(a.Path, b.Path); c != 0 {
		return c
	}
	if a.Start != b.Start {
		if a.Start < b.Start {
			return -1
		}
		return 1
	}
	if a.End != b.End {
		if a.End < b.End {
			return -1
		}
		return 1
	}
	return 0
}

// Sort puts the items in the reference's canonical order.
func (m *Manifest) Sort() { slices.SortFunc(m.Items, compareItems) }

// RootDigest is the SHA-256 over the items' digests in manifest order: the
// statement subject's digest.
func (m *Manifest) RootDigest() []byte {
	h := sha256.New()
	for _, it := range m.Items {
		h.Write(it.Digest)
	}
	return h.Sum(nil)
}

// Diff lists how a model differs from a signed manifest, by resource name.
type Diff struct {
	Added   []string `json:"added,omitempty"`   // on disk, not signed
	Missing []string `json:"missing,omitempty"` // signed, not on disk
	Changed []string `json:"changed,omitempty"` // different digest
}

// Empty reports whether the manifests matched.
func (d Diff) Empty() bool { return len(d.Added)+len(d.Missing)+len(d.Changed) == 0 }

// String describes the differences on one line.
func (d Diff) String() string {
	var parts []string
	if len(d.Added) > 0 {
		parts = append(parts, "added: "+strings.Join(d.Added, ", "))
	}
	if len(d.Missing) > 0 {
		parts = append(parts, "missing: "+strings.Join(d.Missing, ", "))
	}
	if len(d.Changed) > 0 {
		parts = append(parts, "changed: "+strings.Join(d.Changed, ", "))
	}
	return strings.Join(parts, "; ")
}

// Compare returns how actual (the model on disk) differs from signed. Items
// are equal when their names, algorithms and digests are equal.
func Compare(signed, actual *Manifest) Diff {
	exp := make(map[string]Item, len(signed.Items))
	for _, it := range signed.Items {
		exp[it.Name()] = it
	}
	got := make(map[string]Item, len(actual.Items))
	for _, it := range actual.Items {
		got[it.Name()] = it
	}
	var d Diff
	for name, it := range got {
		e, ok := exp[name]
		switch {
		case !ok:
			d.Added = append(d.Added, name)
		case e.Algorithm != it.Algorithm || !bytes.Equal(e.Digest, it.Digest):
			d.Changed = append(d.Changed, name)
		}
	}
	for name := range exp {
		if _, ok := got[name]; !ok {
			d.Missing = append(d.Missing, name)
		}
	}
	slices.Sort(d.Added)
	slices.Sort(d.Missing)
	slices.Sort(d.Changed)
	return d
}
