// Package diagram draws the lifecycle figure of the OpenSSF MLSecOps
// reference architecture from the catalogues the gates use: the stages and
// their hand-offs, each stage's gates and rules as boxes, the roles
// responsible and accountable per stage (RACI), the OpenSSF tools placed
// where they act and the controls nobody closes yet, and, when known, the
// stage's CoSAI AIMM maturity level. Boxes are coloured by the latest gate
// decisions when the caller has them, else by coverage.
//
// One layout ([Figure] → scene) feeds every output: accessible SVG (titles,
// descriptions, real text), a self-contained HTML page, and PNG drawn with
// golang.org/x/image/vector and the Go fonts. The CLI (`mlsec diagram`) and
// the dashboard both call [Build] and the writers here.
package diagram

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/lifecycle"
	"github.com/mlsecops/mlsec/policy"
	"github.com/mlsecops/mlsec/taxonomy"
)

// Variants of the figure.
const (
	// VariantMLSecOps is the reference architecture's nine stages.
	VariantMLSecOps = "mlsecops"
	// VariantLLMSecOps adds knowledge ingestion (RAG corpora, prompts,
	// tool manifests) after data engineering and labels threats with the
	// OWASP LLM Top 10.
	VariantLLMSecOps = "llmsecops"
)

// Variants returns the figure variants.
func Variants() []string { return []string{VariantMLSecOps, VariantLLMSecOps} }

// Status is the colour of a box.
type Status string

// Statuses. Decision statuses come from recorded gate decisions; coverage
// statuses say whether the organisation has the check in force.
const (
	StatusPass    Status = "pass"    // latest decision passed (green)
	StatusWarn    Status = "warn"    // passed with warnings, or not every artifact passed yet (amber)
	StatusFail    Status = "fail"    // latest decision failed (red)
	StatusNone    Status = "none"    // no decision recorded (grey)
	StatusCovered Status = "covered" // the check is in force (green)
	StatusGap     Status = "gap"     // a control nobody closes (red outline)
	StatusUnused  Status = "unused"  // the pipeline does not use the stage (grey)
)

// Figure is everything the lifecycle figure shows, independent of the
// output format.
type Figure struct {
	// ID is the id attribute of the SVG element ("lifecycle").
	ID      string
	Title   string
	Desc    string
	Variant string
	// Colouring says what the box colours mean: "coverage" (checks in
	// force), "decisions" (latest gate decisions) or "assessment" (stages by
	// the maturity assessment of their artifacts, checks by coverage).
	Colouring string
	Stages    []Stage
}

// Stage is one column of the figure.
type Stage struct {
	Name, Title string
	Status      Status
	// Note is a short status line, e.g. "2/3 artifacts passed".
	Note     string
	Receives []string
	Produces []string
	Roles    []Role
	Gates    []Gate
	// Tools are the OpenSSF / Sigstore tools that act at this stage.
	Tools []string
	// Gaps are the architecture's controls at this stage that neither an
	// OpenSSF tool nor mlsec closes.
	Gaps []string
	// Threats are the OWASP ids (ML for mlsecops, LLM for llmsecops) the
	// stage's gate rules and closed controls address.
	Threats []string
	// Maturity is the stage's CoSAI AIMM level, when assessed.
	Maturity *Maturity
}

// Role is a persona responsible (R) or accountable (A) at a stage.
type Role struct {
	Letter string // "R" or "A"
	ID     string
	Name   string
	// Holders are the pipeline identities holding the role.
	Holders []string
	// SSRM are the CSA AICM shared-responsibility actors of the persona.
	SSRM []string
}

// Gate is one policy of a stage with its rules.
type Gate struct {
	Name   string
	Status Status
	Reason string
	Checks []Check
}

// Check is one rule of a gate.
type Check struct {
	ID, Title string
	Status    Status
	Reason    string
}

// Maturity is a stage's maturity from the assessment.
type Maturity struct {
	// Level is the lowest CoSAI AIMM level (0–3) of the stage's artifacts.
	Level int
	// Next is the next step towards the next level ("" at L3).
	Next string
}

// GateDecision is the latest decision of one gate at a stage.
type GateDecision struct {
	Policy  string
	Result  string // PASS, WARN, FAIL, or "none"
	Reasons []string
}

// Options select what Build draws.
type Options struct {
	// Variant is VariantMLSecOps (default) or VariantLLMSecOps.
	Variant string
	// Pipeline, when set, supplies the gates, parameters and role holders;
	// stages it does not use are drawn grey. Nil: every stage with its
	// built-in gate and the built-in personas.
	Pipeline *lifecycle.Pipeline
	// Decisions, when set, colours each stage's gates by their latest
	// decisions (keyed by stage name; a stage absent from the map has none).
	Decisions map[string][]GateDecision
	// Assessment, when set, colours each stage by its box in the
	// assessment and shows its maturity level and next step.
	Assessment *lifecycle.Scorecard
	// ID of the SVG element; default "lifecycle".
	ID string
	// GateOf, when set, returns a stage's compiled gate (the server holds
	// them already); nil compiles each stage's gate as mlsec gate does.
	GateOf func(stage string) (*policy.Gate, error)
}

// StageOrder returns the stages of a variant in figure order.
func StageOrder(variant string) ([]string, error) {
	switch variant {
	case "", VariantMLSecOps:
		return slices.DeleteFunc(lifecycle.StageNames(), func(s string) bool { return s == lifecycle.StageKnowledge }), nil
	case VariantLLMSecOps:
		return []string{lifecycle.StagePlanning, lifecycle.StageData, lifecycle.StageKnowledge, lifecycle.StageExperimentation,
			lifecycle.StagePipeline, lifecycle.StageCI, lifecycle.StageCD, lifecycle.StageTraining, lifecycle.StageServing,
			lifecycle.StageMonitoring}, nil
	}
	return nil, mlsec.Errorf(mlsec.EINVALID, "--variant %q: want %s", variant, strings.Join(Variants(), " or "))
}

// Build assembles the figure from the lifecycle stages, the stage gates
// (the pipeline's or the built-in ones), the RACI, the OpenSSF tools map
// and, when given, decisions and the maturity assessment.
func Build(opts Options) (*Figure, error) {
	order, err := StageOrder(opts.Variant)
	if err != nil {
		return nil, err
	}
	variant := opts.Variant
	if variant == "" {
		variant = VariantMLSecOps
	}
	gateOf := opts.GateOf
	if gateOf == nil {
		eng, err := policy.NewEngine()
		if err != nil {
			return nil, err
		}
		gateOf = func(stage string) (*policy.Gate, error) { return eng.StageGate(stage, opts.Pipeline, "") }
	}
	raci, err := lifecycle.LoadRACI()
	if err != nil {
		return nil, err
	}
	tools, err := lifecycle.LoadTools()
	if err != nil {
		return nil, err
	}
	byStage := map[string]lifecycle.StageTools{}
	for _, st := range tools.ByStage() {
		byStage[st.Stage] = st
	}
	threatFW := taxonomy.OWASPML2023
	if variant == VariantLLMSecOps {
		threatFW = taxonomy.OWASPLLM2025
	}
	used := map[string]bool{}
	for _, st := range policy.UsedStages(opts.Pipeline) {
		used[st] = true
	}
	boxes := map[string]lifecycle.StageBox{}
	if opts.Assessment != nil {
		for _, b := range opts.Assessment.Stages {
			boxes[b.Stage] = b
		}
	}
	f := &Figure{ID: opts.ID, Variant: variant, Colouring: "coverage"}
	if f.ID == "" {
		f.ID = "lifecycle"
	}
	switch {
	case opts.Decisions != nil:
		f.Colouring = "decisions"
	case opts.Assessment != nil:
		f.Colouring = "assessment"
	}
	for _, name := range order {
		ls, _ := lifecycle.LookupStage(name)
		s := Stage{Name: name, Title: ls.Title, Receives: kinds(ls.Receives), Produces: kinds(ls.Produces)}
		g, err := gateOf(name)
		if err != nil {
			return nil, err
		}
		if g == nil {
			g = &policy.Gate{Stage: name}
		}
		threats := map[string]bool{}
		decs := opts.Decisions[name]
		for _, p := range g.Policies {
			gate := Gate{Name: p.Name, Status: StatusCovered}
			if !used[name] {
				gate.Status = StatusUnused
			}
			var dec *GateDecision
			if opts.Decisions != nil {
				gate.Status = StatusNone
				for i := range decs {
					if samePolicy(decs[i].Policy, p.Name) {
						dec = &decs[i]
					}
				}
				if dec != nil {
					gate.Status = decisionStatus(dec.Result)
					gate.Reason = strings.Join(dec.Reasons, "; ")
				}
			}
			for _, r := range p.Rules {
				c := Check{ID: r.ID, Title: r.Title, Status: gate.Status}
				if dec != nil {
					c.Status, c.Reason = ruleStatus(r.ID, gate.Status, dec.Reasons)
				}
				gate.Checks = append(gate.Checks, c)
				for _, m := range r.Mappings {
					if m.Framework == threatFW {
						threats[m.ID] = true
					}
				}
			}
			s.Gates = append(s.Gates, gate)
		}
		// Decisions for policies that are no longer configured still show.
		for _, d := range decs {
			if !slices.ContainsFunc(s.Gates, func(g Gate) bool { return samePolicy(d.Policy, g.Name) }) {
				s.Gates = append(s.Gates, Gate{Name: d.Policy, Status: decisionStatus(d.Result), Reason: strings.Join(d.Reasons, "; ")})
			}
		}
		for _, role := range raci.Roles {
			l := raci.Gates[name][role.ID]
			if l != "R" && l != "A" {
				continue
			}
			r := Role{Letter: l, ID: role.ID, Name: role.Name, SSRM: slices.Clone(role.SSRM)}
			if opts.Pipeline != nil {
				r.Holders = slices.Clone(opts.Pipeline.Roles[role.ID])
			}
			s.Roles = append(s.Roles, r)
		}
		slices.SortStableFunc(s.Roles, func(a, b Role) int { return strings.Compare(b.Letter, a.Letter) }) // R before A
		for _, cs := range byStage[name].Controls {
			for _, t := range cs.Tools {
				if !slices.Contains(s.Tools, t) {
					s.Tools = append(s.Tools, t)
				}
			}
			if cs.Open {
				s.Gaps = append(s.Gaps, cs.Control.Title)
				continue // its threats are not addressed here
			}
			for _, m := range cs.Control.Mappings {
				if m.Framework == threatFW {
					threats[m.ID] = true
				}
			}
		}
		for id := range threats {
			s.Threats = append(s.Threats, id)
		}
		slices.Sort(s.Threats)
		s.Status = stageStatus(s, used[name], opts.Decisions != nil)
		if b, ok := boxes[name]; ok {
			s.Status = boxStatus(b.Status)
			s.Note = fmt.Sprintf("%d/%d artifacts passed", b.Passed, b.Artifacts)
			if b.Artifacts == 0 {
				s.Note = "no artifact passes through"
			}
			if b.Level >= 0 && b.Artifacts > 0 {
				s.Maturity = &Maturity{Level: b.Level, Next: b.Next}
			}
		} else if !used[name] {
			s.Note = "not used by the pipeline"
		}
		f.Stages = append(f.Stages, s)
	}
	f.Title, f.Desc = describe(f)
	return f, nil
}

func kinds(ks []lifecycle.Kind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}

func decisionStatus(result string) Status {
	switch strings.ToUpper(result) {
	case "PASS":
		return StatusPass
	case "WARN":
		return StatusWarn
	case "FAIL":
		return StatusFail
	}
	return StatusNone
}

// ruleStatus colours one rule by the decision's reasons, which record one
// line per rule, "RESULT RULE-ID: title[ — reason]"; a rule no reason names
// takes the gate's status.
func ruleStatus(id string, gate Status, reasons []string) (Status, string) {
	for _, r := range reasons {
		res, rest, ok := strings.Cut(r, " ")
		if !ok {
			continue
		}
		if rid, _, ok := strings.Cut(rest, ":"); ok && rid == id {
			if st := decisionStatus(res); st != StatusNone {
				return st, r
			}
		}
	}
	return gate, ""
}

// samePolicy reports whether a decision's policy field ("name@version",
// several joined by commas) names the policy name.
func samePolicy(decided, name string) bool {
	for _, ref := range strings.Split(decided, ",") {
		n, _, _ := strings.Cut(strings.TrimSpace(ref), "@")
		if n == name {
			return true
		}
	}
	return false
}

// boxStatus maps the assessment's green/amber/red/grey to a status.
func boxStatus(s string) Status {
	switch s {
	case "green":
		return StatusPass
	case "amber":
		return StatusWarn
	case "red":
		return StatusFail
	}
	return StatusNone
}

// stageStatus is the worst status of the stage's gates.
func stageStatus(s Stage, used, decisions bool) Status {
	if !decisions {
		if !used {
			return StatusUnused
		}
		return StatusCovered
	}
	rank := map[Status]int{StatusNone: 0, StatusPass: 1, StatusWarn: 2, StatusFail: 3}
	worst := StatusNone
	for _, g := range s.Gates {
		if rank[g.Status] > rank[worst] {
			worst = g.Status
		}
	}
	return worst
}

// describe writes the figure's title and a text description that says
// what the colours show, for screen readers and the SVG's <desc>.
func describe(f *Figure) (string, string) {
	title := "MLSecOps lifecycle: security checks, roles and OpenSSF tools per stage"
	if f.Variant == VariantLLMSecOps {
		title = "LLMSecOps lifecycle: security checks, roles and OpenSSF tools per stage"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d stages from %s to %s, each handing its artifacts to the next. ", len(f.Stages), f.Stages[0].Name, f.Stages[len(f.Stages)-1].Name)
	switch f.Colouring {
	case "decisions":
		b.WriteString("Boxes are coloured by the latest gate decisions: green passed, amber warned, red failed, grey none. ")
	case "assessment":
		b.WriteString("Stages are coloured by the assessment of their artifacts: green every artifact passed, amber some not gated yet, red one failed, grey none passes through; each shows the CoSAI AIMM level it reaches. Gate boxes show the checks in force. ")
	default:
		b.WriteString("Boxes are coloured by coverage: green the check is in force, grey the stage is not used, red outline a control no tool closes. ")
	}
	for _, s := range f.Stages {
		rules := 0
		for _, g := range s.Gates {
			rules += len(g.Checks)
		}
		var ra []string
		for _, r := range s.Roles {
			ra = append(ra, r.Letter+" "+r.ID)
		}
		fmt.Fprintf(&b, "%s (%s): %d gate rules, %s; tools %s; %d open gaps", s.Name, s.Status, rules, strings.Join(ra, ", "), orNone(s.Tools), len(s.Gaps))
		if s.Maturity != nil {
			fmt.Fprintf(&b, "; AIMM L%d", s.Maturity.Level)
		}
		b.WriteString(". ")
	}
	return title, strings.TrimSpace(b.String())
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
