package oci_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/mlsecops/mlsec/transport"
	"github.com/mlsecops/mlsec/transport/oci"
	"github.com/mlsecops/mlsec/transport/oci/ocitest"
)

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	got := map[string]string{}
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		got[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	return got
}

func repoFor(t testing.TB, r *ocitest.Registry, name string) *remote.Repository {
	t.Helper()
	ref, err := oci.ParseReference("oci://" + r.Host + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := oci.NewRepository(ref, oci.Options{PlainHTTP: r.PlainHTTP, CAFile: r.CAFile, RegistryConfig: filepath.Join(t.TempDir(), "none.json")})
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

// claimLine is a DSSE bundle line as mlsec attest writes them (unsigned
// here: this package moves evidence, internal/cli verifies it).
func claimLine(predicate string) string {
	st := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","predicateType":%q}`, predicate)
	b, _ := json.Marshal(map[string]any{"dsseEnvelope": map[string]any{"payload": []byte(st), "payloadType": "application/vnd.in-toto+json"}})
	return string(b)
}

var model = map[string]string{
	"model.safetensors":   strings.Repeat("w", 300_000),
	"config.json":         "{}",
	"tokenizer/vocab.txt": "a\nb\n",
	"README.md":           "# m",
}

func pushModel(t *testing.T, repo *remote.Repository) (*oci.PushResult, string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "m")
	writeTree(t, src, model)
	writeTree(t, src, map[string]string{
		"model.sig":    `{"sig":1}`,
		"claims.jsonl": claimLine("https://slsa.dev/provenance/v1") + "\n" + claimLine("https://cyclonedx.org/bom") + "\n" + claimLine("https://slsa.dev/verification_summary/v1") + "\n",
	})
	a, err := transport.Collect(src)
	if err != nil {
		t.Fatal(err)
	}
	res, err := oci.Push(context.Background(), repo, "v1", a, oci.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res, src
}

func TestPushPull(t *testing.T) {
	for name, start := range map[string]func(testing.TB) *ocitest.Registry{
		"distribution-tls-tag-schema": ocitest.StartDistribution,
		"referrers-api":               func(t testing.TB) *ocitest.Registry { return ocitest.StartReferrers(t, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			reg := start(t)
			repo := repoFor(t, reg, "team/model")
			res, _ := pushModel(t, repo)
			if len(res.Layers) != 4 || len(res.Referrers) != 4 {
				t.Fatalf("pushed %d layers, %d referrers", len(res.Layers), len(res.Referrers))
			}
			desc, err := repo.Resolve(ctx, "v1")
			if err != nil || desc.Digest != res.Manifest.Digest {
				t.Fatalf("resolve v1: %v %v", desc.Digest, err)
			}
			// Which referrers mechanism was used shows in the fallback tag.
			_, terr := repo.Resolve(ctx, "sha256-"+res.Manifest.Digest.Encoded())
			if strings.HasPrefix(name, "distribution") && terr != nil {
				t.Errorf("no referrers tag on a registry without the referrers API: %v", terr)
			}
			if strings.HasPrefix(name, "referrers") && terr == nil {
				t.Errorf("referrers tag written although the registry has the referrers API")
			}
			dir := t.TempDir()
			p, err := oci.Pull(ctx, repo, desc, dir, oci.PullOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(model, readTree(t, dir)); diff != "" {
				t.Errorf("pulled files (-want +got):\n%s", diff)
			}
			if p.Format != "modelpack" || !p.Dir || p.Name != "m" {
				t.Errorf("pulled %+v", p)
			}
			if len(p.Signatures) != 1 || string(p.Signatures[0].Bundle) != `{"sig":1}` {
				t.Errorf("signatures %v", p.Signatures)
			}
			var order []string
			for _, c := range p.Claims {
				order = append(order, predicateOf(c.Bundle))
			}
			want := []string{"https://slsa.dev/provenance/v1", "https://cyclonedx.org/bom", "https://slsa.dev/verification_summary/v1"}
			if diff := cmp.Diff(want, order); diff != "" {
				t.Errorf("claims order (-want +got):\n%s", diff)
			}
			// The manifest is a ModelPack manifest.
			rc, _ := repo.Fetch(ctx, desc)
			var m ocispec.Manifest
			json.NewDecoder(rc).Decode(&m)
			rc.Close()
			if m.ArtifactType != oci.ArtifactTypeModel || m.Config.MediaType != oci.MediaTypeModelConfig {
				t.Errorf("manifest %s / %s", m.ArtifactType, m.Config.MediaType)
			}
			types := map[string]string{}
			for _, l := range m.Layers {
				types[l.Annotations[oci.AnnotationFilepath]] = l.MediaType
			}
			wantTypes := map[string]string{
				"model.safetensors": oci.MediaTypeWeightRaw, "config.json": oci.MediaTypeWeightConfigRaw,
				"tokenizer/vocab.txt": oci.MediaTypeWeightConfigRaw, "README.md": oci.MediaTypeDocRaw,
			}
			if diff := cmp.Diff(wantTypes, types); diff != "" {
				t.Errorf("layer media types (-want +got):\n%s", diff)
			}
		})
	}
}

// A known digest that does not match the file (a model changed since it
// was signed) is refused by the registry itself.
func TestPushKnownDigestMismatch(t *testing.T) {
	for name, start := range map[string]func(testing.TB) *ocitest.Registry{
		"distribution":  ocitest.StartDistribution,
		"referrers-api": func(t testing.TB) *ocitest.Registry { return ocitest.StartReferrers(t, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			repo := repoFor(t, start(t), "m")
			src := filepath.Join(t.TempDir(), "m")
			writeTree(t, src, map[string]string{"w.bin": "actual bytes"})
			a, _ := transport.Collect(src)
			right := sha256.Sum256([]byte("actual bytes"))
			wrong := sha256.Sum256([]byte("signed bytes"))
			if _, err := oci.Push(context.Background(), repo, "ok", a, oci.PushOptions{KnownDigests: map[string][]byte{"w.bin": right[:]}}); err != nil {
				t.Fatalf("push with the right known digest: %v", err)
			}
			repo2 := repoFor(t, start(t), "m")
			_, err := oci.Push(context.Background(), repo2, "bad", a, oci.PushOptions{KnownDigests: map[string][]byte{"w.bin": wrong[:]}})
			if err == nil || !strings.Contains(err.Error(), "still match its signature") {
				t.Fatalf("push with a stale known digest: %v", err)
			}
		})
	}
}

func predicateOf(bundle []byte) string {
	var b struct {
		DSSE struct {
			Payload []byte `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	json.Unmarshal(bundle, &b)
	var st struct {
		PredicateType string `json:"predicateType"`
	}
	json.Unmarshal(b.DSSE.Payload, &st)
	return st.PredicateType
}

// corrupt flips one byte of every blob GET response for the digest.
func corrupt(dgst string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+dgst) {
				next.ServeHTTP(w, r)
				return
			}
			rec := &recorder{header: http.Header{}}
			next.ServeHTTP(rec, r)
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			b := rec.body.Bytes()
			if len(b) > 0 {
				b[len(b)/2] ^= 1
			}
			w.WriteHeader(rec.code)
			w.Write(b)
		})
	}
}

type recorder struct {
	header http.Header
	body   bytes.Buffer
	code   int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(c int)           { r.code = c }

func TestPullRefusesBadContent(t *testing.T) {
	ctx := context.Background()
	// A layer whose bytes do not match its digest.
	var target string
	reg := ocitest.StartReferrers(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if target != "" {
				corrupt(target)(next).ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	repo := repoFor(t, reg, "m")
	res, _ := pushModel(t, repo)
	for _, l := range res.Layers {
		if l.Annotations[oci.AnnotationFilepath] == "model.safetensors" {
			target = l.Digest.String()
		}
	}
	_, err := oci.Pull(ctx, repo, res.Manifest, t.TempDir(), oci.PullOptions{})
	if !errors.Is(err, oci.ErrArtifact) || !strings.Contains(err.Error(), "digest") {
		t.Fatalf("corrupt layer: %v", err)
	}

	// A manifest over the size limit.
	big := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: ocispec.DescriptorEmptyJSON,
		Layers: res.Layers, Annotations: map[string]string{"pad": strings.Repeat("x", oci.MaxManifestBytes)}}
	big.SchemaVersion = 2
	b, _ := json.Marshal(big)
	reg2 := ocitest.StartReferrers(t, nil)
	repo2 := repoFor(t, reg2, "m")
	repo2.MaxMetadataBytes = 64 << 20 // let the test push it
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digestOf(b), Size: int64(len(b))}
	if err := repo2.PushReference(ctx, desc, bytes.NewReader(b), "big"); err != nil {
		t.Fatal(err)
	}
	_, err = oci.Pull(ctx, repo2, desc, t.TempDir(), oci.PullOptions{})
	if !errors.Is(err, oci.ErrArtifact) || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("big manifest: %v", err)
	}
}

// Hostile manifests: names leaving the destination, duplicates.
func TestPullRefusesHostileManifest(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.StartReferrers(t, nil)
	repo := repoFor(t, reg, "m")
	blob := []byte("x")
	ld := ocispec.Descriptor{MediaType: oci.MediaTypeWeightRaw, Digest: digestOf(blob), Size: 1}
	if err := repo.Push(ctx, ld, bytes.NewReader(blob)); err != nil {
		t.Fatal(err)
	}
	for name, layers := range map[string][]map[string]string{
		"traversal": {{oci.AnnotationFilepath: "../evil"}},
		"absolute":  {{oci.AnnotationFilepath: "/etc/evil"}},
		"no name":   {{}},
		"duplicate": {{oci.AnnotationFilepath: "a"}, {oci.AnnotationFilepath: "a"}},
	} {
		t.Run(name, func(t *testing.T) {
			m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: oci.ArtifactTypeModel, Config: ocispec.DescriptorEmptyJSON}
			m.SchemaVersion = 2
			for _, ann := range layers {
				l := ld
				l.Annotations = ann
				m.Layers = append(m.Layers, l)
			}
			b, _ := json.Marshal(m)
			desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digestOf(b), Size: int64(len(b))}
			if err := repo.PushReference(ctx, desc, bytes.NewReader(b), "t"); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			_, err := oci.Pull(ctx, repo, desc, dir, oci.PullOptions{})
			if !errors.Is(err, oci.ErrArtifact) {
				t.Fatalf("err %v", err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("wrote %v", ents)
			}
		})
	}
}

var _ = io.EOF

// TestPullRefusesReferrerForAnotherSubject: on a registry without the
// referrers API anyone who can write tags can put a manifest into the
// referrers tag index of a model; one that names another subject (evidence
// borrowed from another model) refuses the pull instead of being used.
func TestPullRefusesReferrerForAnotherSubject(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.StartDistribution(t)
	repo := repoFor(t, reg, "team/model")
	res, _ := pushModel(t, repo)
	// A copy of the model's signature referrer naming another manifest.
	rc, err := repo.Fetch(ctx, res.Referrers[0])
	if err != nil {
		t.Fatal(err)
	}
	var m ocispec.Manifest
	if err := json.NewDecoder(rc).Decode(&m); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	other := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`)
	od := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digestOf(other), Size: int64(len(other))}
	if err := repo.PushReference(ctx, od, bytes.NewReader(other), "other"); err != nil {
		t.Fatal(err)
	}
	m.Subject = &od
	b, _ := json.Marshal(m)
	bd := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: m.ArtifactType, Digest: digestOf(b), Size: int64(len(b))}
	if err := repo.PushReference(ctx, bd, bytes.NewReader(b), "borrowed"); err != nil {
		t.Fatal(err)
	}
	// Put it into the model's referrers tag index.
	tag := "sha256-" + res.Manifest.Digest.Encoded()
	id, err := repo.Resolve(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	rc, err = repo.Fetch(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	if err := json.NewDecoder(rc).Decode(&idx); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	idx.Manifests = append([]ocispec.Descriptor{bd}, idx.Manifests...)
	ib, _ := json.Marshal(idx)
	nd := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digestOf(ib), Size: int64(len(ib))}
	if err := repo.PushReference(ctx, nd, bytes.NewReader(ib), tag); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	_, err = oci.Pull(ctx, repo, res.Manifest, dir, oci.PullOptions{})
	if !errors.Is(err, oci.ErrArtifact) || !strings.Contains(err.Error(), "does not name") {
		t.Fatalf("err %v, want the foreign referrer refused", err)
	}
}

// A push that fails for another reason (here HTTPS to a plain-HTTP
// registry) does not blame the model's signature.
func TestPushKnownDigestTransportError(t *testing.T) {
	reg := ocitest.StartReferrers(t, nil)
	reg.PlainHTTP = false
	repo := repoFor(t, reg, "m")
	src := filepath.Join(t.TempDir(), "m")
	writeTree(t, src, map[string]string{"w.bin": "actual bytes"})
	a, _ := transport.Collect(src)
	right := sha256.Sum256([]byte("actual bytes"))
	_, err := oci.Push(context.Background(), repo, "x", a, oci.PushOptions{KnownDigests: map[string][]byte{"w.bin": right[:]}})
	if err == nil || strings.Contains(err.Error(), "signature") {
		t.Fatalf("err %v, want a transport error that does not mention the signature", err)
	}
}
