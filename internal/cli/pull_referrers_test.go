package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/mlsecops/mlsec/transport/oci"
	"github.com/mlsecops/mlsec/transport/oci/ocitest"
)

// evidenceRef is one evidence referrer as the registry holds it.
type evidenceRef struct {
	desc ocispec.Descriptor
	m    ocispec.Manifest
	role string
}

func registryRepo(t *testing.T, reg *ocitest.Registry, name string) *remote.Repository {
	t.Helper()
	ref, err := oci.ParseReference("oci://" + reg.Host + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := oci.NewRepository(ref, oci.Options{PlainHTTP: reg.PlainHTTP, CAFile: reg.CAFile, RegistryConfig: filepath.Join(t.TempDir(), "none.json")})
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

func evidenceOf(t *testing.T, repo *remote.Repository, subject ocispec.Descriptor) []evidenceRef {
	t.Helper()
	ctx := context.Background()
	var out []evidenceRef
	err := repo.Referrers(ctx, subject, "", func(rs []ocispec.Descriptor) error {
		for _, r := range rs {
			b, err := content.FetchAll(ctx, repo, r)
			if err != nil {
				return err
			}
			var m ocispec.Manifest
			if err := json.Unmarshal(b, &m); err != nil {
				return err
			}
			out = append(out, evidenceRef{r, m, m.Annotations["dev.mlsec.evidence.role"]})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func roleOf(t *testing.T, evs []evidenceRef, role string) evidenceRef {
	t.Helper()
	for _, e := range evs {
		if e.role == role {
			return e
		}
	}
	t.Fatalf("no %s referrer among %d", role, len(evs))
	return evidenceRef{}
}

// attach pushes a copy of an evidence referrer with subject as its
// subject: what a registry operator can do with any evidence it holds.
func attach(t *testing.T, repo *remote.Repository, e evidenceRef, subject ocispec.Descriptor) {
	t.Helper()
	m := e.m
	m.Subject = &subject
	b, _ := json.Marshal(m)
	d := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(b), Size: int64(len(b)), ArtifactType: m.ArtifactType, Annotations: m.Annotations}
	if err := repo.Push(context.Background(), d, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
}

// detach rewrites the referrers tag schema index of subject without the
// referrers drop matches (docker-registry has no referrers API).
func detach(t *testing.T, repo *remote.Repository, subject ocispec.Descriptor, drop func(ocispec.Descriptor) bool) {
	t.Helper()
	ctx := context.Background()
	tag := "sha256-" + subject.Digest.Encoded()
	desc, err := repo.Resolve(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	b, err := content.FetchAll(ctx, repo, desc)
	if err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	json.Unmarshal(b, &idx)
	var keep []ocispec.Descriptor
	for _, m := range idx.Manifests {
		if !drop(m) {
			keep = append(keep, m)
		}
	}
	idx.Manifests = keep
	b, _ = json.Marshal(idx)
	nd := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if err := repo.PushReference(ctx, nd, bytes.NewReader(b), tag); err != nil {
		t.Fatal(err)
	}
}

// The evidence referrers of a pulled model are bound to what was signed:
// a registry that drops the signature, attaches another model's
// signature or claim, or only an untrusted signer's signature, gets the
// pull refused (DIR untouched); an extra signature from an untrusted
// signer is ignored and named. Against docker-registry (referrers tag
// schema).
func TestPullReferrersBoundToSignature(t *testing.T) {
	reg := ocitest.StartDistribution(t)
	dir := t.TempDir()
	alice, alicePub := pullKeyPair(t, dir, "alice")
	mallory, _ := pullKeyPair(t, dir, "mallory")
	mkModel := func(name, weights, key string) string {
		t.Helper()
		m := filepath.Join(dir, name)
		copyFile(t, "../../testdata/models/config.json", filepath.Join(m, "config.json"))
		copyFile(t, "../../testdata/models/model.safetensors", filepath.Join(m, "model.safetensors"))
		copyFile(t, weights, filepath.Join(m, "extra.json"))
		if r := mlsecRun(t, "sign", "--key", key, m); r.code != 0 {
			t.Fatalf("sign: %+v", r)
		}
		if r := mlsecRun(t, "gate", "--stage", "ci", "--key", key, "--trust", "trusted", m); r.code != 1 {
			t.Fatalf("gate ci: %+v", r)
		}
		return m
	}
	a := mkModel("a", "../../testdata/models/config.json", alice)
	b := mkModel("b", "../../testdata/models/weights.json", alice)
	am := mkModel("a-mallory", "../../testdata/models/config.json", mallory)

	cases := []struct {
		name   string
		attack func(t *testing.T, repo *remote.Repository, subject ocispec.Descriptor, ev map[string][]evidenceRef)
		code   int
		want   string
	}{
		{"signature dropped", func(t *testing.T, repo *remote.Repository, s ocispec.Descriptor, ev map[string][]evidenceRef) {
			sig := roleOf(t, ev["a"], "signature")
			detach(t, repo, s, func(d ocispec.Descriptor) bool { return d.Digest == sig.desc.Digest })
		}, 1, "has no OMS signature referrer"},
		{"signature swapped for an untrusted one", func(t *testing.T, repo *remote.Repository, s ocispec.Descriptor, ev map[string][]evidenceRef) {
			sig := roleOf(t, ev["a"], "signature")
			detach(t, repo, s, func(d ocispec.Descriptor) bool { return d.Digest == sig.desc.Digest })
			attach(t, repo, roleOf(t, ev["a-mallory"], "signature"), s)
		}, 1, "no signature verifies"},
		{"trusted signature of another model added", func(t *testing.T, repo *remote.Repository, s ocispec.Descriptor, ev map[string][]evidenceRef) {
			attach(t, repo, roleOf(t, ev["b"], "signature"), s)
		}, 1, "does not match the files"},
		{"claim of another model added", func(t *testing.T, repo *remote.Repository, s ocispec.Descriptor, ev map[string][]evidenceRef) {
			attach(t, repo, roleOf(t, ev["b"], "claim"), s)
		}, 1, "not this model"},
		{"untrusted signature added", func(t *testing.T, repo *remote.Repository, s ocispec.Descriptor, ev map[string][]evidenceRef) {
			attach(t, repo, roleOf(t, ev["a-mallory"], "signature"), s)
		}, 0, "ignored signature referrer"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := "team/m" + string(rune('a'+i))
			repo := registryRepo(t, reg, name)
			ev := map[string][]evidenceRef{}
			var pinned string
			var subject ocispec.Descriptor
			for _, m := range []string{a, b, am} {
				r := mlsecRun(t, "push", "--ca-file", reg.CAFile, m, "oci://"+reg.Host+"/"+name+":"+filepath.Base(m))
				if r.code != 0 {
					t.Fatalf("push: %+v", r)
				}
				ref := strings.TrimSpace(r.stdout)
				d, err := repo.Resolve(context.Background(), ref[strings.LastIndex(ref, "@")+1:])
				if err != nil {
					t.Fatal(err)
				}
				ev[filepath.Base(m)] = evidenceOf(t, repo, d)
				if m == a {
					pinned, subject = ref, d
				}
			}
			tc.attack(t, repo, subject, ev)
			dest := filepath.Join(t.TempDir(), "pulled")
			r := mlsecRun(t, "pull", "--ca-file", reg.CAFile, "--key", alicePub, pinned, dest)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("pull: exit %d, want %d with %q: %s", r.code, tc.code, tc.want, r.stderr)
			}
			if tc.code != 0 {
				assertUntouched(t, dest)
			}
		})
	}
}
