package admission

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// refuseAll is a Resolver that knows no artifact: the fuzz target needs
// the webhook's parsing, not a server.
type refuseAll struct{}

func (refuseAll) Resolve(_ context.Context, r Ref) (Verdict, error) {
	return Verdict{Reason: r.Raw + " is not a known artifact"}, nil
}

// TestBadRequests: the handler refuses what is not an AdmissionReview, and
// bounds the body.
func TestBadRequests(t *testing.T) {
	wh, err := New(Config{Resolver: refuseAll{}})
	if err != nil {
		t.Fatal(err)
	}
	h := wh.Handler()
	good, err := os.ReadFile(filepath.Join("testdata", "pod-plain.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, method, ctype, body string
		want                      int
	}{
		{"get", "GET", "", "", http.StatusMethodNotAllowed},
		{"yaml", "POST", "application/yaml", string(good), http.StatusUnsupportedMediaType},
		{"not json", "POST", "application/json", "{", http.StatusBadRequest},
		{"no request", "POST", "application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, http.StatusBadRequest},
		{"v1beta1", "POST", "application/json", strings.Replace(string(good), `"admission.k8s.io/v1"`, `"admission.k8s.io/v1beta1"`, 1), http.StatusBadRequest},
		{"too large", "POST", "application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"` + strings.Repeat("a", MaxReviewBytes) + `"}}`, http.StatusBadRequest},
		{"good", "POST", "application/json", string(good), http.StatusOK},
	} {
		req := httptest.NewRequest(c.method, Path, strings.NewReader(c.body))
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("%s: status %d, want %d (%s)", c.name, rec.Code, c.want, rec.Body)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 {
		t.Errorf("healthz: %d", rec.Code)
	}
}

// TestObjectLimits: too many references, and objects that do not decode,
// deny.
func TestObjectLimits(t *testing.T) {
	wh, err := New(Config{Resolver: refuseAll{}})
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for i := range MaxRefs + 1 {
		refs = append(refs, "s3://b/m"+strings.Repeat("x", i))
	}
	for _, c := range []struct {
		name, kind, obj, want string
	}{
		{"too many", "Pod", `{"metadata":{"namespace":"m","annotations":{"mlsec.dev/model":"` + strings.Join(refs, ",") + `"}}}`, "exceed the limit"},
		{"not an object", "Pod", `[1,2]`, "decoding the Pod"},
		{"storageUri not a string", "InferenceService", `{"spec":{"predictor":{"model":{"storageUri":7}}}}`, "storageUri is not a string"},
		{"storageUris objects", "InferenceService", `{"spec":{"predictor":{"model":{"storageUris":[{"uri":"s3://b/k","mountPath":"/mnt/a"}]}}}}`, "s3://b/k is not a known artifact"},
		{"storageUris junk", "InferenceService", `{"spec":{"predictor":{"model":{"storageUris":[{"path":"x"}]}}}}`, "neither a URI"},
		{"transformer storageUri", "InferenceService", `{"spec":{"predictor":{"model":{"storageUri":"s3://b/p"}},"transformer":{"storageUri":"s3://b/t"}}}`, "s3://b/p is not a known"},
	} {
		req := &admissionv1.AdmissionRequest{UID: "u", Operation: admissionv1.Create, Namespace: "m", Object: runtime.RawExtension{Raw: []byte(c.obj)}}
		req.Kind.Kind = c.kind
		if c.kind == "InferenceService" {
			req.Kind.Group = "serving.kserve.io"
		}
		resp := wh.Review(context.Background(), req)
		if resp.Allowed || !strings.Contains(resp.Result.Message, c.want) {
			t.Errorf("%s: allowed=%v %q; want a denial with %q", c.name, resp.Allowed, resp.Result.Message, c.want)
		}
	}
}

// FuzzReview: any object bytes get an answer, never a panic, and an object
// with a model reference is never admitted by a resolver that knows none.
func FuzzReview(f *testing.F) {
	for _, name := range []string{"isvc-create.json", "isvc-sklearn-update.json", "pod-storage-initializer.json", "pod-annotation-dryrun.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	wh, err := New(Config{Resolver: refuseAll{}})
	if err != nil {
		f.Fatal(err)
	}
	h := wh.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", Path, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		if rec.Code != 200 && rec.Code != 400 {
			t.Fatalf("status %d", rec.Code)
		}
		if rec.Code == 200 && strings.Contains(string(body), "://") && strings.Contains(rec.Body.String(), `"allowed":true`) &&
			strings.Contains(rec.Body.String(), "is not a known artifact") {
			t.Fatalf("admitted an unknown artifact: %s", rec.Body)
		}
	})
}
