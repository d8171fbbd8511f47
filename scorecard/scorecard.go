// Package scorecard rates a model or dataset directory (a Hugging Face
// repository, cache snapshot or plain directory) in the style of the
// OpenSSF Scorecard: each check runs its probes over facts gathered once
// (a scan, an inspection, the evidence layout's signature and claims) and
// gives a score from 0 to 10, a reason, details and remediation text.
//
// The package decides nothing on its own: formats come from the scanner's
// content detection, model card completeness from aibom's G7 mapping,
// where a signature or claims file lies from package evidence, and claims
// are read with package attest. Signatures are looked for, not verified:
// mlsec verify does that with the signer's identity, which a scorecard
// does not know.
package scorecard

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/aibom"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/evidence"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/inspect"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/template"
)

// Inconclusive is the score of a check that does not apply to the
// directory (Scorecard writes -1 for the same).
const Inconclusive = -1

// Risk is a check's weight in the aggregate score, as in Scorecard.
type Risk string

// Risks and their weights.
const (
	Critical Risk = "Critical"
	High     Risk = "High"
	Medium   Risk = "Medium"
	Low      Risk = "Low"
)

func (r Risk) weight() float64 {
	switch r {
	case Critical:
		return 10
	case High:
		return 7.5
	case Medium:
		return 5
	}
	return 2.5
}

// Documentation says what a check means and how to raise its score.
type Documentation struct {
	Short string `json:"short"`
	// Remediation is the steps that raise the score.
	Remediation string `json:"remediation"`
	URL         string `json:"url"`
}

// Check is one check's outcome, in Scorecard's JSON shape.
type Check struct {
	Name string `json:"name"`
	// Score is 0–10, or Inconclusive (-1) when the check does not apply.
	Score         int           `json:"score"`
	Reason        string        `json:"reason"`
	Details       []string      `json:"details"`
	Risk          Risk          `json:"risk"`
	Documentation Documentation `json:"documentation"`
}

// Result is a scorecard, in Scorecard's JSON shape where it fits: repo
// names the directory, scorecard the tool.
type Result struct {
	Date      string  `json:"date"`
	Repo      Repo    `json:"repo"`
	Scorecard Tool    `json:"scorecard"`
	Score     float64 `json:"score"`
	Checks    []Check `json:"checks"`
}

// Repo identifies what was scored.
type Repo struct {
	Name   string `json:"name"`
	Commit string `json:"commit,omitempty"`
}

// Tool identifies the scorer.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Facts are what the checks look at, gathered once by Gather.
type Facts struct {
	// Path is the scored directory.
	Path string
	// Scan is the scan of Path (every file, by content).
	Scan *scan.Result
	// Report is the inspection of Path (card, config, artifacts).
	Report *inspect.Report
	// BOM is the CycloneDX AI-BOM built from Report, for the G7 elements.
	BOM *aibom.BOM
	// Signature is where the evidence layout puts Path's signature, and
	// Signed whether a file is there.
	Signature string
	Signed    bool
	// Claims is where the evidence layout puts Path's claims. Provenance
	// counts the SLSA provenance claims in it; ClaimProblems says which
	// lines could not be read.
	Claims        string
	ClaimCount    int
	Provenance    int
	ClaimProblems []string
	// Name and Commit, when set, name what was scored (a hub repository
	// and its pinned commit) instead of Path.
	Name, Commit string
	// Remote are files that were not downloaded (GatherHub): their
	// formats were judged from range reads.
	Remote []RemoteFile
}

// Scanner scans paths; *scan.Runner is one.
type Scanner interface {
	Scan(ctx context.Context, paths []string) (*scan.Result, error)
}

// Gather collects the facts about the directory dir: it scans it with s,
// inspects it, builds its AI-BOM and looks up its evidence.
func Gather(ctx context.Context, dir string, s Scanner, opts inspect.Options) (*Facts, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EINVALID, "scorecard: %w", err)
	}
	if !st.IsDir() {
		return nil, mlsec.Errorf(mlsec.EINVALID, "scorecard: %s is not a directory (a scorecard rates a model or dataset repository)", dir)
	}
	f := &Facts{Path: dir}
	if f.Scan, err = s.Scan(ctx, []string{dir}); err != nil {
		return nil, fmt.Errorf("scorecard: scan: %w", err)
	}
	if f.Report, err = inspect.Inspect(ctx, dir, opts); err != nil {
		return nil, mlsec.Errorf(mlsec.EIO, "scorecard: inspect: %w", err)
	}
	if f.BOM, err = aibom.CycloneDX(f.Report, aibom.Options{}); err != nil {
		return nil, mlsec.Errorf(mlsec.EINTERNAL, "scorecard: AI-BOM: %w", err)
	}
	paths, err := evidence.Locate(dir)
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EINVALID, "scorecard: %w", err)
	}
	f.Signature, f.Claims = paths.Signature, paths.Claims
	if fi, err := os.Stat(f.Signature); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
		f.Signed = true
	}
	err = attest.ReadClaimsFile(f.Claims, func(c attest.Claim) error {
		if c.Err != nil {
			f.ClaimProblems = append(f.ClaimProblems, fmt.Sprintf("line %d: %v", c.Line, c.Err))
			return nil
		}
		f.ClaimCount++
		st, err := attest.PeekStatement(c.Bundle)
		if err != nil {
			f.ClaimProblems = append(f.ClaimProblems, fmt.Sprintf("line %d: %v", c.Line, err))
			return nil
		}
		if st.GetPredicateType() == attest.ProvenanceType {
			f.Provenance++
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, mlsec.Errorf(mlsec.EIO, "scorecard: claims: %w", err)
	}
	return f, nil
}

// checkDef is one check: its documentation and its probe.
type checkDef struct {
	name string
	risk Risk
	doc  Documentation
	run  func(f *Facts) (score int, reason string, details []string)
}

// docURL is where each check is documented.
const docURL = "https://github.com/mlsecops/mlsec/blob/main/docs/integrations/scorecard.md#"

// Checks returns the names of the checks, in the order they run.
func Checks() []string {
	var names []string
	for _, c := range defs() {
		names = append(names, c.name)
	}
	return names
}

func defs() []checkDef {
	return []checkDef{
		{"Signed-Weights", Critical, Documentation{
			Short:       "The repository carries an OpenSSF Model Signing signature where the evidence layout puts it.",
			Remediation: "Sign the directory: mlsec sign DIR (writes the signature where mlsec verify looks); publish it with the weights.",
		}, checkSigned},
		{"No-Pickle", Critical, Documentation{
			Short:       "No file is a pickle or a pickle-based container (torch.save, joblib), judged by content, not name.",
			Remediation: "Convert the weights to safetensors (e.g. safetensors.torch.save_file) and delete the pickle files.",
		}, checkNoPickle},
		{"Safetensors-Only", High, Documentation{
			Short:       "Every weight file is safetensors (or GGUF), formats that hold tensors and no code.",
			Remediation: "Convert other weight formats to safetensors and remove the originals from the repository.",
		}, checkSafetensorsOnly},
		{"Remote-Code", High, Documentation{
			Short:       "config.json has no auto_map: loading needs no trust_remote_code.",
			Remediation: "Upstream the architecture to transformers, or ship the code as a reviewed, pinned package instead of auto_map.",
		}, checkRemoteCode},
		{"Chat-Template", High, Documentation{
			Short:       "Chat templates pass the scanner's template checks (no sandbox escapes, no Python internals).",
			Remediation: "Replace the template with a reviewed one; run mlsec scan DIR to see what was found.",
		}, checkChatTemplate},
		{"License", Medium, Documentation{
			Short:       "The model card declares a licence with a known SPDX identifier.",
			Remediation: "Add license: <SPDX id> to the README front matter (or license: other with license_name and license_link).",
		}, checkLicense},
		{"Pinned-Base-Model", Medium, Documentation{
			Short:       "Base models are named with a full 40-hex commit (ORG/NAME@<sha>), not a moving branch.",
			Remediation: "Write base_model: ORG/NAME@<commit sha> in the card, the revision the fine-tune started from.",
		}, checkPinnedBase},
		{"Dataset-Provenance", Medium, Documentation{
			Short:       "Training datasets are declared in the card and a SLSA provenance claim is in the claims file.",
			Remediation: "List datasets: in the card, and record provenance: mlsec attest provenance DIR (claims go where mlsec verify-chain looks).",
		}, checkDatasets},
		{"Model-Card", Low, Documentation{
			Short:       "The card and repository supply the G7 SBOM-for-AI minimum elements that mlsec bom fills in.",
			Remediation: "Fill in the missing elements listed in the details (mlsec bom DIR --completeness shows the same list).",
		}, checkModelCard},
	}
}

// Run scores the facts. version is mlsec's version, for the result's
// scorecard field.
func Run(f *Facts, version string, now time.Time) *Result {
	r := &Result{
		Date:      now.UTC().Format("2006-01-02"),
		Repo:      Repo{Name: f.Path},
		Scorecard: Tool{Name: "mlsec scorecard", Version: version},
	}
	if f.Report != nil && f.Report.Repository != nil {
		if f.Report.Repository.Name != "" {
			r.Repo.Name = f.Report.Repository.Name
		}
		r.Repo.Commit = f.Report.Repository.Revision
	}
	if f.Name != "" {
		r.Repo.Name, r.Repo.Commit = f.Name, f.Commit
	}
	var sum, weights float64
	for _, d := range defs() {
		score, reason, details := d.run(f)
		doc := d.doc
		doc.URL = docURL + strings.ToLower(d.name)
		if details == nil {
			details = []string{}
		}
		r.Checks = append(r.Checks, Check{Name: d.name, Score: score, Reason: reason, Details: details, Risk: d.risk, Documentation: doc})
		if score != Inconclusive {
			sum += float64(score) * d.risk.weight()
			weights += d.risk.weight()
		}
	}
	if weights > 0 {
		r.Score = math.Round(sum/weights*10) / 10
	}
	return r
}

// MinScore is the lowest score of the checks that apply (Inconclusive
// checks do not count); 10 when none applies.
func (r *Result) MinScore() int {
	min := 10
	for _, c := range r.Checks {
		if c.Score != Inconclusive && c.Score < min {
			min = c.Score
		}
	}
	return min
}

// file is one scanned file or container member and its format. remote
// marks a file judged from range reads; unjudged says why a remote file's
// format is unknown.
type file struct {
	name     string
	kind     format.Kind
	remote   bool
	unjudged string
}

// files lists every scanned file with its detected format and, with
// members, the container members of files that are not pickle-based
// themselves (a pickle inside a zip is still loaded by pickle).
func (f *Facts) files(members bool) []file {
	var out []file
	if f.Scan == nil {
		return nil
	}
	for _, a := range f.Scan.Artifacts {
		out = append(out, file{name: rel(f.Path, a.Path), kind: a.Format})
		if !members || pickleBased(a.Format) {
			continue
		}
		for _, m := range a.Members {
			out = append(out, file{name: rel(f.Path, a.Path) + "!" + m.Name, kind: m.Format})
		}
	}
	for _, r := range f.Remote {
		out = append(out, file{name: r.Path, kind: r.Format, remote: true, unjudged: r.Err})
	}
	return out
}

// describe says what x is, and how that was judged.
func (x file) describe() string {
	if x.unjudged != "" {
		return fmt.Sprintf("%s could not be judged by content: %s", x.name, x.unjudged)
	}
	if x.remote {
		return fmt.Sprintf("%s is %s (judged from range reads, not downloaded)", x.name, x.kind)
	}
	return fmt.Sprintf("%s is %s", x.name, x.kind)
}

func rel(root, p string) string {
	if s, ok := strings.CutPrefix(p, strings.TrimSuffix(root, "/")+"/"); ok {
		return s
	}
	return p
}

// pickleBased reports whether loading k unpickles.
func pickleBased(k format.Kind) bool {
	switch k {
	case format.Pickle, format.PyTorchZip, format.TorchScript, format.PyTorchLegacy, format.PyTorchTar, format.Joblib:
		return true
	}
	return false
}

// weights reports whether k is a format that holds weights.
func weights(k format.Kind) bool {
	switch k {
	case format.Unknown, format.Zip, format.Tar, format.Gzip, format.Bzip2, format.XZ, format.Zstd, format.SevenZip,
		format.HFRepo, format.HFTokenizerConfig, format.ChatTemplate, format.KerasMetadata,
		format.MCPTools, format.MCPServer, format.MCPConfig, format.AgentCard:
		return false
	}
	return !format.Inert(k)
}

func checkSigned(f *Facts) (int, string, []string) {
	if f.Signed {
		return 10, "signature present", []string{"Info: signature: " + f.Signature, "Info: verify it with mlsec verify and the signer's identity"}
	}
	return 0, "no signature where the evidence layout puts it", []string{"Warn: no signature at " + f.Signature}
}

func checkNoPickle(f *Facts) (int, string, []string) {
	var bad, unjudged []string
	for _, x := range f.files(true) {
		switch {
		case x.unjudged != "":
			unjudged = append(unjudged, "Warn: "+x.describe())
		case pickleBased(x.kind):
			bad = append(bad, "Warn: "+x.describe())
		}
	}
	if len(bad) > 0 {
		return 0, fmt.Sprintf("%d pickle-based file(s) found", len(bad)), append(bad, unjudged...)
	}
	if len(unjudged) > 0 {
		// Fail closed: a file that could not be judged may be a pickle.
		return 0, fmt.Sprintf("%d file(s) could not be judged by content", len(unjudged)), unjudged
	}
	return 10, "no pickle-based files", nil
}

func checkSafetensorsOnly(f *Facts) (int, string, []string) {
	var total, safe int
	var details []string
	for _, x := range f.files(false) {
		if x.unjudged == "" && !weights(x.kind) {
			continue
		}
		total++
		if x.kind == format.Safetensors || x.kind == format.GGUF {
			safe++
			details = append(details, "Info: "+x.describe())
		} else {
			details = append(details, "Warn: "+x.describe())
		}
	}
	if total == 0 {
		return Inconclusive, "no weight files found", nil
	}
	return proportional(safe, total), fmt.Sprintf("%d of %d weight file(s) are safetensors or GGUF", safe, total), details
}

func checkRemoteCode(f *Facts) (int, string, []string) {
	if f.Report == nil || f.Report.Config == nil {
		return 10, "no Hugging Face configuration files", nil
	}
	if f.Report.Config.AutoMap {
		return 0, "config.json has auto_map: loading runs repository code (trust_remote_code)", []string{"Warn: auto_map in " + strings.Join(f.Report.Config.Files, ", ")}
	}
	return 10, "no auto_map", nil
}

func checkChatTemplate(f *Facts) (int, string, []string) {
	var templates int
	for _, x := range f.files(false) {
		if x.kind == format.ChatTemplate || x.kind == format.HFTokenizerConfig {
			templates++
		}
	}
	var details []string
	worst := mlsec.SeverityNone
	if f.Scan != nil {
		for _, a := range f.Scan.Artifacts {
			for _, fd := range a.Findings {
				if !strings.HasPrefix(fd.RuleID, templateRulePrefix) {
					continue
				}
				details = append(details, fmt.Sprintf("Warn: %s: %s %s: %s", rel(f.Path, a.Path), fd.Severity, fd.RuleID, fd.Message))
				if fd.Severity > worst {
					worst = fd.Severity
				}
			}
		}
	}
	if templates == 0 && len(details) == 0 {
		return Inconclusive, "no chat template", nil
	}
	switch {
	case worst >= mlsec.SeverityHigh:
		return 0, fmt.Sprintf("%d chat template finding(s), worst %s", len(details), worst), details
	case worst >= mlsec.SeverityMedium:
		return 5, fmt.Sprintf("%d chat template finding(s), worst %s", len(details), worst), details
	case len(details) > 0:
		return 8, fmt.Sprintf("%d low-severity chat template finding(s)", len(details)), details
	}
	return 10, fmt.Sprintf("%d chat template file(s), no findings", templates), nil
}

// templateRulePrefix is the prefix of the template detector's rule ids.
var templateRulePrefix = strings.TrimSuffix(template.RuleDunder, "001")

func checkLicense(f *Facts) (int, string, []string) {
	lic := ""
	var name, link string
	if f.Report != nil && f.Report.Card != nil {
		lic, name, link = f.Report.Card.License, f.Report.Card.LicenseName, f.Report.Card.LicenseLink
	}
	if lic == "" && f.Report != nil {
		lic = f.Report.Model.License
	}
	if lic == "" {
		return 0, "no licence declared", []string{"Warn: the model card has no license: entry"}
	}
	if id, ok := aibom.SPDXID(lic); ok {
		return 10, "licence " + id, []string{"Info: SPDX " + id}
	}
	if name != "" && link != "" {
		return 7, fmt.Sprintf("licence %q is not an SPDX id but is named and linked", lic), []string{"Info: " + name + " " + link}
	}
	return 3, fmt.Sprintf("licence %q is not a known SPDX id", lic), []string{"Warn: unknown licence " + lic}
}

// fullCommit is a full git commit id (Hugging Face revisions are git).
var fullCommit = regexp.MustCompile(`^[0-9a-f]{40}$`)

func checkPinnedBase(f *Facts) (int, string, []string) {
	if f.Report == nil || len(f.Report.Model.BaseModels) == 0 {
		return Inconclusive, "no base model declared", nil
	}
	var pinned int
	var details []string
	for _, b := range f.Report.Model.BaseModels {
		rev := b.Version
		if _, r, ok := strings.Cut(b.Name, "@"); ok {
			rev = r
		}
		if fullCommit.MatchString(rev) {
			pinned++
			details = append(details, "Info: "+b.Name+" is pinned")
		} else {
			details = append(details, "Warn: "+b.Name+" names no commit")
		}
	}
	n := len(f.Report.Model.BaseModels)
	return proportional(pinned, n), fmt.Sprintf("%d of %d base model(s) pinned to a commit", pinned, n), details
}

func checkDatasets(f *Facts) (int, string, []string) {
	var names []string
	if f.Report != nil {
		for _, d := range f.Report.Model.Datasets {
			names = append(names, d.Name)
		}
	}
	sort.Strings(names)
	details := []string{}
	for _, n := range names {
		details = append(details, "Info: dataset "+n)
	}
	for _, p := range f.ClaimProblems {
		details = append(details, "Warn: claims "+p)
	}
	switch {
	case len(names) > 0 && f.Provenance > 0:
		details = append(details, fmt.Sprintf("Info: %d provenance claim(s) in %s (verify with mlsec verify-chain)", f.Provenance, f.Claims))
		return 10, fmt.Sprintf("%d dataset(s) declared, provenance recorded", len(names)), details
	case f.Provenance > 0:
		return 7, "provenance recorded but the card declares no datasets", details
	case len(names) > 0:
		details = append(details, "Warn: no provenance claim at "+f.Claims)
		return 4, fmt.Sprintf("%d dataset(s) declared, no provenance claim", len(names)), details
	}
	return 0, "no datasets declared and no provenance claim", append(details, "Warn: no provenance claim at "+f.Claims)
}

func checkModelCard(f *Facts) (int, string, []string) {
	if f.BOM == nil {
		return 0, "no AI-BOM could be built", nil
	}
	c := aibom.Score(f.BOM)
	var details []string
	for _, e := range c.Elements {
		if !e.Present {
			d := fmt.Sprintf("Warn: missing %s / %s (%s)", e.Cluster, e.Element, e.Field)
			if e.Hint != "" {
				d += ": " + e.Hint
			}
			details = append(details, d)
		}
	}
	return proportional(c.Present, c.Total), fmt.Sprintf("%d of %d G7 minimum elements present", c.Present, c.Total), details
}

// proportional maps n of total to 0–10, rounding down so that 10 means all.
func proportional(n, total int) int {
	if total == 0 {
		return Inconclusive
	}
	return n * 10 / total
}
