package oci_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/mlsecops/mlsec/transport/oci"
	"github.com/mlsecops/mlsec/transport/oci/ocitest"
)

type tarEntry struct {
	hdr  tar.Header
	body string
}

func tgz(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := e.hdr
		h.Size = int64(len(e.body))
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body))
	}
	tw.Close()
	zw.Close()
	return b.Bytes()
}

func reg(name, body string) tarEntry {
	return tarEntry{tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644}, body}
}

// pushModelKit pushes a manifest shaped like a KitOps ModelKit: a Kitfile
// config and gzip tar layers titled with their paths.
func pushModelKit(t *testing.T, repo *remote.Repository, layers ...[]byte) ocispec.Descriptor {
	t.Helper()
	ctx := context.Background()
	cfg := []byte(`{"manifestVersion":"1.0.0","package":{"name":"tiny"},"model":{"path":"model.safetensors"}}`)
	cdesc := ocispec.Descriptor{MediaType: "application/vnd.kitops.modelkit.config.v1+json", Digest: digestOf(cfg), Size: int64(len(cfg))}
	if err := repo.Push(ctx, cdesc, bytes.NewReader(cfg)); err != nil {
		t.Fatal(err)
	}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cdesc}
	m.SchemaVersion = 2
	for i, l := range layers {
		mt := "application/vnd.kitops.modelkit.model.v1.tar+gzip"
		if i > 0 {
			mt = "application/vnd.kitops.modelkit.docs.v1.tar+gzip"
		}
		d := ocispec.Descriptor{MediaType: mt, Digest: digestOf(l), Size: int64(len(l)), Annotations: map[string]string{ocispec.AnnotationTitle: "layer"}}
		if err := repo.Push(ctx, d, bytes.NewReader(l)); err != nil {
			t.Fatal(err)
		}
		m.Layers = append(m.Layers, d)
	}
	b, _ := json.Marshal(m)
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digestOf(b), Size: int64(len(b))}
	if err := repo.PushReference(ctx, desc, bytes.NewReader(b), "kit"); err != nil {
		t.Fatal(err)
	}
	return desc
}

func TestPullModelKit(t *testing.T) {
	repo := repoFor(t, ocitest.StartReferrers(t, nil), "kit")
	desc := pushModelKit(t, repo,
		tgz(t, reg("model.safetensors", "weights"), tarEntry{tar.Header{Typeflag: tar.TypeDir, Name: "sub/", Mode: 0o755}, ""}, reg("sub/config.json", "{}")),
		tgz(t, reg("README.md", "# tiny")))
	dir := t.TempDir()
	p, err := oci.Pull(context.Background(), repo, desc, dir, oci.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Format != "kitops" || !p.Archives {
		t.Errorf("pulled %+v", p)
	}
	want := map[string]string{"model.safetensors": "weights", "sub/config.json": "{}", "README.md": "# tiny"}
	if diff := cmp.Diff(want, readTree(t, dir)); diff != "" {
		t.Errorf("extracted (-want +got):\n%s", diff)
	}
}

func TestPullModelKitHostileTar(t *testing.T) {
	for name, layer := range map[string][]tarEntry{
		"traversal": {reg("../evil", "x")},
		"absolute":  {reg("/etc/evil", "x")},
		"symlink":   {{tar.Header{Typeflag: tar.TypeSymlink, Name: "l", Linkname: "/etc/passwd"}, ""}},
		"hardlink":  {reg("a", "x"), {tar.Header{Typeflag: tar.TypeLink, Name: "b", Linkname: "a"}, ""}},
		"duplicate": {reg("a", "x"), reg("a", "y")},
	} {
		t.Run(name, func(t *testing.T) {
			repo := repoFor(t, ocitest.StartReferrers(t, nil), "kit")
			desc := pushModelKit(t, repo, tgz(t, layer...))
			dir := t.TempDir()
			_, err := oci.Pull(context.Background(), repo, desc, dir, oci.PullOptions{})
			if !errors.Is(err, oci.ErrArtifact) {
				t.Fatalf("err %v, want ErrArtifact", err)
			}
			if _, serr := os.Stat(dir + "/../evil"); serr == nil {
				t.Fatal("wrote outside the destination")
			}
		})
	}
}

// sparseTgz is a gzip tar layer holding one PAX sparse entry of a few
// bytes that declares 1 TiB (2^40) of holes: archive/tar would expand it
// into zeros. archive/tar refuses to write such headers, so they are
// written by hand.
func sparseTgz(t *testing.T) []byte {
	t.Helper()
	header := func(typ byte, name string, n int64) []byte {
		var b bytes.Buffer
		if err := tar.NewWriter(&b).WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: n, Mode: 0o644, Format: tar.FormatUSTAR}); err != nil {
			t.Fatal(err)
		}
		h := append([]byte(nil), b.Bytes()[:512]...)
		h[156] = typ
		copy(h[148:156], "        ")
		var sum int64
		for _, c := range h {
			sum += int64(c)
		}
		copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
		return h
	}
	pad := func(b []byte) []byte { return append(b, make([]byte, (512-len(b)%512)%512)...) }
	rec := func(k, v string) string {
		r := " " + k + "=" + v + "\n"
		for n := len(r); ; {
			s := fmt.Sprintf("%d%s", n, r)
			if len(s) == n {
				return s
			}
			n = len(s)
		}
	}
	pax := rec("GNU.sparse.major", "1") + rec("GNU.sparse.minor", "0") + rec("GNU.sparse.name", "model.safetensors") + rec("GNU.sparse.realsize", "1099511627776")
	raw := append(header('x', "PaxHeaders/m", int64(len(pax))), pad([]byte(pax))...)
	sparseMap := pad([]byte("1\n1099511627775\n1\n"))
	raw = append(raw, header('0', "model.safetensors", int64(len(sparseMap))+1)...)
	raw = append(append(raw, sparseMap...), pad([]byte("z"))...)
	raw = append(raw, make([]byte, 1024)...)
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(raw)
	zw.Close()
	return b.Bytes()
}

func TestPullModelKitSparseRefused(t *testing.T) {
	repo := repoFor(t, ocitest.StartReferrers(t, nil), "kit")
	desc := pushModelKit(t, repo, sparseTgz(t))
	_, err := oci.Pull(context.Background(), repo, desc, t.TempDir(), oci.PullOptions{})
	if !errors.Is(err, oci.ErrArtifact) || !strings.Contains(err.Error(), "sparse") {
		t.Fatalf("err %v, want the sparse entry refused", err)
	}
}
