package aibom

import (
	"fmt"
	"io"
	"text/tabwriter"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// Element is one G7 "SBOM for AI – minimum elements" element checked
// against a CycloneDX BOM.
type Element struct {
	// Cluster is the G7 cluster: Metadata, System Level Properties, Models,
	// Dataset Properties, Key Performance Indicators, Infrastructure,
	// Security Properties.
	Cluster string `json:"cluster"`
	Element string `json:"element"`
	// Field is where the element lives in CycloneDX.
	Field   string `json:"field"`
	Present bool   `json:"present"`
	// Hint says how to supply a missing element.
	Hint string `json:"hint,omitempty"`
}

// Completeness is the result of checking a BOM against the minimum
// elements.
type Completeness struct {
	// Score is the percentage of applicable elements present.
	Score    int       `json:"score"`
	Present  int       `json:"present"`
	Total    int       `json:"total"`
	Elements []Element `json:"elements"`
}

type check struct {
	cluster, element, field, hint string
	model, data                   bool // applies to model / dataset subjects
	ok                            func(b *BOM, s *cdx.Component) bool
}

// The mapping of the G7 minimum elements (G7 Cybersecurity Working Group,
// "Software Bill of Materials for AI – Minimum Elements", BSI, May 2026)
// to CycloneDX fields. docs/aibom.md explains each choice.
var checks = []check{
	{"Metadata", "SBOM author", "metadata.authors", "pass --author", true, true, func(b *BOM, _ *cdx.Component) bool {
		md := b.BOM.Metadata
		return md != nil && (md.Authors != nil && len(*md.Authors) > 0 || md.Manufacturer != nil)
	}},
	{"Metadata", "SBOM version", "version", "", true, true, func(b *BOM, _ *cdx.Component) bool { return b.BOM.Version > 0 }},
	{"Metadata", "data format", "bomFormat, specVersion", "", true, true, func(b *BOM, _ *cdx.Component) bool { return b.BOM.BOMFormat == "CycloneDX" }},
	{"Metadata", "author signature", "signature", "sign the BOM (mlsec sign, or a DSSE attestation)", true, true, func(b *BOM, _ *cdx.Component) bool {
		return b.BOM.Signature != nil
	}},
	{"Metadata", "tool name and version", "metadata.tools", "", true, true, func(b *BOM, _ *cdx.Component) bool {
		md := b.BOM.Metadata
		if md == nil || md.Tools == nil || md.Tools.Components == nil {
			return false
		}
		for _, t := range *md.Tools.Components {
			if t.Name != "" && t.Version != "" {
				return true
			}
		}
		return false
	}},
	{"Metadata", "generation context", "metadata.lifecycles", "", true, true, func(b *BOM, _ *cdx.Component) bool {
		return b.BOM.Metadata != nil && b.BOM.Metadata.Lifecycles != nil && len(*b.BOM.Metadata.Lifecycles) > 0
	}},
	{"Metadata", "timestamp", "metadata.timestamp", "", true, true, func(b *BOM, _ *cdx.Component) bool {
		return b.BOM.Metadata != nil && b.BOM.Metadata.Timestamp != ""
	}},
	{"Metadata", "dependency relationships", "dependencies", "", true, true, func(b *BOM, _ *cdx.Component) bool {
		return b.BOM.Dependencies != nil && len(*b.BOM.Dependencies) > 0
	}},
	{"System Level Properties", "name", "metadata.component.name", "", true, true, func(_ *BOM, s *cdx.Component) bool { return s.Name != "" }},
	{"System Level Properties", "producer", "metadata.component.supplier", "use an ORG/NAME repository id (--name)", true, true, func(_ *BOM, s *cdx.Component) bool {
		return s.Supplier != nil || s.Manufacturer != nil || s.Authors != nil
	}},
	{"System Level Properties", "version", "metadata.component.version", "give the revision (--revision) or use a git clone or cache snapshot", true, true, func(_ *BOM, s *cdx.Component) bool {
		return s.Version != ""
	}},
	{"System Level Properties", "components", "metadata.component.components", "", true, true, func(_ *BOM, s *cdx.Component) bool {
		return s.Components != nil && len(*s.Components) > 0
	}},
	{"System Level Properties", "input/output properties", "modelCard.modelParameters.inputs/outputs", "set pipeline_tag in the model card", true, false, func(_ *BOM, s *cdx.Component) bool {
		mp := modelParams(s)
		return mp != nil && (mp.Inputs != nil || mp.Outputs != nil)
	}},
	{"System Level Properties", "intended application area", "modelCard.considerations.useCases, modelParameters.task", "describe the intended uses in the model card", true, false, func(_ *BOM, s *cdx.Component) bool {
		mp := modelParams(s)
		return mp != nil && mp.Task != "" || s.ModelCard != nil && s.ModelCard.Considerations != nil && s.ModelCard.Considerations.UseCases != nil
	}},
	{"Models", "identifier", "purl", "use an ORG/NAME repository id (--name)", true, false, func(_ *BOM, s *cdx.Component) bool { return s.PackageURL != "" }},
	{"Models", "description", "description", "add a description to the model card", true, false, func(_ *BOM, s *cdx.Component) bool { return s.Description != "" }},
	{"Models", "hash value and algorithm", "hashes, components[].hashes", "pass --digest", true, true, func(b *BOM, s *cdx.Component) bool { return hasHashes(s) }},
	{"Models", "architecture", "modelCard.modelParameters.modelArchitecture/architectureFamily", "", true, false, func(_ *BOM, s *cdx.Component) bool {
		mp := modelParams(s)
		return mp != nil && (mp.ModelArchitecture != "" || mp.ArchitectureFamily != "")
	}},
	{"Models", "training method", "modelCard.modelParameters.approach", "set pipeline_tag in the model card", true, false, func(_ *BOM, s *cdx.Component) bool {
		mp := modelParams(s)
		return mp != nil && mp.Approach != nil
	}},
	{"Models", "limitations", "modelCard.considerations.technicalLimitations", "add a Limitations section to the model card", true, false, func(_ *BOM, s *cdx.Component) bool {
		return s.ModelCard != nil && s.ModelCard.Considerations != nil && s.ModelCard.Considerations.TechnicalLimitations != nil
	}},
	{"Models", "license", "licenses", "declare license in the card front matter", true, true, func(_ *BOM, s *cdx.Component) bool {
		return s.Licenses != nil && len(*s.Licenses) > 0
	}},
	{"Models", "external references", "externalReferences", "use a git clone or cache snapshot, or --name", true, true, func(_ *BOM, s *cdx.Component) bool {
		return s.ExternalReferences != nil && len(*s.ExternalReferences) > 0
	}},
	{"Models", "model lineage (base models)", "pedigree.ancestors", "declare base_model in the card", true, false, func(_ *BOM, s *cdx.Component) bool {
		return s.Pedigree != nil && s.Pedigree.Ancestors != nil && len(*s.Pedigree.Ancestors) > 0
	}},
	{"Dataset Properties", "dataset identity", "components[type=data], modelCard.modelParameters.datasets", "declare datasets in the card", true, true, func(b *BOM, s *cdx.Component) bool {
		return s.Type == cdx.ComponentTypeData || len(dataComponents(b)) > 0
	}},
	{"Dataset Properties", "dataset provenance", "data[].governance, externalReferences", "", true, true, func(b *BOM, s *cdx.Component) bool {
		ds := dataComponents(b)
		if s.Type == cdx.ComponentTypeData {
			ds = append(ds, *s)
		}
		for _, d := range ds {
			if d.ExternalReferences != nil || d.Data != nil && len(*d.Data) > 0 && (*d.Data)[0].Governance != nil {
				return true
			}
		}
		return false
	}},
	{"Dataset Properties", "dataset license", "components[type=data].licenses", "", false, true, func(_ *BOM, s *cdx.Component) bool {
		return s.Licenses != nil && len(*s.Licenses) > 0
	}},
	{"Key Performance Indicators", "performance metrics", "modelCard.quantitativeAnalysis", "add model-index results to the card", true, false, func(_ *BOM, s *cdx.Component) bool {
		return s.ModelCard != nil && s.ModelCard.QuantitativeAnalysis != nil
	}},
	{"Infrastructure", "software framework", "properties mlsec:framework", "", true, false, func(_ *BOM, s *cdx.Component) bool {
		return propValue(s, propPrefix+"framework") != ""
	}},
	{"Security Properties", "integrity (OMS root digest)", "properties mlsec:oms:root-digest, hashes", "pass --digest", true, true, func(_ *BOM, s *cdx.Component) bool {
		return propValue(s, propPrefix+"oms:root-digest") != "" || s.Hashes != nil
	}},
	{"Security Properties", "vulnerability references", "vulnerabilities", "attach scan results (mlsec scan) as VEX", true, true, func(b *BOM, _ *cdx.Component) bool {
		return b.BOM.Vulnerabilities != nil && len(*b.BOM.Vulnerabilities) > 0
	}},
}

// Score checks b against the G7 minimum elements that apply to its subject
// (a model or a dataset).
func Score(b *BOM) Completeness {
	var s cdx.Component
	if b.BOM.Metadata != nil && b.BOM.Metadata.Component != nil {
		s = *b.BOM.Metadata.Component
	}
	isData := s.Type == cdx.ComponentTypeData
	var c Completeness
	for _, ch := range checks {
		if isData && !ch.data || !isData && !ch.model {
			continue
		}
		e := Element{Cluster: ch.cluster, Element: ch.element, Field: ch.field, Present: ch.ok(b, &s)}
		if !e.Present {
			e.Hint = ch.hint
		} else {
			c.Present++
		}
		c.Total++
		c.Elements = append(c.Elements, e)
	}
	if c.Total > 0 {
		c.Score = c.Present * 100 / c.Total
	}
	return c
}

// WriteCompleteness prints the score and every element.
func WriteCompleteness(w io.Writer, c Completeness) error {
	fmt.Fprintf(w, "completeness: %d%% (%d of %d G7 SBOM-for-AI minimum elements)\n", c.Score, c.Present, c.Total)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "CLUSTER\tELEMENT\tSTATUS\tCYCLONEDX FIELD\tHINT\n")
	for _, e := range c.Elements {
		st := "present"
		if !e.Present {
			st = "missing"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Cluster, e.Element, st, e.Field, e.Hint)
	}
	return tw.Flush()
}

func modelParams(s *cdx.Component) *cdx.MLModelParameters {
	if s.ModelCard == nil {
		return nil
	}
	return s.ModelCard.ModelParameters
}

func hasHashes(s *cdx.Component) bool {
	if s.Hashes != nil && len(*s.Hashes) > 0 {
		return true
	}
	if s.Components != nil {
		for _, c := range *s.Components {
			if c.Hashes != nil && len(*c.Hashes) > 0 {
				return true
			}
		}
	}
	return false
}

func dataComponents(b *BOM) []cdx.Component {
	var out []cdx.Component
	if b.BOM.Components != nil {
		for _, c := range *b.BOM.Components {
			if c.Type == cdx.ComponentTypeData {
				out = append(out, c)
			}
		}
	}
	return out
}

func propValue(s *cdx.Component, name string) string {
	if s.Properties == nil {
		return ""
	}
	for _, p := range *s.Properties {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}
