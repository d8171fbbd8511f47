#!/usr/bin/python3
"""Writes benign container fixtures with the real libraries (Debian's
python3 with python3-torch and python3-numpy). Run from this directory:
/usr/bin/python3 gen.py
"""
import zipfile

import numpy as np
import torch


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x).relu()


torch.manual_seed(0)
m = Tiny()
torch.save(m.state_dict(), "state_dict.pt")
torch.save({"model": m.state_dict(), "epoch": 3, "note": "benign"}, "checkpoint.pt")
torch.jit.save(torch.jit.script(m), "scripted.pt")
np.savez("arrays.npz", a=np.arange(4), b=np.ones((2, 2), dtype="f4"))
np.savez_compressed(
    "objects_compressed.npz",
    nums=np.arange(100),
    objs=np.array([[1, 2], "text", {"k": 3}], dtype=object),
)
with zipfile.ZipFile("plain.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("README.txt", "just text\n")
    z.write("arrays.npz", "nested/arrays.npz")
