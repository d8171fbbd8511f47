#!/usr/bin/env bash
# bench/signing.sh — OpenSSF Model Signing hashing throughput.
#
# Compares `mlsec digest` (files/sha256 on a 16-file model, shards/blake3 on
# one large file) with sha256sum on the same files, page cache warm, and
# runs the Go benchmarks in ./signing. Usage:
#
#   bench/signing.sh [SIZE_BYTES]     (default 4 GiB; data reused between runs)
#
# Environment: MLSEC_BENCH_DIR (default $TMPDIR/mlsec-signing-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-$((4 << 30))}
DIR=${MLSEC_BENCH_DIR:-${TMPDIR:-/tmp}/mlsec-signing-bench}
export MLSEC_BENCH_DIR=$DIR MLSEC_BENCH_SIZE=$SIZE
BIN=$(mktemp -d)/mlsec
go build -o "$BIN" ./cmd/mlsec

echo "== machine: $(nproc) cores; $(uptime)"
echo "== Go benchmarks (also creates the data files)"
go test ./signing/ -run '^$' -bench 'FilesSHA256|ShardsBLAKE3|ShardsSHA256' -benchtime 3x

MULTI=$DIR/multi-$SIZE
SINGLE=$DIR/single-$SIZE.bin
cat "$MULTI"/* "$SINGLE" > /dev/null # warm the page cache

gbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.2f GB/s", b / s / 1e9 }'; }
timeit() { local t0 t1; t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'; }

echo "== $((SIZE >> 20)) MiB, page cache warm"
t=$(timeit "$BIN" digest --method files --hash sha256 "$MULTI")
echo "mlsec digest files/sha256 (16 files):      $(gbps "$SIZE" "$t")  (${t}s)"
t=$(timeit sha256sum "$MULTI"/*)
echo "sha256sum (16 files, one process):         $(gbps "$SIZE" "$t")  (${t}s)"
t=$(timeit sh -c "ls $MULTI/* | xargs -P $(nproc) -n 1 sha256sum")
echo "sha256sum (16 files, $(nproc) processes):         $(gbps "$SIZE" "$t")  (${t}s)"
t=$(timeit "$BIN" digest --method shards --hash blake3 "$SINGLE")
echo "mlsec digest shards/blake3 (one file):     $(gbps "$SIZE" "$t")  (${t}s)"
t=$(timeit "$BIN" digest --method shards --hash sha256 "$SINGLE")
echo "mlsec digest shards/sha256 (one file):     $(gbps "$SIZE" "$t")  (${t}s)"
t=$(timeit sha256sum "$SINGLE")
echo "sha256sum (one file):                      $(gbps "$SIZE" "$t")  (${t}s)"
echo "== load after: $(uptime)"
