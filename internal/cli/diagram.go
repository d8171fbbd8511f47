package cli

import (
	"bytes"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/diagram"
	"github.com/mlsecops/mlsec/lifecycle"
)

func newDiagramCmd(app *App) *cobra.Command {
	var pipelineFile, variant, format, output, colour string
	var trustedKeys []string
	var scale float64
	cmd := &cobra.Command{
		Use:   "diagram [--pipeline FILE] [--variant mlsecops|llmsecops] [--format svg|png|html] [-o FILE]",
		Short: "Draw the lifecycle figure: stages, hand-offs, gates and rules, roles, OpenSSF tools and open gaps",
		Long: `Diagram draws the reference architecture's lifecycle figure from the
catalogues the gates use: each stage with what it receives and hands on,
its gates and their rules as boxes, the roles responsible (R) and
accountable (A) for it (with the pipeline's identities holding them), the
OpenSSF / Sigstore tools that act there, and the controls no tool closes.

Without --pipeline every stage is drawn with its built-in gate and the
boxes are coloured by coverage. With --pipeline the pipeline's gates and
roles are drawn, and the stages are coloured by the assessment of its
artifacts (the one mlsec assess prints): green when every artifact passed
the stage's gate, amber when some have not been gated, red when one
failed, grey when none passes through; each stage shows the CoSAI AIMM
level its artifacts reach (gate boxes show the checks in force).
--colour coverage keeps the coverage colours.

--variant llmsecops adds knowledge ingestion (RAG corpora, prompts, tool
manifests) and lists OWASP LLM Top 10 threats instead of OWASP ML.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "svg" && format != "png" && format != "html" {
				return mlsec.Errorf(mlsec.EINVALID, "--format %q: want svg, png or html", format)
			}
			if colour != "" && colour != "coverage" && colour != "assessment" {
				return mlsec.Errorf(mlsec.EINVALID, "--colour %q: want coverage or assessment", colour)
			}
			if _, err := diagram.StageOrder(variant); err != nil {
				return err
			}
			opts := diagram.Options{Variant: variant}
			if pipelineFile != "" {
				pl, err := lifecycle.LoadPipeline(pipelineFile)
				if err != nil {
					return mlsec.Errorf(mlsec.EINVALID, "%w", err)
				}
				opts.Pipeline = pl
				if colour != "coverage" {
					df := decisionFlags{trustedKeys: trustedKeys}
					ids, _, err := df.identities(pl, nil)
					if err != nil {
						return err
					}
					facts, err := assessFacts(cmd.Context(), pl, ids, "")
					if err != nil {
						return err
					}
					sc := lifecycle.Assess(pl, facts, nil)
					opts.Assessment = &sc
				}
			} else if colour == "assessment" {
				return mlsec.Errorf(mlsec.EINVALID, "--colour assessment needs --pipeline FILE (the artifacts to assess)")
			}
			fig, err := diagram.Build(opts)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			switch format {
			case "svg":
				err = diagram.SVG(&buf, fig)
			case "html":
				err = diagram.HTML(&buf, fig)
			case "png":
				err = diagram.PNG(&buf, fig, scale)
			}
			if err != nil {
				return mlsec.Errorf(mlsec.EINTERNAL, "%w", err)
			}
			var w io.Writer = app.Stdout
			if output != "" && output != "-" {
				if err := os.WriteFile(output, buf.Bytes(), 0o644); err != nil {
					return mlsec.Errorf(mlsec.EIO, "%w", err)
				}
				return nil
			}
			_, err = w.Write(buf.Bytes())
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&pipelineFile, "pipeline", "", "pipeline file: its gates, roles and artifacts (default: every stage with its built-in gate)")
	fl.StringVar(&variant, "variant", diagram.VariantMLSecOps, "figure: mlsecops (nine stages) or llmsecops (adds knowledge ingestion)")
	fl.StringVar(&format, "format", "svg", "output format: svg, png or html")
	fl.StringVarP(&output, "output", "o", "", "write the figure to FILE (default: standard output)")
	fl.StringVar(&colour, "colour", "", "colour by coverage, or by the assessment of the pipeline's artifacts (default: assessment with --pipeline, else coverage)")
	fl.Float64Var(&scale, "scale", 2, "PNG pixels per figure unit (0 < scale ≤ 4)")
	fl.StringArrayVar(&trustedKeys, "trusted-key", nil, "NAME=PUB.pem: an extra trusted identity (repeatable)")
	return cmd
}
