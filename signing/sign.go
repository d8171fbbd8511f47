package signing

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ResolveIgnorePaths turns user-given paths (absolute, or relative to the
// current directory, as the reference CLI takes them) into paths relative
// to the model root. Paths outside the model are dropped.
func ResolveIgnorePaths(modelPath string, paths []string) ([]string, error) {
	root, err := resolvePath(modelPath)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range paths {
		if p == "" {
			continue
		}
		abs, err := resolvePath(p)
		if err != nil {
			return nil, err
		}
		rel, err := filepath.Rel(root, abs)
		if err != nil {
			continue
		}
		rel = filepath.ToSlash(rel)
		if rel == ".." || strings.HasPrefix(rel, "../") {
			continue
		}
		out = append(out, rel)
	}
	return out, nil
}

// resolvePath is Python's Path.resolve(): absolute, with symlinks of the
// existing prefix resolved.
func resolvePath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("signing: %w", err)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r, nil
	}
	dir, base := filepath.Split(abs)
	if dir == abs || dir == "" {
		return abs, nil
	}
	d, err := resolvePath(filepath.Clean(dir))
	if err != nil {
		return "", err
	}
	return filepath.Join(d, base), nil
}

// SignResult is what Sign produced.
type SignResult struct {
	Manifest *Manifest
	Bundle   []byte // the bundle JSON
}

// Sign hashes the model and signs its statement with signer. opts should
// ignore the signature file when it lies inside the model (the CLI does).
func Sign(ctx context.Context, modelPath string, signer Signer, opts HashOptions) (*SignResult, error) {
	m, err := HashModel(ctx, modelPath, opts)
	if err != nil {
		return nil, err
	}
	if len(m.Items) == 0 {
		return nil, fmt.Errorf("signing: %s has no file to sign", modelPath)
	}
	for _, it := range m.Items {
		if it.Shard && strings.Contains(it.Path, ":") {
			// Shard names are path:start:end, split on ':' by every reader.
			return nil, fmt.Errorf("%w: file name %q contains ':' and cannot be signed with the shards method (no verifier could read it back); use --method files", ErrUnsupported, it.Path)
		}
	}
	payload := MarshalStatement(m, StatementOptions{})
	b, err := signer.SignPayload(ctx, PayloadType, payload)
	if err != nil {
		return nil, err
	}
	out, err := MarshalBundle(b)
	if err != nil {
		return nil, err
	}
	return &SignResult{Manifest: m, Bundle: out}, nil
}

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// IgnorePaths are model-relative paths to leave out, in addition to
	// those recorded in the signature and the git paths.
	IgnorePaths []string
	// UnlessSigned are model-relative paths to leave out unless the
	// signature covers them (a file under them is signed).
	UnlessSigned []string
	// IncludeGitPaths stops ignoring git paths.
	IncludeGitPaths bool
	// IgnoreUnsignedFiles hashes only files named in the signature.
	IgnoreUnsignedFiles bool
	Workers             int
	Progress            func(int64)
	Total               func(int64)
}

// VerifyResult describes a verification.
type VerifyResult struct {
	Signed *Manifest // from the signature
	Actual *Manifest // hashed from disk (nil if the signature failed)
	Diff   Diff
}

// ReadBundleFile reads and parses a bundle file.
func ReadBundleFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("signing: signature %s is a directory: pass the bundle file, e.g. --signature %s", path, filepath.Join(path, DefaultSignatureName))
	}
	if fi.Size() > MaxBundleSize {
		return nil, invalid("bundle %s has %d bytes, more than %d", path, fi.Size(), MaxBundleSize)
	}
	data := make([]byte, fi.Size())
	if _, err := f.ReadAt(data, 0); err != nil && fi.Size() > 0 {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return data, nil
}

// VerifyPayload checks a bundle with v and returns the signed manifest.
func VerifyPayload(ctx context.Context, bundleJSON []byte, v Verifier) (*Manifest, error) {
	b, err := ReadBundle(bundleJSON)
	if err != nil {
		return nil, err
	}
	payload, err := v.VerifyBundle(ctx, b)
	if err != nil {
		return nil, err
	}
	return ParseStatement(payload)
}

// Verify checks the bundle with v, then hashes the model the way the
// signature says it was hashed and compares. A bad signature wraps
// ErrInvalidSignature; a model that differs wraps ErrMismatch (the result
// then lists the differences).
func Verify(ctx context.Context, modelPath string, bundleJSON []byte, v Verifier, opts VerifyOptions) (*VerifyResult, error) {
	signed, err := VerifyPayload(ctx, bundleJSON, v)
	if err != nil {
		return nil, err
	}
	res := &VerifyResult{Signed: signed}
	ser := signed.Serialization
	ho := HashOptions{
		Method:          ser.Method,
		Hash:            ser.Hash,
		ShardSize:       ser.ShardSize,
		AllowSymlinks:   ser.AllowSymlinks,
		IncludeGitPaths: opts.IncludeGitPaths,
		Workers:         opts.Workers,
		Progress:        opts.Progress,
		Total:           opts.Total,
	}
	ho.IgnorePaths = append(ho.IgnorePaths, opts.IgnorePaths...)
	for _, p := range opts.UnlessSigned {
		c, ok := cleanRel(p)
		if !ok {
			continue
		}
		signedBelow := false
		for _, it := range signed.Items {
			if ignored(it.Path, []string{c}) {
				signedBelow = true
				break
			}
		}
		if !signedBelow {
			ho.IgnorePaths = append(ho.IgnorePaths, c)
		}
	}
	for _, p := range ser.IgnorePaths {
		if c, ok := cleanRel(p); ok {
			ho.IgnorePaths = append(ho.IgnorePaths, c)
		}
	}
	if opts.IgnoreUnsignedFiles {
		ho.OnlyFiles = []string{}
		for _, it := range signed.Items {
			ho.OnlyFiles = append(ho.OnlyFiles, it.Path)
		}
	}
	actual, err := HashModel(ctx, modelPath, ho)
	if err != nil {
		return res, err
	}
	res.Actual = actual
	res.Diff = Compare(signed, actual)
	if !res.Diff.Empty() {
		return res, fmt.Errorf("%w: %s%s", ErrMismatch, res.Diff, otherModelHint(signed, actual, res.Diff))
	}
	return res, nil
}

// otherModelHint says when the signature names none of the model's files:
// it was most likely made for another model.
func otherModelHint(signed, actual *Manifest, d Diff) string {
	if len(actual.Items) == 0 || len(d.Added) != len(actual.Items) || len(d.Missing) != len(signed.Items) {
		return ""
	}
	name := ""
	if signed.ModelName != "" && signed.ModelName != legacyModelName {
		name = fmt.Sprintf(" (signed as %q)", signed.ModelName)
	}
	return fmt.Sprintf("; no file of the model is in the signature: it is probably the signature of another model%s", name)
}

// IsNegative reports whether err is a negative verification result (bad
// signature or content mismatch) rather than a usage or I/O error.
func IsNegative(err error) bool {
	return errors.Is(err, ErrInvalidSignature) || errors.Is(err, ErrMismatch)
}
