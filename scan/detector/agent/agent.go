// Package agent is the detector for agent and tool manifests: MCP tool
// lists, MCP server manifests (server.json), MCP client configurations and
// A2A agent cards (recognised by content as format.MCPTools, MCPServer,
// MCPConfig and AgentCard; parsed by format/agent). It looks for tool
// poisoning (instructions for the model, cross-tool references and Unicode
// smuggling in names and descriptions — the text matchers are those of the
// rag detector) and for over-broad capabilities (shell tools, filesystem
// roots, network wildcards, unpinned packages, literal secrets, plain-HTTP
// remotes, agent cards without authentication). See docs/llmsecops.md.
package agent

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"sync"

	"github.com/mlsecops/mlsec/format"
	fagent "github.com/mlsecops/mlsec/format/agent"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/rag"
)

// Name is the detector's stable identifier.
const Name = "agent"

// Rule ids.
const (
	RulePoisoning = "AGENT-001"
	RuleCrossTool = "AGENT-002"
	RuleSmuggling = "AGENT-003"
	RuleShell     = "AGENT-004"
	RuleFSRoot    = "AGENT-005"
	RuleNetwork   = "AGENT-006"
	RuleUnpinned  = "AGENT-007"
	RuleSecret    = "AGENT-008"
	RulePlainHTTP = "AGENT-009"
	RuleNoAuth    = "AGENT-010"
)

// Limits of the detector, named in not-analysed verdicts.
const (
	// MaxDocumentBytes caps the manifest read into memory.
	MaxDocumentBytes   = 16 << 20
	LimitDocumentBytes = "agent_document_bytes"
	LimitJSONDepth     = "agent_json_depth"
	LimitItems         = "agent_items"
	LimitValues        = "agent_json_values"
	LimitString        = "agent_string_bytes"
	LimitHTMLDepth     = "agent_html_depth"
)

//go:embed rules.yaml
var rulesYAML []byte

// Detector checks agent and tool manifests.
type Detector struct {
	scan.Base
	// checker compiles its patterns (and the rag matchers) on first use.
	checker func() *Checker
}

var _ scan.Detector = (*Detector)(nil)

// New returns the detector; cfg is not used.
func New(cfg scan.Config) (scan.Detector, error) {
	b := scan.NewBase(Name, []format.Kind{format.MCPTools, format.MCPServer, format.MCPConfig, format.AgentCard}, rulesYAML)
	return &Detector{Base: b, checker: sync.OnceValue(NewChecker)}, nil
}

// Scan implements scan.Detector.
func (d *Detector) Scan(ctx context.Context, in *scan.Input, sink scan.Sink) error {
	if in.Size > MaxDocumentBytes {
		return scan.NotAnalysedf(LimitDocumentBytes, "manifest of %d bytes exceeds the %d-byte cap of the agent manifest check", in.Size, MaxDocumentBytes)
	}
	data, err := scan.ReadAll(in, nil)
	if err != nil {
		return fmt.Errorf("agent: read: %w", err)
	}
	issues, err := d.checker().CheckDocument(data)
	for _, is := range issues {
		sink.Report(d.Finding(is.Rule, is.Detail, is.Path, -1))
	}
	return notAnalysed(err)
}

// notAnalysed turns a parse error into the not-analysed verdict naming
// the limit hit.
func notAnalysed(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fagent.ErrDepth):
		return scan.NotAnalysedf(LimitJSONDepth, "manifest nests deeper than %d levels", fagent.MaxDepth)
	case errors.Is(err, fagent.ErrItems):
		return scan.NotAnalysedf(LimitItems, "manifest lists more than %d tools, skills or servers", fagent.MaxItems)
	case errors.Is(err, fagent.ErrValues):
		return scan.NotAnalysedf(LimitValues, "manifest holds more than %d JSON values", fagent.MaxValues)
	case errors.Is(err, rag.ErrHTMLDepth):
		return scan.NotAnalysedf(LimitHTMLDepth, "a string of the manifest holds hidden HTML nested deeper than %d elements", rag.MaxHiddenDepth)
	case errors.Is(err, fagent.ErrString):
		return scan.NotAnalysedf(LimitString, "a string of the manifest is longer than %d bytes", fagent.MaxString)
	}
	return scan.NotAnalysedf("", "agent: %w", err)
}
