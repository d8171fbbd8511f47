package oci

import (
	"path"
	"strings"
)

// CNCF ModelPack media types and annotations (github.com/modelpack/model-spec,
// v1): a model is an OCI image manifest with this artifact type, a model
// config, and one layer per file.
const (
	ArtifactTypeModel        = "application/vnd.cncf.model.manifest.v1+json"
	MediaTypeModelConfig     = "application/vnd.cncf.model.config.v1+json"
	MediaTypeWeightRaw       = "application/vnd.cncf.model.weight.v1.raw"
	MediaTypeWeightConfigRaw = "application/vnd.cncf.model.weight.config.v1.raw"
	MediaTypeDocRaw          = "application/vnd.cncf.model.doc.v1.raw"
	MediaTypeCodeRaw         = "application/vnd.cncf.model.code.v1.raw"
	AnnotationFilepath       = "org.cncf.model.filepath"
	AnnotationFilepathV0     = "org.cnai.model.filepath" // before the CNCF rename
	annotationTitle          = "org.opencontainers.image.title"
	modelPackPrefix          = "application/vnd.cncf.model."
	modelPackPrefixV0        = "application/vnd.cnai.model."
	mediaTypeOCILayerTar     = "application/vnd.oci.image.layer.v1.tar"
	mediaTypeOCILayerTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
	mediaTypeOCILayerTarZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
	mediaTypeKitOpsConfig    = "application/vnd.kitops.modelkit.config.v1+json"
	kitOpsPrefix             = "application/vnd.kitops.modelkit."
	mediaTypeSigstoreBundle  = "application/vnd.dev.sigstore.bundle.v0.3+json"
	annotationPredicateType  = "dev.sigstore.bundle.predicateType"
	annotationEvidenceRole   = "dev.mlsec.evidence.role"
	annotationClaimIndex     = "dev.mlsec.claims.index"
	annotationArtifactName   = "dev.mlsec.artifact.name"
	annotationArtifactKind   = "dev.mlsec.artifact.kind"
	predicateModelSignature  = "https://model_signing/signature/v1.0"
	evidenceRoleSignature    = "signature"
	evidenceRoleClaim        = "claim"
	artifactKindFile         = "file"
	artifactKindDirectory    = "directory"
)

// layerMediaType classifies a model file for its ModelPack layer media type.
func layerMediaType(name string) string {
	base := strings.ToLower(path.Base(name))
	ext := path.Ext(base)
	switch {
	case strings.HasPrefix(base, "readme") || strings.HasPrefix(base, "license") || ext == ".md":
		return MediaTypeDocRaw
	case ext == ".py" || ext == ".ipynb" || ext == ".sh":
		return MediaTypeCodeRaw
	case ext == ".json" || ext == ".yaml" || ext == ".yml" || ext == ".txt" || ext == ".jinja" ||
		strings.HasPrefix(base, "tokenizer") || base == "vocab.txt" || base == "merges.txt":
		return MediaTypeWeightConfigRaw
	}
	return MediaTypeWeightRaw
}

// layerArchive says how a layer's bytes hold its files: "" for one raw
// file, else "tar", "tar+gzip" or "tar+zstd".
func layerArchive(mediaType string) (string, bool) {
	switch {
	case strings.HasSuffix(mediaType, ".raw"):
		return "", true
	case strings.HasSuffix(mediaType, ".tar"):
		return "tar", true
	case strings.HasSuffix(mediaType, ".tar+gzip"):
		return "tar+gzip", true
	case strings.HasSuffix(mediaType, ".tar+zstd"):
		return "tar+zstd", true
	}
	return "", false
}
