package oci

import (
	"cmp"
	"context"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Inspect reads what Pull would check before fetching any layer: the
// manifest desc (size-capped, an OCI image manifest, its bytes matching
// the digest), what its layers hold (names, and for raw layers the file
// digests, which are the layer digests) and the OMS signature referrers.
// It fetches no layer and no claim: the result's Files, Digests, Archives,
// Bytes and Signatures are set, Claims is empty. The layer limits are
// DefaultLimits'. Content that fails a check wraps ErrArtifact; anything
// else is the registry's (network, authentication, not found).
func Inspect(ctx context.Context, src Source, desc ocispec.Descriptor) (*Pulled, error) {
	m, err := fetchManifest(ctx, src, desc)
	if err != nil {
		return nil, err
	}
	p, _, err := planLayers(desc, m, newBudget(Limits{}))
	if err != nil {
		return nil, err
	}
	if p.Name == "" {
		p.Name = cmp.Or(m.Annotations[ocispec.AnnotationTitle], "model")
	}
	if err := readEvidence(ctx, src, desc, p, false); err != nil {
		return nil, err
	}
	return p, nil
}
