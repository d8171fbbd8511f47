package seal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/mlsecops/mlsec/transport"
)

// The sending side runs as three stages too: one goroutine reads the
// members' files into pooled blocks and hashes them, the caller writes
// them through tar and age, and an asyncWriter hands the ciphertext to the
// output in another goroutine. Memory is bounded by the pools.

// member is what the reading stage sends for one member: its file's size
// first (start), then data blocks, then its digest (end).
type memberMsg struct {
	kind msgKind
	m    transport.Member
	size int64
	blk  *block
	sum  string
	n    int64
	err  error
}

// readMembers reads every member's file in order into blocks from free,
// hashing them, and sends them on out; it closes out when done or on the
// first error (sent as the last message).
func readMembers(ctx context.Context, members []transport.Member, free chan *block, out chan<- memberMsg) {
	defer close(out)
	send := func(m memberMsg) bool {
		select {
		case out <- m:
			return true
		case <-ctx.Done():
			return false
		}
	}
	h := sha256.New()
	for _, m := range members {
		f, err := os.Open(m.Path)
		if err != nil {
			send(memberMsg{err: fmt.Errorf("seal: %w", err)})
			return
		}
		fi, err := f.Stat()
		if err == nil && !fi.Mode().IsRegular() {
			err = fmt.Errorf("%s is not a regular file", m.Path)
		}
		if err != nil {
			f.Close()
			send(memberMsg{err: fmt.Errorf("seal: %w", err)})
			return
		}
		if !send(memberMsg{kind: msgStart, m: m, size: fi.Size()}) {
			f.Close()
			return
		}
		h.Reset()
		r := io.LimitReader(f, fi.Size())
		var n int64
		for {
			var b *block
			select {
			case b = <-free:
			case <-ctx.Done():
				f.Close()
				return
			}
			k, err := fill(r, b.buf)
			b.n = k
			n += int64(k)
			if k > 0 {
				h.Write(b.buf[:k])
				if !send(memberMsg{kind: msgData, blk: b}) {
					f.Close()
					return
				}
			} else {
				free <- b
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				f.Close()
				send(memberMsg{err: fmt.Errorf("seal: %s: %w", m.Name, err)})
				return
			}
		}
		f.Close()
		if !send(memberMsg{kind: msgEnd, m: m, n: n, sum: hex.EncodeToString(h.Sum(nil))}) {
			return
		}
	}
}

// asyncWriter buffers writes into pooled blocks that a goroutine writes to
// w in order, so that the caller's work overlaps the output's. An error
// of w is returned by a later Write or by Close.
type asyncWriter struct {
	free   chan *block
	q      chan *block
	done   chan error
	cur    *block
	err    error
	wdone  bool
	failed atomic.Bool
}

func newAsyncWriter(w io.Writer, blocks, size int) *asyncWriter {
	a := &asyncWriter{free: make(chan *block, blocks), q: make(chan *block, blocks), done: make(chan error, 1)}
	for range blocks {
		a.free <- &block{buf: make([]byte, size)}
	}
	go func() {
		var err error
		for b := range a.q {
			if err == nil {
				if _, err = w.Write(b.buf[:b.n]); err != nil {
					a.failed.Store(true)
				}
			}
			b.n = 0
			a.free <- b
		}
		a.done <- err
	}()
	return a
}

func (a *asyncWriter) Write(p []byte) (int, error) {
	if a.err != nil {
		return 0, a.err
	}
	if a.failed.Load() {
		a.Close()
		return 0, a.err
	}
	total := len(p)
	for len(p) > 0 {
		if a.cur == nil {
			a.cur = <-a.free
		}
		k := copy(a.cur.buf[a.cur.n:], p)
		a.cur.n += k
		p = p[k:]
		if a.cur.n == len(a.cur.buf) {
			a.q <- a.cur
			a.cur = nil
		}
	}
	return total, nil
}

// Close writes what is buffered and waits for the output; it returns the
// output's first error.
func (a *asyncWriter) Close() error {
	if a.wdone {
		return a.err
	}
	a.wdone = true
	if a.cur != nil && a.cur.n > 0 {
		a.q <- a.cur
		a.cur = nil
	}
	close(a.q)
	if err := <-a.done; err != nil && a.err == nil {
		a.err = err
	}
	return a.err
}
