#!/usr/bin/python3
"""Writes a benign PyTorch legacy tar checkpoint (the format of torch < 0.4's
torch.save) with Debian's python3, laid out exactly as
torch.serialization.legacy_load reads it, and checks that torch.load
accepts it. Run from this directory: /usr/bin/python3 gen.py
"""
import io
import pickle
import struct
import sys
import tarfile

import torch

PROTO = 2


def add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def storage_bytes(t):
    f = io.BytesIO()
    s = t.storage()._untyped() if hasattr(t.storage(), "_untyped") else t.storage()
    s._write_file(f, False, True, t.element_size())
    return f.getvalue()


weight = torch.arange(6, dtype=torch.float32).reshape(2, 3)
bias = torch.tensor([1, 2], dtype=torch.int64)
tensors = {"w": weight, "b": bias}

storages = io.BytesIO()
pickle.dump(len(tensors), storages, protocol=PROTO)
for key, t in enumerate(tensors.values()):
    stype = torch.FloatStorage if t.dtype == torch.float32 else torch.LongStorage
    pickle.dump((key, "cpu", stype), storages, protocol=PROTO)
    storages.write(storage_bytes(t))
pickle.dump([], storages, protocol=PROTO)  # storage views

tens = io.BytesIO()
pickle.dump(len(tensors), tens, protocol=PROTO)
for key, t in enumerate(tensors.values()):
    ttype = torch.FloatTensor if t.dtype == torch.float32 else torch.LongTensor
    pickle.dump((key, key, ttype), tens, protocol=PROTO)
    tens.write(struct.pack("<i", t.dim()) + b"\0\0\0\0")
    tens.write(struct.pack(f"<{t.dim()}q", *t.shape))
    tens.write(struct.pack(f"<{t.dim()}q", *t.stride()))
    tens.write(struct.pack("<q", t.storage_offset()))


class P(pickle.Pickler):
    def persistent_id(self, obj):
        for key, t in enumerate(tensors.values()):
            if obj is t:
                return str(key)
        return None


main = io.BytesIO()
P(main, protocol=PROTO).dump({"weight": weight, "bias": bias, "epoch": 1})

sys_info = pickle.dumps({"protocol_version": 1001, "little_endian": True,
                         "type_sizes": {"short": 2, "int": 4, "long": 8}}, protocol=PROTO)

with tarfile.open("legacy.tar", "w", format=tarfile.PAX_FORMAT) as tar:
    add(tar, "sys_info", sys_info)
    add(tar, "pickle", main.getvalue())
    add(tar, "storages", storages.getvalue())
    add(tar, "tensors", tens.getvalue())

got = torch.load("legacy.tar")
assert torch.equal(got["weight"], weight) and torch.equal(got["bias"], bias), got
print("torch.load ok:", got)
