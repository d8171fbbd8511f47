#!/usr/bin/env bash
# bench/lineage.sh — `mlsec lineage impact` over an evidence directory that
# holds 10,000 signed claims (2,000 artifacts × 5 claims: one provenance
# naming one or two earlier artifacts, four evaluations). The budget is
# < 1 s. Runs the Go benchmark, then times the real command end to end.
#
#   bench/lineage.sh
#
# Environment: MLSEC_BENCH_DIR (default $TMPDIR/mlsec-lineage-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${MLSEC_BENCH_DIR:-${TMPDIR:-/tmp}/mlsec-lineage-bench}
BIN=$(mktemp -d)/mlsec
go build -o "$BIN" ./cmd/mlsec

echo "== machine: $(nproc) cores; $(uptime)"
echo "== Go benchmark (index 10,000 claims + impact of the root)"
go test ./lineage/ -run '^$' -bench 'Impact10k' -benchtime 5x

if [ ! -f "$DIR/root" ]; then
	rm -rf "$DIR" && mkdir -p "$DIR/evidence"
	go test ./lineage/ -run '^TestWriteBenchEvidence$' -count=1 -v -args -bench-evidence "$DIR/evidence" |
		grep -o 'sha256:[0-9a-f]*' | head -1 > "$DIR/root"
fi
ROOT=$(cat "$DIR/root")
echo "== mlsec lineage impact $ROOT --evidence (10,000 claims)"
for i in 1 2 3; do
	t0=$(date +%s.%N)
	n=$("$BIN" lineage impact "$ROOT" --evidence "$DIR/evidence" --format json | grep -c '"digest"')
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN { printf "run %d: %d impacted artifacts in %.3f s\n", '"$i"', n, b - a }'
done
