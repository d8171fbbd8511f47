// Package keras is the detector for Keras models: Keras v3 .keras archives
// (config.json) and Keras 2 HDF5 models (the model_config and
// training_config attributes of the root group). It reports Lambda layers,
// references outside Keras (the CVE-2025-1550 family), TFSMLayer and
// file paths or URLs, and hands the archive's other members (weights,
// assets) back to the runner.
package keras

import (
	"archive/zip"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/archive"
	"github.com/mlsecops/mlsec/format/hdf5"
	kfmt "github.com/mlsecops/mlsec/format/keras"
	"github.com/mlsecops/mlsec/scan"
)

// Name is the detector's name.
const Name = "keras"

// Rule ids.
const (
	RuleLambda     = "KERAS-001"
	RuleDangerous  = "KERAS-002"
	RuleForeign    = "KERAS-003"
	RuleTFSMLayer  = "KERAS-004"
	RulePath       = "KERAS-005"
	RuleIncomplete = "KERAS-006"
	RuleZipSlip    = "KERAS-007"
	RuleBomb       = "KERAS-008"
)

//go:embed rules.yaml
var rulesYAML []byte

// Detector examines Keras models.
type Detector struct {
	scan.Base
	opt kfmt.Options
}

var _ scan.Detector = (*Detector)(nil)

// New returns the detector. The configuration's import allow and deny lists
// ("module:Name", "module:*") extend the Keras allowlist too.
func New(cfg scan.Config) (scan.Detector, error) {
	b := scan.NewBase(Name, []format.Kind{format.Keras, format.HDF5, format.KerasMetadata}, rulesYAML)
	return &Detector{Base: b, opt: kfmt.Options{Allow: cfg.Imports.Allow, Deny: cfg.Imports.Deny}}, nil
}

// Scan implements scan.Detector.
func (d *Detector) Scan(ctx context.Context, in *scan.Input, sink scan.Sink) error {
	switch in.Kind {
	case format.Keras:
		return d.scanArchive(ctx, in, sink)
	case format.HDF5:
		return d.scanH5(in, sink)
	case format.KerasMetadata:
		return d.scanMetadata(in, sink)
	}
	return fmt.Errorf("keras: unexpected kind %q", in.Kind)
}

func (d *Detector) scanArchive(ctx context.Context, in *scan.Input, sink scan.Sink) error {
	lim := sink.Limits()
	a, err := kfmt.OpenArchive(in.R, in.Size, d.opt)
	if err != nil {
		if errors.Is(err, kfmt.ErrLimit) {
			sink.Report(d.Finding(RuleIncomplete, fmt.Sprintf("config.json not examined: %v", err), "config.json", -1))
			return nil
		}
		return err
	}
	d.config(a.Config, "config.json", sink)
	for i, c := range a.Shadowed {
		d.config(c, fmt.Sprintf("config.json (duplicate entry %d of %d; zip readers disagree on which one loads)", i+1, len(a.Shadowed)+1), sink)
	}
	for _, f := range a.Members {
		if why := archive.UnsafeName(f.Name); why != "" {
			sink.Report(d.Finding(RuleZipSlip, fmt.Sprintf("member %q: %s", f.Name, why), f.Name, -1))
		}
	}
	for _, f := range a.Members {
		if f.FileInfo().IsDir() {
			continue
		}
		var err error
		if off, derr := f.DataOffset(); derr == nil && f.Method == zip.Store && f.CompressedSize64 == f.UncompressedSize64 &&
			off >= 0 && f.CompressedSize64 <= uint64(in.Size-off) {
			// Stored member: hand the bytes in place (weights can be large).
			err = sink.Nested(ctx, f.Name, io.NewSectionReader(in.R, off, int64(f.CompressedSize64)), int64(f.CompressedSize64))
		} else {
			err = d.nested(ctx, f.Name, func() (io.ReadCloser, error) { return f.Open() }, int64(f.CompressedSize64), lim, sink)
		}
		switch {
		case err == nil:
		case errors.Is(err, scan.ErrLimit):
			return nil
		case archive.IsBomb(err):
			sink.Report(d.Finding(RuleBomb, fmt.Sprintf("member %s: %v", f.Name, err), f.Name, -1))
			return nil
		default:
			sink.Report(d.Finding(RuleIncomplete, fmt.Sprintf("member %s not examined: %v", f.Name, err), f.Name, -1))
		}
	}
	return nil
}

// nested spools one member (bounded by size and ratio caps) and hands it to
// the runner.
func (d *Detector) nested(ctx context.Context, name string, open func() (io.ReadCloser, error), compressed int64, lim scan.Limits, sink scan.Sink) error {
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	b := &archive.Bounded{R: rc, In: &archive.Counter{N: max(compressed, 1)}, Max: lim.MaxMemberBytes, Ratio: lim.MaxRatio}
	sp, err := archive.Spool(b, lim.MaxMemberBytes, 32<<20, "")
	if err != nil {
		return err
	}
	defer sp.Close()
	return sink.Nested(ctx, name, sp, sp.Size)
}

func (d *Detector) scanH5(in *scan.Input, sink scan.Sink) error {
	root, err := hdf5.ReadRoot(in.R, in.Size, hdf5.Options{MaxAttrBytes: d.maxBytes()})
	if root == nil {
		return err
	}
	var found bool
	// Every attribute of these names is examined: a crafted file can hold
	// two, and readers need not agree on which one they return.
	for _, a := range root.Attributes {
		name := a.Name
		if name != "model_config" && name != "training_config" {
			continue
		}
		found = true
		if !a.IsString() || len(a.Strings) == 0 {
			sink.Report(d.Finding(RuleIncomplete, fmt.Sprintf("attribute %s is not a string (%s)", name, a.Class), name, a.Offset))
			continue
		}
		d.config([]byte(a.Strings[0]), name, sink)
	}
	if err != nil {
		sink.Report(d.Finding(RuleIncomplete, fmt.Sprintf("HDF5 root attributes only partly read: %v", err), "", -1))
		return nil
	}
	if !found && len(root.Skipped) > 0 {
		sink.Report(d.Finding(RuleIncomplete, fmt.Sprintf("HDF5 root attributes not read (%v): a model_config there was not examined", root.Skipped), "", -1))
	}
	return nil
}

// scanMetadata analyses the JSON configuration of every object in a
// keras_metadata.pb (tf.keras SavedModel format).
func (d *Detector) scanMetadata(in *scan.Input, sink scan.Sink) error {
	objs, err := kfmt.ReadMetadata(in.R, in.Size, kfmt.Options{MaxBytes: d.maxBytes()})
	for _, o := range objs {
		if len(o.Metadata) == 0 {
			continue
		}
		d.config(o.Metadata, fmt.Sprintf("%s node %d (%s)", kfmt.MetadataFileName, o.NodeID, o.NodePath), sink)
	}
	if err != nil {
		sink.Report(d.Finding(RuleIncomplete, fmt.Sprintf("%s only partly read: %v", kfmt.MetadataFileName, err), "", -1))
	}
	return nil
}

func (d *Detector) maxBytes() int64 {
	if d.opt.MaxBytes > 0 {
		return d.opt.MaxBytes
	}
	return 64 << 20
}

// config analyses one configuration document and reports its issues.
func (d *Detector) config(data []byte, where string, sink scan.Sink) {
	issues, err := kfmt.Analyze(data, d.opt)
	for _, is := range issues {
		var id string
		switch is.Kind {
		case kfmt.Lambda:
			id = RuleLambda
		case kfmt.DangerousReference:
			id = RuleDangerous
		case kfmt.ForeignReference:
			id = RuleForeign
		case kfmt.TFSMLayer:
			id = RuleTFSMLayer
		case kfmt.ExternalPath:
			id = RulePath
		default:
			continue
		}
		sink.Report(d.Finding(id, fmt.Sprintf("%s at %s: %s", where, is.Path, is.Detail), is.Subject, -1))
	}
	if err != nil {
		sink.Report(d.Finding(RuleIncomplete, fmt.Sprintf("%s: %v", where, err), where, -1))
	}
}
