#!/bin/sh
# Regenerates the benign archive fixtures with Debian's tar, gzip, bzip2, xz
# and zstd. The outputs are committed; tests do not need these tools.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/model"
printf '{"architectures": ["Demo"]}\n' > "$tmp/model/config.json"
# A protocol-2 pickle of {"a": 1} (benign).
printf '\200\002}q\000X\001\000\000\000aq\001K\001s.' > "$tmp/model/state.pkl"
tar --sort=name --mtime=2024-01-01 --owner=0 --group=0 --numeric-owner -C "$tmp" -cf plain.tar model
gzip -n -9 -c plain.tar > plain.tar.gz
bzip2 -9 -c plain.tar > plain.tar.bz2
xz -9 -c plain.tar > plain.tar.xz
zstd -q -19 -c plain.tar > plain.tar.zst
gzip -n -9 -c "$tmp/model/config.json" > config.json.gz
sha256sum plain.tar plain.tar.gz plain.tar.bz2 plain.tar.xz plain.tar.zst config.json.gz > SHA256SUMS
