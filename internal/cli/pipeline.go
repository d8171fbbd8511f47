package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/signing"
)

func newPipelineCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pipeline",
		Short: "Write and check pipeline files (identities, roles, sources, artifacts, stage gates)",
	}
	cmd.AddCommand(newPipelineInitCmd(app))
	return cmd
}

func newPipelineInitCmd(app *App) *cobra.Command {
	var (
		name, output       string
		identities, roles  []string
		artifacts, sources []string
		force              bool
	)
	cmd := &cobra.Command{
		Use:   "init --identity NAME=PUB.pem [--identity ...] [--role ROLE=NAME ...] [--artifact KIND=PATH ...] [-o pipeline.yaml]",
		Short: "Write a starter pipeline file from the signing keys given",
		Long: `Init writes a starter pipeline file: the identities (one per --identity
NAME=PUB.pem, a public key the gates trust), every role of mlsec roles
assigned to an identity (--role ROLE=NAME; otherwise to the identity named
like the role, else to the first identity), the sources given with --source
URL (untrusted, to be approved), the artifacts given with --artifact
KIND=PATH, and the deployment gate requiring a release approved by the
model-owner role.

The built-in gates pass without a pipeline file, trusting the gate's own
key; the planning gate, and any gate whose policy names approver roles,
needs identities with roles, which is what this file gives them. The file is
checked as mlsec gate --pipeline checks it before it is written; an existing
file is kept unless --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(identities) == 0 {
				return mlsec.Errorf(mlsec.EINVALID, "pass at least one --identity NAME=PUB.pem (the public key of a signer the gates trust)")
			}
			if _, err := os.Stat(output); err == nil && !force {
				return mlsec.Errorf(mlsec.EINVALID, "%s exists: pass --force to overwrite it", output)
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return mlsec.Errorf(mlsec.EIO, "%w", err)
			}
			base, err := filepath.Abs(filepath.Dir(output))
			if err != nil {
				return mlsec.Errorf(mlsec.EIO, "%w", err)
			}
			raci, err := lifecycle.LoadRACI()
			if err != nil {
				return err
			}
			var b strings.Builder
			fmt.Fprintf(&b, "# Starter pipeline file written by mlsec pipeline init (docs/lifecycle.md).\n")
			fmt.Fprintf(&b, "apiVersion: mlsec.dev/pipeline/v1\nname: %s\n", strconv.Quote(name))
			b.WriteString("identities:                      # signers; key paths are relative to this file\n")
			var names []string
			for _, id := range identities {
				n, key, ok := strings.Cut(id, "=")
				if !ok || n == "" || key == "" {
					return mlsec.Errorf(mlsec.EINVALID, "--identity %q: want NAME=PUB.pem", id)
				}
				data, err := os.ReadFile(key)
				if err != nil {
					return mlsec.Errorf(mlsec.EIO, "--identity %s: %w", n, err)
				}
				if _, err := signing.ParsePublicKey(data); err != nil {
					return mlsec.Errorf(mlsec.EINVALID, "--identity %s: %s: %w", n, key, err)
				}
				rel, err := relTo(base, key)
				if err != nil {
					return err
				}
				fmt.Fprintf(&b, "  - {name: %s, key: %s}\n", strconv.Quote(n), strconv.Quote(rel))
				names = append(names, n)
			}
			assigned := map[string][]string{}
			for _, r := range roles {
				role, who, ok := strings.Cut(r, "=")
				if !ok || role == "" || who == "" {
					return mlsec.Errorf(mlsec.EINVALID, "--role %q: want ROLE=NAME", r)
				}
				assigned[role] = append(assigned[role], who)
			}
			b.WriteString("roles:                           # role id (mlsec roles) -> identities; give each role its own people\n")
			for _, role := range raci.Roles {
				who := assigned[role.ID]
				if len(who) == 0 && slices.Contains(names, role.ID) {
					who = []string{role.ID}
				}
				if len(who) == 0 {
					who = names[:1]
				}
				q := make([]string, len(who))
				for i, w := range who {
					q[i] = strconv.Quote(w)
				}
				fmt.Fprintf(&b, "  %s: [%s]\n", role.ID, strings.Join(q, ", "))
			}
			b.WriteString("sources:                         # approved upstream locations (URL prefixes)\n")
			if len(sources) == 0 {
				b.WriteString("  []\n")
			}
			for _, s := range sources {
				fmt.Fprintf(&b, "  - {url: %s, trust: untrusted}\n", strconv.Quote(s))
			}
			b.WriteString("artifacts:                       # what the gates judge; paths are relative to this file\n")
			if len(artifacts) == 0 {
				b.WriteString("  []\n")
			}
			seen := map[string]bool{}
			for _, a := range artifacts {
				kind, p, ok := strings.Cut(a, "=")
				if !ok || kind == "" || p == "" {
					return mlsec.Errorf(mlsec.EINVALID, "--artifact %q: want KIND=PATH (kinds: %s)", a, kindNames())
				}
				if !lifecycle.ValidKind(lifecycle.Kind(kind)) {
					return mlsec.Errorf(mlsec.EINVALID, "--artifact %q: unknown kind %q (want one of %s)", a, kind, kindNames())
				}
				rel, err := relTo(base, p)
				if err != nil {
					return err
				}
				n := filepath.Base(filepath.Clean(p))
				if seen[n] {
					return mlsec.Errorf(mlsec.EINVALID, "--artifact %s: another artifact is named %q", p, n)
				}
				seen[n] = true
				fmt.Fprintf(&b, "  - {name: %s, kind: %s, path: %s}\n", strconv.Quote(n), kind, strconv.Quote(rel))
			}
			b.WriteString("stages:                          # gate configuration per stage (default: builtin:<stage>)\n")
			b.WriteString("  cd:\n    policies: [builtin:cd]\n    params: {approver_roles: [model-owner]}   # the release is approved by the model owner\n")
			out := []byte(b.String())
			if _, err := lifecycle.ParsePipeline(output, out); err != nil {
				return mlsec.Errorf(mlsec.EINVALID, "the pipeline file would not be valid: %w", err)
			}
			if err := os.WriteFile(output, out, 0o644); err != nil {
				return mlsec.Errorf(mlsec.EIO, "%w", err)
			}
			_, err = fmt.Fprintf(app.Stdout, "wrote %s: %d identities, %d roles, %d artifacts; check it with mlsec roles --pipeline %s\n",
				output, len(names), len(raci.Roles), len(artifacts), output)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&name, "name", "pipeline", "name of the pipeline")
	fl.StringVarP(&output, "output", "o", "pipeline.yaml", "pipeline file to write")
	fl.StringArrayVar(&identities, "identity", nil, "NAME=PUB.pem: a signing identity and its public key (repeatable)")
	fl.StringArrayVar(&roles, "role", nil, "ROLE=NAME: give a role (see mlsec roles) to an identity (repeatable)")
	fl.StringArrayVar(&artifacts, "artifact", nil, "KIND=PATH: declare an artifact (repeatable)")
	fl.StringArrayVar(&sources, "source", nil, "URL prefix of an upstream source to approve (repeatable)")
	fl.BoolVar(&force, "force", false, "overwrite an existing file")
	return cmd
}

// relTo returns p relative to base (slash-separated), or absolute when it
// cannot be made relative.
func relTo(base, p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	rel, err := filepath.Rel(base, abs)
	if err != nil {
		return filepath.ToSlash(abs), nil
	}
	return filepath.ToSlash(rel), nil
}

func kindNames() string {
	var ks []string
	for _, k := range lifecycle.Kinds() {
		ks = append(ks, string(k))
	}
	return strings.Join(ks, ", ")
}
