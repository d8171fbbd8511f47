// Package admission is mlsec's Kubernetes admission webhook: a
// ValidatingAdmissionWebhook (admission.k8s.io/v1) that admits KServe
// InferenceServices and Pods only when every model they reference resolves,
// in the mlsec server, to a released artifact whose latest serving gate
// decision passed. An oci reference is resolved by its registered source
// or, through the registry (Registry), by the OMS signature of its
// manifest, without downloading the model. It fails closed: a reference it cannot resolve, or a
// server it cannot reach, denies, unless the operator chose FailOpen.
package admission

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Limits on what a reviewed object may make the webhook do.
const (
	// MaxRefLen bounds one model reference.
	MaxRefLen = 2048
	// MaxRefs bounds the model references of one object.
	MaxRefs = 64
)

// ErrRef marks a model reference the webhook does not accept as written
// (unpinned, unsupported scheme, malformed). The message says why.
var ErrRef = errors.New("admission: model reference not accepted")

// Ref is a parsed model reference.
type Ref struct {
	// Raw is the reference as the object wrote it.
	Raw string
	// Scheme is oci, hf, s3 or pvc.
	Scheme string
	// Sources are the registered artifact sources that name the same
	// content, most canonical first; the server is asked for each in turn.
	Sources []string
	// Mutable is true for locations whose content can change after the
	// gate (s3, pvc): what is admitted is the location, not the bytes.
	Mutable bool
}

var (
	hex64   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	hex40   = regexp.MustCompile(`^[0-9a-f]{40}$`)
	hfName  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$`)
	dnsName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
)

// HFEndpoint is the Hugging Face Hub endpoint mlsec intake records in the
// source of what it takes in (ENDPOINT/ORG/NAME/tree/COMMIT).
const HFEndpoint = "https://huggingface.co"

// ParseRef parses a model reference of a Kubernetes object in namespace ns.
// Accepted:
//
//   - oci://HOST/REPO[:TAG]@sha256:HEX — the digest is required; a tag alone
//     is refused (it can move between admission and the pull);
//   - hf://ORG/NAME@COMMIT or KServe's hf://ORG/NAME:COMMIT — a full
//     40-hex commit is required; a branch or tag is refused;
//   - s3://BUCKET/KEY — a mutable location, matched as written;
//   - pvc://CLAIM/PATH — a mutable location in the object's namespace,
//     looked up as pvc://NAMESPACE/CLAIM/PATH.
//
// Every error wraps ErrRef.
func ParseRef(s, ns string) (Ref, error) {
	if len(s) > MaxRefLen {
		return Ref{}, fmt.Errorf("%w: reference of %d bytes exceeds %d", ErrRef, len(s), MaxRefLen)
	}
	for _, c := range s {
		if c <= ' ' || c == 0x7f {
			return Ref{}, fmt.Errorf("%w: %q contains a space or control character", ErrRef, s)
		}
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return Ref{}, fmt.Errorf("%w: %q has no scheme (want oci://, hf://, s3:// or pvc://)", ErrRef, s)
	}
	r := Ref{Raw: s, Scheme: scheme}
	switch scheme {
	case "oci":
		return parseOCI(r, rest)
	case "hf":
		return parseHF(r, rest)
	case "s3":
		bucket, key, _ := strings.Cut(rest, "/")
		if bucket == "" || strings.Contains(key, "..") {
			return Ref{}, fmt.Errorf("%w: %q is not s3://BUCKET/KEY", ErrRef, s)
		}
		r.Sources, r.Mutable = []string{s}, true
		return r, nil
	case "pvc":
		claim, path, _ := strings.Cut(rest, "/")
		if !dnsName.MatchString(claim) || len(claim) > 253 || strings.Contains(path, "..") {
			return Ref{}, fmt.Errorf("%w: %q is not pvc://CLAIM/PATH with a valid claim name", ErrRef, s)
		}
		if !dnsName.MatchString(ns) {
			return Ref{}, fmt.Errorf("%w: %q: a pvc reference needs the object's namespace", ErrRef, s)
		}
		r.Sources, r.Mutable = []string{"pvc://" + ns + "/" + rest}, true
		return r, nil
	}
	return Ref{}, fmt.Errorf("%w: %q: scheme %s:// is not accepted (want oci://, hf://, s3:// or pvc://)", ErrRef, s, scheme)
}

func parseOCI(r Ref, rest string) (Ref, error) {
	name, digest, ok := strings.Cut(rest, "@")
	if !ok {
		return Ref{}, fmt.Errorf("%w: %q has no digest: pin it as oci://HOST/REPO@sha256:… (a tag can move after admission)", ErrRef, r.Raw)
	}
	alg, hex, _ := strings.Cut(digest, ":")
	if alg != "sha256" || !hex64.MatchString(hex) {
		return Ref{}, fmt.Errorf("%w: %q: the digest must be sha256:<64 lowercase hex>", ErrRef, r.Raw)
	}
	host, repo, _ := strings.Cut(name, "/")
	if host == "" || repo == "" || strings.Contains(repo, "..") || strings.Contains(repo, "//") {
		return Ref{}, fmt.Errorf("%w: %q is not oci://HOST/REPO@sha256:…", ErrRef, r.Raw)
	}
	// A tag beside the digest is ignored by registries: the digest decides.
	if i := strings.LastIndexByte(repo, ':'); i >= 0 {
		repo = repo[:i]
	}
	canonical := "oci://" + host + "/" + repo + "@" + digest
	r.Sources = []string{canonical}
	if canonical != r.Raw {
		r.Sources = append(r.Sources, r.Raw)
	}
	return r, nil
}

func parseHF(r Ref, rest string) (Ref, error) {
	name, rev, ok := strings.Cut(rest, "@")
	if !ok {
		// KServe writes hf://ORG/NAME:HASH.
		name, rev, ok = strings.Cut(rest, ":")
	}
	if !hfName.MatchString(name) || strings.Contains(name, "..") {
		return Ref{}, fmt.Errorf("%w: %q is not hf://ORG/NAME@COMMIT", ErrRef, r.Raw)
	}
	if !ok || !hex40.MatchString(rev) {
		return Ref{}, fmt.Errorf("%w: %q is not pinned: name the full 40-hex commit (hf://%s@COMMIT); a branch or tag can move after admission", ErrRef, r.Raw, name)
	}
	r.Sources = []string{"hf://" + name + "@" + rev, HFEndpoint + "/" + name + "/tree/" + rev}
	return r, nil
}
