#!/usr/bin/env bash
# API load (issue 13): 50 concurrent clients, each with its own ml-engineer
# token, doing 20% registrations, 40% lists (newest 100) and 40% gets for
# DURATION, against `mlsec serve` with its default flags on SQLite and on
# PostgreSQL (skipped when 127.0.0.1:5432 is unreachable). Reports req/s,
# p50/p99/max per operation, errors and the server's RSS, with the load
# average before and after (the machine may be shared).
#
#   bash bench/load.sh            # DURATION=30s CLIENTS=50
#
# Target: p99 < 100 ms overall with no errors.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-30s}
CLIENTS=${CLIENTS:-50}
tmp=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/mlsec" ./cmd/mlsec
go build -o "$tmp/load" ./bench/load
echo "== $(date -u) on $(nproc) CPUs; load: $(uptime)"

run() { # name, serve flags...
	local name=$1; shift
	"$tmp/mlsec" serve --data "$tmp/$name" --addr 127.0.0.1:0 --log-level warn "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	pid=$!
	for _ in $(seq 100); do grep -q 'serving on' "$tmp/$name.out" 2>/dev/null && break; sleep 0.1; done
	local url
	url=$(sed -n 's/.*serving on \(http:[^ ]*\).*/\1/p' "$tmp/$name.out")
	echo "== $name ($url) load before: $(cut -d' ' -f1-3 /proc/loadavg)"
	"$tmp/load" -url "$url" -token-file "$tmp/$name/admin.token" -clients "$CLIENTS" -duration "$DURATION" -pid "$pid" || true
	echo "== $name load after: $(cut -d' ' -f1-3 /proc/loadavg)"
	kill "$pid"; wait "$pid" 2>/dev/null || true
}

run sqlite
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
	schema=mlsec_load_$$
	PGOPTIONS="-c client_min_messages=warning" psql -q -h 127.0.0.1 -d test -c "CREATE SCHEMA $schema"
	run postgres --database "postgres://127.0.0.1:5432/test?search_path=$schema&sslmode=disable" --workers 0
	PGOPTIONS="-c client_min_messages=warning" psql -q -h 127.0.0.1 -d test -c "DROP SCHEMA $schema CASCADE"
fi
