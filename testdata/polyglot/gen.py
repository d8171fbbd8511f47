#!/usr/bin/python3
"""Regenerate the polyglot fixtures: files real loaders accept as two
formats at once. Run with Debian's interpreter (python3-h5py, python3-torch,
python3-numpy):

    /usr/bin/python3 testdata/polyglot/gen.py

Each file is built from real library output and checked here with the real
loaders (h5py opens the HDF5 part, zipfile the zip part, pickletools parses
the pickle part; nothing is unpickled). The pickle payload calls
os.system("true"): harmless if run, and what a scanner must catch.

- h5_userblock_pickle.h5: h5py file with a 512-byte user block holding a
  pickle (pickle.load runs it, h5py opens the HDF5 at 512);
- pickle_userblock_16k.h5: the same with a 16 KiB user block (the HDF5
  superblock lies past any fixed-size head);
- pickle_then_keras_h5.h5: a benign pickle in a 1 KiB user block and, in
  the HDF5 part, a Keras H5 model_config with a Lambda layer carrying
  marshalled bytecode (what Keras 2 load_model deserialises): the second
  format's analysis is what finds it;
- h5_then_zip.h5: h5py file with a torch.save zip appended (zipfile finds it
  by the end of central directory);
- npy_then_zip.npy: numpy .npy with a zip holding the pickle appended;
- safetensors_then_zip.safetensors: a safetensors file (header written per
  the safetensors spec; the library is not packaged in Debian) with a
  torch.save zip appended.
"""

import hashlib
import io
import json
import os
import pickle
import pickletools
import struct
import zipfile

import h5py
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


class Payload:
    def __reduce__(self):
        return (os.system, ("true",))


PAYLOAD = pickle.dumps(Payload(), protocol=2)


def h5_with_userblock(path, ub):
    with h5py.File(path, "w", userblock_size=ub) as f:
        f.create_dataset("weights", data=np.arange(8, dtype="<f4"))
    with open(path, "r+b") as f:
        assert len(PAYLOAD) <= ub
        f.write(PAYLOAD)
    with h5py.File(path, "r") as f:
        assert list(f["weights"][:4]) == [0, 1, 2, 3]
    with open(path, "rb") as f:
        pickletools.dis(f.read(ub), out=io.StringIO())


def torch_zip():
    b = io.BytesIO()
    torch.save({"w": torch.arange(4, dtype=torch.float32)}, b)
    return b.getvalue()


def zip_with_payload():
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("archive/data.pkl", PAYLOAD)
    return b.getvalue()


def append(path, first, second):
    with open(path, "wb") as f:
        f.write(first + second)
    with zipfile.ZipFile(path) as z:  # zipfile accepts the prefix
        assert z.namelist()


def main():
    torch.manual_seed(0)
    h5_with_userblock(os.path.join(HERE, "h5_userblock_pickle.h5"), 512)
    h5_with_userblock(os.path.join(HERE, "pickle_userblock_16k.h5"), 16384)

    p = os.path.join(HERE, "pickle_then_keras_h5.h5")
    cfg = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Lambda", "config": {"name": "l", "function_type": "lambda",
                                             "function": ["4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAHMEAAAAfABTACkBTqkAKQHaAXhyAQAAAHIBAAAA+gE8cwEAAAAAAA==", None, None],
                                             "module": "keras.layers", "output_shape": None}}]}}
    with h5py.File(p, "w", userblock_size=1024) as f:
        f.attrs["model_config"] = json.dumps(cfg)
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
    benign = pickle.dumps([1, 2, 3], protocol=2)
    with open(p, "r+b") as f:
        f.write(benign)
    with h5py.File(p, "r") as f:
        assert json.loads(f.attrs["model_config"])["class_name"] == "Sequential"

    p = os.path.join(HERE, "h5_then_zip.h5")
    with h5py.File(p, "w") as f:
        f.create_dataset("weights", data=np.arange(8, dtype="<f4"))
    with open(p, "rb") as f:
        h5 = f.read()
    append(p, h5, torch_zip())
    with h5py.File(p, "r") as f:
        assert "weights" in f

    b = io.BytesIO()
    np.save(b, np.arange(8, dtype="<f4"))
    append(os.path.join(HERE, "npy_then_zip.npy"), b.getvalue(), zip_with_payload())

    data = np.arange(4, dtype="<f4").tobytes()
    hdr = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, len(data)]}},
                     separators=(",", ":")).encode()
    hdr += b" " * (-len(hdr) % 8)
    st = struct.pack("<Q", len(hdr)) + hdr + data
    append(os.path.join(HERE, "safetensors_then_zip.safetensors"), st, torch_zip())

    with open(os.path.join(HERE, "SHA256SUMS"), "w") as out:
        for n in sorted(os.listdir(HERE)):
            if n.endswith((".py", "SHA256SUMS", ".md")):
                continue
            with open(os.path.join(HERE, n), "rb") as f:
                out.write(f"{hashlib.sha256(f.read()).hexdigest()}  {n}\n")


if __name__ == "__main__":
    main()
