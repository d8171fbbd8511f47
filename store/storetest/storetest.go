// Package storetest is the conformance suite every store.Store
// implementation must pass. store/sqlite and store/postgres run it from
// their tests:
//
//	storetest.Run(t, storetest.Backend{Open: ..., RawExec: ...})
package storetest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/store"
)

// Backend is what the suite needs from an implementation.
type Backend struct {
	// Open returns a fresh, empty, migrated store; the suite closes it.
	Open func(t *testing.T) store.Store
	// DB returns s's database handle, or nil. The suite uses it to look at
	// rows and to tamper with the audit log the way an attacker with
	// database access could.
	DB func(s store.Store) *sql.DB
	// Unprotect is the SQL that switches off the audit log's append-only
	// triggers (what such an attacker would run first).
	Unprotect string
}

func rawExec(b Backend, s store.Store, query string) error {
	_, err := b.DB(s).Exec(query)
	return err
}

// Clocked is implemented by stores whose time source tests may replace.
type Clocked interface{ SetClock(now func() time.Time) }

// Run runs the whole suite.
func Run(t *testing.T, b Backend) {
	t.Run("Artifacts", func(t *testing.T) { testArtifacts(t, b) })
	t.Run("StateMachine", func(t *testing.T) { testStateMachine(t, b) })
	t.Run("Override", func(t *testing.T) { testOverride(t, b) })
	t.Run("Evidence", func(t *testing.T) { testEvidence(t, b) })
	t.Run("Lineage", func(t *testing.T) { testLineage(t, b) })
	t.Run("Findings", func(t *testing.T) { testFindings(t, b) })
	t.Run("RecordScan", func(t *testing.T) { testRecordScan(t, b) })
	t.Run("Tokens", func(t *testing.T) { testTokens(t, b) })
	t.Run("TokenNames", func(t *testing.T) { testTokenNames(t, b) })
	t.Run("ControlCharacters", func(t *testing.T) { testControlCharacters(t, b) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, b) })
	t.Run("HubScan", func(t *testing.T) { testHubScan(t, b) })
	t.Run("AuditChain", func(t *testing.T) { testAuditChain(t, b) })
	t.Run("AuditTamper", func(t *testing.T) { testAuditTamper(t, b) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, b) })
	t.Run("Stats", func(t *testing.T) { testStats(t, b) })
}

func open(t *testing.T, b Backend) store.Store {
	t.Helper()
	s := b.Open(t)
	t.Cleanup(func() { s.Close() })
	return s
}

// D returns a deterministic digest for a label (exported for other tests).
func D(label string) store.Digest {
	sum := sha256.Sum256([]byte(label))
	return store.Digest("sha256:" + hex.EncodeToString(sum[:]))
}

// ok turns (value, error) into a function that fails t on the error:
// ok(s.Artifact(ctx, d))(t).
func ok[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

var ignoreTimes = cmpopts.IgnoreFields(store.Artifact{}, "CreatedAt", "UpdatedAt")

func testArtifacts(t *testing.T, b Backend) {
	ctx := context.Background()
	s := open(t, b)
	a := store.Artifact{Digest: D("a"), Name: "org/bert", Version: "v1", Kind: "model", Size: 42, Source: "hf://org/bert@abc"}
	got, created, err := s.PutArtifact(ctx, a, "alice")
	if err != nil || !created {
		t.Fatalf("PutArtifact = %v, %v", created, err)
	}
	want := a
	want.State = store.StateQuarantined
	if d := cmp.Diff(want, got, ignoreTimes); d != "" {
		t.Errorf("PutArtifact (-want +got):\n%s", d)
	}
	if got.CreatedAt.IsZero() || got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want a UTC time", got.CreatedAt)
	}
	// Idempotent: same digest again changes nothing.
	again, created, err := s.PutArtifact(ctx, store.Artifact{Digest: a.Digest, Name: "other"}, "bob")
	if err != nil || created {
		t.Fatalf("second PutArtifact = %v, %v", created, err)
	}
	if d := cmp.Diff(got, again); d != "" {
		t.Errorf("second PutArtifact changed the artifact (-first +second):\n%s", d)
	}
	// Empty fields are filled, set ones kept.
	bare := ok(firstOf(s.PutArtifact(ctx, store.Artifact{Digest: D("bare")}, "alice")))(t)
	filled := ok(firstOf(s.PutArtifact(ctx, store.Artifact{Digest: D("bare"), Name: "n", Size: 7, Blob: true}, "alice")))(t)
	if filled.Name != "n" || filled.Size != 7 || !filled.Blob || bare.Name != "" {
		t.Errorf("fill: got %+v (before %+v)", filled, bare)
	}
	// A different size is a conflict.
	_, _, err = s.PutArtifact(ctx, store.Artifact{Digest: a.Digest, Size: 43}, "alice")
	wantErr(t, err, store.ErrConflict)
	// State in the input is ignored.
	x := ok(firstOf(s.PutArtifact(ctx, store.Artifact{Digest: D("x"), State: store.StateReleased}, "alice")))(t)
	if x.State != store.StateQuarantined {
		t.Errorf("new artifact state = %s, want quarantined", x.State)
	}

	for _, bad := range []store.Digest{"", "sha256:abc", "md5:" + D("a")[7:], store.Digest(strings.ToUpper(string(D("a"))))} {
		_, _, err := s.PutArtifact(ctx, store.Artifact{Digest: bad}, "alice")
		wantErr(t, err, store.ErrInvalid)
	}
	_, _, err = s.PutArtifact(ctx, store.Artifact{Digest: D("y")}, "")
	wantErr(t, err, store.ErrInvalid)
	_, err = s.Artifact(ctx, D("missing"))
	wantErr(t, err, store.ErrNotFound)

	got2 := ok(s.Artifact(ctx, a.Digest))(t)
	if d := cmp.Diff(got, got2); d != "" {
		t.Errorf("Artifact (-put +get):\n%s", d)
	}
	byName := ok(s.ArtifactsByName(ctx, "org/bert", "v1"))(t)
	if len(byName) != 1 || byName[0].Digest != a.Digest {
		t.Errorf("ArtifactsByName = %v", byName)
	}
	if n := ok(s.ArtifactsByName(ctx, "org/bert", "v2"))(t); len(n) != 0 {
		t.Errorf("ArtifactsByName(v2) = %v, want none", n)
	}

	// Paging visits every artifact once, in digest order.
	for i := range 25 {
		ok(firstOf(s.PutArtifact(ctx, store.Artifact{Digest: D(fmt.Sprint("page", i)), Kind: "dataset"}, "alice")))(t)
	}
	var seen []store.Digest
	var after store.Digest
	for {
		page := ok(s.ListArtifacts(ctx, store.ArtifactQuery{Kind: "dataset", After: after, Limit: 10}))(t)
		if len(page) == 0 {
			break
		}
		for _, p := range page {
			seen = append(seen, p.Digest)
		}
		after = page[len(page)-1].Digest
	}
	if len(seen) != 25 {
		t.Fatalf("paged %d datasets, want 25", len(seen))
	}
	for i := 1; i < len(seen); i++ {
		if seen[i-1] >= seen[i] {
			t.Fatalf("page order broken at %d: %s >= %s", i, seen[i-1], seen[i])
		}
	}
	q := ok(s.ListArtifacts(ctx, store.ArtifactQuery{State: store.StateQuarantined, Limit: 1000}))(t)
	if len(q) != 28 {
		t.Errorf("quarantined artifacts = %d, want 28", len(q))
	}
	_, err = s.ListArtifacts(ctx, store.ArtifactQuery{State: "bogus"})
	wantErr(t, err, store.ErrInvalid)

	// Source matches exactly: the admission webhook resolves a model
	// reference with it.
	ref := "oci://registry.example/team/m@sha256:" + strings.Repeat("ab", 32)
	ok(firstOf(s.PutArtifact(ctx, store.Artifact{Digest: D("by-source"), Source: ref}, "alice")))(t)
	ok(firstOf(s.PutArtifact(ctx, store.Artifact{Digest: D("by-other-source"), Source: ref + "x"}, "alice")))(t)
	bySrc := ok(s.ListArtifacts(ctx, store.ArtifactQuery{Source: ref}))(t)
	if len(bySrc) != 1 || bySrc[0].Digest != D("by-source") {
		t.Errorf("artifacts with source %s = %+v, want only %s", ref, bySrc, D("by-source"))
	}
	if none := ok(s.ListArtifacts(ctx, store.ArtifactQuery{Source: "oci://registry.example/team/m"}))(t); len(none) != 0 {
		t.Errorf("a prefix of a source matched %+v", none)
	}
}

func firstOf[A, B any](a A, _ B, err error) (A, error) { return a, err }

func testStateMachine(t *testing.T, b Backend) {
	ctx := context.Background()
	s := open(t, b)
	states := []store.TrustState{store.StateQuarantined, store.StateVerified, store.StateReleased, store.StateRevoked}
	allowed := map[[3]string]bool{
		{"pass", "quarantined", "verified"}: true,
		{"pass", "verified", "released"}:    true,
		{"warn", "quarantined", "verified"}: true,
		{"warn", "verified", "released"}:    true,
		{"fail", "quarantined", "revoked"}:  true,
		{"fail", "verified", "revoked"}:     true,
		{"fail", "released", "revoked"}:     true,
	}
	n := 0
	for _, r := range []store.Result{store.ResultPass, store.ResultWarn, store.ResultFail} {
		for _, from := range states {
			for _, to := range states {
				n++
				name := fmt.Sprintf("%s/%s-%s", r, from, to)
				d := D(name)
				ok(firstOf(s.PutArtifact(ctx, store.Artifact{Digest: d}, "setup")))(t)
				if from != store.StateQuarantined {
					ok(s.Override(ctx, store.Override{Artifact: d, To: from, Actor: "setup", Reason: "arrange"}))(t)
				}
				dec, err := s.RecordDecision(ctx, store.Decision{Artifact: d, Stage: "cd", Policy: "p", Result: r, To: to, Actor: "gate"})
				want := allowed[[3]string{string(r), string(from), string(to)}]
				if want != (err == nil) {
					t.Errorf("%s: err = %v, want allowed=%v", name, err, want)
					continue
				}
				a := ok(s.Artifact(ctx, d))(t)
				decs := ok(s.Decisions(ctx, d))(t)
				if !want {
					wantErr(t, err, store.ErrInvalidTransition)
					if a.State != from || len(decs) != 0 {
						t.Errorf("%s: refused transition left state %s and %d decisions", name, a.State, len(decs))
					}
					continue
				}
				if a.State != to || dec.From != from || dec.ID == 0 || len(decs) != 1 || decs[0].ID != dec.ID {
					t.Errorf("%s: state %s, decision %+v, stored %+v", name, a.State, dec, decs)
				}
				hist := ok(s.StateHistory(ctx, d))(t)
				last := hist[len(hist)-1]
				if last.Via != "decision" || last.DecisionID != dec.ID || last.From != from || last.To != to || last.Actor != "gate" {
					t.Errorf("%s: last history entry %+v", name, last)
				}
			}
		}
	}
	// A decision without a target state records the verdict only.
	d := D("verdict-only")
	ok(firstOf(s.PutArtifact(ctx, store.Artifact{Digest: d}, "setup")))(t)
	dec := ok(s.RecordDecision(ctx, store.Decision{Artifact: d, Stage: "ci", Result: store.ResultFail, Reasons: []string{"r1", "r2"}, EvidenceID: 9, Actor: "gate"}))(t)
	got := ok(s.Decisions(ctx, d))(t)
	want := []store.Decision{{ID: dec.ID, Artifact: d, Stage: "ci", Result: store.ResultFail, Reasons: []string{"r1", "r2"}, EvidenceID: 9, From: store.StateQuarantined, Actor: "gate", CreatedAt: dec.CreatedAt}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Decisions (-want +got):\n%s", diff)
	}
	if a := ok(s.Artifact(ctx, d))(t); a.State != store.StateQuarantined {
		t.Errorf("verdict-only decision moved state to %s", a.State)
	}
	// Bad decisions.
	for name, bad := range map[string]store.Decision{
		"no artifact":  {Artifact: D("nope"), Stage: "ci", Result: store.ResultPass, Actor: "g"},
		"bad result":   {Artifact: d, Stage: "ci", Result: "maybe", Actor: "g"},
		"no stage":     {Artifact: d, Result: store.ResultPass, Actor: "g"},
		"no actor":     {Artifact: d, Stage: "ci", Result: store.ResultPass},
		"bad to state": {Artifact: d, Stage: "ci", Result: store.ResultPass, To: "gone", Actor: "g"},
	} {
		if _, err := s.RecordDecision(ctx, bad); err == nil {
			t.Errorf("%s: RecordDecision succeeded", name)
		} else if name == "no artifact" {
			wantErr(t, err, store.ErrNotFound)
		} else {
			wantErr(t, err, store.ErrInvalid)
		}
	}
	if n != 48 {
		t.Fatalf("covered %d combinations", n)
	}
}

func testOverride(t *testing.T, b Backend) {
	ctx := context.Background()
	s := open(t, b)
	d := D("o")
	ok(firstOf(s.PutArtifact(ctx, store.Artifact{Digest: d}, "alice")))(t)
	_, err := s.Override(ctx, store.Override{Artifact: d, To: store.StateReleased, Actor: "alice"})
	wantErr(t, err, store.ErrInvalid) // no reason
	_, err = s.Override(ctx, store.Override{Artifact: d, To: store.StateReleased, Reason: "why"})
	wantErr(t, err, store.ErrInvalid) // no actor
	_, err = s.Override(ctx, store.Override{Artifact: d, To: store.StateQuarantined, Actor: "alice", Reason: "noop"})
	wantErr(t, err, store.ErrInvalidTransition)
	_, err = s.Override(ctx, store.Override{Artifact: d, To: "limbo", Actor: "alice", Reason: "x"})
	wantErr(t, err, store.ErrInvalidTransition)
	_, err = s.Override(ctx, store.Override{Artifact: D("none"), To: store.StateRevoked, Actor: "alice", Reason: "x"})
	wantErr(t, err, store.ErrNotFound)

	a := ok(s.Override(ctx, store.Override{Artifact: d, To: store.StateRevoked, Actor: "sec", Reason: "CVE"}))(t)
	if a.State != store.StateRevoked {
		t.Fatalf("state = %s", a.State)
	}
	// Reinstating a revoked artifact is only possible by override.
	_, err = s.RecordDecision(ctx, store.Decision{Artifact: d, Stage: "cd", Result: store.ResultPass, To: store.StateVerified, Actor: "gate"})
	wantErr(t, err, store.ErrInvalidTransition)
	ok(s.Override(ctx, store.Override{Artifact: d, To: store.StateVerified, Actor: "sec", Reason: "false positive"}))(t)
	hist := ok(s.StateHistory(ctx, d))(t)
	var got []string
	for _, h := range hist {
		got = append(got, fmt.Sprintf("%s:%s>%s:%s:%s", h.Via, h.From, h.To, h.Actor, h.Reason))
	}
	want := []string{"create:>quarantined:alice:", "override:quarantined>revoked:sec:CVE", "override:revoked>verified:sec:false positive"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("history (-want +got):\n%s", d)
	}
	_, err = s.StateHistory(ctx, D("none"))
	wantErr(t, err, store.ErrNotFound)
	// The overrides are in the audit log with their reasons.
	log := ok(s.AuditLog(ctx, 0, 0))(t)
	var reasons []string
	for _, e := range log {
		if e.Action == "state.override" {
			reasons = append(reasons, e.Detail["reason"])
		}
	}
	if d := cmp.Diff([]string{"CVE", "false positive"}, reasons); d != "" {
		t.Errorf("audited overrides (-want +got):\n%s", d)
	}
}

func testEvidence(t *testing.T, b Backend) {
	ctx := context.Background()
	s := open(t, b)
	bundle := []byte("{\"mediaType\":\"x\",  \"odd\" : [1,2,3]}\n\x00\xff binary tail")
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	facts := []store.Fact{
		{PredicateType: "https://slsa.dev/provenance/v1", Subject: D("m1"), Signer: "ci@example.com", Time: t0},
		{PredicateType: "https://mlsec.dev/attestation/scan/v1", Subject: D("m1"), Signer: "ci@example.com", Time: t0.Add(time.Hour)},
		{PredicateType: "https://slsa.dev/provenance/v1", Subject: D("m2"), Time: t0},
	}
	e, created, err := s.AddEvidence(ctx, store.Evidence{MediaType: "application/json", Bundle: bundle, Facts: facts}, "ci")
	if err != nil || !created || e.ID == 0 {
		t.Fatalf("AddEvidence = %+v, %v, %v", e, created, err)
	}
	sum := sha256.Sum256(bundle)
	if e.Digest != store.Digest("sha256:"+hex.EncodeToString(sum[:])) {
		t.Errorf("evidence digest = %s", e.Digest)
	}
	got := ok(s.Evidence(ctx, e.ID))(t)
	if string(got.Bundle) != string(bundle) {
		t.Errorf("bundle not stored verbatim: %q", got.Bundle)
	}
	wantFacts := make([]store.Fact, len(facts))
	for i, f := range facts {
		f.EvidenceID = e.ID
		f.Time = f.Time.Truncate(time.Microsecond)
		wantFacts[i] = f
	}
	if d := cmp.Diff(wantFacts, got.Facts); d != "" {
		t.Errorf("facts (-want +got):\n%s", d)
	}
	// Dedup.
	again, created, err := s.AddEvidence(ctx, store.Evidence{MediaType: "other", Bundle: bundle}, "ci")
	if err != nil || created || again.ID != e.ID || len(again.Facts) != 3 || again.MediaType != "application/json" {
		t.Errorf("repeat AddEvidence = %+v, %v, %v", again, created, err)
	}
	// Queries.
	m1 := ok(s.Facts(ctx, store.FactQuery{Subject: D("m1")}))(t)
	if len(m1) != 2 || m1[0].PredicateType != "https://mlsec.dev/attestation/scan/v1" {
		t.Errorf("facts for m1 (newest first) = %+v", m1)
	}
	prov := ok(s.Facts(ctx, store.FactQuery{PredicateType: "https://slsa.dev/provenance/v1"}))(t)
	if len(prov) != 2 {
		t.Errorf("provenance facts = %d, want 2", len(prov))
	}
	bySigner := ok(s.Facts(ctx, store.FactQuery{Signer: "ci@example.com", Subject: D("m1"), PredicateType: "https://slsa.dev/provenance/v1"}))(t)
	if len(bySigner) != 1 {
		t.Errorf("facts by signer = %+v", bySigner)
	}
	if none := ok(s.Facts(ctx, store.FactQuery{Subject: D("zzz")}))(t); len(none) != 0 {
		t.Errorf("facts for unknown subject = %v", none)
	}
	_, err = s.Evidence(ctx, 999999)
	wantErr(t, err, store.ErrNotFound)
	for name, bad := range map[string]store.Evidence{
		"empty":       {},
		"bad subject": {Bundle: []byte("x"), Facts: []store.Fact{{PredicateType: "p", Subject: "sha256:1"}}},
		"no type":     {Bundle: []byte("y"), Facts: []store.Fact{{Subject: D("a")}}},
	} {
		_, _, err := s.AddEvidence(ctx, bad, "ci")
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func testLineage(t *testing.T, b Backend) {
	ctx := context.Background()
	s := open(t, b)
	// finetuned → base → pretrain-data; finetuned → ft-data; other → base.
	edges := []store.Edge{
		{From: D("finetuned"), To: D("base"), Relation: "fineTunedFrom"},
		{From: D("base"), To: D("pretrain-data"), Relation: "trainedOn"},
		{From: D("finetuned"), To: D("ft-data"), Relation: "trainedOn", EvidenceID: 3},
		{From: D("other"), To: D("base"), Relation: "derivedFrom"},
		{From: D("pretrain-data"), To: D("finetuned"), Relation: "cycle"}, // cycles must terminate
	}
	for _, e := range edges {
		if err := s.AddEdge(ctx, e, "ci"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddEdge(ctx, e, "ci"); err != nil { // idempotent
			t.Fatal(err)
		}
	}
	key := func(es []store.Edge) []string {
		var out []string
		for _, e := range es {
			out = append(out, fmt.Sprintf("%s>%s:%s", name(e.From), name(e.To), e.Relation))
		}
		return out
	}
	up1 := key(ok(s.Lineage(ctx, D("finetuned"), store.Upstream, 1))(t))
	if d := cmp.Diff([]string{"finetuned>base:fineTunedFrom", "finetuned>ft-data:trainedOn"}, up1, cmpopts.SortSlices(func(a, b string) bool { return a < b })); d != "" {
		t.Errorf("upstream depth 1 (-want +got):\n%s", d)
	}
	down := key(ok(s.Lineage(ctx, D("pretrain-data"), store.Downstream, 0))(t))
	wantDown := []string{"base>pretrain-data:trainedOn", "finetuned>base:fineTunedFrom", "other>base:derivedFrom", "pretrain-data>finetuned:cycle"}
	if d := cmp.Diff(wantDown, down, cmpopts.SortSlices(func(a, b string) bool { return a < b })); d != "" {
		t.Errorf("downstream impact (-want +got):\n%s", d)
	}
	down1 := key(ok(s.Lineage(ctx, D("pretrain-data"), store.Downstream, 1))(t))
	if d := cmp.Diff([]string{"base>pretrain-data:trainedOn"}, down1); d != "" {
		t.Errorf("downstream depth 1 (-want +got):\n%s", d)
	}
	all := ok(s.Lineage(ctx, D("finetuned"), store.Upstream, 0))(t)
	if len(all) != 4 {
		t.Errorf("full upstream walk with a cycle = %v", key(all))
	}
	if err := s.AddEdge(ctx, store.Edge{From: D("a"), To: D("a"), Relation: "self"}, "ci"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("self edge: %v", err)
	}
	if err := s.AddEdge(ctx, store.Edge{From: D("a"), To: D("b")}, "ci"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("edge without relation: %v", err)
	}
	// Each new edge is audited once.
	n := 0
	for _, e := range ok(s.AuditLog(ctx, 0, 0))(t) {
		if e.Action == "lineage.add" {
			n++
		}
	}
	if n != len(edges) {
		t.Errorf("lineage audit entries = %d, want %d", n, len(edges))
	}
}

func name(d store.Digest) string {
	for _, l := range []string{"finetuned", "base", "pretrain-data", "ft-data", "other"} {
		if D(l) == d {
			return l
		}
	}
	return string(d)
}

func testFindings(t *testing.T, b Backend) {
	ctx := context.Background()
	s := open(t, b)
	d := D("model")
	err := s.ReplaceFindings(ctx, d, "scan", nil, "w")
	wantErr(t, err, store.ErrNotFound)
	ok(firstOf(s.PutArtifact(ctx, store.Artifact{Digest: d}, "w")))(t)
	fs := []mlsec.Finding{
		{RuleID: "PICKLE-001", Severity: mlsec.SeverityCritical, Message: "os.system", Path: "m.pkl", Location: mlsec.Location{Member: "data.pkl", Offset: 12}, Subject: "os.system",
			Mappings: []mlsec.Mapping{{Framework: "mitre-atlas", ID: "AML.T0011.000"}}},
		{RuleID: "PICKLE-002", Severity: mlsec.SeverityLow, Message: "odd", Path: "m.pkl", Location: mlsec.Location{Offset: -1}},
	}
	for range 3 { // a retried job stores one copy
		if err := s.ReplaceFindings(ctx, d, "scan", fs, "w"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ReplaceFindings(ctx, d, "other", fs[1:], "w"); err != nil {
		t.Fatal(err)
	}
	got := ok(s.Findings(ctx, store.FindingQuery{Artifact: d}))(t)
	var gotF []mlsec.Finding
	for _, f := range got {
		gotF = append(gotF, f.Finding)
	}
	if diff := cmp.Diff([]mlsec.Finding{fs[0], fs[1], fs[1]}, gotF, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	counts := ok(s.FindingCounts(ctx, d))(t)
	if diff := cmp.Diff(map[mlsec.Severity]int{mlsec.SeverityCritical: 1, mlsec.SeverityLow: 2}, counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	high := ok(s.Findings(ctx, store.FindingQuery{Artifact: d, MinSeverity: mlsec.SeverityHigh}))(t)
	if len(high) != 1 || high[0].Finding.RuleID != "PICKLE-001" || high[0].Source != "scan" {
		t.Errorf("high findings = %+v", high)
	}
	if r := ok(s.Findings(ctx, store.FindingQuery{RuleID: "PICKLE-002"}))(t); len(r) != 2 {
		t.Errorf("by rule = %d, want 2", len(r))
	}
	if err := s.ReplaceFindings(ctx, d, "scan", nil, "w"); err != nil {
		t.Fatal(err)
	}
	if n := ok(s.FindingCounts(ctx, d))(t); n[mlsec.SeverityCritical] != 0 || n[mlsec.SeverityLow] != 1 {
		t.Errorf("after clearing source scan: %v", n)
	}
}

func testRecordScan(t *testing.T, b Backend) {
	ctx := context.Background()
	s := open(t, b)
	h := ok(s.CreateHubScan(ctx, "/m", []string{"x", "y"}, "cli"))(t)
	fs := []mlsec.Finding{{RuleID: "PICKLE-001", Severity: mlsec.SeverityCritical, Location: mlsec.Location{Offset: 3}}}
	rec := store.ScanRecord{Artifact: store.Artifact{Digest: D("x"), Name: "x", Kind: "model", Size: 5}, Source: "scan", Findings: fs, HubScanID: h.ID, Item: "x", Actor: "worker"}
	for range 2 { // a retried job
		a := ok(s.RecordScan(ctx, rec))(t)
		if a.Digest != D("x") || a.State != store.StateQuarantined || a.Size != 5 {
			t.Fatalf("RecordScan = %+v", a)
		}
	}
	if got := ok(s.FindingCounts(ctx, D("x")))(t); got[mlsec.SeverityCritical] != 1 {
		t.Errorf("findings after two RecordScans: %v", got)
	}
	got := ok(s.HubScan(ctx, h.ID))(t)
	if got.Done != 1 || got.Findings != 1 || got.Status != store.HubScanRunning {
		t.Errorf("hub scan = %+v", got)
	}
	// A failing part rolls the whole record back.
	bad := rec
	bad.Artifact = store.Artifact{Digest: D("y"), Size: 1}
	bad.Item = "no-such-item"
	_, err := s.RecordScan(ctx, bad)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.Artifact(ctx, D("y"))
	wantErr(t, err, store.ErrNotFound)
	bad.Item, bad.Actor = "y", ""
	_, err = s.RecordScan(ctx, bad)
	wantErr(t, err, store.ErrInvalid)
	// Without a hub scan it records artifact and findings only.
	ok(s.RecordScan(ctx, store.ScanRecord{Artifact: store.Artifact{Digest: D("z")}, Source: "scan", Actor: "w"}))(t)
	if n, err := s.VerifyAudit(ctx); err != nil || n == 0 {
		t.Errorf("VerifyAudit = %d, %v", n, err)
	}
}

func testTokens(t *testing.T, b Backend) {
	ctx := context.Background()
	s := open(t, b)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	clocked, hasClock := s.(Clocked)
	if hasClock {
		clocked.SetClock(func() time.Time { return now })
	}
	secret, tok, err := s.CreateToken(ctx, store.NewToken{Name: "ci-bot", Role: store.RoleMLEngineer, Actor: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	if tok.ID == 0 || tok.Role != store.RoleMLEngineer || len(secret) < 40 {
		t.Fatalf("token = %+v secret %q", tok, secret)
	}
	got := ok(s.Authenticate(ctx, secret))(t)
	if got.ID != tok.ID || got.Name != "ci-bot" || got.Role != store.RoleMLEngineer {
		t.Errorf("Authenticate = %+v", got)
	}
	for _, bad := range []string{"", "mlsec_", secret + "x", strings.TrimPrefix(secret, "mlsec_"), secret[:len(secret)-1]} {
		_, err := s.Authenticate(ctx, bad)
		wantErr(t, err, store.ErrUnauthorized)
	}
	if b.DB != nil {
		// The secret is stored hashed: no row contains it.
		var n int
		q := fmt.Sprintf("SELECT COUNT(*) FROM tokens WHERE hash = '%s' OR name = '%s'", secret, secret)
		if err := b.DB(s).QueryRow(q).Scan(&n); err != nil || n != 0 {
			t.Errorf("secret found in tokens table: %d rows, %v", n, err)
		}
		var h string
		if err := b.DB(s).QueryRow(fmt.Sprintf("SELECT hash FROM tokens WHERE id = %d", tok.ID)).Scan(&h); err != nil || h == "" || strings.Contains(secret, h) {
			t.Errorf("stored token hash %q, %v", h, err)
		}
	}
	for _, r := range store.Roles() {
		if _, _, err := s.CreateToken(ctx, store.NewToken{Name: "t-" + string(r), Role: r, Actor: "admin"}); err != nil {
			t.Errorf("role %s: %v", r, err)
		}
	}
	_, _, err = s.CreateToken(ctx, store.NewToken{Name: "x", Role: "root", Actor: "admin"})
	wantErr(t, err, store.ErrInvalid)
	_, _, err = s.CreateToken(ctx, store.NewToken{Name: "x", Role: store.RoleAdmin})
	wantErr(t, err, store.ErrInvalid)

	if err := s.RevokeToken(ctx, tok.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, tok.ID, "admin"); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
	_, err = s.Authenticate(ctx, secret)
	wantErr(t, err, store.ErrUnauthorized)
	wantErr(t, s.RevokeToken(ctx, 424242, "admin"), store.ErrNotFound)
	toks := ok(s.Tokens(ctx))(t)
	if len(toks) != 6 || toks[0].RevokedAt == nil {
		t.Errorf("Tokens = %+v", toks)
	}
	if hasClock {
		short, stok := must2(t)(s.CreateToken(ctx, store.NewToken{Name: "short", Role: store.RoleAuditor, TTL: time.Hour, Actor: "admin"}))
		if stok.ExpiresAt == nil || !stok.ExpiresAt.Equal(now.Add(time.Hour)) {
			t.Errorf("ExpiresAt = %v", stok.ExpiresAt)
		}
		ok(s.Authenticate(ctx, short))(t)
		now = now.Add(time.Hour)
		_, err := s.Authenticate(ctx, short)
		wantErr(t, err, store.ErrUnauthorized)
	}
}

// testTokenNames: names are unique for ever (a revoked token's name is not
// reused) and free of spaces, control characters and "#".
func testTokenNames(t *testing.T, b Backend) {
	ctx := context.Background()
	s := open(t, b)
	_, tok := must2(t)(s.CreateToken(ctx, store.NewToken{Name: "ci-bot", Role: store.RoleMLEngineer, Actor: "admin"}))
	_, _, err := s.CreateToken(ctx, store.NewToken{Name: "ci-bot", Role: store.RoleAdmin, Actor: "admin"})
	wantErr(t, err, store.ErrConflict)
	if err := s.RevokeToken(ctx, tok.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.CreateToken(ctx, store.NewToken{Name: "ci-bot", Role: store.RoleAdmin, Actor: "admin"})
	wantErr(t, err, store.ErrConflict)
	for _, bad := range []string{"", "ci bot", "ci\x00bot", "ci\x1b[31mbot", "ci\nbot", "a#1", "-lead", strings.Repeat("a", 101)} {
		_, _, err := s.CreateToken(ctx, store.NewToken{Name: bad, Role: store.RoleAuditor, Actor: "admin"})
		wantErr(t, err, store.ErrInvalid)
	}
	if got := store.TokenActor(tok); got != fmt.Sprintf("token:ci-bot#%d", tok.ID) {
		t.Errorf("TokenActor = %q", got)
	}
	for actor, want := range map[string]struct {
		name string
		id   int64
		ok   bool
	}{
		"token:ci-bot#7": {"ci-bot", 7, true}, "token:ci-bot": {"ci-bot", 0, true}, "worker": {"", 0, false}, "token:": {"", 0, false},
	} {
		n, id, ok := store.ParseTokenActor(actor)
		if n != want.name || id != want.id || ok != want.ok {
			t.Errorf("ParseTokenActor(%q) = %q, %d, %v", actor, n, id, ok)
		}
	}
}

// testControlCharacters: names, versions and other free text holding
// control characters (NUL, ESC, newlines, C1, bidirectional overrides) or
// invalid UTF-8 are refused; hub-scan paths, which come from file systems,
// are stored as they are.
func testControlCharacters(t *testing.T, b Backend) {
	ctx := context.Background()
	s := open(t, b)
	for _, bad := range []string{"a\x00b", "a\x1b[2Jb", "a\nb", "a\rb", "a\tb", "a\x7fb", "a\u009bb", "a\u202eb", "a\u2066b", "a\xffb"} {
		_, _, err := s.PutArtifact(ctx, store.Artifact{Digest: D("cc"), Name: bad}, "test")
		wantErr(t, err, store.ErrInvalid)
		_, _, err = s.PutArtifact(ctx, store.Artifact{Digest: D("cc"), Name: "m", Version: bad}, "test")
		wantErr(t, err, store.ErrInvalid)
		_, _, err = s.PutArtifact(ctx, store.Artifact{Digest: D("cc"), Name: "m"}, bad)
		wantErr(t, err, store.ErrInvalid)
		wantErr(t, s.AddEdge(ctx, store.Edge{From: D("cc"), To: D("cd"), Relation: bad}, "test"), store.ErrInvalid)
	}
	ok2 := func(_ store.Artifact, _ bool, err error) error { return err }
	for _, good := range []string{"org/model-ü", "模型", "a b", "emoji 🙂"} {
		if err := ok2(s.PutArtifact(ctx, store.Artifact{Digest: D(good), Name: good, Version: good}, "test")); err != nil {
			t.Errorf("printable name %q refused: %v", good, err)
		}
	}
	if _, err := s.CreateHubScan(ctx, "/mirror", []string{"odd\nname/model.bin"}, "test"); err != nil {
		t.Errorf("hub scan of a file-system path with a newline: %v", err)
	}
}

// testSessions: a dashboard session is its own secret, ends on logout, on
// expiry and when its token is revoked.
func testSessions(t *testing.T, b Backend) {
	ctx := context.Background()
	s := open(t, b)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	clocked, hasClock := s.(Clocked)
	if hasClock {
		clocked.SetClock(func() time.Time { return now })
	}
	secret, tok := must2(t)(s.CreateToken(ctx, store.NewToken{Name: "alice", Role: store.RoleAuditor, Actor: "admin"}))
	id := ok(s.CreateSession(ctx, tok.ID, time.Hour))(t)
	if id == secret || strings.HasPrefix(id, "mlsec_") || len(id) < 40 {
		t.Fatalf("session id %q", id)
	}
	if got := ok(s.Session(ctx, id))(t); got.ID != tok.ID || got.Role != store.RoleAuditor {
		t.Errorf("Session = %+v", got)
	}
	_, err := s.Authenticate(ctx, id)
	wantErr(t, err, store.ErrUnauthorized) // a session id is no API token
	_, err = s.Session(ctx, secret)
	wantErr(t, err, store.ErrUnauthorized) // nor an API token a session
	if err := s.EndSession(ctx, id); err != nil {
		t.Fatal(err)
	}
	_, err = s.Session(ctx, id)
	wantErr(t, err, store.ErrUnauthorized)
	if b.DB != nil {
		other := ok(s.CreateSession(ctx, tok.ID, time.Hour))(t)
		var n int
		if err := b.DB(s).QueryRow(fmt.Sprintf("SELECT COUNT(*) FROM ui_sessions WHERE hash = '%s'", other)).Scan(&n); err != nil || n != 0 {
			t.Errorf("session id stored in clear: %d, %v", n, err)
		}
	}
	if hasClock {
		short := ok(s.CreateSession(ctx, tok.ID, time.Minute))(t)
		now = now.Add(time.Minute)
		_, err := s.Session(ctx, short)
		wantErr(t, err, store.ErrUnauthorized)
	}
	live := ok(s.CreateSession(ctx, tok.ID, time.Hour))(t)
	if err := s.RevokeToken(ctx, tok.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Session(ctx, live)
	wantErr(t, err, store.ErrUnauthorized)
}

func must2(t *testing.T) func(string, store.Token, error) (string, store.Token) {
	return func(s string, tok store.Token, err error) (string, store.Token) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s, tok
	}
}

func testHubScan(t *testing.T, b Backend) {
	ctx := context.Background()
	s := open(t, b)
	paths := []string{"org/a", "org/b", "org/c", "org/a"} // duplicate collapses
	h := ok(s.CreateHubScan(ctx, "/mirror", paths, "cli"))(t)
	if h.ID == 0 || h.Total != 3 || h.Status != store.HubScanRunning {
		t.Fatalf("CreateHubScan = %+v", h)
	}
	step := func(path string, r store.ItemResult, done, failed, findings int, status store.HubScanStatus) {
		t.Helper()
		if err := s.CompleteHubScanItem(ctx, h.ID, path, r); err != nil {
			t.Fatal(err)
		}
		got := ok(s.HubScan(ctx, h.ID))(t)
		if got.Done != done || got.Failed != failed || got.Findings != findings || got.Status != status {
			t.Fatalf("after %s: %+v, want done %d failed %d findings %d %s", path, got, done, failed, findings, status)
		}
	}
	step("org/a", store.ItemResult{Artifact: D("a"), Findings: 2}, 1, 0, 2, store.HubScanRunning)
	step("org/a", store.ItemResult{Artifact: D("a"), Findings: 2}, 1, 0, 2, store.HubScanRunning) // retried job
	step("org/b", store.ItemResult{Error: "unreadable"}, 2, 1, 2, store.HubScanRunning)
	step("org/b", store.ItemResult{Artifact: D("b"), Findings: 1}, 2, 0, 3, store.HubScanRunning) // retry succeeded
	step("org/c", store.ItemResult{Artifact: D("c")}, 3, 0, 3, store.HubScanDone)
	wantErr(t, s.CompleteHubScanItem(ctx, h.ID, "org/zzz", store.ItemResult{}), store.ErrNotFound)
	wantErr(t, s.CompleteHubScanItem(ctx, 999999, "org/a", store.ItemResult{}), store.ErrNotFound)
	items := ok(s.HubScanItems(ctx, h.ID, "", 0))(t)
	want := []store.HubScanItem{
		{ScanID: h.ID, Path: "org/a", Status: "done", Artifact: D("a"), Findings: 2},
		{ScanID: h.ID, Path: "org/b", Status: "done", Artifact: D("b"), Findings: 1},
		{ScanID: h.ID, Path: "org/c", Status: "done", Artifact: D("c")},
	}
	if d := cmp.Diff(want, items); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
	empty := ok(s.CreateHubScan(ctx, "/empty", nil, "cli"))(t)
	if empty.Status != store.HubScanDone {
		t.Errorf("empty scan status = %s", empty.Status)
	}
	list := ok(s.HubScans(ctx, 10))(t)
	if len(list) != 2 || list[0].ID != empty.ID {
		t.Errorf("HubScans = %+v", list)
	}

	// Concurrent completion of many items counts each exactly once.
	var ps []string
	for i := range 200 {
		ps = append(ps, fmt.Sprintf("m%03d", i))
	}
	big := ok(s.CreateHubScan(ctx, "/big", ps, "cli"))(t)
	if n := len(ok(s.HubScanItems(ctx, big.ID, "pending", 1000))(t)); n != 200 {
		t.Fatalf("pending items = %d", n)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for w := range 4 {
		wg.Go(func() {
			for i, p := range ps {
				if i%2 == w%2 { // every item completed twice, by two workers
					errs <- s.CompleteHubScanItem(ctx, big.ID, p, store.ItemResult{Artifact: D(p), Findings: 1})
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := ok(s.HubScan(ctx, big.ID))(t)
	if got.Done != 200 || got.Findings != 200 || got.Status != store.HubScanDone {
		t.Errorf("concurrent completion: %+v", got)
	}
}

func testAuditChain(t *testing.T, b Backend) {
	ctx := context.Background()
	s := open(t, b)
	if n, err := s.VerifyAudit(ctx); err != nil || n != 0 {
		t.Fatalf("empty log: %d, %v", n, err)
	}
	d := D("m")
	ok(firstOf(s.PutArtifact(ctx, store.Artifact{Digest: d, Name: "m"}, "alice")))(t)
	ok(firstOf(s.PutArtifact(ctx, store.Artifact{Digest: d}, "alice")))(t) // no-op: not audited
	ok(s.RecordDecision(ctx, store.Decision{Artifact: d, Stage: "ci", Result: store.ResultPass, To: store.StateVerified, Actor: "gate"}))(t)
	ok(firstOf(s.AddEvidence(ctx, store.Evidence{Bundle: []byte("b")}, "ci")))(t)
	ok(s.Audit(ctx, store.AuditEntry{Actor: "server", Action: "login.failed", Subject: "token:?", Detail: map[string]string{"ip": "10.0.0.1"}}))(t)
	log := ok(s.AuditLog(ctx, 0, 0))(t)
	var actions []string
	for _, e := range log {
		actions = append(actions, fmt.Sprintf("%d:%s:%s", e.Seq, e.Actor, e.Action))
	}
	want := []string{"1:alice:artifact.create", "2:gate:decision.record", "3:ci:evidence.add", "4:server:login.failed"}
	if diff := cmp.Diff(want, actions); diff != "" {
		t.Fatalf("audit log (-want +got):\n%s", diff)
	}
	if log[0].PrevHash != store.GenesisHash() || log[1].PrevHash != log[0].Hash {
		t.Errorf("chain links broken: %+v", log[:2])
	}
	// Each hash is recomputable from the entry alone.
	for _, e := range log {
		h, err := store.AuditHash(e.PrevHash, e)
		if err != nil || h != e.Hash {
			t.Errorf("entry %d: hash %s, recomputed %s (%v)", e.Seq, e.Hash, h, err)
		}
	}
	if log[1].Detail["from"] != "quarantined" || log[1].Detail["to"] != "verified" {
		t.Errorf("decision audit detail = %v", log[1].Detail)
	}
	if page := ok(s.AuditLog(ctx, 2, 1))(t); len(page) != 1 || page[0].Seq != 3 {
		t.Errorf("AuditLog(after 2, limit 1) = %+v", page)
	}
	if n, err := s.VerifyAudit(ctx); err != nil || n != 4 {
		t.Errorf("VerifyAudit = %d, %v", n, err)
	}
	_, err := s.Audit(ctx, store.AuditEntry{Actor: "x"})
	wantErr(t, err, store.ErrInvalid)
	if b.DB != nil {
		// The database itself refuses to change the log.
		if err := rawExec(b, s, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 1"); err == nil {
			t.Error("UPDATE audit_log succeeded; want the append-only trigger to refuse")
		}
		if err := rawExec(b, s, "DELETE FROM audit_log WHERE seq = 1"); err == nil {
			t.Error("DELETE FROM audit_log succeeded; want the append-only trigger to refuse")
		}
	}
}

func testAuditTamper(t *testing.T, b Backend) {
	if b.DB == nil {
		t.Skip("backend offers no raw SQL access")
	}
	ctx := context.Background()
	cases := []struct {
		name    string
		tamper  string
		wantSeq int64
	}{
		{"change actor", "UPDATE audit_log SET actor = 'mallory' WHERE seq = 3", 3},
		{"change detail", `UPDATE audit_log SET detail = '{"to":"released"}' WHERE seq = 4`, 4},
		{"change time", "UPDATE audit_log SET time = time + 1 WHERE seq = 2", 2},
		{"recompute hash of changed row", "UPDATE audit_log SET action = 'x', hash = prev_hash WHERE seq = 5", 5},
		{"delete middle row", "DELETE FROM audit_log WHERE seq = 3", 3},
		{"delete first row", "DELETE FROM audit_log WHERE seq = 1", 1},
		{"truncate tail", "DELETE FROM audit_log WHERE seq >= 5", 5},
		{"swap seq", "UPDATE audit_log SET seq = seq + 100 WHERE seq = 2", 2},
		{"relink prev hash", "UPDATE audit_log SET prev_hash = hash WHERE seq = 4", 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, b)
			for i := range 3 {
				d := D(fmt.Sprint("t", i))
				ok(firstOf(s.PutArtifact(ctx, store.Artifact{Digest: d}, "alice")))(t)
				ok(s.RecordDecision(ctx, store.Decision{Artifact: d, Stage: "ci", Result: store.ResultPass, To: store.StateVerified, Actor: "gate"}))(t)
			}
			if n, err := s.VerifyAudit(ctx); err != nil || n != 6 {
				t.Fatalf("before tampering: %d, %v", n, err)
			}
			if b.Unprotect != "" {
				if err := rawExec(b, s, b.Unprotect); err != nil {
					t.Fatalf("unprotect: %v", err)
				}
			}
			if err := rawExec(b, s, tc.tamper); err != nil {
				t.Fatalf("tamper: %v", err)
			}
			_, err := s.VerifyAudit(ctx)
			var ae *store.AuditError
			if !errors.As(err, &ae) || !errors.Is(err, store.ErrAuditTampered) {
				t.Fatalf("VerifyAudit after %q = %v, want an *AuditError", tc.tamper, err)
			}
			if ae.Seq != tc.wantSeq {
				t.Errorf("tampering located at entry %d (%s), want %d", ae.Seq, ae.Reason, tc.wantSeq)
			}
		})
	}
}

func testConcurrency(t *testing.T, b Backend) {
	ctx := context.Background()
	s := open(t, b)
	d := D("race")
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for range 8 {
		wg.Go(func() {
			_, c, err := s.PutArtifact(ctx, store.Artifact{Digest: d}, "w")
			if err != nil {
				t.Error(err)
			}
			if c {
				mu.Lock()
				created++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if created != 1 {
		t.Fatalf("%d goroutines created the same artifact", created)
	}
	// Racing promotions: exactly one quarantined → verified wins.
	wins := 0
	for range 8 {
		wg.Go(func() {
			_, err := s.RecordDecision(ctx, store.Decision{Artifact: d, Stage: "ci", Result: store.ResultPass, To: store.StateVerified, Actor: "g"})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else if !errors.Is(err, store.ErrInvalidTransition) {
				t.Error(err)
			}
		})
	}
	// Parallel writers of unrelated rows.
	for i := range 8 {
		wg.Go(func() {
			for j := range 10 {
				if _, _, err := s.AddEvidence(ctx, store.Evidence{Bundle: fmt.Appendf(nil, "%d-%d", i, j)}, "w"); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d concurrent promotions succeeded, want 1", wins)
	}
	if n, err := s.VerifyAudit(ctx); err != nil || n != 1+1+80 {
		t.Errorf("VerifyAudit after concurrent writes = %d, %v", n, err)
	}
}

func testStats(t *testing.T, b Backend) {
	ctx := context.Background()
	s := open(t, b)
	for i := range 3 {
		ok(firstOf(s.PutArtifact(ctx, store.Artifact{Digest: D(fmt.Sprint(i))}, "a")))(t)
	}
	ok(s.RecordDecision(ctx, store.Decision{Artifact: D("0"), Stage: "ci", Result: store.ResultPass, To: store.StateVerified, Actor: "g"}))(t)
	if err := s.ReplaceFindings(ctx, D("1"), "scan", []mlsec.Finding{{RuleID: "X", Severity: mlsec.SeverityHigh}}, "w"); err != nil {
		t.Fatal(err)
	}
	ok(firstOf(s.AddEvidence(ctx, store.Evidence{Bundle: []byte("e")}, "a")))(t)
	got := ok(s.Stats(ctx))(t)
	want := store.Stats{
		Artifacts: 3,
		ByState:   map[store.TrustState]int{store.StateQuarantined: 2, store.StateVerified: 1},
		Findings:  map[mlsec.Severity]int{mlsec.SeverityHigh: 1},
		Evidence:  1, Decisions: 1,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Stats (-want +got):\n%s", d)
	}
	if err := s.Ping(ctx); err != nil {
		t.Error(err)
	}
}
