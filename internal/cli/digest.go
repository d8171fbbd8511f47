package cli

import (
	"encoding/hex"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/signing"
)

type digestOutput struct {
	Path       string           `json:"path"`
	RootDigest string           `json:"root_digest"`
	Manifest   []digestResource `json:"manifest,omitempty"`
}

type digestResource struct {
	Name      string `json:"name"`
	Algorithm string `json:"algorithm"`
	Digest    string `json:"digest"`
}

func newDigestCmd(app *App) *cobra.Command {
	var (
		hf       hashFlags
		manifest bool
		format   string
	)
	cmd := &cobra.Command{
		Use:   "digest [flags] PATH",
		Short: "Print the OpenSSF Model Signing root digest of a model or dataset",
		Long: `Digest serializes PATH as sign does and prints the root digest (the statement
subject's sha256), as "sha256:<hex>" like the reference. With --manifest it
also prints every resource as "name:digest". Like sign with its default
signature path, it leaves a directory model's signature (model.sig) and
claims file (claims.jsonl) out, so the digest is the one its signature and
attestations name. Without a hashing flag (--hash, --method, --shard-size,
--ignore-paths, --allow-symlinks) it hashes the way the artifact's own
signature records (--hash blake2b, shards...), as the server does; with one,
as the flags say.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			if err := checkModelPath(args[0]); err != nil {
				return err
			}
			var m *signing.Manifest
			if !hf.changed(cmd) {
				// The digest the signature and the claims name, and the
				// server computes: hashed as the artifact's signature
				// records (else files with SHA-256), its own evidence files
				// left out (docs/evidence-layout.md).
				h := &attest.Hasher{}
				attachProgress(app, &h.Total, &h.Progress)
				am, err := attest.ArtifactManifest(cmd.Context(), h, args[0], attest.DigestOptions{})
				if err != nil {
					return signingError(err)
				}
				m = am
			} else {
				// A directory's own signature and claims are not content.
				opts, err := hf.options(app, args[0], evidence.Inside(args[0])...)
				if err != nil {
					return err
				}
				if m, err = signing.HashModel(cmd.Context(), args[0], opts); err != nil {
					return signingError(err)
				}
			}
			out := digestOutput{Path: args[0], RootDigest: "sha256:" + hex.EncodeToString(m.RootDigest())}
			if manifest {
				out.Manifest = []digestResource{}
				for _, it := range m.Items {
					out.Manifest = append(out.Manifest, digestResource{Name: it.Name(), Algorithm: it.Algorithm, Digest: hex.EncodeToString(it.Digest)})
				}
			}
			if format == "json" {
				return writeJSON(app.Stdout, out)
			}
			if _, err := fmt.Fprintln(app.Stdout, out.RootDigest); err != nil {
				return err
			}
			for _, r := range out.Manifest {
				if _, err := fmt.Fprintf(app.Stdout, "%s:%s\n", r.Name, r.Digest); err != nil {
					return err
				}
			}
			return nil
		},
	}
	hf.register(cmd)
	cmd.Flags().BoolVar(&manifest, "manifest", false, "also print the per-file (or per-shard) manifest")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}
