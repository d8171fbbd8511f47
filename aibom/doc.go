// Package aibom builds AI bills of materials from the facts inspect
// gathers: CycloneDX ML-BOMs (1.6 and 1.7, JSON and XML, through
// github.com/CycloneDX/cyclonedx-go) and SPDX 3.0.1 documents with the AI and
// Dataset profiles (through github.com/spdx/tools-golang). It validates
// CycloneDX JSON against the official schemas, embedded and registered
// offline, and scores a BOM's completeness against the G7 "SBOM for AI –
// minimum elements".
package aibom
