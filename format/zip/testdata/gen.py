#!/usr/bin/python3
"""Writes zip fixtures with real writers (Debian's python3): Python's zipfile,
torch.save and numpy.savez. Run from this directory: /usr/bin/python3 gen.py
"""
import zipfile

import numpy as np
import torch

with zipfile.ZipFile("zipfile-mixed.zip", "w") as z:
    z.writestr("stored.txt", "hello " * 10, compress_type=zipfile.ZIP_STORED)
    z.writestr("deflated.txt", "hello " * 1000, compress_type=zipfile.ZIP_DEFLATED)
    z.writestr("bzip2.txt", "hello " * 1000, compress_type=zipfile.ZIP_BZIP2)
    z.writestr("lzma.txt", "hello " * 1000, compress_type=zipfile.ZIP_LZMA)
    z.writestr("dir/", "")
    z.comment = b"archive comment"

with zipfile.ZipFile("zipfile-zip64.zip", "w") as z:
    with z.open("forced.bin", "w", force_zip64=True) as f:
        f.write(b"\x00" * 100)
    z.writestr("small.txt", "x")

torch.manual_seed(0)
torch.save(torch.nn.Linear(4, 2).state_dict(), "torch-state.pt")
np.savez("arrays.npz", a=np.arange(4), b=np.ones((2, 2), dtype="f4"))
