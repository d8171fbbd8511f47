package signing

// ClaimsFileName is the append-only file of signed attestations (one
// Sigstore bundle per line) kept inside a directory model or dataset by
// package attest. Like the signature file, it is not part of the model:
// sign and verify leave it out, so that appending a claim never
// invalidates the model's signature.
const ClaimsFileName = "claims.jsonl"

// DefaultIgnoreNames are the model-relative names the mlsec CLI leaves out
// of a directory model's manifest in addition to the git paths and the
// signature file: the claims file.
func DefaultIgnoreNames() []string { return []string{ClaimsFileName} }
