package server

import (
	"testing"

	"github.com/mlsecops/mlsec/store"
)

// TestControlCharactersRefused: names, versions and token names holding
// control characters are a 400, and nothing is stored.
func TestControlCharactersRefused(t *testing.T) {
	e := newEnv(t, nil)
	for _, bad := range []string{"m\x00", "m\x1b[31m", "m\nINFO fake log line", "m\u202egpj", "m\u009b"} {
		reg := RegisterRequest{Digest: string(fakeDigest('c')), Name: bad, Kind: "model"}
		if s := e.json(store.RoleMLEngineer, "POST", "/api/v1/artifacts", reg, nil); s != 400 {
			t.Errorf("artifact name %q: %d", bad, s)
		}
		reg = RegisterRequest{Digest: string(fakeDigest('c')), Name: "m", Version: bad, Kind: "model"}
		if s := e.json(store.RoleMLEngineer, "POST", "/api/v1/artifacts", reg, nil); s != 400 {
			t.Errorf("artifact version %q: %d", bad, s)
		}
		if s := e.json(store.RoleAdmin, "POST", "/api/v1/tokens", map[string]string{"name": bad, "role": "auditor"}, nil); s != 400 {
			t.Errorf("token name %q: %d", bad, s)
		}
	}
	if _, err := e.st.Artifact(t.Context(), fakeDigest('c')); err == nil {
		t.Error("an artifact was stored")
	}
}
