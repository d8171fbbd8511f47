// Package hfrepo is the detector for Hugging Face model and dataset
// repositories (directories, including cache snapshots). It performs the
// repository-level checks — custom code loaded through auto_map or
// trust_remote_code, dataset loading scripts, pickle weights shipped beside
// safetensors — and records the repository's name and revision as facts.
// The repository's files are scanned one by one by the runner.
package hfrepo

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/hfrepo"
	"github.com/mlsecops/mlsec/scan"
)

// Name is the detector's name.
const Name = "hfrepo"

// Rule ids.
const (
	RuleAutoMap       = "HFREPO-001"
	RulePython        = "HFREPO-002"
	RuleLoadingScript = "HFREPO-003"
	RulePickleWeights = "HFREPO-004"
)

// Fact keys set through scan.Annotator.
const (
	FactRepository = "hf.repository"
	FactRevision   = "hf.revision"
	FactType       = "hf.type"
	FactSource     = "hf.source"
)

// maxNamed caps the file names listed in one finding message.
const maxNamed = 20

//go:embed rules.yaml
var rulesYAML []byte

// Detector examines repository directories.
type Detector struct {
	scan.Base
}

var _ scan.Detector = (*Detector)(nil)

// New returns the detector.
func New(cfg scan.Config) (scan.Detector, error) {
	b := scan.NewBase(Name, []format.Kind{format.HFRepo}, rulesYAML)
	return &Detector{Base: b}, nil
}

// Scan implements scan.Detector. Directories that are not repositories are
// ignored.
func (d *Detector) Scan(ctx context.Context, in *scan.Input, sink scan.Sink) error {
	if in.Dir == "" {
		return nil
	}
	ri, ok := hfrepo.IsRepo(in.Dir)
	if !ok {
		return nil
	}
	if a, ok := sink.(scan.Annotator); ok {
		a.Annotate(FactRepository, ri.Name)
		a.Annotate(FactType, ri.Type)
		a.Annotate(FactSource, ri.Source)
		if ri.Revision != "" {
			a.Annotate(FactRevision, ri.Revision)
		}
	}
	facts, err := hfrepo.Inspect(ri)
	switch {
	case errors.Is(err, hfrepo.ErrLimit):
		return scan.NotAnalysedf("hfrepo_files", "repository checks stopped: %w", err)
	case err != nil:
		return fmt.Errorf("hfrepo: %w", err)
	}
	d.judge(ri, facts, sink)
	return nil
}

func list(names []string) string {
	if len(names) > maxNamed {
		return strings.Join(names[:maxNamed], ", ") + fmt.Sprintf(" and %d more", len(names)-maxNamed)
	}
	return strings.Join(names, ", ")
}

func (d *Detector) judge(ri hfrepo.RepoInfo, f *hfrepo.Facts, sink scan.Sink) {
	covered := map[string]bool{}
	// auto_map: one finding per configuration file.
	byFile := map[string][]string{}
	var order []string
	for _, am := range f.AutoMaps {
		desc := fmt.Sprintf("%s -> %s (%s)", am.Auto, am.ModuleFile(), am.Class)
		switch {
		case am.Repo != "":
			desc = fmt.Sprintf("%s -> %s from repository %s (%s)", am.Auto, am.ModuleFile(), am.Repo, am.Class)
		case !am.Present:
			desc += " [file missing]"
		default:
			covered[am.ModuleFile()] = true
		}
		if _, ok := byFile[am.File]; !ok {
			order = append(order, am.File)
		}
		byFile[am.File] = append(byFile[am.File], desc)
	}
	for _, file := range order {
		sink.Report(d.Finding(RuleAutoMap,
			fmt.Sprintf("%s auto_map loads custom code with trust_remote_code: %s", file, list(byFile[file])), file, -1))
	}
	var other []string
	for _, p := range f.Python {
		if !covered[p] {
			other = append(other, p)
		}
	}
	if len(other) > 0 {
		if ri.Type == hfrepo.TypeDataset {
			sink.Report(d.Finding(RuleLoadingScript,
				fmt.Sprintf("dataset repository %s has Python loading code run by the datasets library: %s", ri.Name, list(other)), other[0], -1))
		} else {
			sink.Report(d.Finding(RulePython,
				fmt.Sprintf("%s repository %s ships Python files: %s", ri.Type, ri.Name, list(other)), other[0], -1))
		}
	}
	if len(f.Safetensors) > 0 && len(f.PickleWeights) > 0 {
		sink.Report(d.Finding(RulePickleWeights,
			fmt.Sprintf("pickle weights %s are also available as safetensors (%s): load the safetensors files", list(f.PickleWeights), list(f.Safetensors)), f.PickleWeights[0], -1))
	}
}
