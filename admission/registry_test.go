package admission_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"

	"github.com/mlsecops/mlsec/admission"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/server"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/transport"
	"github.com/mlsecops/mlsec/transport/oci"
	"github.com/mlsecops/mlsec/transport/oci/ocitest"
)

// dirModel writes a directory model called name (weights, a config, a
// tokenizer) whose weight is w into a new directory and returns its path.
// The name is the pushed manifest's: the same files under two names are
// two manifests.
func dirModel(t testing.TB, name string, w byte) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(filepath.Join(dir, "tokenizer"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"model.safetensors":        safetensors(w),
		"config.json":              []byte(`{"architectures":["Tiny"]}`),
		"tokenizer/tokenizer.json": []byte(`{"version":"1.0"}`),
	} {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// signDir signs a directory model as mlsec sign does (the evidence files
// left out), writes the signature to its model.sig, and returns the OMS
// root digest and the bundle.
func signDir(t testing.TB, dir string, s signing.Signer) (string, []byte) {
	t.Helper()
	res, err := signing.Sign(context.Background(), dir, s, signing.HashOptions{IgnorePaths: evidence.Inside(dir)})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, evidence.SignatureName), res.Bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	return string(attest.DigestOf(res.Manifest.RootDigest())), res.Bundle
}

// push pushes path (a model with its evidence, as mlsec push does) to
// repo on reg and returns the pinned reference mlsec push prints.
func push(t testing.TB, reg *ocitest.Registry, repo, path string) string {
	t.Helper()
	ref := "oci://" + reg.Host + "/" + repo + ":v1"
	rr, err := oci.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	r, err := oci.NewRepository(rr, regOptions(reg))
	if err != nil {
		t.Fatal(err)
	}
	a, err := transport.Collect(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := oci.Push(context.Background(), r, "v1", a, oci.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return "oci://" + reg.Host + "/" + repo + "@" + res.Manifest.Digest.String()
}

// craft pushes a changed copy of the manifest of ref (in its repository,
// tagged crafted) with bundle as its signature referrer, and returns its
// pinned reference.
func craft(t testing.TB, reg *ocitest.Registry, ref string, bundle []byte, change func(*ocispec.Manifest)) string {
	t.Helper()
	ctx := context.Background()
	rr, err := oci.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := oci.NewRepository(rr, regOptions(reg))
	if err != nil {
		t.Fatal(err)
	}
	_, rc, err := repo.FetchReference(ctx, rr.Reference)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	var mf ocispec.Manifest
	if err := json.Unmarshal(raw, &mf); err != nil {
		t.Fatal(err)
	}
	change(&mf)
	raw, err = json.Marshal(mf)
	if err != nil {
		t.Fatal(err)
	}
	desc := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, raw)
	if err := repo.PushReference(ctx, desc, bytes.NewReader(raw), "crafted"); err != nil {
		t.Fatal(err)
	}
	const bundleType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	layer := content.NewDescriptorFromBytes(bundleType, bundle)
	if ok, _ := repo.Exists(ctx, layer); !ok {
		if err := repo.Push(ctx, layer, bytes.NewReader(bundle)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, bundleType, oras.PackManifestOptions{
		Subject: &desc, Layers: []ocispec.Descriptor{layer},
		ManifestAnnotations: map[string]string{"dev.mlsec.evidence.role": "signature"},
	}); err != nil {
		t.Fatal(err)
	}
	return "oci://" + rr.Registry + "/" + rr.Repository + "@" + desc.Digest.String()
}

func regOptions(reg *ocitest.Registry) oci.Options {
	return oci.Options{PlainHTTP: reg.PlainHTTP, CAFile: reg.CAFile, RegistryConfig: filepath.Join(os.TempDir(), "mlsec-no-docker-config.json")}
}

// addDir registers the signed directory model dir in the server by its
// OMS root digest (with a source other than the registry: an intake),
// submits its signature and a signed scan (as mlsec attest scan makes),
// and takes it as far as md says (md.source and md.weight are unused).
func (m *mlsecServer) addDir(dir, root string, bundle []byte, md model) {
	m.t.Helper()
	ctx := context.Background()
	m.call("POST", "/api/v1/artifacts", server.RegisterRequest{Digest: root, Name: filepath.Base(dir), Kind: "model", Directory: true,
		Source: admission.HFEndpoint + "/acme/" + filepath.Base(dir) + "/tree/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"}, http.StatusCreated, nil)
	doc, err := attest.ScanArtifact(ctx, dir, scan.DefaultConfig(), scan.Options{})
	if err != nil {
		m.t.Fatal(err)
	}
	st, err := attest.ScanStatement(attest.Subject{Name: filepath.Base(dir), Digest: attest.Digest(root)}, doc)
	if err != nil {
		m.t.Fatal(err)
	}
	scanBundle, err := attest.Sign(ctx, m.org, st)
	if err != nil {
		m.t.Fatal(err)
	}
	for _, b := range [][]byte{bundle, scanBundle} {
		var ar server.AttestationResult
		m.call("POST", "/api/v1/attestations", b, http.StatusCreated, &ar)
		if !ar.Verified {
			m.t.Fatalf("attestation about %s not verified: %+v", root, ar)
		}
	}
	if md.state != "" {
		m.call("POST", "/api/v1/artifacts/"+root+"/override", server.OverrideRequest{To: md.state, Reason: "admission test"}, http.StatusOK, nil)
	}
	if md.serving {
		m.call("POST", "/api/v1/artifacts/"+root+"/gate", server.GateRequest{Stage: "serving"}, http.StatusOK, nil)
	}
	if md.after != "" {
		m.call("POST", "/api/v1/artifacts/"+root+"/override", server.OverrideRequest{To: md.after, Reason: "admission test"}, http.StatusOK, nil)
	}
}

// registryClient is a client of m that resolves oci references through
// registries with opts, trusting m's organisation key.
func registryClient(t testing.TB, m *mlsecServer, opts oci.Options) *admission.Client {
	t.Helper()
	c, err := admission.NewClient(m.url, m.auditor, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Registry = &admission.Registry{Verifier: &signing.KeyVerifier{Key: &m.org.Key.PublicKey}, Options: opts}
	return c
}

// TestWebhookRegistry: the normal flow — sign, push (which prints the
// manifest reference), deploy that reference — is admitted when the
// server knows the model by its OMS root digest, through the Debian
// docker-registry over TLS (referrers tag schema). Everything the
// registry path cannot vouch for is denied.
func TestWebhookRegistry(t *testing.T) {
	reg := ocitest.StartDistribution(t)
	m := newMLSecServer(t, true)
	released := model{sign: true, state: store.StateReleased, serving: true}

	// A directory model: signed, pushed, registered by its root digest
	// (from an intake, not the registry), released and gated.
	good := dirModel(t, "good", 0x40)
	root, bundle := signDir(t, good, m.org)
	goodRef := push(t, reg, "team/good", good)
	m.addDir(good, root, bundle, released)

	// A single-file model, uploaded (the server knows it by its sha256),
	// signed, released and gated, then pushed with its signature.
	fileDir := t.TempDir()
	file := filepath.Join(fileDir, "iris.safetensors")
	if err := os.WriteFile(file, safetensors(0x41), 0o644); err != nil {
		t.Fatal(err)
	}
	fileDigest := m.add(model{source: "upload", weight: 0x41, sign: true, state: store.StateReleased, serving: true})
	res, err := signing.Sign(context.Background(), file, m.org, signing.HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file+".sig", res.Bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	fileRef := push(t, reg, "team/iris", file)

	// Signed and pushed, released, never gated for serving.
	nogate := dirModel(t, "nogate", 0x42)
	ngRoot, ngBundle := signDir(t, nogate, m.org)
	nogateRef := push(t, reg, "team/nogate", nogate)
	m.addDir(nogate, ngRoot, ngBundle, model{sign: true, state: store.StateReleased})

	// Signed and pushed, gated, then revoked.
	revoked := dirModel(t, "revoked", 0x43)
	rvRoot, rvBundle := signDir(t, revoked, m.org)
	revokedRef := push(t, reg, "team/revoked", revoked)
	m.addDir(revoked, rvRoot, rvBundle, model{sign: true, state: store.StateReleased, serving: true, after: store.StateRevoked})

	// Signed by the trusted key and pushed, unknown to the server.
	stranger := dirModel(t, "stranger", 0x44)
	signDir(t, stranger, m.org)
	strangerRef := push(t, reg, "team/stranger", stranger)

	// The good model's files pushed without a signature (under another
	// name, so another manifest: the server knows these files by their
	// root digest, but nothing in the registry vouches for this manifest).
	unsigned := dirModel(t, "unsigned", 0x40)
	unsignedRef := push(t, reg, "team/unsigned", unsigned)

	// The good model's files signed by a key the webhook does not trust
	// (the server's records are those of the good model: same root).
	untrusted := dirModel(t, "untrusted", 0x40)
	signDir(t, untrusted, &signing.KeySigner{Key: newKey(t)})
	untrustedRef := push(t, reg, "team/untrusted", untrusted)

	// The good model's signature over a manifest whose weights layer is
	// another file: signed, then the weights replaced, then pushed — the
	// manifest's layer digest differs from the signed digest.
	tampered := dirModel(t, "good", 0x40)
	signDir(t, tampered, m.org)
	if err := os.WriteFile(filepath.Join(tampered, "model.safetensors"), safetensors(0x66), 0o644); err != nil {
		t.Fatal(err)
	}
	tamperedRef := push(t, reg, "team/tampered", tampered)

	// The good model's signature over a manifest with one more file.
	extra := dirModel(t, "good", 0x40)
	signDir(t, extra, m.org)
	if err := os.WriteFile(filepath.Join(extra, "inject.py"), []byte("import os\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	extraRef := push(t, reg, "team/extra", extra)

	// A crafted manifest: the good model's manifest with the paths of two
	// layers swapped (every blob exists and the signature is the good
	// one, but config.json would hold the tokenizer), the signature
	// copied over as its referrer.
	swappedRef := craft(t, reg, goodRef, bundle, func(mf *ocispec.Manifest) {
		var a, b int = -1, -1
		for i, l := range mf.Layers {
			switch l.Annotations[oci.AnnotationFilepath] {
			case "config.json":
				a = i
			case "tokenizer/tokenizer.json":
				b = i
			}
		}
		mf.Layers[a].Annotations, mf.Layers[b].Annotations = mf.Layers[b].Annotations, mf.Layers[a].Annotations
	})

	ghostRef := "oci://" + reg.Host + "/team/good@sha256:" + strings.Repeat("d", 64)

	client := registryClient(t, m, regOptions(reg))
	wh := startWebhook(t, admission.Config{Resolver: client})
	isvc := fixture(t, "isvc-create.json")
	isvcWith := func(ref string) []byte { return with(t, isvc, irisOCI, ref) }
	runCases(t, wh, []reviewCase{
		{name: "pushed directory model", body: isvcWith(goodRef), allowed: true, msg: "is artifact " + root + " (resolved through the registry: signed manifest, 3 files match the OMS signature): released, serving gate passed"},
		{name: "pushed single-file model", body: isvcWith(fileRef), allowed: true, msg: "is artifact " + string(fileDigest) + " (resolved through the registry"},
		{name: "tag beside the digest", body: isvcWith(strings.Replace(goodRef, "/team/good@", "/team/good:v1@", 1)), allowed: true, msg: "serving gate passed"},
		{name: "no serving VSA", body: isvcWith(nogateRef), msg: "never passed the serving gate"},
		{name: "revoked", body: isvcWith(revokedRef), msg: "which is revoked, not released"},
		{name: "unknown to the server", body: isvcWith(strangerRef), msg: "but not a known artifact: the mlsec server has no artifact"},
		{name: "signature referrer missing", body: isvcWith(unsignedRef), msg: "has no OMS signature referrer in the registry"},
		{name: "untrusted signer", body: isvcWith(untrustedRef), msg: "no OMS signature in the registry verifies with the webhook's trust flags"},
		{name: "layer differs from the signed digest", body: isvcWith(tamperedRef), msg: "the manifest's files differ from the signed ones: signing: model does not match"},
		{name: "unsigned layer", body: isvcWith(extraRef), msg: "added: inject.py"},
		{name: "crafted manifest, layers swapped", body: isvcWith(swappedRef), msg: "differ from the signed ones: signing: model does not match signature: changed: config.json, tokenizer/tokenizer.json"},
		{name: "manifest not in the registry", body: isvcWith(ghostRef), msg: "the registry has no such manifest"},
	})

	// Without registry resolution the manifest reference is unknown, as
	// before.
	plain, err := admission.NewClient(m.url, m.auditor, nil)
	if err != nil {
		t.Fatal(err)
	}
	runCases(t, startWebhook(t, admission.Config{Resolver: plain}), []reviewCase{
		{name: "no registry resolution", body: isvcWith(goodRef), msg: "no artifact in the mlsec server is registered with this source"},
	})

	// A registry that cannot be reached fails closed, or open with a
	// warning; a definite answer still denies with FailOpen.
	down := strings.Replace(strangerRef, reg.Host, "127.0.0.1:1", 1)
	fresh := registryClient(t, m, regOptions(reg))
	runCases(t, startWebhook(t, admission.Config{Resolver: fresh}), []reviewCase{
		{name: "registry down fails closed", body: isvcWith(down), msg: "the registry did not answer"},
	})
	runCases(t, startWebhook(t, admission.Config{Resolver: fresh, FailOpen: true}), []reviewCase{
		{name: "registry down, fail open", body: isvcWith(down), allowed: true, msg: "unchecked (fail-open)", warn: "was NOT checked"},
		{name: "fail open still denies a mismatch", body: isvcWith(tamperedRef), msg: "differ from the signed ones"},
	})
	// A registry that stops answering: the review's timeout decides.
	hang := strings.TrimPrefix(startHang(t), "http://")
	slow := registryClient(t, m, oci.Options{PlainHTTP: true, RegistryConfig: regOptions(reg).RegistryConfig})
	slow.Registry.Timeout = time.Second
	runCases(t, startWebhook(t, admission.Config{Resolver: slow, Timeout: 300 * time.Millisecond}), []reviewCase{
		{name: "registry timeout fails closed", body: isvcWith(strings.Replace(goodRef, reg.Host, hang, 1)), msg: "the registry did not answer"},
	})
	// TLS is checked: without the registry's CA, nothing resolves.
	noCA := registryClient(t, m, oci.Options{RegistryConfig: regOptions(reg).RegistryConfig})
	runCases(t, startWebhook(t, admission.Config{Resolver: noCA}), []reviewCase{
		{name: "registry certificate not trusted", body: isvcWith(goodRef), msg: "certificate"},
	})
}

// TestWebhookRegistryCache: a resolution is remembered by manifest digest
// (the registry is asked once), while the server's records are read on
// every review — a revocation after the first admission denies. It runs
// against go-containerregistry's registry with the OCI 1.1 referrers API.
func TestWebhookRegistryCache(t *testing.T) {
	var hits atomic.Int64
	var paths []string
	reg := ocitest.StartReferrers(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			paths = append(paths, r.Method+" "+r.URL.Path)
			h.ServeHTTP(w, r)
		})
	})
	m := newMLSecServer(t, true)
	dir := dirModel(t, "cached", 0x50)
	root, bundle := signDir(t, dir, m.org)
	ref := push(t, reg, "team/cached", dir)
	m.addDir(dir, root, bundle, model{sign: true, state: store.StateReleased, serving: true})
	wh := startWebhook(t, admission.Config{Resolver: registryClient(t, m, regOptions(reg))})
	body := with(t, fixture(t, "isvc-create.json"), irisOCI, ref)

	hits.Store(0)
	paths = nil
	runCases(t, wh, []reviewCase{{name: "first", body: body, allowed: true, msg: "resolved through the registry"}})
	first := hits.Load()
	if first == 0 {
		t.Fatal("the first review did not ask the registry")
	}
	// No model layer was downloaded: only manifests, the referrers and
	// the signature bundle.
	for _, name := range []string{"model.safetensors", "config.json", "tokenizer/tokenizer.json"} {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		layer := fmt.Sprintf("/blobs/sha256:%x", sha256.Sum256(b))
		for _, p := range paths {
			if strings.HasSuffix(p, layer) && strings.HasPrefix(p, "GET") {
				t.Errorf("the webhook downloaded the layer of %s: %s", name, p)
			}
		}
	}
	runCases(t, wh, []reviewCase{{name: "cached", body: body, allowed: true, msg: "resolved through the registry"}})
	if n := hits.Load(); n != first {
		t.Errorf("the second review asked the registry %d more times; want the cached resolution", n-first)
	}
	m.call("POST", "/api/v1/artifacts/"+root+"/override", server.OverrideRequest{To: store.StateRevoked, Reason: "admission test"}, http.StatusOK, nil)
	runCases(t, wh, []reviewCase{{name: "revoked after caching", body: body, msg: "which is revoked, not released"}})
}
