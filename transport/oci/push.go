package oci

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/mlsecops/mlsec/transport"
)

// Pusher is where Push writes: a registry repository (remote.Repository)
// or any oras target that can also tag.
type Pusher interface {
	oras.Target
}

// PushResult describes a pushed model.
type PushResult struct {
	Manifest  ocispec.Descriptor
	Layers    []ocispec.Descriptor
	Referrers []ocispec.Descriptor
}

// PushOptions tune Push.
type PushOptions struct {
	// Concurrency bounds the layers hashed and uploaded at once (default 4).
	Concurrency int
	// Created is recorded in the model config (default: now).
	Created time.Time
	// KnownDigests are SHA-256 digests of model files by member name,
	// typically from the model's OMS signature (transport.SignedDigests).
	// A file with a known digest is streamed to the registry in one pass,
	// without hashing it first: the registry checks the digest as the
	// upload completes, so a file that no longer matches is refused there.
	KnownDigests map[string][]byte
}

// modelConfig is the ModelPack model config (application/vnd.cncf.model.config.v1+json).
type modelConfig struct {
	Descriptor struct {
		Name      string     `json:"name,omitempty"`
		CreatedAt *time.Time `json:"createdAt,omitempty"`
	} `json:"descriptor"`
	Config  struct{} `json:"config"`
	ModelFS struct {
		Type    string          `json:"type"`
		DiffIDs []digest.Digest `json:"diffIds"`
	} `json:"modelfs"`
}

// Push uploads the artifact's model files as a ModelPack manifest tagged
// tag, then its evidence as referrers of that manifest: the signature as a
// Sigstore bundle artifact, each line of the claims file as its own.
func Push(ctx context.Context, dst Pusher, tag string, a *transport.Artifact, o PushOptions) (*PushResult, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Created.IsZero() {
		o.Created = time.Now().UTC().Truncate(time.Second)
	}
	var models []transport.Member
	var sig, claims *transport.Member
	for i := range a.Members {
		m := &a.Members[i]
		switch m.Role {
		case transport.RoleSignature:
			sig = m
		case transport.RoleClaims:
			claims = m
		default:
			models = append(models, *m)
		}
	}
	if len(models) == 0 {
		return nil, fmt.Errorf("oci: %s has no model file to push", a.Name)
	}
	res := &PushResult{Layers: make([]ocispec.Descriptor, len(models))}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Concurrency)
	for i, m := range models {
		g.Go(func() error {
			d, err := pushFile(gctx, dst, m, o.KnownDigests[m.Name])
			res.Layers[i] = d
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var cfg modelConfig
	cfg.Descriptor.Name = a.Name
	cfg.Descriptor.CreatedAt = &o.Created
	cfg.ModelFS.Type = "layers"
	for _, l := range res.Layers {
		cfg.ModelFS.DiffIDs = append(cfg.ModelFS.DiffIDs, l.Digest)
	}
	cb, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cdesc, err := pushBytes(ctx, dst, MediaTypeModelConfig, cb)
	if err != nil {
		return nil, err
	}
	kind := artifactKindDirectory
	if !a.Dir {
		kind = artifactKindFile
	}
	res.Manifest, err = oras.PackManifest(ctx, dst, oras.PackManifestVersion1_1, ArtifactTypeModel, oras.PackManifestOptions{
		Layers:           res.Layers,
		ConfigDescriptor: &cdesc,
		ManifestAnnotations: map[string]string{
			annotationArtifactName: a.Name, annotationArtifactKind: kind,
			ocispec.AnnotationTitle: a.Name, ocispec.AnnotationCreated: o.Created.Format(time.RFC3339),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("oci: push manifest: %w", err)
	}
	if tag != "" {
		if err := dst.Tag(ctx, res.Manifest, tag); err != nil {
			return nil, fmt.Errorf("oci: tag %s: %w", tag, err)
		}
	}
	// Probe the referrers API before pushing referrers: oras-go otherwise
	// decides from the OCI-Subject response header alone, which some
	// registries that serve the API (go-containerregistry's) do not send,
	// and would write the tag-schema index there too.
	if rl, ok := dst.(registry.ReferrerLister); ok && (sig != nil || claims != nil) {
		if err := rl.Referrers(ctx, res.Manifest, "", func([]ocispec.Descriptor) error { return nil }); err != nil {
			return nil, fmt.Errorf("oci: referrers of %s: %w", res.Manifest.Digest, err)
		}
	}
	if sig != nil {
		b, err := readSmall(sig.Path)
		if err != nil {
			return nil, err
		}
		d, err := pushEvidence(ctx, dst, res.Manifest, b, map[string]string{
			annotationEvidenceRole: evidenceRoleSignature, annotationPredicateType: predicateModelSignature,
		})
		if err != nil {
			return nil, err
		}
		res.Referrers = append(res.Referrers, d)
	}
	if claims != nil {
		lines, err := claimLines(claims.Path)
		if err != nil {
			return nil, err
		}
		for i, line := range lines {
			ann := map[string]string{annotationEvidenceRole: evidenceRoleClaim, annotationClaimIndex: strconv.Itoa(i)}
			if pt := predicateType(line); pt != "" {
				ann[annotationPredicateType] = pt
			}
			d, err := pushEvidence(ctx, dst, res.Manifest, line, ann)
			if err != nil {
				return nil, err
			}
			res.Referrers = append(res.Referrers, d)
		}
	}
	return res, nil
}

// pushFile streams a file to the registry unless the registry has it
// already. Without a known digest it hashes the file first (two passes).
func pushFile(ctx context.Context, dst Pusher, m transport.Member, known []byte) (ocispec.Descriptor, error) {
	f, err := os.Open(m.Path)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("oci: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("oci: %w", err)
	}
	n := fi.Size()
	sum := known
	if len(sum) != sha256.Size {
		h := sha256.New()
		if n, err = io.CopyBuffer(h, f, make([]byte, 1<<20)); err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("oci: %s: %w", m.Path, err)
		}
		sum = h.Sum(nil)
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("oci: %w", err)
		}
	}
	desc := ocispec.Descriptor{
		MediaType: layerMediaType(m.Name),
		Digest:    digest.NewDigestFromBytes(digest.SHA256, sum),
		Size:      n,
		Annotations: map[string]string{
			AnnotationFilepath: m.Name,
			annotationTitle:    m.Name,
		},
	}
	// A blob the registry has is skipped only when this file was hashed
	// here: a known digest vouches for the signed bytes, not for this
	// file, so the upload itself has to prove it.
	if len(known) != sha256.Size {
		if ok, err := dst.Exists(ctx, desc); err == nil && ok {
			return desc, nil
		}
	}
	// The registry checks the digest at the end of the upload: a file
	// that changed since it was hashed (or signed) is refused there.
	if err := dst.Push(ctx, desc, bufio.NewReaderSize(io.LimitReader(f, n), 1<<20)); err != nil && !isAlreadyExists(err) {
		if known != nil && digestRefused(err) {
			return ocispec.Descriptor{}, fmt.Errorf("oci: push %s: %w (does the file still match its signature? mlsec verify)", m.Name, err)
		}
		return ocispec.Descriptor{}, fmt.Errorf("oci: push %s: %w", m.Name, err)
	}
	return desc, nil
}

// digestRefused reports a registry's refusal of an upload whose bytes do not
// match the digest it was announced with (DIGEST_INVALID, or a bare 400
// from registries that send no error body), as opposed to a network, TLS
// or authentication failure.
func digestRefused(err error) bool {
	var er *errcode.ErrorResponse
	if !errors.As(err, &er) {
		return false
	}
	if er.StatusCode == http.StatusBadRequest && len(er.Errors) == 0 {
		return true
	}
	for _, e := range er.Errors {
		if e.Code == errcode.ErrorCodeDigestInvalid || e.Code == errcode.ErrorCodeSizeInvalid {
			return true
		}
	}
	return false
}

func isAlreadyExists(err error) bool { return err != nil && errors.Is(err, errdef.ErrAlreadyExists) }

func pushBytes(ctx context.Context, dst Pusher, mediaType string, b []byte) (ocispec.Descriptor, error) {
	desc := content.NewDescriptorFromBytes(mediaType, b)
	if err := dst.Push(ctx, desc, bytes.NewReader(b)); err != nil && !isAlreadyExists(err) {
		return ocispec.Descriptor{}, fmt.Errorf("oci: push %s: %w", mediaType, err)
	}
	return desc, nil
}

// pushEvidence pushes one Sigstore bundle as a referrer of subject.
func pushEvidence(ctx context.Context, dst Pusher, subject ocispec.Descriptor, bundle []byte, ann map[string]string) (ocispec.Descriptor, error) {
	layer, err := pushBytes(ctx, dst, mediaTypeSigstoreBundle, bundle)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	d, err := oras.PackManifest(ctx, dst, oras.PackManifestVersion1_1, mediaTypeSigstoreBundle, oras.PackManifestOptions{
		Subject: &subject, Layers: []ocispec.Descriptor{layer}, ManifestAnnotations: ann,
	})
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("oci: push referrer: %w", err)
	}
	return d, nil
}

func readSmall(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("oci: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxEvidenceBytes+1))
	if err != nil {
		return nil, fmt.Errorf("oci: %w", err)
	}
	if len(b) > MaxEvidenceBytes {
		return nil, fmt.Errorf("oci: %s is larger than %d bytes", p, MaxEvidenceBytes)
	}
	return b, nil
}

// claimLines splits a claims file into its non-empty lines.
func claimLines(p string) ([][]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("oci: %w", err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), MaxEvidenceBytes)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			out = append(out, bytes.Clone(line))
		}
		if len(out) > MaxReferrers {
			return nil, fmt.Errorf("oci: %s holds more than %d claims", p, MaxReferrers)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("oci: %s: %w", p, err)
	}
	return out, nil
}

// predicateType reads the in-toto predicate type of a DSSE bundle line,
// without verifying anything (it is a label for registries and humans).
func predicateType(bundle []byte) string {
	var b struct {
		DSSE struct {
			Payload string `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if json.Unmarshal(bundle, &b) != nil {
		return ""
	}
	p, err := base64.StdEncoding.DecodeString(b.DSSE.Payload)
	if err != nil {
		return ""
	}
	var st struct {
		PredicateType string `json:"predicateType"`
	}
	if json.Unmarshal(p, &st) != nil {
		return ""
	}
	return st.PredicateType
}
