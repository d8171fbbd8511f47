#!/usr/bin/python3
"""numpy object-dtype bypass fixtures of issue 11, checked with real numpy.

numpy.load(allow_pickle=True) unpickles the data of every dtype numpy maps
to an object dtype, however the header spells it. Each evil_*.npy file has
such a descr and a pickle that runs os.getcwd() (harmless, from a denied
module); each one is loaded with the real numpy first. benign_*.npy are
real np.save object arrays whose header is respelled the same way: they
must stay low.

Run from this directory: /usr/bin/python3 gen.py
"""
import hashlib
import io
import os
import struct

import numpy as np

EVIL = b"\x80\x02cos\ngetcwd\n)R."

DESCRS = {
    "object": "'object'",
    "object_": "'object_'",
    "object0": "'object0'",
    "O8": "'O8'",
    "O4": "'<O4'",
    "shape_prefix": "'(2,)O'",
    "repeat": "'2O'",
    "comma": "'i4,O'",
    "comma_name": "'i8,object'",
    "trailing_comma": "'|O,'",
    "subarray_tuple": "('O', (2,))",
    "field_tuple": "[('a', ('O', (1,)))]",
    "field_title": "[(('title', 'a'), 'O')]",
}


def npy(descr, payload):
    h = "{'descr': %s, 'fortran_order': False, 'shape': (1,), }" % descr
    h += " " * (63 - (10 + len(h)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + payload


def benign_payload():
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}, [1, 2], "text"], dtype=object), allow_pickle=True)
    raw = buf.getvalue()
    hlen = struct.unpack("<H", raw[8:10])[0]
    return raw[10 + hlen:]


def main():
    out = {}
    benign = benign_payload()
    for name, descr in DESCRS.items():
        evil = npy(descr, EVIL)
        assert np.load(io.BytesIO(evil), allow_pickle=True) == os.getcwd(), name
        out[f"evil_{name}.npy"] = evil
    for name in ("object", "comma", "subarray_tuple"):
        data = npy(DESCRS[name], benign)
        got = np.load(io.BytesIO(data), allow_pickle=True)
        assert got.dtype.hasobject, name
        out[f"benign_{name}.npy"] = data
    with open("SHA256SUMS", "w") as f:
        for name in sorted(out):
            with open(name, "wb") as g:
                g.write(out[name])
            f.write(f"{hashlib.sha256(out[name]).hexdigest()}  {name}\n")


if __name__ == "__main__":
    main()
