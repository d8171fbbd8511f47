package aibom

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// The official CycloneDX JSON schemas with the files they reference, as
// published by OWASP CycloneDX (Apache-2.0, see testdata/schemas/LICENSE).
// They are registered with the compiler by their $id: nothing is fetched.
//
//go:embed testdata/schemas/*.json
var schemaFS embed.FS

// schemaBase is the URL prefix of the CycloneDX schema $ids.
const schemaBase = "http://cyclonedx.org/schema/"

// SpecVersions are the CycloneDX versions mlsec writes and validates.
var SpecVersions = []string{"1.6", "1.7"}

// Errors of Validate.
var (
	ErrNotCycloneDX = errors.New("aibom: not a CycloneDX JSON document")
	ErrSpecVersion  = errors.New("aibom: unsupported CycloneDX specVersion")
	ErrInvalid      = errors.New("aibom: document does not validate against the CycloneDX schema")
)

// Problem is one schema violation: where in the document (a JSON pointer)
// and what is wrong.
type Problem struct {
	// Pointer is the RFC 6901 JSON pointer of the offending value ("" is
	// the whole document).
	Pointer string `json:"pointer"`
	// Keyword locates the schema keyword that failed: the schema file, its
	// JSON pointer and the keyword.
	Keyword string `json:"keyword"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	ptr := p.Pointer
	if ptr == "" {
		ptr = "/"
	}
	return ptr + ": " + p.Message
}

// Validator validates CycloneDX JSON documents against the embedded
// schemas. It is safe for concurrent use; build it once with NewValidator.
type Validator struct {
	once    sync.Once
	err     error
	schemas map[string]*jsonschema.Schema
}

// NewValidator returns a validator; the schemas are compiled on first use.
func NewValidator() *Validator { return &Validator{} }

func (v *Validator) compile() {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.UseLoader(noNetwork{})
	entries, err := schemaFS.ReadDir("testdata/schemas")
	if err != nil {
		v.err = err
		return
	}
	for _, e := range entries {
		b, err := schemaFS.ReadFile(path.Join("testdata/schemas", e.Name()))
		if err != nil {
			v.err = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			v.err = fmt.Errorf("aibom: schema %s: %w", e.Name(), err)
			return
		}
		if err := c.AddResource(schemaBase+e.Name(), doc); err != nil {
			v.err = fmt.Errorf("aibom: schema %s: %w", e.Name(), err)
			return
		}
	}
	v.schemas = map[string]*jsonschema.Schema{}
	for _, ver := range SpecVersions {
		s, err := c.Compile(schemaBase + "bom-" + ver + ".schema.json")
		if err != nil {
			v.err = fmt.Errorf("aibom: compiling CycloneDX %s schema: %w", ver, err)
			return
		}
		v.schemas[ver] = s
	}
}

// noNetwork refuses every URL the embedded schemas do not provide.
type noNetwork struct{}

func (noNetwork) Load(url string) (any, error) {
	return nil, fmt.Errorf("aibom: schema %s is not embedded (no network access)", url)
}

// maxProblems caps the problems Validate returns.
const maxProblems = 100

// Validate checks the CycloneDX JSON document in data against the schema of
// the specVersion it declares. It returns the spec version and, when the
// document is invalid, the problems with an error wrapping ErrInvalid. An
// error wrapping ErrNotCycloneDX or ErrSpecVersion means the document could
// not be checked at all.
func (v *Validator) Validate(data []byte) (string, []Problem, error) {
	v.once.Do(v.compile)
	if v.err != nil {
		return "", nil, v.err
	}
	var head struct {
		BOMFormat   string `json:"bomFormat"`
		SpecVersion string `json:"specVersion"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrNotCycloneDX, err)
	}
	if head.BOMFormat != "CycloneDX" {
		return "", nil, fmt.Errorf("%w: bomFormat is %q", ErrNotCycloneDX, head.BOMFormat)
	}
	s, ok := v.schemas[head.SpecVersion]
	if !ok {
		return head.SpecVersion, nil, fmt.Errorf("%w %q (want %s)", ErrSpecVersion, head.SpecVersion, strings.Join(SpecVersions, " or "))
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return head.SpecVersion, nil, fmt.Errorf("%w: %w", ErrNotCycloneDX, err)
	}
	err = s.Validate(inst)
	if err == nil {
		return head.SpecVersion, nil, nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return head.SpecVersion, nil, err
	}
	probs := problems(ve)
	return head.SpecVersion, probs, fmt.Errorf("%w %s: %d problem(s), first: %s", ErrInvalid, head.SpecVersion, len(probs), probs[0])
}

// ValidateReader reads a document and validates it.
func (v *Validator) ValidateReader(r io.Reader) (string, []Problem, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return "", nil, err
	}
	return v.Validate(b)
}

// problems flattens the error tree into its leaves, deduplicated and sorted
// by pointer.
func problems(ve *jsonschema.ValidationError) []Problem {
	p := message.NewPrinter(language.English)
	seen := map[Problem]bool{}
	var out []Problem
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(out) >= maxProblems {
			return
		}
		if len(e.Causes) > 0 {
			for _, c := range bestBranches(e) {
				walk(c)
			}
			return
		}
		pr := Problem{
			Pointer: pointer(e.InstanceLocation),
			Keyword: strings.TrimPrefix(e.SchemaURL, schemaBase) + "/" + strings.Join(e.ErrorKind.KeywordPath(), "/"),
			Message: leafMessage(e, p),
		}
		if !seen[pr] {
			seen[pr] = true
			out = append(out, pr)
		}
	}
	walk(ve)
	if len(out) == 0 {
		out = append(out, Problem{Pointer: pointer(ve.InstanceLocation), Message: ve.ErrorKind.LocalizedString(p)})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pointer < out[j].Pointer })
	return out
}

// pointer builds an RFC 6901 JSON pointer.
func pointer(loc []string) string {
	var b strings.Builder
	for _, s := range loc {
		b.WriteByte('/')
		s = strings.ReplaceAll(s, "~", "~0")
		b.WriteString(strings.ReplaceAll(s, "/", "~1"))
	}
	return b.String()
}

// bestBranches returns the causes of e worth reporting. When no branch of a
// oneOf or anyOf matched, each branch explains its own failure; the branch
// that got deepest into the document is the one the author meant (a
// licence with a bad id, not "missing property 'expression'"), so only the
// deepest branches are kept.
func bestBranches(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	switch k := e.ErrorKind.(type) {
	case *kind.AnyOf:
	case *kind.OneOf:
		if len(k.Subschemas) > 0 { // several matched: nothing to choose
			return e.Causes
		}
	default:
		return e.Causes
	}
	best, depths := 0, make([]int, len(e.Causes))
	for i, c := range e.Causes {
		depths[i] = leafDepth(c)
		best = max(best, depths[i])
	}
	var out []*jsonschema.ValidationError
	for i, c := range e.Causes {
		if depths[i] == best {
			out = append(out, c)
		}
	}
	return out
}

// leafDepth is the deepest instance location among e's leaves.
func leafDepth(e *jsonschema.ValidationError) int {
	if len(e.Causes) == 0 {
		return len(e.InstanceLocation)
	}
	d := 0
	for _, c := range e.Causes {
		d = max(d, leafDepth(c))
	}
	return d
}

// maxEnumShown bounds the allowed values an enum problem lists (the SPDX
// licence id enum has hundreds).
const maxEnumShown = 16

// leafMessage describes one failed keyword; enum problems say what the
// document has and, briefly, what is allowed.
func leafMessage(e *jsonschema.ValidationError, p *message.Printer) string {
	en, ok := e.ErrorKind.(*kind.Enum)
	if !ok {
		return e.ErrorKind.LocalizedString(p)
	}
	want := make([]string, 0, min(len(en.Want), maxEnumShown))
	for _, w := range en.Want[:min(len(en.Want), maxEnumShown)] {
		want = append(want, quoteValue(w))
	}
	msg := "got " + quoteValue(en.Got) + ", want one of " + strings.Join(want, ", ")
	if n := len(en.Want) - len(want); n > 0 {
		msg += fmt.Sprintf(" and %d more", n)
	}
	return msg
}

func quoteValue(v any) string {
	if s, ok := v.(string); ok {
		return "'" + s + "'"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
