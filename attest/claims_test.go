package attest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/attest/attesttest"
	"github.com/mlsecops/mlsec/signing"
)

func TestReadClaims(t *testing.T) {
	long := strings.Repeat("x", attest.MaxClaimSize+10)
	tests := []struct {
		name  string
		in    string
		lines []int
		errs  []int // lines reported with Err
	}{
		{"empty", "", nil, nil},
		{"one no newline", "a", []int{1}, nil},
		{"blank lines skipped", "a\n\n  \nb\n", []int{1, 4}, nil},
		{"crlf", "a\r\nb\r\n", []int{1, 2}, nil},
		{"too long keeps going", "a\n" + long + "\nc\n", []int{1, 2, 3}, []int{2}},
		{"too long at eof", "a\n" + long, []int{1, 2}, []int{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lines, errs []int
			err := attest.ReadClaims(strings.NewReader(tt.in), func(c attest.Claim) error {
				lines = append(lines, c.Line)
				if c.Err != nil {
					errs = append(errs, c.Line)
					if !errors.Is(c.Err, attest.ErrNotBundle) {
						t.Errorf("line %d: %v, want ErrNotBundle", c.Line, c.Err)
					}
				} else if bytes.ContainsAny(c.Bundle, "\r\n ") {
					t.Errorf("line %d not trimmed: %q", c.Line, c.Bundle)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]any{tt.lines, tt.errs}, []any{lines, errs}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestClaimsFile appends good and bad claims beside a signed model: each
// claim gets a precise verdict, none hides another, and the model's
// signature still verifies after every append.
func TestClaimsFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	trusted, untrusted := attesttest.NewKey(t), attesttest.NewKey(t)
	model := attesttest.Artifact(t, filepath.Join(dir, "model"), map[string]string{"weights.bin": "w", "config.json": "{}"})
	digest := attesttest.Sign(t, model, trusted.Signer())
	h := &attest.Hasher{}
	subj, err := attest.Identify(ctx, h, model)
	if err != nil {
		t.Fatal(err)
	}
	if subj.Digest != digest || subj.Name != "model" {
		t.Fatalf("Identify = %+v, want the signed digest %s", subj, digest)
	}
	claims := filepath.Join(model, attest.ClaimsFileName)
	sign := func(s signing.Signer, st []byte) []byte {
		line, err := attest.Sign(ctx, s, st)
		if err != nil {
			t.Fatal(err)
		}
		return line
	}
	prov := &attest.Provenance{Subject: subj, BuilderID: "https://ci.example/b",
		Dependencies: []attest.Dependency{{Role: attest.RoleDataset, Name: "d", Digest: digestB}}}
	provSt, err := prov.Statement()
	if err != nil {
		t.Fatal(err)
	}
	ev := goldenEval()
	ev.Subject = subj
	evalSt, _ := ev.Statement()
	otherSt, _ := (&attest.Provenance{Subject: attest.Subject{Name: "x", Digest: digestC}, BuilderID: "b"}).Statement()
	good := sign(trusted.Signer(), provSt)
	appends := [][]byte{
		good,                             // 1 valid provenance
		sign(untrusted.Signer(), evalSt), // 2 untrusted key
		nil,                              // 3 not a bundle (written raw below)
		tamper(t, good, `"runType":"training"`, `"runType":"poisoned"`), // 4 tampered provenance
		sign(trusted.Signer(), otherSt),                                 // 5 about another artifact
		sign(trusted.Signer(), evalSt),                                  // 6 valid eval
	}
	for i, line := range appends {
		if line == nil {
			f, err := os.OpenFile(claims, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(`{"this is": "not a bundle"}` + "\n")
			f.Close()
			if err := attest.AppendClaim(claims, []byte(`{"nope":1}`)); !errors.Is(err, attest.ErrNotBundle) {
				t.Errorf("AppendClaim of a non-bundle: %v, want ErrNotBundle", err)
			}
			continue
		}
		if err := attest.AppendClaim(claims, line); err != nil {
			t.Fatalf("append %d: %v", i+1, err)
		}
		// The model's own signature is untouched by the claims file.
		sig, _ := signing.ReadBundleFile(filepath.Join(model, attest.DefaultSignatureName))
		if _, err := signing.Verify(ctx, model, sig, trusted.Verifier(), signing.VerifyOptions{
			IgnorePaths: []string{attest.DefaultSignatureName, attest.ClaimsFileName}}); err != nil {
			t.Fatalf("model signature after append %d: %v", i+1, err)
		}
		if _, err := attest.VerifyArtifact(ctx, h, trusted.Verifier(), model); err != nil {
			t.Fatalf("VerifyArtifact after append %d: %v", i+1, err)
		}
	}
	if h.Count() != 1 {
		t.Errorf("model hashed %d times, want 1", h.Count())
	}
	type verdict struct {
		Line   int
		Status attest.ClaimStatus
		Reason string // substring
	}
	want := []verdict{
		{1, attest.ClaimValid, ""},
		{2, attest.ClaimInvalid, "key mismatch"},
		{3, attest.ClaimInvalid, "not a Sigstore bundle"},
		{4, attest.ClaimInvalid, "DSSE signature does not verify"},
		{5, attest.ClaimOtherSubject, "the claim is about [" + string(digestC) + "]"},
		{6, attest.ClaimValid, ""},
	}
	f, err := os.Open(claims)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []verdict
	err = attest.VerifyClaims(ctx, f, digest, trusted.Verifier(), func(r attest.ClaimResult) error {
		got = append(got, verdict{r.Line, r.Status, r.Reason})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d verdicts, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].Line != want[i].Line || got[i].Status != want[i].Status || !strings.Contains(got[i].Reason, want[i].Reason) {
			t.Errorf("claim %d: got %+v, want %+v", i+1, got[i], want[i])
		}
		// Reasons are for people: no package prefixes, and a line that is
		// not a bundle is not called an invalid signature.
		if strings.Contains(got[i].Reason, "signing: ") || strings.Contains(got[i].Reason, "attest: ") ||
			want[i].Line == 3 && strings.Contains(got[i].Reason, "invalid signature") {
			t.Errorf("claim %d: reason %q", i+1, got[i].Reason)
		}
	}
}

func TestAppendClaimAddsMissingNewline(t *testing.T) {
	ctx := context.Background()
	k := attesttest.NewKey(t)
	p := filepath.Join(t.TempDir(), "claims.jsonl")
	st, _ := goldenProvenance().Statement()
	line, _ := attest.Sign(ctx, k.Signer(), st)
	if err := os.WriteFile(p, line, 0o644); err != nil { // no trailing newline
		t.Fatal(err)
	}
	if err := attest.AppendClaim(p, line); err != nil {
		t.Fatal(err)
	}
	n := 0
	attest.ReadClaimsFile(p, func(c attest.Claim) error {
		if _, err := attest.Verify(ctx, k.Verifier(), c.Bundle); err != nil {
			t.Errorf("line %d: %v", c.Line, err)
		}
		n++
		return nil
	})
	if n != 2 {
		t.Errorf("read %d claims, want 2", n)
	}
	if err := attest.AppendClaim(p, append([]byte("\n"), line...)); err == nil {
		t.Error("AppendClaim accepted a multi-line claim")
	}
}

func TestSingleFileArtifactPaths(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "model.gguf")
	attesttest.WriteFile(t, f, "gguf")
	cp, _ := attest.ClaimsPath(f)
	sp, _ := attest.SignaturePath(f)
	if cp != f+".claims.jsonl" || sp != f+".sig" {
		t.Errorf("ClaimsPath %s, SignaturePath %s", cp, sp)
	}
	k := attesttest.NewKey(t)
	d := attesttest.Sign(t, f, k.Signer())
	chk, err := attest.VerifyArtifact(context.Background(), &attest.Hasher{}, k.Verifier(), f)
	if err != nil || chk.Digest != d {
		t.Errorf("VerifyArtifact = %+v, %v; want digest %s", chk, err, d)
	}
}

// FuzzReadClaims feeds arbitrary bytes through the claims reader, the
// bundle and statement parsers and the predicate checks: no panic, and
// every non-blank line is reported exactly once.
func FuzzReadClaims(f *testing.F) {
	for _, name := range []string{"provenance", "scan", "eval", "bom"} {
		st, err := os.ReadFile(filepath.Join("testdata", "golden", name+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(st)
	}
	if seed, err := os.ReadFile(filepath.Join("testdata", "claims.jsonl")); err == nil {
		f.Add(seed)
	}
	f.Add([]byte("{}\n\n{\"dsseEnvelope\":{}}\r\nnot json"))
	f.Fuzz(func(t *testing.T, data []byte) {
		nonBlank := 0
		for _, l := range bytes.Split(data, []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 {
				nonBlank++
			}
		}
		seen := 0
		err := attest.ReadClaims(bytes.NewReader(data), func(c attest.Claim) error {
			seen++
			if c.Err != nil {
				return nil
			}
			if st, err := attest.PeekStatement(c.Bundle); err == nil {
				_ = attest.CheckPredicate(st)
				if st.GetPredicateType() == attest.ProvenanceType {
					attest.ProvenanceOf(st)
				}
			}
			if pk, err := attest.PeekClaim(c.Bundle); err == nil && len(pk.Subjects) == 0 {
				t.Errorf("PeekClaim accepted a claim without subjects")
			}
			if st, err := attest.ParseStatement(c.Bundle); err == nil {
				_ = attest.CheckPredicate(st)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if seen != nonBlank {
			t.Errorf("reported %d lines, input has %d non-blank lines", seen, nonBlank)
		}
	})
}

// TestClaimsSeed keeps testdata/claims.jsonl, the fuzz seed, readable: a
// signed provenance, a broken line and a signed eval (written by -update).
func TestClaimsSeed(t *testing.T) {
	p := filepath.Join("testdata", "claims.jsonl")
	if *update {
		k := attesttest.NewKey(t)
		prov, _ := goldenProvenance().Statement()
		ev, _ := goldenEval().Statement()
		a, _ := attest.Sign(context.Background(), k.Signer(), prov)
		b, _ := attest.Sign(context.Background(), k.Signer(), ev)
		data := string(a) + "\n{\"not\":\"a bundle\"}\n" + string(b) + "\n"
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var types []string
	err := attest.ReadClaimsFile(p, func(c attest.Claim) error {
		st, err := attest.PeekStatement(c.Bundle)
		if err != nil {
			types = append(types, "error")
			return nil
		}
		types = append(types, st.GetPredicateType())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{attest.ProvenanceType, "error", attest.TestResultType}, types); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestPeekClaimAgrees checks that the index's fast reader sees the same
// provenance as the full parser, and rejects what the index relies on.
func TestPeekClaimAgrees(t *testing.T) {
	ctx := context.Background()
	k := attesttest.NewKey(t)
	want := goldenProvenance()
	st, _ := want.Statement()
	line, _ := attest.Sign(ctx, k.Signer(), st)
	pk, err := attest.PeekClaim(line)
	if err != nil {
		t.Fatal(err)
	}
	full, _ := attest.ParseStatement(st)
	prov, _ := attest.ProvenanceOf(full)
	if diff := cmp.Diff(prov.Dependencies, pk.Provenance.Dependencies); diff != "" {
		t.Errorf("dependencies (-full +peek):\n%s", diff)
	}
	if pk.PredicateType != attest.ProvenanceType || pk.SubjectName != "finetune" || pk.Subjects[0] != digestA ||
		pk.Provenance.RunType != want.RunType || pk.Provenance.BuilderID != want.BuilderID || pk.Provenance.InvocationID != want.InvocationID {
		t.Errorf("peek %+v / %+v", pk, pk.Provenance)
	}
	for name, bad := range map[string][]byte{
		"not json":       []byte("x"),
		"no envelope":    []byte(`{"mediaType":"x"}`),
		"payload type":   []byte(`{"dsseEnvelope":{"payload":"e30=","payloadType":"text/plain"}}`),
		"statement type": tamper(t, line, attest.StatementType, "https://in-toto.io/Statement/v9"),
		"subject digest": tamper(t, line, digestA.Hex(), "zz"),
		"dependency":     tamper(t, line, digestB.Hex(), "12"),
		"no builder":     tamper(t, line, `"id":"https://ci.example/builders/gpu-runner@v2"`, `"id":""`),
	} {
		if _, err := attest.PeekClaim(bad); err == nil {
			t.Errorf("%s: PeekClaim accepted it", name)
		}
	}
}

// TestKeylessClaim verifies a real keyless (Sigstore public-good) bundle
// from the reference's vectors as a claim, offline against the trusted
// root: the claims machinery is generic over the signing methods.
func TestKeylessClaim(t *testing.T) {
	const vec = "../signing/testdata/interop/model-transparency/scripts/tests/v1.0.0-sigstore"
	raw, err := os.ReadFile(filepath.Join(vec, "model.sig"))
	if err != nil {
		t.Skipf("reference vectors not present: %v", err)
	}
	tm, err := signing.LoadTrustedRoot("../signing/testdata/interop/sigstore/trusted-root-public-good.json")
	if err != nil {
		t.Fatal(err)
	}
	var line bytes.Buffer
	if err := json.Compact(&line, raw); err != nil {
		t.Fatal(err)
	}
	claims := filepath.Join(t.TempDir(), "claims.jsonl")
	if err := attest.AppendClaim(claims, line.Bytes()); err != nil {
		t.Fatal(err)
	}
	pk, err := attest.PeekClaim(line.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	const issuer = "https://sigstore.verify.ibm.com/oauth2"
	for _, tt := range []struct {
		identity string
		status   attest.ClaimStatus
		reason   string
	}{
		{"stefanb@us.ibm.com", attest.ClaimValid, ""},
		{"mallory@example.com", attest.ClaimInvalid, "mallory@example.com"},
	} {
		v := &signing.SigstoreVerifier{TrustedMaterial: tm, Identity: tt.identity, Issuer: issuer}
		var got []attest.ClaimResult
		err := attest.ReadClaimsFile(claims, func(c attest.Claim) error {
			got = append(got, attest.VerifyClaim(context.Background(), c, pk.Subjects[0], v))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Status != tt.status || !strings.Contains(got[0].Reason, tt.reason) {
			t.Errorf("identity %s: %+v", tt.identity, got)
		}
	}
}

// TestClaimsFileCoveredBySignature: a model signed elsewhere with a file
// named claims.jsonl inside keeps verifying (the file is hashed because
// the signature covers it), as mlsec verify does.
func TestClaimsFileCoveredBySignature(t *testing.T) {
	ctx := context.Background()
	k := attesttest.NewKey(t)
	model := attesttest.Artifact(t, filepath.Join(t.TempDir(), "m"), map[string]string{"w": "x", attest.ClaimsFileName: "data, not claims\n"})
	res, err := signing.Sign(ctx, model, k.Signer(), signing.HashOptions{IgnorePaths: []string{attest.DefaultSignatureName}})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(model, attest.DefaultSignatureName), res.Bundle, 0o644)
	chk, err := attest.VerifyArtifact(ctx, &attest.Hasher{}, k.Verifier(), model)
	if err != nil || chk.Digest != attest.DigestOf(res.Manifest.RootDigest()) {
		t.Errorf("VerifyArtifact = %+v, %v", chk, err)
	}
}

// TestClaimsFileNotRegular: a hostile model directory cannot make attest
// append to another file through a claims.jsonl symlink, nor hang a reader
// with a claims file that never ends.
func TestClaimsFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("keep\n"), 0o644)
	link := filepath.Join(dir, "claims.jsonl")
	if err := os.Symlink(victim, link); err != nil {
		t.Skip(err)
	}
	k := attesttest.NewKey(t)
	st, _ := attest.ScanStatement(attest.Subject{Name: "m", Digest: digestA}, goldenScanDoc())
	line, _ := attest.Sign(context.Background(), k.Signer(), st)
	if err := attest.AppendClaim(link, line); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("AppendClaim through a symlink: %v", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep\n" {
		t.Errorf("victim written: %q", b)
	}
	endless := filepath.Join(dir, "endless.jsonl")
	if err := os.Symlink("/dev/zero", endless); err != nil {
		t.Skip(err)
	}
	err := attest.ReadClaimsFile(endless, func(attest.Claim) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("ReadClaimsFile(/dev/zero): %v", err)
	}
}
