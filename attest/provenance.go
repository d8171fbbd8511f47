package attest

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	ita1 "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// BuildType is the SLSA build type of ML runs recorded by mlsec: a
// training, fine-tuning, quantization or conversion run whose
// externalParameters are {"runType": ..., "parameters": {...}}.
const BuildType = "https://mlsec.dev/buildtypes/ml-run/v1"

// Role says what a resolved dependency was to a run. It is recorded in the
// dependency's "role" annotation.
type Role string

// Dependency roles.
const (
	RoleDataset   Role = "dataset"
	RoleBaseModel Role = "base-model"
	RoleCode      Role = "code"
	// RoleAdapter is a LoRA/PEFT adapter merged into (or applied to) a
	// base model by the run.
	RoleAdapter Role = "adapter"
	// RoleArtifact is a sha256 dependency recorded without a role (by
	// another tool).
	RoleArtifact Role = "artifact"
	// RoleSource is the upstream an artifact was taken in from (mlsec
	// intake): identified by its URI and the digest it had there, it is the
	// artifact's origin outside the organisation, not an artifact of the
	// lineage graph (the intake's subject has the same content, so it can
	// never be its own parent).
	RoleSource Role = "source"
)

// ErrCycle reports provenance that would make an artifact its own ancestor.
var ErrCycle = errors.New("attest: lineage cycle")

// Run types recorded in externalParameters.runType.
const (
	RunTraining     = "training"
	RunFineTuning   = "fine-tuning"
	RunQuantization = "quantization"
	RunConversion   = "conversion"
	// RunMerge merges adapters into a base model.
	RunMerge = "merge"
)

// Dependency is one input of a run.
type Dependency struct {
	Role Role `json:"role"`
	// Name is the artifact's name (a directory or file name) or empty.
	Name string `json:"name,omitempty"`
	// Digest is the OMS root digest of a dataset or model; empty for code.
	Digest Digest `json:"digest,omitempty"`
	// URI and Commit locate source code (git); URI also names the
	// upstream location of a RoleSource dependency.
	URI    string `json:"uri,omitempty"`
	Commit string `json:"commit,omitempty"`
}

// IsArtifact reports whether the dependency is a dataset or model that a
// verifier can find by digest: not code, not an upstream source.
func (d Dependency) IsArtifact() bool { return d.Digest != "" && d.Role != RoleSource }

// IsSource reports an upstream source (RoleSource).
func (d Dependency) IsSource() bool { return d.Role == RoleSource }

// Provenance describes an ML run that produced the subject model.
type Provenance struct {
	Subject Subject
	// RunType is training, fine-tuning, quantization, conversion or any
	// other word the user chose.
	RunType string
	// BuilderID identifies the platform that ran it (a URI).
	BuilderID string
	// BuildType defaults to BuildType.
	BuildType    string
	InvocationID string
	StartedOn    time.Time
	FinishedOn   time.Time
	// Parameters are the run's configuration and hyperparameters.
	Parameters map[string]any
	// Dependencies are the datasets, base models and code.
	Dependencies []Dependency
}

// ParseCodeRef splits "URL@COMMIT" at the last '@' (so git@host:repo@sha
// works); COMMIT must be a 40-digit hex git commit.
func ParseCodeRef(s string) (Dependency, error) {
	i := strings.LastIndexByte(s, '@')
	if i <= 0 || i == len(s)-1 {
		return Dependency{}, fmt.Errorf("%w: code reference %q: want URL@COMMIT", ErrMalformed, s)
	}
	url, commit := s[:i], strings.ToLower(s[i+1:])
	if b, err := hex.DecodeString(commit); err != nil || len(b) != 20 {
		return Dependency{}, fmt.Errorf("%w: code reference %q: commit %q is not a 40-digit hex git commit", ErrMalformed, s, commit)
	}
	return Dependency{Role: RoleCode, URI: url, Commit: commit}, nil
}

// Statement renders the provenance as an in-toto statement (canonical JSON).
// A dataset or model dependency with the subject's own digest is refused
// (ErrCycle): an artifact is never its own parent (an upstream source is
// recorded with RoleSource).
func (p *Provenance) Statement() ([]byte, error) {
	for _, d := range p.Dependencies {
		if d.IsArtifact() && d.Digest == p.Subject.Digest {
			return nil, fmt.Errorf("%w: %s %q is the subject itself (%s): an artifact cannot be its own parent", ErrCycle, d.Role, d.Name, d.Digest)
		}
	}
	pred, err := p.predicate()
	if err != nil {
		return nil, err
	}
	return NewStatement(p.Subject, ProvenanceType, pred)
}

func (p *Provenance) predicate() (*slsa.Provenance, error) {
	params := p.Parameters
	if params == nil {
		params = map[string]any{}
	}
	runType := p.RunType
	if runType == "" {
		runType = RunTraining
	}
	ext, err := structOf(map[string]any{"runType": runType, "parameters": params})
	if err != nil {
		return nil, err
	}
	bt := p.BuildType
	if bt == "" {
		bt = BuildType
	}
	def := &slsa.BuildDefinition{BuildType: bt, ExternalParameters: ext}
	for _, d := range p.Dependencies {
		rd, err := d.descriptor()
		if err != nil {
			return nil, err
		}
		def.ResolvedDependencies = append(def.ResolvedDependencies, rd)
	}
	run := &slsa.RunDetails{Builder: &slsa.Builder{Id: p.BuilderID}}
	if p.InvocationID != "" || !p.StartedOn.IsZero() || !p.FinishedOn.IsZero() {
		md := &slsa.BuildMetadata{InvocationId: p.InvocationID}
		if !p.StartedOn.IsZero() {
			md.StartedOn = timestamppb.New(p.StartedOn)
		}
		if !p.FinishedOn.IsZero() {
			md.FinishedOn = timestamppb.New(p.FinishedOn)
		}
		run.Metadata = md
	}
	pred := &slsa.Provenance{BuildDefinition: def, RunDetails: run}
	if err := pred.Validate(); err != nil {
		return nil, fmt.Errorf("%w: provenance: %w", ErrMalformed, err)
	}
	return pred, nil
}

func (d Dependency) descriptor() (*ita1.ResourceDescriptor, error) {
	role, _ := structpb.NewStruct(map[string]any{"role": string(d.Role)})
	switch {
	case d.Role == RoleCode:
		return &ita1.ResourceDescriptor{Uri: d.URI, Digest: map[string]string{"gitCommit": d.Commit}, Annotations: role}, nil
	case d.Role == RoleSource:
		if d.URI == "" {
			return nil, fmt.Errorf("%w: source dependency has no URI", ErrMalformed)
		}
		rd := &ita1.ResourceDescriptor{Uri: d.URI, Name: d.Name, Annotations: role}
		if d.Digest != "" {
			if _, err := ParseDigest(string(d.Digest)); err != nil {
				return nil, err
			}
			rd.Digest = map[string]string{"sha256": d.Digest.Hex()}
		}
		return rd, nil
	case d.Digest != "":
		if _, err := ParseDigest(string(d.Digest)); err != nil {
			return nil, err
		}
		return &ita1.ResourceDescriptor{Name: d.Name, Digest: map[string]string{"sha256": d.Digest.Hex()}, Annotations: role}, nil
	}
	return nil, fmt.Errorf("%w: dependency %q has no digest", ErrMalformed, d.Name)
}

// ProvenanceOf reads and checks the SLSA Provenance v1 predicate of st: the
// fields SLSA Build L1 requires (buildType, externalParameters, builder id)
// and well-formed resolved dependencies.
func ProvenanceOf(st Statement) (*Provenance, error) {
	if st.GetPredicateType() != ProvenanceType {
		return nil, fmt.Errorf("%w: predicate type %q is not SLSA provenance v1", ErrMalformed, st.GetPredicateType())
	}
	b, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, fmt.Errorf("%w: provenance: %v", ErrMalformed, err)
	}
	var pred slsa.Provenance
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &pred); err != nil {
		return nil, fmt.Errorf("%w: provenance: %v", ErrMalformed, err)
	}
	if err := pred.Validate(); err != nil {
		return nil, fmt.Errorf("%w: provenance: %v", ErrMalformed, err)
	}
	def, run := pred.GetBuildDefinition(), pred.GetRunDetails()
	deps := def.GetResolvedDependencies()
	if len(deps) > MaxDependencies {
		return nil, fmt.Errorf("%w: provenance has %d dependencies, more than %d", ErrMalformed, len(deps), MaxDependencies)
	}
	p := &Provenance{
		BuildType: def.GetBuildType(),
		BuilderID: run.GetBuilder().GetId(),
	}
	if subj := st.GetSubject(); len(subj) > 0 {
		p.Subject.Name = subj[0].GetName()
		if ds := st.Subjects(); len(ds) > 0 {
			p.Subject.Digest = ds[0]
		}
	}
	ext := def.GetExternalParameters().AsMap()
	if rt, ok := ext["runType"].(string); ok {
		p.RunType = rt
	}
	if params, ok := ext["parameters"].(map[string]any); ok {
		p.Parameters = params
	}
	if md := run.GetMetadata(); md != nil {
		p.InvocationID = md.GetInvocationId()
		if md.GetStartedOn() != nil {
			p.StartedOn = md.GetStartedOn().AsTime()
		}
		if md.GetFinishedOn() != nil {
			p.FinishedOn = md.GetFinishedOn().AsTime()
		}
	}
	for i, rd := range deps {
		d := Dependency{Name: rd.GetName(), URI: rd.GetUri()}
		if r, ok := rd.GetAnnotations().AsMap()["role"].(string); ok {
			d.Role = Role(r)
		}
		if h, ok := rd.GetDigest()["sha256"]; ok {
			dg, err := ParseDigest(h)
			if err != nil {
				return nil, fmt.Errorf("%w: provenance dependency %d: %v", ErrMalformed, i, err)
			}
			d.Digest = dg
			if d.Role == "" || d.Role == RoleCode {
				d.Role = RoleArtifact
			}
		} else if c, ok := rd.GetDigest()["gitCommit"]; ok {
			d.Role, d.Commit = RoleCode, c
		} else if d.Role == "" {
			d.Role = RoleCode // a URI without a digest we can check
		}
		legacySource(&d, p.Subject.Digest, p.BuildType)
		p.Dependencies = append(p.Dependencies, d)
	}
	return p, nil
}

// legacySource reads the intake records of mlsec before RoleSource, which
// named the source URL as an artifact with the subject's own digest, as the
// source they are, never as the artifact's own parent.
func legacySource(d *Dependency, subject Digest, buildType string) {
	if buildType == IntakeBuildType && d.Role != RoleSource && d.Digest != "" && d.Digest == subject {
		d.Role = RoleSource
		if d.URI == "" {
			d.URI, d.Name = d.Name, ""
		}
	}
}

// IntakeBuildType is the SLSA build type of the provenance mlsec intake
// records: the artifact's upstream source (a RoleSource dependency) and
// externalParameters.parameters with the source URL, its trust and the
// upstream signature's status.
const IntakeBuildType = "https://mlsec.dev/buildtypes/intake/v1"

// Parents returns the dependencies that are datasets or models.
func (p *Provenance) Parents() []Dependency {
	var out []Dependency
	for _, d := range p.Dependencies {
		if d.IsArtifact() {
			out = append(out, d)
		}
	}
	return out
}
