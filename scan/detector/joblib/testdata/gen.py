#!/usr/bin/python3
"""Writes benign joblib containers with the real joblib (Debian's python3).
Run from this directory: /usr/bin/python3 gen.py
"""
import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression

X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
y = np.array([0, 1, 1, 0])
obj = {
    "model": LogisticRegression().fit(X, y),
    "weights": np.arange(64, dtype="f8"),
    "labels": ["a", "b"],
}
for method in ("zlib", "gzip", "bz2", "xz", "lzma"):
    joblib.dump(obj, f"model.{method}.joblib", compress=(method, 3))
