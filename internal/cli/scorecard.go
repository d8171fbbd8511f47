package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/list"
	"github.com/mlsecops/mlsec/scorecard"
	"github.com/mlsecops/mlsec/transport/hfhub"
)

func newScorecardCmd(app *App) *cobra.Command {
	var (
		fl       inspectFlags
		fmtName  string
		output   string
		minScore float64
	)
	cmd := &cobra.Command{
		Use:   "scorecard [flags] DIR|hf://ORG/NAME[@REVISION]",
		Short: "Rate a model or dataset repository with ML-aware checks, OpenSSF Scorecard style",
		Long: `Scorecard rates a model or dataset directory (a Hugging Face repository, cache
snapshot or plain directory) with ML-aware checks in the style of the OpenSSF
Scorecard. Each check scores 0-10 (or ? when it does not apply) and says how
to do better: Signed-Weights, No-Pickle, Safetensors-Only, Remote-Code,
Chat-Template, License, Pinned-Base-Model, Dataset-Provenance, Model-Card.
The aggregate is the risk-weighted mean of the checks that apply.

hf://ORG/NAME[@REVISION] scores a Hugging Face Hub repository without
downloading its weights: the revision (default main) is pinned to a commit,
printed on standard error and written as repo.commit; files up to 1 MiB
(card, config, tokenizer configuration, licence, signature, claims) are
downloaded with the hub's hashes checked, and larger files are judged by
content from range requests. HF_ENDPOINT and HF_TOKEN apply as for intake.

Formats are judged by content with the scanner; signatures and claims are
looked for where the evidence layout puts them (mlsec sign and mlsec attest
write them there); signatures are not verified (mlsec verify does that).

Exit codes: 0 done (and the aggregate is at least --min-score when given);
1 the aggregate is below --min-score; 2 usage or I/O error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var write func(io.Writer, *scorecard.Result) error
			switch fmtName {
			case "table":
				write = scorecard.WriteTable
			case "json":
				write = scorecard.WriteJSON
			default:
				return usageError(fmt.Errorf("unknown --format %q (want table, json)", fmtName))
			}
			if minScore < 0 || minScore > 10 {
				return usageError(fmt.Errorf("--min-score %v is outside 0-10", minScore))
			}
			cfg := scan.DefaultConfig()
			dets, err := list.All(cfg)
			if err != nil {
				return usageError(err)
			}
			runner := scan.NewRunner(dets, cfg, scan.Options{Log: app.Log})
			var facts *scorecard.Facts
			if isHFRef(args[0]) {
				ref, err := hfhub.ParseRef(args[0])
				if err != nil {
					return usageError(err)
				}
				c := hfhub.NewClientFromEnv(os.Getenv)
				c.UserAgent = "mlsec/" + mlsec.Version
				f, src, err := scorecard.GatherHub(cmd.Context(), c, ref, runner, fl.options(app), scorecard.DefaultHubLimits)
				if err != nil {
					return err
				}
				fmt.Fprintf(app.Stderr, "scoring %s@%s (%s pinned to %s): %d files listed, %d downloaded (%s, hub hashes checked), %d judged from range reads (%s read)\n",
					ref.Repo, src.Commit[:12], ref.Revision, src.Commit, src.Listed, src.Downloaded, humanBytes(src.Bytes), src.Remote, humanBytes(src.RemoteBytes))
				facts = f
			} else {
				f, err := scorecard.Gather(cmd.Context(), args[0], runner, fl.options(app))
				if err != nil {
					return err
				}
				facts = f
			}
			res := scorecard.Run(facts, mlsec.Version, time.Now())
			if err := writeOutput(app, output, "scorecard", func(w io.Writer) error { return write(w, res) }); err != nil {
				return err
			}
			if cmd.Flags().Changed("min-score") && res.Score < minScore {
				return fmt.Errorf("scorecard: aggregate score %.1f is below --min-score %v: %w", res.Score, minScore, mlsec.ErrFindings)
			}
			return nil
		},
	}
	f := cmd.Flags()
	fl.registerSource(cmd)
	f.StringVar(&fmtName, "format", "table", "output format: table, json (OpenSSF Scorecard's JSON shape)")
	f.StringVarP(&output, "output", "o", "", "write the scorecard to `FILE` instead of standard output")
	f.Float64Var(&minScore, "min-score", 0, "exit 1 when the aggregate score is below `N` (0-10)")
	return cmd
}
