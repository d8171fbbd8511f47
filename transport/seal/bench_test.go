package seal

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"

	"github.com/mlsecops/mlsec/transport"
)

// BenchmarkSeal and BenchmarkUnseal measure the bundle pipeline (tar,
// SHA-256, age) on a 256 MiB model from the page cache; unseal writes to a
// temporary directory. go test -run '^$' -bench . -benchtime 3x ./transport/seal
func benchModel(b *testing.B) (string, *age.X25519Identity) {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "m")
	os.Mkdir(dir, 0o755)
	buf := make([]byte, 64<<20)
	rand.Read(buf)
	for _, n := range []string{"a.safetensors", "b.safetensors", "c.safetensors", "d.safetensors"} {
		if err := os.WriteFile(filepath.Join(dir, n), buf, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	id, _ := age.GenerateX25519Identity()
	return dir, id
}

func BenchmarkSeal(b *testing.B) {
	dir, id := benchModel(b)
	a, err := transport.Collect(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(a.Size())
	for b.Loop() {
		if _, err := Write(context.Background(), io.Discard, a, id.Recipient()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnseal(b *testing.B) {
	dir, id := benchModel(b)
	a, _ := transport.Collect(dir)
	var sealed bytes.Buffer
	if _, err := Write(context.Background(), &sealed, a, id.Recipient()); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(a.Size())
	out := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		dest := filepath.Join(out, "o", string(rune('a'+i%26))+string(rune('0'+i/26)))
		os.MkdirAll(filepath.Dir(dest), 0o755)
		if _, err := Open(context.Background(), bytes.NewReader(sealed.Bytes()), dest, id); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(dest)
		b.StartTimer()
	}
}
