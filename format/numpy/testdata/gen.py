#!/usr/bin/python3
"""Writes the benign .npy fixtures with the real numpy (Debian's python3).

Run from this directory: /usr/bin/python3 gen.py
"""
import numpy as np

np.save("float64.npy", np.arange(12, dtype="<f8").reshape(3, 4))
np.save("fortran.npy", np.asfortranarray(np.ones((2, 3), dtype=">i4")))
np.save("bool.npy", np.array([True, False]))
np.save("unicode.npy", np.array(["ab", "cde"]))
np.save("structured.npy", np.zeros(2, dtype=[("x", "<f4"), ("y", "<i2", (2,))]))
np.save("scalar.npy", np.float32(3.5))
np.save("object.npy", np.array([[1, 2], "text", {"k": 3}], dtype=object), allow_pickle=True)
with open("v2.npy", "wb") as f:
    np.lib.format.write_array(f, np.arange(5, dtype="<u2"), version=(2, 0))
with open("v3.npy", "wb") as f:
    np.lib.format.write_array(f, np.zeros(2, dtype=[("é", "<f4")]), version=(3, 0))
