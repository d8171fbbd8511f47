package policy

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	vsa "github.com/in-toto/attestation/go/predicates/vsa/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/mlsecops/mlsec/attest"
)

// VSA constants.
const (
	// VSAType is the SLSA Verification Summary Attestation v1 predicate type.
	VSAType = "https://slsa.dev/verification_summary/v1"
	// VerifierID identifies mlsec's gate as the VSA verifier.
	VerifierID = "https://mlsec.dev/gate/v1"
	// extensionKey holds mlsec's gate details inside the VSA predicate
	// (in-toto consumers ignore unknown predicate fields).
	extensionKey = "mlsecGate"
)

// Override is a break-glass override of a failed gate.
type Override struct {
	// Identity is who overrode (the signer's pipeline identity, or the
	// name given on the command line).
	Identity string `json:"identity"`
	Reason   string `json:"reason"`
}

// GateRecord is what a VSA records about one gate run, beyond the standard
// VSA fields.
type GateRecord struct {
	Stage    string       `json:"stage"`
	Decision Result       `json:"decision"`
	Rules    []RuleResult `json:"rules"`
	Policies []PolicyRef  `json:"policies"`
	// TrustBefore and TrustState are the artifact's trust state before and
	// after the gate.
	TrustBefore string `json:"trustBefore"`
	TrustState  string `json:"trustState"`
	// Operator is the identity that ran the gate and signed the VSA.
	Operator string    `json:"operator,omitempty"`
	Override *Override `json:"override,omitempty"`
	// Exceptions are the findings accepted by pipeline exceptions.
	Exceptions []Excepted `json:"exceptions,omitempty"`
}

// VSARequest is everything a VSA about a gate run says.
type VSARequest struct {
	Subject     attest.Subject
	ResourceURI string
	Decision    Decision
	TrustBefore string
	TrustState  string
	Operator    string
	Override    *Override
	// Inputs are the claims the evidence came from (their sha256).
	Inputs []Input
	Time   time.Time
}

// Input is an attestation the gate read.
type Input struct {
	URI    string `json:"uri"`
	SHA256 string `json:"sha256"`
}

// VSAStatement renders the gate's decision as an in-toto statement with an
// SLSA VSA v1 predicate. verificationResult is PASSED for PASS and WARN,
// FAILED for FAIL (an override does not change it). verifiedLevels carry
// MLSEC_GATE_<STAGE>_<DECISION> and MLSEC_TRUST_<STATE>; the per-rule
// results, policies, trust change and any override are under "mlsecGate".
func VSAStatement(r VSARequest) ([]byte, error) {
	d := r.Decision
	result := "PASSED"
	if d.Result == Fail {
		result = "FAILED"
	}
	ts := r.Time
	if ts.IsZero() {
		ts = time.Now()
	}
	polURI, polDigest := policyIdentity(d.Policies)
	pred := &vsa.VerificationSummary{
		Verifier:           &vsa.VerificationSummary_Verifier{Id: VerifierID},
		TimeVerified:       timestamppb.New(ts.UTC()),
		ResourceUri:        r.ResourceURI,
		Policy:             &vsa.VerificationSummary_Policy{Uri: polURI, Digest: map[string]string{"sha256": polDigest}},
		VerificationResult: result,
		VerifiedLevels: []string{
			fmt.Sprintf("MLSEC_GATE_%s_%s", strings.ToUpper(d.Stage), d.Result),
			"MLSEC_TRUST_" + strings.ToUpper(r.TrustState),
		},
	}
	for _, in := range r.Inputs {
		pred.InputAttestations = append(pred.InputAttestations,
			&vsa.VerificationSummary_InputAttestation{Uri: in.URI, Digest: map[string]string{"sha256": in.SHA256}})
	}
	if r.Override != nil {
		pred.VerifiedLevels = append(pred.VerifiedLevels, "MLSEC_OVERRIDDEN")
	}
	b, err := protojson.Marshal(pred)
	if err != nil {
		return nil, fmt.Errorf("policy: vsa: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("policy: vsa: %w", err)
	}
	rec := GateRecord{Stage: d.Stage, Decision: d.Result, Rules: d.Rules, Policies: d.Policies,
		TrustBefore: r.TrustBefore, TrustState: r.TrustState, Operator: r.Operator, Override: r.Override,
		Exceptions: d.Exceptions}
	rb, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("policy: vsa: %w", err)
	}
	var rm map[string]any
	if err := json.Unmarshal(rb, &rm); err != nil {
		return nil, fmt.Errorf("policy: vsa: %w", err)
	}
	m[extensionKey] = rm
	s, err := structpb.NewStruct(m)
	if err != nil {
		return nil, fmt.Errorf("policy: vsa: %w", err)
	}
	return attest.NewStatement(r.Subject, VSAType, s)
}

// policyIdentity names the gate's policies as one VSA policy: a single
// policy by its file, several by "mlsec:policies/" and the sha256 of their
// digests joined.
func policyIdentity(ps []PolicyRef) (string, string) {
	if len(ps) == 1 {
		return policyURI(ps[0]), ps[0].Digest
	}
	var names, digests []string
	for _, p := range ps {
		names = append(names, p.Name+"@"+p.Version)
		digests = append(digests, p.Digest)
	}
	return "mlsec:policies/" + strings.Join(names, ","), sha256Hex([]byte(strings.Join(digests, "\n")))
}

func policyURI(p PolicyRef) string {
	if strings.HasPrefix(p.File, "builtin/") {
		return "mlsec:" + strings.TrimSuffix(p.File, ".yaml") + "@" + p.Version
	}
	return p.File
}

// ParseVSA reads a VSA statement written by VSAStatement.
func ParseVSA(st attest.Statement) (*vsa.VerificationSummary, *GateRecord, error) {
	if st.GetPredicateType() != VSAType {
		return nil, nil, fmt.Errorf("%w: predicate type %q is not a VSA", attest.ErrMalformed, st.GetPredicateType())
	}
	b, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, nil, fmt.Errorf("%w: vsa: %v", attest.ErrMalformed, err)
	}
	var v vsa.VerificationSummary
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &v); err != nil {
		return nil, nil, fmt.Errorf("%w: vsa: %v", attest.ErrMalformed, err)
	}
	if r := v.GetVerificationResult(); r != "PASSED" && r != "FAILED" {
		return nil, nil, fmt.Errorf("%w: vsa: verificationResult %q", attest.ErrMalformed, r)
	}
	var wrap struct {
		Gate *GateRecord `json:"mlsecGate"`
	}
	if err := json.Unmarshal(b, &wrap); err != nil || wrap.Gate == nil {
		return &v, nil, nil // a VSA from another verifier
	}
	return &v, wrap.Gate, nil
}

// priorDecision turns a parsed VSA into evidence.
func priorDecision(v *vsa.VerificationSummary, g *GateRecord) PriorDecision {
	pd := PriorDecision{Result: v.GetVerificationResult(), Time: v.GetTimeVerified().AsTime()}
	pd.Policy = v.GetPolicy().GetUri()
	if g != nil {
		pd.Stage, pd.Decision, pd.TrustState = g.Stage, string(g.Decision), g.TrustState
		pd.Overridden = g.Override != nil
	} else {
		pd.Decision = string(Pass)
		if pd.Result == "FAILED" {
			pd.Decision = string(Fail)
		}
	}
	pd.Passed = pd.Result == "PASSED"
	return pd
}
