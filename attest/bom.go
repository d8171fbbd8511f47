package attest

import (
	"bytes"
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
)

// MaxBOMSize bounds a BOM document wrapped in a statement.
const MaxBOMSize = 8 << 20

// BOMStatement wraps a CycloneDX JSON document (an AI/ML-BOM, as the aibom
// package or any other tool writes it) as a CycloneDXType statement about
// subject. The BOM is built by the caller (mlsec attest bom uses aibom)
// and only checked for being a CycloneDX JSON object here, so attest does
// not depend on aibom.
func BOMStatement(subject Subject, bom []byte) ([]byte, error) {
	if len(bom) > MaxBOMSize {
		return nil, fmt.Errorf("%w: BOM of %d bytes exceeds %d", ErrMalformed, len(bom), MaxBOMSize)
	}
	var probe struct {
		BOMFormat string `json:"bomFormat"`
	}
	if err := json.Unmarshal(bom, &probe); err != nil {
		return nil, fmt.Errorf("%w: BOM is not a JSON object: %v", ErrMalformed, err)
	}
	if probe.BOMFormat != "CycloneDX" {
		return nil, fmt.Errorf("%w: BOM has bomFormat %q, want CycloneDX", ErrMalformed, probe.BOMFormat)
	}
	dec := json.NewDecoder(bytes.NewReader(bom))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: BOM: %v", ErrMalformed, err)
	}
	s, err := structOf(v)
	if err != nil {
		return nil, err
	}
	return NewStatement(subject, CycloneDXType, s)
}

func checkBOM(st Statement) error {
	b, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return fmt.Errorf("%w: BOM predicate: %v", ErrMalformed, err)
	}
	var probe struct {
		BOMFormat   string `json:"bomFormat"`
		SpecVersion string `json:"specVersion"`
	}
	if err := json.Unmarshal(b, &probe); err != nil || probe.BOMFormat != "CycloneDX" || probe.SpecVersion == "" {
		return fmt.Errorf("%w: BOM predicate is not a CycloneDX document (bomFormat %q, specVersion %q)", ErrMalformed, probe.BOMFormat, probe.SpecVersion)
	}
	return nil
}
