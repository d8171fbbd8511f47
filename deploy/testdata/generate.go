//go:build ignore

// generate writes the strict, standalone JSON schemas the manifest test
// gives kubeconform (the layout of its default schema registry:
// KIND-GROUP-VERSION.json, every $ref inlined, additionalProperties false
// on every object with properties, int-or-string and quantities accepting
// numbers), for the kinds deploy/ uses, from a Kubernetes OpenAPI v2
// document.
//
// The document is the Kubernetes v1.27.0 swagger.json that
// k8s.io/kube-openapi ships as pkg/schemaconv/testdata/swagger.json (a
// module in this repository's go.sum); the kinds deploy/ uses are stable
// v1 APIs unchanged since. The cert-manager schemas are not generated:
// they are copied from datreeio/CRDs-catalog (MIT; see README.md).
//
//	go run generate.go "$(go list -m -f '{{.Dir}}' k8s.io/kube-openapi)/pkg/schemaconv/testdata/swagger.json"
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

var kinds = map[string]string{ // file name -> definition
	"namespace-v1":                  "io.k8s.api.core.v1.Namespace",
	"serviceaccount-v1":             "io.k8s.api.core.v1.ServiceAccount",
	"service-v1":                    "io.k8s.api.core.v1.Service",
	"deployment-apps-v1":            "io.k8s.api.apps.v1.Deployment",
	"poddisruptionbudget-policy-v1": "io.k8s.api.policy.v1.PodDisruptionBudget",
	"networkpolicy-networking-v1":   "io.k8s.api.networking.v1.NetworkPolicy",
	"validatingwebhookconfiguration-admissionregistration-v1": "io.k8s.api.admissionregistration.v1.ValidatingWebhookConfiguration",
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run generate.go SWAGGER.json")
		os.Exit(2)
	}
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail(err)
	}
	var doc struct {
		Info        map[string]any            `json:"info"`
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		fail(err)
	}
	for file, def := range kinds {
		s, err := expand(doc.Definitions, def, map[string]bool{})
		if err != nil {
			fail(err)
		}
		s["$schema"] = "http://json-schema.org/draft-04/schema#"
		s["description"] = fmt.Sprintf("%s from the Kubernetes %v OpenAPI document (strict, standalone)", def, doc.Info["version"])
		out, err := json.MarshalIndent(s, "", " ")
		if err != nil {
			fail(err)
		}
		if err := os.WriteFile(filepath.Join("schemas", file+".json"), append(out, '\n'), 0o644); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "generate:", err)
	os.Exit(1)
}

// expand returns definition name with its references inlined.
func expand(defs map[string]map[string]any, name string, path map[string]bool) (map[string]any, error) {
	switch name {
	case "io.k8s.apimachinery.pkg.util.intstr.IntOrString":
		return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}, nil
	case "io.k8s.apimachinery.pkg.api.resource.Quantity":
		return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}}, nil
	}
	d, ok := defs[name]
	if !ok {
		return nil, fmt.Errorf("no definition %s", name)
	}
	if path[name] {
		return map[string]any{}, nil // a recursive type: accept anything below
	}
	path[name] = true
	defer delete(path, name)
	return node(defs, d, path)
}

func node(defs map[string]map[string]any, n map[string]any, path map[string]bool) (map[string]any, error) {
	if ref, ok := n["$ref"].(string); ok {
		return expand(defs, strings.TrimPrefix(ref, "#/definitions/"), path)
	}
	out := map[string]any{}
	for k, v := range n {
		switch {
		case k == "description" || strings.HasPrefix(k, "x-"):
		case k == "properties":
			props := map[string]any{}
			for pk, pv := range v.(map[string]any) {
				s, err := node(defs, pv.(map[string]any), path)
				if err != nil {
					return nil, err
				}
				props[pk] = s
			}
			out[k] = props
		case k == "items" || k == "additionalProperties":
			if m, ok := v.(map[string]any); ok {
				s, err := node(defs, m, path)
				if err != nil {
					return nil, err
				}
				out[k] = s
			} else {
				out[k] = v
			}
		default:
			out[k] = v
		}
	}
	if _, ok := out["properties"]; ok {
		if _, ok := out["additionalProperties"]; !ok {
			out["additionalProperties"] = false
		}
	}
	return out, nil
}
