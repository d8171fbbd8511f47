package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/store"
)

// bundleOf returns a ~4 KiB attestation-sized bundle unique to i.
func bundleOf(prefix string, i int) []byte {
	b := make([]byte, 0, 4200)
	b = fmt.Appendf(b, `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","n":"%s-%d","dsseEnvelope":{"payload":"`, prefix, i)
	for len(b) < 4096 {
		b = append(b, "eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEifQ"...)
	}
	return append(b, `"}}`...)
}

// BenchIngest measures attestation ingest: one AddEvidence of a ~4 KiB
// bundle with three facts per op, from writers goroutines at once (as
// concurrent API requests would). It reports attestations/s.
func BenchIngest(b *testing.B, s store.Store, writers int) {
	ctx := context.Background()
	prefix := fmt.Sprint(time.Now().UnixNano())
	var n atomic.Int64
	ops := make(chan struct{}, writers)
	var wg sync.WaitGroup
	start := time.Now()
	b.ResetTimer()
	for range writers {
		wg.Go(func() {
			for range ops {
				i := int(n.Add(1))
				subj := D(fmt.Sprint(prefix, i))
				t := time.Now()
				_, _, err := s.AddEvidence(ctx, store.Evidence{MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json", Bundle: bundleOf(prefix, i), Facts: []store.Fact{
					{PredicateType: "https://slsa.dev/provenance/v1", Subject: subj, Signer: "ci@example.com", Time: t},
					{PredicateType: "https://mlsec.dev/attestation/scan/v1", Subject: subj, Signer: "ci@example.com", Time: t},
					{PredicateType: "https://cyclonedx.org/bom", Subject: subj, Signer: "ci@example.com", Time: t},
				}}, "bench")
				if err != nil {
					b.Error(err)
				}
			}
		})
	}
	for b.Loop() {
		ops <- struct{}{}
	}
	close(ops)
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "attestations/s")
}

// BenchRegister measures registrations of new artifacts (PutArtifact, one
// audit entry each) from writers goroutines at once, as the API's
// registrations under load. It reports registrations/s and the p99
// latency of one registration, and checks the audit chain at the end.
func BenchRegister(b *testing.B, s store.Store, writers int) {
	ctx := context.Background()
	prefix := fmt.Sprint(time.Now().UnixNano())
	var n atomic.Int64
	ops := make(chan struct{}, writers)
	lat := make([][]time.Duration, writers)
	var wg sync.WaitGroup
	start := time.Now()
	b.ResetTimer()
	for w := range writers {
		wg.Go(func() {
			for range ops {
				i := n.Add(1)
				t := time.Now()
				_, created, err := s.PutArtifact(ctx, store.Artifact{Digest: D(fmt.Sprint(prefix, i)), Name: fmt.Sprintf("bench/model-%d", i), Version: "v1", Kind: "model", Size: 1024}, "token:bench#1")
				lat[w] = append(lat[w], time.Since(t))
				if err != nil || !created {
					b.Errorf("register %d: created %v, %v", i, created, err)
				}
			}
		})
	}
	for b.Loop() {
		ops <- struct{}{}
	}
	close(ops)
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "registrations/s")
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		b.Fatal(err)
	}
}

// Seed stores n artifacts, each with an evidence bundle (provenance + scan
// facts) and a lineage edge to a shared base model, and findings on every
// tenth. It returns their digests.
func Seed(tb testing.TB, s store.Store, n int) []store.Digest {
	ctx := context.Background()
	base := D("seed-base")
	if _, _, err := s.PutArtifact(ctx, store.Artifact{Digest: base, Name: "base", Kind: "model"}, "seed"); err != nil {
		tb.Fatal(err)
	}
	ds := make([]store.Digest, n)
	for i := range n {
		d := D(fmt.Sprint("seed-", i))
		ds[i] = d
		if _, _, err := s.PutArtifact(ctx, store.Artifact{Digest: d, Name: fmt.Sprintf("org/model-%d", i), Version: "v1", Kind: "model", Size: int64(1000 + i)}, "seed"); err != nil {
			tb.Fatal(err)
		}
		now := time.Now()
		if _, _, err := s.AddEvidence(ctx, store.Evidence{Bundle: bundleOf("seed", i), Facts: []store.Fact{
			{PredicateType: "https://slsa.dev/provenance/v1", Subject: d, Signer: "ci@example.com", Time: now},
			{PredicateType: "https://mlsec.dev/attestation/scan/v1", Subject: d, Signer: "ci@example.com", Time: now},
		}}, "seed"); err != nil {
			tb.Fatal(err)
		}
		if err := s.AddEdge(ctx, store.Edge{From: d, To: base, Relation: "fineTunedFrom"}, "seed"); err != nil {
			tb.Fatal(err)
		}
		if i%10 == 0 {
			if err := s.ReplaceFindings(ctx, d, "scan", []mlsec.Finding{{RuleID: "PICKLE-001", Severity: mlsec.SeverityHigh, Message: "x", Location: mlsec.Location{Offset: -1}}}, "seed"); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return ds
}

// GateLookups does the store side of one gate decision on d: read the
// artifact, its facts (signature, provenance, scan, BOM), finding counts,
// upstream lineage and prior decisions, then record the decision
// (promoting quarantined → verified when clean).
func GateLookups(ctx context.Context, s store.Store, d store.Digest) error {
	a, err := s.Artifact(ctx, d)
	if err != nil {
		return err
	}
	if _, err := s.Facts(ctx, store.FactQuery{Subject: d}); err != nil {
		return err
	}
	counts, err := s.FindingCounts(ctx, d)
	if err != nil {
		return err
	}
	if _, err := s.Lineage(ctx, d, store.Upstream, 2); err != nil {
		return err
	}
	if _, err := s.Decisions(ctx, d); err != nil {
		return err
	}
	dec := store.Decision{Artifact: d, Stage: "ci", Policy: "bench", Result: store.ResultPass, Actor: "bench"}
	if counts[mlsec.SeverityHigh]+counts[mlsec.SeverityCritical] > 0 {
		dec.Result, dec.Reasons = store.ResultFail, []string{"high findings"}
	} else if a.State == store.StateQuarantined {
		dec.To = store.StateVerified
	}
	_, err = s.RecordDecision(ctx, dec)
	return err
}

// BenchGate measures GateLookups over artifacts chosen round-robin from
// ds, reporting the p50 and p99 latency in milliseconds.
func BenchGate(b *testing.B, s store.Store, ds []store.Digest) {
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	i := 0
	b.ResetTimer()
	for b.Loop() {
		t := time.Now()
		if err := GateLookups(ctx, s, ds[(i*7919)%len(ds)]); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t))
		i++
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
}
