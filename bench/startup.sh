#!/usr/bin/env bash
# Start-up cost (issue 11 §4): wall time and peak RSS of `mlsec version` and
# of `mlsec scan` on one small file, median of 20 runs, plus the package
# initialisation that dominates them (GODEBUG=inittrace=1, summed over 10
# runs). Goal: scan of one small file <= 10 ms wall and <= 20 MB RSS, met by
# mlsec-scan (the scanner alone); mlsec links every stack and cannot.
#
#   bash bench/startup.sh [DIR]      (hyperfine: apt-get install hyperfine)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-$(mktemp -d /tmp/mlsec-startup.XXXX)}
go build -o "$dir/mlsec" ./cmd/mlsec
go build -o "$dir/mlsec-scan" ./cmd/mlsec-scan
python3 - "$dir/small.safetensors" <<'PY'
import json, struct, sys
h = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + bytes(8))
PY
median_rss() { # command...
	for _ in $(seq 20); do /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -1; done |
		sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}
for cmd in "mlsec version" "mlsec scan $dir/small.safetensors" "mlsec-scan $dir/small.safetensors"; do
	# shellcheck disable=SC2086
	echo "$cmd: median RSS $(median_rss "$dir"/$cmd) KiB"
done
if command -v hyperfine >/dev/null; then
	hyperfine -N --warmup 3 --runs 20 --export-json "$dir/hyperfine.json" \
		"$dir/mlsec version" "$dir/mlsec scan $dir/small.safetensors" "$dir/mlsec-scan $dir/small.safetensors" >/dev/null
	python3 - "$dir/hyperfine.json" "$dir/" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("%-30s median %6.1f ms  min %6.1f ms  user %5.1f ms  sys %5.1f ms"
          % (r["command"].replace(sys.argv[2], ""), r["median"] * 1e3, r["min"] * 1e3, r["user"] * 1e3, r["system"] * 1e3))
PY
fi
for cmd in "mlsec scan" "mlsec-scan"; do
	echo "$cmd: package initialisation (mean of 10 runs, top 8):"
	# shellcheck disable=SC2086
	for _ in $(seq 10); do GODEBUG=inittrace=1 "$dir"/$cmd "$dir/small.safetensors" 2>&1 >/dev/null | grep '^init '; done |
		awk '{t[$2] += $5; b[$2] += $8; T += $5; B += $8} END {
			for (k in t) printf "  %7.3f ms %9d B  %s\n", t[k] / 10, b[k] / 10, k
			printf "  %7.3f ms %9d B  TOTAL (%d packages)\n", T / 10, B / 10, length(t)
		}' | sort -rn | head -9
done
