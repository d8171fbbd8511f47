package oci

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Limits bound what a pull may write into quarantine, before any
// signature is checked: the layers come from the registry, so a
// compressed tar layer (KitOps ModelKits, ModelPack .tar+gzip/.tar+zstd)
// could inflate without end. The names follow the scanner's limits
// (mlsec.yaml: max_inflated_bytes, max_inflated_members, max_ratio,
// max_depth); the values are a pull's, larger than a scan's budget,
// since a model's weights are many gigabytes. A zero field takes its
// default (DefaultLimits).
type Limits struct {
	// MaxInflatedBytes caps the bytes written into quarantine, all layers
	// together: raw layers by their declared sizes (checked before the
	// first byte is fetched), files extracted from tar layers as they are
	// written.
	MaxInflatedBytes int64
	// MaxInflatedMembers caps the entries (files and directories)
	// extracted from tar layers, all layers together.
	MaxInflatedMembers int64
	// MaxRatio caps a compressed tar layer's extracted bytes over its
	// compressed bytes, judged once more than ratioSlack bytes came out.
	MaxRatio int64
	// MaxDepth caps the path components of a file name.
	MaxDepth int
}

// Names of the limits in messages (the scanner's vocabulary).
const (
	LimitMaxInflatedBytes   = "max_inflated_bytes"
	LimitMaxInflatedMembers = "max_inflated_members"
	LimitMaxRatio           = "max_ratio"
	LimitMaxDepth           = "max_depth"
)

// DefaultLimits are the limits of a pull: 1 TiB written, 100 000 entries
// (transport.MaxMembers), a ratio of 200 (the scanner's) and 64 levels.
func DefaultLimits() Limits {
	return Limits{MaxInflatedBytes: 1 << 40, MaxInflatedMembers: 100_000, MaxRatio: 200, MaxDepth: 64}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxInflatedBytes <= 0 {
		l.MaxInflatedBytes = d.MaxInflatedBytes
	}
	if l.MaxInflatedMembers <= 0 {
		l.MaxInflatedMembers = d.MaxInflatedMembers
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = d.MaxRatio
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	return l
}

// ratioSlack is the extracted size below which the ratio is not judged:
// a small tar (512-byte headers, padding) compresses well.
const ratioSlack = 4 << 20

// budget is one pull's account against its Limits, shared by the layers
// fetched at once.
type budget struct {
	lim     Limits
	bytes   atomic.Int64
	members atomic.Int64
}

func newBudget(l Limits) *budget { return &budget{lim: l.withDefaults()} }

func limitErr(limit, format string, args ...any) error {
	return artifactErr("%s (limit %s)", fmt.Sprintf(format, args...), limit)
}

// declare charges a raw layer's declared size.
func (b *budget) declare(n int64) error {
	if t := b.bytes.Add(n); t > b.lim.MaxInflatedBytes {
		return limitErr(LimitMaxInflatedBytes, "the layers declare more than %d bytes", b.lim.MaxInflatedBytes)
	}
	return nil
}

// member charges one extracted entry.
func (b *budget) member() error {
	if b.members.Add(1) > b.lim.MaxInflatedMembers {
		return limitErr(LimitMaxInflatedMembers, "more than %d entries in the tar layers", b.lim.MaxInflatedMembers)
	}
	return nil
}

// depth checks a slash path's depth.
func (b *budget) depth(name string) error {
	if d := strings.Count(name, "/") + 1; d > b.lim.MaxDepth {
		return limitErr(LimitMaxDepth, "%q is %d levels deep, more than %d", name, d, b.lim.MaxDepth)
	}
	return nil
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// inflateReader charges the bytes a tar layer's decompressor yields
// against the budget and, for a compressed layer, the ratio over the
// compressed bytes read so far (compressed is nil for a plain tar).
type inflateReader struct {
	r          io.Reader
	b          *budget
	compressed *countReader
	n          int64
	layer      string
}

func (ir *inflateReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if n > 0 {
		ir.n += int64(n)
		if t := ir.b.bytes.Add(int64(n)); t > ir.b.lim.MaxInflatedBytes {
			return n, limitErr(LimitMaxInflatedBytes, "layer %s: more than %d bytes inflated", ir.layer, ir.b.lim.MaxInflatedBytes)
		}
		if ir.compressed != nil && ir.n > ratioSlack {
			if c := ir.compressed.n.Load(); ir.n > ir.b.lim.MaxRatio*max(c, 1) {
				return n, limitErr(LimitMaxRatio, "layer %s inflates more than %d times (%d bytes from %d)", ir.layer, ir.b.lim.MaxRatio, ir.n, c)
			}
		}
	}
	return n, err
}

// layerErr reports an error reading a layer: a limit's error as it is,
// anything else as a bad layer.
func layerErr(desc ocispec.Descriptor, err error) error {
	if errors.Is(err, ErrArtifact) {
		return err
	}
	return artifactErr("layer %s: %v", desc.Digest, err)
}
