package aibom_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/go-cmp/cmp"

	"github.com/mlsecops/mlsec/aibom"
	"github.com/mlsecops/mlsec/inspect"
	"github.com/mlsecops/mlsec/inspect/inspecttest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var fixed = aibom.Options{
	SerialNumber: "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
	Timestamp:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	ToolVersion:  "test",
}

var validator = aibom.NewValidator()

// fixture builds an inspected report. The temporary directory's name is not
// in the facts (Name is fixed) so the output is stable.
type fixture struct {
	name  string
	build func(t *testing.T) (string, inspect.Options)
}

var fixtures = []fixture{
	{"repo", func(t *testing.T) (string, inspect.Options) {
		dir := t.TempDir()
		inspecttest.Repo(t, dir, inspecttest.RepoOptions{})
		return dir, inspect.Options{Digest: true, Name: "acme/tiny-chat", Revision: "0123456789abcdef0123456789abcdef01234567"}
	}},
	{"gguf", func(t *testing.T) (string, inspect.Options) {
		p := filepath.Join(t.TempDir(), "tiny.Q4_K_M.gguf")
		inspecttest.GGUFModel(t, p)
		return p, inspect.Options{Digest: true}
	}},
	{"onnx", func(t *testing.T) (string, inspect.Options) {
		return "../inspect/testdata/single_relu.onnx", inspect.Options{Digest: true}
	}},
	{"dataset", func(t *testing.T) (string, inspect.Options) {
		dir := t.TempDir()
		inspecttest.Dataset(t, dir)
		return dir, inspect.Options{Digest: true, Name: "acme/instructions", Revision: "fedcba9876543210fedcba9876543210fedcba98"}
	}},
	{"nocard", func(t *testing.T) (string, inspect.Options) {
		dir := t.TempDir()
		inspecttest.Repo(t, dir, inspecttest.RepoOptions{NoCard: true, Shards: 1})
		return dir, inspect.Options{Name: "tiny"}
	}},
	{"llm-app", func(t *testing.T) (string, inspect.Options) {
		// testdata/llm/gen.py: prompt, guardrails, MCP config, A2A card,
		// LoRA adapter and a RAG corpus with a LlamaIndex vector store.
		return "../testdata/llm/app", inspect.Options{Digest: true, Name: "northwind/helpdesk"}
	}},
}

func report(t *testing.T, f fixture) *inspect.Report {
	t.Helper()
	path, opts := f.build(t)
	r, err := inspect.Inspect(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s (-want +got):\n%s", name, d)
	}
}

// TestGolden writes every fixture in every format, compares with the golden
// files and validates each CycloneDX JSON BOM against the official schema.
func TestGolden(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			r := report(t, f)
			b, err := aibom.CycloneDX(r, fixed)
			if err != nil {
				t.Fatal(err)
			}
			for _, spec := range aibom.SpecVersions {
				var buf bytes.Buffer
				if err := b.Encode(&buf, aibom.FormatCycloneDXJSON, spec); err != nil {
					t.Fatal(err)
				}
				if v, probs, err := validator.Validate(buf.Bytes()); err != nil || v != spec {
					t.Errorf("CycloneDX %s JSON invalid: %v %v", spec, err, probs)
				}
				golden(t, f.name+".cdx-"+spec+".json", buf.Bytes())
				buf.Reset()
				if err := b.Encode(&buf, aibom.FormatCycloneDXXML, spec); err != nil {
					t.Fatal(err)
				}
				golden(t, f.name+".cdx-"+spec+".xml", buf.Bytes())
				// No XSD offline: the XML is read back and its content,
				// written as JSON, validated against the JSON schema.
				back, err := aibom.DecodeXML(buf.Bytes())
				if err != nil {
					t.Fatalf("CycloneDX %s XML does not decode: %v", spec, err)
				}
				buf.Reset()
				if err := back.Encode(&buf, aibom.FormatCycloneDXJSON, spec); err != nil {
					t.Fatal(err)
				}
				if _, probs, err := validator.Validate(buf.Bytes()); err != nil {
					t.Errorf("CycloneDX %s XML content invalid: %v %v", spec, err, probs)
				}
			}
			d, err := aibom.SPDX3(r, fixed)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := d.WriteJSON(&buf); err != nil {
				t.Fatal(err)
			}
			if err := d.Validate(); err != nil {
				t.Errorf("SPDX 3 validation: %v", err)
			}
			if probs := aibom.CheckSPDX3JSON(buf.Bytes()); len(probs) > 0 {
				t.Errorf("SPDX 3 checks: %v", probs)
			}
			golden(t, f.name+".spdx3.json", buf.Bytes())
		})
	}
}

func TestModelCard(t *testing.T) {
	b, err := aibom.CycloneDX(report(t, fixtures[0]), fixed)
	if err != nil {
		t.Fatal(err)
	}
	c := b.BOM.Metadata.Component
	if c.Type != cdx.ComponentTypeMachineLearningModel || c.PackageURL != "pkg:huggingface/acme/tiny-chat@0123456789abcdef0123456789abcdef01234567" {
		t.Errorf("component %s %s", c.Type, c.PackageURL)
	}
	mp := c.ModelCard.ModelParameters
	got := []any{mp.Task, mp.ArchitectureFamily, mp.ModelArchitecture, mp.Approach.Type, len(*mp.Datasets), (*mp.Datasets)[0].Ref}
	want := []any{"text-generation", "llama", "LlamaForCausalLM", cdx.MLModelParametersApproachTypeSupervised, 2, "dataset:acme/instructions"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("model parameters (-want +got):\n%s", d)
	}
	if (*c.Licenses)[0].License.ID != "Apache-2.0" {
		t.Errorf("licence %+v", (*c.Licenses)[0])
	}
	anc := (*c.Pedigree.Ancestors)[0]
	if anc.PackageURL != "pkg:huggingface/acme/tiny-base" {
		t.Errorf("ancestor %+v", anc)
	}
	pm := *c.ModelCard.QuantitativeAnalysis.PerformanceMetrics
	if len(pm) != 2 || pm[0].Value != "71.5" {
		t.Errorf("metrics %+v", pm)
	}
	cons := c.ModelCard.Considerations
	if cons.TechnicalLimitations == nil || len(*cons.TechnicalLimitations) != 2 || cons.UseCases == nil {
		t.Errorf("considerations %+v", cons)
	}
	if len(*b.BOM.Components) != 2 || (*b.BOM.Components)[0].Type != cdx.ComponentTypeData {
		t.Errorf("dataset components %+v", b.BOM.Components)
	}
	deps := *b.BOM.Dependencies
	if deps[0].Ref != c.BOMRef || !strings.Contains(strings.Join(*deps[0].Dependencies, " "), "dataset:squad") {
		t.Errorf("dependencies %+v", deps[0])
	}
}

// TestModelCardProperties checks the workaround: cyclonedx-go has no
// modelCard.properties, yet they are written and survive a decode/encode
// round trip in JSON and XML.
func TestModelCardProperties(t *testing.T) {
	b, err := aibom.CycloneDX(report(t, fixtures[0]), fixed)
	if err != nil {
		t.Fatal(err)
	}
	ref := b.BOM.Metadata.Component.ModelCard.BOMRef
	want := b.ModelCardProperties[ref]
	if len(want) == 0 {
		t.Fatal("no model card properties built")
	}
	for _, tc := range []struct {
		format string
		decode func([]byte) (*aibom.BOM, error)
	}{
		{aibom.FormatCycloneDXJSON, aibom.DecodeJSON},
		{aibom.FormatCycloneDXXML, aibom.DecodeXML},
	} {
		t.Run(tc.format, func(t *testing.T) {
			var first bytes.Buffer
			if err := b.Encode(&first, tc.format, "1.6"); err != nil {
				t.Fatal(err)
			}
			// Plain cyclonedx-go loses them: that is the bug worked around.
			var plain bytes.Buffer
			ff := cdx.BOMFileFormatJSON
			if tc.format == aibom.FormatCycloneDXXML {
				ff = cdx.BOMFileFormatXML
			}
			if err := cdx.NewBOMEncoder(&plain, ff).Encode(b.BOM); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(plain.String(), "hyperparameter:hidden_size") {
				t.Error("cyclonedx-go now keeps model card properties: drop the workaround")
			}
			back, err := tc.decode(first.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, back.ModelCardProperties[ref]); d != "" {
				t.Errorf("after decode (-want +got):\n%s", d)
			}
			var second bytes.Buffer
			if err := back.Encode(&second, tc.format, "1.6"); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(first.String(), second.String()); d != "" {
				t.Errorf("round trip changed the document (-first +second):\n%s", d)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	for _, tc := range []struct {
		name, card, warning string
		license             cdx.LicenseChoice
	}{
		{"unknown licence", "---\nlicense: my-own-licence\n---\n# x\n", `licence "my-own-licence" is not an SPDX licence id`, cdx.LicenseChoice{License: &cdx.License{Name: "my-own-licence"}}},
		{"other licence", "---\nlicense: other\nlicense_name: acme-rail\nlicense_link: https://example.com/licence\n---\n", `licence "other" is not an SPDX licence id`, cdx.LicenseChoice{License: &cdx.License{Name: "acme-rail", URL: "https://example.com/licence"}}},
		{"expression", "---\nlicense: [mit, apache-2.0]\n---\n", "", cdx.LicenseChoice{Expression: "MIT AND Apache-2.0"}},
		{"gpl", "---\nlicense: gpl-3.0\n---\n", "", cdx.LicenseChoice{License: &cdx.License{ID: "GPL-3.0-only"}}},
		{"malformed front matter", "---\nlicense: [mit\n---\n# x\n", "malformed model card front matter", cdx.LicenseChoice{}},
		{"no licence", "# just text\n", "no licence declared", cdx.LicenseChoice{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			inspecttest.Repo(t, dir, inspecttest.RepoOptions{Card: tc.card, Shards: 1})
			r, err := inspect.Inspect(context.Background(), dir, inspect.Options{})
			if err != nil {
				t.Fatal(err)
			}
			b, err := aibom.CycloneDX(r, fixed)
			if err != nil {
				t.Fatal(err)
			}
			all := append(append([]string{}, r.Warnings...), b.Warnings...)
			if tc.warning != "" && !strings.Contains(strings.Join(all, "\n"), tc.warning) {
				t.Errorf("warnings %q, want %q", all, tc.warning)
			}
			var got cdx.LicenseChoice
			if ls := b.BOM.Metadata.Component.Licenses; ls != nil {
				got = (*ls)[0]
			}
			if d := cmp.Diff(tc.license, got); d != "" {
				t.Errorf("licence (-want +got):\n%s", d)
			}
			for _, spec := range aibom.SpecVersions {
				var buf bytes.Buffer
				if err := b.Encode(&buf, aibom.FormatCycloneDXJSON, spec); err != nil {
					t.Fatal(err)
				}
				if _, probs, err := validator.Validate(buf.Bytes()); err != nil {
					t.Errorf("invalid CycloneDX %s BOM: %v %v", spec, err, probs)
				}
			}
			d, err := aibom.SPDX3(r, fixed)
			if err != nil {
				t.Fatal(err)
			}
			var sb bytes.Buffer
			if err := d.WriteJSON(&sb); err != nil {
				t.Errorf("SPDX 3: %v", err)
			}
			if err := d.Validate(); err != nil {
				t.Errorf("SPDX 3 validation: %v", err)
			}
			if probs := aibom.CheckSPDX3JSON(sb.Bytes()); len(probs) > 0 {
				t.Errorf("SPDX 3 checks: %v", probs)
			}
		})
	}
}

func TestValidateProblems(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []aibom.Problem
		err       error
	}{
		{"valid", `{"bomFormat":"CycloneDX","specVersion":"1.7","version":1}`, nil, nil},
		{"bad component", `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"name":"x","type":"model"}]}`,
			[]aibom.Problem{{Pointer: "/components/0/type", Keyword: "bom-1.6.schema.json#/definitions/component/properties/type/enum"}}, aibom.ErrInvalid},
		{"bad serial", `{"bomFormat":"CycloneDX","specVersion":"1.6","serialNumber":"nope"}`,
			[]aibom.Problem{{Pointer: "/serialNumber", Keyword: "bom-1.6.schema.json#/properties/serialNumber/pattern"}}, aibom.ErrInvalid},
		// A oneOf (licence or expression) reports the branch that got
		// furthest, not the other branch's complaints.
		{"bad licence id", `{"bomFormat":"CycloneDX","specVersion":"1.7","metadata":{"component":{"type":"machine-learning-model","name":"m","licenses":[{"license":{"id":"not-a-licence"}}]}}}`,
			[]aibom.Problem{{Pointer: "/metadata/component/licenses/0/license/id", Keyword: "spdx.schema.json#/enum"}}, aibom.ErrInvalid},
		{"old version", `{"bomFormat":"CycloneDX","specVersion":"1.4"}`, nil, aibom.ErrSpecVersion},
		{"not cyclonedx", `{"spdxVersion":"SPDX-2.3"}`, nil, aibom.ErrNotCycloneDX},
		{"not json", `<bom/>`, nil, aibom.ErrNotCycloneDX},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, probs, err := validator.Validate([]byte(tc.doc))
			if tc.err == nil && err != nil || tc.err != nil && !errorsIs(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			var got []aibom.Problem
			for _, p := range probs {
				if p.Message == "" || len(p.Message) > 300 {
					t.Errorf("problem without a short message: %+v", p)
				}
				if strings.Contains(p.Keyword, "enum") && !strings.Contains(p.Message, "got '") {
					t.Errorf("enum problem does not say what it got: %+v", p)
				}
				got = append(got, aibom.Problem{Pointer: p.Pointer, Keyword: p.Keyword})
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

func TestCompleteness(t *testing.T) {
	full, err := aibom.CycloneDX(report(t, fixtures[0]), aibom.Options{Author: "QA team"})
	if err != nil {
		t.Fatal(err)
	}
	bare, err := aibom.CycloneDX(report(t, fixtures[4]), aibom.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sf, sb := aibom.Score(full), aibom.Score(bare)
	missing := func(c aibom.Completeness) []string {
		var out []string
		for _, e := range c.Elements {
			if !e.Present {
				out = append(out, e.Element)
			}
		}
		return out
	}
	if d := cmp.Diff([]string{"author signature", "vulnerability references"}, missing(sf)); d != "" {
		t.Errorf("missing from the full BOM (-want +got):\n%s", d)
	}
	if sb.Score >= sf.Score || sf.Total != sb.Total {
		t.Errorf("scores full %d/%d, bare %d/%d", sf.Present, sf.Total, sb.Present, sb.Total)
	}
	for _, want := range []string{"SBOM author", "license", "hash value and algorithm", "performance metrics", "model lineage (base models)"} {
		if !strings.Contains(strings.Join(missing(sb), ","), want) {
			t.Errorf("bare BOM: %q not reported missing: %v", want, missing(sb))
		}
	}
	var buf bytes.Buffer
	if err := aibom.WriteCompleteness(&buf, sf); err != nil || !strings.HasPrefix(buf.String(), "completeness: ") {
		t.Errorf("output %q %v", buf.String(), err)
	}
}

func TestCheckSPDX3(t *testing.T) {
	doc := `{"@context":"https://spdx.org/rdf/3.0.1/spdx-context.jsonld","@graph":[
	{"type":"SpdxDocument","spdxId":"d","rootElement":["p"]},
	{"type":"ai_AIPackage","spdxId":"p","name":"m"},
	{"type":"dataset_DatasetPackage","spdxId":"ds","name":""},
	{"type":"Relationship","spdxId":"r1","from":"p","relationshipType":"hasDeclaredLicense","to":["l"]},
	{"type":"Relationship","spdxId":"r2","from":"p","relationshipType":"trainedOn","to":["missing"]}]}`
	want := []string{
		`relationship r1: to "l" is not in the document`,
		`relationship r2: to "missing" is not in the document`,
		"dataset_DatasetPackage ds has no name",
		"ds has no dataset_datasetType",
		"ds has 0 hasDeclaredLicense relationships (the profile requires exactly one)",
		"ds has 0 hasConcludedLicense relationships (the profile requires exactly one)",
		"p has 0 hasConcludedLicense relationships (the profile requires exactly one)",
	}
	if d := cmp.Diff(want, aibom.CheckSPDX3JSON([]byte(doc))); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
}

func TestSPDXLineage(t *testing.T) {
	d, err := aibom.SPDX3(report(t, fixtures[0]), fixed)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := d.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var g struct {
		Graph []map[string]any `json:"@graph"`
	}
	if err := json.Unmarshal(buf.Bytes(), &g); err != nil {
		t.Fatal(err)
	}
	rels := map[string]int{}
	types := map[string]int{}
	for _, e := range g.Graph {
		if e["type"] == "SpdxDocument" {
			if d := cmp.Diff([]any{"core", "software", "ai", "dataset"}, e["profileConformance"]); d != "" {
				t.Errorf("profile conformance of a model with datasets (-want +got):\n%s", d)
			}
		}
		types[e["type"].(string)]++
		if rt, ok := e["relationshipType"].(string); ok {
			rels[rt]++
		}
	}
	for rt, n := range map[string]int{"trainedOn": 1, "testedOn": 1, "ancestorOf": 1, "contains": 1, "hasDeclaredLicense": 4, "hasConcludedLicense": 4} {
		if rels[rt] != n {
			t.Errorf("%d %s relationships, want %d (all: %v)", rels[rt], rt, n, rels)
		}
	}
	if types["ai_AIPackage"] != 2 || types["dataset_DatasetPackage"] != 2 || types["software_File"] != 9 {
		t.Errorf("element types %v", types)
	}
}

func TestSPDXID(t *testing.T) {
	for in, want := range map[string]string{"apache-2.0": "Apache-2.0", "MIT": "MIT", "cc-by-nc-4.0": "CC-BY-NC-4.0", "agpl-3.0": "AGPL-3.0-only", "llama3": ""} {
		got, ok := aibom.SPDXID(in)
		if got != want || ok != (want != "") {
			t.Errorf("SPDXID(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// TestCacheSnapshot: a Hugging Face cache snapshot names the repository and
// revision, which give the package URL and references.
func TestCacheSnapshot(t *testing.T) {
	rev := "0123456789abcdef0123456789abcdef01234567"
	dir := filepath.Join(t.TempDir(), "models--acme--tiny-chat", "snapshots", rev)
	inspecttest.Repo(t, dir, inspecttest.RepoOptions{Shards: 1})
	// As in a real cache, the snapshot's files link to ../../blobs.
	blobs := filepath.Join(dir, "..", "..", "blobs")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "config.json"), filepath.Join(blobs, "0a1b2c")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../blobs/0a1b2c", filepath.Join(dir, "config.json")); err != nil {
		t.Skip(err)
	}
	r, err := inspect.Inspect(context.Background(), dir, inspect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(&inspect.Repository{Name: "acme/tiny-chat", Type: "model", Revision: rev, Source: "hf-cache"}, r.Repository); d != "" {
		t.Errorf("repository (-want +got):\n%s", d)
	}
	if r.Model.Architecture != "LlamaForCausalLM" || len(r.Warnings) > 0 {
		t.Errorf("linked config.json not read: %+v %v", r.Model, r.Warnings)
	}
	b, err := aibom.CycloneDX(r, fixed)
	if err != nil {
		t.Fatal(err)
	}
	c := b.BOM.Metadata.Component
	if c.PackageURL != "pkg:huggingface/acme/tiny-chat@"+rev || c.Version != rev || c.ExternalReferences == nil {
		t.Errorf("component purl %q version %q refs %v", c.PackageURL, c.Version, c.ExternalReferences)
	}
}
