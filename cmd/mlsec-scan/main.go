// Command mlsec-scan is `mlsec scan` alone: the same flags, report formats
// and exit codes (mlsec-scan [flags] PATH... is mlsec scan [flags] PATH...),
// in a binary that links only the scanner. It is for pre-commit hooks and
// per-file CI loops, where mlsec's start-up — the package initialisation of
// its signing, policy, AI-BOM, server and storage stacks, which Go runs
// whatever the command — would dominate (bench/startup.sh).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/mlsecops/mlsec/internal/scancli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := scancli.Run(ctx, "mlsec-scan", os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
