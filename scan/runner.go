package scan

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	"github.com/mlsecops/mlsec"
	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/internal/regfile"
)

//go:embed rules.yaml
var runnerRulesYAML []byte

// Runner rule ids.
const (
	RuleParseError = "MLSEC-SCAN-001"
	RuleLimit      = "MLSEC-SCAN-002"
	RulePanic      = "MLSEC-SCAN-003"
	RuleSymlink    = "MLSEC-SCAN-004"
)

// ErrLimit is returned by Sink.Nested when a cap stops the recursion.
var ErrLimit = errors.New("scan: limit exceeded")

// maxReportedMembers caps the members listed per artifact in a report.
const maxReportedMembers = 1000

// RunnerRules returns the rules the runner itself reports.
func RunnerRules() []Rule { return MustParseRules(runnerRulesYAML) }

// Options configure a Runner beyond the detectors and Config.
type Options struct {
	// Workers is the number of files scanned at once (default: GOMAXPROCS).
	Workers int
	// Digest computes each file's sha256 (reads the whole file).
	Digest bool
	// Progress, when set, is called after each artifact with the number done
	// and the total. Calls are serialised.
	Progress func(done, total int)
	// Log receives debug and warning messages (default: discard).
	Log *slog.Logger
}

// Runner scans paths with a fixed set of detectors.
type Runner struct {
	byKind map[format.Kind][]Detector
	dirDet []Detector
	rules  RuleSet
	own    RuleSet
	limits Limits
	opts   Options
}

// NewRunner builds a runner for detectors with the caps of cfg.
func NewRunner(detectors []Detector, cfg Config, opts Options) *Runner {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	own := RunnerRules()
	r := &Runner{
		byKind: map[format.Kind][]Detector{},
		own:    NewRuleSet(own),
		limits: cfg.Limits.withDefaults(),
		opts:   opts,
	}
	all := append([]Rule(nil), own...)
	for _, d := range detectors {
		all = append(all, d.Rules()...)
		for _, k := range d.Kinds() {
			if k == format.HFRepo {
				r.dirDet = append(r.dirDet, d)
				continue
			}
			r.byKind[k] = append(r.byKind[k], d)
		}
	}
	r.rules = NewRuleSet(all)
	return r
}

// Rules returns every rule the runner and its detectors can report.
func (r *Runner) Rules() RuleSet { return r.rules }

// job is one unit of work: a file, or a directory for repository checks.
type job struct {
	path   string // as reported
	open   string // path to open (symlink target resolved)
	dir    bool
	issue  *mlsec.Finding // a finding known before opening (e.g. symlink escape)
	reason string         // with issue: why the file was not read, if not a link
}

// Scan examines every path: files directly, directories recursively. It
// returns an error only when a path cannot be read at all or ctx ends;
// problems with the content are findings.
func (r *Runner) Scan(ctx context.Context, paths []string) (*Result, error) {
	var jobs []job
	for _, p := range paths {
		js, err := r.collect(p)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, js...)
	}
	arts := make([]Artifact, len(jobs))
	keep := make([]bool, len(jobs))
	work := make(chan int)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	for w := 0; w < min(r.opts.Workers, max(len(jobs), 1)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				arts[i], keep[i] = r.scanJob(ctx, jobs[i])
				if r.opts.Progress != nil {
					mu.Lock()
					done++
					r.opts.Progress(done, len(jobs))
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for i := range jobs {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	res := &Result{Rules: r.rules}
	for i, a := range arts {
		if keep[i] {
			res.Artifacts = append(res.Artifacts, a)
		}
	}
	return res, nil
}

// collect expands one user-given path into jobs, in a deterministic order.
func (r *Runner) collect(root string) ([]job, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EIO, "scan: %w", err)
	}
	if !fi.IsDir() {
		if !fi.Mode().IsRegular() {
			return nil, mlsec.Errorf(mlsec.EINVALID, "scan: %w", regfile.NotRegular(root, fi.Mode()))
		}
		return []job{{path: root, open: root}}, nil
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return nil, mlsec.Errorf(mlsec.EIO, "scan: %w", err)
	}
	// Links may point anywhere inside the scanned tree and, for Hugging Face
	// cache snapshots (models--ORG--NAME/snapshots/REV), into the cache's blobs.
	allowed := []string{absRoot}
	if c := hfCacheRoot(absRoot); c != "" {
		allowed = append(allowed, c)
	}
	var jobs []job
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return mlsec.Errorf(mlsec.EIO, "scan: %w", err)
		}
		switch {
		case d.IsDir():
			if d.Name() == ".git" && p != root {
				return filepath.SkipDir
			}
			// In a Hugging Face cache entry the snapshots link every file
			// into blobs/: scan them once, through the snapshot links, where
			// the repository and revision are known.
			if d.Name() == "blobs" && p != root && isHFCacheEntry(filepath.Dir(p)) {
				if fi, err := os.Stat(filepath.Join(filepath.Dir(p), "snapshots")); err == nil && fi.IsDir() {
					return filepath.SkipDir
				}
			}
			if len(r.dirDet) > 0 {
				jobs = append(jobs, job{path: p, open: p, dir: true})
			}
		case d.Type()&fs.ModeSymlink != 0:
			jobs = append(jobs, r.linkJob(p, allowed))
		case d.Type().IsRegular():
			jobs = append(jobs, job{path: p, open: p})
		default: // FIFO, socket, device: never opened, never a silent pass
			f := r.own.Finding(RuleParseError, regfile.NotRegular(p, d.Type()).Error(), "", -1)
			jobs = append(jobs, job{path: p, issue: &f, reason: "not a regular file"})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return jobs, nil
}

// linkJob resolves a symbolic link found while walking a directory. Links
// to regular files inside the allowed trees are followed; others become a
// finding.
func (r *Runner) linkJob(p string, allowed []string) job {
	target, err := filepath.EvalSymlinks(p)
	if err == nil {
		target, err = filepath.Abs(target)
	}
	if err != nil {
		f := r.own.Finding(RuleSymlink, fmt.Sprintf("symbolic link cannot be resolved: %v", err), "", -1)
		return job{path: p, issue: &f}
	}
	for _, a := range allowed {
		if target == a || strings.HasPrefix(target, a+string(filepath.Separator)) {
			if fi, err := os.Stat(target); err == nil && fi.Mode().IsRegular() {
				return job{path: p, open: target}
			}
			return job{path: p}
		}
	}
	f := r.own.Finding(RuleSymlink, fmt.Sprintf("symbolic link points outside the scanned tree to %s", target), target, -1)
	return job{path: p, issue: &f}
}

// hfCacheRoot returns the models--ORG--NAME (datasets--, spaces--)
// directory when dir lies in a Hugging Face cache entry, else "".
func hfCacheRoot(dir string) string {
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if isHFCacheEntry(d) {
			return d
		}
	}
	return ""
}

// isHFCacheEntry reports whether dir is named like a Hugging Face cache
// entry (models--ORG--NAME, datasets--ORG--NAME, spaces--ORG--NAME).
func isHFCacheEntry(dir string) bool {
	base := filepath.Base(dir)
	for _, p := range []string{"models--", "datasets--", "spaces--"} {
		if strings.HasPrefix(base, p) {
			return true
		}
	}
	return false
}

// scanJob scans one job; keep is false for directories with nothing to say.
func (r *Runner) scanJob(ctx context.Context, j job) (art Artifact, keep bool) {
	art = Artifact{Path: j.path, Format: format.Unknown, Findings: []mlsec.Finding{}}
	st := &state{r: r, art: &art}
	if j.issue != nil {
		st.report(*j.issue, "")
		art.Status = StatusSkipped
		art.Reason = "symbolic link not followed"
		if j.reason != "" {
			art.Status, art.Reason = StatusError, j.reason
		}
		return art, true
	}
	if j.open == "" {
		art.Status = StatusSkipped
		art.Reason = "symbolic link to something that is not a regular file"
		return art, true
	}
	if j.dir {
		art.Format = format.HFRepo
		in := &Input{Path: j.path, Dir: j.open, Kind: format.HFRepo}
		art.Status = StatusScanned
		for _, d := range r.dirDet {
			st.run(ctx, d, in, &sink{st: st, in: in})
		}
		return art, len(art.Findings) > 0 || len(art.Facts) > 0
	}
	f, fi, err := regfile.Open(j.open)
	if err != nil {
		art.Status = StatusError
		art.Reason = err.Error()
		st.report(r.own.Finding(RuleParseError, fmt.Sprintf("cannot open: %v", err), "", -1), "")
		return art, true
	}
	defer f.Close()
	art.Size = fi.Size()
	if r.opts.Digest {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(f, 0, art.Size)); err != nil {
			art.Status = StatusError
			art.Reason = fmt.Sprintf("digest: %v", err)
			return art, true
		}
		art.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	in := &Input{Path: j.path, R: f, Size: art.Size}
	art.Format, art.Status, art.Reason = st.dispatch(ctx, in)
	return art, true
}

// state is the per-artifact scan state shared by nested inputs.
type state struct {
	r       *Runner
	mu      sync.Mutex
	art     *Artifact
	members int
	bytes   int64
	limited bool
}

func (st *state) report(f mlsec.Finding, member string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if f.Path == "" {
		f.Path = st.art.Path
	}
	switch {
	case member == "":
	case f.Location.Member == "":
		f.Location.Member = member
	default:
		f.Location.Member = member + "!" + f.Location.Member
	}
	st.art.Findings = append(st.art.Findings, f)
}

// dispatch detects in's format and runs its detectors.
func (st *state) dispatch(ctx context.Context, in *Input) (format.Kind, Status, string) {
	kind, err := format.DetectFile(in.Path+"!"+in.Member, in.R, in.Size)
	if err != nil {
		st.report(st.r.own.Finding(RuleParseError, err.Error(), "", -1), in.Member)
		return format.Unknown, StatusError, err.Error()
	}
	in.Kind = kind
	ds := st.r.byKind[kind]
	if len(ds) == 0 {
		reason := "no detector yet"
		if kind == format.Unknown {
			reason = "not a recognised model or archive format"
		}
		return kind, StatusSkipped, reason
	}
	status := StatusScanned
	reason := ""
	for _, d := range ds {
		if s, why := st.run(ctx, d, in, &sink{st: st, in: in}); s == StatusError {
			status, reason = s, why
		}
	}
	return kind, status, reason
}

// run calls one detector, turning errors and panics into findings.
func (st *state) run(ctx context.Context, d Detector, in *Input, s *sink) (status Status, reason string) {
	defer func() {
		if p := recover(); p != nil {
			st.r.opts.Log.Error("detector panic", "detector", d.Name(), "path", in.Path, "member", in.Member, "panic", p, "stack", string(debug.Stack()))
			st.report(st.r.own.Finding(RulePanic, fmt.Sprintf("detector %s crashed: %v", d.Name(), p), d.Name(), -1), in.Member)
			status, reason = StatusError, fmt.Sprintf("detector %s crashed", d.Name())
		}
	}()
	if err := d.Scan(ctx, in, s); err != nil && !errors.Is(err, ErrLimit) {
		st.report(st.r.own.Finding(RuleParseError, fmt.Sprintf("%s: %v", d.Name(), err), d.Name(), -1), in.Member)
		return StatusError, err.Error()
	}
	return StatusScanned, ""
}

// sink is the Sink handed to a detector for one input.
type sink struct {
	st *state
	in *Input
}

var _ Sink = (*sink)(nil)

func (s *sink) Report(f mlsec.Finding) { s.st.report(f, s.in.Member) }

func (s *sink) Limits() Limits { return s.st.r.limits }

// Annotate attaches a fact (e.g. a repository's name) to the artifact.
func (s *sink) Annotate(key, value string) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if s.st.art.Facts == nil {
		s.st.art.Facts = map[string]string{}
	}
	s.st.art.Facts[key] = value
}

func (s *sink) Nested(ctx context.Context, name string, r io.ReaderAt, size int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	st := s.st
	lim := st.r.limits
	member := name
	if s.in.Member != "" {
		member = s.in.Member + "!" + name
	}
	st.mu.Lock()
	st.members++
	st.bytes += size
	var why string
	switch {
	case s.in.Depth+1 > lim.MaxDepth:
		why = fmt.Sprintf("container nesting deeper than %d", lim.MaxDepth)
	case st.members > lim.MaxMembers:
		why = fmt.Sprintf("more than %d container members", lim.MaxMembers)
	case st.bytes > lim.MaxTotalBytes:
		why = fmt.Sprintf("more than %d bytes of container members", lim.MaxTotalBytes)
	}
	limited := st.limited
	if why != "" {
		st.limited = true
	}
	st.mu.Unlock()
	if why != "" {
		if !limited {
			st.report(st.r.own.Finding(RuleLimit, "scan stopped: "+why, "", -1), member)
		}
		return ErrLimit
	}
	in := &Input{Path: s.in.Path, Member: member, R: r, Size: size, Depth: s.in.Depth + 1}
	kind, status, reason := st.dispatch(ctx, in)
	st.mu.Lock()
	if len(st.art.Members) < maxReportedMembers {
		st.art.Members = append(st.art.Members, Member{Name: member, Format: kind, Size: size, Status: status, Reason: reason})
	}
	st.mu.Unlock()
	return nil
}

// Annotator is implemented by sinks that can attach facts to the artifact
// being scanned; detectors type-assert for it.
type Annotator interface {
	Annotate(key, value string)
}

// SortFindings orders findings by path, member, offset and rule for stable
// output.
func SortFindings(fs []mlsec.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Location.Member != b.Location.Member {
			return a.Location.Member < b.Location.Member
		}
		if a.Location.Offset != b.Location.Offset {
			return a.Location.Offset < b.Location.Offset
		}
		return a.RuleID < b.RuleID
	})
}
