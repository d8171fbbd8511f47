#!/usr/bin/env bash
# bench/oci.sh — mlsec push/pull against the oras CLI, side by side.
#
# Starts Debian's docker-registry (CNCF distribution 2.8) on loopback with
# PLAIN HTTP (no TLS: the bench measures the clients, not the cipher) and
# filesystem storage, writes a 2 GiB model of four 512 MiB safetensors
# shards (random bytes), signs it (mlsec sign: files/SHA-256), and then, N
# times, alternating: mlsec push, oras push, mlsec pull, oras pull — each
# to a fresh repository or directory. Prints every run and then the medians
# and mlsec's throughput as a share of oras's.
#
# mlsec pull also verifies the OMS signature and scans before it lands;
# oras does neither. Its stderr reports how long the transfer took and how
# long the checks after it (signature, scan) took; both are printed.
#
#   bench/oci.sh [N]          (default N=3)
#
# Needs: docker-registry (apt-get install docker-registry), python3, go.
# Environment: ORAS (an oras binary; default: built from
# oras.land/oras/cmd/oras@v1.3.6 into $TMPDIR/mlsec-oras, never into this
# module), MLSEC_BENCH_DIR (default $TMPDIR/mlsec-oci-bench; the model is
# reused between runs), SHARD_MIB (default 512).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-3}
T=${TMPDIR:-/tmp}
DIR=${MLSEC_BENCH_DIR:-$T/mlsec-oci-bench}
SHARD_MIB=${SHARD_MIB:-512}
REG=/usr/bin/docker-registry
if [ ! -x "$REG" ]; then
	echo "bench/oci.sh: $REG is not installed (apt-get install docker-registry)" >&2
	exit 2
fi
mkdir -p "$DIR"
BIN=$DIR/mlsec
go build -o "$BIN" ./cmd/mlsec
ORAS=${ORAS:-}
if [ -z "$ORAS" ]; then
	ORAS=$T/mlsec-oras/oras
	if [ ! -x "$ORAS" ]; then
		echo "== building oras 1.3.6 into $T/mlsec-oras (outside this module)"
		(cd "$T" && GOBIN=$T/mlsec-oras GOFLAGS=-mod=mod go install oras.land/oras/cmd/oras@v1.3.6)
	fi
fi

# The model: four safetensors shards, one U8 tensor each, random bytes.
M=$DIR/model
if [ ! -f "$M/model.sig" ] || [ "$(cat "$DIR/shard-mib" 2>/dev/null)" != "$SHARD_MIB" ]; then
	echo "== writing the model: 4 x $SHARD_MIB MiB"
	rm -rf "$M" && mkdir -p "$M"
	for i in 1 2 3 4; do
		python3 - "$M/model-0000$i-of-00004.safetensors" "$SHARD_MIB" <<'EOF'
import json, os, struct, sys
path, mib = sys.argv[1], int(sys.argv[2])
n = mib << 20
h = json.dumps({"w": {"dtype": "U8", "shape": [n], "data_offsets": [0, n]}}).encode()
h += b" " * (-len(h) % 8)
with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h)
    left = n
    while left:
        k = min(left, 16 << 20)
        f.write(os.urandom(k))
        left -= k
EOF
	done
	printf '{"model_type":"bench"}\n' >"$M/config.json"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$DIR/k.pem" 2>/dev/null
	openssl pkey -in "$DIR/k.pem" -pubout -out "$DIR/k.pub" 2>/dev/null
	"$BIN" sign --key "$DIR/k.pem" "$M" >/dev/null
	echo "$SHARD_MIB" >"$DIR/shard-mib"
fi
BYTES=$(du -cb "$M"/*.safetensors | tail -1 | cut -f1)

# The registry, plain HTTP on a free loopback port, fresh storage.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RDIR=$(mktemp -d "$T/mlsec-oci-reg.XXXXXX")
cat >"$RDIR/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $RDIR/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$PORT
EOF
"$REG" serve "$RDIR/config.yml" >"$RDIR/registry.log" 2>&1 &
RPID=$!
OUT=$(mktemp -d "$T/mlsec-oci-out.XXXXXX")
cleanup() { kill "$RPID" 2>/dev/null || true; wait "$RPID" 2>/dev/null || true; rm -rf "$RDIR" "$OUT"; }
trap cleanup EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null && break; sleep 0.1; done
H=127.0.0.1:$PORT

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
declare -A R
record() { R[$1]="${R[$1]:-} $2"; }
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# every run starts alike: earlier writes flushed, the model in the page cache
settle() { sync; cat "$M"/* >/dev/null; }

echo "== machine: $(nproc) cores; $(uptime)"
echo "== $((BYTES >> 20)) MiB in 4 shards; registry docker-registry $("$REG" --version 2>/dev/null | awk '{print $NF}') on http://$H; oras $("$ORAS" version | awk '/^Version/ {print $2}')"
for i in $(seq "$N"); do
	settle
	t0=$(now); ref=$("$BIN" push --plain-http "$M" "oci://$H/bench/m$i:v1" 2>"$OUT/push.err") || { cat "$OUT/push.err" >&2; exit 1; }; t1=$(now)
	record mlsec-push "$(secs "$t0" "$t1")"
	settle
	t0=$(now); (cd "$M" && "$ORAS" push --plain-http --no-tty "$H/bench/o$i:v1" model-0000*.safetensors config.json >/dev/null); t1=$(now)
	record oras-push "$(secs "$t0" "$t1")"
	odig=$("$ORAS" resolve --plain-http "$H/bench/o$i:v1")
	settle
	t0=$(now); "$BIN" pull --plain-http --key "$DIR/k.pub" "$ref" "$OUT/m$i" 2>"$OUT/pull.err" >/dev/null || { cat "$OUT/pull.err" >&2; exit 1; }; t1=$(now)
	record mlsec-pull "$(secs "$t0" "$t1")"
	tr=$(sed -n 's/^fetched .* in \([0-9.]*\) s.*/\1/p' "$OUT/pull.err"); record mlsec-pull-transfer "${tr:-0}"
	ck=$(sed -n 's/^checked .* in \([0-9.]*\) s.*/\1/p' "$OUT/pull.err"); record mlsec-pull-checks "${ck:-0}"
	settle
	t0=$(now); (mkdir "$OUT/o$i" && cd "$OUT/o$i" && "$ORAS" pull --plain-http --no-tty "$H/bench/o$i@$odig" >/dev/null); t1=$(now)
	record oras-pull "$(secs "$t0" "$t1")"
	echo "run $i: mlsec push ${R[mlsec-push]##* } s, oras push ${R[oras-push]##* } s, mlsec pull ${R[mlsec-pull]##* } s (transfer ${R[mlsec-pull-transfer]##* } s, verify+scan ${R[mlsec-pull-checks]##* } s), oras pull ${R[oras-pull]##* } s"
	rm -rf "$OUT/m$i" "$OUT/o$i"
done
mbps() { awk -v b="$BYTES" -v s="$1" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f %%", b / a * 100 }'; }
echo "== medians of $N runs (throughput = model bytes / wall time)"
for k in mlsec-push oras-push mlsec-pull mlsec-pull-transfer mlsec-pull-checks oras-pull; do
	m=$(median "${R[$k]}"); printf '%-22s %6s s  %s\n' "$k" "$m" "$(mbps "$m")"
done
echo "push: mlsec at $(ratio "$(median "${R[mlsec-push]}")" "$(median "${R[oras-push]}")") of oras's throughput"
echo "pull: mlsec at $(ratio "$(median "${R[mlsec-pull]}")" "$(median "${R[oras-pull]}")") of oras's throughput (transfer alone: $(ratio "$(median "${R[mlsec-pull-transfer]}")" "$(median "${R[oras-pull]}")"))"
echo "== load after: $(uptime)"
