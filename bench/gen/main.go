// Command gen writes the synthetic inputs of mlsec's scan benchmarks into a
// directory (see package synth).
//
//	go run ./bench/gen -dir /tmp/mlsec-bench
package main

import (
	"flag"
	"log"

	"github.com/mlsecops/mlsec/bench/gen/synth"
)

func main() {
	dir := flag.String("dir", "", "output directory (required)")
	ckpt := flag.Int64("checkpoint-gib", 2, "size of the PyTorch zip checkpoint in GiB")
	pkl := flag.Int64("pickle-gib", 1, "size of the BINBYTES pickle in GiB")
	small := flag.Int("small", 1000, "number of small pickles")
	flag.Parse()
	if *dir == "" {
		log.Fatal("gen: -dir is required")
	}
	if err := synth.WriteAll(*dir, *ckpt<<30, *pkl<<30, *small); err != nil {
		log.Fatal(err)
	}
}
