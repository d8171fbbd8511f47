package cli

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/lineage"
)

// loadEvidence indexes the evidence directory (if any) and the artifact's
// own evidence.
func loadEvidence(ctx context.Context, app *App, dir string, artifacts ...string) (*lineage.Index, error) {
	if dir != "" {
		if err := checkModelPath(dir); err != nil {
			return nil, err
		}
	}
	idx, err := lineage.IndexDir(ctx, dir, lineage.IndexOptions{})
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	for _, a := range artifacts {
		idx.AddArtifactEvidence(ctx, a)
	}
	for _, p := range idx.Problems {
		app.Log.Warn("unusable evidence", "source", p.Source, "reason", p.Reason)
	}
	return idx, nil
}

// resolveTarget turns a PATH, sha256:<hex> or bare <hex> argument into a
// digest; a path is hashed (through its signature's serialization). An
// existing path wins over a bare hex digest of the same spelling.
func resolveTarget(ctx context.Context, arg string) (attest.Digest, string, error) {
	if strings.HasPrefix(arg, "sha256:") {
		d, err := attest.ParseDigest(arg)
		if err != nil {
			return "", "", usageError(err)
		}
		return d, "", nil
	}
	if _, err := os.Stat(arg); err != nil && isHexDigest(arg) {
		d, err := attest.ParseDigest("sha256:" + strings.ToLower(arg))
		if err != nil {
			return "", "", usageError(err)
		}
		return d, "", nil
	}
	s, err := identify(ctx, &attest.Hasher{}, "PATH", arg)
	if err != nil {
		return "", "", err
	}
	return s.Digest, arg, nil
}

// isHexDigest reports a bare 64-digit hex SHA-256 (as sha256sum and other
// tools print it).
func isHexDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// defaultEvidence is the evidence directory of lineage, lineage impact and
// verify-chain without --evidence: the directory containing PATH (by
// absolute path, so "." inside a model directory searches beside it), or
// the current directory for a digest.
func defaultEvidence(path string) (string, error) {
	if path == "" {
		return ".", nil
	}
	d, err := evidence.SearchDir(path)
	if err != nil {
		return "", mlsec.Errorf(mlsec.EIO, "%w", err)
	}
	// Relative in, relative out: paths print as the user wrote them.
	if !filepath.IsAbs(path) {
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, d); err == nil {
				return rel, nil
			}
		}
	}
	return d, nil
}

// signedDigestChanged returns the digest recorded in the signature of the
// artifact at path when it differs from onDisk (the artifact changed since
// it was signed), else "".
func signedDigestChanged(path string, onDisk attest.Digest) attest.Digest {
	sig, err := evidence.SignaturePath(path)
	if err != nil {
		return ""
	}
	sd, err := attest.SignedDigest(sig)
	if err != nil || sd == onDisk {
		return ""
	}
	return sd
}

func newLineageCmd(app *App) *cobra.Command {
	var (
		depth               int
		evidenceDir, format string
	)
	cmd := &cobra.Command{
		Use:   "lineage [flags] PATH|sha256:DIGEST|DIGEST",
		Short: "Print a model's ancestry from its provenance (datasets, base models, runs)",
		Long: `Lineage prints the ancestry tree of a model: the runs that produced it (from
SLSA provenance in claims files) and their datasets and base models,
recursively. --evidence DIR is searched recursively for artifacts and their
claims files (default: the directory containing PATH, or the current
directory for a digest, given as sha256:HEX or bare HEX). Claims are read
without checking signatures: use verify-chain to verify a chain.

An artifact without provenance is shown as "provenance unknown".`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			ctx := cmd.Context()
			d, path, err := resolveTarget(ctx, args[0])
			if err != nil {
				return err
			}
			if evidenceDir == "" {
				if evidenceDir, err = defaultEvidence(path); err != nil {
					return err
				}
			}
			var own []string
			if path != "" {
				own = append(own, path)
			}
			idx, err := loadEvidence(ctx, app, evidenceDir, own...)
			if err != nil {
				return err
			}
			if path != "" {
				if sd := signedDigestChanged(path, d); sd != "" {
					fmt.Fprintf(app.Stderr, "mlsec: warning: %s is %s on disk but its signature records %s: the files changed since signing (the ancestry shown is of the files on disk; mlsec lineage %s shows the signed version's)\n", path, d, sd, sd)
				}
			}
			if depth < 0 {
				depth = -1
			}
			tree, err := lineage.Ancestry(ctx, idx, d, depth)
			if err != nil {
				return err
			}
			if format == "json" {
				return writeJSON(app.Stdout, tree)
			}
			writeTree(app.Stdout, tree, "", "", true)
			return nil
		},
	}
	cmd.Flags().IntVar(&depth, "depth", -1, "levels of ancestry to show (default: all)")
	cmd.Flags().StringVar(&evidenceDir, "evidence", "", "directory searched recursively for artifacts and claims (default: PATH's directory, or . for a digest)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.AddCommand(newLineageImpactCmd(app))
	return cmd
}

func nodeLabel(n *lineage.Node) string {
	var b strings.Builder
	name := n.Name
	if name == "" {
		name = "?"
	}
	b.WriteString(name)
	if n.Role != "" {
		fmt.Fprintf(&b, " [%s]", n.Role)
	}
	fmt.Fprintf(&b, " %s", n.Digest)
	if len(n.Paths) > 0 {
		fmt.Fprintf(&b, " %s", strings.Join(n.Paths, ", "))
	} else {
		b.WriteString(" (not in the evidence)")
	}
	switch {
	case n.Cycle:
		b.WriteString(" — CYCLE")
	case n.Provenance == lineage.ProvenanceUnknown:
		b.WriteString(" — provenance unknown")
	default:
		var runs []string
		for _, r := range n.Runs {
			runs = append(runs, strings.TrimSpace(r.RunType+" by "+r.BuilderID))
		}
		fmt.Fprintf(&b, " — %s", strings.Join(runs, "; "))
	}
	for _, c := range n.Code {
		fmt.Fprintf(&b, "; code %s@%s", c.URI, c.Commit)
	}
	for _, src := range n.Sources {
		fmt.Fprintf(&b, "; taken in from %s%s", src.URI, prefixed(" at ", string(src.Digest)))
	}
	if n.Truncated {
		b.WriteString(" (more ancestors: raise --depth)")
	}
	return b.String()
}

// writeTree renders the ancestry with box-drawing branches.
func writeTree(w io.Writer, n *lineage.Node, indent, branch string, root bool) {
	fmt.Fprintf(w, "%s%s%s\n", indent, branch, nodeLabel(n))
	child := indent
	if !root {
		if branch == "└── " {
			child += "    "
		} else {
			child += "│   "
		}
	}
	for i, p := range n.Parents {
		b := "├── "
		if i == len(n.Parents)-1 {
			b = "└── "
		}
		writeTree(w, p, child, b, false)
	}
}

func newLineageImpactCmd(app *App) *cobra.Command {
	var evidenceDir, format string
	cmd := &cobra.Command{
		Use:   "impact [--evidence DIR] [flags] sha256:DIGEST|DIGEST|PATH",
		Short: "List every artifact derived from a compromised dataset or model",
		Long: `Impact lists every artifact (by path and digest) derived, directly or
transitively, from the given dataset or model, according to the provenance
found in --evidence DIR (searched recursively; default, as for lineage: the
directory containing PATH, or the current directory for a digest): the blast
radius of a compromised input, nearest first.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			ctx := cmd.Context()
			d, path, err := resolveTarget(ctx, args[0])
			if err != nil {
				return err
			}
			if evidenceDir == "" {
				if evidenceDir, err = defaultEvidence(path); err != nil {
					return err
				}
			}
			// A compromised artifact may have been changed since it was
			// signed: what derives from the signed version is impacted too.
			var more []attest.Digest
			if path != "" {
				if sd := signedDigestChanged(path, d); sd != "" {
					fmt.Fprintf(app.Stderr, "mlsec: warning: %s is %s on disk but its signature records %s: the files changed since signing; listing what derives from either\n", path, d, sd)
					more = append(more, sd)
				}
			}
			idx, err := loadEvidence(ctx, app, evidenceDir)
			if err != nil {
				return err
			}
			got, err := lineage.Impact(ctx, idx, d, more...)
			if err != nil {
				return err
			}
			if format == "json" {
				out := map[string]any{"compromised": d, "evidence": evidenceDir, "impacted": nonNil(got)}
				if len(more) > 0 {
					out["also_compromised"] = more
				}
				return writeJSON(app.Stdout, out)
			}
			from := string(d)
			for _, m := range more {
				from += " or " + string(m)
			}
			fmt.Fprintf(app.Stdout, "%d artifacts derived from %s:\n", len(got), from)
			for _, g := range got {
				where := "(not in the evidence)"
				if len(g.Paths) > 0 {
					where = strings.Join(g.Paths, ", ")
				}
				fmt.Fprintf(app.Stdout, "%s  %s  depth %d, via %s as %s (%s)\n", where, g.Digest, g.Depth, g.Via.Short(), g.Role, g.RunType)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&evidenceDir, "evidence", "", "directory searched recursively for artifacts and claims (default: PATH's directory, or . for a digest)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
