package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/transport"
	"github.com/mlsecops/mlsec/transport/seal"
)

func newSealCmd(app *App) *cobra.Command {
	var (
		recipients     []string
		recipientFiles []string
		output         string
	)
	cmd := &cobra.Command{
		Use:   "seal [flags] PATH --recipient age1... -o FILE",
		Short: "Encrypt a model with its signature and claims into one age bundle",
		Long: `Seal writes PATH (a model directory, or a model file) together with the
evidence the evidence layout keeps with it (the OMS signature and the claims
file) into one bundle encrypted with age to every --recipient (age1...
public keys, also post-quantum age1pq1... ones) and every key in
--recipients-file. Sealing streams: memory stays bounded whatever the size.
FILE is written beside itself and renamed when complete; "-" is stdout.

Open the bundle with "mlsec unseal FILE --identity KEY --key SIGNER.pub DIR"
(or --ca-bundle, or --signer-identity with --issuer): age authenticates the
bundle, not who made it, since anyone holding a recipient's public key can
seal for it, so unseal verifies the model's OMS signature before landing
it. Seal an unsigned model only for "unseal --insecure-skip-verify".`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" {
				return mlsec.Errorf(mlsec.EINVALID, "seal: -o FILE is required (- for stdout)")
			}
			rs, err := parseRecipients(recipients, recipientFiles)
			if err != nil {
				return err
			}
			a, err := transport.Collect(args[0])
			if err != nil {
				return mlsec.Errorf(mlsec.EINVALID, "seal: %w", err)
			}
			if output != "-" {
				if err := outputOutside(args[0], a, output); err != nil {
					return mlsec.Errorf(mlsec.EINVALID, "seal: %w", err)
				}
			}
			var idx *seal.Index
			write := func(w io.Writer) error {
				idx, err = seal.Write(cmd.Context(), w, a, rs...)
				return err
			}
			if output == "-" {
				err = write(app.Stdout)
			} else {
				err = writeFileAtomic(output, write)
			}
			if err != nil {
				return mlsec.Errorf(mlsec.EIO, "%w", err)
			}
			fmt.Fprintf(app.Stderr, "sealed %s: %d files, %s, signature %s, claims %s, for %d recipient(s)\n",
				args[0], len(idx.Files), humanBytes(a.Size()), yesNo(a.Has(transport.RoleSignature)), yesNo(a.Has(transport.RoleClaims)), len(rs))
			if !a.Has(transport.RoleSignature) {
				fmt.Fprintf(app.Stderr, "warning: %s is not signed; the recipient cannot tell who made it (mlsec sign first)\n", args[0])
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&recipients, "recipient", "r", nil, "age recipient (age1... or age1pq1... public key; repeatable)")
	f.StringSliceVarP(&recipientFiles, "recipients-file", "R", nil, "file of age recipients, one a line (repeatable)")
	f.StringVarP(&output, "output", "o", "", "bundle to write (- for stdout)")
	return cmd
}

type unsealFlags struct {
	identities []string
	trust      trustFlags
	skipVerify bool
	failOn     string
	scanConfig string
}

func newUnsealCmd(app *App) *cobra.Command {
	var fl unsealFlags
	cmd := &cobra.Command{
		Use:   "unseal [flags] FILE --identity KEY {--key PUB | --ca-bundle PEM | --signer-identity ID --issuer URL} DIR",
		Short: "Decrypt and check a sealed bundle (age, index, signature, scan), then land it in DIR",
		Long: `Unseal is verify-then-land, like pull. It decrypts the age bundle FILE ("-"
for stdin) with the identities in the --identity files (age-keygen output)
into a quarantine directory beside DIR, reads it to its authenticated end,
checks every file against the bundle's index (hashing each file once, as it
is written), verifies the model's OMS signature with the same trust flags
as mlsec verify and pull (--key, --ca-bundle, --signer-identity with
--issuer, --trusted-root, --no-sct; --identity names the age key here), and
scans it (fail closed at --fail-on). Only then is the quarantine directory
renamed to DIR, in one step. DIR must not exist or be an empty directory.

age authenticates the bundle, not who made it: anyone holding a
recipient's public key can seal for it. So a trust flag is required; a
bundle whose model is unsigned, or signed by no trusted signer, is refused.
--insecure-skip-verify lands it without the signature check (still
authenticated, index-checked and scanned) and says so.

A directory model lands as DIR itself; a single-file model F lands as DIR/F
with DIR/F.sig and DIR/F.claims.jsonl.

Exit status: 0 landed; 1 a check failed (bad bundle, signature, scan);
2 usage, wrong age key, I/O. DIR is untouched unless the exit is 0.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUnseal(cmd.Context(), app, fl, args[0], args[1])
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&fl.identities, "identity", "i", nil, "age identity file (repeatable)")
	fl.trust.registerAs(cmd, "signer-identity")
	f.BoolVar(&fl.skipVerify, "insecure-skip-verify", false, "land the model without verifying its OMS signature (the bundle is still authenticated, index-checked and scanned)")
	f.StringVar(&fl.failOn, "fail-on", "high", "refuse the model when a finding is at or above this severity: critical|high|medium|low|info")
	f.StringVar(&fl.scanConfig, "config", "", "scan configuration file (mlsec.yaml)")
	return cmd
}

func runUnseal(ctx context.Context, app *App, fl unsealFlags, file, dest string) error {
	threshold, err := parseFailOn(fl.failOn)
	if err != nil || threshold == mlsec.SeverityNone {
		return mlsec.Errorf(mlsec.EINVALID, "unseal: --fail-on %q: want critical, high, medium, low or info", fl.failOn)
	}
	var v signing.Verifier
	switch {
	case fl.skipVerify && fl.trust.given():
		return mlsec.Errorf(mlsec.EINVALID, "unseal: --insecure-skip-verify excludes --key, --ca-bundle and --signer-identity")
	case fl.skipVerify:
	case !fl.trust.given():
		return mlsec.Errorf(mlsec.EINVALID, "unseal: choose how to trust the model's signer: --key PUB, --ca-bundle PEM, or --signer-identity with --issuer (or --insecure-skip-verify to land it unverified)")
	default:
		if v, err = fl.trust.verifier(app); err != nil {
			return err
		}
	}
	cfg := scan.DefaultConfig()
	if fl.scanConfig != "" {
		if cfg, err = scan.LoadConfig(fl.scanConfig); err != nil {
			return usageError(err)
		}
	}
	ids, err := parseIdentities(fl.identities)
	if err != nil {
		return err
	}
	var in io.Reader = app.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return mlsec.Errorf(mlsec.EINVALID, "unseal: %w", err)
		}
		defer f.Close()
		in = f
	}
	check := func(ctx context.Context, o *seal.Opened, root string) error {
		// The unpacking buffers are garbage now: give them back before
		// the scanner runs, so that the peak stays that of one stage.
		debug.FreeOSMemory()
		model := root
		if !o.Header.Dir {
			model = filepath.Join(root, o.Header.Name)
		}
		if v == nil {
			fmt.Fprintf(app.Stderr, "warning: --insecure-skip-verify: the signature of %s was not verified; who made it is unknown\n", o.Header.Name)
		} else {
			sigPath, claimsPath, err := transport.EvidencePaths(model)
			if err != nil {
				return err
			}
			sig, err := os.ReadFile(sigPath)
			if errors.Is(err, fs.ErrNotExist) {
				return refuse("the model is not signed (no %s in the bundle)", filepath.Base(sigPath))
			} else if err != nil {
				return err
			}
			so, err := verifySignatures(ctx, v, model, o.ModelDigests(), []sigCandidate{{label: filepath.Base(sigPath), bundle: sig}})
			if err != nil {
				return err
			}
			fmt.Fprintf(app.Stderr, "signature verified: root %s\n", so.check.Digest)
			// As pull: every claim must be about the model the signature
			// covers.
			err = attest.ReadClaimsFile(claimsPath, func(c attest.Claim) error {
				if c.Err != nil {
					return refuse("claims line %d: %v", c.Line, c.Err)
				}
				if err := claimNames(c.Bundle, so.check.Digest); err != nil {
					return refuse("claims line %d: %v", c.Line, err)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return scanReceived(ctx, app, cfg, threshold, model, root)
	}
	o, err := seal.OpenCheck(ctx, in, dest, check, ids...)
	if err != nil {
		var r *refusal
		switch {
		case errors.Is(err, seal.ErrBundle):
			fmt.Fprintf(app.Stderr, "mlsec: unseal %s: %v; %s untouched\n", file, err, dest)
			return fmt.Errorf("unseal: %w: %w", err, mlsec.ErrFindings)
		case errors.As(err, &r):
			fmt.Fprintf(app.Stderr, "mlsec: unseal refused: %s; %s untouched\n", r.msg, dest)
			return fmt.Errorf("unseal: %s: %w", r.msg, mlsec.ErrFindings)
		}
		var me *mlsec.Error
		if errors.As(err, &me) {
			return fmt.Errorf("unseal %s: %w (%s untouched)", file, err, dest)
		}
		return mlsec.Errorf(mlsec.EINVALID, "unseal %s: %w (%s untouched)", file, err, dest)
	}
	var sig, claims bool
	for _, f := range o.Index.Files {
		sig = sig || f.Role == transport.RoleSignature
		claims = claims || f.Role == transport.RoleClaims
	}
	where := o.Dest
	if !o.Header.Dir {
		where = filepath.Join(o.Dest, o.Header.Name)
	}
	verified := "verified"
	if v == nil {
		verified = "NOT verified"
	}
	fmt.Fprintf(app.Stdout, "unsealed %s: %d files, %s, signature %s (%s), claims %s\n",
		where, len(o.Index.Files), humanBytes(o.Size()), yesNo(sig), verified, yesNo(claims))
	return nil
}

func parseRecipients(args, files []string) ([]age.Recipient, error) {
	var rs []age.Recipient
	for _, a := range args {
		r, err := age.ParseRecipients(strings.NewReader(a))
		if err != nil {
			return nil, mlsec.Errorf(mlsec.EINVALID, "seal: --recipient %q: %w", a, err)
		}
		rs = append(rs, r...)
	}
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return nil, mlsec.Errorf(mlsec.EINVALID, "seal: %w", err)
		}
		r, err := age.ParseRecipients(f)
		f.Close()
		if err != nil {
			return nil, mlsec.Errorf(mlsec.EINVALID, "seal: %s: %w", p, err)
		}
		rs = append(rs, r...)
	}
	if len(rs) == 0 {
		return nil, mlsec.Errorf(mlsec.EINVALID, "seal: name at least one --recipient or --recipients-file")
	}
	return rs, nil
}

func parseIdentities(files []string) ([]age.Identity, error) {
	var ids []age.Identity
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return nil, mlsec.Errorf(mlsec.EINVALID, "unseal: %w", err)
		}
		id, err := age.ParseIdentities(f)
		f.Close()
		if err != nil {
			return nil, mlsec.Errorf(mlsec.EINVALID, "unseal: %s: %w", p, err)
		}
		ids = append(ids, id...)
	}
	if len(ids) == 0 {
		return nil, mlsec.Errorf(mlsec.EINVALID, "unseal: name at least one --identity file")
	}
	return ids, nil
}

// outputOutside refuses a bundle path that is one of the artifact's files
// or lies inside its model directory: the bundle would replace the
// plaintext model (or its evidence) or become part of the model.
func outputOutside(model string, a *transport.Artifact, out string) error {
	refuse := fmt.Errorf("-o %s is inside the model %s; write the bundle elsewhere", out, model)
	if fi, err := os.Stat(out); err == nil {
		for _, m := range a.Members {
			if mi, err := os.Stat(m.Path); err == nil && os.SameFile(fi, mi) {
				return refuse
			}
		}
	}
	if !a.Dir {
		return nil
	}
	root, err := filepath.EvalSymlinks(model)
	if err != nil {
		return err
	}
	if root, err = filepath.Abs(root); err != nil {
		return err
	}
	parent, err := filepath.EvalSymlinks(filepath.Dir(out))
	if err != nil {
		return nil // no such directory: writing fails with its own message
	}
	if parent, err = filepath.Abs(parent); err != nil {
		return err
	}
	if rel, err := filepath.Rel(root, filepath.Join(parent, filepath.Base(out))); err == nil && filepath.IsLocal(rel) {
		return refuse
	}
	return nil
}

// writeFileAtomic writes path through a temporary file beside it, renamed
// over path only when write succeeded.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// humanBytes formats n in binary units.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
