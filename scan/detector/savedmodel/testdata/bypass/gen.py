#!/usr/bin/python3
"""Stand-alone SavedModel fixtures of issue 11.

A saved_model.pb outside its directory, under another name, with its
top-level fields reordered (meta_graphs first) or without the
saved_model_schema_version field: TensorFlow's protobuf parser reads all of
them (protobuf allows any field order, and a missing proto3 field is 0).
The source is format/savedmodel/testdata/pyfunc/saved_model.pb (a PyFunc
op). Checked here with the real protobuf wire decoder (python3-protobuf).

Run from this directory: /usr/bin/python3 gen.py
"""
import hashlib

from google.protobuf.internal import decoder

SRC = "../../../../../format/savedmodel/testdata/pyfunc/saved_model.pb"


def fields(blob):
    out, i = [], 0
    while i < len(blob):
        start = i
        tag, i = decoder._DecodeVarint(blob, i)
        if tag & 7 == 0:
            _, i = decoder._DecodeVarint(blob, i)
        elif tag & 7 == 2:
            n, i = decoder._DecodeVarint(blob, i)
            i += n
        else:
            raise ValueError(tag)
        out.append((tag >> 3, blob[start:i]))
    assert i == len(blob)
    return out


def main():
    src = open(SRC, "rb").read()
    f = fields(src)
    assert [n for n, _ in f][:2] == [1, 2], "version first, then meta graphs"
    out = {
        "reordered.pb": b"".join(b for n, b in sorted(f, key=lambda x: -x[0])),
        "no_version.pb": b"".join(b for n, b in f if n != 1),
    }
    for name, blob in out.items():
        assert sorted(fields(blob)) == sorted(x for x in f if name != "no_version.pb" or x[0] != 1)
    with open("SHA256SUMS", "w") as s:
        for name in sorted(out):
            with open(name, "wb") as g:
                g.write(out[name])
            s.write(f"{hashlib.sha256(out[name]).hexdigest()}  {name}\n")


if __name__ == "__main__":
    main()
