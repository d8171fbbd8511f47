package lineage_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/attest/attesttest"
	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/lineage"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/signing/sigstoretest"
)

func index(t testing.TB, dir string) *lineage.Index {
	t.Helper()
	idx, err := lineage.IndexDir(context.Background(), dir, lineage.IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func TestImpact(t *testing.T) {
	k := attesttest.NewKey(t)
	c := attesttest.NewChain(t, t.TempDir(), k.Signer())
	idx := index(t, c.Dir)
	if len(idx.Problems) != 0 {
		t.Errorf("problems: %+v", idx.Problems)
	}
	type row struct {
		Path  string
		Depth int
		Role  attest.Role
	}
	tests := []struct {
		name string
		from attest.Digest
		more []attest.Digest
		want []row
	}{
		{"dataset", c.DatasetD, nil, []row{{c.Base, 1, attest.RoleDataset}, {c.FineTune, 1, attest.RoleDataset}, {c.Quantized, 2, attest.RoleBaseModel}}},
		{"base model", c.BaseD, nil, []row{{c.FineTune, 1, attest.RoleBaseModel}, {c.Quantized, 2, attest.RoleBaseModel}}},
		{"leaf", c.QuantizedD, nil, nil},
		{"unknown digest", attest.Digest("sha256:" + strings.Repeat("9", 64)), nil, nil},
		// A tampered artifact is known by two digests (signed and on disk):
		// what derives from either is listed once, at its nearest depth.
		{"several identities", attest.Digest("sha256:" + strings.Repeat("9", 64)), []attest.Digest{c.BaseD},
			[]row{{c.FineTune, 1, attest.RoleBaseModel}, {c.Quantized, 2, attest.RoleBaseModel}}},
		{"roots are not listed", c.DatasetD, []attest.Digest{c.BaseD},
			[]row{{c.FineTune, 1, attest.RoleDataset}, {c.Quantized, 2, attest.RoleBaseModel}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lineage.Impact(context.Background(), idx, tt.from, tt.more...)
			if err != nil {
				t.Fatal(err)
			}
			var rows []row
			for _, g := range got {
				if len(g.Paths) != 1 {
					t.Errorf("%s: paths %v", g.Digest, g.Paths)
					continue
				}
				rows = append(rows, row{g.Paths[0], g.Depth, g.Role})
			}
			if diff := cmp.Diff(tt.want, rows); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestAncestry(t *testing.T) {
	k := attesttest.NewKey(t)
	c := attesttest.NewChain(t, t.TempDir(), k.Signer())
	idx := index(t, c.Dir)
	// render flattens a tree as "indent name provenance [flags]".
	var render func(n *lineage.Node, depth int, b *strings.Builder)
	render = func(n *lineage.Node, depth int, b *strings.Builder) {
		fmt.Fprintf(b, "%s%s %s %s", strings.Repeat("  ", depth), n.Name, n.Role, n.Provenance)
		if n.Truncated {
			b.WriteString(" truncated")
		}
		if len(n.Code) > 0 {
			b.WriteString(" code=" + n.Code[0].URI)
		}
		b.WriteString("\n")
		for _, p := range n.Parents {
			render(p, depth+1, b)
		}
	}
	tests := []struct {
		depth int
		want  string
	}{
		{-1, `quantized  recorded
  finetune base-model recorded
    base base-model recorded code=git+https://git.example/train
      corpus dataset unknown
    corpus dataset unknown
`},
		{1, `quantized  recorded
  finetune base-model recorded truncated
`},
		{0, `quantized  recorded truncated
`},
	}
	for _, tt := range tests {
		n, err := lineage.Ancestry(context.Background(), idx, c.QuantizedD, tt.depth)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		render(n, 0, &b)
		if diff := cmp.Diff(tt.want, b.String()); diff != "" {
			t.Errorf("depth %d (-want +got):\n%s", tt.depth, diff)
		}
	}
	if n, _ := lineage.Ancestry(context.Background(), idx, c.QuantizedD, -1); len(n.Paths) != 1 || n.Paths[0] != c.Quantized {
		t.Errorf("root paths %v", n.Paths)
	}
}

// TestVerifyChain walks the three-generation chain: every link verifies,
// the shared dataset is hashed once, and the roots' unknown provenance is
// reported.
func TestVerifyChain(t *testing.T) {
	k := attesttest.NewKey(t)
	c := attesttest.NewChain(t, t.TempDir(), k.Signer())
	h := &attest.Hasher{}
	rep, err := lineage.VerifyChain(context.Background(), c.Quantized, lineage.ChainOptions{
		Verifier: k.Verifier(), Evidence: index(t, c.Dir), Hasher: h})
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ Path, Status, Provenance, Reason string }
	var rows []row
	for _, l := range rep.Links {
		rows = append(rows, row{l.Path, l.Status, l.Provenance, l.Reason})
	}
	want := []row{
		{c.Quantized, lineage.LinkVerified, lineage.ProvenanceRecorded, ""},
		{c.FineTune, lineage.LinkVerified, lineage.ProvenanceRecorded, ""},
		{c.Base, lineage.LinkVerified, lineage.ProvenanceRecorded, ""},
		{c.Dataset, lineage.LinkVerified, lineage.ProvenanceUnknown, ""},
		{c.Dataset, lineage.LinkVerified, lineage.ProvenanceUnknown, "verified above"},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("links (-want +got):\n%s", diff)
	}
	if !rep.OK || rep.FirstBroken != -1 {
		t.Errorf("OK %v, first broken %d", rep.OK, rep.FirstBroken)
	}
	if diff := cmp.Diff([]string{c.Dataset}, rep.Unknown); diff != "" {
		t.Errorf("unknown provenance (-want +got):\n%s", diff)
	}
	// Four artifacts, the dataset shared by two children: four hashes.
	if h.Count() != 4 || rep.Hashed != 4 {
		t.Errorf("hashed %d (report %d), want 4: each artifact once", h.Count(), rep.Hashed)
	}
	if rep.Links[2].Code == nil || rep.Links[2].Code[0].Commit == "" {
		t.Errorf("base model's code input not reported: %+v", rep.Links[2].Code)
	}
}

func replaceClaims(t *testing.T, path string, lines ...[]byte) {
	t.Helper()
	var b bytes.Buffer
	for _, l := range lines {
		b.Write(l)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(path, evidence.ClaimsName), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func firstClaim(t *testing.T, path string) []byte {
	t.Helper()
	var out []byte
	attest.ReadClaimsFile(filepath.Join(path, evidence.ClaimsName), func(c attest.Claim) error {
		if out == nil {
			out = bytes.Clone(c.Bundle)
		}
		return nil
	})
	return out
}

func tamper(t *testing.T, line []byte, from, to string) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(line, &b); err != nil {
		t.Fatal(err)
	}
	env := b["dsseEnvelope"].(map[string]any)
	p, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
	if !bytes.Contains(p, []byte(from)) {
		t.Fatalf("payload has no %q", from)
	}
	env["payload"] = base64.StdEncoding.EncodeToString(bytes.Replace(p, []byte(from), []byte(to), 1))
	out, _ := json.Marshal(b)
	return out
}

// TestVerifyChainBroken breaks the chain in each way the issue names and
// checks the first broken link and its reason.
func TestVerifyChainBroken(t *testing.T) {
	ctx := context.Background()
	k, other := attesttest.NewKey(t), attesttest.NewKey(t)
	tests := []struct {
		name       string
		breakIt    func(t *testing.T, c *attesttest.Chain)
		target     func(c *attesttest.Chain) string
		ok         bool
		brokenPath func(c *attesttest.Chain) string
		reason     []string
		warning    string
	}{
		{
			name: "tampered provenance",
			breakIt: func(t *testing.T, c *attesttest.Chain) {
				replaceClaims(t, c.FineTune, tamper(t, firstClaim(t, c.FineTune), `"epochs":3`, `"epochs":4`))
			},
			brokenPath: func(c *attesttest.Chain) string { return c.FineTune },
			reason:     []string{"provenance claim", "claims.jsonl:1 is invalid", "DSSE signature does not verify"},
		},
		{
			name: "parent digest no longer matches",
			breakIt: func(t *testing.T, c *attesttest.Chain) {
				attesttest.WriteFile(t, filepath.Join(c.Base, "weights.bin"), "swapped weights")
				attesttest.Sign(t, c.Base, k.Signer()) // re-signed: its signature is fine
			},
			brokenPath: func(c *attesttest.Chain) string { return c.Base },
			reason:     []string{"parent digest no longer matches", "claims.jsonl:1 recorded base-model sha256:", "models/base is sha256:"},
		},
		{
			name: "parent changed after signing",
			breakIt: func(t *testing.T, c *attesttest.Chain) {
				attesttest.WriteFile(t, filepath.Join(c.Dataset, "train.jsonl"), "poisoned\n")
			},
			brokenPath: func(c *attesttest.Chain) string { return c.Dataset },
			reason:     []string{"does not match its signature", "changed: train.jsonl"},
		},
		{
			name: "missing parent",
			breakIt: func(t *testing.T, c *attesttest.Chain) {
				if err := os.RemoveAll(c.Base); err != nil {
					t.Fatal(err)
				}
			},
			brokenPath: func(c *attesttest.Chain) string { return "" },
			reason:     []string{"missing parent: base-model \"base\"", "is not in the evidence"},
		},
		{
			name: "provenance signed by an untrusted key",
			breakIt: func(t *testing.T, c *attesttest.Chain) {
				os.Remove(filepath.Join(c.FineTune, evidence.ClaimsName))
				attesttest.Provenance(t, c.FineTune, c.FineTuneD, other.Signer(), attest.RunFineTuning,
					attest.Dependency{Role: attest.RoleBaseModel, Name: "base", Digest: c.BaseD})
			},
			brokenPath: func(c *attesttest.Chain) string { return c.FineTune },
			reason:     []string{"provenance claim", "key mismatch"},
		},
		{
			name: "parent signed by an untrusted key",
			breakIt: func(t *testing.T, c *attesttest.Chain) {
				attesttest.Sign(t, c.Dataset, other.Signer())
			},
			brokenPath: func(c *attesttest.Chain) string { return c.Dataset },
			reason:     []string{"signature", "is invalid", "key mismatch"},
		},
		{
			name: "unsigned parent",
			breakIt: func(t *testing.T, c *attesttest.Chain) {
				os.Remove(filepath.Join(c.Base, evidence.SignatureName))
			},
			brokenPath: func(c *attesttest.Chain) string { return c.Base },
			reason:     []string{"has no signature"},
		},
		{
			name: "eval claim by an untrusted key and a line that is not a bundle only warn",
			breakIt: func(t *testing.T, c *attesttest.Chain) {
				e := &attest.Eval{Subject: attest.Subject{Digest: c.QuantizedD}, MetricsFile: []byte(`{"acc":1}`)}
				st, _ := e.Statement()
				attesttest.Claim(t, c.Quantized, other.Signer(), st)
				f, _ := os.OpenFile(filepath.Join(c.Quantized, evidence.ClaimsName), os.O_APPEND|os.O_WRONLY, 0)
				f.WriteString("garbage\n")
				f.Close()
			},
			ok:      true,
			warning: "claims.jsonl:3: invalid: claims line is not a Sigstore bundle",
		},
		{
			name: "model without provenance",
			breakIt: func(t *testing.T, c *attesttest.Chain) {
				os.Remove(filepath.Join(c.Quantized, evidence.ClaimsName))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := attesttest.NewChain(t, t.TempDir(), k.Signer())
			tt.breakIt(t, c)
			rep, err := lineage.VerifyChain(ctx, c.Quantized, lineage.ChainOptions{Verifier: k.Verifier(), Evidence: index(t, c.Dir)})
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK != tt.ok {
				t.Errorf("OK = %v, want %v", rep.OK, tt.ok)
			}
			if tt.brokenPath == nil {
				if rep.FirstBroken != -1 {
					t.Errorf("broken link %+v", rep.Links[rep.FirstBroken])
				}
				if tt.warning != "" && !strings.Contains(strings.Join(rep.Links[0].Warnings, "\n"), tt.warning) {
					t.Errorf("warnings %q, want %q", rep.Links[0].Warnings, tt.warning)
				}
				if !tt.ok && rep.Links[0].Provenance != lineage.ProvenanceUnknown {
					t.Errorf("model provenance %q, want unknown", rep.Links[0].Provenance)
				}
				return
			}
			if rep.FirstBroken < 0 {
				t.Fatalf("no broken link: %+v", rep.Links)
			}
			l := rep.Links[rep.FirstBroken]
			if l.Path != tt.brokenPath(c) {
				t.Errorf("first broken link at %q, want %q (%s)", l.Path, tt.brokenPath(c), l.Reason)
			}
			for _, w := range tt.reason {
				if !strings.Contains(l.Reason, w) {
					t.Errorf("reason %q does not say %q", l.Reason, w)
				}
			}
		})
	}
}

// TestVerifyChainCertificate runs the chain with the certificate method.
func TestVerifyChainCertificate(t *testing.T) {
	ca := attesttest.NewCA(t)
	c := attesttest.NewChain(t, t.TempDir(), ca.CertSigner)
	rep, err := lineage.VerifyChain(context.Background(), c.Quantized, lineage.ChainOptions{
		Verifier: ca.CertVerifier, Evidence: index(t, c.Dir)})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK {
		t.Errorf("chain signed with certificates does not verify: %+v", rep.Links)
	}
	// A key verifier refuses certificate-signed links precisely.
	k := attesttest.NewKey(t)
	rep, _ = lineage.VerifyChain(context.Background(), c.Quantized, lineage.ChainOptions{
		Verifier: k.Verifier(), Evidence: index(t, c.Dir)})
	if rep.OK || !strings.Contains(rep.Links[0].Reason, "certificate chain, not a key") {
		t.Errorf("key verifier on certificate chain: %+v", rep.Links[0])
	}
}

// TestAnyVerifier accepts links signed by either of two trusted keys.
func TestAnyVerifier(t *testing.T) {
	a, b := attesttest.NewKey(t), attesttest.NewKey(t)
	c := attesttest.NewChain(t, t.TempDir(), a.Signer())
	attesttest.Sign(t, c.Dataset, b.Signer())
	v := attest.AnyVerifier{a.Verifier(), b.Verifier()}
	rep, err := lineage.VerifyChain(context.Background(), c.Quantized, lineage.ChainOptions{Verifier: v, Evidence: index(t, c.Dir)})
	if err != nil || !rep.OK {
		t.Errorf("OK %v, err %v", rep.OK, err)
	}
	var _ signing.Verifier = v
}

func TestVerifyChainDepth(t *testing.T) {
	k := attesttest.NewKey(t)
	c := attesttest.NewChain(t, t.TempDir(), k.Signer())
	rep, err := lineage.VerifyChain(context.Background(), c.Quantized, lineage.ChainOptions{
		Verifier: k.Verifier(), Evidence: index(t, c.Dir), MaxDepth: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Links) != 2 || !strings.Contains(strings.Join(rep.Links[1].Warnings, ""), "2 parents not verified: beyond the depth limit 1") {
		t.Errorf("links %+v", rep.Links)
	}
}

// TestVerifyChainKeyless builds and verifies the three-generation chain
// signed keyless (sigstore-go against a virtual Fulcio and Rekor); a
// verifier expecting another identity breaks it at the model.
func TestVerifyChainKeyless(t *testing.T) {
	const identity, issuer = "trainer@acme.example", "https://issuer.acme.example"
	v := sigstoretest.New(t)
	token := sigstoretest.Token(map[string]any{"sub": "1", "email": identity, "email_verified": true, "iss": issuer})
	c := attesttest.NewChain(t, t.TempDir(), &signing.SigstoreSigner{FulcioURL: v.URL, RekorURL: v.URL, IDToken: token, TrustedMaterial: v})
	h := &attest.Hasher{}
	rep, err := lineage.VerifyChain(context.Background(), c.Quantized, lineage.ChainOptions{
		Verifier: &signing.SigstoreVerifier{TrustedMaterial: v, Identity: identity, Issuer: issuer}, Evidence: index(t, c.Dir), Hasher: h})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || len(rep.Links) != 5 || rep.Hashed != 4 {
		t.Errorf("keyless chain: OK %v, %d links, %d hashed: %+v", rep.OK, len(rep.Links), rep.Hashed, rep.Links)
	}
	rep, err = lineage.VerifyChain(context.Background(), c.Quantized, lineage.ChainOptions{
		Verifier: &signing.SigstoreVerifier{TrustedMaterial: v, Identity: "mallory@acme.example", Issuer: issuer}, Evidence: index(t, c.Dir)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || rep.FirstBroken != 0 || !strings.Contains(rep.Links[0].Reason, "mallory@acme.example") {
		t.Errorf("wrong identity: %+v", rep.Links)
	}
}
