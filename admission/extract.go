package admission

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Annotation names the model references of a Pod (or any object the
// webhook reviews): one or more references separated by commas or white
// space, e.g. mlsec.dev/model: oci://registry.example/team/m@sha256:….
const Annotation = "mlsec.dev/model"

// StorageInitializer is the name of the init container KServe injects to
// download a model; its arguments are source URI and destination pairs.
const StorageInitializer = "storage-initializer"

// objectMeta is the part of metadata the webhook reads.
type objectMeta struct {
	Name              string            `json:"name"`
	GenerateName      string            `json:"generateName"`
	Namespace         string            `json:"namespace"`
	Annotations       map[string]string `json:"annotations"`
	DeletionTimestamp *string           `json:"deletionTimestamp"`
}

type container struct {
	Name string   `json:"name"`
	Args []string `json:"args"`
}

// pod is the part of a core/v1 Pod the webhook reads.
type pod struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		InitContainers []container `json:"initContainers"`
	} `json:"spec"`
}

// inferenceService is the part of a serving.kserve.io/v1beta1
// InferenceService the webhook reads: its components, each a free-form
// object (the per-framework fields differ between KServe releases).
type inferenceService struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		Predictor   map[string]json.RawMessage `json:"predictor"`
		Transformer map[string]json.RawMessage `json:"transformer"`
		Explainer   map[string]json.RawMessage `json:"explainer"`
	} `json:"spec"`
}

// storageFields are the model location fields of a KServe component or
// of one of its framework specs (model, sklearn, xgboost, pytorch, ...):
// storageUri, a string, and storageUris, a list of strings or of objects
// with a uri.
type storageFields struct {
	URI  json.RawMessage `json:"storageUri"`
	URIs json.RawMessage `json:"storageUris"`
}

// podRefs returns the model references of a Pod: its annotation and the
// source arguments of KServe's storage-initializer init container.
func podRefs(raw []byte) (objectMeta, []string, error) {
	var p pod
	if err := json.Unmarshal(raw, &p); err != nil {
		return objectMeta{}, nil, fmt.Errorf("decoding the Pod: %w", err)
	}
	refs := annotationRefs(p.Metadata)
	for _, c := range p.Spec.InitContainers {
		if c.Name != StorageInitializer {
			continue
		}
		for _, a := range c.Args {
			if strings.Contains(a, "://") {
				refs = append(refs, a)
			}
		}
	}
	return p.Metadata, refs, nil
}

func annotationRefs(m objectMeta) []string {
	return strings.FieldsFunc(m.Annotations[Annotation], func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
}

// inferenceServiceRefs returns the model references of an
// InferenceService: storageUri and storageUris of each component
// (predictor, transformer, explainer) and of the objects directly inside
// it (spec.predictor.model, spec.predictor.sklearn, ...), plus the
// annotation.
func inferenceServiceRefs(raw []byte) (objectMeta, []string, error) {
	var is inferenceService
	if err := json.Unmarshal(raw, &is); err != nil {
		return objectMeta{}, nil, fmt.Errorf("decoding the InferenceService: %w", err)
	}
	refs := annotationRefs(is.Metadata)
	for _, comp := range []map[string]json.RawMessage{is.Spec.Predictor, is.Spec.Transformer, is.Spec.Explainer} {
		if comp == nil {
			continue
		}
		var err error
		if refs, err = appendStorage(refs, storageFields{URI: comp["storageUri"], URIs: comp["storageUris"]}); err != nil {
			return objectMeta{}, nil, err
		}
		for _, k := range slices.Sorted(maps.Keys(comp)) {
			v := comp[k]
			if len(v) == 0 || v[0] != '{' {
				continue
			}
			var sf storageFields
			if err := json.Unmarshal(v, &sf); err != nil {
				return objectMeta{}, nil, fmt.Errorf("%s: %w", k, err)
			}
			if refs, err = appendStorage(refs, sf); err != nil {
				return objectMeta{}, nil, fmt.Errorf("%s: %w", k, err)
			}
		}
	}
	return is.Metadata, refs, nil
}

// appendStorage adds the storageUri and storageUris of one object.
func appendStorage(refs []string, sf storageFields) ([]string, error) {
	if len(sf.URI) > 0 && string(sf.URI) != "null" {
		var s string
		if err := json.Unmarshal(sf.URI, &s); err != nil {
			return nil, fmt.Errorf("storageUri is not a string")
		}
		refs = append(refs, s)
	}
	if len(sf.URIs) == 0 || string(sf.URIs) == "null" {
		return refs, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(sf.URIs, &list); err != nil {
		return nil, fmt.Errorf("storageUris is not a list")
	}
	for _, u := range list {
		var s string
		if json.Unmarshal(u, &s) == nil {
			refs = append(refs, s)
			continue
		}
		var o struct {
			URI string `json:"uri"`
		}
		if err := json.Unmarshal(u, &o); err != nil || o.URI == "" {
			return nil, fmt.Errorf("storageUris: an entry is neither a URI nor an object with a uri")
		}
		refs = append(refs, o.URI)
	}
	return refs, nil
}

// dedupe keeps the first of equal references.
func dedupe(refs []string) []string {
	seen := map[string]bool{}
	out := refs[:0]
	for _, r := range refs {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}
