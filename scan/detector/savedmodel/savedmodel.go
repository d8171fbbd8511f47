// Package savedmodel is the TensorFlow SavedModel detector: graph and
// function-library ops that run Python, touch the file system beyond the
// model's own checkpoint, or stream tensors to debug sinks.
package savedmodel

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/savedmodel"
	"github.com/mlsecops/mlsec/format/savedmodel/tfpb"
	"github.com/mlsecops/mlsec/scan"
)

// Name is the detector's stable identifier.
const Name = "savedmodel"

// Rule ids.
const (
	RulePython    = "SAVEDMODEL-001"
	RuleWriteFile = "SAVEDMODEL-002"
	RuleFiles     = "SAVEDMODEL-003"
	RuleDebug     = "SAVEDMODEL-004"
	RuleMalformed = "SAVEDMODEL-005"
	RuleLimit     = "SAVEDMODEL-006"
)

var (
	//go:embed rules.yaml
	rulesYAML []byte
	//go:embed ops.yaml
	opsYAML []byte
)

// opsFile is the layout of ops.yaml.
type opsFile struct {
	Rules      map[string][]string `yaml:"rules"`
	Checkpoint []string            `yaml:"checkpoint"`
	PrintOps   []string            `yaml:"print_ops"`
}

// Detector examines SavedModel graphs.
type Detector struct {
	scan.Base
	ops   map[string]string // op -> rule id
	print map[string]bool
}

var _ scan.Detector = (*Detector)(nil)

// New returns the SavedModel detector.
func New(cfg scan.Config) (scan.Detector, error) {
	b := scan.NewBase(Name, []format.Kind{format.SavedModel}, rulesYAML)
	var of opsFile
	if err := yaml.Unmarshal(opsYAML, &of); err != nil {
		return nil, fmt.Errorf("savedmodel: parse ops.yaml: %w", err)
	}
	d := &Detector{Base: b, ops: map[string]string{}, print: map[string]bool{}}
	for id, ops := range of.Rules {
		if _, ok := d.RuleSet()[id]; !ok {
			return nil, fmt.Errorf("savedmodel: ops.yaml: unknown rule %s", id)
		}
		for _, op := range ops {
			d.ops[op] = id
		}
	}
	for _, op := range of.Checkpoint {
		if _, ok := d.ops[op]; ok {
			return nil, fmt.Errorf("savedmodel: ops.yaml: %s is both flagged and ordinary", op)
		}
	}
	for _, op := range of.PrintOps {
		d.print[op] = true
	}
	return d, nil
}

// Scan implements scan.Detector. The input is a saved_model.pb file, or a
// SavedModel directory (in.Dir) holding one.
func (d *Detector) Scan(ctx context.Context, in *scan.Input, sink scan.Sink) error {
	maxBytes := sink.Limits().MaxMemberBytes
	var (
		sm  *tfpb.SavedModel
		err error
	)
	switch {
	case in.R != nil:
		sm, err = savedmodel.Decode(in.R, in.Size, maxBytes)
	case in.Dir != "":
		sm, err = savedmodel.DecodeFile(in.Dir, maxBytes)
	default:
		return nil
	}
	switch {
	case errors.Is(err, savedmodel.ErrTooLarge):
		sink.Report(d.Finding(RuleLimit, "SavedModel not analysed: "+err.Error(), "", -1))
		return nil
	case errors.Is(err, savedmodel.ErrMalformed):
		sink.Report(d.Finding(RuleMalformed, "malformed SavedModel: "+err.Error(), "", -1))
		return nil
	case err != nil:
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	type use struct {
		rule, op, node, why string
		site                savedmodel.Site
		count               int
	}
	uses := map[string]*use{}
	var order []string
	savedmodel.Walk(sm, func(site savedmodel.Site, n *tfpb.NodeDef) {
		op := n.GetOp()
		rule, why := d.ops[op], ""
		if rule == "" && d.print[op] {
			for _, a := range savedmodel.StringAttrs(n) {
				if a.Name == "output_stream" && strings.HasPrefix(a.Value, "file://") {
					rule, why = RuleFiles, fmt.Sprintf(" printing to %q", a.Value)
				}
			}
		}
		if rule == "" {
			return
		}
		if why == "" {
			for _, a := range savedmodel.StringAttrs(n) {
				if a.Name == "memory_region_name" || a.Name == "debug_urls" {
					why += fmt.Sprintf(" (%s %q)", a.Name, a.Value)
				}
			}
		}
		key := fmt.Sprintf("%s\x00%s\x00%d\x00%s", rule, op, site.MetaGraph, site.Function)
		u := uses[key]
		if u == nil {
			u = &use{rule: rule, op: op, node: n.GetName(), why: why, site: site}
			uses[key] = u
			order = append(order, key)
		}
		u.count++
	})
	sort.SliceStable(order, func(i, j int) bool { return uses[order[i]].rule < uses[order[j]].rule })
	for _, k := range order {
		u := uses[k]
		msg := fmt.Sprintf("op %s%s in node %q of %s", u.op, u.why, u.node, u.site)
		if u.count > 1 {
			msg += fmt.Sprintf(" (%d nodes)", u.count)
		}
		sink.Report(d.Finding(u.rule, msg, u.op, -1))
	}
	return nil
}
