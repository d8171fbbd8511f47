package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/store"
)

// Permission is what a route requires of the caller's role.
type Permission string

// Permissions. Every API route names exactly one.
const (
	// PermPublic routes need no token (health, OpenAPI, metrics).
	PermPublic Permission = "public"
	// PermRead: any valid token, including the read-only auditor.
	PermRead Permission = "read"
	// PermArtifactWrite: register or upload artifacts.
	PermArtifactWrite Permission = "artifact.write"
	// PermEvidenceWrite: submit attestations and lineage edges.
	PermEvidenceWrite Permission = "evidence.write"
	// PermCheck: request scans and signature verification.
	PermCheck Permission = "check.request"
	// PermGate: request a gate decision (data engineers only for the
	// stages they own, see gateStages).
	PermGate Permission = "gate.request"
	// PermHubScan: start a hub scan of a directory on the server.
	PermHubScan Permission = "hubscan.start"
	// PermOverride: change a trust state manually (audited break-glass).
	PermOverride Permission = "state.override"
	// PermAudit: read and verify the audit log.
	PermAudit Permission = "audit.read"
	// PermTokens: create, list and revoke API tokens.
	PermTokens Permission = "token.admin"
)

// permissions is the RACI of the API: who may do what. Admins may do
// everything; security engineers everything but token administration;
// ML and data engineers bring artifacts and evidence and ask for checks and
// gates; auditors read, including the audit log, and change nothing.
func permissions(r store.Role) []Permission {
	switch r {
	case store.RoleAdmin:
		return []Permission{PermRead, PermArtifactWrite, PermEvidenceWrite, PermCheck, PermGate, PermHubScan, PermOverride, PermAudit, PermTokens}
	case store.RoleSecurity:
		return []Permission{PermRead, PermArtifactWrite, PermEvidenceWrite, PermCheck, PermGate, PermHubScan, PermOverride, PermAudit}
	case store.RoleMLEngineer, store.RoleDataEngineer:
		return []Permission{PermRead, PermArtifactWrite, PermEvidenceWrite, PermCheck, PermGate}
	case store.RoleAuditor:
		return []Permission{PermRead, PermAudit}
	}
	return nil
}

// allowed reports whether role r holds permission p.
func allowed(r store.Role, p Permission) bool {
	return p == PermPublic || slices.Contains(permissions(r), p)
}

// gateStages restricts, per role, the lifecycle stages whose gates it may
// request; a role absent from the map may request any stage's gate. Data
// engineers own the data and knowledge-ingestion hand-offs; releasing a
// model (cd) or admitting it to serving is not theirs.
func gateStages(r store.Role) []string {
	if r == store.RoleDataEngineer {
		return []string{"planning", "data", "knowledge"}
	}
	return nil
}

// mayGate reports whether role r may request the gate of stage.
func mayGate(r store.Role, stage string) bool {
	st := gateStages(r)
	return st == nil || slices.Contains(st, stage)
}

type tokenKey struct{}

// withToken returns ctx carrying the authenticated token.
func withToken(ctx context.Context, t store.Token) context.Context {
	return context.WithValue(ctx, tokenKey{}, t)
}

// tokenFrom returns the authenticated token of a request, if any.
func tokenFrom(ctx context.Context) (store.Token, bool) {
	t, ok := ctx.Value(tokenKey{}).(store.Token)
	return t, ok
}

// actor names the caller in the audit log.
func actor(ctx context.Context) string {
	if t, ok := tokenFrom(ctx); ok {
		return store.TokenActor(t)
	}
	return "anonymous"
}

// bearer returns the token secret of an Authorization: Bearer header. The
// scheme name is case-insensitive (RFC 9110 §11.1).
func bearer(r *http.Request) string {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(cred)
}

// authenticate resolves the secret to a token; an empty or unknown secret
// is EUNAUTHORIZED.
func (s *Server) authenticate(ctx context.Context, secret string) (store.Token, error) {
	if secret == "" {
		return store.Token{}, errorf(EUNAUTHORIZED, "missing API token: send Authorization: Bearer <token>")
	}
	t, err := s.store.Authenticate(ctx, secret)
	if err != nil {
		if store.Code(err) == mlsec.EFORBIDDEN || store.Code(err) == mlsec.ENOTFOUND {
			return store.Token{}, errorf(EUNAUTHORIZED, "invalid, expired or revoked API token")
		}
		return store.Token{}, fromStore(err)
	}
	return t, nil
}

// rateKey identifies the caller for rate limiting before authentication:
// a hash of the presented secret, or the remote address.
func rateKey(r *http.Request, secret string) string {
	if secret != "" {
		h := sha256.Sum256([]byte(secret))
		return "t:" + hex.EncodeToString(h[:8])
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "a:" + host
}
