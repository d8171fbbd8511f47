package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/store"
)

// statementJSON is a bare in-toto v1 statement about d.
func statementJSON(d store.Digest, predicateType string, predicate string) []byte {
	return fmt.Appendf(nil, `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"m","digest":{"sha256":%q}}],"predicateType":%q,"predicate":%s}`,
		strings.TrimPrefix(string(d), "sha256:"), predicateType, predicate)
}

// sampleRequest builds a well-formed request for every route, so the
// authorization test exercises the real handler when the role is allowed.
// A route without a sample fails the test: adding a route means adding one.
func sampleRequests(e *env) map[string]func() (path string, body []byte) {
	ctx := context.Background()
	up := cleanSafetensors()
	d, _, err := e.srv.cfg.Blobs.Put(ctx, bytes.NewReader(up))
	if err != nil {
		e.t.Fatal(err)
	}
	if _, _, err := e.st.PutArtifact(ctx, store.Artifact{Digest: d, Name: "sample.safetensors", Size: int64(len(up)), Blob: true, Kind: "model"}, "test"); err != nil {
		e.t.Fatal(err)
	}
	_, victim, err := e.st.CreateToken(ctx, store.NewToken{Name: "victim", Role: store.RoleAuditor, Actor: "test"})
	if err != nil {
		e.t.Fatal(err)
	}
	hs, err := e.st.CreateHubScan(ctx, "/mirror", []string{"a/model.bin"}, "test")
	if err != nil {
		e.t.Fatal(err)
	}
	mirror := e.t.TempDir()
	if err := os.WriteFile(filepath.Join(mirror, "model.safetensors"), up, 0o644); err != nil {
		e.t.Fatal(err)
	}
	ad := "/api/v1/artifacts/" + string(d)
	get := func(p string) func() (string, []byte) { return func() (string, []byte) { return p, nil } }
	return map[string]func() (string, []byte){
		"whoami":            get("/api/v1/whoami"),
		"listArtifacts":     get("/api/v1/artifacts"),
		"getArtifact":       get(ad),
		"artifactFindings":  get(ad + "/findings"),
		"artifactEvidence":  get(ad + "/evidence"),
		"artifactDecisions": get(ad + "/decisions"),
		"artifactHistory":   get(ad + "/history"),
		"artifactLineage":   get(ad + "/lineage"),
		"artifactImpact":    get(ad + "/impact"),
		"downloadArtifact":  get(ad + "/blob"),
		"getEvidence":       get("/api/v1/evidence/1"),
		"listFindings":      get("/api/v1/findings"),
		"listStages":        get("/api/v1/stages?artifact=" + string(d)),
		"coverage":          get("/api/v1/coverage?framework=owasp-ml-2023"),
		"maturity":          get("/api/v1/maturity"),
		"listHubScans":      get("/api/v1/hubscans"),
		"getHubScan":        get("/api/v1/hubscans/" + strconv.FormatInt(hs.ID, 10)),
		"stats":             get("/api/v1/stats"),
		"auditLog":          get("/api/v1/audit"),
		"verifyAudit":       get("/api/v1/audit/verify"),
		"listTokens":        get("/api/v1/tokens"),
		"getJob":            get("/api/v1/jobs/1"),
		"bomArtifact":       func() (string, []byte) { return ad + "/bom", nil },
		"startHubScan": func() (string, []byte) {
			return "/api/v1/hubscans", []byte(`{"root":` + strconv.Quote(mirror) + `}`)
		},
		"registerArtifact": func() (string, []byte) {
			return "/api/v1/artifacts", []byte(`{"digest":"` + string(fakeDigest('a')) + `","name":"org/model","kind":"model"}`)
		},
		"uploadArtifact": func() (string, []byte) { return "/api/v1/uploads?name=u.safetensors", cleanSafetensors() },
		"scanArtifact":   func() (string, []byte) { return ad + "/scan", nil },
		"verifyArtifact": func() (string, []byte) { return ad + "/verify", nil },
		"gateArtifact":   func() (string, []byte) { return ad + "/gate", []byte(`{"stage":"data"}`) },
		"overrideState": func() (string, []byte) {
			return ad + "/override", []byte(`{"to":"revoked","reason":"authorization test"}`)
		},
		"submitAttestation": func() (string, []byte) {
			return "/api/v1/attestations", statementJSON(d, "https://example.com/test/v1", `{"ok":true}`)
		},
		"addEdge": func() (string, []byte) {
			return "/api/v1/lineage", []byte(`{"from":"` + string(d) + `","to":"` + string(fakeDigest('b')) + `","relation":"trainedOn"}`)
		},
		"createToken": func() (string, []byte) { return "/api/v1/tokens", []byte(`{"name":"new","role":"auditor"}`) },
		"revokeToken": func() (string, []byte) { return "/api/v1/tokens/" + strconv.FormatInt(victim.ID, 10), nil },
	}
}

func auditLen(t *testing.T, st store.Store) int {
	t.Helper()
	es, err := st.AuditLog(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// TestAuthorization proves, for every route of the route table and every
// role, that the permission check admits exactly the roles holding the
// route's permission; that a refused mutating request changes nothing (the
// audit log, which every mutation appends to, does not grow); and that no
// API route answers without a token.
func TestAuthorization(t *testing.T) { testAuthorization(t, newEnv(t, nil)) }

func testAuthorization(t *testing.T, e *env) {
	samples := sampleRequests(e)
	want := map[Permission][]store.Role{
		PermRead:          {store.RoleAdmin, store.RoleSecurity, store.RoleMLEngineer, store.RoleDataEngineer, store.RoleAuditor},
		PermArtifactWrite: {store.RoleAdmin, store.RoleSecurity, store.RoleMLEngineer, store.RoleDataEngineer},
		PermEvidenceWrite: {store.RoleAdmin, store.RoleSecurity, store.RoleMLEngineer, store.RoleDataEngineer},
		PermCheck:         {store.RoleAdmin, store.RoleSecurity, store.RoleMLEngineer, store.RoleDataEngineer},
		PermGate:          {store.RoleAdmin, store.RoleSecurity, store.RoleMLEngineer, store.RoleDataEngineer},
		PermHubScan:       {store.RoleAdmin, store.RoleSecurity},
		PermOverride:      {store.RoleAdmin, store.RoleSecurity},
		PermAudit:         {store.RoleAdmin, store.RoleSecurity, store.RoleAuditor},
		PermTokens:        {store.RoleAdmin},
	}
	mutating := 0
	for _, rt := range e.srv.routes {
		sample, ok := samples[rt.ID]
		if !ok {
			t.Errorf("route %s %s (%s) has no sample request in sampleRequests", rt.Method, rt.Path, rt.ID)
			continue
		}
		if rt.Perm == PermPublic {
			t.Errorf("API route %s is public", rt.ID)
			continue
		}
		if rt.mutating() {
			mutating++
		}
		// Auditors are read-only: no mutating route may admit them.
		if rt.mutating() && allowed(store.RoleAuditor, rt.Perm) {
			t.Errorf("auditor may call mutating route %s", rt.ID)
		}
		roles := append([]store.Role{""}, store.Roles()...)
		for _, role := range roles {
			name := string(role)
			if name == "" {
				name = "no-token"
			}
			t.Run(rt.ID+"/"+name, func(t *testing.T) {
				path, body := sample()
				before := auditLen(t, e.st)
				var rd io.Reader
				if body != nil {
					rd = bytes.NewReader(body)
				}
				status, resp, _ := e.do(role, rt.Method, path, rd, "application/json")
				admit := role != "" && slicesContains(want[rt.Perm], role)
				switch {
				case role == "":
					if status != http.StatusUnauthorized || errCode(t, resp) != EUNAUTHORIZED {
						t.Fatalf("without a token: status %d %s, want 401 unauthorized", status, resp)
					}
				case !admit:
					if status != http.StatusForbidden || errCode(t, resp) != mlsec.EFORBIDDEN {
						t.Fatalf("role %s: status %d %s, want 403 forbidden", role, status, resp)
					}
				default:
					if status == http.StatusUnauthorized || status == http.StatusForbidden || status >= 500 {
						t.Fatalf("role %s: status %d %s, want the handler's answer", role, status, resp)
					}
				}
				if (role == "" || !admit) && rt.mutating() {
					if after := auditLen(t, e.st); after != before {
						t.Fatalf("refused request changed state: audit log grew from %d to %d", before, after)
					}
				}
			})
		}
	}
	if mutating < 10 {
		t.Fatalf("only %d mutating routes in the table", mutating)
	}
	for id := range samples {
		found := false
		for _, rt := range e.srv.routes {
			found = found || rt.ID == id
		}
		if !found {
			t.Errorf("sample %s names no route", id)
		}
	}
}

func slicesContains(rs []store.Role, r store.Role) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// TestGateStageRestriction: data engineers may gate only their stages.
func TestGateStageRestriction(t *testing.T) {
	e := newEnv(t, nil)
	d := fakeDigest('c')
	if _, _, err := e.st.PutArtifact(context.Background(), store.Artifact{Digest: d, Name: "ds"}, "test"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		role   store.Role
		stage  string
		status int
	}{
		{store.RoleDataEngineer, "data", http.StatusOK},
		{store.RoleDataEngineer, "knowledge", http.StatusOK},
		{store.RoleDataEngineer, "cd", http.StatusForbidden},
		{store.RoleDataEngineer, "serving", http.StatusForbidden},
		{store.RoleMLEngineer, "cd", http.StatusOK},
		{store.RoleMLEngineer, "nonsense", http.StatusBadRequest},
	} {
		status := e.json(tc.role, "POST", "/api/v1/artifacts/"+string(d)+"/gate", GateRequest{Stage: tc.stage}, nil)
		if status != tc.status {
			t.Errorf("%s gating %s: status %d, want %d", tc.role, tc.stage, status, tc.status)
		}
	}
}

// TestRevokedTokenRefused: a revoked token no longer authenticates.
func TestRevokedTokenRefused(t *testing.T) {
	e := newEnv(t, nil)
	var created TokenCreated
	if s := e.json(store.RoleAdmin, "POST", "/api/v1/tokens", TokenRequest{Name: "ci", Role: store.RoleMLEngineer, TTL: "1h"}, &created); s != http.StatusCreated {
		t.Fatalf("create token: %d", s)
	}
	use := func() int {
		req, _ := http.NewRequest("GET", e.http.URL+"/api/v1/whoami", nil)
		req.Header.Set("Authorization", "Bearer "+created.Secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var tok store.Token
		_ = json.NewDecoder(resp.Body).Decode(&tok)
		resp.Body.Close()
		if resp.StatusCode == 200 && tok.Role != store.RoleMLEngineer {
			t.Fatalf("whoami role %q", tok.Role)
		}
		return resp.StatusCode
	}
	if s := use(); s != http.StatusOK {
		t.Fatalf("new token: status %d", s)
	}
	if s, b, _ := e.do(store.RoleAdmin, "DELETE", "/api/v1/tokens/"+strconv.FormatInt(created.Token.ID, 10), nil, ""); s != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", s, b)
	}
	if s := use(); s != http.StatusUnauthorized {
		t.Fatalf("revoked token: status %d, want 401", s)
	}
}

// TestBearerSchemeCaseInsensitive: RFC 9110 auth schemes are
// case-insensitive; anything but Bearer is no token.
func TestBearerSchemeCaseInsensitive(t *testing.T) {
	e := newEnv(t, nil)
	secret := e.tokens[store.RoleAuditor]
	for h, want := range map[string]int{
		"Bearer " + secret:   200,
		"bearer " + secret:   200,
		"BEARER " + secret:   200,
		"bEaReR  " + secret:  200,
		"Basic " + secret:    401,
		"Bearer":             401,
		"Bearer" + secret:    401,
		"Token " + secret:    401,
		"Bearer mlsec_wrong": 401,
	} {
		req, _ := http.NewRequest("GET", e.http.URL+"/api/v1/whoami", nil)
		req.Header.Set("Authorization", h)
		resp, err := e.http.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Authorization %q: %d, want %d", strings.SplitN(h, " ", 2)[0], resp.StatusCode, want)
		}
	}
}
