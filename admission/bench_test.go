package admission_test

import (
	"bytes"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/mlsecops/mlsec/admission"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/store"
	"github.com/mlsecops/mlsec/transport/oci/ocitest"
)

// BenchmarkAdmission measures whole admissions: an AdmissionReview of an
// InferenceService posted over HTTPS (connections kept alive, as the API
// server does) to the webhook, which asks a real mlsec server (SQLite) on
// loopback — two API calls — and answers. It reports the p50 and p99
// latency of the requests; the target is p99 < 20 ms.
//
// The VSA variant also fetches and verifies the signed VSA (--vsa-key).
// The registry variant deploys the manifest reference mlsec push prints,
// which no artifact is registered with: the source lookups miss, the
// registry resolution (manifest, signature referrer, OMS verification)
// is the cached one after the first review, and the server is asked about
// the signed root digest — four API calls.
//
//	go test -run '^$' -bench Admission -benchtime 2000x ./admission
func BenchmarkAdmission(b *testing.B) {
	b.Run("server-decision", func(b *testing.B) { benchAdmission(b, false, false) })
	b.Run("vsa-verified", func(b *testing.B) { benchAdmission(b, true, false) })
	b.Run("registry-resolved", func(b *testing.B) { benchAdmission(b, false, true) })
}

func benchAdmission(b *testing.B, verify, viaRegistry bool) {
	m := newMLSecServer(b, true)
	populate(m)
	client, err := admission.NewClient(m.url, m.auditor, nil)
	if err != nil {
		b.Fatal(err)
	}
	if verify {
		client.VSAVerifier = &signing.KeyVerifier{Key: &m.gate.PublicKey}
	}
	body := []byte(fixture(b, "isvc-create.json"))
	if viaRegistry {
		reg := ocitest.StartReferrers(b, nil)
		dir := dirModel(b, "bench", 0x60)
		root, bundle := signDir(b, dir, m.org)
		ref := push(b, reg, "team/bench", dir)
		m.addDir(dir, root, bundle, model{sign: true, state: store.StateReleased, serving: true})
		client = registryClient(b, m, regOptions(reg))
		body = with(b, string(body), irisOCI, ref)
	}
	wh := startWebhook(b, admission.Config{Resolver: client})
	if r := wh.review(b, body); !r.Allowed {
		b.Fatalf("not admitted: %s", r.Result.Message)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		resp, err := wh.client.Post(wh.url, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != 200 {
			b.Fatalf("review: %d %v", resp.StatusCode, err)
		}
		resp.Body.Close()
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}
