#!/usr/bin/env bash
# RAG corpus scan throughput (issue 15: a 1 GB corpus of mixed documents at
# >= 200 MB/s). Builds a ~1 GiB corpus in DIR (kept between runs) from the
# documentation installed here — Debian's /usr/share/doc (html, md, txt,
# json; .gz decompressed), man pages (troff, decompressed), the Go
# distribution's doc/ and *.md — copied until 1 GiB, plus the labelled
# corpus of testdata/rag (injected and benign documents, PDFs) in every
# copy. Then times `mlsec scan` on it RUNS times (default 3) and prints the
# median wall time and CPU time (user+sys) with MB/s of each. The machine's
# two cores are shared: MB per CPU-second is the per-core figure; wall MB/s
# is what the scan got while other work ran.
#
#   bash bench/rag.sh [DIR] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/mlsec-rag-corpus}
runs=${2:-3}
mkdir -p "$dir"
go build -o "$dir/mlsec" ./cmd/mlsec
if [ ! -f "$dir/corpus/.done" ]; then
	rm -rf "$dir/corpus"
	python3 - "$dir/corpus" <<'PY'
import gzip, os, shutil, sys
out = sys.argv[1]
os.makedirs(out)
goroot = os.popen("go env GOROOT").read().strip()
srcs = []
for root, exts in (("/usr/share/doc", (".html", ".htm", ".md", ".txt", ".json", ".gz")),
                   ("/usr/share/man", (".gz",)), (goroot + "/doc", ("",)), (goroot + "/src", (".md",))):
    for d, _, fs in os.walk(root):
        for f in fs:
            if f.endswith(exts):
                srcs.append(os.path.join(d, f))
docs = []
for p in sorted(srcs):
    try:
        if not os.path.isfile(p) or os.path.islink(p):
            continue
        with open(p, "rb") as fh:
            b = fh.read()
        if p.endswith(".gz"):
            b = gzip.decompress(b)
            if b"\0" in b[:4096]:
                continue
        docs.append((os.path.basename(p).removesuffix(".gz"), b))
    except Exception:
        continue
here = os.path.join(os.getcwd(), "testdata", "rag")
for sub in ("inject", "benign", "pdf"):
    for f in sorted(os.listdir(os.path.join(here, sub))):
        with open(os.path.join(here, sub, f), "rb") as fh:
            docs.append((sub + "-" + f, fh.read()))
total, copy = 0, 0
while total < 1 << 30:
    d = os.path.join(out, "copy%02d" % copy)
    os.makedirs(d)
    for i, (name, b) in enumerate(docs):
        sub = os.path.join(d, "%03d" % (i // 500))
        if i % 500 == 0:
            os.makedirs(sub)
        with open(os.path.join(sub, "%05d-%s" % (i, name)), "wb") as fh:
            fh.write(b)
        total += len(b)
    copy += 1
print("corpus: %d copies of %d documents, %.1f MB" % (copy, len(docs), total / 1e6))
PY
	touch "$dir/corpus/.done"
fi
bytes=$(du -sb --exclude=.done "$dir/corpus" | cut -f1)
files=$(find "$dir/corpus" -type f ! -name .done | wc -l)
echo "corpus: $files files, $((bytes / 1000000)) MB"
find "$dir/corpus" -type f -print0 | xargs -0 cat >/dev/null # warm the page cache
results=()
for i in $(seq "$runs"); do
	t=$( { /usr/bin/time -f "%e %U %S %M" "$dir/mlsec" scan --fail-on none --format json -o "$dir/out.json" "$dir/corpus" >/dev/null; } 2>&1 | tail -1)
	read -r wall user sys rss <<<"$t"
	cpu=$(echo "$user + $sys" | bc)
	printf 'run %d: %6.2f s wall (%6.1f MB/s), %6.2f s cpu (%6.1f MB per cpu-s), %d KiB max RSS\n' "$i" "$wall" \
		"$(echo "$bytes / 1000000 / $wall" | bc -l)" "$cpu" "$(echo "$bytes / 1000000 / $cpu" | bc -l)" "$rss"
	results+=("$wall $cpu")
done
printf '%s\n' "${results[@]}" | sort -n | awk -v b="$bytes" -v n="$runs" 'NR == int((n + 1) / 2) {
	printf "median: %.2f s wall = %.1f MB/s; %.2f s cpu = %.1f MB per cpu-s (per core)\n", $1, b / 1e6 / $1, $2, b / 1e6 / $2 }'
python3 -c '
import json, sys, collections
d = json.load(open(sys.argv[1]))
v = collections.Counter(a.get("verdict") for a in d["artifacts"])
r = collections.Counter(f["rule_id"] for a in d["artifacts"] for f in a.get("findings") or [])
print("verdicts:", dict(v)); print("findings by rule:", dict(r.most_common()))' "$dir/out.json"
