// Package archive reads tar archives (plain or compressed with gzip, bzip2,
// xz or zstd), 7z archives and bare compressed streams, bounded: caps on
// entries, inflated bytes and compression ratio, member names checked for
// escapes from the archive root (zip-slip), and large members spooled to a
// temporary file so callers always get an io.ReaderAt.
//
// Zip archives are read by format/zip; this package never parses them.
package archive

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// Sentinel errors. Errors returned by this package wrap one of them.
var (
	// ErrFormat means the archive or stream is malformed.
	ErrFormat = errors.New("archive: malformed input")
	// ErrLimit means a cap on entries or inflated bytes was exceeded.
	ErrLimit = errors.New("archive: limit exceeded")
	// ErrRatio means the compression ratio exceeded its cap (a bomb).
	ErrRatio = errors.New("archive: compression ratio exceeded")
	// ErrEncrypted means the content is encrypted and cannot be read.
	ErrEncrypted = errors.New("archive: encrypted content")
)

// Limits bounds the work on one archive. Zero fields take defaults.
type Limits struct {
	// MaxEntries caps the entries (headers) read (default 100,000).
	MaxEntries int
	// MaxBytes caps the inflated bytes read in total (default 8 GiB).
	MaxBytes int64
	// MaxRatio caps inflated bytes over compressed bytes (default 200).
	MaxRatio int64
	// MemThreshold is the largest member held in memory; larger ones are
	// spooled to a temporary file (default 32 MiB).
	MemThreshold int64
	// TempDir is where spool files go ("" for os.TempDir()).
	TempDir string
}

func (l Limits) withDefaults() Limits {
	if l.MaxEntries <= 0 {
		l.MaxEntries = 100_000
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = 8 << 30
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = 200
	}
	if l.MemThreshold <= 0 {
		l.MemThreshold = 32 << 20
	}
	return l
}

// ratioSlack is the inflated size below which the ratio is not judged:
// tiny inputs (an empty tar of 10 KiB in a 100-byte gzip) compress well.
const ratioSlack = 4 << 20

// UnsafeName reports why an archive member name escapes the extraction
// root, or "" when it stays inside. Both "/" and "\" are treated as
// separators, since extractors on Windows honour either.
func UnsafeName(name string) string {
	n := strings.ReplaceAll(name, "\\", "/")
	switch {
	case name == "":
		return ""
	case strings.ContainsRune(name, 0):
		return "name contains a NUL byte"
	case strings.HasPrefix(n, "/"):
		return "absolute path"
	case len(n) >= 2 && n[1] == ':' && isLetter(n[0]):
		return "drive-letter path"
	}
	c := path.Clean(n)
	if c == ".." || strings.HasPrefix(c, "../") {
		if strings.Contains(name, "\\") && !strings.Contains(path.Clean(name), "..") {
			return "parent directory through backslash separators"
		}
		return "parent directory (..) escapes the archive root"
	}
	return ""
}

func isLetter(b byte) bool { return (b|0x20) >= 'a' && (b|0x20) <= 'z' }

// UnsafeLink reports why a link member escapes the extraction root, or "".
// A symbolic link target is relative to the link's directory; a hard link
// target is relative to the archive root.
func UnsafeLink(name, target string, hard bool) string {
	t := strings.ReplaceAll(target, "\\", "/")
	if strings.HasPrefix(t, "/") || (len(t) >= 2 && t[1] == ':' && isLetter(t[0])) {
		return "link target is an absolute path"
	}
	base := ""
	if !hard {
		base = path.Dir(strings.ReplaceAll(name, "\\", "/"))
	}
	c := path.Clean(path.Join(base, t))
	if c == ".." || strings.HasPrefix(c, "../") {
		return "link target escapes the archive root"
	}
	return ""
}

// Counter counts bytes passing through a reader.
type Counter struct {
	R io.Reader
	N int64
}

// Read implements io.Reader.
func (c *Counter) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.N += int64(n)
	return n, err
}

// Bounded wraps an inflating reader: it fails with ErrLimit once more than
// max bytes were produced, and with ErrRatio once the output exceeds ratio
// times the compressed bytes consumed (as counted by in), past a small slack.
type Bounded struct {
	R     io.Reader
	In    *Counter // compressed input; nil to skip the ratio check
	Max   int64
	Ratio int64
	N     int64 // bytes produced so far
}

// Read implements io.Reader.
func (b *Bounded) Read(p []byte) (int, error) {
	if b.N >= b.Max {
		// Distinguish a stream that ends exactly at the cap.
		var one [1]byte
		if n, _ := b.R.Read(one[:]); n == 0 {
			return 0, io.EOF
		}
		return 0, fmt.Errorf("%w: more than %d inflated bytes", ErrLimit, b.Max)
	}
	if int64(len(p)) > b.Max-b.N {
		p = p[:b.Max-b.N]
	}
	n, err := b.R.Read(p)
	b.N += int64(n)
	if b.In != nil && b.Ratio > 0 && b.N > ratioSlack && b.N > b.Ratio*max(b.In.N, 1) {
		return n, fmt.Errorf("%w: %d bytes inflated from %d (cap %d:1)", ErrRatio, b.N, b.In.N, b.Ratio)
	}
	return n, err
}
