package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/lineage"
)

func newVerifyChainCmd(app *App) *cobra.Command {
	var (
		tf                  trustFlags
		evidenceDir, format string
		depth               int
	)
	cmd := &cobra.Command{
		Use:   "verify-chain [verification flags] [--evidence DIR] PATH",
		Short: "Verify a model's signature and its provenance chain back to its datasets and base models",
		Long: `Verify-chain verifies the model's own signature and content, then walks its
provenance: each provenance claim must be signed by a trusted signer and be
about the model on disk; each dataset and base model it names is looked up
in --evidence DIR (searched recursively, by digest, then by name), its own
signature and content verified, and its digest compared with the one the
provenance recorded; and so on up the chain. Each artifact is hashed once.
--evidence defaults to the directory containing PATH, as for lineage.

The first broken link is reported precisely. An artifact without provenance
ends its branch and is listed as "provenance unknown"; when the model itself
has none, the chain is not verified.

Exit status: 0 chain verified; 1 a broken link, or no provenance for the
model; 2 usage or I/O error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			v, err := tf.verifier(app)
			if err != nil {
				return err
			}
			ctx, path := cmd.Context(), args[0]
			if err := checkModelPath(path); err != nil {
				return err
			}
			if evidenceDir == "" {
				// The same default as lineage: the directory containing PATH.
				if evidenceDir, err = defaultEvidence(path); err != nil {
					return err
				}
			}
			idx, err := loadEvidence(ctx, app, evidenceDir, path)
			if err != nil {
				return err
			}
			h := &attest.Hasher{}
			rep, err := lineage.VerifyChain(ctx, path, lineage.ChainOptions{Verifier: v, Evidence: idx, Hasher: h, MaxDepth: depth})
			if err != nil {
				return signingError(err)
			}
			if format == "json" {
				if err := writeJSON(app.Stdout, rep); err != nil {
					return err
				}
			} else {
				writeChain(app, rep)
			}
			switch {
			case rep.FirstBroken >= 0:
				return fmt.Errorf("verify-chain: broken link: %w", mlsec.ErrFindings)
			case !rep.OK:
				return fmt.Errorf("verify-chain: provenance of %s unknown: %w", path, mlsec.ErrFindings)
			}
			return nil
		},
	}
	tf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&evidenceDir, "evidence", "", "directory searched recursively for parent artifacts and their claims (default: PATH's directory)")
	fl.IntVar(&depth, "depth", 0, "stop after this many generations (default: all)")
	fl.StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func writeChain(app *App, rep *lineage.ChainReport) {
	w := app.Stdout
	for _, l := range rep.Links {
		status := "OK    "
		if l.Status == lineage.LinkBroken {
			status = "BROKEN"
		}
		where := l.Path
		if where == "" {
			where = "(missing)"
		}
		role := ""
		if l.Role != "" {
			role = " [" + string(l.Role) + "]"
		}
		fmt.Fprintf(w, "%s %s%s%s %s", status, strings.Repeat("  ", l.Depth), where, role, l.Digest)
		switch {
		case l.Status == lineage.LinkBroken:
			fmt.Fprintf(w, ": %s", l.Reason)
		case l.Reason != "":
			fmt.Fprintf(w, " (%s)", l.Reason)
		case l.Provenance == lineage.ProvenanceUnknown:
			fmt.Fprint(w, " — signature valid; provenance unknown")
		default:
			fmt.Fprint(w, " — signature valid; provenance verified")
		}
		fmt.Fprintln(w)
		for _, c := range l.Code {
			fmt.Fprintf(w, "       %s  code %s@%s (recorded, not checked)\n", strings.Repeat("  ", l.Depth), c.URI, c.Commit)
		}
		for _, src := range l.Sources {
			fmt.Fprintf(w, "       %s  taken in from %s%s (upstream, recorded at intake)\n", strings.Repeat("  ", l.Depth), src.URI, prefixed(" at ", string(src.Digest)))
		}
		for _, warn := range l.Warnings {
			fmt.Fprintf(w, "       %s  warning: %s\n", strings.Repeat("  ", l.Depth), warn)
		}
	}
	switch {
	case rep.FirstBroken >= 0:
		l := rep.Links[rep.FirstBroken]
		fmt.Fprintf(w, "FAIL %s: first broken link at %s: %s\n", rep.Model, orMissing(l.Path), l.Reason)
	case !rep.OK:
		fmt.Fprintf(w, "FAIL %s: signature valid but its provenance is unknown (no verified provenance claim)\n", rep.Model)
	default:
		fmt.Fprintf(w, "OK %s: chain verified, %d links, %d artifacts hashed", rep.Model, len(rep.Links), rep.Hashed)
		if len(rep.Unknown) > 0 {
			fmt.Fprintf(w, "; provenance unknown for %s", strings.Join(rep.Unknown, ", "))
		}
		fmt.Fprintln(w)
	}
}

func orMissing(p string) string {
	if p == "" {
		return "(missing parent)"
	}
	return p
}
