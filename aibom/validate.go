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
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		pr := Problem{
			Pointer: pointer(e.InstanceLocation),
			Keyword: strings.TrimPrefix(e.SchemaURL, schemaBase) + "/" + strings.Join(e.ErrorKind.KeywordPath(), "/"),
			Message: e.ErrorKind.LocalizedString(p),
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
