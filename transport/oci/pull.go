package oci

import (
	"archive/tar"
	"bufio"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry"

	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/transport"
)

// Source is where Pull reads: a registry repository (remote.Repository).
type Source interface {
	content.Fetcher
	registry.ReferrerLister
}

// ErrArtifact reports content from the registry that failed a check: a
// digest or size that does not match, a manifest over the limits, a file
// name that leaves the destination. Nothing of such an artifact lands.
var ErrArtifact = errors.New("oci: bad artifact")

func artifactErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrArtifact}, args...)...)
}

// Pulled describes what Pull wrote into the quarantine directory.
type Pulled struct {
	Manifest ocispec.Descriptor
	// Format is "modelpack", "kitops" or "oci" (a generic artifact whose
	// layers carry titles).
	Format string
	// Name is the model's name; Dir reports a directory model. A file
	// model lands as dir/Name.
	Name string
	Dir  bool
	// Files are the model files written, slash paths relative to the
	// quarantine directory.
	Files []string
	Bytes int64
	// Digests are the SHA-256 digests of the files that arrived as raw
	// layers, checked while they streamed (keyed like Files); Archives
	// reports tar layers, whose files have no digest of their own here.
	Digests  map[string][]byte
	Archives bool
	// Signatures are the OMS signature bundles found among the referrers
	// (not yet verified); Claims the claim bundles in their pushed order.
	Signatures []Evidence
	Claims     []Evidence
}

// Evidence is one referrer's bundle.
type Evidence struct {
	Referrer ocispec.Descriptor
	Bundle   []byte
}

// PullOptions tune Pull.
type PullOptions struct {
	// Concurrency bounds the layers fetched at once (default 4).
	Concurrency int
	// Limits bound what the layers may write (zero fields: DefaultLimits).
	Limits Limits
}

// Pull fetches the model manifest desc (resolved by digest by the caller)
// and its layers into dir, checking every digest and size while streaming,
// and reads its evidence referrers. It reads ModelPack artifacts, KitOps
// ModelKits and generic artifacts whose layers carry file names.
func Pull(ctx context.Context, src Source, desc ocispec.Descriptor, dir string, o PullOptions) (*Pulled, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	m, err := fetchManifest(ctx, src, desc)
	if err != nil {
		return nil, err
	}
	b := newBudget(o.Limits)
	p, jobs, err := planLayers(desc, m, b)
	if err != nil {
		return nil, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Concurrency)
	var extracted [][]string
	extracted = make([][]string, len(jobs))
	for i, j := range jobs {
		g.Go(func() error {
			if j.archive == "" {
				return fetchFile(gctx, src, j.desc, filepath.Join(dir, filepath.FromSlash(j.name)))
			}
			names, err := fetchArchive(gctx, src, j.desc, j.archive, dir, b)
			extracted[i] = names
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, names := range extracted {
		p.Files = append(p.Files, names...)
	}
	if p.Name == "" {
		p.Name = cmp.Or(m.Annotations[ocispec.AnnotationTitle], "model")
	}
	if err := readEvidence(ctx, src, desc, p, true); err != nil {
		return nil, err
	}
	return p, nil
}

// layerJob is one layer to fetch: a raw file (name) or an archive.
type layerJob struct {
	desc    ocispec.Descriptor
	name    string // raw layers
	archive string
}

// planLayers checks manifest m of desc (format, names, counts, declared
// sizes against b) and says what its layers hold, without fetching any.
func planLayers(desc ocispec.Descriptor, m *ocispec.Manifest, b *budget) (*Pulled, []layerJob, error) {
	p := &Pulled{Manifest: desc, Dir: true, Format: "oci", Digests: map[string][]byte{}}
	switch {
	case m.ArtifactType == ArtifactTypeModel || m.Config.MediaType == MediaTypeModelConfig ||
		strings.HasPrefix(m.ArtifactType, modelPackPrefixV0):
		p.Format = "modelpack"
	case m.Config.MediaType == mediaTypeKitOpsConfig:
		p.Format = "kitops"
	}
	p.Name = m.Annotations[annotationArtifactName]
	if m.Annotations[annotationArtifactKind] == artifactKindFile {
		p.Dir = false
		if p.Name == "" || strings.Contains(p.Name, "/") || transport.CheckName(p.Name) != nil {
			return nil, nil, artifactErr("file artifact with bad name %q", p.Name)
		}
	}
	if len(m.Layers) == 0 {
		return nil, nil, artifactErr("manifest %s has no layer", desc.Digest)
	}
	if len(m.Layers) > transport.MaxMembers {
		return nil, nil, artifactErr("manifest has %d layers (limit %d)", len(m.Layers), transport.MaxMembers)
	}
	var jobs []layerJob
	seen := map[string]bool{}
	for _, l := range m.Layers {
		if l.Size < 0 {
			return nil, nil, artifactErr("layer %s has negative size", l.Digest)
		}
		if err := l.Digest.Validate(); err != nil {
			return nil, nil, artifactErr("layer digest %q: %v", l.Digest, err)
		}
		arch, ok := layerArchive(l.MediaType)
		if !ok {
			switch l.MediaType {
			case mediaTypeOCILayerTar:
				arch = "tar"
			case mediaTypeOCILayerTarGzip:
				arch = "tar+gzip"
			case mediaTypeOCILayerTarZstd:
				arch = "tar+zstd"
			default:
				if p.Format != "oci" {
					return nil, nil, artifactErr("layer %s: unknown media type %q", l.Digest, l.MediaType)
				}
			}
		}
		j := layerJob{desc: l, archive: arch}
		if arch == "" {
			j.name = cmp.Or(l.Annotations[AnnotationFilepath], l.Annotations[AnnotationFilepathV0], l.Annotations[annotationTitle])
			if err := transport.CheckName(j.name); err != nil || (p.Dir && evidence.IsInside(j.name)) {
				return nil, nil, artifactErr("layer %s: file name %q refused", l.Digest, j.name)
			}
			if err := b.depth(j.name); err != nil {
				return nil, nil, err
			}
			if err := b.declare(l.Size); err != nil {
				return nil, nil, err
			}
			if seen[j.name] {
				return nil, nil, artifactErr("two layers name %q", j.name)
			}
			seen[j.name] = true
			if !p.Dir && j.name != p.Name {
				return nil, nil, artifactErr("file artifact %q holds %q", p.Name, j.name)
			}
			p.Files = append(p.Files, j.name)
			if l.Digest.Algorithm() == digest.SHA256 {
				if sum, err := hex.DecodeString(l.Digest.Encoded()); err == nil {
					p.Digests[j.name] = sum
				}
			}
		} else if !p.Dir {
			return nil, nil, artifactErr("file artifact %q holds an archive layer", p.Name)
		}
		p.Bytes += l.Size
		p.Archives = p.Archives || arch != ""
		jobs = append(jobs, j)
	}
	return p, jobs, nil
}

func fetchManifest(ctx context.Context, src content.Fetcher, desc ocispec.Descriptor) (*ocispec.Manifest, error) {
	if desc.Size > MaxManifestBytes || desc.Size < 0 {
		return nil, artifactErr("manifest %s is %d bytes (limit %d)", desc.Digest, desc.Size, MaxManifestBytes)
	}
	if desc.MediaType != ocispec.MediaTypeImageManifest {
		return nil, artifactErr("%s is a %q, want an OCI image manifest", desc.Digest, desc.MediaType)
	}
	rc, err := src.Fetch(ctx, desc)
	if err != nil {
		return nil, fmt.Errorf("oci: fetch manifest %s: %w", desc.Digest, err)
	}
	defer rc.Close()
	b, err := content.ReadAll(rc, desc)
	if err != nil {
		return nil, artifactErr("manifest %s: %v", desc.Digest, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, artifactErr("manifest %s: %v", desc.Digest, err)
	}
	if m.MediaType != "" && m.MediaType != ocispec.MediaTypeImageManifest {
		return nil, artifactErr("manifest %s says it is a %q", desc.Digest, m.MediaType)
	}
	return &m, nil
}

const bufSize = 1 << 20

// fetchFile streams one raw layer to path, verifying size and digest as it
// goes; a mismatch removes nothing itself (the caller discards the whole
// quarantine directory).
func fetchFile(ctx context.Context, src content.Fetcher, desc ocispec.Descriptor, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("oci: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("oci: %w", err)
	}
	defer f.Close()
	rc, err := src.Fetch(ctx, desc)
	if err != nil {
		return fmt.Errorf("oci: fetch %s: %w", desc.Digest, err)
	}
	defer rc.Close()
	vr := content.NewVerifyReader(rc, desc)
	// One pass: the digest is computed on the bytes as they go to the file.
	// (*os.File).ReadFrom copies through 32 KiB chunks that stay in the
	// CPU cache between the socket read, the hash and the write; 1 MiB
	// writes through a bufio.Writer measured no fewer CPU seconds and a
	// higher system time (bench/oci.sh, docs/transport.md).
	if _, err := io.Copy(f, vr); err != nil {
		return artifactErr("layer %s (%s): %v", desc.Digest, filepath.Base(path), err)
	}
	if err := vr.Verify(); err != nil {
		return artifactErr("layer %s (%s): %v", desc.Digest, filepath.Base(path), err)
	}
	return f.Close()
}

// fetchArchive streams a tar layer (KitOps, or ModelPack tar layers) and
// extracts its regular files under dir, verifying the layer's digest over
// the compressed bytes as they stream.
func fetchArchive(ctx context.Context, src content.Fetcher, desc ocispec.Descriptor, archive, dir string, b *budget) ([]string, error) {
	rc, err := src.Fetch(ctx, desc)
	if err != nil {
		return nil, fmt.Errorf("oci: fetch %s: %w", desc.Digest, err)
	}
	defer rc.Close()
	vr := content.NewVerifyReader(rc, desc)
	br := bufio.NewReaderSize(vr, bufSize)
	// cr counts the compressed bytes the decompressor consumed (for the
	// ratio), not what the buffer read ahead.
	cr := &countReader{r: br}
	r := &inflateReader{r: br, b: b, layer: desc.Digest.String()}
	switch archive {
	case "tar+gzip":
		zr, err := gzip.NewReader(cr)
		if err != nil {
			return nil, artifactErr("layer %s: %v", desc.Digest, err)
		}
		defer zr.Close()
		r.r, r.compressed = zr, cr
	case "tar+zstd":
		zr, err := zstd.NewReader(cr, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(256<<20))
		if err != nil {
			return nil, artifactErr("layer %s: %v", desc.Digest, err)
		}
		defer zr.Close()
		r.r, r.compressed = zr, cr
	}
	tr := tar.NewReader(r)
	var names []string
	buf := make([]byte, bufSize)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, layerErr(desc, err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
		if name != "" && name != "." {
			if err := b.member(); err != nil {
				return nil, err
			}
			if err := b.depth(name); err != nil {
				return nil, err
			}
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if name == "" || name == "." {
				continue
			}
			if err := transport.CheckName(name); err != nil {
				return nil, artifactErr("layer %s: entry %q refused", desc.Digest, h.Name)
			}
			if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(name)), 0o755); err != nil {
				return nil, fmt.Errorf("oci: %w", err)
			}
			continue
		case tar.TypeReg:
			if transport.SparseTar(h) {
				return nil, artifactErr("layer %s: entry %q is a sparse file", desc.Digest, h.Name)
			}
		default:
			return nil, artifactErr("layer %s: entry %q is not a regular file or directory (type %q)", desc.Digest, h.Name, h.Typeflag)
		}
		if err := transport.CheckName(name); err != nil || evidence.IsInside(name) {
			return nil, artifactErr("layer %s: entry %q refused", desc.Digest, h.Name)
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, fmt.Errorf("oci: %w", err)
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return nil, artifactErr("layer %s: entry %q: %v", desc.Digest, h.Name, err)
		}
		_, err = io.CopyBuffer(f, tr, buf)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, layerErr(desc, err)
		}
		names = append(names, name)
	}
	// The tar end is not the layer's end: read to it so that the digest
	// covers every byte.
	if _, err := io.Copy(io.Discard, br); err != nil {
		return nil, artifactErr("layer %s: %v", desc.Digest, err)
	}
	if err := vr.Verify(); err != nil {
		return nil, artifactErr("layer %s: %v", desc.Digest, err)
	}
	return names, nil
}

// readEvidence lists the Sigstore bundle referrers of desc and reads them.
// The list is not filtered by the registry: some registries report a
// referrer's config media type as its artifact type, so each referrer's
// own manifest decides. Without withClaims only the signatures are read:
// a referrer whose descriptor says it is a claim is skipped unread (a
// registry that mislabels a signature so only hides it, which fails
// closed), and a claim's bundle is never fetched.
func readEvidence(ctx context.Context, src Source, desc ocispec.Descriptor, p *Pulled, withClaims bool) error {
	var refs []ocispec.Descriptor
	err := src.Referrers(ctx, desc, "", func(rs []ocispec.Descriptor) error {
		refs = append(refs, rs...)
		if len(refs) > MaxReferrers {
			return artifactErr("more than %d referrers", MaxReferrers)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("oci: referrers of %s: %w", desc.Digest, err)
	}
	type claim struct {
		idx int
		ev  Evidence
	}
	var claims []claim
	for _, r := range refs {
		if r.MediaType != ocispec.MediaTypeImageManifest {
			continue // an index or another tool's referrer
		}
		if !withClaims && r.Annotations[annotationEvidenceRole] == evidenceRoleClaim {
			continue
		}
		m, err := fetchManifest(ctx, src, r)
		if err != nil {
			return err
		}
		if m.ArtifactType != mediaTypeSigstoreBundle {
			continue // another tool's referrer
		}
		if m.Subject == nil || m.Subject.Digest != desc.Digest {
			return artifactErr("referrer %s does not name %s as its subject", r.Digest, desc.Digest)
		}
		if len(m.Layers) != 1 || m.Layers[0].Size > MaxEvidenceBytes || m.Layers[0].Size < 0 {
			return artifactErr("referrer %s: want one bundle layer of at most %d bytes", r.Digest, MaxEvidenceBytes)
		}
		role := m.Annotations[annotationEvidenceRole]
		if !withClaims && role != "" && role != evidenceRoleSignature {
			continue
		}
		rc, err := src.Fetch(ctx, m.Layers[0])
		if err != nil {
			return fmt.Errorf("oci: fetch referrer %s: %w", r.Digest, err)
		}
		b, err := content.ReadAll(rc, m.Layers[0])
		rc.Close()
		if err != nil {
			return artifactErr("referrer %s: %v", r.Digest, err)
		}
		ev := Evidence{Referrer: r, Bundle: b}
		pt := m.Annotations[annotationPredicateType]
		if pt == "" {
			pt = predicateType(b)
		}
		if role == evidenceRoleSignature || (role == "" && strings.HasPrefix(pt, "https://model_signing/")) {
			p.Signatures = append(p.Signatures, ev)
			continue
		}
		if !withClaims {
			continue
		}
		idx, err := strconv.Atoi(m.Annotations[annotationClaimIndex])
		if err != nil {
			idx = MaxReferrers
		}
		claims = append(claims, claim{idx, ev})
	}
	slices.SortStableFunc(claims, func(a, b claim) int {
		return cmp.Or(cmp.Compare(a.idx, b.idx), strings.Compare(string(a.ev.Referrer.Digest), string(b.ev.Referrer.Digest)))
	})
	seen := map[string]bool{} // a claim pushed twice (two pushes of one manifest) is kept once
	for _, c := range claims {
		k := string(digest.FromBytes(c.ev.Bundle))
		if !seen[k] {
			seen[k] = true
			p.Claims = append(p.Claims, c.ev)
		}
	}
	return nil
}
