package oci_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"

	"github.com/mlsecops/mlsec/transport"

	"github.com/mlsecops/mlsec/transport/oci"
	"github.com/mlsecops/mlsec/transport/oci/ocitest"
)

// TestInspect: Inspect says what Pull would land — names, file digests,
// signatures — while fetching no layer and no claim bundle.
func TestInspect(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var gets []string
	reg := ocitest.StartReferrers(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet {
				mu.Lock()
				gets = append(gets, r.URL.Path)
				mu.Unlock()
			}
			h.ServeHTTP(w, r)
		})
	})
	repo := repoFor(t, reg, "team/model")
	res, _ := pushModel(t, repo)
	mu.Lock()
	gets = nil
	mu.Unlock()
	p, err := oci.Inspect(ctx, repo, res.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	inspected := gets
	mu.Unlock()
	pulled, err := oci.Pull(ctx, repo, res.Manifest, t.TempDir(), oci.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pulled.Digests, p.Digests); diff != "" {
		t.Errorf("digests (-pull +inspect):\n%s", diff)
	}
	if diff := cmp.Diff(pulled.Files, p.Files); diff != "" {
		t.Errorf("files (-pull +inspect):\n%s", diff)
	}
	if p.Name != "m" || !p.Dir || p.Format != "modelpack" || p.Archives || len(p.Claims) != 0 ||
		len(p.Signatures) != 1 || string(p.Signatures[0].Bundle) != `{"sig":1}` || p.Bytes != pulled.Bytes {
		t.Errorf("inspected %+v", p)
	}
	var blobs []string
	for _, g := range inspected {
		if _, d, ok := strings.Cut(g, "/blobs/"); ok {
			blobs = append(blobs, d)
		}
	}
	// The one blob read is the signature bundle.
	if len(blobs) != 1 || blobs[0] != digestOf([]byte(`{"sig":1}`)).String() {
		t.Errorf("Inspect read the blobs %v; want only the signature bundle", blobs)
	}
}

// TestInspectRefusesHostileManifest: Inspect refuses what Pull refuses,
// before any layer.
func TestInspectRefusesHostileManifest(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.StartReferrers(t, nil)
	repo := repoFor(t, reg, "m")
	ld := ocispec.Descriptor{MediaType: oci.MediaTypeWeightRaw, Digest: digestOf([]byte("x")), Size: 1}
	for name, c := range map[string]struct {
		layers    []map[string]string
		mediaType string
	}{
		"traversal":       {layers: []map[string]string{{oci.AnnotationFilepath: "../evil"}}},
		"evidence name":   {layers: []map[string]string{{oci.AnnotationFilepath: "model.sig"}}},
		"duplicate":       {layers: []map[string]string{{oci.AnnotationFilepath: "a"}, {oci.AnnotationFilepath: "a"}}},
		"no layer":        {},
		"unknown layer":   {layers: []map[string]string{{oci.AnnotationFilepath: "a"}}, mediaType: "application/x-unknown"},
		"docker manifest": {layers: []map[string]string{{oci.AnnotationFilepath: "a"}}},
	} {
		t.Run(name, func(t *testing.T) {
			m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: oci.ArtifactTypeModel, Config: ocispec.DescriptorEmptyJSON}
			m.SchemaVersion = 2
			for _, ann := range c.layers {
				l := ld
				l.Annotations = ann
				if c.mediaType != "" {
					l.MediaType = c.mediaType
				}
				m.Layers = append(m.Layers, l)
			}
			mt := ocispec.MediaTypeImageManifest
			if name == "docker manifest" {
				mt = "application/vnd.docker.distribution.manifest.v2+json"
				m.MediaType = mt
			}
			b, _ := json.Marshal(m)
			desc := ocispec.Descriptor{MediaType: mt, Digest: digestOf(b), Size: int64(len(b))}
			if err := repo.PushReference(ctx, desc, bytes.NewReader(b), "t"); err != nil {
				t.Fatal(err)
			}
			if _, err := oci.Inspect(ctx, repo, desc); !errors.Is(err, oci.ErrArtifact) {
				t.Fatalf("err %v, want ErrArtifact", err)
			}
		})
	}
	// A manifest over the size limit is refused before it is fetched.
	big := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digestOf([]byte("big")), Size: oci.MaxManifestBytes + 1}
	if _, err := oci.Inspect(ctx, repo, big); !errors.Is(err, oci.ErrArtifact) {
		t.Fatalf("oversized manifest: %v", err)
	}
}

// oneManifest serves one manifest's bytes and nothing else, with no
// referrers: the fuzz target exercises Inspect's parsing, not a registry.
type oneManifest struct {
	desc ocispec.Descriptor
	b    []byte
}

func (o oneManifest) Fetch(_ context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
	if d.Digest != o.desc.Digest {
		return nil, errdef.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(o.b)), nil
}

func (o oneManifest) Referrers(context.Context, ocispec.Descriptor, string, func([]ocispec.Descriptor) error) error {
	return nil
}

// FuzzInspect: any manifest bytes give an answer, never a panic; what
// Inspect accepts names only clean paths, each layer once, with a digest
// for every raw layer of sha256.
func FuzzInspect(f *testing.F) {
	layer := func(name, mt string) map[string]any {
		return map[string]any{"mediaType": mt, "digest": digestOf([]byte(name)).String(), "size": 1,
			"annotations": map[string]string{oci.AnnotationFilepath: name}}
	}
	for _, layers := range [][]map[string]any{
		{layer("model.safetensors", oci.MediaTypeWeightRaw), layer("config.json", oci.MediaTypeWeightConfigRaw)},
		{layer("../x", oci.MediaTypeWeightRaw)},
		{layer("a", "application/vnd.oci.image.layer.v1.tar+gzip")},
		{layer("a", oci.MediaTypeWeightRaw), layer("a", oci.MediaTypeWeightRaw)},
	} {
		b, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": ocispec.MediaTypeImageManifest,
			"artifactType": oci.ArtifactTypeModel, "config": ocispec.DescriptorEmptyJSON, "layers": layers,
			"annotations": map[string]string{"dev.mlsec.artifact.name": "m"}})
		f.Add(b)
	}
	f.Add([]byte(`{"layers":[{"digest":"sha256:zz","size":-1}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digestOf(b), Size: int64(len(b))}
		p, err := oci.Inspect(context.Background(), oneManifest{desc, b}, desc)
		if err != nil {
			return
		}
		if len(p.Files)+btoi(p.Archives) == 0 || len(p.Signatures) != 0 || len(p.Claims) != 0 {
			t.Fatalf("accepted %s as %+v", b, p)
		}
		seen := map[string]bool{}
		for _, name := range p.Files {
			if transport.CheckName(name) != nil || seen[name] {
				t.Fatalf("accepted file name %q of %s", name, b)
			}
			seen[name] = true
		}
		for name, sum := range p.Digests {
			if !seen[name] || len(sum) != 32 {
				t.Fatalf("digest of %q (%x) in %s", name, sum, b)
			}
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
