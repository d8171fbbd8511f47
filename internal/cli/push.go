package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/transport"
	"github.com/mlsecops/mlsec/transport/oci"
)

// registryFlags are the registry connection flags of push and pull, named
// as the oras CLI names them.
type registryFlags struct {
	plainHTTP          bool
	caFile, config     string
	username, password string
}

func (f *registryFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&f.plainHTTP, "plain-http", false, "speak plain HTTP to the registry (loopback registries)")
	fl.StringVar(&f.caFile, "ca-file", "", "PEM root certificates for the registry's TLS certificate")
	fl.StringVar(&f.config, "registry-config", "", "Docker config file with registry credentials (default ~/.docker/config.json)")
	fl.StringVarP(&f.username, "username", "u", "", "registry user name (instead of the Docker config)")
	fl.StringVarP(&f.password, "password", "p", "", "registry password or token (instead of the Docker config)")
}

func (f *registryFlags) options() oci.Options {
	return oci.Options{PlainHTTP: f.plainHTTP, CAFile: f.caFile, RegistryConfig: f.config,
		Username: f.username, Password: f.password, UserAgent: "mlsec/" + mlsec.Version}
}

func newPushCmd(app *App) *cobra.Command {
	var rf registryFlags
	cmd := &cobra.Command{
		Use:   "push [flags] PATH oci://REGISTRY/REPO:TAG",
		Short: "Push a model and its evidence to an OCI registry",
		Long: `Push uploads PATH (a model directory or file) as a CNCF ModelPack artifact:
one raw layer per file (weights, configs, docs, code media types, each
annotated with its path), a model config, and a manifest tagged TAG. The
evidence that travels with the model is pushed as referrers of that
manifest: its OMS signature, and each statement of its claims file
(provenance, AI-BOM, VSAs) as its own Sigstore bundle. Registries without the
OCI 1.1 referrers API get the referrers tag schema (sha256-<digest>).

It prints the pinned reference oci://REGISTRY/REPO@sha256:... to pull by.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ref, err := oci.ParseReference(args[1])
			if err != nil {
				return usageError(err)
			}
			if _, derr := ref.Digest(); derr == nil {
				return mlsec.Errorf(mlsec.EINVALID, "push: %s: push to a tag, not a digest", args[1])
			}
			a, err := transport.Collect(args[0])
			if err != nil {
				return mlsec.Errorf(mlsec.EINVALID, "push: %w", err)
			}
			repo, err := oci.NewRepository(ref, rf.options())
			if err != nil {
				return usageError(err)
			}
			var known map[string][]byte
			if a.Dir {
				if sig, _, err := transport.EvidencePaths(args[0]); err == nil {
					known = transport.SignedDigests(sig)
				}
			}
			res, err := oci.Push(ctx, repo, ref.Reference, a, oci.PushOptions{KnownDigests: known})
			if err != nil {
				return mlsec.Errorf(mlsec.EIO, "push: %w", err)
			}
			claims := len(res.Referrers)
			if a.Has(transport.RoleSignature) {
				claims--
			}
			fmt.Fprintf(app.Stderr, "pushed %s to %s: %d layers, %s, signature %s, %d claims as referrers\n",
				args[0], args[1], len(res.Layers), humanBytes(a.Size()), yesNo(a.Has(transport.RoleSignature)), claims)
			if !a.Has(transport.RoleSignature) {
				fmt.Fprintf(app.Stderr, "warning: %s is not signed: mlsec pull refuses it (mlsec sign first)\n", args[0])
			}
			fmt.Fprintf(app.Stdout, "%s%s/%s@%s\n", oci.Scheme, ref.Registry, ref.Repository, res.Manifest.Digest)
			return nil
		},
	}
	rf.register(cmd)
	return cmd
}
