// Command hostilegen writes the hostile inputs of bench/budgets.sh into a
// directory (see package hostile).
//
//	go run ./bench/hostilegen -dir /tmp/mlsec-budgets
package main

import (
	"flag"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/mlsecops/mlsec/bench/hostile"
)

func main() {
	dir := flag.String("dir", "", "output directory (required)")
	files := flag.Int("files", 100_000, "number of small files in many-files/")
	flag.Parse()
	if *dir == "" {
		log.Fatal("hostilegen: -dir is required")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	write := func(name string, f func(io.Writer) error) {
		p := filepath.Join(*dir, name)
		if _, err := os.Stat(p); err == nil {
			return // kept from an earlier run
		}
		out, err := os.Create(p + ".tmp")
		if err != nil {
			log.Fatal(err)
		}
		if err := f(out); err != nil {
			log.Fatalf("%s: %v", name, err)
		}
		if err := out.Close(); err != nil {
			log.Fatal(err)
		}
		if err := os.Rename(p+".tmp", p); err != nil {
			log.Fatal(err)
		}
	}
	write("tensors-1e6.safetensors", func(w io.Writer) error { return hostile.SafetensorsTensors(w, 1_000_000) })
	write("metadata-90MB.safetensors", func(w io.Writer) error { return hostile.SafetensorsMetadata(w, 90_000_000) })
	write("kvs-1e6.gguf", func(w io.Writer) error { return hostile.GGUFKVs(w, 1_000_000) })
	write("nodes-2e6.onnx", func(w io.Writer) error { return hostile.ONNXNodes(w, 2_000_000) })
	write("nested-16x4.zip", func(w io.Writer) error { return hostile.NestedZip(w, 4, 16, 64<<10) })
	write("nested-16x3.tar.gz", func(w io.Writer) error { return hostile.NestedTarGz(w, 3, 16, 1<<20) })
	write("zeros-4GiB.gz", func(w io.Writer) error { return hostile.GzipBomb(w, 4<<30) })
	if _, err := os.Stat(filepath.Join(*dir, "many-files")); err != nil {
		if err := hostile.SmallFiles(filepath.Join(*dir, "many-files"), *files); err != nil {
			log.Fatal(err)
		}
	}
}
