// Package attesttest builds signed artifacts, claims and lineage chains for
// tests of attest, lineage and the CLI: throwaway ECDSA keys and a
// code-signing CA, signed model and dataset directories, provenance claims
// and a three-generation chain (dataset + base model → fine-tune →
// quantized).
package attesttest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/signing"
)

// Key is a throwaway ECDSA P-256 key pair.
type Key struct {
	Priv    *ecdsa.PrivateKey
	PrivPEM []byte
	PubPEM  []byte
}

// NewKey generates a key.
func NewKey(t testing.TB) *Key {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := signing.PublicKeyPEM(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return &Key{Priv: k, PrivPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), PubPEM: pub}
}

// Signer signs with the key method.
func (k *Key) Signer() signing.Signer { return &signing.KeySigner{Key: k.Priv} }

// Verifier verifies key bundles of k.
func (k *Key) Verifier() signing.Verifier { return &signing.KeyVerifier{Key: &k.Priv.PublicKey} }

// WriteFiles writes the key pair as key.pem and key.pub in dir.
func (k *Key) WriteFiles(t testing.TB, dir string) (priv, pub string) {
	t.Helper()
	priv, pub = filepath.Join(dir, "key.pem"), filepath.Join(dir, "key.pub")
	WriteFile(t, priv, string(k.PrivPEM))
	WriteFile(t, pub, string(k.PubPEM))
	return priv, pub
}

// CA is a throwaway root with one code-signing leaf.
type CA struct {
	Root             *x509.Certificate
	RootPEM, LeafPEM []byte
	// LeafKey is the leaf certificate's key pair.
	LeafKey *Key
	Leaf    *x509.Certificate
	// CertSigner signs with the leaf (certificate method); CertVerifier
	// trusts Root.
	CertSigner   signing.Signer
	CertVerifier signing.Verifier
}

// NewCA builds a root CA and a code-signing leaf valid now.
func NewCA(t testing.TB) *CA {
	t.Helper()
	rootKey := NewKey(t)
	now := time.Now()
	rootTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mlsec test root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.Priv.PublicKey, rootKey.Priv)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(rootDER)
	leafKey := NewKey(t)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "mlsec test signer"},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(12 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, root, &leafKey.Priv.PublicKey, rootKey.Priv)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(leafDER)
	cs, err := signing.NewCertSigner(leafKey.Priv, leaf, []*x509.Certificate{root})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	return &CA{
		Root: root, Leaf: leaf, LeafKey: leafKey,
		RootPEM:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER}),
		LeafPEM:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		CertSigner: cs, CertVerifier: &signing.CertVerifier{Roots: pool},
	}
}

// WriteFile writes content at path, creating directories.
func WriteFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Artifact writes a directory artifact with the given files.
func Artifact(t testing.TB, dir string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		WriteFile(t, filepath.Join(dir, name), content)
	}
	return dir
}

// Sign signs the artifact at path as `mlsec sign` does (signature and
// claims file left out) and writes the signature where attest looks for
// it. It returns the artifact's digest.
func Sign(t testing.TB, path string, s signing.Signer) attest.Digest {
	t.Helper()
	sig, err := evidence.SignaturePath(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := signing.Sign(context.Background(), path, s, signing.HashOptions{
		IgnorePaths: []string{evidence.SignatureName, evidence.ClaimsName},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sig, res.Bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	return attest.DigestOf(res.Manifest.RootDigest())
}

// Claim signs statement and appends it to the artifact's claims file.
func Claim(t testing.TB, path string, s signing.Signer, statement []byte) {
	t.Helper()
	line, err := attest.Sign(context.Background(), s, statement)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := evidence.ClaimsPath(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := attest.AppendClaim(cp, line); err != nil {
		t.Fatal(err)
	}
}

// Provenance records that the artifact at path (digest d) was produced by
// a run of runType from inputs, signed with s.
func Provenance(t testing.TB, path string, d attest.Digest, s signing.Signer, runType string, inputs ...attest.Dependency) {
	t.Helper()
	p := &attest.Provenance{
		Subject: attest.Subject{Name: filepath.Base(path), Digest: d}, RunType: runType,
		BuilderID: "https://ci.example/builder", InvocationID: runType + "-1",
		Parameters:   map[string]any{"epochs": 3},
		Dependencies: inputs,
	}
	st, err := p.Statement()
	if err != nil {
		t.Fatal(err)
	}
	Claim(t, path, s, st)
}

// Chain is a three-generation lineage: a dataset and a base model, a
// fine-tune trained on both (the base model itself derived from the
// dataset, so the dataset is a shared ancestor), and a quantized model of
// the fine-tune. Every artifact is signed; every derived one has signed
// provenance.
type Chain struct {
	Dir                                    string
	Dataset, Base, FineTune, Quantized     string
	DatasetD, BaseD, FineTuneD, QuantizedD attest.Digest
}

// NewChain builds the chain under dir/evidence with signer s.
func NewChain(t testing.TB, dir string, s signing.Signer) *Chain {
	t.Helper()
	ev := filepath.Join(dir, "evidence")
	c := &Chain{Dir: ev}
	c.Dataset = Artifact(t, filepath.Join(ev, "datasets", "corpus"), map[string]string{
		"train.jsonl": `{"text":"hello"}` + "\n", "test.jsonl": `{"text":"bye"}` + "\n"})
	c.DatasetD = Sign(t, c.Dataset, s)
	c.Base = Artifact(t, filepath.Join(ev, "models", "base"), map[string]string{
		"config.json": `{"layers":2}`, "weights.bin": "base weights"})
	c.BaseD = Sign(t, c.Base, s)
	Provenance(t, c.Base, c.BaseD, s, attest.RunTraining,
		attest.Dependency{Role: attest.RoleDataset, Name: "corpus", Digest: c.DatasetD},
		attest.Dependency{Role: attest.RoleCode, URI: "git+https://git.example/train", Commit: "0123456789abcdef0123456789abcdef01234567"})
	c.FineTune = Artifact(t, filepath.Join(ev, "models", "finetune"), map[string]string{
		"config.json": `{"layers":2,"lora":true}`, "weights.bin": "fine-tuned weights"})
	c.FineTuneD = Sign(t, c.FineTune, s)
	Provenance(t, c.FineTune, c.FineTuneD, s, attest.RunFineTuning,
		attest.Dependency{Role: attest.RoleBaseModel, Name: "base", Digest: c.BaseD},
		attest.Dependency{Role: attest.RoleDataset, Name: "corpus", Digest: c.DatasetD})
	c.Quantized = Artifact(t, filepath.Join(ev, "models", "quantized"), map[string]string{
		"model.gguf": "quantized weights"})
	c.QuantizedD = Sign(t, c.Quantized, s)
	Provenance(t, c.Quantized, c.QuantizedD, s, attest.RunQuantization,
		attest.Dependency{Role: attest.RoleBaseModel, Name: "finetune", Digest: c.FineTuneD})
	return c
}
