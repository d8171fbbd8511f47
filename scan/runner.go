package scan

import (
	"bytes"
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
	"regexp"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

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
	// RuleNotRecognised reports a file whose bytes are neither a supported
	// model or archive format nor positively recognised as inert.
	RuleNotRecognised = "MLSEC-SCAN-005"
	// RulePolyglot reports bytes that real loaders accept as several
	// formats (each is analysed).
	RulePolyglot = "MLSEC-SCAN-006"
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
	// rules indexes every rule the runner and its detectors can report;
	// it is built on first use (a finding, or Rules), which parses the
	// detectors' rules files.
	rules  func() RuleSet
	own    RuleSet
	limits Limits
	naSev  mlsec.Severity
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
		naSev:  cfg.notAnalysedSeverity(),
		opts:   opts,
	}
	r.rules = sync.OnceValue(func() RuleSet {
		all := append([]Rule(nil), own...)
		for _, d := range detectors {
			all = append(all, d.Rules()...)
		}
		return NewRuleSet(all)
	})
	for _, d := range detectors {
		for _, k := range d.Kinds() {
			if k == format.HFRepo {
				r.dirDet = append(r.dirDet, d)
				continue
			}
			r.byKind[k] = append(r.byKind[k], d)
		}
	}
	return r
}

// Rules returns every rule the runner and its detectors can report.
func (r *Runner) Rules() RuleSet { return r.rules() }

// job is one unit of work: a file, or a directory for repository checks.
type job struct {
	path  string // as reported
	open  string // path to open (symlink target resolved)
	dir   bool
	issue *mlsec.Finding // a finding known before opening (e.g. symlink escape)
	why   string         // why open is empty
	inert string         // set for a link whose target is scanned elsewhere
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
	res := &Result{}
	for i, a := range arts {
		if keep[i] {
			res.Artifacts = append(res.Artifacts, a)
		}
	}
	res.Rules = r.resultRules(res.Artifacts)
	return res, nil
}

// resultRules returns the rules a result's reports look up: every rule
// when a finding was reported, none otherwise (a clean scan never parses
// the rules files).
func (r *Runner) resultRules(arts []Artifact) RuleSet {
	for _, a := range arts {
		if len(a.Findings) > 0 {
			return r.rules()
		}
	}
	return RuleSet{}
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
			jobs = append(jobs, job{path: p, why: regfile.NotRegular(p, d.Type()).Error()})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return jobs, nil
}

// linkJob resolves a symbolic link found while walking a directory. Links
// to regular files inside the allowed trees are followed. A link that
// leaves them is a high finding, and its target, when it is a regular file,
// is scanned all the same (loaders follow the link).
func (r *Runner) linkJob(p string, allowed []string) job {
	target, err := filepath.EvalSymlinks(p)
	if err == nil {
		target, err = filepath.Abs(target)
	}
	if err != nil {
		f := r.own.Finding(RuleSymlink, fmt.Sprintf("symbolic link cannot be resolved: %v", err), "", -1)
		return job{path: p, issue: &f, why: "symbolic link cannot be resolved"}
	}
	open, why := target, ""
	fi, err := os.Stat(target)
	if err != nil || !fi.Mode().IsRegular() {
		open, why = "", "symbolic link to something that is not a regular file"
	}
	for _, a := range allowed {
		if target == a || strings.HasPrefix(target, a+string(filepath.Separator)) {
			if err == nil && fi.IsDir() {
				return job{path: p, inert: "symbolic link to a directory inside the scanned tree (scanned there)"}
			}
			return job{path: p, open: open, why: why}
		}
	}
	f := r.own.Finding(RuleSymlink, fmt.Sprintf("symbolic link points outside the scanned tree to %s", target), target, -1)
	return job{path: p, open: open, why: why, issue: &f}
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

// checkpointShard matches a TensorFlow tensor bundle data shard name.
var checkpointShard = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(.+)\.data-[0-9]{5}-of-[0-9]{5}$`) })

// isCheckpointShard reports whether path is named like a TensorFlow
// checkpoint data shard (PREFIX.data-00000-of-00001) and PREFIX.index
// beside it is a tensor bundle index by content. The shard holds raw
// tensor bytes that TensorFlow only reads at the offsets its index names.
func isCheckpointShard(path string) bool {
	m := checkpointShard().FindStringSubmatch(path)
	if m == nil {
		return false
	}
	f, err := os.Open(m[1] + ".index")
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	k, err := format.DetectFile(m[1]+".index", f, fi.Size())
	return err == nil && k == format.TFCheckpointIndex
}

// memFileBytes is the size up to which a file is read into memory once
// and its detectors read that copy: format detection and the document
// detectors each read a small file several times (head, text check, zip
// directory search, whole-document analyses), and one read of the file
// costs less than the system calls of all of them.
const memFileBytes = 1 << 20

// inMemory returns the file's content as a memReader when it is at most
// memFileBytes long and reads whole, else f itself (whose reads then fail
// or succeed as they would have).
func inMemory(f io.ReaderAt, size int64) io.ReaderAt {
	if size <= 0 || size > memFileBytes {
		return f
	}
	buf := make([]byte, size)
	if n, err := f.ReadAt(buf, 0); int64(n) != size || err != nil && !errors.Is(err, io.EOF) {
		return f
	}
	return memReader{Reader: bytes.NewReader(buf), b: buf}
}

// memReader is a file the runner holds in memory; ReadAll hands its bytes
// to detectors without another copy.
type memReader struct {
	*bytes.Reader
	b []byte
}

// ReadAll returns the whole of in's bytes. When the runner holds the file
// in memory they are that copy, shared by every detector of the file:
// read-only (never write to them or append to a sub-slice of them).
// Otherwise they are read from in.R into buf when it has the capacity, or
// into a new slice.
func ReadAll(in *Input, buf []byte) ([]byte, error) {
	if m, ok := in.R.(memReader); ok && int64(len(m.b)) == in.Size {
		return m.b[:len(m.b):len(m.b)], nil
	}
	if in.Size < 0 {
		return nil, fmt.Errorf("scan: negative size %d", in.Size)
	}
	if int64(cap(buf)) >= in.Size {
		buf = buf[:in.Size]
	} else {
		buf = make([]byte, in.Size)
	}
	if _, err := in.R.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf, nil
}

// scanJob scans one job; keep is false for directories with nothing to say.

func (r *Runner) scanJob(ctx context.Context, j job) (art Artifact, keep bool) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(r.limits.MaxFileSeconds)*time.Second)
	defer cancel()
	art = Artifact{Path: j.path, Format: format.Unknown, Findings: []mlsec.Finding{}}
	st := &state{r: r, art: &art}
	if j.issue != nil {
		st.report(*j.issue, "")
	}
	if j.inert != "" {
		art.Status, art.Verdict, art.Reason = StatusSkipped, VerdictInert, j.inert
		return art, true
	}
	if j.open == "" {
		art.Status = StatusSkipped
		art.Verdict = VerdictNotAnalysed
		art.Reason = j.why
		if art.Reason == "" {
			art.Reason = "symbolic link to something that is not a regular file"
		}
		st.report(r.notAnalysedFinding(RuleNotRecognised, art.Reason, ""), "")
		return art, true
	}
	if j.dir {
		art.Format = format.HFRepo
		art.Verdict = VerdictAnalysed
		in := &Input{Path: j.path, Dir: j.open, Kind: format.HFRepo}
		art.Status = StatusScanned
		v := &inputVerdict{}
		for _, d := range r.dirDet {
			st.run(ctx, d, in, &sink{st: st, in: in, v: v})
		}
		if v.na {
			art.Verdict, art.Reason, art.Limit = VerdictNotAnalysed, v.reason, v.limit
			st.report(r.notAnalysedFinding(v.rule(), v.message(), ""), "")
		}
		return art, len(art.Findings) > 0 || len(art.Facts) > 0 || v.na
	}
	f, fi, err := regfile.OpenSeen(j.open) // every job was seen regular (collect, linkJob)
	if err != nil {
		art.Status = StatusError
		art.Verdict = VerdictNotAnalysed
		art.Reason = err.Error()
		st.report(r.notAnalysedFinding(RuleParseError, fmt.Sprintf("not analysed: cannot open: %v", err), ""), "")
		return art, true
	}
	defer f.Close()
	art.Size = fi.Size()
	src := inMemory(f, art.Size)
	if r.opts.Digest {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(src, 0, art.Size)); err != nil {
			art.Status = StatusError
			art.Verdict = VerdictNotAnalysed
			art.Reason = fmt.Sprintf("digest: %v", err)
			st.report(r.notAnalysedFinding(RuleParseError, "not analysed: "+art.Reason, ""), "")
			return art, true
		}
		art.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	in := &Input{Path: j.path, R: src, Size: art.Size}
	o := st.dispatch(ctx, in, j.open)
	art.Format, art.Formats, art.Status, art.Verdict, art.Reason, art.Limit = o.kind, o.formats, o.status, o.verdict, o.reason, o.limit
	if o.verdict != VerdictNotAnalysed && st.worst.verdict == VerdictNotAnalysed {
		// A member was not analysed: so was the artifact as a whole.
		art.Verdict, art.Reason, art.Limit = VerdictNotAnalysed, "member "+st.worst.member+" not analysed: "+st.worst.reason, st.worst.limit
	}
	return art, true
}

// state is the per-artifact scan state shared by nested inputs.
type state struct {
	r       *Runner
	mu      sync.Mutex
	art     *Artifact
	members int
	bytes   int64
	// inflation is the artifact's decompression budget (budget.go).
	inflation inflation
	// worst is the first not-analysed member, for the artifact's verdict.
	worst struct {
		verdict               Verdict
		member, reason, limit string
	}
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

// inputVerdict collects what detectors say about one input's verdict.
type inputVerdict struct {
	mu            sync.Mutex
	na            bool
	crash         bool
	unknown       bool // no detector and not inert
	reason, limit string
}

// mark records the first reason the input was not analysed.
func (v *inputVerdict) mark(limit, reason string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.na {
		return
	}
	v.na, v.reason, v.limit = true, reason, limit
}

// rule returns the runner rule that reports v.
func (v *inputVerdict) rule() string {
	switch {
	case v.crash:
		return RulePanic
	case v.unknown:
		return RuleNotRecognised
	case v.limit != "":
		return RuleLimit
	}
	return RuleParseError
}

func (v *inputVerdict) message() string {
	m := "not analysed: " + v.reason
	if v.limit != "" {
		m += " (limit " + v.limit + ")"
	}
	return m
}

// notAnalysedFinding builds the finding of a not-analysed input at the
// configured severity.
func (r *Runner) notAnalysedFinding(rule, message, subject string) mlsec.Finding {
	f := r.own.Finding(rule, message, subject, -1)
	f.Severity = r.naSev
	return f
}

// outcome is how one input's scan ended.
type outcome struct {
	kind          format.Kind
	formats       []format.Kind // every claim of a polyglot
	status        Status
	verdict       Verdict
	reason, limit string
}

// dispatch detects in's format and runs its detectors. name is the file
// name used for name-dependent recognition (the opened path for artifacts,
// the member name for members).
func (st *state) dispatch(ctx context.Context, in *Input, name string) outcome {
	r := st.r
	if in.Member != "" {
		name = in.Path + "!" + in.Member
	}
	claims, err := format.DetectAll(name, in.R, in.Size)
	if err != nil {
		st.report(r.notAnalysedFinding(RuleParseError, "not analysed: "+err.Error(), ""), in.Member)
		return outcome{kind: format.Unknown, status: StatusError, verdict: VerdictNotAnalysed, reason: err.Error()}
	}
	if claims[0].Kind == format.Unknown && in.Member == "" && isCheckpointShard(name) {
		claims[0].Kind = format.TFCheckpointData
	}
	o := outcome{kind: claims[0].Kind}
	if len(claims) > 1 {
		var kinds []string
		for _, c := range claims {
			o.formats = append(o.formats, c.Kind)
			kinds = append(kinds, fmt.Sprintf("%s (%s)", c.Kind, c.Why))
		}
		st.report(r.own.Finding(RulePolyglot, "the bytes are several formats at once, each analysed: "+strings.Join(kinds, ", "), string(claims[1].Kind), -1), in.Member)
	}
	v := &inputVerdict{}
	for i, c := range claims {
		co := st.dispatchKind(ctx, in, c.Kind, v)
		if i == 0 {
			o.status, o.verdict, o.reason = co.status, co.verdict, co.reason
			continue
		}
		if co.status == StatusError || o.status != StatusError && co.status == StatusScanned {
			o.status = co.status
		}
		if worse(o.verdict, co.verdict) != o.verdict {
			o.verdict, o.reason = co.verdict, co.reason
		}
	}
	if v.na {
		o.verdict, o.reason, o.limit = VerdictNotAnalysed, v.reason, v.limit
		st.report(r.notAnalysedFinding(v.rule(), v.message(), ""), in.Member)
	}
	return o
}

// dispatchKind runs the detectors of kind on in. A kind no detector
// examines is inert when format.Inert says so, else not analysed.
func (st *state) dispatchKind(ctx context.Context, in *Input, kind format.Kind, v *inputVerdict) outcome {
	r := st.r
	kin := *in
	kin.Kind = kind
	in.Kind = kind
	ds := r.byKind[kind]
	if len(ds) == 0 && format.Inert(kind) {
		return outcome{kind: kind, status: StatusSkipped, verdict: VerdictInert, reason: format.InertReason(kind)}
	}
	if len(ds) == 0 {
		reason := "not a recognised model, archive or inert format"
		if kind != format.Unknown {
			reason = "no detector for format " + string(kind)
		}
		v.mark("", reason)
		v.mu.Lock()
		v.unknown = true
		v.mu.Unlock()
		return outcome{kind: kind, status: StatusSkipped, verdict: VerdictNotAnalysed, reason: reason}
	}
	o := outcome{kind: kind, status: StatusScanned, verdict: VerdictAnalysed}
	for _, d := range ds {
		if s, why := st.run(ctx, d, &kin, &sink{st: st, in: &kin, v: v}); s == StatusError {
			o.status, o.reason = s, why
		}
	}
	return o
}

// run calls one detector, turning errors and panics into the not-analysed
// verdict of the input.
func (st *state) run(ctx context.Context, d Detector, in *Input, s *sink) (status Status, reason string) {
	defer func() {
		if p := recover(); p != nil {
			st.r.opts.Log.Error("detector panic", "detector", d.Name(), "path", in.Path, "member", in.Member, "panic", p, "stack", string(debug.Stack()))
			reason = fmt.Sprintf("detector %s crashed: %v", d.Name(), p)
			s.v.mark("", reason)
			s.v.mu.Lock()
			s.v.crash = true
			s.v.mu.Unlock()
			status = StatusError
		}
	}()
	err := d.Scan(ctx, in, s)
	switch {
	case err == nil && ctx.Err() == nil:
		return StatusScanned, ""
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		// The artifact's time ran out: whatever the detector returned, it
		// did not finish.
		s.v.mark(LimitTimeout, fmt.Sprintf("%s: scan stopped after %d s", d.Name(), st.r.limits.MaxFileSeconds))
		return StatusScanned, ""
	case err == nil:
		return StatusScanned, ""
	case errors.Is(err, ErrLimit):
		// Nested marked the input with the cap that stopped it.
		s.v.mark("", fmt.Sprintf("%s: %v", d.Name(), err))
		return StatusScanned, ""
	}
	if why, limit, ok := asNotAnalysed(err); ok {
		s.v.mark(limit, fmt.Sprintf("%s: %s", d.Name(), why))
		return StatusScanned, ""
	}
	s.v.mark("", fmt.Sprintf("%s: %v", d.Name(), err))
	return StatusError, err.Error()
}

// sink is the Sink handed to a detector for one input.
type sink struct {
	st *state
	in *Input
	v  *inputVerdict
}

var (
	_ Sink                = (*sink)(nil)
	_ NotAnalysedReporter = (*sink)(nil)
)

func (s *sink) Report(f mlsec.Finding) {
	if r, ok := s.st.r.rules()[f.RuleID]; ok && r.NotAnalysed {
		s.v.mark(r.Limit, f.Message)
	}
	s.st.report(f, s.in.Member)
}

// NotAnalysed implements NotAnalysedReporter.
func (s *sink) NotAnalysed(limit, reason string) { s.v.mark(limit, reason) }

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
	var why, limit string
	switch {
	case s.in.Depth+1 > lim.MaxDepth:
		why, limit = fmt.Sprintf("container nesting deeper than %d at %s", lim.MaxDepth, member), LimitMaxDepth
	case st.members > lim.MaxMembers:
		why, limit = fmt.Sprintf("more than %d container members", lim.MaxMembers), LimitMaxMembers
	case st.bytes > lim.MaxTotalBytes:
		why, limit = fmt.Sprintf("more than %d bytes of container members", lim.MaxTotalBytes), LimitMaxTotalBytes
	}
	st.mu.Unlock()
	if why != "" {
		s.v.mark(limit, "scan stopped: "+why)
		return ErrLimit
	}
	in := &Input{Path: s.in.Path, Member: member, R: r, Size: size, Depth: s.in.Depth + 1}
	o := st.dispatch(ctx, in, "")
	st.mu.Lock()
	if len(st.art.Members) < maxReportedMembers {
		st.art.Members = append(st.art.Members, Member{Name: member, Format: o.kind, Formats: o.formats, Size: size, Status: o.status, Verdict: o.verdict, Reason: o.reason, Limit: o.limit})
	}
	if o.verdict == VerdictNotAnalysed && st.worst.verdict == "" {
		st.worst.verdict, st.worst.member, st.worst.reason, st.worst.limit = o.verdict, member, o.reason, o.limit
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
