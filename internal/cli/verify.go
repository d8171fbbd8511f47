package cli

import (
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/format/agent"
	"github.com/mlsecops/mlsec/signing"
)

type verifyOutput struct {
	Path       string   `json:"path"`
	Signature  string   `json:"signature"`
	Method     string   `json:"method"`
	Valid      bool     `json:"valid"`
	Reason     string   `json:"reason,omitempty"`
	RootDigest string   `json:"root_digest,omitempty"`
	Resources  int      `json:"resources,omitempty"`
	Added      []string `json:"added,omitempty"`
	Missing    []string `json:"missing,omitempty"`
	Changed    []string `json:"changed,omitempty"`
	// ToolChanges names the tools whose description or schema changed
	// since the signed tool snapshot (MCP tool lists, A2A agent cards).
	ToolChanges []attest.ToolChange `json:"tool_changes,omitempty"`
	// ToolSnapshot is the claims file the snapshot was read from.
	ToolSnapshot string `json:"tool_snapshot,omitempty"`
}

func newVerifyCmd(app *App) *cobra.Command {
	var (
		key, caBundle, identity, issuer, trustedRoot, signature, format string
		ignorePaths                                                     []string
		ignoreUnsigned, noSCT                                           bool
	)
	cmd := &cobra.Command{
		Use:   "verify [flags] PATH",
		Short: "Verify a model or dataset against its OpenSSF Model Signing signature",
		Long: `Verify checks the signature (a Sigstore bundle written by mlsec sign or by the
reference model_signing) and then that every file of PATH matches it. The
signature is DIR/model.sig for a directory model and FILE.sig for a file
(docs/evidence-layout.md), or --signature PATH; a model.sig in the current
directory is never used unless named.

Methods:
  --key PUB.pem                                   key-signed bundles
  --ca-bundle ROOTS.pem                           certificate-signed bundles
  --identity ID --issuer URL [--trusted-root F]   keyless Sigstore bundles

When the signed files include MCP tool lists or A2A agent cards, mlsec sign
also appended a signed tool snapshot to the claims; on a mismatch verify then
names each tool added, removed, or whose description or input schema changed
(a rug pull). To check a live tool list against an approved, signed one:
  mlsec verify --key PUB.pem --signature approved/tools.json.sig live-tools.json
(the snapshot is read from the claims beside that signature).

Exit status: 0 valid; 1 invalid signature or content mismatch (each added,
missing or changed file is named); 2 usage or I/O error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			modelPath := args[0]
			if err := checkModelPath(modelPath); err != nil {
				return err
			}
			var v signing.Verifier
			var method string
			n := 0
			for _, s := range []string{key, caBundle, identity + issuer} {
				if s != "" {
					n++
				}
			}
			if n != 1 {
				return mlsec.Errorf(mlsec.EINVALID, "choose exactly one verification method: --key, --ca-bundle, or --identity with --issuer")
			}
			switch {
			case key != "":
				data, err := os.ReadFile(key)
				if err != nil {
					return mlsec.Errorf(mlsec.EIO, "%w", err)
				}
				pub, err := signing.ParsePublicKey(data)
				if err != nil {
					return mlsec.Errorf(mlsec.EINVALID, "%s: %w", key, err)
				}
				v, method = &signing.KeyVerifier{Key: pub, Log: app.Log}, "key"
			case caBundle != "":
				roots, err := loadCerts(caBundle)
				if err != nil {
					return err
				}
				pool := x509.NewCertPool()
				for _, c := range roots {
					pool.AddCert(c)
				}
				v, method = &signing.CertVerifier{Roots: pool}, "certificate"
			default:
				if identity == "" || issuer == "" {
					return mlsec.Errorf(mlsec.EINVALID, "keyless verification needs both --identity and --issuer")
				}
				tm, err := signing.LoadTrustedRoot(trustedRoot)
				if err != nil {
					return mlsec.Errorf(mlsec.EIO, "%w", err)
				}
				v, method = &signing.SigstoreVerifier{TrustedMaterial: tm, Identity: identity, Issuer: issuer, RequireSCT: !noSCT}, "sigstore"
			}
			if signature == "" {
				// The layout's signature (docs/evidence-layout.md); never
				// one in the current directory unless named.
				sp, err := evidence.SignaturePath(modelPath)
				if err != nil {
					return mlsec.Errorf(mlsec.EIO, "%w", err)
				}
				if _, err := os.Stat(sp); errors.Is(err, fs.ErrNotExist) {
					return mlsec.Errorf(mlsec.EINVALID, "%s (or pass --signature FILE)", strings.TrimPrefix(evidence.MissingSignature(modelPath, sp).Error(), "evidence: no signature: "))
				}
				signature = sp
			}
			bundle, err := signing.ReadBundleFile(signature)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return missingSignature(modelPath, signature)
				}
				return signingError(err)
			}
			warnIgnoresOutside(app, modelPath, ignorePaths)
			ignores, err := signing.ResolveIgnorePaths(modelPath, append(append([]string{}, ignorePaths...), signature))
			if err != nil {
				return mlsec.Errorf(mlsec.EIO, "%w", err)
			}
			// The claims file is left out unless the signature covers it (a
			// model signed elsewhere may contain a file of that name).
			soft, err := signing.ResolveIgnorePaths(modelPath, defaultIgnores(modelPath))
			if err != nil {
				return mlsec.Errorf(mlsec.EIO, "%w", err)
			}
			opts := signing.VerifyOptions{IgnorePaths: ignores, UnlessSigned: soft, IgnoreUnsignedFiles: ignoreUnsigned}
			attachProgress(app, &opts.Total, &opts.Progress)
			res, verr := signing.Verify(cmd.Context(), modelPath, bundle, v, opts)
			if verr != nil && !signing.IsNegative(verr) {
				return signingError(verr)
			}
			out := verifyOutput{Path: modelPath, Signature: signature, Method: method, Valid: verr == nil}
			if res != nil && res.Signed != nil {
				out.RootDigest = "sha256:" + hex.EncodeToString(res.Signed.RootDigest())
				out.Resources = len(res.Signed.Items)
				out.Added, out.Missing, out.Changed = res.Diff.Added, res.Diff.Missing, res.Diff.Changed
			}
			if verr != nil && res != nil && res.Signed != nil {
				out.ToolChanges, out.ToolSnapshot = attest.ChangedTools(cmd.Context(), modelPath, signature, res.Signed, v)
			}
			if verr != nil {
				out.Reason = strings.TrimPrefix(strings.TrimPrefix(verr.Error(), "signing: invalid signature: "), "signing: ")
			}
			if format == "json" {
				if err := writeJSON(app.Stdout, out); err != nil {
					return err
				}
			} else if verr == nil {
				fmt.Fprintf(app.Stdout, "OK %s: signature valid (%s), %d resources match, root %s\n",
					modelPath, method, out.Resources, out.RootDigest)
			} else {
				fmt.Fprintf(app.Stdout, "FAIL %s: %s\n", modelPath, out.Reason)
				printToolChanges(app.Stdout, out.ToolChanges, out.ToolSnapshot)
			}
			return signingError(verr)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&key, "key", "", "PEM public key (key method)")
	fl.StringVar(&caBundle, "ca-bundle", "", "PEM root certificates (certificate method)")
	fl.StringVar(&identity, "identity", "", "expected signer identity, e.g. an e-mail (keyless)")
	fl.StringVar(&issuer, "issuer", "", "expected OIDC issuer URL (keyless)")
	fl.StringVar(&trustedRoot, "trusted-root", "", "Sigstore trusted root JSON for offline keyless verification (default: fetch through TUF)")
	fl.BoolVar(&noSCT, "no-sct", false, "keyless: do not require a certificate transparency SCT (private Sigstore without CT)")
	fl.StringVar(&signature, "signature", "", "signature (bundle) file to verify (default: DIR/model.sig inside a directory model, FILE.sig beside a file)")
	fl.StringSliceVar(&ignorePaths, "ignore-paths", nil, "paths to leave out (absolute or relative to the current directory; comma-separated or repeated)")
	fl.BoolVar(&ignoreUnsigned, "ignore-unsigned-files", false, "ignore files that the signature does not cover")
	fl.StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// missingSignature explains a --signature file that does not exist and
// points at the layout's signature when that one exists.
func missingSignature(modelPath, signature string) error {
	if candidate, err := evidence.SignaturePath(modelPath); err == nil && !samePath(candidate, signature) {
		if fi, err := os.Stat(candidate); err == nil && fi.Mode().IsRegular() {
			return mlsec.Errorf(mlsec.EINVALID, "signature %s does not exist; %s has its signature at %s: leave out --signature to use it", signature, modelPath, candidate)
		}
	}
	return mlsec.Errorf(mlsec.EINVALID, "signature %s does not exist", signature)
}

// warnIgnoresOutside warns about --ignore-paths that lie outside the model
// (paths are relative to the current directory, not to the model, as in
// model_signing): they ignore nothing.
func warnIgnoresOutside(app *App, modelPath string, paths []string) {
	for _, p := range paths {
		if p == "" {
			continue
		}
		if in, err := signing.ResolveIgnorePaths(modelPath, []string{p}); err == nil && len(in) == 0 {
			app.Log.Warn(fmt.Sprintf("--ignore-paths %s is outside %s and ignores nothing (ignore paths are absolute or relative to the current directory, not to the model)", p, modelPath))
		}
	}
}

// printToolChanges writes the tool-level diff for people.
func printToolChanges(w io.Writer, changes []attest.ToolChange, from string) {
	if len(changes) == 0 {
		return
	}
	fmt.Fprintf(w, "tools changed since approval (signed tool snapshot in %s):\n", from)
	for _, c := range changes {
		file := ""
		if c.Path != "." {
			file = c.Path + ": "
		}
		switch c.Kind {
		case agent.Added:
			fmt.Fprintf(w, "  + %stool %s added: %s\n", file, c.Tool, shorten(c.New))
		case agent.Removed:
			fmt.Fprintf(w, "  - %stool %s removed\n", file, c.Tool)
		case agent.DescriptionChanged:
			fmt.Fprintf(w, "  ~ %stool %s: description changed\n      was: %s\n      now: %s\n", file, c.Tool, shorten(c.Old), shorten(c.New))
		case agent.SchemaChanged:
			if c.Detail != "" {
				fmt.Fprintf(w, "  ~ %stool %s: input schema changed (%s)\n      was: %s\n      now: %s\n", file, c.Tool, c.Detail, shorten(c.Old), shorten(c.New))
				continue
			}
			fmt.Fprintf(w, "  ~ %stool %s: input schema changed\n      was: %s\n      now: %s\n", file, c.Tool, shorten(c.Old), shorten(c.New))
		}
	}
}

// shorten quotes s on one line, at most 300 characters.
func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 300 {
		s = string(r[:300]) + "…"
	}
	return strconv.Quote(s)
}
