package signing

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testPKI is a root CA, an intermediate and code-signing leaves.
type testPKI struct {
	root, inter       *x509.Certificate
	rootKey, interKey *ecdsa.PrivateKey
	roots             *x509.CertPool
}

func newKey(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var serial int64

func issue(t testing.TB, tmpl *x509.Certificate, parent *x509.Certificate, pub *ecdsa.PublicKey, parentKey *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	serial++
	tmpl.SerialNumber = big.NewInt(serial)
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func caTemplate(cn string, from, to time.Time) *x509.Certificate {
	return &x509.Certificate{
		Subject: pkix.Name{CommonName: cn}, NotBefore: from, NotAfter: to,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
}

func newPKI(t testing.TB, from, to time.Time) *testPKI {
	p := &testPKI{rootKey: newKey(t, elliptic.P384()), interKey: newKey(t, elliptic.P256())}
	p.root = issue(t, caTemplate("test root", from, to), nil, &p.rootKey.PublicKey, p.rootKey)
	p.inter = issue(t, caTemplate("test intermediate", from, to), p.root, &p.interKey.PublicKey, p.rootKey)
	p.roots = x509.NewCertPool()
	p.roots.AddCert(p.root)
	return p
}

func (p *testPKI) leaf(t testing.TB, key *ecdsa.PrivateKey, eku []x509.ExtKeyUsage, from, to time.Time) *x509.Certificate {
	return issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "model signer"}, NotBefore: from, NotAfter: to,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: eku,
	}, p.inter, &key.PublicKey, p.interKey)
}

var (
	now  = time.Now()
	past = now.Add(-time.Hour)
	soon = now.Add(24 * time.Hour)
)

// TestRoundTrip signs and verifies for every method, hash and
// serialization.
func TestRoundTrip(t *testing.T) {
	pki := newPKI(t, past, soon)
	type method struct {
		name   string
		signer Signer
		v      Verifier
	}
	var methods []method
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		k := newKey(t, c)
		methods = append(methods, method{"key-" + c.Params().Name, &KeySigner{Key: k}, &KeyVerifier{Key: &k.PublicKey}})
	}
	ck := newKey(t, elliptic.P256())
	cs, err := NewCertSigner(ck, pki.leaf(t, ck, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, past, soon), []*x509.Certificate{pki.inter})
	if err != nil {
		t.Fatal(err)
	}
	methods = append(methods, method{"certificate", cs, &CertVerifier{Roots: pki.roots}})

	for _, m := range methods {
		for _, h := range []HashAlgorithm{SHA256, BLAKE2b, BLAKE3} {
			for _, ser := range []HashOptions{{Method: MethodFiles}, {Method: MethodShards, ShardSize: 7}} {
				for _, model := range []string{"sample_model_folder", "sample_model_file"} {
					t.Run(strings.Join([]string{m.name, string(h), string(ser.Method), model}, "/"), func(t *testing.T) {
						dir := fixture(t, model)
						opts := ser
						opts.Hash = h
						res, err := Sign(context.Background(), dir, m.signer, opts)
						if err != nil {
							t.Fatal(err)
						}
						wantMethod := ser.Method
						if h == BLAKE3 {
							wantMethod = MethodFiles // as the reference
						}
						if got := res.Manifest.Serialization; got.Method != wantMethod || got.Hash != h {
							t.Errorf("serialization = %+v", got)
						}
						vr, err := Verify(context.Background(), dir, res.Bundle, m.v, VerifyOptions{})
						if err != nil {
							t.Fatal(err)
						}
						if d := Compare(res.Manifest, vr.Actual); !d.Empty() {
							t.Errorf("manifest differs: %s", d)
						}
					})
				}
			}
		}
	}
}

// signedModel signs the sample folder with a fresh P-256 key.
func signedModel(t *testing.T) (dir string, bundle []byte, key *ecdsa.PrivateKey) {
	dir = fixture(t, "sample_model_folder")
	key = newKey(t, elliptic.P256())
	res, err := Sign(context.Background(), dir, &KeySigner{Key: key}, HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return dir, res.Bundle, key
}

func TestVerifyContentChanges(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		opts   VerifyOptions
		want   Diff
	}{
		{"tampered", func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "d0/f01"), "evil") }, VerifyOptions{},
			Diff{Changed: []string{"d0/f01"}}},
		{"extra", func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "d1/new"), "x") }, VerifyOptions{},
			Diff{Added: []string{"d1/new"}}},
		{"missing", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "f3")) }, VerifyOptions{},
			Diff{Missing: []string{"f3"}}},
		{"extra ignored", func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "notes/a"), "x") },
			VerifyOptions{IgnorePaths: []string{"notes"}}, Diff{}},
		{"extra unsigned ignored", func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "extra"), "x") },
			VerifyOptions{IgnoreUnsignedFiles: true}, Diff{}},
		{"missing with ignore unsigned", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "f0")) },
			VerifyOptions{IgnoreUnsignedFiles: true}, Diff{Missing: []string{"f0"}}},
		{"git paths ignored", func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, ".git/HEAD"), "x") },
			VerifyOptions{}, Diff{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, bundle, key := signedModel(t)
			tt.change(t, dir)
			res, err := Verify(context.Background(), dir, bundle, &KeyVerifier{Key: &key.PublicKey}, tt.opts)
			if tt.want.Empty() {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrMismatch) {
				t.Fatalf("err = %v, want ErrMismatch", err)
			}
			if diff := cmp.Diff(tt.want, res.Diff); diff != "" {
				t.Errorf("diff (-want +got):\n%s", diff)
			}
		})
	}
}

// editBundle decodes a bundle, lets edit change its JSON and re-encodes it.
func editBundle(t *testing.T, bundle []byte, edit func(m map[string]any)) []byte {
	var m map[string]any
	if err := json.Unmarshal(bundle, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// resign replaces the statement with edit(statement) and signs it again
// with key, so that only the statement content is wrong.
func resign(t *testing.T, key *ecdsa.PrivateKey, bundle []byte, edit func(st map[string]any)) []byte {
	b, err := ReadBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b.GetDsseEnvelope().GetPayload(), &st); err != nil {
		t.Fatal(err)
	}
	edit(st)
	payload, _ := json.Marshal(st)
	nb, err := (&KeySigner{Key: key}).SignPayload(context.Background(), PayloadType, payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := MarshalBundle(nb)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerifyRejects(t *testing.T) {
	dir, bundle, key := signedModel(t)
	keyV := &KeyVerifier{Key: &key.PublicKey}
	other := newKey(t, elliptic.P256())
	pki := newPKI(t, past, soon)

	certBundle := func(t *testing.T, signer Signer) []byte {
		res, err := Sign(context.Background(), dir, signer, HashOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return res.Bundle
	}
	ck := newKey(t, elliptic.P256())
	goodLeaf := pki.leaf(t, ck, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, past, soon)
	// A CA that expired before the leaf was issued: checked at the leaf's
	// notBefore, the chain is invalid.
	old := newPKI(t, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	goodCert := certBundle(t, &CertSigner{Key: ck, Leaf: goodLeaf, Chain: []*x509.Certificate{pki.inter}})

	tests := []struct {
		name   string
		bundle []byte
		v      Verifier
		want   string
	}{
		{"wrong key", bundle, &KeyVerifier{Key: &other.PublicKey}, "key mismatch: signed with another key"},
		{"wrong key without hint", editBundle(t, bundle, func(m map[string]any) {
			m["verificationMaterial"] = map[string]any{"publicKey": map[string]any{}}
		}), &KeyVerifier{Key: &other.PublicKey}, "DSSE signature does not verify"},
		{"corrupted signature", editBundle(t, bundle, func(m map[string]any) {
			env := m["dsseEnvelope"].(map[string]any)
			env["signatures"] = []any{map[string]any{"sig": base64.StdEncoding.EncodeToString([]byte("not a signature"))}}
		}), keyV, "DSSE signature does not verify"},
		{"modified payload", editBundle(t, bundle, func(m map[string]any) {
			env := m["dsseEnvelope"].(map[string]any)
			p, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
			env["payload"] = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(p), "d0/f00", "d0/f0X", 1)))
		}), keyV, "DSSE signature does not verify"},
		{"wrong payload type", editBundle(t, bundle, func(m map[string]any) {
			m["dsseEnvelope"].(map[string]any)["payloadType"] = "application/json"
		}), keyV, `DSSE payload type is "application/json"`},
		{"wrong media type", editBundle(t, bundle, func(m map[string]any) {
			m["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.1"
		}), keyV, "bundle media type is"},
		{"no signatures", editBundle(t, bundle, func(m map[string]any) {
			m["dsseEnvelope"].(map[string]any)["signatures"] = []any{}
		}), keyV, "DSSE envelope has no signature"},
		{"truncated", bundle[:len(bundle)/2], keyV, "not a valid Sigstore bundle"},
		{"not JSON", []byte("\x00\x01garbage"), keyV, "not a valid Sigstore bundle"},
		{"no envelope", editBundle(t, bundle, func(m map[string]any) { delete(m, "dsseEnvelope") }), keyV, "no dsseEnvelope"},
		{"wrong statement type", resign(t, key, bundle, func(st map[string]any) { st["_type"] = "https://in-toto.io/Statement/v0.1" }),
			keyV, `statement _type is "https://in-toto.io/Statement/v0.1"`},
		{"wrong predicate type", resign(t, key, bundle, func(st map[string]any) { st["predicateType"] = "https://slsa.dev/provenance/v1" }),
			keyV, `predicate type is "https://slsa.dev/provenance/v1"`},
		{"empty resources", resign(t, key, bundle, func(st map[string]any) {
			st["predicate"].(map[string]any)["resources"] = []any{}
			st["subject"].([]any)[0].(map[string]any)["digest"] = map[string]any{"sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}
		}), keyV, "empty resources list"},
		{"no subject", resign(t, key, bundle, func(st map[string]any) { st["subject"] = []any{} }), keyV, "has 0 subjects"},
		{"inconsistent root digest", resign(t, key, bundle, func(st map[string]any) {
			st["subject"].([]any)[0].(map[string]any)["digest"] = map[string]any{"sha256": strings.Repeat("0", 64)}
		}), keyV, "manifest is inconsistent"},
		{"key bundle as certificate bundle", bundle, &CertVerifier{Roots: pki.roots}, "signed with a key"},
		{"certificate bundle as key bundle", goodCert, keyV, "signed with a certificate chain"},
		{"wrong CA", goodCert, &CertVerifier{Roots: newPKI(t, past, soon).roots}, "is not trusted"},
		{"non-code-signing certificate", certBundle(t, &CertSigner{Key: ck, Chain: []*x509.Certificate{pki.inter},
			Leaf: pki.leaf(t, ck, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, past, soon)}),
			&CertVerifier{Roots: pki.roots}, "lacks the code-signing extended key usage"},
		{"expired chain", certBundle(t, &CertSigner{Key: ck, Chain: []*x509.Certificate{old.inter},
			Leaf: old.leaf(t, ck, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, past, soon)}),
			&CertVerifier{Roots: old.roots}, "expired or is not yet valid"},
		{"missing intermediate", certBundle(t, &CertSigner{Key: ck, Leaf: goodLeaf}), &CertVerifier{Roots: pki.roots}, "is not trusted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(context.Background(), dir, tt.bundle, tt.v, VerifyOptions{})
			if !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("err = %v, want ErrInvalidSignature", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestSymlinks(t *testing.T) {
	dir := fixture(t, "symlink_model_folder")
	if _, err := HashModel(context.Background(), dir, HashOptions{}); !errors.Is(err, ErrSymlink) {
		t.Fatalf("err = %v, want ErrSymlink", err)
	}
	m, err := HashModel(context.Background(), dir, HashOptions{AllowSymlinks: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Items) != 1 || m.Items[0].Path != "symlink_file" {
		t.Errorf("items = %+v", m.Items)
	}
	// An ignored symlink is not an error.
	if _, err := HashModel(context.Background(), dir, HashOptions{IgnorePaths: []string{"symlink_file"}}); err != nil {
		t.Fatal(err)
	}
}

func TestIgnorePathsRecorded(t *testing.T) {
	dir := fixture(t, "sample_model_folder")
	cwd, _ := os.Getwd()
	t.Chdir(dir)
	ign, err := ResolveIgnorePaths(".", []string{"d0", filepath.Join(dir, "f1"), "model.sig", "../outside", "/elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(cwd)
	if diff := cmp.Diff([]string{"d0", "f1", "model.sig"}, ign); diff != "" {
		t.Errorf("resolved (-want +got):\n%s", diff)
	}
	m, err := HashModel(context.Background(), dir, HashOptions{IgnorePaths: ign})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".git", ".gitattributes", ".github", ".gitignore", "d0", "f1", "model.sig"}
	if diff := cmp.Diff(want, m.Serialization.IgnorePaths); diff != "" {
		t.Errorf("recorded ignore paths (-want +got):\n%s", diff)
	}
	for _, it := range m.Items {
		if strings.HasPrefix(it.Path, "d0/") || it.Path == "f1" {
			t.Errorf("%s should be ignored", it.Path)
		}
	}
	st := string(MarshalStatement(m, StatementOptions{}))
	if !strings.Contains(st, "\"ignore_paths\": [\n        \".git\",") {
		t.Errorf("statement lacks ignore_paths:\n%s", st)
	}
}

func TestShardSizeFloat(t *testing.T) {
	dir := fixture(t, "sample_model_file")
	m, err := HashModel(context.Background(), dir, HashOptions{Method: MethodShards, ShardSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	for _, float := range []bool{false, true} {
		back, err := ParseStatement(MarshalStatement(m, StatementOptions{FloatShardSize: float}))
		if err != nil {
			t.Fatal(err)
		}
		if back.Serialization.ShardSize != 8 {
			t.Errorf("float=%v: shard size %d", float, back.Serialization.ShardSize)
		}
	}
	bad := strings.Replace(string(MarshalStatement(m, StatementOptions{})), `"shard_size": 8`, `"shard_size": 8.5`, 1)
	if _, err := ParseStatement([]byte(bad)); err == nil || !strings.Contains(err.Error(), "shard_size 8.5") {
		t.Errorf("fractional shard size: err = %v", err)
	}
}

// TestLargeFiles exercises the mapped and streamed paths on files larger
// than the mapping threshold, with shards not aligned to pages, against
// digests computed directly.
func TestLargeFiles(t *testing.T) {
	dir := t.TempDir()
	content := make([]byte, 3<<20+12345)
	rand.Read(content)
	writeFile(t, filepath.Join(dir, "big.bin"), string(content))
	writeFile(t, filepath.Join(dir, "small.bin"), "tiny")
	for _, h := range []HashAlgorithm{SHA256, BLAKE2b, BLAKE3} {
		for _, shard := range []int64{0, 1<<20 + 4097, 3 << 20} {
			method := MethodFiles
			if shard > 0 {
				method = MethodShards
			}
			var total, progressed int64
			var mu sync.Mutex
			m, err := HashModel(context.Background(), dir, HashOptions{Hash: h, Method: method, ShardSize: shard,
				Total:    func(n int64) { total = n },
				Progress: func(n int64) { mu.Lock(); progressed += n; mu.Unlock() }})
			if err != nil {
				t.Fatal(err)
			}
			if total != int64(len(content)+4) || progressed != total {
				t.Errorf("%s/%d: total %d, progress %d, want %d", h, shard, total, progressed, len(content)+4)
			}
			var want []string
			digest := func(b []byte) string {
				hh, _ := h.New()
				hh.Write(b)
				return hex.EncodeToString(hh.Sum(nil))
			}
			if method == MethodFiles || h == BLAKE3 {
				want = []string{"big.bin:" + digest(content), "small.bin:" + digest([]byte("tiny"))}
			} else {
				for s := int64(0); s < int64(len(content)); s += shard {
					e := min(s+shard, int64(len(content)))
					want = append(want, fmt.Sprintf("big.bin:%d:%d:%s", s, e, digest(content[s:e])))
				}
				want = append(want, "small.bin:0:4:"+digest([]byte("tiny")))
			}
			var got []string
			for _, it := range m.Items {
				got = append(got, it.Name()+":"+hex.EncodeToString(it.Digest))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s/%d (-want +got):\n%s", h, shard, diff)
			}
		}
	}
}

// UnlessSigned paths are ignored only when the signature does not cover
// them.
func TestUnlessSigned(t *testing.T) {
	dir, bundle, key := signedModel(t) // signs f0..f3 and d0, d1
	v := &KeyVerifier{Key: &key.PublicKey}
	writeFile(t, filepath.Join(dir, "claims.jsonl"), "{}")
	if _, err := Verify(context.Background(), dir, bundle, v, VerifyOptions{UnlessSigned: []string{"claims.jsonl"}}); err != nil {
		t.Errorf("unsigned claims file should be ignored: %v", err)
	}
	// f3 is signed: changing it is still detected.
	writeFile(t, filepath.Join(dir, "f3"), "changed")
	res, err := Verify(context.Background(), dir, bundle, v, VerifyOptions{UnlessSigned: []string{"f3", "claims.jsonl"}})
	if !errors.Is(err, ErrMismatch) || !cmp.Equal(res.Diff, Diff{Changed: []string{"f3"}}) {
		t.Errorf("err = %v, diff %+v", err, res)
	}
}
