package cli

import (
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/policy"
	"github.com/mlsecops/mlsec/scan"
)

func checkReportFormat(f string) error {
	if f != "table" && f != "json" && f != "html" {
		return mlsec.Errorf(mlsec.EINVALID, "--format %q: want table, json or html", f)
	}
	return nil
}

func newFrameworksCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "frameworks",
		Short: "Framework coverage of the pipeline's controls, and the OpenSSF tools map",
	}
	cmd.AddCommand(newCoverageCmd(app), newToolsCmd(app))
	return cmd
}

// pipelineStages returns the stages a pipeline uses (configured or named
// by an artifact); every stage without a pipeline.
func pipelineStages(pl *lifecycle.Pipeline) []string { return policy.UsedStages(pl) }

// gatherControls collects the controls in force (policy.Controls, the
// server's list too): the rules of each used stage's gate, every scanner
// rule, and mlsec's own capabilities.
func gatherControls(pl *lifecycle.Pipeline) ([]lifecycle.CoverageControl, error) {
	return policy.Controls(pl, scan.DefaultConfig(), nil)
}

func frameworkCoverage(pl *lifecycle.Pipeline) ([]lifecycle.FrameworkCoverage, error) {
	fc, err := policy.FrameworkCoverage(pl, scan.DefaultConfig(), nil)
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EINVALID, "%w", err)
	}
	return fc, nil
}

func newCoverageCmd(app *App) *cobra.Command {
	var pipelineFile, format, framework string
	var gapsOnly bool
	cmd := &cobra.Command{
		Use:   "coverage [--pipeline FILE] [--format table|json|html]",
		Short: "For each framework item, the controls that cover it in this pipeline, and the gaps",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkReportFormat(format); err != nil {
				return err
			}
			var pl *lifecycle.Pipeline
			if pipelineFile != "" {
				p, err := lifecycle.LoadPipeline(pipelineFile)
				if err != nil {
					return mlsec.Errorf(mlsec.EINVALID, "%w", err)
				}
				pl = p
			}
			fc, err := frameworkCoverage(pl)
			if err != nil {
				return err
			}
			if framework != "" {
				var known []string
				for _, f := range fc {
					known = append(known, f.Framework)
				}
				fc = slices.DeleteFunc(fc, func(f lifecycle.FrameworkCoverage) bool { return f.Framework != framework })
				if len(fc) == 0 {
					return mlsec.Errorf(mlsec.EINVALID, "--framework %q: unknown framework (want one of %s)", framework, strings.Join(known, ", "))
				}
			}
			if gapsOnly {
				for i := range fc {
					fc[i].Items = slices.DeleteFunc(fc[i].Items, func(it lifecycle.CoverageItem) bool { return !it.Gap })
				}
			}
			switch format {
			case "json":
				return writeJSON(app.Stdout, fc)
			case "html":
				return renderHTML(app.Stdout, "coverage", fc)
			}
			return writeCoverageTable(app.Stdout, fc)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&pipelineFile, "pipeline", "", "pipeline file (default: every stage with its built-in gate)")
	fl.StringVar(&format, "format", "table", "output format: table, json or html")
	fl.StringVar(&framework, "framework", "", "only this framework (e.g. owasp-llm-2025)")
	fl.BoolVar(&gapsOnly, "gaps", false, "list only the items no control covers")
	return cmd
}

func writeCoverageTable(w io.Writer, fc []lifecycle.FrameworkCoverage) error {
	for _, f := range fc {
		fmt.Fprintf(w, "%s (%s): %d/%d covered (%.1f%%)\n", f.Name, f.Version, f.Covered, f.Total, f.Percent)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, it := range f.Items {
			ctl := "GAP"
			if !it.Gap {
				ctl = summarizeControls(it.Controls, 4)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", it.ID, truncate(it.Name, 60), ctl)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	return nil
}

func summarizeControls(cs []string, n int) string {
	if len(cs) <= n {
		return strings.Join(cs, ", ")
	}
	return fmt.Sprintf("%s, +%d more", strings.Join(cs[:n], ", "), len(cs)-n)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func newToolsCmd(app *App) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "tools [--format table|json|md|html]",
		Short: "Per stage: where OpenSSF/Sigstore tools close gaps and where they do not, and what mlsec adds",
		Long: `Tools prints the reference architecture's gap table: for each stage, each
security control, the OpenSSF / Sigstore tools that serve it, where those
tools stop, what mlsec adds, and whether the control is closed by the tools,
by mlsec, by both, or still open. --format md writes a Markdown table a
working group can paste; --format html a self-contained page.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "md" {
				if err := checkReportFormat(format); err != nil {
					return mlsec.Errorf(mlsec.EINVALID, "--format %q: want table, json, md or html", format)
				}
			}
			tc, err := lifecycle.LoadTools()
			if err != nil {
				return err
			}
			bs := tc.ByStage()
			switch format {
			case "json":
				return writeJSON(app.Stdout, struct {
					Tools  []lifecycle.Tool       `json:"tools"`
					Stages []lifecycle.StageTools `json:"stages"`
				}{tc.Tools, bs})
			case "html":
				return renderHTML(app.Stdout, "tools", bs)
			case "md":
				return writeToolsMarkdown(app.Stdout, bs)
			}
			tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "STAGE\tCONTROL\tOPENSSF/SIGSTORE TOOLS\tMLSEC\tCLOSED BY")
			for _, s := range bs {
				for _, c := range s.Controls {
					tools := strings.Join(c.Tools, ", ")
					if tools == "" {
						tools = "-"
					}
					ml := strings.Join(c.Control.MLSec, ", ")
					if ml == "" {
						ml = "-"
					}
					status := closedBy(c)
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Stage, c.Control.ID, tools, ml, status)
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, json, md or html")
	return cmd
}

// writeToolsMarkdown writes the gap table as GitHub-flavoured Markdown.
func writeToolsMarkdown(w io.Writer, bs []lifecycle.StageTools) error {
	cell := func(s string) string {
		if s == "" {
			return "—"
		}
		return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
	}
	fmt.Fprintln(w, "# Where OpenSSF tools close gaps, and where they do not")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Per lifecycle stage of the OpenSSF MLSecOps reference architecture: each security control, the OpenSSF / Sigstore tools that serve it, where those tools stop, and what mlsec adds. Generated by `mlsec frameworks tools --format md`.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| Stage | Control | OpenSSF / Sigstore tools | Where the tools stop | What mlsec adds | mlsec commands | Closed by |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- |")
	for _, s := range bs {
		for _, c := range s.Controls {
			var cmds []string
			for _, m := range c.Control.MLSec {
				cmds = append(cmds, "`"+m+"`")
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", s.Stage, cell(c.Control.Title), cell(strings.Join(c.Tools, ", ")),
				cell(c.Control.Gap), cell(c.Control.Adds), cell(strings.Join(cmds, ", ")), closedBy(c))
		}
	}
	return nil
}

// closedBy says who closes a control: "OpenSSF + mlsec", "OpenSSF only",
// "mlsec only" or "OPEN".
func closedBy(c lifecycle.ControlStatus) string {
	switch c.ClosedBy {
	case "openssf+mlsec":
		return "OpenSSF + mlsec"
	case "openssf":
		return "OpenSSF only"
	case "mlsec":
		return "mlsec only"
	}
	return "OPEN"
}

// controlView splits an item's controls for the HTML report: gate rules
// and capabilities one by one, scanner rules grouped by detector prefix
// ("PICKLE (13)") with the full list kept for a <details> element.
type controlView struct {
	Other, ScannerGroups, Scanner []string
}

func viewControls(cs []string) controlView {
	var v controlView
	counts := map[string]int{}
	var order []string
	for _, c := range cs {
		id, ok := strings.CutPrefix(c, "scanner:")
		if !ok {
			v.Other = append(v.Other, c)
			continue
		}
		v.Scanner = append(v.Scanner, id)
		prefix := id
		if i := strings.LastIndex(id, "-"); i > 0 {
			prefix = id[:i]
		}
		if counts[prefix] == 0 {
			order = append(order, prefix)
		}
		counts[prefix]++
	}
	for _, p := range order {
		v.ScannerGroups = append(v.ScannerGroups, fmt.Sprintf("%s (%d)", p, counts[p]))
	}
	return v
}

// renderHTML writes a self-contained HTML report.
func renderHTML(w io.Writer, page string, data any) error {
	t, err := template.New("page").Funcs(template.FuncMap{
		"join":     strings.Join,
		"closedBy": closedBy,
		"controls": viewControls,
		"pct":      func(f float64) string { return fmt.Sprintf("%.1f%%", f) },
	}).Parse(htmlPages)
	if err != nil {
		return mlsec.Errorf(mlsec.EINTERNAL, "%w", err)
	}
	return t.ExecuteTemplate(w, page, data)
}

const htmlPages = `
{{define "head"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>mlsec {{.}}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin-bottom:2em}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}th{background:#f4f4f4}
.gap,.red,.open{background:#fdd}.ok,.green,.closed{background:#dfd}.amber{background:#ffe9b3}.grey{background:#eee}
details summary{cursor:pointer}.box{display:inline-block;vertical-align:top;padding:.8em 1em;margin:.2em;border-radius:6px;min-width:8em;min-height:3.6em}</style></head><body>{{end}}
{{define "coverage"}}{{template "head" "framework coverage"}}<h1>Framework coverage</h1>
{{range .}}<h2>{{.Name}} <small>({{.Version}})</small>: {{.Covered}}/{{.Total}} ({{pct .Percent}})</h2>
<table><tr><th>ID</th><th>Item</th><th>Controls</th></tr>
{{range .Items}}<tr class="{{if .Gap}}gap{{else}}ok{{end}}"><td>{{.ID}}</td><td>{{.Name}}</td><td>{{if .Gap}}GAP{{else}}{{with controls .Controls}}{{join .Other ", "}}{{if .Scanner}}{{if .Other}}<br>{{end}}<details><summary>scanner rules: {{join .ScannerGroups ", "}}</summary>{{join .Scanner ", "}}</details>{{end}}{{end}}{{end}}</td></tr>
{{end}}</table>{{end}}</body></html>{{end}}
{{define "tools"}}{{template "head" "tools map"}}<h1>Where OpenSSF tools close gaps, and where not</h1>
<p>Per lifecycle stage: each security control, the OpenSSF / Sigstore tools that serve it, where those tools stop, and what mlsec adds.</p>
<table><tr><th>Stage</th><th>Control</th><th>OpenSSF / Sigstore tools</th><th>Where the tools stop</th><th>What mlsec adds</th><th>mlsec commands</th><th>Closed by</th></tr>
{{range $s := .}}{{range .Controls}}<tr class="{{if .Open}}open{{else}}closed{{end}}" data-stage="{{$s.Stage}}" data-control="{{.Control.ID}}"><td>{{$s.Stage}}</td><td>{{.Control.Title}}</td>
<td>{{join .Tools ", "}}</td><td>{{.Control.Gap}}</td><td>{{.Control.Adds}}</td><td>{{join .Control.MLSec ", "}}</td><td>{{closedBy .}}</td></tr>
{{end}}{{end}}</table></body></html>{{end}}
{{define "assess"}}{{template "head" "maturity assessment"}}<h1>Maturity scorecard{{if .Pipeline}}: {{.Pipeline}}{{end}}</h1>
<h2>Lifecycle</h2><div>{{range .Stages}}<span class="box {{.Status}}" title="{{.Next}}"><b>{{.Stage}}</b><br>{{.Passed}}/{{.Artifacts}} passed{{if .Artifacts}}<br>AIMM L{{.Level}}{{end}}{{if not .Gated}}<br>not gated{{end}}</span>{{end}}</div>
<h2>CoSAI AIMM level per artifact class</h2><table><tr><th>Class</th><th>Level</th><th>Artifacts</th></tr>
{{range .Classes}}<tr><td>{{.Class}}</td><td>L{{.Level}}</td><td>{{range $i, $a := .Artifacts}}{{if $i}}, {{end}}{{$a.Name}} (L{{$a.Level}}){{end}}</td></tr>{{end}}</table>
<h2>SLSA build level: L{{.SLSABuildLevel}}</h2><p>{{.SLSAReason}}</p>
<h2>Framework coverage</h2><table><tr><th>Framework</th><th>Covered</th></tr>
{{range .Frameworks}}<tr><td>{{.Name}}</td><td>{{.Covered}}/{{.Total}} ({{pct .Percent}})</td></tr>{{end}}</table>
<h2>Next steps</h2><ol>{{range .NextSteps}}<li>{{.}}</li>{{end}}</ol></body></html>{{end}}
`
