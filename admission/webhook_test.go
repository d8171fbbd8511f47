package admission_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mlsecops/mlsec/admission"
	"github.com/mlsecops/mlsec/signing"
	"github.com/mlsecops/mlsec/store"
)

// References of the fixtures and of the models the tests register.
const (
	irisOCI     = "oci://registry.example.com/team/iris@sha256:8d9f3a6c1b2e4f7a0c5d8e9f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
	flowersRev  = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"
	flowersHF   = "hf://acme/flowers@" + flowersRev
	flowersKS   = "hf://acme/flowers:" + flowersRev // KServe's form
	nogateOCI   = "oci://registry.example.com/team/nogate@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	unsignedOCI = "oci://registry.example.com/team/unsigned@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	freshOCI    = "oci://registry.example.com/team/fresh@sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	revokedOCI  = "oci://registry.example.com/team/revoked@sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
	ghostOCI    = "oci://registry.example.com/team/ghost@sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	irisS3      = "s3://models/iris/v1"
	irisPVC     = "pvc://model-store/iris"
)

// populate registers the test models in m: what a platform team would
// have in its mlsec server.
func populate(m *mlsecServer) {
	good := model{sign: true, state: store.StateReleased, serving: true}
	for i, src := range []string{irisOCI, admission.HFEndpoint + "/acme/flowers/tree/" + flowersRev, irisS3, "pvc://models/model-store/iris"} {
		md := good
		md.source, md.weight = src, byte(0x10+i)
		m.add(md)
	}
	m.add(model{source: nogateOCI, weight: 0x20, sign: true, state: store.StateReleased})                                            // released, never gated for serving
	m.add(model{source: unsignedOCI, weight: 0x21, state: store.StateReleased, serving: true})                                       // serving gate fails: SERVE-002
	m.add(model{source: freshOCI, weight: 0x22, sign: true})                                                                         // quarantined
	m.add(model{source: revokedOCI, weight: 0x23, sign: true, state: store.StateReleased, serving: true, after: store.StateRevoked}) // revoked after release
}

type reviewCase struct {
	name    string
	body    []byte
	allowed bool
	// msg must appear in the response's message; warn in one warning.
	msg, warn string
}

func runCases(t *testing.T, wh *webhook, cases []reviewCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := wh.review(t, c.body)
			if resp.Result == nil {
				t.Fatalf("no result in %+v", resp)
			}
			if resp.Allowed != c.allowed || !strings.Contains(resp.Result.Message, c.msg) {
				t.Errorf("allowed=%v %q; want allowed=%v with %q", resp.Allowed, resp.Result.Message, c.allowed, c.msg)
			}
			if !resp.Allowed && (resp.Result.Code != 403 || !strings.HasPrefix(resp.Result.Message, "mlsec: ")) {
				t.Errorf("a denial has code %d and message %q; want 403 and an mlsec: prefix", resp.Result.Code, resp.Result.Message)
			}
			w := strings.Join(resp.Warnings, "\n")
			if (c.warn == "") != (w == "") || !strings.Contains(w, c.warn) {
				t.Errorf("warnings %q; want %q", resp.Warnings, c.warn)
			}
		})
	}
}

func TestWebhook(t *testing.T) {
	m := newMLSecServer(t, true)
	populate(m)
	client, err := admission.NewClient(m.url, m.auditor, nil)
	if err != nil {
		t.Fatal(err)
	}
	wh := startWebhook(t, admission.Config{Resolver: client})
	isvc, upd, sipod, annot := fixture(t, "isvc-create.json"), fixture(t, "isvc-sklearn-update.json"), fixture(t, "pod-storage-initializer.json"), fixture(t, "pod-annotation-dryrun.json")
	isvcWith := func(ref string) []byte { return with(t, isvc, irisOCI, ref) }
	runCases(t, wh, []reviewCase{
		// Admitted: released, serving gate passed as a signed VSA.
		{name: "isvc oci released", body: []byte(isvc), allowed: true, msg: "released, serving gate passed"},
		{name: "isvc update hf pinned", body: []byte(upd), allowed: true, msg: flowersHF + " is artifact sha256:"},
		{name: "pod storage-initializer kserve hf form", body: []byte(sipod), allowed: true, msg: flowersKS},
		{name: "pod annotation dry-run", body: []byte(annot), allowed: true, msg: irisOCI},
		{name: "pod without model", body: []byte(fixture(t, "pod-plain.json")), allowed: true, msg: "no model reference"},
		{name: "oci tag and digest", body: isvcWith(strings.Replace(irisOCI, "/iris@", "/iris:v1@", 1)), allowed: true, msg: "serving gate passed"},
		{name: "s3 mutable warns", body: isvcWith(irisS3), allowed: true, msg: irisS3, warn: "mutable location"},
		{name: "pvc resolves in the namespace", body: isvcWith(irisPVC), allowed: true, msg: irisPVC, warn: "mutable location"},
		{name: "pvc of another namespace", body: with(t, isvc, irisOCI, irisPVC, `"namespace": "models"`, `"namespace": "other"`), msg: "not a known artifact"},
		// Denied: the server's records say no.
		{name: "released without serving decision", body: isvcWith(nogateOCI), msg: "never passed the serving gate"},
		{name: "failing serving VSA", body: isvcWith(unsignedOCI), msg: "latest serving gate decision is fail: FAIL SERVE-002"},
		{name: "quarantined", body: isvcWith(freshOCI), msg: "which is quarantined, not released"},
		{name: "revoked", body: isvcWith(revokedOCI), msg: "which is revoked, not released"},
		{name: "unknown", body: isvcWith(ghostOCI), msg: ghostOCI + " is not a known artifact"},
		{name: "update to a failing model", body: with(t, upd, flowersHF, unsignedOCI), msg: "FAIL SERVE-002"},
		{name: "one bad reference of two", body: with(t, annot, irisOCI, irisOCI+","+ghostOCI), msg: ghostOCI},
		// Denied: the reference is not pinned or not accepted.
		{name: "tag-only oci", body: isvcWith("oci://registry.example.com/team/iris:v1"), msg: "has no digest"},
		{name: "unpinned hf branch", body: with(t, upd, flowersRev, "main"), msg: "is not pinned"},
		{name: "unpinned hf", body: with(t, upd, "@"+flowersRev, ""), msg: "is not pinned"},
		{name: "short hf commit", body: with(t, sipod, flowersRev, flowersRev[:7]), msg: "is not pinned"},
		{name: "gs scheme", body: isvcWith("gs://kfserving-examples/models/sklearn/1.0/model"), msg: "scheme gs:// is not accepted"},
		{name: "isvc without model", body: with(t, isvc, `"storageUri": "`+irisOCI+`"`, `"runtime": "kserve-sklearnserver"`), msg: "names no model"},
		// Kinds and operations.
		{name: "unknown kind denied", body: []byte(fixture(t, "deployment-create.json")), msg: "does not know kind v1 apps/Deployment"},
		{name: "delete allowed", body: with(t, isvc, `"operation": "CREATE"`, `"operation": "DELETE"`), allowed: true, msg: "not DELETE"},
		{name: "update of an object being deleted", body: with(t, upd, `"generation": 3,`, `"generation": 3, "deletionTimestamp": "2026-12-08T10:00:00Z",`, flowersHF, ghostOCI), allowed: true, msg: "being deleted"},
	})

	t.Run("VSA verified by the webhook", func(t *testing.T) {
		verifying, err := admission.NewClient(m.url, m.auditor, nil)
		if err != nil {
			t.Fatal(err)
		}
		verifying.VSAVerifier = &signing.KeyVerifier{Key: &m.gate.PublicKey}
		wrongKey, err := admission.NewClient(m.url, m.auditor, nil)
		if err != nil {
			t.Fatal(err)
		}
		wrongKey.VSAVerifier = &signing.KeyVerifier{Key: &m.org.Key.PublicKey} // the model signer's key, not the gate's
		runCases(t, startWebhook(t, admission.Config{Resolver: verifying}), []reviewCase{
			{name: "gate key", body: []byte(isvc), allowed: true, msg: "(VSA verified)"},
			{name: "failing still denied", body: isvcWith(unsignedOCI), msg: "SERVE-002"},
		})
		runCases(t, startWebhook(t, admission.Config{Resolver: wrongKey}), []reviewCase{
			{name: "wrong key", body: []byte(isvc), msg: "does not hold"},
		})
	})

	t.Run("require immutable", func(t *testing.T) {
		strict := startWebhook(t, admission.Config{Resolver: client, RequireImmutable: true, Unknown: admission.UnknownAllow})
		runCases(t, strict, []reviewCase{
			{name: "s3", body: isvcWith(irisS3), msg: "is a mutable location"},
			{name: "oci", body: []byte(isvc), allowed: true, msg: "serving gate passed"},
			{name: "unknown kind allowed", body: []byte(fixture(t, "deployment-create.json")), allowed: true, msg: "unknown kinds allowed"},
		})
	})
}

// TestWebhookServerDown: an unreachable server denies (fail closed); with
// FailOpen the object is admitted with a warning. A definite "no" still
// denies with FailOpen.
func TestWebhookServerDown(t *testing.T) {
	m := newMLSecServer(t, true)
	populate(m)
	up, err := admission.NewClient(m.url, m.auditor, nil)
	if err != nil {
		t.Fatal(err)
	}
	down, err := admission.NewClient("http://127.0.0.1:1", m.auditor, nil)
	if err != nil {
		t.Fatal(err)
	}
	badToken, err := admission.NewClient(m.url, "mlsec_not_a_token", nil)
	if err != nil {
		t.Fatal(err)
	}
	isvc := fixture(t, "isvc-create.json")
	runCases(t, startWebhook(t, admission.Config{Resolver: down}), []reviewCase{
		{name: "fail closed", body: []byte(isvc), msg: "did not answer"},
	})
	runCases(t, startWebhook(t, admission.Config{Resolver: badToken}), []reviewCase{
		{name: "refused token fails closed", body: []byte(isvc), msg: "401"},
	})
	runCases(t, startWebhook(t, admission.Config{Resolver: down, FailOpen: true}), []reviewCase{
		{name: "fail open", body: []byte(isvc), allowed: true, msg: "unchecked (fail-open)", warn: "was NOT checked"},
		{name: "fail open still refuses tags", body: with(t, isvc, irisOCI, "oci://registry.example.com/team/iris:v1"), msg: "has no digest"},
	})
	runCases(t, startWebhook(t, admission.Config{Resolver: up, FailOpen: true}), []reviewCase{
		{name: "fail open with the server up is a normal check", body: with(t, isvc, irisOCI, unsignedOCI), msg: "SERVE-002"},
	})

	// A server that stops answering mid-review: the timeout decides.
	hang := startHang(t)
	slow, err := admission.NewClient(hang, m.auditor, nil)
	if err != nil {
		t.Fatal(err)
	}
	runCases(t, startWebhook(t, admission.Config{Resolver: slow, Timeout: 200 * time.Millisecond}), []reviewCase{
		{name: "timeout fails closed", body: []byte(isvc), msg: "context deadline exceeded"},
	})
}

// TestWebhookUnsignedDecisions: a server without a signing key records
// decisions without a VSA; the webhook wants a signed VSA unless told
// otherwise.
func TestWebhookUnsignedDecisions(t *testing.T) {
	m := newMLSecServer(t, false)
	m.add(model{source: irisOCI, weight: 1, sign: true, state: store.StateReleased, serving: true})
	isvc := []byte(fixture(t, "isvc-create.json"))
	c, err := admission.NewClient(m.url, m.auditor, nil)
	if err != nil {
		t.Fatal(err)
	}
	runCases(t, startWebhook(t, admission.Config{Resolver: c}), []reviewCase{
		{name: "signed VSA required", body: isvc, msg: "without a signed VSA"},
	})
	lax, err := admission.NewClient(m.url, m.auditor, nil)
	if err != nil {
		t.Fatal(err)
	}
	lax.AllowUnsigned = true
	runCases(t, startWebhook(t, admission.Config{Resolver: lax}), []reviewCase{
		{name: "unsigned allowed", body: isvc, allowed: true, msg: "serving gate passed"},
	})
}
