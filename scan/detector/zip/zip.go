// Package zip is the container detector for zip archives: plain zips,
// PyTorch zip checkpoints, TorchScript archives and numpy .npz files. It
// reports every structural anomaly of the archive (format/zip) and hands
// every member whose content is a pickle, an object array or a nested
// container to the runner through Sink.Nested, under the name torch.load
// and numpy.load would use. Raw tensor storages are never read beyond a
// few leading bytes, so a multi-gigabyte checkpoint costs a few kilobytes
// of I/O.
package zip

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"github.com/mlsecops/mlsec/format"
	"github.com/mlsecops/mlsec/format/numpy"
	"github.com/mlsecops/mlsec/format/pickle"
	fzip "github.com/mlsecops/mlsec/format/zip"
	"github.com/mlsecops/mlsec/scan"
	"github.com/mlsecops/mlsec/scan/detector/internal/spool"
)

// Name is the detector's stable identifier.
const Name = "zip"

// Rule ids.
const (
	RuleCRC            = "ZIP-001"
	RuleNameMismatch   = "ZIP-002"
	RulePrepended      = "ZIP-003"
	RuleEncrypted      = "ZIP-004"
	RuleHeaderMismatch = "ZIP-005"
	RuleFlags          = "ZIP-006"
	RuleZip64          = "ZIP-007"
	RuleDuplicate      = "ZIP-008"
	RuleOverlap        = "ZIP-009"
	RuleUnsafePath     = "ZIP-010"
	RuleMethod         = "ZIP-011"
	RuleMalformed      = "ZIP-012"
	RuleBomb           = "ZIP-013"
	RuleDecompress     = "ZIP-014"
	RuleTooMany        = "ZIP-015"
	RuleNotZip         = "ZIP-016"
	RuleHiddenStorage  = "ZIP-017"
	RuleTwoDirectories = "ZIP-018"
	RuleLink           = "ZIP-019"
)

// PrependedMember is the member name under which data prepended to an
// archive is scanned.
const PrependedMember = "[prepended]"

//go:embed rules.yaml
var rulesYAML []byte

// storageName matches PyTorch raw tensor storages: <root>/data/<key> in
// torch.save archives and <root>/constants/<key> in TorchScript.
var storageName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[^/]+/(data|constants)/[0-9]+$`) })

// storageSniff is how many leading bytes of a storage member are looked at.
const storageSniff = 16

// Detector scans zip containers.
type Detector struct {
	scan.Base
	// TempDir holds spooled members larger than the in-memory threshold
	// ("" = os.TempDir).
	TempDir string
	// MemLimit is the in-memory spooling threshold (0 = spool.DefaultMemLimit).
	MemLimit int64
}

var _ scan.Detector = (*Detector)(nil)

// New returns the zip detector.
func New(cfg scan.Config) (scan.Detector, error) {
	b := scan.NewBase(Name, []format.Kind{format.Zip, format.PyTorchZip, format.TorchScript, format.NumPyZip}, rulesYAML)
	return &Detector{Base: b}, nil
}

// memberState is what the scan learned about one entry.
type memberState struct {
	scanned bool // content handed to Nested
	hidden  bool // storage member with pickle/archive content
}

// Scan implements scan.Detector.
func (d *Detector) Scan(ctx context.Context, in *scan.Input, sink scan.Sink) error {
	lim := sink.Limits()
	z, err := fzip.NewReader(in.R, in.Size, fzip.Options{MaxEntries: lim.MaxMembers})
	if err != nil {
		if errors.Is(err, fzip.ErrFormat) {
			sink.Report(d.Finding(RuleNotZip, "", "", 0))
			return nil
		}
		return err
	}
	inf := scan.InflateBudget(sink)
	s := &scanState{d: d, z: z, sink: sink, in: in, inf: inf,
		budget: &fzip.Budget{MaxMember: lim.MaxMemberBytes, MaxTotal: lim.MaxTotalBytes, MaxRatio: lim.MaxRatio,
			Charge: func(n int64) error { return inf.Inflate(0, n) }},
		states: make([]memberState, len(z.Entries)),
	}
	if z.BaseOffset > 0 {
		// The prefix is what torch.load would see first: scan it by content.
		if err := sink.Nested(ctx, PrependedMember, io.NewSectionReader(in.R, 0, z.BaseOffset), z.BaseOffset); err != nil {
			if !errors.Is(err, scan.ErrLimit) {
				return err
			}
		}
	}
	err = s.members(ctx)
	if err == nil && s.ambiguous() {
		// Also scan the archive as miniz (torch.load) reads it.
		if z2, zerr := fzip.NewReader(in.R, in.Size, fzip.Options{MaxEntries: lim.MaxMembers, DeclaredOffsets: true}); zerr == nil {
			s2 := &scanState{d: d, z: z2, sink: sink, in: in, inf: inf, budget: s.budget, states: make([]memberState, len(z2.Entries))}
			err = s2.members(ctx)
		}
	}
	s.reportAnomalies()
	if errors.Is(err, scan.ErrLimit) || errors.Is(err, errStop) {
		return nil
	}
	return err
}

var errStop = errors.New("zip: scan stopped")

type scanState struct {
	d      *Detector
	z      *fzip.Reader
	sink   scan.Sink
	in     *scan.Input
	budget *fzip.Budget
	inf    scan.Inflater // the artifact's budget, shared with nested levels
	states []memberState
}

// open opens e for decompression, charging it to the artifact's budget of
// opened members first; errStop (with the input marked not analysed) when
// that budget is spent.
func (s *scanState) open(e *fzip.Entry) (io.ReadCloser, error) {
	if e.Method != fzip.Store {
		if err := s.inf.Inflate(1, 0); err != nil {
			return nil, fmt.Errorf("%w: %w", errStop, err)
		}
	}
	return s.z.Open(e, s.budget)
}

// bomb reports whether e's declared sizes alone exceed the ratio cap (past
// the budget's 1 MiB floor): it is reported and not inflated at all.
func (s *scanState) bomb(e *fzip.Entry) bool {
	lim := s.sink.Limits()
	if e.Method == fzip.Store || lim.MaxRatio <= 0 || e.UncompressedSize <= 1<<20 {
		return false
	}
	if e.UncompressedSize/max(e.CompressedSize, 1) <= lim.MaxRatio {
		return false
	}
	s.report(RuleBomb, fmt.Sprintf("member %q declares %d bytes from %d (cap %d:1); not decompressed", e.Name, e.UncompressedSize, e.CompressedSize, lim.MaxRatio), e.Name, -1)
	return true
}

// report records a finding about member's content (offset inside the
// member, -1 for the member as a whole).
func (s *scanState) report(id, msg, member string, off int64) {
	f := s.d.Finding(id, msg, member, off)
	f.Location.Member = member
	s.sink.Report(f)
}

// members walks the entries in directory order and scans the ones whose
// content matters.
func (s *scanState) members(ctx context.Context) error {
	for _, e := range s.z.Entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.Symlink() {
			s.report(RuleLink, fmt.Sprintf("member %q is a symbolic link", e.Name), e.Name, -1)
		}
		if strings.HasSuffix(e.Name, "/") && e.UncompressedSize == 0 {
			continue
		}
		if e.DataOffset < 0 {
			// Reported as an anomaly too; a loader may still find the data.
			scan.ReportNotAnalysed(s.sink, "", fmt.Sprintf("member %q: local header unreadable, content not examined", e.Name))
			continue
		}
		if !fzip.Decompressible(e.Method) {
			// Reported as an anomaly too; the content is unreadable here.
			scan.ReportNotAnalysed(s.sink, "", fmt.Sprintf("member %q: compression method %d cannot be decompressed", e.Name, e.Method))
			continue
		}
		if s.bomb(e) {
			continue
		}
		if err := s.member(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

func (s *scanState) member(ctx context.Context, e *fzip.Entry) error {
	st := &s.states[e.Index]
	var rc io.ReadCloser
	if storageName().MatchString(e.Name) {
		head, err := s.head(e, storageSniff)
		if err != nil {
			return err
		}
		if !smuggled(head) {
			return nil
		}
		st.hidden = true
		s.report(RuleHiddenStorage, "", e.Name, 0)
		if e.Method != fzip.Store {
			r, err := s.open(e)
			if errors.Is(err, errStop) {
				return err
			}
			if err != nil {
				return nil
			}
			rc = r
		}
	} else {
		scanIt, r, err := s.interesting(e)
		if err != nil || !scanIt {
			return err
		}
		rc = r
	}
	st.scanned = true
	return s.nested(ctx, e, rc)
}

// head returns up to n leading content bytes of e, inflating only what is
// needed.
func (s *scanState) head(e *fzip.Entry, n int) ([]byte, error) {
	if e.Method == fzip.Store {
		return s.z.Head(e, n)
	}
	rc, err := s.open(e)
	if errors.Is(err, errStop) {
		return nil, err
	}
	if err != nil {
		return nil, nil
	}
	defer rc.Close()
	buf := make([]byte, n)
	m, _ := io.ReadFull(rc, buf)
	return buf[:m], nil
}

// smuggled reports a storage head that is unmistakably a pickle (protocol
// 4/5 with a FRAME) or an archive, not tensor bytes.
func smuggled(head []byte) bool {
	switch {
	case len(head) >= 3 && head[0] == 0x80 && (head[1] == 4 || head[1] == 5) && head[2] == 0x95:
		return true
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte(numpy.Magic)):
		return true
	}
	return false
}

// interesting decides by content whether e goes to Nested: pickles, object
// or malformed .npy arrays, and any recognised model or container format.
// For compressed members it inflates only the head; the returned stream
// (nil for stored members) continues from there, so nothing is inflated
// twice.
func (s *scanState) interesting(e *fzip.Entry) (bool, io.ReadCloser, error) {
	if e.Method == fzip.Store {
		raw := s.z.Raw(e)
		kind, err := format.Detect(raw, raw.Size())
		if err != nil {
			return false, nil, err
		}
		return wanted(kind, raw, raw.Size()), nil, nil
	}
	rc, err := s.open(e)
	if errors.Is(err, errStop) {
		return false, nil, err
	}
	if err != nil {
		s.report(RuleDecompress, fmt.Sprintf("member %q: %v", e.Name, err), e.Name, -1)
		return false, nil, nil
	}
	head := make([]byte, format.HeadSize)
	n, rerr := io.ReadFull(rc, head)
	head = head[:n]
	kind, _ := format.Detect(bytes.NewReader(head), int64(len(head)))
	if kind == format.Unknown && (bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06"))) {
		kind = format.Zip
	}
	if kind == format.Unknown && pickle.Sniff(head) {
		kind = format.Pickle
	}
	if kind == format.Unknown && n == len(head) && unpickledByName(e.Name) {
		// Only the head was inflated, and a pickle may open with a decoy
		// string longer than it; torch.load unpickles data.pkl whatever it
		// starts with. The runner detects the whole member by content.
		kind = format.Pickle
	}
	if !wanted(kind, bytes.NewReader(head), int64(len(head))) {
		rc.Close()
		if rerr != nil && !errors.Is(rerr, io.EOF) && !errors.Is(rerr, io.ErrUnexpectedEOF) {
			return false, nil, s.readError(e, rerr)
		}
		return false, nil, nil
	}
	rest := io.Reader(rc)
	if rerr != nil {
		rest = errReader{rerr}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			rest = eofReader{}
		}
	}
	return true, struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), rest), rc}, nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// unpickledByName reports whether a loader unpickles the member by its
// name alone: torch.load's <root>/data.pkl, TorchScript's constants.pkl,
// and any other *.pkl.
func unpickledByName(name string) bool {
	return strings.HasSuffix(name, ".pkl")
}

// wanted reports whether content of kind goes to Nested. Plain numpy
// arrays are data; object arrays and malformed headers go to the numpy
// detector.
func wanted(kind format.Kind, r io.ReaderAt, size int64) bool {
	switch kind {
	case format.Unknown:
		return false
	case format.NumPy:
		h, err := numpy.ReadHeader(r, size)
		return err != nil || h.Object
	}
	return true
}

// nested hands e's content to the runner: stored members directly (after a
// streaming CRC check), compressed ones (rc continues the stream that
// interesting started) through a bounded spool.
func (s *scanState) nested(ctx context.Context, e *fzip.Entry, rc io.ReadCloser) error {
	lim := s.sink.Limits()
	if rc == nil {
		raw := s.z.Raw(e)
		if raw.Size() <= lim.MaxMemberBytes {
			if rc, err := s.z.Open(e, nil); err == nil {
				_, err = io.Copy(io.Discard, rc)
				rc.Close()
				s.readError(e, err)
			}
		}
		return s.sink.Nested(ctx, e.Name, raw, raw.Size())
	}
	data, err := spool.Copy(rc, s.d.MemLimit, s.d.TempDir)
	rc.Close()
	defer data.Close()
	if stop := s.readError(e, err); stop != nil {
		return stop
	}
	if data.Size() == 0 {
		return nil
	}
	return s.sink.Nested(ctx, e.Name, data.ReaderAt(), data.Size())
}

// readError turns a member read error into a finding; it returns errStop
// when the artifact's byte budget is spent.
func (s *scanState) readError(e *fzip.Entry, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fzip.ErrChecksum):
		s.report(RuleCRC, fmt.Sprintf("member %q: %v; scanned as stored", e.Name, err), e.Name, -1)
	case errors.Is(err, fzip.ErrTotalBudget):
		s.report(RuleBomb, fmt.Sprintf("member %q: %v; scan of the archive stopped", e.Name, err), e.Name, -1)
		return errStop
	case errors.Is(err, fzip.ErrRatio), errors.Is(err, fzip.ErrMemberBudget):
		s.report(RuleBomb, fmt.Sprintf("member %q: %v", e.Name, err), e.Name, -1)
	default:
		s.report(RuleDecompress, fmt.Sprintf("member %q: %v", e.Name, err), e.Name, -1)
	}
	return nil
}

func (s *scanState) ambiguous() bool {
	for _, a := range s.z.Anomalies {
		if a.Kind == fzip.AnomalyAmbiguous {
			return true
		}
	}
	return false
}

// reportAnomalies turns the reader's anomalies into findings; the severity
// of some depends on whether the member's content was scanned.
func (s *scanState) reportAnomalies() {
	byName := map[string]*fzip.Entry{}
	for _, e := range s.z.Entries {
		if _, ok := byName[e.Name]; !ok || s.states[e.Index].scanned {
			byName[e.Name] = e
		}
	}
	scanned := func(name string) bool {
		e, ok := byName[name]
		return ok && s.states[e.Index].scanned
	}
	zip64 := false
	for _, a := range s.z.Anomalies {
		var id string
		switch a.Kind {
		case fzip.AnomalyNameMismatch:
			id = RuleNameMismatch
		case fzip.AnomalyPrepended:
			id = RulePrepended
		case fzip.AnomalyEncrypted:
			id = RuleFlags
			if scanned(a.Entry) {
				id = RuleEncrypted
			}
		case fzip.AnomalyHeaderMismatch:
			id = RuleHeaderMismatch
		case fzip.AnomalyFlags:
			id = RuleFlags
		case fzip.AnomalyZip64:
			// PyTorch's writer emits a zip64 end record in every archive:
			// reporting it there is noise.
			if zip64 || s.in.Kind == format.PyTorchZip || s.in.Kind == format.TorchScript {
				continue
			}
			zip64 = true
			id = RuleZip64
		case fzip.AnomalyDuplicate:
			id = RuleDuplicate
		case fzip.AnomalyOverlap:
			id = RuleOverlap
		case fzip.AnomalyUnsafePath:
			id = RuleUnsafePath
		case fzip.AnomalyMethod:
			id = RuleMethod
		case fzip.AnomalyTooManyEntries:
			id = RuleTooMany
		case fzip.AnomalyAmbiguous:
			id = RuleTwoDirectories
		default: // size, count, local header, directory, trailing, long name
			id = RuleMalformed
		}
		// Structural anomalies are located in the archive itself: the
		// offset is an archive offset and the member is the subject.
		s.sink.Report(s.d.Finding(id, a.String(), a.Entry, a.Offset))
	}
}
