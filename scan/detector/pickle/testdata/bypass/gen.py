#!/usr/bin/python3
"""Write the pickle sniffing bypass fixtures of issue 11 and prove each loads.

Every fixture opens with decoys (padded number operands, long or many
leading opcodes, junk) and then runs os.getcwd() - a harmless call from a
denied module, so the scanner must report it as critical. Each file is run
with the real pickle.loads (or joblib.load for the compressed joblib ones)
before it is written: a variant CPython refuses is not a fixture. Variants
only older interpreters accept (digit limits added in 3.11) are marked
and checked with sys.set_int_max_str_digits(0).

Run from this directory with Debian's python3 (python3-joblib, python3-lz4):
/usr/bin/python3 gen.py  (writes *.pkl, *.joblib, SHA256SUMS)
"""
import hashlib
import io
import os
import pickle
import sys
import zlib
import lzma

EVIL = b"cos\ngetcwd\n)R."  # protocol 0: GLOBAL os.getcwd, EMPTY_TUPLE, REDUCE, STOP
PAD = 9000  # longer than the scanner's 8 KiB detection head

def decoys(n):
    return b"N0" * n

FIXTURES = {
    # name: (bytes, needs unlimited int digits)
    "int_spaces.pkl": (b"I" + b" " * PAD + b"1\n0" + EVIL, False),
    "int_zeros.pkl": (b"I" + b"0" * PAD + b"7\n0" + EVIL, False),
    "int_trailing_spaces.pkl": (b"I1" + b" " * PAD + b"\n0" + EVIL, False),
    "long_spaces.pkl": (b"L" + b" " * PAD + b"1\n0" + EVIL, False),
    "long_digits.pkl": (b"L1" + b"2" * PAD + b"L\n0" + EVIL, True),
    "float_zeros.pkl": (b"F" + b"0" * PAD + b"1.5\n0" + EVIL, False),
    "float_digits.pkl": (b"F1." + b"5" * PAD + b"\n0" + EVIL, False),
    "get_spaces.pkl": (b"Np1\n0g" + b" " * PAD + b"1\n0" + EVIL, False),
    "put_spaces.pkl": (b"Np" + b" " * PAD + b"1\n0" + EVIL, False),
    "int_digits.pkl": (b"I1" + b"2" * PAD + b"\n0" + EVIL, True),
    "unicode_line.pkl": (b"V" + b"u" * PAD + b"\n0" + EVIL, False),
    "many_decoy_strings.pkl": (b"".join(b"X" + (PAD // 8).to_bytes(4, "little") + b"x" * (PAD // 8) + b"0" for _ in range(12)) + EVIL, False),
    "many_decoy_opcodes.pkl": (b"S'" + b"s" * PAD + b"'\n0" + decoys(5000) + EVIL, False),
}

def check(name, data, unlimited):
    if unlimited:
        old = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(0)
    try:
        got = pickle.loads(data)
    finally:
        if unlimited:
            sys.set_int_max_str_digits(old)
    assert got == os.getcwd(), (name, got)

def main():
    out = {}
    for name, (data, unlimited) in FIXTURES.items():
        check(name, data, unlimited)
        out[name] = data
    # junk before the pickle: pickle.load refuses it, but the bytes are a
    # model file that hides a program; the scanner must not pass it.
    junk = b"\xff" + pickle.dumps(None, protocol=2)[:2] + EVIL
    try:
        pickle.loads(junk)
        raise SystemExit("junk.pkl loaded: not junk")
    except pickle.UnpicklingError:
        pass
    check("junk.pkl (after the junk byte)", junk[1:], False)
    out["junk.pkl"] = junk
    # compressed joblib containers whose inflated head is all decoy: joblib
    # inflates the whole stream and unpickles it.
    import joblib
    inner = b"I" + b" " * PAD + b"1\n0" + EVIL
    for name, blob in {
        "joblib_zlib_int_spaces.joblib": zlib.compress(inner),
        "joblib_lzma_int_spaces.joblib": lzma.compress(inner, format=lzma.FORMAT_ALONE),
        "joblib_xz_decoys.joblib": lzma.compress(b"N0" * 4000 + EVIL, format=lzma.FORMAT_XZ),
    }.items():
        got = joblib.load(io.BytesIO(blob))
        assert got == os.getcwd(), (name, got)
        out[name] = blob
    try:
        import lz4.frame
        blob = lz4.frame.compress(inner)
        got = joblib.load(io.BytesIO(blob))
        assert got == os.getcwd(), ("lz4", got)
        out["joblib_lz4_int_spaces.joblib"] = blob
    except ImportError:
        print("python3-lz4 missing: joblib_lz4 fixture not written", file=sys.stderr)
    sums = []
    for name in sorted(out):
        with open(name, "wb") as f:
            f.write(out[name])
        sums.append(f"{hashlib.sha256(out[name]).hexdigest()}  {name}\n")
    with open("SHA256SUMS", "w") as f:
        f.writelines(sums)

if __name__ == "__main__":
    main()
