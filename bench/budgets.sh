#!/usr/bin/env bash
# Scan budgets on hostile input (issue 11 §3): every input must end in a
# verdict within 5 s and 256 MiB RSS. Generates the inputs of package
# bench/hostile (kept in DIR between runs), then scans each with mlsec and
# prints wall time, CPU time, peak RSS and the verdict, flagging any budget
# overrun. The 10^5-file directory is compared with `find | xargs cat`.
#
#   bash bench/budgets.sh [DIR]
#
# The machine is shared: read CPU (user+sys) next to wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/mlsec-budgets}
mkdir -p "$dir"
go build -o "$dir/mlsec" ./cmd/mlsec
go run ./bench/hostilegen -dir "$dir"
fail=0
measure() { # label path...
	local label=$1; shift
	local t
	t=$( { /usr/bin/time -f "%e %U %S %M" "$dir/mlsec" scan --fail-on none --format json -o "$dir/out.json" "$@" >/dev/null; } 2>&1 | tail -1)
	read -r wall user sys rss <<<"$t"
	local verdict
	verdict=$(python3 -c '
import json, sys, collections
d = json.load(open(sys.argv[1]))
c = collections.Counter((a.get("verdict"), a.get("limit") or "") for a in d["artifacts"])
print(", ".join("%dx %s%s" % (n, v, " (%s)" % l if l else "") for (v, l), n in c.most_common(3)))' "$dir/out.json")
	local flag=ok
	if awk -v w="$wall" -v r="$rss" 'BEGIN { exit !(w > 5 || r > 262144) }'; then flag=OVER; fail=1; fi
	printf '%-28s %6.2f s wall %5.2f s cpu %7d KiB  %-4s %s\n' "$label" "$wall" "$(echo "$user + $sys" | bc)" "$rss" "$flag" "$verdict"
}
measure "safetensors 10^6 tensors" "$dir/tensors-1e6.safetensors"
measure "safetensors 90 MB metadata" "$dir/metadata-90MB.safetensors"
measure "gguf 10^6 key/values" "$dir/kvs-1e6.gguf"
measure "onnx 2*10^6 nodes" "$dir/nodes-2e6.onnx"
measure "zip 16^4 nested (42.zip)" "$dir/nested-16x4.zip"
measure "tar.gz 16^3 nested" "$dir/nested-16x3.tar.gz"
measure "gzip 4 GiB of zeros" "$dir/zeros-4GiB.gz"
measure "10^5 small files" "$dir/many-files"
/usr/bin/time -f "find | xargs cat, same dir:  %e s wall %U+%S s cpu" sh -c "find '$dir/many-files' -type f -print0 | xargs -0 cat >/dev/null"
# A FIFO as PATH must fail at once, not block.
rm -f "$dir/fifo"; mkfifo "$dir/fifo"
if timeout 5 "$dir/mlsec" scan "$dir/fifo" >/dev/null 2>&1; then echo "FIFO: scan succeeded?"; fail=1
elif [ $? -eq 124 ]; then echo "FIFO: scan blocked"; fail=1
else echo "FIFO as PATH: refused at once"; fi
go test -run 'HostileHeadersBounded|KVCap|StructureBudget|NestedBomb|NestedTarGz|SpecialFile' ./format/safetensors ./format/gguf ./format/onnx ./scan/detector/zip ./scan/detector/archive ./scan/
exit $fail
