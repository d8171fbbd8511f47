#!/usr/bin/env bash
# bench/seal.sh — mlsec seal / unseal throughput and peak memory.
#
# Seals a signed model of SIZE bytes (four equal safetensors-named shards of
# random bytes) to one age recipient, then unseals it (authenticate, check
# the index, verify the OMS signature from the digests taken while
# streaming, scan, land). Each command runs RUNS times, alternating with
# `dd bs=1M`, the plain copy of the same bytes through user space and the
# same file system, so a loaded machine shows in both. Prints MB/s (decimal), user and
# sys CPU seconds and max RSS of every run, then the medians.
#
#   bench/seal.sh [SIZE_BYTES] [RUNS]     (default 1 GiB, 3 runs)
#
# Environment: MLSEC_BENCH_DIR (default $TMPDIR/mlsec-seal-bench; data is
# reused between runs of the script).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-$((1 << 30))}
RUNS=${2:-3}
DIR=${MLSEC_BENCH_DIR:-${TMPDIR:-/tmp}/mlsec-seal-bench}
mkdir -p "$DIR"
BIN=$DIR/mlsec
go build -o "$BIN" ./cmd/mlsec
MODEL=$DIR/model-$SIZE
SHARD=$((SIZE / 4))
if [ ! -f "$MODEL/model.sig" ]; then
	rm -rf "$MODEL" && mkdir -p "$MODEL"
	for i in 1 2 3 4; do
		# a valid safetensors file: one U8 tensor of random bytes
		python3 - "$MODEL/model-0000$i-of-00004.safetensors" "$SHARD" <<'PY'
import json, os, struct, sys
path, size = sys.argv[1], int(sys.argv[2])
body = 0
# choose the tensor size so that the file is exactly size bytes
for _ in range(3):
    h = json.dumps({"w": {"dtype": "U8", "shape": [body], "data_offsets": [0, body]}}).encode()
    h += b" " * (-len(h) % 8)
    body = size - 8 - len(h)
with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h)
    left = body
    while left:
        k = min(left, 1 << 24)
        f.write(os.urandom(k))
        left -= k
PY
	done
	openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out "$DIR/sign.pem" 2>/dev/null
	openssl pkey -in "$DIR/sign.pem" -pubout -out "$DIR/sign.pub"
	"$BIN" sign --key "$DIR/sign.pem" "$MODEL" > /dev/null
fi
[ -f "$DIR/age.key" ] || go run ./bench/sealkey > "$DIR/age.key"
RCPT=$(sed -n 's/^# public key: //p' "$DIR/age.key")
BYTES=$((SHARD * 4))
cat "$MODEL"/* > /dev/null # warm the page cache

# run NAME CMD...: one timed run; prints a line and appends MB/s user sys rss.
run() {
	local name=$1; shift
	/usr/bin/time -o "$DIR/time" -f '%e %U %S %M' "$@" > /dev/null 2> "$DIR/err" || { cat "$DIR/err" >&2; exit 1; }
	read -r wall user sys rss < "$DIR/time"
	local mbs
	mbs=$(awk -v b="$BYTES" -v s="$wall" 'BEGIN { printf "%.0f", b / s / 1e6 }')
	printf '%-8s %6s MB/s  wall %6ss  user %5ss  sys %5ss  max RSS %4d MiB\n' "$name" "$mbs" "$wall" "$user" "$sys" $((rss / 1024))
	echo "$mbs $user $sys $((rss / 1024))" >> "$DIR/res-$name"
}
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "== $(nproc) cores; $(uptime)"
echo "== model: $((BYTES >> 20)) MiB in 4 shards, signed; $RUNS runs"
rm -f "$DIR"/res-*
for i in $(seq "$RUNS"); do
	rm -f "$DIR/m.age" "$DIR/copy"
	run seal "$BIN" seal "$MODEL" -r "$RCPT" -o "$DIR/m.age"
	run dd-in sh -c "for f in '$MODEL'/*.safetensors; do dd if=\"\$f\" bs=1M status=none; done > '$DIR/copy'"
	rm -rf "$DIR/out" "$DIR/copy"
	run unseal "$BIN" unseal --key "$DIR/sign.pub" "$DIR/m.age" -i "$DIR/age.key" "$DIR/out"
	run dd-out dd if="$DIR/m.age" of="$DIR/copy" bs=1M status=none
	rm -rf "$DIR/out" "$DIR/copy"
done
echo "== medians (MB/s, user s, sys s, max RSS MiB)"
for n in seal dd-in unseal dd-out; do
	f=$DIR/res-$n
	printf '%-8s %6s MB/s  user %5ss  sys %5ss  max RSS %4s MiB\n' "$n" \
		"$(cut -d' ' -f1 "$f" | median)" "$(cut -d' ' -f2 "$f" | median)" "$(cut -d' ' -f3 "$f" | median)" "$(cut -d' ' -f4 "$f" | median)"
done
echo "== load after: $(uptime)"
