package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// TrustState is where an artifact stands in the organisation's trust.
type TrustState string

// Trust states. An artifact nobody has gated yet is quarantined.
const (
	Quarantined TrustState = "quarantined"
	Verified    TrustState = "verified"
	Released    TrustState = "released"
	Revoked     TrustState = "revoked"
)

// Sentinel errors.
var (
	// ErrTransition reports a trust-state change the lifecycle forbids.
	ErrTransition = errors.New("lifecycle: forbidden trust transition")
	// ErrPipeline reports an invalid pipeline file.
	ErrPipeline = errors.New("lifecycle: invalid pipeline")
)

// ParseTrustState parses a state name.
func ParseTrustState(s string) (TrustState, error) {
	switch t := TrustState(s); t {
	case Quarantined, Verified, Released, Revoked:
		return t, nil
	}
	return "", fmt.Errorf("lifecycle: unknown trust state %q (want quarantined, verified, released or revoked)", s)
}

// Rank orders the states: quarantined 0, verified 1, released 2, revoked 3.
func (t TrustState) Rank() int {
	switch t {
	case Verified:
		return 1
	case Released:
		return 2
	case Revoked:
		return 3
	}
	return 0
}

// Outcome is the result of a gate as far as trust is concerned.
type Outcome string

// Gate outcomes.
const (
	OutcomePass Outcome = "pass"
	OutcomeWarn Outcome = "warn"
	OutcomeFail Outcome = "fail"
)

// Next returns the trust state after a gate of stage with outcome on an
// artifact in state from. overridden means a failed gate was overridden by
// an audited break-glass decision, which moves the artifact on as a pass
// would. The rules:
//
//   - A passing (or warning, or overridden) gate of the planning, data,
//     experimentation, pipeline, ci, training or knowledge stage verifies a
//     quarantined artifact and leaves a verified or released one as is.
//   - A passing cd gate releases a verified artifact; a cd gate never
//     releases a quarantined artifact (it stays quarantined).
//   - A serving gate never changes the state: a failure refuses the load
//     (and is recorded) but does not revoke, because it is often local to
//     the loader (a missing pipeline file, the wrong trusted keys) and
//     revocation is final.
//   - A passing monitoring gate leaves the state unchanged; a failing one
//     revokes a released artifact (continuous monitoring re-verifies
//     deployed artifacts and revokes on failure). Other failing gates
//     leave the state unchanged.
//   - Revoked is final: no gate changes it.
//
// An unknown outcome counts as a failure.
func Next(from TrustState, stage string, outcome Outcome, overridden bool) TrustState {
	if from == "" {
		from = Quarantined
	}
	if from == Revoked {
		return Revoked
	}
	// Fail closed: an outcome other than pass or warn counts as a failure.
	pass := outcome == OutcomePass || outcome == OutcomeWarn || overridden
	switch stage {
	case StageServing:
		return from
	case StageMonitoring:
		if !pass && from == Released {
			return Revoked
		}
		return from
	case StageCD:
		if pass && from == Verified {
			return Released
		}
		return from
	default:
		if pass && from == Quarantined {
			return Verified
		}
		return from
	}
}

// CheckTransition reports whether a store may record the change from → to:
// forward along quarantined → verified → released, or to revoked from any
// state; nothing leaves revoked.
func CheckTransition(from, to TrustState) error {
	if from == "" {
		from = Quarantined
	}
	switch {
	case from == to:
		return nil
	case from == Revoked:
		return fmt.Errorf("%w: %s is final", ErrTransition, from)
	case to == Revoked:
		return nil
	case to.Rank() == from.Rank()+1:
		return nil
	}
	return fmt.Errorf("%w: %s → %s", ErrTransition, from, to)
}

// Record is one audited trust-state change of an artifact.
type Record struct {
	// Subject is the artifact's digest ("sha256:…").
	Subject string `json:"subject"`
	// Artifact is a display name or path.
	Artifact string     `json:"artifact,omitempty"`
	From     TrustState `json:"from"`
	State    TrustState `json:"state"`
	// Stage and Decision name the gate that made the change.
	Stage    string `json:"stage"`
	Decision string `json:"decision"`
	// Actor is the identity that signed the decision.
	Actor string `json:"actor,omitempty"`
	// Overridden and Reason record a break-glass override.
	Overridden bool      `json:"overridden,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Time       time.Time `json:"time"`
}

// Store keeps the trust state of artifacts. The CLI derives it from the
// signed decisions (VSAs) in each artifact's claims file; the server keeps
// it in its database. Implementations must refuse transitions that
// CheckTransition refuses and keep every record (the audit log).
type Store interface {
	// State returns the artifact's current state; ok is false when the
	// artifact has never been gated (callers treat it as quarantined).
	State(ctx context.Context, subject string) (r Record, ok bool, err error)
	// Record appends a state change.
	Record(ctx context.Context, r Record) error
	// History returns the artifact's records, oldest first.
	History(ctx context.Context, subject string) ([]Record, error)
}

// MemStore is an in-memory Store, for tests and single runs.
type MemStore struct {
	mu  sync.Mutex
	log map[string][]Record
}

var _ Store = (*MemStore)(nil)

// State implements Store.
func (m *MemStore) State(_ context.Context, subject string) (Record, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rs := m.log[subject]
	if len(rs) == 0 {
		return Record{Subject: subject, State: Quarantined}, false, nil
	}
	return rs[len(rs)-1], true, nil
}

// Record implements Store.
func (m *MemStore) Record(_ context.Context, r Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := Quarantined
	if rs := m.log[r.Subject]; len(rs) > 0 {
		cur = rs[len(rs)-1].State
	}
	if err := CheckTransition(cur, r.State); err != nil {
		return err
	}
	r.From = cur
	if m.log == nil {
		m.log = map[string][]Record{}
	}
	m.log[r.Subject] = append(m.log[r.Subject], r)
	return nil
}

// History implements Store.
func (m *MemStore) History(_ context.Context, subject string) ([]Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Record(nil), m.log[subject]...), nil
}
