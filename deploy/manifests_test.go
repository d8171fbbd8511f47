// Package deploy holds the Kubernetes manifests of mlsec admission serve;
// its test validates them against the Kubernetes OpenAPI schemas with
// kubeconform.
package deploy

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yannh/kubeconform/pkg/validator"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/mlsecops/mlsec/admission"
)

// newValidator is kubeconform in strict mode (undocumented fields are
// errors) reading the schemas vendored in testdata/schemas (see
// testdata/README.md): no network.
func newValidator(t *testing.T) validator.Validator {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "schemas"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := validator.New([]string{dir + "/{{ .ResourceKind }}{{ .KindSuffix }}.json"}, validator.Opts{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func validate(t *testing.T, v validator.Validator, name string, b []byte) (kinds []string, errs []string) {
	t.Helper()
	for _, res := range v.Validate(name, io.NopCloser(bytes.NewReader(b))) {
		sig, _ := res.Resource.Signature()
		kind := ""
		if sig != nil {
			kind = sig.Kind
		}
		switch res.Status {
		case validator.Valid:
			kinds = append(kinds, kind)
		case validator.Empty:
		default:
			msg := kind + ": "
			if res.Err != nil {
				msg += res.Err.Error()
			}
			for _, ve := range res.ValidationErrors {
				msg += " [" + ve.Path + ": " + ve.Msg + "]"
			}
			errs = append(errs, msg)
		}
	}
	return kinds, errs
}

func TestManifests(t *testing.T) {
	v := newValidator(t)
	files, err := filepath.Glob(filepath.Join("kubernetes", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue // kustomize's own file, not a Kubernetes object
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		kinds, errs := validate(t, v, f, b)
		for _, e := range errs {
			t.Errorf("%s: %s", f, e)
		}
		for _, k := range kinds {
			seen[k]++
		}
	}
	want := map[string]int{"Namespace": 1, "ServiceAccount": 1, "Issuer": 2, "Certificate": 2, "Deployment": 1,
		"PodDisruptionBudget": 1, "Service": 1, "ValidatingWebhookConfiguration": 1, "NetworkPolicy": 1}
	for k, n := range want {
		if seen[k] != n {
			t.Errorf("validated %d %s, want %d (all: %v)", seen[k], k, n, seen)
		}
	}
}

// TestValidatorRejects: the validator and its schemas do catch mistakes.
func TestValidatorRejects(t *testing.T) {
	v := newValidator(t)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("kubernetes", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, c := range []struct{ name, file, old, new string }{
		{"misspelled field", "validatingwebhookconfiguration.yaml", "failurePolicy:", "failurPolicy:"},
		{"wrong type", "deployment.yaml", "replicas: 2", "replicas: two"},
		{"unknown cert-manager field", "certificate.yaml", "renewBefore: 240h", "renewBefore: 240h\n  renewAfter: 1h"},
		{"bad enum", "certificate.yaml", "algorithm: ECDSA\n    size: 256\n    rotationPolicy", "algorithm: DSA\n    size: 256\n    rotationPolicy"},
		{"no schema for the kind", "service.yaml", "kind: Service", "kind: Servic"},
	} {
		src := read(c.file)
		if !strings.Contains(src, c.old) {
			t.Fatalf("%s: %s lacks %q", c.name, c.file, c.old)
		}
		if _, errs := validate(t, v, c.file, []byte(strings.Replace(src, c.old, c.new, 1))); len(errs) == 0 {
			t.Errorf("%s: accepted", c.name)
		}
	}
}

// TestWebhookConfiguration: the configuration decodes strictly into the
// admissionregistration/v1 types and agrees with the webhook and the
// Deployment.
func TestWebhookConfiguration(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("kubernetes", "validatingwebhookconfiguration.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg admissionregistrationv1.ValidatingWebhookConfiguration
	if err := yaml.UnmarshalStrict(b, &cfg); err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(filepath.Join("kubernetes", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var dep appsv1.Deployment
	if err := yaml.UnmarshalStrict(bytes.SplitN(db, []byte("\n---\n"), 2)[0], &dep); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Webhooks) != 1 {
		t.Fatalf("%d webhooks", len(cfg.Webhooks))
	}
	w := cfg.Webhooks[0]
	if w.ClientConfig.Service == nil || w.ClientConfig.Service.Path == nil || *w.ClientConfig.Service.Path != admission.Path {
		t.Errorf("webhook path %+v, want %s", w.ClientConfig.Service, admission.Path)
	}
	if w.FailurePolicy == nil || *w.FailurePolicy != admissionregistrationv1.Fail || *w.SideEffects != admissionregistrationv1.SideEffectClassNone {
		t.Errorf("failurePolicy %v sideEffects %v: want Fail and None (fail closed, dry-run safe)", w.FailurePolicy, w.SideEffects)
	}
	args := strings.Join(dep.Spec.Template.Spec.Containers[0].Args, " ")
	for _, f := range []string{"admission serve", "--tls-cert=/etc/mlsec/tls/tls.crt", "--timeout=2s", "--key=/etc/mlsec/trust/org.pub"} {
		if !strings.Contains(args, f) {
			t.Errorf("deployment args %q lack %q", args, f)
		}
	}
	// Every file a flag names is in a mounted volume.
	c := dep.Spec.Template.Spec.Containers[0]
	for _, a := range c.Args {
		_, file, ok := strings.Cut(a, "=")
		if !ok || !strings.HasPrefix(file, "/") {
			continue
		}
		mounted := false
		for _, vm := range c.VolumeMounts {
			if strings.HasPrefix(file, strings.TrimSuffix(vm.MountPath, "/")+"/") {
				mounted = true
			}
		}
		if !mounted {
			t.Errorf("%s names a file in no volume mount", a)
		}
	}
	// The webhook must answer (deny or warn) before the API server gives up.
	if w.TimeoutSeconds == nil || *w.TimeoutSeconds <= 2 {
		t.Errorf("timeoutSeconds %v must exceed the webhook's --timeout=2s", w.TimeoutSeconds)
	}
}
