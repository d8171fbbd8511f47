#!/usr/bin/env bash
# Storage performance (issue 8): attestation ingest rate and the latency of
# the store-side lookups of a gate decision with 10,000 artifacts stored, on
# SQLite (the embedded default) and PostgreSQL (skipped if unreachable).
#
#   bash bench/ingest.sh
#
# Targets: ingest >= 500 attestations/s on SQLite; gate p99 < 20 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== $(date -u) on $(nproc) CPUs; load: $(uptime)"
# Ingest: AddEvidence of a ~4 KiB bundle with 3 indexed facts, 4 concurrent
# writers, every commit durable (SQLite WAL, synchronous=FULL).
go test -run '^$' -bench 'BenchmarkIngest' -benchtime 5000x ./store/sqlite/ ./store/postgres/
# Gate: artifact + facts + finding counts + 2-hop lineage + prior decisions
# + RecordDecision, over 10,000 seeded artifacts (seeding takes a minute).
go test -run '^$' -bench 'BenchmarkGate10k' -benchtime 2000x -timeout 30m ./store/sqlite/ ./store/postgres/
echo "== load after: $(uptime)"
