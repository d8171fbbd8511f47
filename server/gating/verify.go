package gating

import (
	"context"

	"github.com/mlsecops/mlsec/policy"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/store"
)

// MaxSignatures bounds the stored signatures of one artifact a
// verification tries.
const MaxSignatures = 20

// Verification is the outcome of verifying a stored artifact's signatures.
type Verification struct {
	Verified bool
	// EvidenceID is the signature evidence that verified, else the last
	// one tried.
	EvidenceID int64
	// Signer names the trusted identity that verified it.
	Signer string
	// Problem says why nothing verified ("no signature stored for this
	// artifact", or the last verifier's error).
	Problem string
}

// VerifyStored verifies the stored artifact dg against its stored OpenSSF
// Model Signing signatures — evidenceID, or when 0 each signature indexed
// under dg, newest first — with each trusted identity in turn, until one
// verifies: signing.Verify on the artifact's bytes, as `mlsec verify` does.
// open materialises the bytes (called only when there is a signature to
// check) and returns their path and a cleanup function. The API's inline
// verification and the queue's verify jobs both call this. Errors are the
// store's or open's; a signature that does not verify is a Verification
// with a Problem.
func VerifyStored(ctx context.Context, st store.Store, dg store.Digest, evidenceID int64, ids []policy.NamedVerifier,
	open func() (string, func(), error)) (Verification, error) {
	evIDs := []int64{evidenceID}
	if evidenceID == 0 {
		facts, err := st.Facts(ctx, store.FactQuery{Subject: dg, PredicateType: signing.PredicateType, Limit: MaxSignatures})
		if err != nil {
			return Verification{}, err
		}
		evIDs = evIDs[:0]
		for _, f := range facts {
			evIDs = append(evIDs, f.EvidenceID)
		}
	}
	if len(evIDs) == 0 {
		return Verification{Problem: "no signature stored for this artifact"}, nil
	}
	p, cleanup, err := open()
	if err != nil {
		return Verification{}, err
	}
	defer cleanup()
	var res Verification
	for _, id := range evIDs {
		ev, err := st.Evidence(ctx, id)
		if err != nil {
			return Verification{}, err
		}
		res.EvidenceID = id
		for _, v := range ids {
			if _, err := signing.Verify(ctx, p, ev.Bundle, v.Verifier, signing.VerifyOptions{}); err != nil {
				res.Problem = err.Error() // negative result or unusable bundle: try the next one
				continue
			}
			return Verification{Verified: true, EvidenceID: id, Signer: v.Name}, nil
		}
	}
	return res, nil
}
