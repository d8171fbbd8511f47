package server

import (
	"encoding"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/store"
)

// schemaTypes names the Go type behind each schema a route refers to. The
// OpenAPI schemas are generated from these types' JSON encodings by
// reflection, so the document cannot drift from what handlers write.
func schemaTypes() map[string]reflect.Type {
	t := func(v any) reflect.Type { return reflect.TypeOf(v) }
	return map[string]reflect.Type{
		"Artifact":          t(store.Artifact{}),
		"ArtifactList":      t(ArtifactList{}),
		"ArtifactPut":       t(ArtifactPut{}),
		"ArtifactDetail":    t(ArtifactDetail{}),
		"RegisterRequest":   t(RegisterRequest{}),
		"FindingList":       t(FindingList{}),
		"FactList":          t(FactList{}),
		"DecisionList":      t(DecisionList{}),
		"HistoryList":       t(HistoryList{}),
		"EdgeList":          t(EdgeList{}),
		"Edge":              t(store.Edge{}),
		"ImpactList":        t(ImpactList{}),
		"ScanResult":        t(ScanResult{}),
		"VerifyResult":      t(VerifyResult{}),
		"GateRequest":       t(GateRequest{}),
		"GateResult":        t(GateResult{}),
		"OverrideRequest":   t(OverrideRequest{}),
		"AttestationResult": t(AttestationResult{}),
		"StageList":         t(StageList{}),
		"Coverage":          t(Coverage{}),
		"Maturity":          t(Maturity{}),
		"HubScanList":       t(HubScanList{}),
		"HubScanDetail":     t(HubScanDetail{}),
		"Stats":             t(StatsResponse{}),
		"AuditList":         t(AuditList{}),
		"AuditVerify":       t(AuditVerify{}),
		"Token":             t(store.Token{}),
		"TokenList":         t(TokenList{}),
		"TokenRequest":      t(TokenRequest{}),
		"TokenCreated":      t(TokenCreated{}),
		"Error":             t(ErrorBody{}),
		"JobAccepted":       t(JobAccepted{}),
		"JobStatus":         t(JobStatus{}),
		"HubScanRequest":    t(HubScanRequest{}),
		"HubScanStarted":    t(HubScanStarted{}),
	}
}

// schemaGen turns Go types into JSON Schema (OpenAPI 3.1 dialect),
// registering named struct types as components.
type schemaGen struct {
	components map[string]any
	names      map[reflect.Type]string
}

var (
	timeType          = reflect.TypeOf(time.Time{})
	textMarshalerType = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
	rawMessageType    = reflect.TypeOf(json.RawMessage{})
)

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawMessageType:
		return map[string]any{}
	case t.Implements(textMarshalerType) && t.Kind() != reflect.Struct:
		if t == reflect.TypeOf(mlsec.Severity(0)) {
			return map[string]any{"type": "string", "enum": []string{"none", "info", "low", "medium", "high", "critical"}}
		}
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.schema(t.Elem())
	case reflect.String:
		s := map[string]any{"type": "string"}
		switch t {
		case reflect.TypeOf(store.Digest("")):
			s["pattern"] = "^sha256:[0-9a-f]{64}$"
		case reflect.TypeOf(store.TrustState("")):
			s["enum"] = []string{"quarantined", "verified", "released", "revoked"}
		case reflect.TypeOf(store.Result("")):
			s["enum"] = []string{"pass", "warn", "fail"}
		case reflect.TypeOf(store.Role("")):
			var roles []string
			for _, r := range store.Roles() {
				roles = append(roles, string(r))
			}
			s["enum"] = roles
		}
		return s
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		return g.ref(t)
	}
	return map[string]any{}
}

// ref registers struct type t as a component and returns a $ref to it.
func (g *schemaGen) ref(t reflect.Type) map[string]any {
	name, ok := g.names[t]
	if !ok {
		name = t.Name()
		if name == "" {
			return g.object(t)
		}
		if _, taken := g.components[name]; taken {
			pkg := t.PkgPath()
			name = pkg[strings.LastIndex(pkg, "/")+1:] + "." + name
		}
		g.names[t] = name
		g.components[name] = nil // reserve against recursion
		g.components[name] = g.object(t)
	}
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	var allOf []any
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			allOf = append(allOf, g.schema(f.Type))
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.schema(f.Type)
		if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
			required = append(required, name)
		}
	}
	obj := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		obj["required"] = required
	}
	if len(allOf) > 0 {
		return map[string]any{"allOf": append(allOf, obj)}
	}
	return obj
}

// openAPI builds the OpenAPI 3.1 document from the route table.
func (s *Server) openAPI() map[string]any {
	g := &schemaGen{components: map[string]any{}, names: map[reflect.Type]string{}}
	types := schemaTypes()
	ref := func(name string) map[string]any {
		t, ok := types[name]
		if !ok {
			panic("server: route refers to unknown schema " + name) // caught by TestOpenAPI
		}
		return g.schema(t)
	}
	errResp := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{"schema": ref("Error")}}}
	}
	paths := map[string]any{}
	for _, rt := range s.routes {
		op := map[string]any{"operationId": rt.ID, "summary": rt.Summary, "tags": []string{rt.Tag}}
		if rt.mutating() || rt.Perm != PermRead {
			op["description"] = "Requires permission " + string(rt.Perm) + ", held by roles: " + strings.Join(rolesWith(rt.Perm), ", ") + "."
		}
		var params []any
		for _, p := range rt.Params {
			params = append(params, map[string]any{"name": p.Name, "in": p.In, "description": p.Desc, "required": p.Required, "schema": map[string]any{"type": p.Type}})
		}
		if params != nil {
			op["parameters"] = params
		}
		switch rt.Body {
		case "":
		case "binary":
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/octet-stream": map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}}
		case "Attestation":
			op["requestBody"] = map[string]any{"required": true, "description": "A Sigstore bundle (v0.3, DSSE), a DSSE envelope or an in-toto v1 statement, stored verbatim.",
				"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}}
		default:
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": ref(rt.Body)}}}
		}
		resp := map[string]any{}
		ok := map[string]any{"description": http.StatusText(rt.Status)}
		switch rt.Response {
		case "":
		case "binary":
			ok["content"] = map[string]any{"application/octet-stream": map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}
		default:
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": ref(rt.Response)}}
		}
		resp[strconv.Itoa(rt.Status)] = ok
		if rt.Async {
			resp["202"] = map[string]any{"description": "Accepted: queued on the job queue; poll the job's status_url",
				"content": map[string]any{"application/json": map[string]any{"schema": ref("JobAccepted")}}}
		}
		resp["400"] = errResp("invalid request (code invalid)")
		resp["401"] = errResp("missing or invalid token (code unauthorized)")
		resp["403"] = errResp("role lacks the permission (code forbidden)")
		resp["429"] = errResp("rate limited (code rate_limited)")
		if strings.Contains(rt.Path, "{") {
			resp["404"] = errResp("not found (code not_found)")
		}
		if rt.mutating() {
			resp["409"] = errResp("conflicts with stored state (code conflict)")
			resp["413"] = errResp("body too large (code too_large)")
		}
		op["responses"] = resp
		op["security"] = []any{map[string]any{"bearer": []string{}}}
		item, _ := paths[rt.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.Path] = item
		}
		item[strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "mlsec API",
			"version":     mlsec.Version,
			"description": "MLSecOps registry, evidence store and lifecycle gates. Errors are {\"error\":{\"code\",\"message\"}} with stable codes.",
		},
		"servers": []any{map[string]any{"url": "/"}},
		"paths":   paths,
		"components": map[string]any{
			"schemas":         g.components,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "mlsec API token"}},
		},
	}
}

// rolesWith lists the roles holding permission p.
func rolesWith(p Permission) []string {
	var out []string
	for _, r := range store.Roles() {
		if allowed(r, p) {
			out = append(out, string(r))
		}
	}
	return out
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, s.openAPI())
	return nil
}
