package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/list"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/transport"
)

// The checks a receiving command (pull, unseal) runs on a quarantined
// model before it lands: the OMS signature, then the scanner.

// refusal is a check that failed on the received content (exit 1): the
// receiving command prints it with "DIR untouched".
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

func refuse(format string, args ...any) error { return &refusal{fmt.Sprintf(format, args...)} }

// sigCandidate is one OMS signature that arrived with a model.
type sigCandidate struct {
	label  string // where it came from, for messages
	bundle []byte
}

// signatureOutcome is what verifySignatures decided.
type signatureOutcome struct {
	check attest.SignatureCheck
	chose string   // the candidate that landed as the model's signature
	notes []string // candidates ignored, and why
}

// verifySignatures checks every candidate signature of the model at
// model (quarantined, directory or file) against v. Each one is verified:
// a candidate from a trusted signer must match the files (one that does
// not refuses the model: a trusted signer vouches for other content); a
// candidate no trusted signer made is ignored and named in the notes. At
// least one must verify. digests, when not nil, are the directory
// model's files' SHA-256 digests taken while they arrived (the signature
// is then checked without reading the files again). The verified
// signature is left at the evidence layout's signature path.
func verifySignatures(ctx context.Context, v signing.Verifier, model string, digests map[string][]byte, cands []sigCandidate) (*signatureOutcome, error) {
	if len(cands) == 0 {
		return nil, refuse("the model has no OMS signature")
	}
	sigPath, _, err := transport.EvidencePaths(model)
	if err != nil {
		return nil, err
	}
	h := &attest.Hasher{}
	out := &signatureOutcome{}
	var first []byte
	var untrusted []string
	for _, c := range cands {
		os.Remove(sigPath)
		if err := writeNew(sigPath, c.bundle); err != nil {
			return nil, refuse("signature %s: %v", c.label, err)
		}
		var check attest.SignatureCheck
		applied := false
		if digests != nil {
			check.Digest, applied, err = transport.VerifyStreamed(ctx, v, c.bundle, digests)
		}
		if !applied {
			check, err = attest.VerifyArtifact(ctx, h, v, model)
		}
		switch {
		case err == nil:
			if first == nil {
				first, out.check, out.chose = c.bundle, check, c.label
			} else if check.Digest != out.check.Digest {
				return nil, refuse("signatures %s and %s verify over different digests (%s, %s)", out.chose, c.label, out.check.Digest, check.Digest)
			}
		case errors.Is(err, signing.ErrMismatch):
			return nil, refuse("signature %s is from a trusted signer but does not match the files: %v", c.label, err)
		case signing.IsNegative(err) || errors.Is(err, signing.ErrInvalidSignature):
			untrusted = append(untrusted, fmt.Sprintf("%s: %v", c.label, err))
		default:
			return nil, mlsec.Errorf(mlsec.EIO, "verify %s: %w", c.label, err)
		}
	}
	if first == nil {
		return nil, refuse("no signature verifies: %s", strings.Join(untrusted, "; "))
	}
	for _, u := range untrusted {
		out.notes = append(out.notes, "ignored signature "+u)
	}
	os.Remove(sigPath)
	if err := writeNew(sigPath, first); err != nil {
		return nil, refuse("signature: %v", err)
	}
	return out, nil
}

// scanReceived runs the scanner over the quarantined model, fail closed:
// a finding at or above threshold (a file that could not be analysed is a
// finding) refuses it. root is trimmed from the paths printed.
func scanReceived(ctx context.Context, app *App, cfg scan.Config, threshold mlsec.Severity, model, root string) error {
	dets, err := list.All(cfg)
	if err != nil {
		return usageError(err)
	}
	res, err := scan.NewRunner(dets, cfg, scan.Options{Log: app.Log}).Scan(ctx, []string{model})
	if err != nil {
		return mlsec.Errorf(mlsec.EIO, "scan: %w", err)
	}
	findings := res.Findings()
	if max := mlsec.MaxSeverity(findings); max >= threshold {
		for _, f := range findings {
			if f.Severity >= threshold {
				fmt.Fprintf(app.Stderr, "  %s %s %s: %s\n", f.Severity, f.RuleID, strings.TrimPrefix(f.Path, root+string(filepath.Separator)), f.Message)
			}
		}
		return refuse("scan: %s finding(s) at or above %s", max, threshold)
	}
	fmt.Fprintf(app.Stderr, "scan: %d finding(s), none at or above %s\n", len(findings), threshold)
	return nil
}
