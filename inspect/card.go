package inspect

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Card is what a README.md model or dataset card says: the YAML front
// matter and the text sections a reviewer reads.
type Card struct {
	// Source is the card's file, "README.md".
	Source string `json:"source"`
	// License is the front matter's license (an SPDX-like id, "other" or a
	// list joined with " AND "); LicenseName and LicenseLink describe an
	// "other" licence.
	License     string `json:"license,omitempty"`
	LicenseName string `json:"license_name,omitempty"`
	LicenseLink string `json:"license_link,omitempty"`
	ModelName   string `json:"model_name,omitempty"`
	PrettyName  string `json:"pretty_name,omitempty"`
	LibraryName string `json:"library_name,omitempty"`
	PipelineTag string `json:"pipeline_tag,omitempty"`
	// BaseModelRelation is adapter, merge, quantized or finetune.
	BaseModelRelation string   `json:"base_model_relation,omitempty"`
	BaseModels        []string `json:"base_models,omitempty"`
	Datasets          []string `json:"datasets,omitempty"`
	Languages         []string `json:"languages,omitempty"`
	Tags              []string `json:"tags,omitempty"`
	// TaskCategories and SizeCategories are dataset card fields.
	TaskCategories []string `json:"task_categories,omitempty"`
	SizeCategories []string `json:"size_categories,omitempty"`
	// Results are the model-index evaluation results.
	Results []Result `json:"results,omitempty"`
	// Description is the first paragraph of text after the title.
	Description string `json:"description,omitempty"`
	// Sections are the text sections a model card template defines, by
	// kind (see the Section* constants).
	Sections []Section `json:"sections,omitempty"`
}

// Result is one metric of the card's model-index.
type Result struct {
	TaskType      string `json:"task_type,omitempty"`
	TaskName      string `json:"task_name,omitempty"`
	DatasetType   string `json:"dataset_type,omitempty"`
	DatasetName   string `json:"dataset_name,omitempty"`
	DatasetConfig string `json:"dataset_config,omitempty"`
	DatasetSplit  string `json:"dataset_split,omitempty"`
	MetricType    string `json:"metric_type"`
	MetricName    string `json:"metric_name,omitempty"`
	Value         string `json:"value"`
	Verified      bool   `json:"verified,omitempty"`
}

// Section kinds, after the Hugging Face model card template.
const (
	SectionUses          = "uses"         // Uses, Intended uses, Direct/Downstream use
	SectionOutOfScope    = "out-of-scope" // Out-of-Scope Use
	SectionLimitations   = "limitations"  // Limitations, Bias, Risks, and Limitations
	SectionRecommend     = "recommendations"
	SectionUsers         = "users"         // Intended users
	SectionEthics        = "ethics"        // Ethical considerations
	SectionEnvironmental = "environmental" // Environmental Impact
	SectionTraining      = "training"      // Training data / procedure / details
	SectionEvaluation    = "evaluation"    // Evaluation, Results
	SectionTradeoffs     = "tradeoffs"     // Performance trade-offs
)

// Section is one text section of the card.
type Section struct {
	Kind    string `json:"kind"`
	Heading string `json:"heading"`
	Text    string `json:"text"`
}

// maxSectionText caps one section's text.
const maxSectionText = 4096

// ErrFrontMatter is wrapped by errors about the card's YAML front matter.
var ErrFrontMatter = errors.New("inspect: malformed model card front matter")

// ParseCard reads a README.md card. A malformed front matter gives the card's
// text sections and an error wrapping ErrFrontMatter.
func ParseCard(b []byte) (*Card, error) {
	c := &Card{Source: "README.md"}
	front, body, hasFront := splitFrontMatter(b)
	var ferr error
	if hasFront {
		ferr = c.parseFront(front)
	}
	c.parseBody(body)
	return c, ferr
}

// splitFrontMatter separates a leading "---" YAML block from the body.
func splitFrontMatter(b []byte) (front, body []byte, ok bool) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	s := bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	if !bytes.HasPrefix(s, []byte("---\n")) {
		return nil, s, false
	}
	rest := s[4:]
	if i := bytes.Index(rest, []byte("\n---")); i >= 0 {
		end := i + 4
		for end < len(rest) && rest[end] != '\n' {
			end++
		}
		return rest[:i+1], rest[end:], true
	}
	if bytes.HasPrefix(rest, []byte("---")) {
		return nil, rest[3:], true
	}
	return rest, nil, true // unterminated: the YAML parser says what is wrong
}

func (c *Card) parseFront(front []byte) error {
	var m map[string]any
	if err := yaml.Unmarshal(front, &m); err != nil {
		return fmt.Errorf("%w: %w", ErrFrontMatter, err)
	}
	if m == nil {
		return nil
	}
	var bad []string
	str := func(key string) string {
		v, ok := m[key]
		if !ok || v == nil {
			return ""
		}
		switch x := v.(type) {
		case string:
			return strings.TrimSpace(x)
		case int, float64, bool:
			return fmt.Sprint(x)
		}
		bad = append(bad, key)
		return ""
	}
	list := func(key string) []string {
		v, ok := m[key]
		if !ok || v == nil {
			return nil
		}
		switch x := v.(type) {
		case string:
			if x = strings.TrimSpace(x); x != "" {
				return []string{x}
			}
			return nil
		case []any:
			var out []string
			for _, it := range x {
				switch s := it.(type) {
				case string:
					if s = strings.TrimSpace(s); s != "" {
						out = append(out, s)
					}
				case int, float64, bool:
					out = append(out, fmt.Sprint(s))
				default:
					bad = append(bad, key)
					return out
				}
			}
			return out
		}
		bad = append(bad, key)
		return nil
	}
	if ls := list("license"); len(ls) > 0 {
		c.License = strings.Join(ls, " AND ")
	}
	c.LicenseName = str("license_name")
	c.LicenseLink = str("license_link")
	c.ModelName = str("model_name")
	c.PrettyName = str("pretty_name")
	c.LibraryName = str("library_name")
	c.PipelineTag = str("pipeline_tag")
	c.BaseModelRelation = str("base_model_relation")
	c.BaseModels = list("base_model")
	c.Datasets = list("datasets")
	c.Languages = list("language")
	c.Tags = list("tags")
	c.TaskCategories = list("task_categories")
	c.SizeCategories = list("size_categories")
	if mi, ok := m["model-index"]; ok {
		if err := c.parseModelIndex(mi); err != nil {
			bad = append(bad, "model-index")
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: unexpected value type for %s", ErrFrontMatter, strings.Join(bad, ", "))
	}
	return nil
}

// parseModelIndex reads model-index: [{name, results: [{task, dataset,
// metrics: [{type, value, name, verified}]}]}].
func (c *Card) parseModelIndex(v any) error {
	models, ok := v.([]any)
	if !ok {
		return errors.New("model-index is not a list")
	}
	get := func(m any, key string) string {
		mm, _ := m.(map[string]any)
		switch x := mm[key].(type) {
		case string:
			return x
		case nil:
			return ""
		default:
			return fmt.Sprint(x)
		}
	}
	for _, mdl := range models {
		mm, _ := mdl.(map[string]any)
		results, _ := mm["results"].([]any)
		for _, res := range results {
			rm, _ := res.(map[string]any)
			task, ds := rm["task"], rm["dataset"]
			metrics, _ := rm["metrics"].([]any)
			for _, met := range metrics {
				r := Result{
					TaskType: get(task, "type"), TaskName: get(task, "name"),
					DatasetType: get(ds, "type"), DatasetName: get(ds, "name"),
					DatasetConfig: get(ds, "config"), DatasetSplit: get(ds, "split"),
					MetricType: get(met, "type"), MetricName: get(met, "name"),
					Value: metricValue(met),
				}
				if mm, ok := met.(map[string]any); ok {
					r.Verified, _ = mm["verified"].(bool)
				}
				if r.MetricType == "" && r.MetricName == "" {
					continue
				}
				if len(c.Results) >= 1000 {
					return nil
				}
				c.Results = append(c.Results, r)
			}
		}
	}
	return nil
}

func metricValue(m any) string {
	mm, _ := m.(map[string]any)
	switch x := mm["value"].(type) {
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case int:
		return strconv.Itoa(x)
	case string:
		return x
	case nil:
		return ""
	default:
		return fmt.Sprint(x)
	}
}

var headingRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`) })

// sectionKinds classifies headings, first match wins.
var sectionKinds = []struct {
	kind string
	re   *regexp.Regexp
}{
	{SectionOutOfScope, regexp.MustCompile(`(?i)out[- ]of[- ]scope|misuse`)},
	{SectionLimitations, regexp.MustCompile(`(?i)limitation|risks|caveat|known issues`)},
	{SectionEthics, regexp.MustCompile(`(?i)ethic|bias|fairness|safety`)},
	{SectionRecommend, regexp.MustCompile(`(?i)^recommendation`)},
	{SectionUsers, regexp.MustCompile(`(?i)intended users|^users$|audience`)},
	{SectionUses, regexp.MustCompile(`(?i)^uses$|intended use|direct use|downstream use|use cases|how to use|^usage`)},
	{SectionEnvironmental, regexp.MustCompile(`(?i)environmental|carbon|emissions`)},
	{SectionTraining, regexp.MustCompile(`(?i)^training|training data|training procedure|fine-?tuning`)},
	{SectionEvaluation, regexp.MustCompile(`(?i)^evaluation|^results`)},
	{SectionTradeoffs, regexp.MustCompile(`(?i)trade-?offs`)},
}

// placeholder matches the template text of unfilled card sections.
var placeholder = regexp.MustCompile(`(?i)^\[?more information needed\]?\.?$`)

// parseBody records the description and the classified sections.
func (c *Card) parseBody(body []byte) {
	type sec struct {
		heading string
		lines   []string
	}
	var secs []sec
	cur := &sec{}
	inCode := false
	for _, line := range strings.Split(string(body), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") {
			inCode = !inCode
			continue
		}
		if inCode {
			continue
		}
		if m := headingRE().FindStringSubmatch(t); m != nil {
			secs = append(secs, *cur)
			cur = &sec{heading: m[2]}
			continue
		}
		cur.lines = append(cur.lines, line)
	}
	secs = append(secs, *cur)
	for i, s := range secs {
		text := cleanText(s.lines)
		if text == "" || placeholder.MatchString(text) {
			continue
		}
		if c.Description == "" && (i <= 1 || s.heading == "" || strings.EqualFold(s.heading, "model description") || strings.EqualFold(s.heading, "model details") || strings.EqualFold(s.heading, "dataset description")) {
			c.Description = firstParagraph(text)
		}
		for _, k := range sectionKinds {
			if k.re.MatchString(s.heading) {
				c.Sections = append(c.Sections, Section{Kind: k.kind, Heading: s.heading, Text: text})
				break
			}
		}
	}
}

// cleanText joins lines into paragraphs, drops HTML comments, images and
// badges, and caps the length.
func cleanText(lines []string) string {
	var paras []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			paras = append(paras, strings.Join(cur, " "))
			cur = nil
		}
	}
	inComment := false
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if inComment {
			if strings.Contains(t, "-->") {
				inComment = false
			}
			continue
		}
		if strings.HasPrefix(t, "<!--") {
			inComment = !strings.Contains(t, "-->")
			continue
		}
		if t == "" || strings.HasPrefix(t, "![") || strings.HasPrefix(t, "<img") || strings.HasPrefix(t, "|") {
			flush()
			continue
		}
		cur = append(cur, t)
	}
	flush()
	s := strings.Join(paras, "\n\n")
	if len(s) > maxSectionText {
		s = s[:maxSectionText]
		for len(s) > 0 && s[len(s)-1]&0xC0 == 0x80 { // keep UTF-8 whole
			s = s[:len(s)-1]
		}
		if len(s) > 0 && s[len(s)-1] >= 0xC0 {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return s
}

func firstParagraph(s string) string {
	p, _, _ := strings.Cut(s, "\n\n")
	return p
}

// isDatasetCard reports whether the front matter is a dataset card's.
func (c *Card) isDatasetCard() bool {
	return len(c.TaskCategories) > 0 || len(c.SizeCategories) > 0 || c.PrettyName != ""
}

// SectionsOf returns the texts of the sections of kind.
func (c *Card) SectionsOf(kind string) []string {
	var out []string
	for _, s := range c.Sections {
		if s.Kind == kind {
			out = append(out, s.Text)
		}
	}
	return out
}
