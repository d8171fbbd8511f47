#!/usr/bin/env bash
# Scan performance (issue: scanner foundation §8). Generates sparse synthetic
# inputs, then measures wall time and peak RSS of `mlsec scan` on each, and
# runs the Go benchmarks (bytes read per scan, GB/s, files/s).
#
#   bash bench/scan.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-$(mktemp -d /tmp/mlsec-bench.XXXX)}
go build -o "$dir/mlsec" ./cmd/mlsec
go run ./bench/gen -dir "$dir"
measure() {
	local label=$1; shift
	/usr/bin/time -f "$label: %e s wall, %M KiB max RSS" "$dir/mlsec" scan --fail-on none -q "$@"
}
for i in 1 2 3; do
	measure "2 GiB PyTorch zip checkpoint" "$dir/checkpoint.pt"
	measure "1 GiB BINBYTES pickle" "$dir/binbytes.pkl"
	measure "1,000 small pickles" "$dir/small"
done
go test -run '^$' -bench 'BenchmarkScan' -benchtime 5x ./scan/list/
