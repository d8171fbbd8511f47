package attest

import (
	"encoding/json"
	"fmt"
)

// Peek is what an evidence index needs from a claim, read without
// verifying its signature.
type Peek struct {
	SubjectName   string
	Subjects      []Digest
	PredicateType string
	// Provenance is set for SLSA provenance claims (Subject, RunType,
	// BuilderID, InvocationID and Dependencies only).
	Provenance *Provenance
}

// PeekClaim reads a claim's statement without verifying its signature and
// without the full protobuf decoding of ParseStatement: a fast path for
// indexing thousands of claims. It checks the shape the index relies on
// (DSSE payload type, statement type, subject digests, a provenance's
// builder and dependency digests); trust decisions use VerifyClaim.
func PeekClaim(bundleJSON []byte) (Peek, error) {
	var b struct {
		DsseEnvelope *struct {
			Payload     []byte `json:"payload"`
			PayloadType string `json:"payloadType"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(bundleJSON, &b); err != nil {
		return Peek{}, fmt.Errorf("%w: %v", ErrNotBundle, err)
	}
	if b.DsseEnvelope == nil {
		return Peek{}, fmt.Errorf("%w: bundle has no dsseEnvelope", ErrNotBundle)
	}
	if b.DsseEnvelope.PayloadType != PayloadType {
		return Peek{}, fmt.Errorf("%w: DSSE payload type %q, want %q", ErrMalformed, b.DsseEnvelope.PayloadType, PayloadType)
	}
	if len(b.DsseEnvelope.Payload) > MaxStatementSize {
		return Peek{}, fmt.Errorf("%w: statement of %d bytes exceeds %d", ErrMalformed, len(b.DsseEnvelope.Payload), MaxStatementSize)
	}
	var st struct {
		Type    string `json:"_type"`
		Subject []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
		PredicateType string          `json:"predicateType"`
		Predicate     json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(b.DsseEnvelope.Payload, &st); err != nil {
		return Peek{}, fmt.Errorf("%w: statement is not JSON: %v", ErrMalformed, err)
	}
	if st.Type != StatementType {
		return Peek{}, fmt.Errorf("%w: statement type %q, want %q", ErrMalformed, st.Type, StatementType)
	}
	var p Peek
	p.PredicateType = st.PredicateType
	for _, s := range st.Subject {
		if h, ok := s.Digest["sha256"]; ok {
			d, err := ParseDigest(h)
			if err != nil {
				return Peek{}, fmt.Errorf("%w: subject: %v", ErrMalformed, err)
			}
			p.Subjects = append(p.Subjects, d)
			if p.SubjectName == "" {
				p.SubjectName = s.Name
			}
		}
	}
	if len(p.Subjects) == 0 {
		return Peek{}, fmt.Errorf("%w: statement has no sha256 subject", ErrMalformed)
	}
	if st.PredicateType != ProvenanceType {
		return p, nil
	}
	var pred struct {
		BuildDefinition struct {
			BuildType          string `json:"buildType"`
			ExternalParameters struct {
				RunType string `json:"runType"`
			} `json:"externalParameters"`
			ResolvedDependencies []struct {
				Name        string            `json:"name"`
				URI         string            `json:"uri"`
				Digest      map[string]string `json:"digest"`
				Annotations struct {
					Role string `json:"role"`
				} `json:"annotations"`
			} `json:"resolvedDependencies"`
		} `json:"buildDefinition"`
		RunDetails struct {
			Builder struct {
				ID string `json:"id"`
			} `json:"builder"`
			Metadata struct {
				InvocationID string `json:"invocationId"`
			} `json:"metadata"`
		} `json:"runDetails"`
	}
	if err := json.Unmarshal(st.Predicate, &pred); err != nil {
		return Peek{}, fmt.Errorf("%w: provenance: %v", ErrMalformed, err)
	}
	if pred.RunDetails.Builder.ID == "" {
		return Peek{}, fmt.Errorf("%w: provenance: runDetails.builder.id required", ErrMalformed)
	}
	deps := pred.BuildDefinition.ResolvedDependencies
	if len(deps) > MaxDependencies {
		return Peek{}, fmt.Errorf("%w: provenance has %d dependencies, more than %d", ErrMalformed, len(deps), MaxDependencies)
	}
	prov := &Provenance{
		Subject: Subject{Name: p.SubjectName, Digest: p.Subjects[0]}, RunType: pred.BuildDefinition.ExternalParameters.RunType,
		BuildType: pred.BuildDefinition.BuildType,
		BuilderID: pred.RunDetails.Builder.ID, InvocationID: pred.RunDetails.Metadata.InvocationID,
	}
	for i, rd := range deps {
		d := Dependency{Name: rd.Name, URI: rd.URI, Role: Role(rd.Annotations.Role)}
		if h, ok := rd.Digest["sha256"]; ok {
			dg, err := ParseDigest(h)
			if err != nil {
				return Peek{}, fmt.Errorf("%w: provenance dependency %d: %v", ErrMalformed, i, err)
			}
			d.Digest = dg
			if d.Role == "" || d.Role == RoleCode {
				d.Role = RoleArtifact
			}
		} else if d.Role != RoleSource {
			d.Role, d.Commit = RoleCode, rd.Digest["gitCommit"]
		}
		legacySource(&d, prov.Subject.Digest, pred.BuildDefinition.BuildType)
		prov.Dependencies = append(prov.Dependencies, d)
	}
	p.Provenance = prov
	return p, nil
}
