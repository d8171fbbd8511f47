#!/usr/bin/env bash
# bench/oci.sh — mlsec push/pull against the oras CLI, side by side.
#
# Starts Debian's docker-registry (CNCF distribution 2.8) on loopback with
# PLAIN HTTP (no TLS: the bench measures the clients, not the cipher) and
# filesystem storage, writes a 2 GiB model of four 512 MiB safetensors
# shards (random bytes), signs it (mlsec sign: files/SHA-256), and then, N
# times: mlsec push and oras push, then mlsec pull and oras pull (odd runs
# mlsec first, even runs oras first), each to a fresh repository or
# directory. Prints every run and then the medians
# and mlsec's throughput as a share of oras's.
#
# Every command runs under GNU time: wall time, CPU time (user + system)
# and max RSS are recorded. On a shared, loaded machine the wall times are
# noisy; the per-run ratio (the two tools run back to back) and the CPU
# times are the steadier figures. mlsec pull also verifies the OMS
# signature and scans before it lands; oras does neither. mlsec's stderr
# reports how long the transfer took and how long the checks after it
# (signature, scan) took; both are printed separately.
#
#   bench/oci.sh [N]          (default N=3)
#
# Needs: docker-registry (apt-get install docker-registry), GNU time,
# python3, openssl, curl, go.
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

TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "bench/oci.sh: needs GNU time (apt-get install time)" >&2; exit 2; }
declare -A R
record() { R[$1]="${R[$1]:-} $2"; }
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# every run starts alike: earlier writes flushed, the model in the page cache
settle() { sync; cat "$M"/* >/dev/null; }
# timed KEY DIR CMD...: run CMD in DIR (stdout to $OUT/KEY.out, stderr to
# $OUT/KEY.err); record its wall time, CPU time (user + system) and max RSS.
timed() {
	local key=$1 dir=$2; shift 2
	settle
	if ! (cd "$dir" && "$TIME" -f '%e %U %S %M' -o "$OUT/$key.time" "$@" >"$OUT/$key.out" 2>"$OUT/$key.err"); then
		echo "bench/oci.sh: $key failed:" >&2; cat "$OUT/$key.err" >&2; exit 1
	fi
	read -r wall user sys rss <"$OUT/$key.time"
	record "$key" "$wall"
	record "$key-cpu" "$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')"
	record "$key-rss" "$((rss / 1024))"
}
last() { local v=${R[$1]}; echo "${v##* }"; }

echo "== machine: $(nproc) cores; $(uptime)"
echo "== $((BYTES >> 20)) MiB in 4 shards; registry docker-registry $("$REG" --version 2>/dev/null | awk '{print $NF}') on http://$H; oras $("$ORAS" version | awk '/^Version/ {print $2}')"
for i in $(seq "$N"); do
	# Odd runs start with mlsec, even runs with oras: neither always
	# follows the other's writeback.
	order="mlsec oras"
	[ $((i % 2)) = 0 ] && order="oras mlsec"
	for tool in $order; do
		if [ "$tool" = mlsec ]; then
			timed mlsec-push "$M" "$BIN" push --plain-http "$M" "oci://$H/bench/m$i:v1"
			ref=$(cat "$OUT/mlsec-push.out")
		else
			timed oras-push "$M" "$ORAS" push --plain-http --no-tty "$H/bench/o$i:v1" model-00001-of-00004.safetensors \
				model-00002-of-00004.safetensors model-00003-of-00004.safetensors model-00004-of-00004.safetensors config.json
			odig=$("$ORAS" resolve --plain-http "$H/bench/o$i:v1")
		fi
	done
	for tool in $order; do
		if [ "$tool" = mlsec ]; then
			timed mlsec-pull "$OUT" "$BIN" pull --plain-http --key "$DIR/k.pub" "$ref" "$OUT/m$i"
			record mlsec-pull-transfer "$(sed -n 's/^fetched .* in \([0-9.]*\) s.*/\1/p' "$OUT/mlsec-pull.err")"
			record mlsec-pull-checks "$(sed -n 's/^checked .* in \([0-9.]*\) s.*/\1/p' "$OUT/mlsec-pull.err")"
		else
			mkdir "$OUT/o$i"
			timed oras-pull "$OUT/o$i" "$ORAS" pull --plain-http --no-tty "$H/bench/o$i@$odig"
		fi
	done
	record push-ratio "$(awk -v m="$(last mlsec-push)" -v o="$(last oras-push)" 'BEGIN { printf "%.2f", o / m }')"
	record pull-ratio "$(awk -v m="$(last mlsec-pull)" -v o="$(last oras-pull)" 'BEGIN { printf "%.2f", o / m }')"
	echo "run $i: push mlsec $(last mlsec-push) s ($(last mlsec-push-cpu) s CPU), oras $(last oras-push) s ($(last oras-push-cpu) s CPU);" \
		"pull mlsec $(last mlsec-pull) s ($(last mlsec-pull-cpu) s CPU; transfer $(last mlsec-pull-transfer) s, signature+scan $(last mlsec-pull-checks) s)," \
		"oras $(last oras-pull) s ($(last oras-pull-cpu) s CPU)"
	rm -rf "$OUT/m$i" "$OUT/o$i"
done
mbps() { awk -v b="$BYTES" -v s="$1" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }'; }
pct() { awk -v r="$1" 'BEGIN { printf "%.0f %%", r * 100 }'; }
echo "== medians of $N runs (throughput = model bytes / wall time; CPU = user + system)"
printf '%-12s %9s %10s %9s %8s\n' command wall throughput CPU "max RSS"
for k in mlsec-push oras-push mlsec-pull oras-pull; do
	m=$(median "${R[$k]}")
	printf '%-12s %7s s %10s %7s s %5s MiB\n' "$k" "$m" "$(mbps "$m")" "$(median "${R[$k-cpu]}")" "$(median "${R[$k-rss]}")"
done
echo "mlsec pull: transfer (digests checked while streaming) $(median "${R[mlsec-pull-transfer]}") s, then signature + scan $(median "${R[mlsec-pull-checks]}") s (oras does neither)"
echo "push: mlsec at $(pct "$(median "${R[push-ratio]}")") of oras's throughput (median of the per-run ratios; runs: ${R[push-ratio]} )"
echo "pull: mlsec at $(pct "$(median "${R[pull-ratio]}")") of oras's throughput (median of the per-run ratios; runs: ${R[pull-ratio]} )"
echo "== load after: $(uptime)"
