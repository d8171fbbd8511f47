#!/usr/bin/python3
"""Pickle "billion laughs" fixtures of issue 11, checked with real pickle.

pickle.loads builds each in microseconds (every level references the one
below), but the loaded object expands to 2^40 (DUP) or 10^12 (memo GET)
elements for anything that walks it. Loaded here once to prove it loads.

Run from this directory: /usr/bin/python3 gen.py
"""
import hashlib
import pickle


def dup_tuples(levels=40):
    # PROTO 2, EMPTY_LIST, then per level DUP + TUPLE2: (x, x)
    return b"\x80\x02]" + b"2\x86" * levels + b"."


def memo_lists(levels=12, width=10):
    # PROTO 2, EMPTY_LIST, BINPUT 0, then per level MARK, width x BINGET i, LIST, BINPUT i+1
    body = b"\x80\x02]q\x00"
    for i in range(levels):
        body += b"(" + (b"h" + bytes([i])) * width + b"lq" + bytes([i + 1])
    return body + b"."


def main():
    out = {"dup_tuples.pkl": dup_tuples(), "memo_lists.pkl": memo_lists()}
    for name, blob in out.items():
        pickle.loads(blob)
    with open("SHA256SUMS", "w") as f:
        for name in sorted(out):
            with open(name, "wb") as g:
                g.write(out[name])
            f.write(f"{hashlib.sha256(out[name]).hexdigest()}  {name}\n")


if __name__ == "__main__":
    main()
