package pickle

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// windowSize is the size of the read window. Operands larger than the
// window are copied in chunks (up to the keep limit) or skipped.
const windowSize = 64 << 10

// errFrame reports that the framed reading (pickle._Unframer semantics)
// cannot continue: an opcode or operand straddles the end of a frame, or a
// new frame begins before the current one ends.
var errFrame = errors.New("pickle: framing error")

// errLineBudget reports that the sniffer's budget of text-line bytes ran
// out inside a line: the stream may still be a pickle.
var errLineBudget = errors.New("pickle: text line budget exhausted")

// ioError wraps a failure of the underlying io.ReaderAt; it ends Analyze with
// an error instead of an anomaly.
type ioError struct{ err error }

func (e *ioError) Error() string { return "pickle: read: " + e.err.Error() }
func (e *ioError) Unwrap() error { return e.err }

// reader reads a pickle stream sequentially through a small window over an
// io.ReaderAt. Two framing models are supported:
//
//   - linear (framed == false): FRAME opcodes do not affect decoding; the
//     end of the last declared frame is kept in lframeEnd so the machine can
//     report opcodes that straddle it;
//   - framed: Lib/pickle.py's _Unframer. A FRAME reads the next n bytes of
//     the file into a buffer; reads are served from it, a read that finds
//     the buffer empty falls back to the file, a read that finds it
//     partially filled is an error. Data read directly from the file (joblib
//     arrays, the next pickle after STOP) comes from filePos, which is after
//     the whole frame.
type reader struct {
	r      io.ReaderAt
	size   int64
	buf    []byte
	bufOff int64 // file offset of buf[0]
	pos    int64

	framed   bool
	inFrame  bool
	frameEnd int64
	filePos  int64

	// linear-mode frame tracking
	lframeEnd int64 // end of the last declared frame, 0 when none

	// lineBytes counts the bytes of text lines scanned; a positive
	// lineBudget caps them (sniffing), ending a read with errLineBudget.
	lineBytes, lineBudget int64

	// borrowed says buf is a caller's slice (newSniffReader): read only.
	borrowed bool
}

func newReader(r io.ReaderAt, size int64, framed bool) *reader {
	// The window never exceeds the stream: a 64 KiB buffer per small file
	// dominated scans of many small files.
	return &reader{r: r, size: size, buf: make([]byte, 0, windowCap(size)), framed: framed}
}

// windowCap is the capacity of a reader's window over a stream of size
// bytes. A refill reads min(cap, bytes left), so any buffer whose capacity
// lies between windowCap(size) and windowSize reads the same windows.
func windowCap(size int64) int64 { return min(windowSize, max(size, 1)) }

// newSniffReader is newReader (linear) for the sniff walks, which run
// many times over the same bytes. head holds the stream's first bytes: when
// it is the whole stream, the reader serves every read from it, without a
// copy or a read of r (head is never written: a refill, which the walks do
// not need once the stream is buffered, gets a buffer of its own). Else
// *win, when win is not nil, is the window, allocated on first use and
// reused by the caller's next walk; the windows read are the same as
// newReader's.
func newSniffReader(r io.ReaderAt, size int64, head []byte, win *[]byte) *reader {
	if size >= 0 && int64(len(head)) >= size {
		h := head[:size:size]
		return &reader{r: r, size: size, buf: h, borrowed: true}
	}
	if win == nil {
		return newReader(r, size, false)
	}
	if int64(cap(*win)) < windowCap(size) || int64(cap(*win)) > windowSize {
		*win = make([]byte, 0, windowCap(size))
	}
	return &reader{r: r, size: size, buf: (*win)[:0]}
}

// avail returns how many bytes a read at pos may consume before hitting the
// end of the stream or, in framed mode, the end of the current frame.
func (r *reader) pre(n int64) (int64, error) {
	if r.framed && r.inFrame {
		if r.pos == r.frameEnd {
			r.inFrame = false
			r.pos = r.filePos
		} else if r.frameEnd-r.pos < n {
			return 0, errFrame
		}
	}
	if r.size-r.pos < n {
		return 0, ErrTruncated
	}
	return n, nil
}

func (r *reader) post() {
	if r.framed && !r.inFrame {
		r.filePos = r.pos
	}
}

// window makes buf cover at least n bytes at pos (n <= windowSize) or up to
// EOF, and returns the bytes from pos.
func (r *reader) window(n int) ([]byte, error) {
	start := r.pos - r.bufOff
	if r.pos >= r.bufOff && start+int64(n) <= int64(len(r.buf)) {
		return r.buf[start:], nil
	}
	if r.pos >= r.bufOff && start < int64(len(r.buf)) && r.bufOff+int64(len(r.buf)) == r.size {
		return r.buf[start:], nil // already at EOF
	}
	if r.borrowed {
		// buf is the caller's head: never read into it.
		r.buf, r.borrowed = make([]byte, 0, windowCap(r.size)), false
	}
	m := int64(cap(r.buf))
	if rem := r.size - r.pos; rem < m {
		m = rem
	}
	if m <= 0 {
		r.buf, r.bufOff = r.buf[:0], r.pos
		return nil, nil
	}
	r.buf = r.buf[:m]
	got, err := r.r.ReadAt(r.buf, r.pos)
	if int64(got) < m {
		r.buf = r.buf[:0]
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, &ioError{err}
	}
	r.bufOff = r.pos
	return r.buf, nil
}

// fixed reads n (<= 16) bytes; the result is valid until the next read.
func (r *reader) fixed(n int) ([]byte, error) {
	if _, err := r.pre(int64(n)); err != nil {
		return nil, err
	}
	w, err := r.window(n)
	if err != nil {
		return nil, err
	}
	r.pos += int64(n)
	r.post()
	return w[:n], nil
}

// line reads up to and including '\n'. It returns at most keep bytes of the
// line (without '\n'), the offset and full length of the line content.
func (r *reader) line(keep int64) (data []byte, off, total int64, err error) {
	off, total, err = r.scanLine(func(chunk []byte) {
		if room := keep - int64(len(data)); room > 0 {
			if int64(len(chunk)) > room {
				data = append(data, chunk[:room]...)
			} else {
				data = append(data, chunk...)
			}
		}
	})
	if err != nil {
		return nil, off, 0, err
	}
	return data, off, total, nil
}

// numberLine reads the '\n'-terminated text of an INT, LONG, FLOAT, GET or
// PUT operand the way CPython's parsers see it: strtol and
// PyLong_FromString skip leading and trailing whitespace, and every number
// parser skips leading zeros, however many there are, so a number padded
// to megabytes is still one number. Those bytes are dropped (a run of
// zeros becomes one "0", inner whitespace one ' '); at most keep bytes of
// what remains are returned, with over set when more remained.
func (r *reader) numberLine(keep int64) (text []byte, off, total int64, over bool, err error) {
	const (
		lead = iota
		zeros
		body
	)
	phase, sawZero, pendingSpace := lead, false, false
	add := func(c byte) {
		if int64(len(text)) < keep {
			text = append(text, c)
		} else {
			over = true
		}
	}
	off, total, err = r.scanLine(func(chunk []byte) {
		for _, c := range chunk {
			switch phase {
			case lead:
				if isPySpace(c) {
					continue
				}
				phase = zeros
				if c == '+' || c == '-' {
					add(c)
					continue
				}
				fallthrough
			case zeros:
				if c == '0' || (c == '_' && sawZero) {
					sawZero = true
					continue
				}
				if sawZero {
					add('0')
				}
				phase = body
				fallthrough
			case body:
				if isPySpace(c) {
					pendingSpace = true
					continue
				}
				if pendingSpace {
					add(' ')
					pendingSpace = false
				}
				add(c)
			}
		}
	})
	if phase == zeros && sawZero {
		add('0')
	}
	return text, off, total, over, err
}

// isPySpace reports the ASCII whitespace Python's number parsers skip.
func isPySpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'
}

// scanLine consumes up to and including '\n', passing the line content to
// fn in chunks, and returns the offset and full length of the content.
func (r *reader) scanLine(fn func(chunk []byte)) (off, total int64, err error) {
	if r.framed && r.inFrame && r.pos == r.frameEnd {
		r.inFrame = false
		r.pos = r.filePos
	}
	off = r.pos
	limit := r.size
	if r.framed && r.inFrame {
		limit = r.frameEnd
	}
	for {
		if r.pos >= limit {
			r.pos = off
			if limit < r.size {
				return off, 0, errFrame
			}
			return off, 0, ErrTruncated
		}
		if r.lineBudget > 0 {
			if r.lineBytes >= r.lineBudget {
				r.pos = off
				return off, 0, errLineBudget
			}
		}
		w, err := r.window(1)
		if err != nil {
			return off, 0, err
		}
		if rem := limit - r.pos; int64(len(w)) > rem {
			w = w[:rem]
		}
		i := bytes.IndexByte(w, '\n')
		chunk := w
		if i >= 0 {
			chunk = w[:i]
		}
		fn(chunk)
		total += int64(len(chunk))
		r.lineBytes += int64(len(chunk))
		if i >= 0 {
			r.pos += int64(i) + 1
			break
		}
		r.pos += int64(len(w))
	}
	r.post()
	return off, total, nil
}

// payload consumes n bytes and returns a copy of the first keep of them.
// Bytes beyond keep are skipped without being read.
func (r *reader) payload(n, keep int64) ([]byte, int64, error) {
	if n < 0 {
		return nil, r.pos, ErrTruncated
	}
	if _, err := r.pre(n); err != nil {
		return nil, r.pos, err
	}
	off := r.pos
	k := min(n, keep)
	var data []byte
	if k > 0 {
		data = make([]byte, 0, k)
	}
	for int64(len(data)) < k {
		w, err := r.window(1)
		if err != nil {
			return nil, off, err
		}
		take := min(int64(len(w)), k-int64(len(data)))
		data = append(data, w[:take]...)
		r.pos += take
	}
	r.pos = off + n
	r.post()
	return data, off, nil
}

// startFrame applies a FRAME of n bytes whose opcode has just been read.
func (r *reader) startFrame(n uint64) error {
	if !r.framed {
		if n > uint64(r.size-r.pos) {
			r.lframeEnd = r.size + 1
		} else {
			r.lframeEnd = r.pos + int64(n)
		}
		return nil
	}
	if r.inFrame && r.pos < r.frameEnd {
		return errFrame
	}
	r.inFrame = true
	got := min(n, uint64(r.size-r.pos))
	r.frameEnd = r.pos + int64(got)
	r.filePos = r.frameEnd
	return nil
}

// endPickle positions the reader where the next pickle program would start
// after a STOP: in framed mode the file position (after the whole frame).
func (r *reader) endPickle() {
	if r.framed && r.inFrame {
		r.pos = r.filePos
		r.inFrame = false
	}
	r.lframeEnd = 0
}

// fileState saves the frame state around a direct file access.
type fileState struct {
	inFrame       bool
	pos, frameEnd int64
}

// enterFile switches to reading directly from the file position (joblib
// reads array data and nested pickles from the underlying file handle).
func (r *reader) enterFile() fileState {
	s := fileState{r.inFrame, r.pos, r.frameEnd}
	if r.framed && r.inFrame {
		r.pos = r.filePos
		r.inFrame = false
	}
	return s
}

// leaveFile returns to the frame saved by enterFile.
func (r *reader) leaveFile(s fileState) {
	if r.framed && s.inFrame {
		r.filePos = r.pos
		r.pos, r.inFrame, r.frameEnd = s.pos, true, s.frameEnd
	}
}

func (r *reader) String() string {
	return fmt.Sprintf("reader{pos=%d size=%d framed=%v inFrame=%v frameEnd=%d filePos=%d}", r.pos, r.size, r.framed, r.inFrame, r.frameEnd, r.filePos)
}
