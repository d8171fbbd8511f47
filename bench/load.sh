#!/usr/bin/env bash
# API load (issue 13): 50 concurrent clients, each with its own ml-engineer
# token, doing 20% registrations, 40% lists (newest 100) and 40% gets for
# DURATION, against `mlsec serve` with its default flags on SQLite and on
# PostgreSQL (skipped when 127.0.0.1:5432 is unreachable). Reports req/s,
# p50/p99/max per operation, errors and the server's RSS, with the load
# average before and after (the machine may be shared).
#
#   bash bench/load.sh            # DURATION=30s CLIENTS=50 REPS=1
#   MLSEC_BASE=/path/to/old/mlsec bash bench/load.sh   # also run an older build, side by side
#   STORES=postgres REPS=3 MLSEC_BASE=... bash bench/load.sh   # one store, 3 interleaved rounds
#
# On a shared machine compare builds only within one run: with REPS > 1
# the builds alternate round by round, and a summary lists every run's
# overall req/s, p50, p99 and register p99 (take the medians). After each
# PostgreSQL run `mlsec audit verify` checks the chain the load appended.
#
# Target: p99 < 100 ms overall with no errors.
#
# The server runs with --rate -1 (RATE=N to change): the bench measures the
# server's own capacity. With the default per-caller limiter (50 req/s,
# burst 200) clients that fire as fast as they can get quick 429s, which
# count as errors and flatter the percentiles.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-30s}
CLIENTS=${CLIENTS:-50}
REPS=${REPS:-1}
STORES=${STORES:-sqlite postgres}
tmp=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/mlsec" ./cmd/mlsec
go build -o "$tmp/load" ./bench/load
echo "== $(date -u) on $(nproc) CPUs; load: $(uptime)"

run() { # binary, name, serve flags...
	local bin=$1 name=$2; shift 2
	"$bin" serve --data "$tmp/$name" --addr 127.0.0.1:0 --log-level warn --rate "${RATE:--1}" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	pid=$!
	for _ in $(seq 100); do grep -q 'serving on' "$tmp/$name.out" 2>/dev/null && break; sleep 0.1; done
	local url
	url=$(sed -n 's/.*serving on \(http:[^ ]*\).*/\1/p' "$tmp/$name.out")
	echo "== $name ($url) load before: $(cut -d' ' -f1-3 /proc/loadavg)"
	"$tmp/load" -url "$url" -token-file "$tmp/$name/admin.token" -clients "$CLIENTS" -duration "$DURATION" -pid "$pid" | tee "$tmp/$name.load" || true
	echo "== $name load after: $(cut -d' ' -f1-3 /proc/loadavg)"
	kill "$pid"; wait "$pid" 2>/dev/null || true
	awk -v n="$name" '$1 == "register" { r = $5 } $1 == "all" { a = $3; p50 = $4; p99 = $5 }
		END { printf "%-22s %9s %8s %8s %12s\n", n, a, p50, p99, r }' "$tmp/$name.load" >>"$tmp/summary"
	rm -rf "${tmp:?}/$name"
}

builds=("$tmp/mlsec:")
[ -n "${MLSEC_BASE:-}" ] && builds=("$MLSEC_BASE:base-" "${builds[@]}")
pg=false
pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && pg=true
for rep in $(seq "$REPS"); do
	for b in "${builds[@]}"; do
		bin=${b%%:*} tag=${b#*:}
		case " $STORES " in *" sqlite "*) run "$bin" "${tag}sqlite-$rep" ;; esac
		if $pg && [[ " $STORES " == *" postgres "* ]]; then
			schema=mlsec_load_$$_${tag%-}x$rep
			db="postgres://127.0.0.1:5432/test?search_path=$schema&sslmode=disable"
			PGOPTIONS="-c client_min_messages=warning" psql -q -h 127.0.0.1 -d test -c "CREATE SCHEMA $schema"
			run "$bin" "${tag}postgres-$rep" --database "$db" --workers 0
			"$tmp/mlsec" audit verify --database "$db"
			PGOPTIONS="-c client_min_messages=warning" psql -q -h 127.0.0.1 -d test -c "DROP SCHEMA $schema CASCADE"
		fi
	done
done
echo "== summary (ms): run, req/s, p50, p99, register p99"
cat "$tmp/summary"
