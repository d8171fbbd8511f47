package server

import (
	"encoding/base64"
	"testing"

	"github.com/mlsecops/mlsec"
)

// FuzzParseAttestation feeds arbitrary request bodies to the attestation
// parser: it must return a statement or an EINVALID error, never panic.
func FuzzParseAttestation(f *testing.F) {
	stmt := statementJSON(fakeDigest('a'), "https://example.com/p/v1", `{"x":1}`)
	f.Add(stmt)
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"` + base64.StdEncoding.EncodeToString(stmt) + `","signatures":[]}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{"payload":"e30=","payloadType":"x","signatures":[]}}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"","predicate":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := parseAttestation(body)
		if err != nil {
			if mlsec.ErrorCode(err) != mlsec.EINVALID {
				t.Fatalf("error code %q for %q: %v", mlsec.ErrorCode(err), body, err)
			}
			return
		}
		if p.mediaType == "" || len(p.subjects) == 0 {
			t.Fatalf("accepted %q without media type or subjects", body)
		}
	})
}
