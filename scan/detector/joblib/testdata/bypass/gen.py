#!/usr/bin/python3
"""Compression bypass fixtures of issue 11, checked with the real libraries.

Each file is a joblib container that joblib.load (python3-joblib,
python3-lz4) loads, running os.getcwd() - harmless, from a denied module:

- lzma_big_dict.joblib: an lzma-alone stream whose header declares a 1 GiB
  dictionary (over the scanner's 128 MiB cap). liblzma accepts it.
- xz_big_dict.joblib: an xz stream whose first block declares a 1 GiB
  LZMA2 dictionary (block header CRC32 recomputed).
- lz4.joblib: joblib's lz4 frame compression (compress="lz4").

Run from this directory: /usr/bin/python3 gen.py
"""
import hashlib
import io
import lzma
import os
import struct
import zlib

import joblib

EVIL = b"\x80\x02cos\ngetcwd\n)R."


def lzma_big_dict():
    blob = bytearray(lzma.compress(EVIL, format=lzma.FORMAT_ALONE))
    struct.pack_into("<I", blob, 1, 1 << 30)
    return bytes(blob)


def xz_big_dict():
    blob = bytearray(lzma.compress(EVIL, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32))
    # stream header: 12 bytes; block header: size byte, flags, filters, padding, CRC32
    b = 12
    hsize = (blob[b] + 1) * 4
    flags = blob[b + 1]
    assert flags & 0xC0 == 0 and flags & 3 == 0, "one filter, no sizes"
    assert blob[b + 2] == 0x21 and blob[b + 3] == 1, "LZMA2 filter with one props byte"
    blob[b + 4] = 36  # dictionary 2^(36/2 + 12) = 1 GiB
    struct.pack_into("<I", blob, b + hsize - 4, zlib.crc32(bytes(blob[b:b + hsize - 4])))
    return bytes(blob)


def lz4_frame():
    import lz4.frame
    return lz4.frame.compress(EVIL)


def main():
    out = {
        "lzma_big_dict.joblib": lzma_big_dict(),
        "xz_big_dict.joblib": xz_big_dict(),
        "lz4.joblib": lz4_frame(),
    }
    for name, blob in out.items():
        got = joblib.load(io.BytesIO(blob))
        assert got == os.getcwd(), (name, got)
    with open("SHA256SUMS", "w") as f:
        for name in sorted(out):
            with open(name, "wb") as g:
                g.write(out[name])
            f.write(f"{hashlib.sha256(out[name]).hexdigest()}  {name}\n")


if __name__ == "__main__":
    main()
