package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/policy"
)

// maxEvidenceArtifacts bounds the artifacts an --evidence walk collects.
const maxEvidenceArtifacts = 10_000

func newAssessCmd(app *App) *cobra.Command {
	var pipelineFile, evidenceDir, format string
	var trustedKeys []string
	cmd := &cobra.Command{
		Use:   "assess --pipeline FILE [--evidence DIR]",
		Short: "Maturity scorecard: CoSAI AIMM level per artifact class, SLSA build level, stage coverage, frameworks, next steps",
		Long: `Assess reads the pipeline's artifacts (and, with --evidence, every signed
artifact or claims file under DIR), verifies their signatures and claims
against the pipeline's identities, and scores:

  - the CoSAI AIMM level of each artifact class (L1 integrity, L2 provenance
    and lineage, L3 policy-enforced attestations), the lowest of its artifacts;
  - the SLSA build level the training pipeline can claim from its provenance;
  - the green box of each lifecycle stage (every artifact passed its gate);
  - framework coverage of the controls in force;
  - the concrete next steps to reach the next level.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkReportFormat(format); err != nil {
				return err
			}
			if pipelineFile == "" {
				return mlsec.Errorf(mlsec.EINVALID, "--pipeline FILE is required")
			}
			pl, err := lifecycle.LoadPipeline(pipelineFile)
			if err != nil {
				return mlsec.Errorf(mlsec.EINVALID, "%w", err)
			}
			df := decisionFlags{trustedKeys: trustedKeys}
			ids, _, err := df.identities(pl, nil)
			if err != nil {
				return err
			}
			facts, err := assessFacts(cmd.Context(), pl, ids, evidenceDir)
			if err != nil {
				return err
			}
			fc, err := frameworkCoverage(pl)
			if err != nil {
				return err
			}
			sc := lifecycle.Assess(pl, facts, fc)
			switch format {
			case "json":
				return writeJSON(app.Stdout, struct {
					lifecycle.Scorecard
					Facts []lifecycle.ArtifactFacts `json:"artifacts"`
				}{sc, facts})
			case "html":
				return renderHTML(app.Stdout, "assess", sc)
			}
			return writeScorecard(app, sc)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&pipelineFile, "pipeline", "", "pipeline file (required)")
	fl.StringVar(&evidenceDir, "evidence", "", "directory searched recursively for signed artifacts and claims")
	fl.StringVar(&format, "format", "table", "output format: table, json or html")
	fl.StringArrayVar(&trustedKeys, "trusted-key", nil, "NAME=PUB.pem: an extra trusted identity (repeatable)")
	return cmd
}

// assessFacts gathers the facts about the pipeline's artifacts and those
// found under evidenceDir (without scanning: the assessment judges
// signatures and claims).
func assessFacts(ctx context.Context, pl *lifecycle.Pipeline, ids []policy.NamedVerifier, evidenceDir string) ([]lifecycle.ArtifactFacts, error) {
	g := &policy.Gatherer{Pipeline: pl, Identities: ids, SkipScan: true}
	var facts []lifecycle.ArtifactFacts
	seen := map[string]bool{}
	add := func(name string, kind lifecycle.Kind, path string, stages []string) error {
		f := lifecycle.ArtifactFacts{Name: name, Kind: kind, Path: path, Stages: stages, Decisions: map[string]string{}}
		if abs, err := filepath.Abs(path); err == nil {
			seen[abs] = true
		}
		if path == "" {
			facts = append(facts, f)
			return nil
		}
		if _, err := os.Stat(path); err != nil {
			facts = append(facts, f)
			return nil
		}
		got, err := g.Gather(ctx, policy.Target{Path: path, Name: name, Kind: kind})
		if err != nil {
			return err
		}
		f = policy.ArtifactFacts(got.Evidence, name, kind, stages)
		f.Path = path
		facts = append(facts, f)
		return nil
	}
	for _, a := range pl.Artifacts {
		if err := add(a.Name, a.Kind, pl.Resolve(a.Path), a.Stages); err != nil {
			return nil, err
		}
	}
	if evidenceDir == "" {
		return facts, nil
	}
	found, err := findEvidence(evidenceDir)
	if err != nil {
		return nil, err
	}
	for _, p := range found {
		abs, _ := filepath.Abs(p)
		if seen[abs] {
			continue
		}
		// Declared nowhere: policy.ArtifactFacts infers the kind from the evidence.
		if err := add(filepath.Base(p), "", p, nil); err != nil {
			return nil, err
		}
	}
	return facts, nil
}

// findEvidence lists the artifacts under dir: directories holding a
// signature or claims file, and files F with F.sig or F.claims.jsonl.
func findEvidence(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if len(out) >= maxEvidenceArtifacts {
			return fs.SkipAll
		}
		name := d.Name()
		switch {
		case d.IsDir():
			if name == ".git" {
				return fs.SkipDir
			}
			for _, f := range evidence.InsideNames() {
				if _, err := os.Stat(filepath.Join(p, f)); err == nil {
					out = append(out, p)
					return fs.SkipDir
				}
			}
		default:
			// F.sig and F.claims.jsonl name the file F (docs/evidence-layout.md).
			art, kind, ok := evidence.ArtifactOf(p)
			switch {
			case !ok || filepath.Base(art) == "" || evidence.IsInside(name):
			case kind == evidence.Claims:
				out = appendUnique(out, art)
			default:
				if _, err := os.Stat(art); err == nil {
					out = appendUnique(out, art)
				}
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.SkipAll) {
		return nil, mlsec.Errorf(mlsec.EIO, "--evidence: %w", err)
	}
	sort.Strings(out)
	return out, nil
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

func writeScorecard(app *App, sc lifecycle.Scorecard) error {
	w := app.Stdout
	fmt.Fprintf(w, "Maturity scorecard: %s\n\nCoSAI AIMM level per artifact class\n", sc.Pipeline)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range sc.Classes {
		var arts []string
		for _, a := range c.Artifacts {
			arts = append(arts, fmt.Sprintf("%s L%d", a.Name, a.Level))
		}
		fmt.Fprintf(tw, "  %s\tL%d\t%s\n", c.Class, c.Level, strings.Join(arts, ", "))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nSLSA build level: L%d — %s\n\nStages\n", sc.SLSABuildLevel, sc.SLSAReason)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, b := range sc.Stages {
		gated := "gated"
		if !b.Gated {
			gated = "not gated"
		}
		level := "-"
		if b.Artifacts > 0 {
			level = fmt.Sprintf("AIMM L%d", b.Level)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d/%d passed\t%s\t%s\t%s\n", b.Stage, b.Status, b.Passed, b.Artifacts, gated, level, b.Next)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nFramework coverage")
	for _, f := range sc.Frameworks {
		fmt.Fprintf(w, "  %-16s %3d/%-3d (%5.1f%%)  %s\n", f.Framework, f.Covered, f.Total, f.Percent, f.Name)
	}
	fmt.Fprintln(w, "\nNext steps")
	for i, s := range sc.NextSteps {
		fmt.Fprintf(w, "  %d. %s\n", i+1, s)
	}
	return nil
}
