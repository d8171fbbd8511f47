#!/usr/bin/env bash
# bench/seal.sh — mlsec seal / unseal throughput and peak memory.
#
# Seals a signed model of SIZE bytes (four equal safetensors-named shards of
# random bytes) to one age recipient, then unseals it (authenticate, check
# the index, verify the OMS signature from the digests taken while
# streaming, scan, land). Each command runs RUNS times, alternating with
# `cat FILES > OUT`, the plain copy of the same bytes through the same file
# system, so a loaded machine shows in both. Prints MB/s (decimal), user and
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
		head -c "$SHARD" /dev/urandom > "$MODEL/model-0000$i-of-00004.safetensors"
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
	local out
	out=$( { /usr/bin/time -f '%e %U %S %M' "$@" > /dev/null 2> "$DIR/err"; } 2>&1 ) || { cat "$DIR/err" >&2; exit 1; }
	out=$(tail -n 1 <<< "$out")
	read -r wall user sys rss <<< "$out"
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
	run cp-in sh -c "cat '$MODEL'/*.safetensors > '$DIR/copy'"
	rm -rf "$DIR/out" "$DIR/copy"
	run unseal "$BIN" unseal --key "$DIR/sign.pub" "$DIR/m.age" -i "$DIR/age.key" "$DIR/out"
	run cp-out sh -c "cat '$DIR/m.age' > '$DIR/copy'"
	rm -rf "$DIR/out" "$DIR/copy"
done
echo "== medians (MB/s, user s, sys s, max RSS MiB)"
for n in seal cp-in unseal cp-out; do
	f=$DIR/res-$n
	printf '%-8s %6s MB/s  user %5ss  sys %5ss  max RSS %4s MiB\n' "$n" \
		"$(cut -d' ' -f1 "$f" | median)" "$(cut -d' ' -f2 "$f" | median)" "$(cut -d' ' -f3 "$f" | median)" "$(cut -d' ' -f4 "$f" | median)"
done
echo "== load after: $(uptime)"
