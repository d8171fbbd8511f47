#!/usr/bin/env bash
# Hub-scan scale-out on PostgreSQL (issue 8): scan a mirror of N (10,000)
# small synthetic models with 1, then 2 `mlsec worker` processes, and report
# models/s and the speed-up.
#
#   bash bench/hubscan.sh [DIR]
#
# Each worker stands for one machine: GOMAXPROCS=1 and --concurrency
# CONCURRENCY (default 2: one job scanning while one waits on the database;
# at 4, a single worker already fills both of this machine's cores together
# with PostgreSQL and the coordinator, so a second one has nothing left). PostgreSQL runs
# on the same host and competes for the same CPUs, so on a small shared
# machine the speed-up is bounded by what is left over; the script prints
# `uptime` before each run so the numbers can be read honestly.
#
# Target: throughput(2 workers) >= 1.7 × throughput(1 worker).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-10000}
CONCURRENCY=${CONCURRENCY:-2}
PG=${MLSEC_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
dir=${1:-$(mktemp -d /tmp/mlsec-hub.XXXX)}
go build -o "$dir/mlsec" ./cmd/mlsec
[ -d "$dir/mirror" ] || go run ./bench/hubgen -dir "$dir/mirror" -n "$N"

run() {
	local workers=$1 schema="hubbench_${1}_$$" pids=()
	psql "$PG" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" 2>/dev/null
	for i in $(seq "$workers"); do
		GOMAXPROCS=1 "$dir/mlsec" worker --database "$PG" --schema "$schema" \
			--concurrency "$CONCURRENCY" --id "bench-$i" 2>"$dir/worker-$workers-$i.log" &
		pids+=($!)
	done
	sleep 3 # workers migrate and start polling
	for i in $(seq "$workers"); do # a worker that died would halve the measurement silently
		if ! kill -0 "${pids[$((i - 1))]}" 2>/dev/null; then
			echo "worker $i of $workers exited at start:" >&2
			cat "$dir/worker-$workers-$i.log" >&2
			exit 1
		fi
	done
	echo "-- $workers worker(s); load before: $(uptime)" >&2
	"$dir/mlsec" hub scan --database "$PG" --schema "$schema" --workers 0 --format json "$dir/mirror" >"$dir/result-$workers.json"
	kill "${pids[@]}"
	wait "${pids[@]}" 2>/dev/null || true
	psql "$PG" -qc "DROP SCHEMA $schema CASCADE" 2>/dev/null
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["done"]==r["total"] and r["failed"]==0, r; print("%.1f" % (r["done"]/r["seconds"]))' "$dir/result-$workers.json"
}

one=$(run 1)
echo "1 worker:  $one models/s"
two=$(run 2)
echo "2 workers: $two models/s"
python3 -c "import sys; print('speed-up: %.2fx' % (float(sys.argv[2])/float(sys.argv[1])))" "$one" "$two"
echo "load after: $(uptime)"
