package aibom

import (
	"encoding/json"
	"regexp"
	"strings"
	"sync"
)

// hfLicenses maps Hugging Face licence ids whose SPDX id is not a
// case-insensitive match (deprecated GNU ids) to the SPDX id.
var hfLicenses = map[string]string{
	"gpl":      "GPL-3.0-or-later",
	"gpl-2.0":  "GPL-2.0-only",
	"gpl-3.0":  "GPL-3.0-only",
	"lgpl-2.1": "LGPL-2.1-only",
	"lgpl-3.0": "LGPL-3.0-only",
	"lgpl-lr":  "LGPL-LR",
	"agpl-3.0": "AGPL-3.0-only",
	"gfdl":     "GFDL-1.3-only",
	"afl-3.0":  "AFL-3.0",
	"bsd":      "BSD-3-Clause",
	"cc":       "",
}

var spdxOnce sync.Once
var spdxIDs map[string]string // lower case -> canonical

func loadSPDX() {
	spdxIDs = map[string]string{}
	b, err := schemaFS.ReadFile("testdata/schemas/spdx.schema.json")
	if err != nil {
		return
	}
	var s struct {
		Enum []string `json:"enum"`
	}
	if json.Unmarshal(b, &s) != nil {
		return
	}
	for _, id := range s.Enum {
		spdxIDs[strings.ToLower(id)] = id
	}
}

// SPDXID returns the canonical SPDX licence id for a Hugging Face or SPDX
// licence string, and false when it is not an SPDX licence.
func SPDXID(s string) (string, bool) {
	spdxOnce.Do(loadSPDX)
	k := strings.ToLower(strings.TrimSpace(s))
	if id, ok := hfLicenses[k]; ok {
		return id, id != ""
	}
	id, ok := spdxIDs[k]
	return id, ok
}

var exprSplit = regexp.MustCompile(`\s+(?:AND|OR|WITH|and|or)\s+`)

// License is a licence resolved for a BOM.
type License struct {
	// Declared is what the card or file said.
	Declared string
	// ID is the SPDX id, or Expression an SPDX expression of several ids;
	// both are empty when the licence is not an SPDX licence.
	ID, Expression string
	// Name and URL describe a licence that is not in the SPDX list.
	Name, URL string
}

// ResolveLicense maps a declared licence to SPDX. name and url describe
// licences the card calls "other" (license_name, license_link).
func ResolveLicense(declared, name, url string) License {
	l := License{Declared: declared, URL: url}
	d := strings.TrimSpace(declared)
	if d == "" {
		return License{}
	}
	if strings.EqualFold(d, "other") || strings.EqualFold(d, "unknown") {
		l.Name = name
		if l.Name == "" {
			l.Name = d
		}
		return l
	}
	parts := exprSplit.Split(d, -1)
	if len(parts) > 1 {
		expr := d
		for _, p := range parts {
			id, ok := SPDXID(strings.Trim(p, "() "))
			if !ok {
				l.Name = d
				return l
			}
			expr = strings.Replace(expr, strings.Trim(p, "() "), id, 1)
		}
		expr = strings.NewReplacer(" and ", " AND ", " or ", " OR ").Replace(expr)
		l.Expression = expr
		return l
	}
	if id, ok := SPDXID(d); ok {
		l.ID = id
		return l
	}
	l.Name = d
	return l
}
