package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
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

Open the bundle with "mlsec unseal FILE --identity KEY DIR". age
authenticates the bundle, not who made it: anyone holding a recipient's
public key can seal for it. Verify the model's signature after unsealing.`,
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

func newUnsealCmd(app *App) *cobra.Command {
	var identities []string
	cmd := &cobra.Command{
		Use:   "unseal [flags] FILE --identity KEY DIR",
		Short: "Decrypt and check a sealed bundle, then land it in DIR",
		Long: `Unseal decrypts the age bundle FILE ("-" for stdin) with the identities in
the --identity files (age-keygen output) into a quarantine directory beside
DIR, reads it to its authenticated end and checks every file against the
bundle's index; only then is the quarantine directory renamed to DIR, in one
step. DIR must not exist or be an empty directory. A bundle that fails
(a flipped byte, truncation, wrong key, a path leaving DIR, a file that does
not match the index) exits 1 and leaves DIR untouched.

A directory model lands as DIR itself; a single-file model F lands as DIR/F
with DIR/F.sig and DIR/F.claims.jsonl. Verify the signature next:
mlsec verify DIR (or DIR/F) with the signer's key or identity.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids, err := parseIdentities(identities)
			if err != nil {
				return err
			}
			var in io.Reader = app.Stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return mlsec.Errorf(mlsec.EINVALID, "unseal: %w", err)
				}
				defer f.Close()
				in = f
			}
			o, err := seal.Open(cmd.Context(), in, args[1], ids...)
			if err != nil {
				if errors.Is(err, seal.ErrBundle) {
					fmt.Fprintf(app.Stderr, "mlsec: unseal %s: %v; %s untouched\n", args[0], err, args[1])
					return fmt.Errorf("unseal: %w: %w", err, mlsec.ErrFindings)
				}
				return mlsec.Errorf(mlsec.EINVALID, "unseal %s: %w (%s untouched)", args[0], err, args[1])
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
			fmt.Fprintf(app.Stdout, "unsealed %s: %d files, %s, signature %s, claims %s\n",
				where, len(o.Index.Files), humanBytes(o.Size()), yesNo(sig), yesNo(claims))
			return nil
		},
	}
	cmd.Flags().StringSliceVarP(&identities, "identity", "i", nil, "age identity file (repeatable)")
	return cmd
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
