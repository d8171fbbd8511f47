// Command hubgen writes a synthetic model-hub mirror for hub-scan
// benchmarks: N model directories (config.json + a small pickle), every
// -malicious-every'th one with a pickle that calls os.system.
//
//	go run ./bench/hubgen -dir /tmp/hub -n 10000
package main

import (
	"flag"
	"fmt"
	"log"

	"github.com/mlsecops/mlsec/queue/queuetest"
)

func main() {
	dir := flag.String("dir", "", "output directory (required)")
	n := flag.Int("n", 10000, "number of models")
	every := flag.Int("malicious-every", 50, "every Nth model is malicious (0: none)")
	flag.Parse()
	if *dir == "" {
		log.Fatal("hubgen: -dir is required")
	}
	bad, err := queuetest.WriteMirror(*dir, *n, *every)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %d models (%d malicious) to %s\n", *n, bad, *dir)
}
