package cli

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/signing"
)

// hashFlags are the serialization flags shared by sign and digest.
type hashFlags struct {
	hash          string
	method        string
	shardSize     int64
	ignorePaths   []string
	allowSymlinks bool
}

func (f *hashFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.hash, "hash", "sha256", "digest algorithm: sha256, blake2b or blake3")
	fl.StringVar(&f.method, "method", "files", "serialization: files (one digest per file) or shards (one per shard)")
	fl.Int64Var(&f.shardSize, "shard-size", signing.DefaultShardSize, "shard size in bytes for --method shards")
	fl.StringSliceVar(&f.ignorePaths, "ignore-paths", nil, "paths to leave out (absolute or relative to the current directory; comma-separated or repeated)")
	fl.BoolVar(&f.allowSymlinks, "allow-symlinks", false, "hash symbolic links to files instead of refusing them")
}

// changed reports whether any hashing flag was given on the command line.
func (f *hashFlags) changed(cmd *cobra.Command) bool {
	for _, n := range []string{"hash", "method", "shard-size", "ignore-paths", "allow-symlinks"} {
		if cmd.Flags().Changed(n) {
			return true
		}
	}
	return false
}

func (f *hashFlags) options(app *App, modelPath string, extraIgnore ...string) (signing.HashOptions, error) {
	alg, err := signing.ParseHashAlgorithm(f.hash)
	if err != nil {
		return signing.HashOptions{}, usageError(err)
	}
	method := signing.Method(f.method)
	if method != signing.MethodFiles && method != signing.MethodShards {
		return signing.HashOptions{}, mlsec.Errorf(mlsec.EINVALID, "--method %q: want files or shards", f.method)
	}
	if f.shardSize <= 0 {
		return signing.HashOptions{}, mlsec.Errorf(mlsec.EINVALID, "--shard-size %d: must be positive", f.shardSize)
	}
	warnIgnoresOutside(app, modelPath, f.ignorePaths)
	ignores, err := signing.ResolveIgnorePaths(modelPath, append(append([]string{}, f.ignorePaths...), extraIgnore...))
	if err != nil {
		return signing.HashOptions{}, mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	opts := signing.HashOptions{
		Method: method, Hash: alg, ShardSize: f.shardSize,
		AllowSymlinks: f.allowSymlinks, IgnorePaths: ignores,
	}
	attachProgress(app, &opts.Total, &opts.Progress)
	return opts, nil
}

// attachProgress shows a byte progress bar on a terminal stderr.
func attachProgress(app *App, total *func(int64), progress *func(int64)) {
	if !app.StderrIsTerminal {
		return
	}
	var bar *progressbar.ProgressBar
	*total = func(n int64) {
		bar = progressbar.NewOptions64(n, progressbar.OptionSetWriter(app.Stderr),
			progressbar.OptionSetDescription("hashing"), progressbar.OptionShowBytes(true),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionClearOnFinish())
	}
	*progress = func(n int64) {
		if bar != nil {
			_ = bar.Add64(n)
		}
	}
}

// samePath reports whether a and b name the same file (by absolute path).
func samePath(a, b string) bool {
	x, err1 := filepath.Abs(a)
	y, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && x == y
}

// checkModelPath reports a missing or unreadable model as a usage error.
func checkModelPath(p string) error {
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return mlsec.Errorf(mlsec.EINVALID, "model %s does not exist", p)
		}
		return mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	return nil
}

// signingError maps a signing error to the application's codes.
func signingError(err error) error {
	switch {
	case err == nil:
		return nil
	case signing.IsNegative(err):
		return fmt.Errorf("%w: %w", mlsec.ErrFindings, err)
	case errors.Is(err, signing.ErrKey), errors.Is(err, signing.ErrCertificate),
		errors.Is(err, signing.ErrUnsupported), errors.Is(err, signing.ErrSymlink):
		return mlsec.Errorf(mlsec.EINVALID, "%w", err)
	}
	var me *mlsec.Error
	if errors.As(err, &me) {
		return err
	}
	return mlsec.Errorf(mlsec.EIO, "%w", err)
}

func checkFormat(format string) error {
	if format != "text" && format != "json" {
		return mlsec.Errorf(mlsec.EINVALID, "--format %q: want text or json", format)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

type signOutput struct {
	Path       string `json:"path"`
	Signature  string `json:"signature"`
	Method     string `json:"method"`
	RootDigest string `json:"root_digest"`
	Resources  int    `json:"resources"`
	// ToolSnapshot is the claims file a tool snapshot was appended to
	// (the artifact holds MCP tool lists or A2A agent cards).
	ToolSnapshot string `json:"tool_snapshot,omitempty"`
	Tools        int    `json:"tools,omitempty"`
}

func newSignCmd(app *App) *cobra.Command {
	var (
		hf                        hashFlags
		key, cert, signature      string
		chain                     []string
		useSigstore               bool
		oidcIssuer, identityToken string
		fulcioURL, rekorURL       string
		trustedRoot               string
		format                    string
	)
	cmd := &cobra.Command{
		Use:   "sign [flags] PATH",
		Short: "Sign a model or dataset (file or directory) with OpenSSF Model Signing",
		Long: `Sign hashes every file of PATH (a file or a directory: a model or a dataset),
wraps the manifest in an in-toto statement and signs it into a Sigstore bundle,
interoperable with the reference model_signing tool.

Methods:
  --key KEY.pem                                      ECDSA P-256/P-384/P-521 private key
  --certificate CERT --certificate-chain CHAIN --key KEY   certificate and chain
  --sigstore [--oidc-issuer URL --identity-token TOKEN]    keyless (Sigstore)
      [--fulcio-url URL --rekor-url URL --trusted-root FILE]

The signature goes where every mlsec command looks for it
(docs/evidence-layout.md): DIR/model.sig inside a directory model, FILE.sig
beside a single-file model. --signature PATH writes it anywhere else (as the
reference model_signing does; its default is model.sig in the current
directory); a signature that lies inside the model is left out of the
manifest.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			modelPath := args[0]
			if err := checkModelPath(modelPath); err != nil {
				return err
			}
			var signer signing.Signer
			var method string
			switch {
			case useSigstore:
				if key != "" || cert != "" {
					return mlsec.Errorf(mlsec.EINVALID, "--sigstore excludes --key and --certificate")
				}
				token := identityToken
				if token == "" {
					token = os.Getenv("SIGSTORE_ID_TOKEN")
				}
				if token == "" {
					return mlsec.Errorf(mlsec.EINVALID, "--sigstore needs an OIDC identity token from %s: pass --identity-token or set SIGSTORE_ID_TOKEN (interactive login is not supported)", oidcIssuer)
				}
				s, err := newSigstoreSigner(fulcioURL, rekorURL, token, trustedRoot)
				if err != nil {
					return err
				}
				signer, method = s, "sigstore"
			case cert != "":
				if key == "" {
					return mlsec.Errorf(mlsec.EINVALID, "--certificate needs --key (the certificate's private key)")
				}
				s, err := loadCertSigner(key, cert, chain)
				if err != nil {
					return err
				}
				signer, method = s, "certificate"
			case key != "":
				if len(chain) > 0 {
					return mlsec.Errorf(mlsec.EINVALID, "--certificate-chain needs --certificate")
				}
				k, err := loadPrivateKey(key)
				if err != nil {
					return err
				}
				signer, method = &signing.KeySigner{Key: k}, "key"
			default:
				return mlsec.Errorf(mlsec.EINVALID, "choose a signing method: --key, --certificate with --key, or --sigstore")
			}
			layout, err := evidence.Locate(modelPath)
			if err != nil {
				return mlsec.Errorf(mlsec.EIO, "%w", err)
			}
			if signature == "" {
				if !layout.Dir && filepath.Base(layout.Signature) == evidence.SignatureName {
					// FILE.sig of a file named "model" is DIR/model.sig, the
					// layout's signature of the directory around it.
					return mlsec.Errorf(mlsec.EINVALID, "the file %s has no signature path of its own: %s is where the evidence layout keeps the signature of the directory %s (docs/evidence-layout.md): rename the file or pass --signature", modelPath, layout.Signature, filepath.Dir(layout.Signature))
				}
				signature = layout.Signature
			} else if !samePath(signature, layout.Signature) {
				fmt.Fprintf(app.Stderr, "mlsec: note: the signature goes to %s, not to %s where verify, attest, gate and verify-chain look for it: pass --signature %s to mlsec verify\n", signature, layout.Signature, signature)
			}
			opts, err := hf.options(app, modelPath, append([]string{signature}, defaultIgnores(modelPath)...)...)
			if err != nil {
				return err
			}
			res, err := signing.Sign(cmd.Context(), modelPath, signer, opts)
			if err != nil {
				return signingError(err)
			}
			if fi, err := os.Stat(signature); err == nil && fi.Mode().IsRegular() {
				// An upstream publisher's signature may be there: say it goes.
				fmt.Fprintf(app.Stderr, "mlsec: note: replacing the existing signature %s (mlsec intake keeps a record of an upstream signature it replaces)\n", signature)
			}
			if err := os.WriteFile(signature, res.Bundle, 0o644); err != nil {
				return mlsec.Errorf(mlsec.EIO, "writing signature: %w", err)
			}
			out := signOutput{
				Path: modelPath, Signature: signature, Method: method,
				RootDigest: "sha256:" + hex.EncodeToString(res.Manifest.RootDigest()),
				Resources:  len(res.Manifest.Items),
			}
			out.ToolSnapshot, out.Tools, err = snapshotTools(cmd, modelPath, res.Manifest, signer)
			if err != nil {
				return err
			}
			if format == "json" {
				return writeJSON(app.Stdout, out)
			}
			_, err = fmt.Fprintf(app.Stdout, "signed %s (%d resources, %s, root %s) -> %s\n",
				modelPath, out.Resources, method, out.RootDigest, signature)
			if err == nil && out.ToolSnapshot != "" {
				_, err = fmt.Fprintf(app.Stdout, "approved %d tools (signed tool snapshot) -> %s\n", out.Tools, out.ToolSnapshot)
			}
			return err
		},
	}
	hf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&key, "key", "", "PEM private key (key method, or the certificate's key)")
	fl.StringVar(&cert, "certificate", "", "PEM signing certificate (certificate method); certificates after the first are recorded as its chain")
	fl.StringSliceVar(&chain, "certificate-chain", nil, "PEM intermediate/root certificates recorded after the leaf (repeatable)")
	fl.BoolVar(&useSigstore, "sigstore", false, "sign keyless with Sigstore")
	fl.StringVar(&oidcIssuer, "oidc-issuer", "https://oauth2.sigstore.dev/auth", "OIDC issuer for --sigstore")
	fl.StringVar(&identityToken, "identity-token", "", "OIDC identity token for --sigstore (default $SIGSTORE_ID_TOKEN)")
	fl.StringVar(&fulcioURL, "fulcio-url", signing.PublicFulcioURL, "Fulcio URL for --sigstore")
	fl.StringVar(&rekorURL, "rekor-url", signing.PublicRekorURL, "Rekor URL for --sigstore")
	fl.StringVar(&trustedRoot, "trusted-root", "", trustedRootUsage)
	fl.StringVar(&signature, "signature", "", "signature (bundle) file to write (default: DIR/model.sig inside a directory model, FILE.sig beside a file)")
	fl.StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func loadPrivateKey(path string) (*signingKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	k, err := signing.ParsePrivateKey(data)
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EINVALID, "%s: %w", path, err)
	}
	return k, nil
}

func loadCertSigner(keyPath, certPath string, chainPaths []string) (*signing.CertSigner, error) {
	k, err := loadPrivateKey(keyPath)
	if err != nil {
		return nil, err
	}
	leaf, err := loadCerts(certPath)
	if err != nil {
		return nil, err
	}
	// A certificate file holding more than the leaf (a "fullchain" file)
	// contributes the rest to the chain.
	chain := append([]*certificate{}, leaf[1:]...)
	for _, p := range chainPaths {
		cs, err := loadCerts(p)
		if err != nil {
			return nil, err
		}
		chain = append(chain, cs...)
	}
	s, err := signing.NewCertSigner(k, leaf[0], chain)
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EINVALID, "%w", err)
	}
	return s, nil
}

func loadCerts(path string) ([]*certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	cs, err := signing.ParseCertificates(data)
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EINVALID, "%s: %w", filepath.Clean(path), err)
	}
	return cs, nil
}

type (
	signingKey  = ecdsa.PrivateKey
	certificate = x509.Certificate
)

// snapshotTools appends a signed tool snapshot to the artifact's claims
// when the signed files include MCP tool lists or A2A agent cards, so that
// mlsec verify can name the tools that changed after approval. It returns
// the claims file and the number of tools ("" and 0 when there are none).
func snapshotTools(cmd *cobra.Command, modelPath string, m *signing.Manifest, signer signing.Signer) (string, int, error) {
	snap, err := attest.SnapshotTools(modelPath, m)
	if err != nil {
		return "", 0, mlsec.Errorf(mlsec.EIO, "tool snapshot: %w", err)
	}
	if snap == nil {
		return "", 0, nil
	}
	claims, err := evidence.ClaimsPath(modelPath)
	if err != nil {
		return "", 0, mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	abs, err := filepath.Abs(modelPath)
	if err != nil {
		return "", 0, mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	st, err := snap.Statement(attest.Subject{Name: filepath.Base(abs), Digest: attest.DigestOf(m.RootDigest())})
	if err != nil {
		return "", 0, mlsec.Errorf(mlsec.EINVALID, "tool snapshot: %w", err)
	}
	b, err := attest.Sign(cmd.Context(), signer, st)
	if err != nil {
		return "", 0, signingError(err)
	}
	if err := attest.AppendClaim(claims, b); err != nil {
		return "", 0, mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	n := 0
	for _, tm := range snap.Manifests {
		n += len(tm.Tools)
	}
	return claims, n, nil
}
