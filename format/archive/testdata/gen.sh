#!/bin/sh
# Regenerates the archive fixtures with Debian's tar, gzip, bzip2, xz, zstd,
# 7zip (7zz) and python3-torch. The outputs are committed with a sha256
# manifest; tests need none of these tools.
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

# PyTorch checkpoints written by torch.save, wrapped in 7z (LZMA2) instead of
# zip: the "nullifAI" evasion. The malicious one pickles an object whose
# __reduce__ names os.system; torch.save only records the reference, nothing
# runs here or when mlsec scans it.
/usr/bin/python3 - "$tmp" <<'PY'
import os, sys, torch
out = sys.argv[1]
torch.save({"w": torch.zeros(2, 2)}, os.path.join(out, "benign.pt"))
class Evil:
    def __reduce__(self):
        return (os.system, ("echo nullifai",))
torch.save({"w": torch.zeros(2, 2), "x": Evil()}, os.path.join(out, "evil.pt"))
PY
rm -f benign_torch.7z nullifai_torch.7z model.7z
(cd "$tmp" && 7zz a -bd -bso0 -mx=9 -mtm=off -mtc=off -mta=off "$OLDPWD/benign_torch.7z" benign.pt)
(cd "$tmp" && 7zz a -bd -bso0 -mx=9 -mtm=off -mtc=off -mta=off "$OLDPWD/nullifai_torch.7z" evil.pt)
(cd "$tmp" && 7zz a -bd -bso0 -mx=9 -mtm=off -mtc=off -mta=off "$OLDPWD/model.7z" model)
# Encrypted with a password: content only, and content plus header (-mhe).
rm -f encrypted.7z encrypted_header.7z
(cd "$tmp" && 7zz a -bd -bso0 -psecret -mtm=off -mtc=off -mta=off "$OLDPWD/encrypted.7z" model)
(cd "$tmp" && 7zz a -bd -bso0 -psecret -mhe=on -mtm=off -mtc=off -mta=off "$OLDPWD/encrypted_header.7z" model)
sha256sum plain.tar plain.tar.gz plain.tar.bz2 plain.tar.xz plain.tar.zst config.json.gz \
	benign_torch.7z nullifai_torch.7z model.7z encrypted.7z encrypted_header.7z > SHA256SUMS
