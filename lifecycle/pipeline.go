package lifecycle

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// PipelineAPIVersion is the apiVersion of pipeline files.
const PipelineAPIVersion = "mlsec.dev/pipeline/v1"

// MaxPipelineSize bounds a pipeline file.
const MaxPipelineSize = 4 << 20

// Source trust levels of an artifact's origin.
const (
	SourceTrusted   = "trusted"
	SourceUntrusted = "untrusted"
)

// Pipeline is a parsed pipeline file: the organisation's artifacts, their
// sources, the identities and roles that sign decisions, and the gates of
// each stage. docs/lifecycle.md describes the file.
type Pipeline struct {
	// File is the path the pipeline was read from ("" when parsed from bytes).
	File       string `json:"file,omitempty"`
	APIVersion string `json:"apiVersion"`
	Name       string `json:"name"`
	// Identities that sign decisions, approvals and artifacts.
	Identities []Identity `json:"identities,omitempty"`
	// Roles maps a role id (see RACI) to identity names.
	Roles map[string][]string `json:"roles,omitempty"`
	// Sources are the upstream locations artifacts may come from.
	Sources   []Source      `json:"sources,omitempty"`
	Artifacts []ArtifactDef `json:"artifacts,omitempty"`
	// Stages configures the gate of each stage, keyed by stage name.
	Stages map[string]StageConfig `json:"stages,omitempty"`
}

// Identity is a signer known to the pipeline.
type Identity struct {
	Name string `json:"name"`
	// Key is a PEM public key file (relative paths are relative to the
	// pipeline file), for key-signed bundles.
	Key string `json:"key,omitempty"`
	// Email or URI of a certificate or keyless identity, recorded for
	// display and role mapping.
	Subject string `json:"subject,omitempty"`
	Line    int    `json:"-"`
}

// Source is an upstream location and how far it is trusted.
type Source struct {
	// URL is a prefix: an artifact source matches when it starts with it.
	URL   string `json:"url"`
	Trust string `json:"trust"`
	Line  int    `json:"-"`
}

// ArtifactDef is one artifact the pipeline knows.
type ArtifactDef struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Path locates it on disk, relative to the pipeline file.
	Path string `json:"path,omitempty"`
	// Source is the upstream URL (empty for artifacts made in-house).
	Source string `json:"source,omitempty"`
	// Trust is "trusted" or "untrusted".
	Trust string `json:"trust"`
	// Stages are the stages whose gates the artifact passes through.
	Stages []string `json:"stages,omitempty"`
	// Exceptions accept the findings of named scanner rules for this
	// artifact at one stage (see Exception).
	Exceptions []Exception `json:"exceptions,omitempty"`
	Line       int         `json:"-"`
}

// Exception accepts, for one artifact at one stage, the findings of named
// scanner rules: a dataset of prompt-injection examples (the training set
// of an injection classifier) legitimately trips the RAG rules at the data
// gate. The gate's rules are not weakened: the accepted findings are taken
// out of the scan evidence before the policies run and are recorded, with
// the reason and approver, in the gate decision and its VSA. Not-analysed
// findings (MLSEC-SCAN-*) cannot be accepted: a file nobody read is never
// clean.
type Exception struct {
	Stage string   `json:"stage"`
	Rules []string `json:"rules"`
	// Reason says why the findings are expected; ApprovedBy names a
	// declared identity holding the security-engineer role.
	Reason     string `json:"reason"`
	ApprovedBy string `json:"approved_by"`
	Line       int    `json:"-"`
}

// ExceptionRole is the role an exception's approver must hold.
const ExceptionRole = "security-engineer"

// StageConfig is the gate configuration of one stage.
type StageConfig struct {
	// Policies are "builtin:NAME" or policy files relative to the pipeline.
	Policies []string `json:"policies,omitempty"`
	// Params override the policies' parameters.
	Params map[string]any `json:"params,omitempty"`
	// ParamNodes keep the parameters' YAML nodes for positioned errors.
	ParamNodes map[string]*yaml.Node `json:"-"`
	Line       int                   `json:"-"`
}

// PositionError is an error at a line and column of a file.
type PositionError struct {
	File         string
	Line, Column int
	Msg          string
}

func (e *PositionError) Error() string {
	f := e.File
	if f == "" {
		f = "pipeline"
	}
	return fmt.Sprintf("%s:%d:%d: %s", f, e.Line, e.Column, e.Msg)
}

// Unwrap makes every position error an ErrPipeline.
func (e *PositionError) Unwrap() error { return ErrPipeline }

// LoadPipeline reads and validates a pipeline file.
func LoadPipeline(path string) (*Pipeline, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("lifecycle: %w", err)
	}
	defer f.Close()
	data := make([]byte, MaxPipelineSize+1)
	n, _ := readAtMost(f, data)
	if n > MaxPipelineSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrPipeline, path, MaxPipelineSize)
	}
	return ParsePipeline(path, data[:n])
}

// ParsePipeline parses and validates a pipeline file's content. Every
// problem is reported with its line and column; the returned error joins
// them (each a *PositionError wrapping ErrPipeline).
func ParsePipeline(file string, data []byte) (*Pipeline, error) {
	raci, err := LoadRACI()
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &PositionError{File: file, Line: yamlErrLine(err), Column: 1, Msg: err.Error()}
	}
	p := &Pipeline{File: file, Roles: map[string][]string{}, Stages: map[string]StageConfig{}}
	v := &validator{file: file}
	if len(doc.Content) == 0 {
		return nil, &PositionError{File: file, Line: 1, Column: 1, Msg: "empty pipeline file"}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, v.at(root, "pipeline file must be a mapping")
	}
	identityNames := map[string]bool{}
	var roleRefs []*yaml.Node
	type paramRef struct {
		param string
		node  *yaml.Node
	}
	var identityParamRefs []paramRef
	var approverRefs []*yaml.Node
	v.mapping(root, map[string]func(k, n *yaml.Node){
		"apiVersion": func(_, n *yaml.Node) {
			p.APIVersion = v.str(n)
			if p.APIVersion != PipelineAPIVersion {
				v.errs = append(v.errs, v.at(n, fmt.Sprintf("apiVersion %q: want %s", p.APIVersion, PipelineAPIVersion)))
			}
		},
		"name": func(_, n *yaml.Node) { p.Name = v.str(n) },
		"identities": func(_, n *yaml.Node) {
			for _, item := range v.seq(n) {
				id := Identity{Line: item.Line}
				v.mapping(item, map[string]func(k, n *yaml.Node){
					"name":    func(_, n *yaml.Node) { id.Name = v.str(n) },
					"key":     func(_, n *yaml.Node) { id.Key = v.str(n) },
					"subject": func(_, n *yaml.Node) { id.Subject = v.str(n) },
				})
				switch {
				case id.Name == "":
					v.errs = append(v.errs, v.at(item, "identity has no name"))
				case identityNames[id.Name]:
					v.errs = append(v.errs, v.at(item, fmt.Sprintf("duplicate identity %q", id.Name)))
				case id.Key == "" && id.Subject == "":
					v.errs = append(v.errs, v.at(item, fmt.Sprintf("identity %q needs a key or a subject", id.Name)))
				}
				identityNames[id.Name] = true
				p.Identities = append(p.Identities, id)
			}
		},
		"roles": func(_, n *yaml.Node) {
			if n.Kind != yaml.MappingNode {
				v.errs = append(v.errs, v.at(n, "roles must map role ids to identity names"))
				return
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, val := n.Content[i], n.Content[i+1]
				if !raci.HasRole(k.Value) {
					v.errs = append(v.errs, v.at(k, fmt.Sprintf("unknown role %q (want one of %s)", k.Value, strings.Join(raci.RoleIDs(), ", "))))
					continue
				}
				for _, idn := range v.seq(val) {
					p.Roles[k.Value] = append(p.Roles[k.Value], v.str(idn))
					roleRefs = append(roleRefs, idn)
				}
			}
		},
		"sources": func(_, n *yaml.Node) {
			for _, item := range v.seq(n) {
				s := Source{Line: item.Line, Trust: SourceUntrusted}
				v.mapping(item, map[string]func(k, n *yaml.Node){
					"url":   func(_, n *yaml.Node) { s.URL = v.str(n) },
					"trust": func(_, n *yaml.Node) { s.Trust = v.trust(n) },
				})
				if s.URL == "" {
					v.errs = append(v.errs, v.at(item, "source has no url"))
				}
				p.Sources = append(p.Sources, s)
			}
		},
		"artifacts": func(_, n *yaml.Node) {
			seen := map[string]int{}
			for _, item := range v.seq(n) {
				a := ArtifactDef{Line: item.Line, Trust: ""}
				v.mapping(item, map[string]func(k, n *yaml.Node){
					"name":   func(_, n *yaml.Node) { a.Name = v.str(n) },
					"kind":   func(_, n *yaml.Node) { a.Kind = v.kind(n) },
					"path":   func(_, n *yaml.Node) { a.Path = v.str(n) },
					"source": func(_, n *yaml.Node) { a.Source = v.str(n) },
					"trust":  func(_, n *yaml.Node) { a.Trust = v.trust(n) },
					"stages": func(_, n *yaml.Node) {
						for _, s := range v.seq(n) {
							a.Stages = append(a.Stages, v.stage(s))
						}
					},
					"exceptions": func(_, n *yaml.Node) {
						for _, item := range v.seq(n) {
							e := Exception{Line: item.Line}
							var approver *yaml.Node
							v.mapping(item, map[string]func(k, n *yaml.Node){
								"stage": func(_, n *yaml.Node) { e.Stage = v.stage(n) },
								"rules": func(_, n *yaml.Node) {
									for _, r := range v.seq(n) {
										id := v.str(r)
										if !exceptionRuleID(id) {
											v.errs = append(v.errs, v.at(r, fmt.Sprintf("exception rule %q: want a scanner rule id such as RAG-005 (MLSEC-SCAN rules, files not analysed, cannot be accepted)", id)))
										}
										e.Rules = append(e.Rules, id)
									}
								},
								"reason":      func(_, n *yaml.Node) { e.Reason = strings.TrimSpace(v.str(n)) },
								"approved_by": func(_, n *yaml.Node) { e.ApprovedBy, approver = v.str(n), n },
							})
							switch {
							case e.Stage == "":
								v.errs = append(v.errs, v.at(item, "exception has no stage"))
							case len(e.Rules) == 0:
								v.errs = append(v.errs, v.at(item, "exception names no rules"))
							case e.Reason == "":
								v.errs = append(v.errs, v.at(item, "exception has no reason"))
							case approver == nil:
								v.errs = append(v.errs, v.at(item, "exception has no approved_by (an identity with the "+ExceptionRole+" role)"))
							default:
								approverRefs = append(approverRefs, approver)
							}
							a.Exceptions = append(a.Exceptions, e)
						}
					},
				})
				for _, e := range a.Exceptions {
					if e.Stage != "" && len(a.Stages) > 0 && !slices.Contains(a.Stages, e.Stage) {
						v.errs = append(v.errs, v.at(item, fmt.Sprintf("artifact %q: exception for stage %q, which is not one of its stages", a.Name, e.Stage)))
					}
				}
				if a.Name == "" {
					v.errs = append(v.errs, v.at(item, "artifact has no name"))
				} else if first, dup := seen[a.Name]; dup {
					v.errs = append(v.errs, v.at(item, fmt.Sprintf("duplicate artifact name %q (first defined on line %d)", a.Name, first)))
				} else {
					seen[a.Name] = item.Line
				}
				if a.Kind == "" {
					v.errs = append(v.errs, v.at(item, fmt.Sprintf("artifact %q has no kind", a.Name)))
				}
				if a.Trust == "" {
					a.Trust = SourceTrusted
					if a.Source != "" {
						a.Trust = SourceUntrusted
					}
				}
				p.Artifacts = append(p.Artifacts, a)
			}
		},
		"stages": func(_, n *yaml.Node) {
			if n.Kind != yaml.MappingNode {
				v.errs = append(v.errs, v.at(n, "stages must map stage names to gate configurations"))
				return
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, val := n.Content[i], n.Content[i+1]
				name := v.stage(k)
				sc := StageConfig{Line: k.Line, Params: map[string]any{}, ParamNodes: map[string]*yaml.Node{}}
				v.mapping(val, map[string]func(k, n *yaml.Node){
					"policies": func(_, n *yaml.Node) {
						for _, s := range v.seq(n) {
							sc.Policies = append(sc.Policies, v.str(s))
						}
					},
					"params": func(_, n *yaml.Node) {
						if n.Kind != yaml.MappingNode {
							v.errs = append(v.errs, v.at(n, "params must be a mapping"))
							return
						}
						for j := 0; j+1 < len(n.Content); j += 2 {
							var x any
							if err := n.Content[j+1].Decode(&x); err != nil {
								v.errs = append(v.errs, v.at(n.Content[j+1], err.Error()))
								continue
							}
							name, val := n.Content[j].Value, n.Content[j+1]
							sc.Params[name] = x
							sc.ParamNodes[name] = val
							// By convention a parameter NAME_roles lists role
							// ids and NAME_identities lists identity names: a
							// typo would make the gate unpassable.
							switch {
							case strings.HasSuffix(name, "_roles") && val.Kind == yaml.SequenceNode:
								for _, r := range val.Content {
									if r.Kind == yaml.ScalarNode && !raci.HasRole(r.Value) {
										v.errs = append(v.errs, v.at(r, fmt.Sprintf("%s: unknown role %q (want one of %s)", name, r.Value, strings.Join(raci.RoleIDs(), ", "))))
									}
								}
							case strings.HasSuffix(name, "_identities") && val.Kind == yaml.SequenceNode:
								for _, r := range val.Content {
									if r.Kind == yaml.ScalarNode {
										identityParamRefs = append(identityParamRefs, paramRef{name, r})
									}
								}
							}
						}
					},
				})
				if name != "" {
					if _, dup := p.Stages[name]; dup {
						v.errs = append(v.errs, v.at(k, fmt.Sprintf("stage %q configured twice", name)))
					}
					p.Stages[name] = sc
				}
			}
		},
	})
	for _, r := range roleRefs {
		if !identityNames[r.Value] {
			v.errs = append(v.errs, v.at(r, fmt.Sprintf("role member %q is not a declared identity", r.Value)))
		}
	}
	for _, r := range approverRefs {
		if !slices.Contains(p.Roles[ExceptionRole], r.Value) {
			v.errs = append(v.errs, v.at(r, fmt.Sprintf("exception approved_by %q: not an identity with the %s role", r.Value, ExceptionRole)))
		}
	}
	for _, r := range identityParamRefs {
		if !identityNames[r.node.Value] {
			v.errs = append(v.errs, v.at(r.node, fmt.Sprintf("%s: %q is not a declared identity", r.param, r.node.Value)))
		}
	}
	if p.APIVersion == "" {
		v.errs = append(v.errs, v.at(root, "missing apiVersion: "+PipelineAPIVersion))
	}
	if len(v.errs) > 0 {
		return nil, errors.Join(v.errs...)
	}
	return p, nil
}

// exceptionRuleID accepts scanner rule ids (LETTERS-DIGITS, e.g. RAG-005)
// other than the not-analysed rules MLSEC-SCAN-*.
func exceptionRuleID(id string) bool {
	if strings.HasPrefix(id, "MLSEC-SCAN-") {
		return false
	}
	i := strings.LastIndexByte(id, '-')
	if i <= 0 || i == len(id)-1 {
		return false
	}
	for _, c := range id[:i] {
		if !('A' <= c && c <= 'Z') && !('0' <= c && c <= '9') && c != '-' {
			return false
		}
	}
	for _, c := range id[i+1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ExceptionsAt returns the artifact's exceptions for stage.
func (a ArtifactDef) ExceptionsAt(stage string) []Exception {
	var out []Exception
	for _, e := range a.Exceptions {
		if e.Stage == stage {
			out = append(out, e)
		}
	}
	return out
}

// Resolve returns path relative to the pipeline file's directory.
func (p *Pipeline) Resolve(path string) string {
	if path == "" || filepath.IsAbs(path) || p.File == "" {
		return path
	}
	return filepath.Join(filepath.Dir(p.File), path)
}

// Artifact returns the artifact definition whose resolved path is path (or
// whose name is path).
func (p *Pipeline) Artifact(path string) (ArtifactDef, bool) {
	abs, _ := filepath.Abs(path)
	for _, a := range p.Artifacts {
		if a.Name == path {
			return a, true
		}
		if a.Path != "" {
			if x, _ := filepath.Abs(p.Resolve(a.Path)); x == abs {
				return a, true
			}
		}
	}
	return ArtifactDef{}, false
}

// RolesOf returns the roles an identity holds, sorted.
func (p *Pipeline) RolesOf(identity string) []string {
	var out []string
	for role, ids := range p.Roles {
		if slices.Contains(ids, identity) {
			out = append(out, role)
		}
	}
	slices.Sort(out)
	return out
}

// SourceAllowed reports whether url starts with one of the pipeline's
// sources, and the trust that source declares.
func (p *Pipeline) SourceAllowed(url string) (allowed bool, trust string) {
	for _, s := range p.Sources {
		if url != "" && strings.HasPrefix(url, s.URL) {
			return true, s.Trust
		}
	}
	return false, SourceUntrusted
}

type validator struct {
	file string
	errs []error
}

func (v *validator) at(n *yaml.Node, msg string) error {
	return &PositionError{File: v.file, Line: n.Line, Column: n.Column, Msg: msg}
}

// mapping walks a mapping node, rejecting unknown and duplicate keys.
func (v *validator) mapping(n *yaml.Node, fields map[string]func(k, n *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		v.errs = append(v.errs, v.at(n, "expected a mapping"))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		f, ok := fields[k.Value]
		if !ok {
			var names []string
			for name := range fields {
				names = append(names, name)
			}
			slices.Sort(names)
			v.errs = append(v.errs, v.at(k, fmt.Sprintf("unknown field %q (want one of %s)", k.Value, strings.Join(names, ", "))))
			continue
		}
		if seen[k.Value] {
			v.errs = append(v.errs, v.at(k, fmt.Sprintf("duplicate field %q", k.Value)))
			continue
		}
		seen[k.Value] = true
		f(k, val)
	}
}

func (v *validator) seq(n *yaml.Node) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		v.errs = append(v.errs, v.at(n, "expected a list"))
		return nil
	}
	return n.Content
}

func (v *validator) str(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		v.errs = append(v.errs, v.at(n, "expected a string"))
		return ""
	}
	return n.Value
}

func (v *validator) stage(n *yaml.Node) string {
	s := v.str(n)
	if _, ok := LookupStage(s); !ok && n.Kind == yaml.ScalarNode {
		v.errs = append(v.errs, v.at(n, fmt.Sprintf("unknown stage %q (want one of %s)", s, strings.Join(StageNames(), ", "))))
		return ""
	}
	return s
}

func (v *validator) kind(n *yaml.Node) Kind {
	k := Kind(v.str(n))
	if !ValidKind(k) && n.Kind == yaml.ScalarNode {
		var names []string
		for _, x := range Kinds() {
			names = append(names, string(x))
		}
		v.errs = append(v.errs, v.at(n, fmt.Sprintf("unknown artifact kind %q (want one of %s)", k, strings.Join(names, ", "))))
	}
	return k
}

func (v *validator) trust(n *yaml.Node) string {
	s := v.str(n)
	if s != SourceTrusted && s != SourceUntrusted && n.Kind == yaml.ScalarNode {
		v.errs = append(v.errs, v.at(n, fmt.Sprintf("trust %q: want trusted or untrusted", s)))
	}
	return s
}

// yamlErrLine extracts the line from a yaml syntax error ("yaml: line N: …").
func yamlErrLine(err error) int {
	var line int
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		fmt.Sscanf(msg[i+5:], "%d", &line)
	}
	if line == 0 {
		line = 1
	}
	return line
}
