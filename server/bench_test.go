package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/attest"
	"github.com/mlsecops/mlsec/report"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/store/sqlite"
)

// benchDigest is the i-th synthetic artifact digest.
func benchDigest(i int) store.Digest {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	sum := sha256.Sum256(b[:])
	return store.Digest("sha256:" + hex.EncodeToString(sum[:]))
}

// benchStore opens a SQLite store in production configuration
// (synchronous FULL unless MLSEC_BENCH_SYNC says otherwise).
func benchStore(b *testing.B) store.Store {
	b.Helper()
	st, err := sqlite.OpenDir(context.Background(), b.TempDir(), sqlite.Options{Synchronous: os.Getenv("MLSEC_BENCH_SYNC")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// seedArtifacts stores n artifacts, each with scan evidence and, for every
// tenth, a medium finding, from several goroutines.
func seedArtifacts(b *testing.B, st store.Store, n int) {
	b.Helper()
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				d := benchDigest(i)
				if _, _, err := st.PutArtifact(ctx, store.Artifact{Digest: d, Name: "model-" + strconv.Itoa(i), Kind: "model", Size: 1024}, "bench"); err != nil {
					errc <- err
					return
				}
				res := &scan.Result{Artifacts: []scan.Artifact{{Path: "model-" + strconv.Itoa(i) + ".safetensors", Format: "safetensors", Size: 1024, Status: scan.StatusScanned}}}
				doc := report.NewScanDocument(res)
				stmt, err := attest.ScanStatement(attest.Subject{Name: "model", Digest: attest.Digest(d)}, &doc)
				if err != nil {
					errc <- err
					return
				}
				if _, _, err := st.AddEvidence(ctx, store.Evidence{MediaType: MediaStatement, Bundle: stmt,
					Facts: []store.Fact{{PredicateType: attest.ScanType, Subject: d, Time: time.Now()}}}, "bench"); err != nil {
					errc <- err
					return
				}
				if i%10 == 0 {
					f := mlsec.Finding{RuleID: "BENCH-001", Severity: mlsec.SeverityMedium, Message: "synthetic", Path: "m"}
					if err := st.ReplaceFindings(ctx, d, "scan", []mlsec.Finding{f}, "bench"); err != nil {
						errc <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errc:
		b.Fatal(err)
	default:
	}
}

// benchServer serves st with an admin token and no rate limit.
func benchServer(b *testing.B, st store.Store) (*httptest.Server, string) {
	b.Helper()
	srv, err := New(Config{Store: st, Rate: -1, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	secret, _, err := st.CreateToken(context.Background(), store.NewToken{Name: "bench", Role: store.RoleAdmin, Actor: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	b.Cleanup(hs.Close)
	return hs, secret
}

func post(b *testing.B, c *http.Client, url, secret string, body []byte) int {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := c.Do(req)
	if err != nil {
		b.Error(err)
		return 0
	}
	_, _ = bytes.NewBuffer(nil).ReadFrom(resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// BenchmarkGateDecision measures POST /api/v1/artifacts/{digest}/gate
// end to end (HTTP, authentication, evidence gathering, evaluation,
// recording the decision) with 10,000 artifacts stored, and reports the
// p50 and p99 latency.
func BenchmarkGateDecision(b *testing.B) {
	n := 10000
	if s := os.Getenv("MLSEC_BENCH_ARTIFACTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	st := benchStore(b)
	start := time.Now()
	seedArtifacts(b, st, n)
	b.Logf("seeded %d artifacts in %s", n, time.Since(start).Round(time.Millisecond))
	hs, secret := benchServer(b, st)
	c := hs.Client()
	stages := []string{"data", "experimentation", "ci", "cd", "serving"}
	var lat []time.Duration
	i := 0
	for b.Loop() {
		d := benchDigest((i * 7919) % n)
		body := []byte(`{"stage":"` + stages[i%len(stages)] + `"}`)
		t0 := time.Now()
		if s := post(b, c, hs.URL+"/api/v1/artifacts/"+string(d)+"/gate", secret, body); s != 200 {
			b.Fatalf("gate: status %d", s)
		}
		lat = append(lat, time.Since(t0))
		i++
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(n), "artifacts")
}

// BenchmarkAttestationIngest measures POST /api/v1/attestations with
// distinct in-toto statements from 8 concurrent clients and reports
// attestations per second.
func BenchmarkAttestationIngest(b *testing.B) {
	st := benchStore(b)
	hs, secret := benchServer(b, st)
	c := hs.Client()
	c.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	var seq atomic.Int64
	b.SetParallelism(4) // 4 × GOMAXPROCS clients
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(seq.Add(1))
			body := statementJSON(benchDigest(i), "https://example.com/bench/v1", fmt.Sprintf(`{"run":%d}`, i))
			if s := post(b, c, hs.URL+"/api/v1/attestations", secret, body); s != http.StatusCreated {
				b.Errorf("status %d", s)
				return
			}
		}
	})
	el := time.Since(start)
	b.ReportMetric(float64(seq.Load())/el.Seconds(), "attestations/s")
}
