// Command sealkey writes a new age X25519 identity (age-keygen's format)
// to stdout, for bench/seal.sh on machines without age-keygen.
package main

import (
	"fmt"
	"os"

	"filippo.io/age"
)

func main() {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("# public key: %s\n%s\n", id.Recipient(), id)
}
