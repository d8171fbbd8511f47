// Package archive is the detector for tar archives (plain, gzip, bzip2, xz,
// zstd), bare compressed streams and 7z archives. It reports member names
// and links that escape the archive root and archive bombs, and hands every
// regular member back to the runner through Sink.Nested, so a PyTorch
// checkpoint wrapped in 7z (the "nullifAI" evasion) or in a tarball is
// scanned like the checkpoint itself.
package archive

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/mlsecops/mlsec/format"
	farchive "github.com/mlsecops/mlsec/format/archive"
	"github.com/mlsecops/mlsec/scan"
)

// Name is the detector's name.
const Name = "archive"

// Rule ids.
const (
	RuleUnsafeName = "ARCHIVE-001"
	RuleUnsafeLink = "ARCHIVE-002"
	RuleBomb       = "ARCHIVE-003"
	RuleMalformed  = "ARCHIVE-004"
	RuleEncrypted  = "ARCHIVE-005"
	RuleLink       = "ARCHIVE-006"
)

// defaultMemThreshold is the largest member spooled in memory.
const defaultMemThreshold = 32 << 20

//go:embed rules.yaml
var rulesYAML []byte

// Detector examines tar, compressed and 7z archives.
type Detector struct {
	scan.Base
	// TempDir is where large members are spooled ("" for os.TempDir()).
	TempDir string
	// MemThreshold is the largest member held in memory; larger ones are
	// spooled to a temporary file in TempDir, removed after scanning.
	MemThreshold int64
}

var _ scan.Detector = (*Detector)(nil)

// New returns the detector.
func New(cfg scan.Config) (scan.Detector, error) {
	b := scan.NewBase(Name, []format.Kind{format.Tar, format.Gzip, format.Bzip2, format.XZ, format.Zstd, format.SevenZip}, rulesYAML)
	return &Detector{Base: b, MemThreshold: defaultMemThreshold}, nil
}

func (d *Detector) limits(l scan.Limits) farchive.Limits {
	return farchive.Limits{MaxEntries: l.MaxMembers, MaxBytes: l.MaxTotalBytes, MaxRatio: l.MaxRatio, MemThreshold: d.MemThreshold, TempDir: d.TempDir}
}

// Scan implements scan.Detector.
func (d *Detector) Scan(ctx context.Context, in *scan.Input, sink scan.Sink) error {
	lim := sink.Limits()
	var err error
	switch in.Kind {
	case format.SevenZip:
		err = d.scan7z(ctx, in, sink, lim)
	case format.Tar:
		err = d.scanTar(ctx, in, sink, lim)
	case format.Gzip, format.Bzip2, format.XZ, format.Zstd:
		err = d.scanStream(ctx, in, sink, lim)
	default:
		return fmt.Errorf("archive: unexpected kind %q", in.Kind)
	}
	return d.judge(err, sink)
}

// judge turns a walk error into a finding; only I/O failures stay errors.
func (d *Detector) judge(err error, sink scan.Sink) error {
	switch {
	case err == nil, errors.Is(err, scan.ErrLimit), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case farchive.IsBomb(err):
		sink.Report(d.Finding(RuleBomb, fmt.Sprintf("scan stopped: %v", err), "", -1))
	case errors.Is(err, farchive.ErrEncrypted):
		sink.Report(d.Finding(RuleEncrypted, err.Error(), "", -1))
	case errors.Is(err, farchive.ErrFormat):
		sink.Report(d.Finding(RuleMalformed, err.Error(), "", -1))
	default:
		return err
	}
	return nil
}

// checkEntry reports unsafe names and links.
func (d *Detector) checkEntry(e farchive.Entry, sink scan.Sink) {
	if why := farchive.UnsafeName(e.Name); why != "" {
		sink.Report(d.Finding(RuleUnsafeName, fmt.Sprintf("member %q: %s", e.Name, why), e.Name, -1))
	}
	if e.Type == "symlink" || e.Type == "hardlink" {
		if why := farchive.UnsafeLink(e.Name, e.Link, e.Type == "hardlink"); why != "" {
			sink.Report(d.Finding(RuleUnsafeLink, fmt.Sprintf("%s %q -> %q: %s", e.Type, e.Name, e.Link, why), e.Link, -1))
		} else {
			sink.Report(d.Finding(RuleLink, fmt.Sprintf("%s %q -> %q", e.Type, e.Name, e.Link), e.Link, -1))
		}
	}
}

// charged passes inflated bytes through, charging them to the artifact's
// decompression budget (shared with every nesting level); once the budget
// is spent it fails with the budget's *scan.NotAnalysedError.
type charged struct {
	r   io.Reader
	inf scan.Inflater
	err error
}

func (c *charged) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(p)
	if n > 0 {
		if cerr := c.inf.Inflate(0, int64(n)); cerr != nil {
			c.err = cerr
			return n, cerr
		}
	}
	return n, err
}

// charge charges one opened compressed stream and wraps its inflater; it
// returns nil for a plain (uncompressed) stream.
func charge(st *farchive.Stream, sink scan.Sink) (*charged, error) {
	if st.R == nil {
		return nil, nil
	}
	inf := scan.InflateBudget(sink)
	if err := inf.Inflate(1, 0); err != nil {
		return nil, err
	}
	c := &charged{r: st.R.R, inf: inf}
	st.R.R = c
	return c, nil
}

// spent returns the budget's error when c ran out, else err: a walk error
// caused by the budget (the tar reader words it as a format error) is the
// not-analysed verdict, not a malformed archive.
func spent(c *charged, err error) error {
	if c != nil && c.err != nil {
		return c.err
	}
	return err
}

func (d *Detector) scanTar(ctx context.Context, in *scan.Input, sink scan.Sink, lim scan.Limits) error {
	fl := d.limits(lim)
	st, err := farchive.Open(in.R, in.Size, fl)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := charge(st, sink)
	if err != nil {
		return err
	}
	return spent(c, farchive.WalkTar(ctx, st, fl, func(e farchive.Entry, body io.Reader) error {
		d.checkEntry(e, sink)
		if body == nil || e.Size == 0 {
			return nil
		}
		if e.Offset >= 0 && e.Offset+e.Size <= in.Size {
			// Plain tar: hand the member's bytes in place, no copy.
			return sink.Nested(ctx, e.Name, io.NewSectionReader(in.R, e.Offset, e.Size), e.Size)
		}
		return d.spoolNested(ctx, e.Name, body, lim, sink)
	}))
}

func (d *Detector) spoolNested(ctx context.Context, name string, body io.Reader, lim scan.Limits, sink scan.Sink) error {
	sp, err := farchive.Spool(body, lim.MaxMemberBytes, d.MemThreshold, d.TempDir)
	if err != nil {
		return err
	}
	defer sp.Close()
	return sink.Nested(ctx, name, sp, sp.Size)
}

// scanStream inflates a compressed stream that is not a tarball and hands
// its content to the runner.
func (d *Detector) scanStream(ctx context.Context, in *scan.Input, sink scan.Sink, lim scan.Limits) error {
	st, err := farchive.Open(in.R, in.Size, d.limits(lim))
	if err != nil {
		return err
	}
	defer st.Close()
	if st.R == nil {
		return fmt.Errorf("%w: %s stream without compression magic", farchive.ErrFormat, in.Kind)
	}
	c, err := charge(st, sink)
	if err != nil {
		return err
	}
	return spent(c, d.spoolNested(ctx, streamName(in), st.R, lim, sink))
}

// streamName names the content of a compressed stream after the input
// without its compression suffix ("model.pkl.gz" → "model.pkl").
func streamName(in *scan.Input) string {
	base := in.Member
	if base == "" {
		base = in.Path
	}
	if i := strings.LastIndex(base, "!"); i >= 0 {
		base = base[i+1:]
	}
	base = path.Base(strings.ReplaceAll(base, "\\", "/"))
	for _, ext := range []string{".gz", ".tgz", ".bz2", ".xz", ".zst", ".zstd", ".gzip"} {
		if strings.HasSuffix(strings.ToLower(base), ext) && len(base) > len(ext) {
			base = base[:len(base)-len(ext)]
			if ext == ".tgz" {
				base += ".tar"
			}
			break
		}
	}
	if base == "" || base == "." || base == "/" {
		return "content"
	}
	return base
}

func (d *Detector) scan7z(ctx context.Context, in *scan.Input, sink scan.Sink, lim scan.Limits) error {
	fl := d.limits(lim)
	// The ratio is judged over the whole archive: 7z packs members into
	// shared (solid) streams.
	consumed := &farchive.Counter{N: max(in.Size, 1)}
	var total int64
	inf := scan.InflateBudget(sink)
	var last *charged
	return farchive.Walk7z(ctx, in.R, in.Size, fl, func(e farchive.Entry, open func() (io.ReadCloser, error)) error {
		d.checkEntry(e, sink)
		if open == nil || e.Size == 0 {
			return nil
		}
		if err := inf.Inflate(1, 0); err != nil {
			return err
		}
		rc, err := open()
		if err != nil {
			if errors.Is(err, farchive.ErrEncrypted) {
				return err
			}
			sink.Report(d.Finding(RuleMalformed, err.Error(), e.Name, -1))
			return nil
		}
		defer rc.Close()
		last = &charged{r: rc, inf: inf}
		b := &farchive.Bounded{R: last, In: consumed, Max: fl.MaxBytes - total, Ratio: fl.MaxRatio, N: 0}
		// Ratio over the archive: count earlier members too.
		b.N = total
		b.Max = fl.MaxBytes
		sp, err := farchive.Spool(b, lim.MaxMemberBytes, d.MemThreshold, d.TempDir)
		total = b.N
		if last.err != nil {
			return last.err
		}
		if err != nil && farchive.IsEncrypted(err) {
			return fmt.Errorf("%w: %s: %v", farchive.ErrEncrypted, e.Name, err)
		}
		if err != nil {
			if errors.Is(err, farchive.ErrFormat) || !farchive.IsBomb(err) {
				sink.Report(d.Finding(RuleMalformed, fmt.Sprintf("member %s: %v", e.Name, err), e.Name, -1))
				return nil
			}
			return err
		}
		defer sp.Close()
		return sink.Nested(ctx, e.Name, sp, sp.Size)
	})
}
