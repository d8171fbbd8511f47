// Package evidence decides where the evidence about a model or dataset
// lives on disk: its OpenSSF Model Signing signature and its claims file
// (the signed attestations: provenance, scan results, evaluations, AI-BOMs
// and gate decisions). It is the one place that rule is written; every
// command and the server ask this package, and docs/evidence-layout.md
// describes the same layout for people.
//
// The layout:
//
//	directory artifact DIR          single-file artifact FILE
//	DIR/model.sig   signature       FILE.sig           signature
//	DIR/claims.jsonl claims         FILE.claims.jsonl  claims
//
// A directory artifact's signature and claims lie inside it and are not
// part of its content: they are left out of its manifest, as the reference
// model_signing leaves out a signature that lies inside the model. A
// single-file artifact's evidence lies beside it.
//
// Evidence is never looked for in the current directory: a signature in
// ./model.sig (where the reference model_signing writes by default) is used
// only when it is named explicitly.
package evidence

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// File names of the layout.
const (
	// SignatureName is the signature inside a directory artifact (the
	// reference model_signing's default signature name).
	SignatureName = "model.sig"
	// SignatureSuffix makes the signature of a single-file artifact F:
	// F + SignatureSuffix, beside it.
	SignatureSuffix = ".sig"
	// ClaimsName is the claims file inside a directory artifact: one
	// Sigstore bundle (a signed in-toto statement) per line, append-only.
	ClaimsName = "claims.jsonl"
	// ClaimsSuffix makes the claims file of a single-file artifact F:
	// F + ClaimsSuffix, beside it.
	ClaimsSuffix = ".claims.jsonl"
)

// Kind tells the evidence files apart.
type Kind string

// Kinds of evidence files.
const (
	Signature Kind = "signature"
	Claims    Kind = "claims"
)

// Paths is where the evidence of one artifact lives.
type Paths struct {
	// Artifact is the artifact's path, cleaned.
	Artifact string
	// Dir reports a directory artifact.
	Dir bool
	// Signature is the artifact's OMS signature (Sigstore bundle).
	Signature string
	// Claims is the artifact's claims file (signed attestations, including
	// AI-BOMs and gate decisions: VSAs).
	Claims string
}

// Locate returns where the evidence of the artifact at path lives. The
// artifact must exist (whether it is a directory decides the layout).
func Locate(path string) (Paths, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Paths{}, fmt.Errorf("evidence: %w", err)
	}
	return layout(filepath.Clean(path), fi.IsDir()), nil
}

// For returns the layout of an artifact whose kind is known without
// looking at the disk (dir reports a directory artifact).
func For(path string, dir bool) Paths { return layout(filepath.Clean(path), dir) }

func layout(p string, dir bool) Paths {
	if dir {
		return Paths{Artifact: p, Dir: true, Signature: filepath.Join(p, SignatureName), Claims: filepath.Join(p, ClaimsName)}
	}
	return Paths{Artifact: p, Signature: p + SignatureSuffix, Claims: p + ClaimsSuffix}
}

// SignaturePath returns where the artifact's own signature is written by
// default and looked for: path/model.sig for a directory, path.sig for a
// file.
func SignaturePath(path string) (string, error) {
	l, err := Locate(path)
	return l.Signature, err
}

// ClaimsPath returns where the artifact's claims live: path/claims.jsonl
// for a directory, path.claims.jsonl for a file.
func ClaimsPath(path string) (string, error) {
	l, err := Locate(path)
	return l.Claims, err
}

// InsideNames are the names, relative to a directory artifact, of the
// evidence files that lie inside it and are not part of its content.
func InsideNames() []string { return []string{SignatureName, ClaimsName} }

// Inside returns the evidence files inside the artifact at path (joined to
// path) that its manifest leaves out; none for a single-file artifact or
// a path that cannot be read.
func Inside(path string) []string {
	fi, err := os.Stat(path)
	if err != nil || !fi.IsDir() {
		return nil
	}
	var out []string
	for _, n := range InsideNames() {
		out = append(out, filepath.Join(path, n))
	}
	return out
}

// IsInside reports whether the model-relative, slash-separated name is an
// evidence file of a directory artifact (its signature or claims file).
func IsInside(rel string) bool { return rel == SignatureName || rel == ClaimsName }

// ArtifactOf maps an evidence file to the artifact it is about, by the
// layout alone: DIR/model.sig and DIR/claims.jsonl name DIR, F.sig and
// F.claims.jsonl name F. ok is false for a file that is not named like
// evidence. Whether the artifact exists is not checked.
func ArtifactOf(file string) (artifact string, kind Kind, ok bool) {
	file = filepath.Clean(file)
	base := filepath.Base(file)
	switch {
	case base == SignatureName:
		return filepath.Dir(file), Signature, true
	case base == ClaimsName:
		return filepath.Dir(file), Claims, true
	case strings.HasSuffix(base, ClaimsSuffix) && len(base) > len(ClaimsSuffix):
		return strings.TrimSuffix(file, ClaimsSuffix), Claims, true
	case strings.HasSuffix(base, SignatureSuffix) && len(base) > len(SignatureSuffix):
		return strings.TrimSuffix(file, SignatureSuffix), Signature, true
	}
	return "", "", false
}

// SearchDir returns the default evidence directory of the artifact at
// path: the directory that contains it, by absolute path (so that "." run
// from inside a model directory searches beside the model, never the model
// itself, for its parents).
func SearchDir(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("evidence: %w", err)
	}
	return filepath.Dir(abs), nil
}

// ErrNoSignature reports that an artifact has no signature where the
// layout puts it.
var ErrNoSignature = errors.New("evidence: no signature")

// MissingSignature explains a signature that is not where the layout (or
// the --signature flag) says: it names the file looked for and, when the
// current directory holds a model.sig (where the reference model_signing
// and mlsec before the layout wrote by default), says how to use it. It
// never uses that file. The error wraps ErrNoSignature.
func MissingSignature(artifact, looked string) error {
	msg := fmt.Sprintf("%s has no signature: %s does not exist", artifact, looked)
	if fi, err := os.Stat(SignatureName); err == nil && fi.Mode().IsRegular() {
		if a, err := filepath.Abs(SignatureName); err == nil {
			if b, err := filepath.Abs(looked); err == nil && a != b {
				msg += fmt.Sprintf("; the current directory holds %s (the old default of mlsec sign and the reference's): if it is this artifact's signature, pass --signature %s or move it to %s", SignatureName, SignatureName, looked)
			}
		}
	}
	return fmt.Errorf("%w: %s", ErrNoSignature, msg)
}
