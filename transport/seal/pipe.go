package seal

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// The receiving side of a bundle runs as three stages joined by bounded
// queues, so that decryption, hashing and the kernel's write path overlap
// on separate cores: the caller decrypts and parses the tar stream into
// pooled blocks, one goroutine hashes them, another writes them to their
// files. Memory is pipeBlocks × pipeBlock whatever the bundle's size.
const (
	pipeBlock  = 512 << 10
	pipeBlocks = 4
)

// block is one pooled buffer shared by the hasher and the writer; the
// second of them to finish with it returns it to the pool.
type block struct {
	buf  []byte
	n    int
	refs atomic.Int32
}

type msgKind uint8

const (
	msgStart msgKind = iota // a new file begins (path set)
	msgData                 // blk holds the next bytes of the current file
	msgEnd                  // the current file is complete
)

type msg struct {
	kind msgKind
	path string
	blk  *block
}

// landPipe writes files from a stream into a directory, hashing them on
// the way. Use start, fill/ send data, end for each file, then wait.
type landPipe struct {
	ctx    context.Context
	g      *errgroup.Group
	free   chan *block
	hashq  chan msg
	writeq chan msg
	sums   [][sha256.Size]byte // by file, in order; read after wait
	closed bool
}

func newLandPipe(ctx context.Context) *landPipe {
	g, gctx := errgroup.WithContext(ctx)
	p := &landPipe{ctx: gctx, g: g,
		free:   make(chan *block, pipeBlocks),
		hashq:  make(chan msg, pipeBlocks+2),
		writeq: make(chan msg, pipeBlocks+2),
	}
	for range pipeBlocks {
		p.free <- &block{buf: make([]byte, pipeBlock)}
	}
	g.Go(p.hasher)
	g.Go(p.writer)
	return p
}

func (p *landPipe) release(b *block) {
	if b.refs.Add(-1) == 0 {
		p.free <- b
	}
}

func (p *landPipe) hasher() error {
	var h hash.Hash = sha256.New()
	for m := range p.hashq {
		switch m.kind {
		case msgStart:
			h.Reset()
		case msgData:
			h.Write(m.blk.buf[:m.blk.n])
			p.release(m.blk)
		case msgEnd:
			var s [sha256.Size]byte
			h.Sum(s[:0])
			p.sums = append(p.sums, s)
		}
	}
	return nil
}

// errWrite marks an error of the destination (disk full, permissions), as
// opposed to an error of the bundle.
type errWrite struct{ err error }

func (e *errWrite) Error() string { return e.err.Error() }
func (e *errWrite) Unwrap() error { return e.err }

func (p *landPipe) writer() error {
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	for m := range p.writeq {
		switch m.kind {
		case msgStart:
			if err := os.MkdirAll(filepath.Dir(m.path), 0o755); err != nil {
				return &errWrite{err}
			}
			var err error
			if f, err = os.OpenFile(m.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644); err != nil {
				return &errWrite{err}
			}
		case msgData:
			_, err := f.Write(m.blk.buf[:m.blk.n])
			p.release(m.blk)
			if err != nil {
				return &errWrite{err}
			}
		case msgEnd:
			err := f.Close()
			f = nil
			if err != nil {
				return &errWrite{err}
			}
		}
	}
	return nil
}

func (p *landPipe) send(m msg) error {
	if m.blk != nil {
		m.blk.refs.Store(2)
	}
	for _, q := range []chan msg{p.hashq, p.writeq} {
		select {
		case q <- m:
		case <-p.ctx.Done():
			return p.stopped()
		}
	}
	return nil
}

// stopped returns why the pipe stopped: a failing stage's error.
func (p *landPipe) stopped() error {
	err := p.wait()
	if err == nil {
		err = context.Cause(p.ctx)
	}
	return err
}

// copyFile streams r (one tar entry) to path through the pipe and returns
// the number of bytes read. A read error is the bundle's.
func (p *landPipe) copyFile(path string, r io.Reader) (int64, error) {
	if err := p.send(msg{kind: msgStart, path: path}); err != nil {
		return 0, err
	}
	var total int64
	for {
		var b *block
		select {
		case b = <-p.free:
		case <-p.ctx.Done():
			return total, p.stopped()
		}
		n, err := fill(r, b.buf)
		b.n = n
		total += int64(n)
		if n > 0 {
			if serr := p.send(msg{kind: msgData, blk: b}); serr != nil {
				return total, serr
			}
		} else {
			p.free <- b
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return total, bundleErr("%v", err)
		}
	}
	return total, p.send(msg{kind: msgEnd})
}

// fill reads into buf until it is full, r ends (io.EOF) or fails.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// wait closes the queues and waits for the stages; it returns the first
// stage error, wrapped for the caller.
func (p *landPipe) wait() error {
	if !p.closed {
		p.closed = true
		close(p.hashq)
		close(p.writeq)
	}
	err := p.g.Wait()
	var we *errWrite
	if errors.As(err, &we) {
		return fmt.Errorf("seal: %w", we.err)
	}
	return err
}
