// Package guide generates the catalogue-driven part of the implementation
// guides in docs/guides/<stage>.md: for one lifecycle stage, what it
// receives and hands on, who is responsible and accountable (with their
// CSA AICM shared-responsibility actors), the threats its checks address
// (OWASP ML and LLM Top 10, MITRE ATLAS, CSA AICM), each gate rule with its
// owner and its NIST AI RMF subcategories and SSDF / SP 800-218A tasks, the
// architecture's controls with the OpenSSF tools and mlsec commands that
// close them, and what stays open.
//
// Everything comes from the catalogues the gates use (built-in policies,
// RACI, tools map, taxonomy), so the guides cannot drift from the code: a
// test regenerates the section between the markers and compares.
package guide

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/policy"
	"github.com/mlsecops/mlsec/taxonomy"
)

// Markers delimit the generated section of a guide.
const (
	Begin = "<!-- BEGIN GENERATED (go test ./internal/guide -update rewrites this section from the catalogues; edit outside it) -->"
	End   = "<!-- END GENERATED -->"
)

// Generate returns the generated section of stage's guide, markers
// included.
func Generate(stage string) (string, error) {
	st, ok := lifecycle.LookupStage(stage)
	if !ok {
		return "", fmt.Errorf("guide: unknown stage %q", stage)
	}
	cat, err := taxonomy.Load()
	if err != nil {
		return "", err
	}
	eng, err := policy.NewEngine()
	if err != nil {
		return "", err
	}
	g, err := eng.StageGate(stage, nil, "")
	if err != nil {
		return "", err
	}
	raci, err := lifecycle.LoadRACI()
	if err != nil {
		return "", err
	}
	tc, err := lifecycle.LoadTools()
	if err != nil {
		return "", err
	}
	var stools lifecycle.StageTools
	for _, s := range tc.ByStage() {
		if s.Stage == stage {
			stools = s
		}
	}
	var b strings.Builder
	b.WriteString(Begin + "\n\n")
	fmt.Fprintf(&b, "## At a glance\n\n")
	fmt.Fprintf(&b, "| | |\n| --- | --- |\n")
	fmt.Fprintf(&b, "| Stage | `%s` — %s |\n", st.Name, st.Title)
	fmt.Fprintf(&b, "| Receives | %s |\n| Hands on | %s |\n", kinds(st.Receives), kinds(st.Produces))
	var owners []string
	for _, letter := range []string{"A", "R", "C"} {
		var who []string
		for _, r := range raci.Roles {
			if raci.Gates[stage][r.ID] == letter {
				who = append(who, fmt.Sprintf("%s (`%s`; AICM SSRM: %s)", r.Name, r.ID, strings.Join(r.SSRM, ", ")))
			}
		}
		if len(who) > 0 {
			owners = append(owners, fmt.Sprintf("| %s | %s |", map[string]string{"A": "Accountable", "R": "Responsible", "C": "Consulted"}[letter], strings.Join(who, "; ")))
		}
	}
	b.WriteString(strings.Join(owners, "\n") + "\n")
	var pols []string
	for _, p := range g.Policies {
		pols = append(pols, fmt.Sprintf("`%s` %s (%d rules)", p.Name, p.Version, len(p.Rules)))
	}
	fmt.Fprintf(&b, "| Built-in gate | %s |\n", strings.Join(pols, ", "))
	fmt.Fprintf(&b, "| OpenSSF / Sigstore tools | %s |\n\n", orDash(stageTools(stools)))

	// Threats: from the rules' and the stage's controls' mappings.
	var ms []mlsec.Mapping
	for _, p := range g.Policies {
		for _, r := range p.Rules {
			ms = append(ms, r.Mappings...)
		}
	}
	var openMs []mlsec.Mapping
	for _, c := range stools.Controls {
		if c.Open {
			openMs = append(openMs, c.Control.Mappings...)
			continue
		}
		ms = append(ms, c.Control.Mappings...)
	}
	b.WriteString("## Threats this stage's checks address\n\n")
	for _, fw := range []struct{ id, label string }{
		{taxonomy.OWASPML2023, "OWASP Machine Learning Security Top 10"},
		{taxonomy.OWASPLLM2025, "OWASP Top 10 for LLM Applications 2025"},
		{taxonomy.MITREATLAS, "MITRE ATLAS"},
		{taxonomy.CSAAICM, "CSA AI Controls Matrix"},
	} {
		items := titles(cat, fw.id, ms)
		if len(items) == 0 {
			items = []string{"none mapped"}
		}
		fmt.Fprintf(&b, "- **%s:** %s\n", fw.label, strings.Join(items, "; "))
	}
	var unaddressed []string
	for _, fw := range []string{taxonomy.OWASPML2023, taxonomy.OWASPLLM2025, taxonomy.MITREATLAS} {
		for _, it := range titles(cat, fw, openMs) {
			id, _, _ := strings.Cut(it, " ")
			if !slices.Contains(ms, mlsec.Mapping{Framework: fw, ID: id}) {
				unaddressed = append(unaddressed, it)
			}
		}
	}
	if len(unaddressed) > 0 {
		fmt.Fprintf(&b, "\nAt this stage but addressed by no check (see What stays open): %s.\n", strings.Join(unaddressed, "; "))
	}
	b.WriteString("\n## Gate rules, owners and framework tasks\n\n")
	var resp, acc []string
	for _, r := range raci.Roles {
		switch raci.Gates[stage][r.ID] {
		case "R":
			resp = append(resp, "`"+r.ID+"`")
		case "A":
			acc = append(acc, "`"+r.ID+"`")
		}
	}
	fmt.Fprintf(&b, "Every rule is run by %s and signed off by %s (RACI, `mlsec roles`).\n\n", strings.Join(resp, " and "), strings.Join(acc, " and "))
	b.WriteString("| Rule | Check | NIST AI RMF | NIST SSDF / SP 800-218A | CSA AICM |\n| --- | --- | --- | --- | --- |\n")
	for _, p := range g.Policies {
		for _, r := range p.Rules {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.ID, cell(r.Title), ids(r.Mappings, taxonomy.NISTAIRMF10), ids(r.Mappings, taxonomy.NISTSSDF11), ids(r.Mappings, taxonomy.CSAAICM))
		}
	}
	b.WriteString("\n## Architecture controls at this stage\n\n")
	b.WriteString("| Control | OpenSSF / Sigstore tools | mlsec | Closed by | NIST SSDF / SP 800-218A | CSA AICM |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, c := range stools.Controls {
		var cmds []string
		for _, m := range c.Control.MLSec {
			cmds = append(cmds, "`"+m+"`")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", cell(c.Control.Title), orDash(c.Tools), orDash(cmds), closedBy(c.ClosedBy),
			ids(c.Control.Mappings, taxonomy.NISTSSDF11), ids(c.Control.Mappings, taxonomy.CSAAICM))
	}
	b.WriteString("\n## What stays open\n\n")
	open := 0
	for _, c := range stools.Controls {
		if c.Open || strings.HasPrefix(c.Control.Adds, "Nothing") {
			open++
			fmt.Fprintf(&b, "- **%s** — %s %s\n", c.Control.Title, c.Control.Gap, c.Control.Adds)
		}
	}
	if open == 0 {
		b.WriteString("- Every control of the architecture at this stage is closed by an OpenSSF tool or by mlsec; see the prose below for limits.\n")
	}
	b.WriteString("\n" + End)
	return b.String(), nil
}

// Splice replaces the generated section of doc with gen.
func Splice(doc, gen string) (string, error) {
	i := strings.Index(doc, Begin)
	j := strings.Index(doc, End)
	if i < 0 || j < i {
		return "", fmt.Errorf("guide: generated-section markers missing or out of order")
	}
	return doc[:i] + gen + doc[j+len(End):], nil
}

// Section returns the generated section of doc, markers included.
func Section(doc string) (string, bool) {
	i := strings.Index(doc, Begin)
	j := strings.Index(doc, End)
	if i < 0 || j < i {
		return "", false
	}
	return doc[i : j+len(End)], true
}

func stageTools(s lifecycle.StageTools) []string {
	var out []string
	for _, c := range s.Controls {
		for _, t := range c.Tools {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

// titles lists the distinct ids of framework fw among ms, "ID Title", in
// catalogue order.
func titles(cat *taxonomy.Catalogues, fw string, ms []mlsec.Mapping) []string {
	c, ok := cat.Catalogue(fw)
	if !ok {
		return nil
	}
	var out []string
	for _, it := range c.Items {
		if slices.Contains(ms, mlsec.Mapping{Framework: fw, ID: it.ID}) {
			out = append(out, it.ID+" "+cell(cat.Title(fw, it.ID)))
		}
	}
	return out
}

func ids(ms []mlsec.Mapping, fw string) string {
	var out []string
	for _, m := range ms {
		if m.Framework == fw && !slices.Contains(out, m.ID) {
			out = append(out, m.ID)
		}
	}
	return orDash(out)
}

func kinds(ks []lifecycle.Kind) string {
	var out []string
	for _, k := range ks {
		out = append(out, "`"+string(k)+"`")
	}
	return orDash(out)
}

func closedBy(s string) string {
	switch s {
	case "openssf+mlsec":
		return "OpenSSF + mlsec"
	case "openssf":
		return "OpenSSF only"
	case "mlsec":
		return "mlsec only"
	}
	return "**open**"
}

func orDash(s []string) string {
	if len(s) == 0 {
		return "—"
	}
	return strings.Join(s, ", ")
}

func cell(s string) string { return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s) }
