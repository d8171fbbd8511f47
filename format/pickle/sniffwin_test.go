package pickle

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.ReaderAt
	n int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

// TestSniffReaderSameWalk checks that the sniff walks decide the same
// whether they read through newReader (a window of their own) or through
// newSniffReader (the caller's head when it is the whole stream, else one
// window shared by successive walks), at every offset JunkPrefix tries; that
// a stream held whole in the head is not read again; and that the head is
// never written.
func TestSniffReaderSameWalk(t *testing.T) {
	var docs [][]byte
	for _, p := range fixtures(t) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, data)
	}
	texts, _ := filepath.Glob("/usr/share/doc/*/copyright")
	for _, p := range texts[:min(len(texts), 200)] {
		if data, err := os.ReadFile(p); err == nil {
			docs = append(docs, data)
		}
	}
	docs = append(docs, []byte("I1\n."), []byte("cos\nsystem\n(S'id'\ntR."), bytes.Repeat([]byte("I1\n0"), 30000))
	var win []byte
	for i, data := range docs {
		for _, headLen := range []int{len(data), 8192, 100} {
			head := append([]byte(nil), data[:min(len(data), headLen)]...)
			for off := 0; off <= maxJunk && off < len(head); off++ {
				size := int64(len(data) - off)
				h := head[off:]
				ref := sniffWalkAt(io.NewSectionReader(bytes.NewReader(data), int64(off), size), size, h, true)
				if len(h) == 0 {
					continue
				}
				sr := io.NewSectionReader(bytes.NewReader(data), int64(off), size)
				want := sniffWalkReader(newReader(sr, size, false), sr, h, true)
				cr := &countingReader{r: io.NewSectionReader(bytes.NewReader(data), int64(off), size)}
				got := sniffWalkWin(cr, size, h, true, &win)
				if got != want || ref != want {
					t.Errorf("doc %d head %d offset %d: walk %+v, own window %+v, sniffWalkAt %+v", i, headLen, off, got, want, ref)
				}
				if int64(len(h)) >= size && cr.n != 0 {
					t.Errorf("doc %d offset %d: read %d bytes of a stream held in the head", i, off, cr.n)
				}
			}
			if !bytes.Equal(head, data[:len(head)]) {
				t.Fatalf("doc %d: head written", i)
			}
		}
	}
}
