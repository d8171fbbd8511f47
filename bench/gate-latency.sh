#!/usr/bin/env bash
# API performance (issue 8), through the HTTP API of `mlsec serve` (real
# handler chain: routing, token authentication, rate-limit bookkeeping,
# JSON, metrics) on the embedded SQLite store in its production setting
# (WAL, synchronous=FULL):
#
#   - gate decision latency, POST /api/v1/artifacts/{digest}/gate, with
#     10,000 artifacts stored (each with scan evidence; every tenth with a
#     finding), stages rotating over data/experimentation/ci/cd/serving;
#     reports p50 and p99 (target: p99 < 20 ms);
#   - attestation ingest, POST /api/v1/attestations of distinct in-toto
#     statements from concurrent clients (target: >= 500/s).
#
#   bash bench/gate-latency.sh [GATE_REQUESTS]
#
# MLSEC_BENCH_ARTIFACTS overrides the 10,000; MLSEC_BENCH_SYNC=NORMAL measures
# the relaxed durability setting. Store-level numbers: bench/ingest.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-3000}
echo "== $(date -u) on $(nproc) CPUs; load: $(uptime)"
go test -run '^$' -bench 'BenchmarkGateDecision' -benchtime "${n}x" -timeout 30m ./server/
go test -run '^$' -bench 'BenchmarkAttestationIngest' -benchtime 5000x ./server/
echo "== load after: $(uptime)"
