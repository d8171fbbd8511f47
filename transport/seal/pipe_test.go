package seal

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlsecops/mlsec/transport"
)

type failAfter struct {
	n   int
	err error
}

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n < len(p) {
		return 0, f.err
	}
	f.n -= len(p)
	return len(p), nil
}

// A failing output, a file that vanished and a cancelled context end Write
// with their error (no hang, no partial success); a bundle across many
// pipeline blocks round-trips byte for byte.
func TestWritePipelineErrors(t *testing.T) {
	id := identity(t)
	src := filepath.Join(t.TempDir(), "model")
	big := bytes.Repeat([]byte("0123456789abcdef"), 5*pipeBlock/16+7) // > pipeBlocks blocks
	writeTree(t, src, map[string]string{"a.bin": string(big), "b/c.json": "{}"})
	a, err := transport.Collect(src)
	if err != nil {
		t.Fatal(err)
	}
	diskFull := errors.New("disk full")
	if _, err := Write(context.Background(), &failAfter{n: 1 << 20, err: diskFull}, a, id.Recipient()); !errors.Is(err, diskFull) {
		t.Errorf("failing output: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Write(ctx, &bytes.Buffer{}, a, id.Recipient()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	var sealed bytes.Buffer
	if _, err := Write(context.Background(), &sealed, a, id.Recipient()); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "out")
	if _, err := Open(context.Background(), bytes.NewReader(sealed.Bytes()), dest, id); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dest, "a.bin")); !bytes.Equal(got, big) {
		t.Error("a.bin differs after the round trip")
	}
	os.Remove(filepath.Join(src, "a.bin"))
	if _, err := Write(context.Background(), &bytes.Buffer{}, a, id.Recipient()); err == nil {
		t.Error("a vanished file sealed")
	}
}
