package oci_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/mlsecops/mlsec/transport/oci"
	"github.com/mlsecops/mlsec/transport/oci/ocitest"
)

// tzst is a zstd tar layer of the entries.
func tzst(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, e := range entries {
		h := e.hdr
		h.Size = int64(len(e.body))
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body))
	}
	tw.Close()
	zw, _ := zstd.NewWriter(nil)
	return zw.EncodeAll(tb.Bytes(), nil)
}

// pushLayers pushes a generic OCI manifest with the given layers (media
// type, bytes, title) to the real registry.
func pushLayers(t *testing.T, repo *remote.Repository, layers ...ocispec.Descriptor) ocispec.Descriptor {
	t.Helper()
	ctx := context.Background()
	cfg := []byte("{}")
	cdesc := ocispec.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: digestOf(cfg), Size: 2}
	if err := repo.Push(ctx, cdesc, bytes.NewReader(cfg)); err != nil {
		t.Fatal(err)
	}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cdesc, Layers: layers}
	m.SchemaVersion = 2
	b, _ := json.Marshal(m)
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digestOf(b), Size: int64(len(b))}
	if err := repo.PushReference(ctx, desc, bytes.NewReader(b), "hostile"); err != nil {
		t.Fatal(err)
	}
	return desc
}

func layer(t *testing.T, repo *remote.Repository, mediaType string, data []byte) ocispec.Descriptor {
	t.Helper()
	d := ocispec.Descriptor{MediaType: mediaType, Digest: digestOf(data), Size: int64(len(data)), Annotations: map[string]string{ocispec.AnnotationTitle: "layer"}}
	if err := repo.Push(context.Background(), d, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	return d
}

func treeSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// Hostile tar layers served by the real registry (docker-registry) are
// refused by the pull's limits before any signature is checked, with the
// limit named, and little is written: gzip and zstd bombs (max_ratio),
// a layer inflating past max_inflated_bytes, too many entries
// (max_inflated_members), too deep a path (max_depth), raw layers
// declaring more than max_inflated_bytes.
func TestPullLimits(t *testing.T) {
	srv := ocitest.StartDistribution(t)
	zeros := strings.Repeat("\x00", 64<<20)
	many := make([]tarEntry, 11)
	for i := range many {
		many[i] = reg(fmt.Sprintf("f%02d", i), "x")
	}
	cases := []struct {
		name      string
		mediaType string
		data      func(t *testing.T) []byte
		lim       oci.Limits
		want      string
		maxOut    int64
	}{
		{"gzip bomb", "application/vnd.oci.image.layer.v1.tar+gzip", func(t *testing.T) []byte { return tgz(t, reg("w.bin", zeros)) }, oci.Limits{}, oci.LimitMaxRatio, 8 << 20},
		{"zstd bomb", "application/vnd.oci.image.layer.v1.tar+zstd", func(t *testing.T) []byte { return tzst(t, reg("w.bin", zeros)) }, oci.Limits{}, oci.LimitMaxRatio, 8 << 20},
		{"kitops gzip bomb", "application/vnd.kitops.modelkit.model.v1.tar+gzip", func(t *testing.T) []byte { return tgz(t, reg("w.bin", zeros)) }, oci.Limits{}, oci.LimitMaxRatio, 8 << 20},
		{"inflated bytes", "application/vnd.oci.image.layer.v1.tar+gzip", func(t *testing.T) []byte { return tgz(t, reg("w.bin", zeros[:3<<20])) }, oci.Limits{MaxInflatedBytes: 1 << 20}, oci.LimitMaxInflatedBytes, 2 << 20},
		{"plain tar bytes", "application/vnd.oci.image.layer.v1.tar", func(t *testing.T) []byte { return tarOf(t, reg("w.bin", zeros[:3<<20])) }, oci.Limits{MaxInflatedBytes: 1 << 20}, oci.LimitMaxInflatedBytes, 2 << 20},
		{"too many members", "application/vnd.oci.image.layer.v1.tar+gzip", func(t *testing.T) []byte { return tgz(t, many...) }, oci.Limits{MaxInflatedMembers: 10}, oci.LimitMaxInflatedMembers, 10},
		{"too deep", "application/vnd.oci.image.layer.v1.tar+gzip", func(t *testing.T) []byte { return tgz(t, reg("a/b/c/d/e", "x")) }, oci.Limits{MaxDepth: 4}, oci.LimitMaxDepth, 0},
		{"raw layers declare too much", "application/vnd.cncf.model.weight.v1.raw", func(t *testing.T) []byte { return []byte(zeros[:2<<20]) }, oci.Limits{MaxInflatedBytes: 1 << 20}, oci.LimitMaxInflatedBytes, 0},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			repo := repoFor(t, srv, fmt.Sprintf("limits%d", i))
			desc := pushLayers(t, repo, layer(t, repo, tc.mediaType, tc.data(t)))
			dir := t.TempDir()
			_, err := oci.Pull(context.Background(), repo, desc, dir, oci.PullOptions{Limits: tc.lim})
			if !errors.Is(err, oci.ErrArtifact) || !strings.Contains(err.Error(), "limit "+tc.want) {
				t.Fatalf("err %v, want ErrArtifact naming %s", err, tc.want)
			}
			if n := treeSize(t, dir); n > tc.maxOut {
				t.Errorf("%d bytes written before the refusal, want at most %d", n, tc.maxOut)
			}
		})
	}
}

func tarOf(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := e.hdr
		h.Size = int64(len(e.body))
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body))
	}
	tw.Close()
	return b.Bytes()
}

// A pull within the limits is not disturbed by them: a real layer of
// incompressible-looking content and a small tar pass.
func TestPullWithinLimits(t *testing.T) {
	srv := ocitest.StartDistribution(t)
	repo := repoFor(t, srv, "ok")
	desc := pushLayers(t, repo, layer(t, repo, "application/vnd.oci.image.layer.v1.tar+gzip", tgz(t, reg("a/b.json", "{}"), reg("c.bin", "weights"))))
	dir := t.TempDir()
	p, err := oci.Pull(context.Background(), repo, desc, dir, oci.PullOptions{Limits: oci.Limits{MaxInflatedMembers: 2, MaxDepth: 2}})
	if err != nil || len(p.Files) != 2 {
		t.Fatalf("pull: %v %+v", err, p)
	}
}
