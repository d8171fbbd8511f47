package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MaxReviewBytes bounds an AdmissionReview request body. The API server
// caps objects at 3 MiB; a review carries the object and, on UPDATE, the
// old object too.
const MaxReviewBytes = 8 << 20

// Path is where the webhook serves reviews.
const Path = "/validate"

// Resolver answers whether a model reference may be served.
type Resolver interface {
	Resolve(ctx context.Context, ref Ref) (Verdict, error)
}

var _ Resolver = (*Client)(nil)

// UnknownKinds says what happens to objects of kinds the webhook does not
// know (neither Pod nor InferenceService).
type UnknownKinds string

// The choices for unknown kinds.
const (
	UnknownDeny  UnknownKinds = "deny"
	UnknownAllow UnknownKinds = "allow"
)

// Config configures a Webhook.
type Config struct {
	Resolver Resolver
	// FailOpen admits, with a warning, objects whose references could not
	// be checked because the server (or, resolving an oci reference, the
	// registry) was unavailable. Definite answers (an
	// unknown, unreleased or failed artifact, an unpinned reference) deny
	// regardless.
	FailOpen bool
	// Unknown is what to do with kinds the webhook does not know (default
	// UnknownDeny: the webhook configuration sent them by mistake).
	Unknown UnknownKinds
	// RequireImmutable denies mutable locations (s3://, pvc://), whose
	// content can change after the gate.
	RequireImmutable bool
	// Timeout bounds the server lookups of one review (default 2 s); keep
	// it below the webhook configuration's timeoutSeconds so the webhook,
	// not the API server, decides.
	Timeout time.Duration
	Log     *slog.Logger
}

// Webhook is the validating admission handler.
type Webhook struct {
	cfg Config
	log *slog.Logger
}

// New returns a webhook; Resolver is required.
func New(cfg Config) (*Webhook, error) {
	if cfg.Resolver == nil {
		return nil, errors.New("admission: no resolver")
	}
	switch cfg.Unknown {
	case "":
		cfg.Unknown = UnknownDeny
	case UnknownDeny, UnknownAllow:
	default:
		return nil, fmt.Errorf("admission: unknown kinds must be deny or allow, not %q", cfg.Unknown)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Webhook{cfg: cfg, log: cfg.Log}, nil
}

// ServeHTTP answers one AdmissionReview (POST, JSON).
func (wh *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST an AdmissionReview", http.StatusMethodNotAllowed)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		http.Error(w, "Content-Type must be application/json", http.StatusUnsupportedMediaType)
		return
	}
	var review admissionv1.AdmissionReview
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxReviewBytes))
	if err := dec.Decode(&review); err != nil {
		http.Error(w, "bad AdmissionReview: "+err.Error(), http.StatusBadRequest)
		return
	}
	if review.Request == nil || review.APIVersion != "admission.k8s.io/v1" || review.Kind != "AdmissionReview" {
		http.Error(w, "bad AdmissionReview: want admission.k8s.io/v1 AdmissionReview with a request", http.StatusBadRequest)
		return
	}
	start := time.Now()
	resp := wh.Review(r.Context(), review.Request)
	out := admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(out); err != nil {
		wh.log.Warn("writing the admission response", "err", err)
	}
	req := review.Request
	msg := ""
	if resp.Result != nil {
		msg = resp.Result.Message
	}
	wh.log.Info("review", "uid", req.UID, "kind", req.Kind.Kind, "namespace", req.Namespace, "name", req.Name,
		"operation", req.Operation, "dry_run", req.DryRun != nil && *req.DryRun, "user", req.UserInfo.Username,
		"allowed", resp.Allowed, "message", msg, "warnings", len(resp.Warnings), "duration", time.Since(start))
}

// Review decides one admission request.
func (wh *Webhook) Review(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	resp := &admissionv1.AdmissionResponse{UID: req.UID}
	allow := func(msg string) *admissionv1.AdmissionResponse {
		resp.Allowed = true
		resp.Result = &metav1.Status{Status: metav1.StatusSuccess, Code: http.StatusOK, Message: msg}
		return resp
	}
	deny := func(msg string) *admissionv1.AdmissionResponse {
		resp.Allowed = false
		resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden,
			Message: "mlsec: " + msg}
		return resp
	}
	switch req.Operation {
	case admissionv1.Create, admissionv1.Update:
	default:
		return allow(fmt.Sprintf("mlsec checks CREATE and UPDATE, not %s", req.Operation))
	}
	var (
		meta objectMeta
		refs []string
		err  error
	)
	gk := req.Kind.Group + "/" + req.Kind.Kind
	switch {
	case req.Kind.Group == "" && req.Kind.Kind == "Pod":
		meta, refs, err = podRefs(req.Object.Raw)
	case req.Kind.Group == "serving.kserve.io" && req.Kind.Kind == "InferenceService":
		meta, refs, err = inferenceServiceRefs(req.Object.Raw)
	default:
		if wh.cfg.Unknown == UnknownAllow {
			return allow(fmt.Sprintf("mlsec does not check %s (unknown kinds allowed)", gk))
		}
		return deny(fmt.Sprintf("mlsec does not know kind %s %s; it checks Pods and serving.kserve.io InferenceServices (unknown kinds are denied: fix the webhook's rules, or run with --unknown-kinds allow)", req.Kind.Version, gk))
	}
	if err != nil {
		return deny(err.Error())
	}
	if req.Operation == admissionv1.Update && meta.DeletionTimestamp != nil {
		// Removing finalizers of an object on its way out must not wedge it.
		return allow("object is being deleted")
	}
	refs = dedupe(refs)
	if len(refs) == 0 {
		if gk == "/Pod" {
			return allow("no model reference")
		}
		return deny("the InferenceService names no model (no storageUri, storageUris or " + Annotation + " annotation): nothing to check, so nothing to admit")
	}
	if len(refs) > MaxRefs {
		return deny(fmt.Sprintf("%d model references exceed the limit of %d", len(refs), MaxRefs))
	}
	ns := cmpOr(meta.Namespace, req.Namespace)
	parsed := make([]Ref, 0, len(refs))
	for _, s := range refs {
		ref, err := ParseRef(s, ns)
		if err != nil {
			return deny(strings.TrimPrefix(err.Error(), ErrRef.Error()+": "))
		}
		if ref.Mutable && wh.cfg.RequireImmutable {
			return deny(fmt.Sprintf("%s is a mutable location (%s://): only content-addressed references are admitted (oci://…@sha256:…, hf://ORG/NAME@COMMIT)", s, ref.Scheme))
		}
		parsed = append(parsed, ref)
	}
	ctx, cancel := context.WithTimeout(ctx, wh.cfg.Timeout)
	defer cancel()
	var admitted, unavailable []string
	for _, ref := range parsed {
		v, err := wh.cfg.Resolver.Resolve(ctx, ref)
		if err != nil {
			wh.log.Warn("lookup failed", "ref", ref.Raw, "err", err)
			if !wh.cfg.FailOpen {
				who := "the mlsec server"
				if errors.Is(err, ErrRegistryUnavailable) {
					who = "the registry"
				}
				return deny(fmt.Sprintf("cannot check %s: %s did not answer (%v); failing closed", ref.Raw, who, err))
			}
			unavailable = append(unavailable, ref.Raw)
			continue
		}
		if !v.Allowed {
			return deny(v.Reason)
		}
		if ref.Mutable {
			resp.Warnings = append(resp.Warnings, fmt.Sprintf("mlsec: %s is a mutable location: its content can change after the gate", ref.Raw))
		}
		admitted = append(admitted, v.Reason)
	}
	for _, u := range unavailable {
		resp.Warnings = append(resp.Warnings, fmt.Sprintf("mlsec: %s was NOT checked (mlsec server or registry unavailable); admitted because the webhook runs with --fail-open", u))
	}
	msg := strings.Join(admitted, "; ")
	if len(unavailable) > 0 {
		msg = strings.TrimPrefix(msg+"; unchecked (fail-open): "+strings.Join(unavailable, ", "), "; ")
	}
	return allow(msg)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
