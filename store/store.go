// Package store defines mlsec's persistent domain: artifacts addressed by
// digest with their trust state, evidence (verbatim bundles plus indexed
// facts), lineage edges, gate decisions, findings, API tokens, hub scans and
// an append-only, hash-chained audit log. The Store interface is implemented
// by store/sqlite (embedded, the default) and store/postgres (to scale); one
// conformance suite, store/storetest, runs against both.
//
// Rules the implementations enforce (not the callers):
//
//   - An artifact's trust state moves only through RecordDecision (a gate
//     decision) or Override (an audited manual change); every other path
//     is absent, and an invalid transition returns ErrInvalidTransition.
//   - Every mutation appends an audit entry in the same transaction, so an
//     acknowledged write and its audit entry are committed together.
//   - Writes that may be repeated by a retried job (PutArtifact, AddEvidence,
//     AddEdge, ReplaceFindings, RecordScan, CompleteHubScanItem) are
//     idempotent.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mlsecops/mlsec"
)

// Sentinel errors. Implementations wrap them with %w; test with errors.Is.
var (
	// ErrNotFound reports that the named artifact, evidence, token, decision
	// or hub scan does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrInvalid reports a malformed argument (bad digest, unknown role,
	// missing actor or reason, ...).
	ErrInvalid = errors.New("store: invalid argument")
	// ErrConflict reports a write that conflicts with stored state, e.g. a
	// digest re-registered with a different size.
	ErrConflict = errors.New("store: conflict")
	// ErrInvalidTransition reports a trust-state change the state machine
	// does not allow.
	ErrInvalidTransition = errors.New("store: invalid trust-state transition")
	// ErrUnauthorized reports an unknown, expired or revoked API token.
	ErrUnauthorized = errors.New("store: unauthorized")
	// ErrAuditTampered reports an audit log whose hash chain does not verify;
	// the error is an *AuditError that locates the first bad entry.
	ErrAuditTampered = errors.New("store: audit log tampered")
)

// Code maps a store error to an mlsec.Error code (mlsec.ENOTFOUND, ...), so
// the API and CLI translate store errors in one place. Unknown errors map
// to mlsec.EINTERNAL; nil maps to "".
func Code(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNotFound):
		return mlsec.ENOTFOUND
	case errors.Is(err, ErrInvalid):
		return mlsec.EINVALID
	case errors.Is(err, ErrConflict), errors.Is(err, ErrInvalidTransition):
		return mlsec.ECONFLICT
	case errors.Is(err, ErrUnauthorized):
		return mlsec.EFORBIDDEN
	}
	return mlsec.EINTERNAL
}

// Digest is a content address: "sha256:" followed by 64 lower-case hex
// digits. Files are addressed by the sha256 of their bytes; directories by
// their OpenSSF Model Signing root digest (signing.HashModel + RootDigest).
type Digest string

// ParseDigest checks that s is a well-formed sha256 digest and returns it.
func ParseDigest(s string) (Digest, error) {
	hex, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(hex) != 64 {
		return "", fmt.Errorf("%w: digest must be sha256:<64 hex digits>: %s", ErrInvalid, quoteShort(s))
	}
	for _, c := range hex {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", fmt.Errorf("%w: digest must be lower-case hex: %s", ErrInvalid, quoteShort(s))
		}
	}
	return Digest(s), nil
}

func quoteShort(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// TrustState is an artifact's position in the quarantine lifecycle.
type TrustState string

// The trust states. New artifacts start quarantined.
const (
	StateQuarantined TrustState = "quarantined"
	StateVerified    TrustState = "verified"
	StateReleased    TrustState = "released"
	StateRevoked     TrustState = "revoked"
)

// Valid reports whether s is one of the four trust states.
func (s TrustState) Valid() bool {
	switch s {
	case StateQuarantined, StateVerified, StateReleased, StateRevoked:
		return true
	}
	return false
}

// Result is a gate's verdict.
type Result string

// Gate verdicts.
const (
	ResultPass Result = "pass"
	ResultWarn Result = "warn"
	ResultFail Result = "fail"
)

// Valid reports whether r is pass, warn or fail.
func (r Result) Valid() bool { return r == ResultPass || r == ResultWarn || r == ResultFail }

// CheckDecisionTransition reports whether a gate decision with verdict r may
// move an artifact from state from to state to:
//
//	pass or warn: quarantined → verified, verified → released
//	fail:         quarantined | verified | released → revoked
//
// Anything else (including from == to and leaving revoked) wraps
// ErrInvalidTransition. Implementations call it inside the transaction that
// records the decision.
func CheckDecisionTransition(r Result, from, to TrustState) error {
	ok := false
	switch r {
	case ResultPass, ResultWarn:
		ok = from == StateQuarantined && to == StateVerified || from == StateVerified && to == StateReleased
	case ResultFail:
		ok = to == StateRevoked && from != StateRevoked && from.Valid()
	}
	if !ok {
		return transitionError(string(r)+" decision", from, to)
	}
	return nil
}

// CheckOverrideTransition reports whether an audited override may move an
// artifact from state from to state to: any change between two valid,
// different states is allowed (overrides exist to correct mistakes, e.g.
// reinstating a wrongly revoked model), but never a no-op.
func CheckOverrideTransition(from, to TrustState) error {
	if !from.Valid() || !to.Valid() || from == to {
		return transitionError("override", from, to)
	}
	return nil
}

func transitionError(via string, from, to TrustState) error {
	return &TransitionError{Via: via, From: from, To: to}
}

// TransitionError describes a refused trust-state change. It matches
// ErrInvalidTransition with errors.Is.
type TransitionError struct {
	Via      string
	From, To TrustState
}

func (e *TransitionError) Error() string {
	return "store: invalid trust-state transition " + string(e.From) + " → " + string(e.To) + " by " + e.Via
}

// Is makes errors.Is(err, ErrInvalidTransition) true.
func (e *TransitionError) Is(target error) bool { return target == ErrInvalidTransition }

// Artifact is one content-addressed ML artifact: a model file, a model
// directory (HF snapshot), a dataset, a package.
type Artifact struct {
	Digest Digest `json:"digest"`
	// Name and Version are how people refer to the artifact, e.g.
	// "org/bert-base" and "v1.2" or a git revision. Optional.
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
	// Kind is the artifact's role: "model", "dataset", "code", "package",
	// "prompt", "corpus" or any other short word. Optional.
	Kind string `json:"kind,omitempty"`
	// Directory is true when Digest is an OMS root digest of a directory.
	Directory bool `json:"directory,omitempty"`
	// Size in bytes (the sum of file sizes for a directory), or 0 if unknown.
	Size int64 `json:"size"`
	// Source is where the artifact came from: a URI ("hf://org/m@rev",
	// "file:///mirror/x", "upload").
	Source string `json:"source,omitempty"`
	// Blob is true when the artifact's bytes are held in the blob store.
	Blob bool `json:"blob,omitempty"`
	// State is set by the store: quarantined on creation, then moved only by
	// RecordDecision and Override.
	State     TrustState `json:"state"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// ArtifactQuery filters ListArtifacts. Zero fields match everything.
type ArtifactQuery struct {
	Name  string
	Kind  string
	State TrustState
	// Source matches the artifact's registered source exactly (admission
	// resolves a deployment's model reference with it).
	Source string
	// After is a paging cursor: only artifacts with an ID-order position
	// after this digest's. Use the last digest of the previous page.
	After Digest
	// Limit caps the page (default 100, maximum 1000).
	Limit int
}

// Evidence is one stored attestation: the bytes exactly as submitted (a
// Sigstore bundle, a DSSE envelope or a bare in-toto statement) plus the
// facts indexed from it.
type Evidence struct {
	ID int64 `json:"id"`
	// Digest is the sha256 of Bundle; evidence is deduplicated on it. Set by
	// the store.
	Digest Digest `json:"digest"`
	// MediaType of Bundle, e.g. "application/vnd.dev.sigstore.bundle.v0.3+json".
	MediaType string `json:"media_type"`
	// Bundle is stored and returned verbatim.
	Bundle []byte `json:"-"`
	// Facts are the index entries; the caller extracts them (e.g. with
	// attest.Verify) — the store does not parse bundles.
	Facts     []Fact    `json:"facts"`
	CreatedAt time.Time `json:"created_at"`
}

// Fact is one indexed statement about one subject: "signer S attested a
// predicate of type P about digest D at time T".
type Fact struct {
	EvidenceID    int64  `json:"evidence_id"`
	PredicateType string `json:"predicate_type"`
	Subject       Digest `json:"subject"`
	// Signer is the verified signer identity (certificate SAN, key hint), or
	// empty for unsigned statements.
	Signer string    `json:"signer,omitempty"`
	Time   time.Time `json:"time"`
}

// FactQuery filters Facts. Zero fields match everything; Subject is
// usually set.
type FactQuery struct {
	Subject       Digest
	PredicateType string
	Signer        string
	Limit         int // default 100, maximum 1000
}

// Edge is one lineage relation: From was derived from / built with To.
// Following edges from an artifact (Upstream) finds its inputs; following
// them backwards (Downstream) finds the impact of a compromised input.
type Edge struct {
	From Digest `json:"from"`
	To   Digest `json:"to"`
	// Relation is e.g. "derivedFrom", "trainedOn", "fineTunedFrom",
	// "contains", "builtBy".
	Relation string `json:"relation"`
	// EvidenceID is the evidence that asserted the edge, or 0.
	EvidenceID int64     `json:"evidence_id,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// Direction selects which way Lineage walks.
type Direction int

// Lineage directions.
const (
	// Upstream follows From → To: what the artifact was made from.
	Upstream Direction = iota
	// Downstream follows To → From: what was made from the artifact.
	Downstream
)

// Decision is one gate verdict about one artifact at one lifecycle stage.
type Decision struct {
	ID       int64  `json:"id"`
	Artifact Digest `json:"artifact"`
	// Stage is a lifecycle stage name ("ci", "cd", "serving", ...).
	Stage string `json:"stage"`
	// Policy names the gate or policy that decided, e.g. "cd/release".
	Policy  string   `json:"policy,omitempty"`
	Result  Result   `json:"result"`
	Reasons []string `json:"reasons,omitempty"`
	// EvidenceID is the stored VSA (or other evidence) recording the
	// decision, or 0.
	EvidenceID int64 `json:"evidence_id,omitempty"`
	// To is the trust state the decision moves the artifact to, or empty
	// to record the verdict without a state change. See
	// CheckDecisionTransition.
	To TrustState `json:"to,omitempty"`
	// From is set by the store: the state before the decision.
	From      TrustState `json:"from,omitempty"`
	Actor     string     `json:"actor"`
	CreatedAt time.Time  `json:"created_at"`
}

// Override is an audited manual trust-state change.
type Override struct {
	Artifact Digest     `json:"artifact"`
	To       TrustState `json:"to"`
	// Actor and Reason are required.
	Actor  string `json:"actor"`
	Reason string `json:"reason"`
}

// StateChange is one entry of an artifact's trust-state history.
type StateChange struct {
	Artifact Digest     `json:"artifact"`
	From     TrustState `json:"from"` // empty for the creation entry
	To       TrustState `json:"to"`
	// Via is "create", "decision" or "override".
	Via string `json:"via"`
	// DecisionID is set when Via is "decision".
	DecisionID int64     `json:"decision_id,omitempty"`
	Actor      string    `json:"actor"`
	Reason     string    `json:"reason,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// StoredFinding is a finding about an artifact, as stored.
type StoredFinding struct {
	ID       int64  `json:"id"`
	Artifact Digest `json:"artifact"`
	// Source names what produced it, e.g. "scan" or "scan:hub/42"; findings
	// are replaced per (artifact, source).
	Source    string        `json:"source"`
	Finding   mlsec.Finding `json:"finding"`
	CreatedAt time.Time     `json:"created_at"`
}

// FindingQuery filters Findings. Zero fields match everything.
type FindingQuery struct {
	Artifact    Digest
	RuleID      string
	MinSeverity mlsec.Severity
	Limit       int // default 100, maximum 1000
}

// Role is an API token's role from the MLSecOps RACI.
type Role string

// Roles. The server decides what each may do; the store only stores them.
const (
	RoleAdmin        Role = "admin"
	RoleSecurity     Role = "security"
	RoleMLEngineer   Role = "ml-engineer"
	RoleDataEngineer Role = "data-engineer"
	RoleAuditor      Role = "auditor" // read-only
)

// Roles lists every role.
func Roles() []Role {
	return []Role{RoleAdmin, RoleSecurity, RoleMLEngineer, RoleDataEngineer, RoleAuditor}
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, v := range Roles() {
		if r == v {
			return true
		}
	}
	return false
}

// Token is an API token's stored record. The secret itself is never
// stored: only its sha256.
type Token struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Role      Role       `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// NewToken describes a token to create.
type NewToken struct {
	Name string
	Role Role
	// TTL is the token's lifetime; 0 means it does not expire.
	TTL time.Duration
	// Actor is who creates it (audited).
	Actor string
}

// HubScanStatus is a hub scan's state.
type HubScanStatus string

// Hub scan states.
const (
	HubScanRunning HubScanStatus = "running"
	HubScanDone    HubScanStatus = "done"
)

// HubScan is one scan of a whole model-hub mirror: one item per model
// (an HF snapshot directory or a model file).
type HubScan struct {
	ID     int64         `json:"id"`
	Root   string        `json:"root"`
	Status HubScanStatus `json:"status"`
	// Total is the number of items; Done and Failed count finished ones
	// (Done includes Failed). Findings counts findings over all items.
	Total     int       `json:"total"`
	Done      int       `json:"done"`
	Failed    int       `json:"failed"`
	Findings  int       `json:"findings"`
	Actor     string    `json:"actor"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// HubScanItem is one model of a hub scan.
type HubScanItem struct {
	ScanID int64 `json:"scan_id"`
	// Path is relative to the scan's Root.
	Path string `json:"path"`
	// Status is "pending", "done" or "failed".
	Status   string `json:"status"`
	Artifact Digest `json:"artifact,omitempty"`
	Findings int    `json:"findings"`
	Error    string `json:"error,omitempty"`
}

// ItemResult is what a worker reports for one hub scan item.
type ItemResult struct {
	Artifact Digest
	Findings int
	// Error is non-empty when the item could not be scanned.
	Error string
}

// ScanRecord is the result of scanning one artifact, stored at once by
// RecordScan.
type ScanRecord struct {
	// Artifact is registered as by PutArtifact.
	Artifact Artifact
	// Source and Findings replace the artifact's findings of that source,
	// as by ReplaceFindings.
	Source   string
	Findings []mlsec.Finding
	// HubScanID and Item, when set, complete that hub scan item with the
	// artifact's digest and finding count, as by CompleteHubScanItem.
	HubScanID int64
	Item      string
	Actor     string
}

// Stats summarises the store for dashboards.
type Stats struct {
	Artifacts int                    `json:"artifacts"`
	ByState   map[TrustState]int     `json:"by_state"`
	Findings  map[mlsec.Severity]int `json:"findings_by_severity"`
	Evidence  int                    `json:"evidence"`
	Decisions int                    `json:"decisions"`
}

// Store is mlsec's persistent state. All methods are safe for concurrent
// use. Methods taking an actor record it in the audit log; the server passes
// the token name, the CLI "cli:<user>", workers "worker".
type Store interface {
	// PutArtifact registers a by digest (idempotent). A new artifact starts
	// quarantined and created is true. For an existing digest the stored
	// artifact is returned unchanged (created false), except that empty
	// Name/Version/Kind/Source are filled and Blob is set if a.Blob; a
	// different non-zero Size is ErrConflict. a.State is ignored.
	PutArtifact(ctx context.Context, a Artifact, actor string) (stored Artifact, created bool, err error)
	// Artifact returns the artifact with digest d, or ErrNotFound.
	Artifact(ctx context.Context, d Digest) (Artifact, error)
	// ArtifactsByName returns the artifacts with this name (and version,
	// unless empty), newest first.
	ArtifactsByName(ctx context.Context, name, version string) ([]Artifact, error)
	// ListArtifacts pages through artifacts ordered by digest.
	ListArtifacts(ctx context.Context, q ArtifactQuery) ([]Artifact, error)

	// RecordDecision stores a gate decision and, when d.To is set, moves the
	// artifact's state (CheckDecisionTransition), atomically. The artifact
	// must exist. Returns the stored decision with ID, From and CreatedAt.
	RecordDecision(ctx context.Context, d Decision) (Decision, error)
	// Override moves an artifact's state manually (CheckOverrideTransition);
	// Actor and Reason are required. Returns the new artifact.
	Override(ctx context.Context, o Override) (Artifact, error)
	// Decisions returns an artifact's decisions, oldest first.
	Decisions(ctx context.Context, d Digest) ([]Decision, error)
	// StateHistory returns an artifact's trust-state changes, oldest first,
	// starting with its creation.
	StateHistory(ctx context.Context, d Digest) ([]StateChange, error)

	// AddEvidence stores e.Bundle verbatim with e.Facts, deduplicated on the
	// bundle's sha256 (a repeat returns the stored evidence, created false).
	AddEvidence(ctx context.Context, e Evidence, actor string) (stored Evidence, created bool, err error)
	// Evidence returns stored evidence with its bundle and facts.
	Evidence(ctx context.Context, id int64) (Evidence, error)
	// Facts queries the fact index, newest first.
	Facts(ctx context.Context, q FactQuery) ([]Fact, error)

	// AddEdge records a lineage edge (idempotent on From, To, Relation).
	AddEdge(ctx context.Context, e Edge, actor string) error
	// Lineage walks edges from d in direction dir up to depth hops
	// (1..16; 0 means 16) and returns the edges found, breadth first.
	Lineage(ctx context.Context, d Digest, dir Direction, depth int) ([]Edge, error)

	// ReplaceFindings replaces the findings of (artifact, source) with fs
	// (idempotent: a retried scan job leaves one copy).
	ReplaceFindings(ctx context.Context, artifact Digest, source string, fs []mlsec.Finding, actor string) error
	// Findings queries findings, most severe first.
	Findings(ctx context.Context, q FindingQuery) ([]StoredFinding, error)
	// RecordScan stores a scan result — artifact, findings and (optionally)
	// hub scan item — in one transaction, idempotently. It is what scan
	// jobs call; it returns the stored artifact.
	RecordScan(ctx context.Context, r ScanRecord) (Artifact, error)
	// FindingCounts returns an artifact's finding count per severity.
	FindingCounts(ctx context.Context, artifact Digest) (map[mlsec.Severity]int, error)

	// CreateToken makes a new API token and returns its secret (shown once;
	// only its hash is stored) and record.
	CreateToken(ctx context.Context, t NewToken) (secret string, tok Token, err error)
	// Authenticate returns the token whose secret this is, or ErrUnauthorized
	// if unknown, expired or revoked.
	Authenticate(ctx context.Context, secret string) (Token, error)
	// RevokeToken revokes a token (idempotent).
	RevokeToken(ctx context.Context, id int64, actor string) error
	// Tokens lists tokens, without secrets.
	Tokens(ctx context.Context) ([]Token, error)

	// CreateSession starts a dashboard session of token tokenID lasting
	// ttl and returns its id (a secret shown once; only its hash is
	// stored). Session ids are not API tokens.
	CreateSession(ctx context.Context, tokenID int64, ttl time.Duration) (string, error)
	// Session returns the token of a live session: not expired, not ended,
	// its token neither revoked nor expired; else ErrUnauthorized.
	Session(ctx context.Context, id string) (Token, error)
	// EndSession ends a session (idempotent). Revoking a token ends its
	// sessions too.
	EndSession(ctx context.Context, id string) error

	// CreateHubScan records a hub scan of root with one pending item per
	// path (relative to root).
	CreateHubScan(ctx context.Context, root string, paths []string, actor string) (HubScan, error)
	// CompleteHubScanItem records an item's result. Idempotent: completing
	// an item again overwrites its result without double counting. Progress
	// (HubScan's counters) is counted from the items; the scan is done when
	// no item is pending.
	CompleteHubScanItem(ctx context.Context, scanID int64, path string, r ItemResult) error
	// HubScan returns a hub scan with its progress counters.
	HubScan(ctx context.Context, id int64) (HubScan, error)
	// HubScans lists hub scans, newest first.
	HubScans(ctx context.Context, limit int) ([]HubScan, error)
	// HubScanItems lists a scan's items in path order, optionally only those
	// with the given status; limit as elsewhere.
	HubScanItems(ctx context.Context, scanID int64, status string, limit int) ([]HubScanItem, error)

	// Audit appends an entry for an event the store does not see itself
	// (e.g. a login, an upload rejected). Seq, Time, PrevHash and Hash are
	// set by the store.
	Audit(ctx context.Context, e AuditEntry) (AuditEntry, error)
	// AuditLog returns entries with Seq > after, in order, at most limit
	// (default 100, maximum 10000).
	AuditLog(ctx context.Context, after int64, limit int) ([]AuditEntry, error)
	// VerifyAudit re-computes the whole hash chain and returns the number of
	// entries checked, or an *AuditError (matching ErrAuditTampered) that
	// names the first bad entry.
	VerifyAudit(ctx context.Context) (int64, error)

	// Stats summarises the store.
	Stats(ctx context.Context) (Stats, error)
	// Ping checks the database connection.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}
