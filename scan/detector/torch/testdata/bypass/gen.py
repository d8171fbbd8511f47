#!/usr/bin/python3
"""PyTorch CVE-2026-24747-class fixtures of issue 11, checked with real torch.

torch.save writes a tensor as REDUCE of torch._utils._rebuild_tensor_v2 and
never mutates the result. These files are real torch.save archives whose
data.pkl is rewritten so that SETITEM or BUILD writes into the rebuilt
tensor; torch.load(weights_only=True) (python3-torch) runs the write, which
is the primitive the CVE turned into an out-of-bounds write. Each file is
loaded once here to prove the loader executes it.

Run from this directory: /usr/bin/python3 gen.py
"""
import hashlib
import io
import pickle
import zipfile

import torch


def rewrite(data_pkl):
    # data.pkl of torch.save(tensor): ... REDUCE [BINPUT] STOP, the tensor on top
    assert data_pkl.endswith(b"."), data_pkl[-8:]
    return data_pkl[:-1]


def archive(mutation):
    buf = io.BytesIO()
    torch.save(torch.zeros(4), buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("/data.pkl"):
                data = rewrite(data) + mutation + b"."
            dst.writestr(info, data)
    return out.getvalue()


# SETITEM: t[0] = 7   (BININT1 0, BININT1 7, SETITEM)
SETITEM = b"K\x00K\x07s"
# SETITEMS through the memo: BINPUT 100, BINGET 100, MARK 1 8 SETITEMS
SETITEMS = b"q\x64h\x64(K\x01K\x08u"


def main():
    out = {"setitem.pt": archive(SETITEM), "setitems_memo.pt": archive(SETITEMS)}
    for name, blob in out.items():
        t = torch.load(io.BytesIO(blob), weights_only=True)
        assert t[0].item() == 7.0 or t[1].item() == 8.0, (name, t)
    with open("SHA256SUMS", "w") as f:
        for name in sorted(out):
            with open(name, "wb") as g:
                g.write(out[name])
            f.write(f"{hashlib.sha256(out[name]).hexdigest()}  {name}\n")


if __name__ == "__main__":
    main()
