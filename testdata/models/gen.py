#!/usr/bin/python3
"""Regenerate the benign model fixtures in this directory.

Run with Debian's interpreter (it has python3-torch, python3-numpy,
python3-sklearn and python3-joblib):

    /usr/bin/python3 testdata/models/gen.py

Every file is produced by the real library's own save function, from fixed
seeds, so that mlsec's format detection and allowlist are tested against what
users actually load. Nothing here is malicious: hostile fixtures are built in
Go test helpers. The script also writes MANIFEST.json (file, sha256, producer,
library versions, expected format kind), SHA256SUMS and IMPORTS.txt (every
global each pickle stream imports, from a static opcode walk).

Determinism: the script re-executes itself with PYTHONHASHSEED=0 and TZ=UTC,
seeds torch, numpy and random, pins time.time() while writing (zip member
timestamps, gzip headers) and uses one thread in torch. Outputs are
byte-identical between runs with the same library versions.
"""

import collections
import io
import json
import os
import pickle
import pickletools
import random
import sys
import time
import zipfile
from unittest import mock

if os.environ.get("PYTHONHASHSEED") != "0" or os.environ.get("TZ") != "UTC":
    env = dict(os.environ, PYTHONHASHSEED="0", TZ="UTC")
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import warnings

warnings.filterwarnings("ignore")

import hashlib

import joblib
import numpy as np
import sklearn
import torch
import torch.nn as nn
from sklearn.cluster import KMeans
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

OUT = os.path.dirname(os.path.abspath(__file__))
FIXED_TIME = 1700000000.0  # 2023-11-14T22:13:20Z
MAX_FILE = 300 * 1024
MAX_TOTAL = 3 * 1024 * 1024

VERSIONS = {
    "python": sys.version.split()[0],
    "torch": torch.__version__,
    "numpy": np.__version__,
    "sklearn": sklearn.__version__,
    "joblib": joblib.__version__,
}

manifest = []


def seed(n=0):
    random.seed(n)
    np.random.seed(n)
    torch.manual_seed(n)


def record(name, producer, kind, libs, note=""):
    path = os.path.join(OUT, name)
    size = os.path.getsize(path)
    if size >= MAX_FILE:
        raise SystemExit(f"{name}: {size} bytes, over the {MAX_FILE} byte cap")
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    entry = {
        "file": name,
        "sha256": digest,
        "size": size,
        "producer": producer,
        "kind": kind,
        "versions": {k: VERSIONS[k] for k in ["python"] + libs},
    }
    if note:
        entry["note"] = note
    manifest.append(entry)


# ---------------------------------------------------------------- torch

class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(16, 8)
        self.conv = nn.Conv1d(8, 4, kernel_size=3, padding=1)
        self.norm = nn.LayerNorm(4)
        self.fc = nn.Linear(4, 3)

    def forward(self, idx):
        x = self.emb(idx).transpose(1, 2)  # (B, 8, T)
        x = torch.relu(self.conv(x)).transpose(1, 2)  # (B, T, 4)
        return self.fc(self.norm(x)).mean(dim=1)


def sequential():
    return nn.Sequential(
        nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.1),
        nn.BatchNorm1d(8), nn.Linear(8, 2), nn.Softmax(dim=-1),
    )


def torch_fixtures():
    torch.set_num_threads(1)
    T = ["torch"]

    seed(1)
    net = TinyNet()
    torch.save(net.state_dict(), os.path.join(OUT, "torch_state_dict_f32.pt"))
    record("torch_state_dict_f32.pt", "torch.save(TinyNet().state_dict())", "pytorch-zip", T,
           "zip root is the file stem")

    seed(2)
    sd = collections.OrderedDict()
    sd["w_f32"] = torch.randn(4, 4)
    sd["w_f16"] = torch.randn(4, 4).half()
    sd["w_bf16"] = torch.randn(4, 4).bfloat16()
    sd["w_i8"] = torch.randint(-128, 127, (4, 4), dtype=torch.int8)
    sd["w_i64"] = torch.arange(6)
    sd["w_bool"] = torch.tensor([True, False, True])
    sd["view"] = sd["w_f32"][1:3]  # shares storage with w_f32
    torch.save(sd, os.path.join(OUT, "torch_mixed_dtypes.pt"))
    record("torch_mixed_dtypes.pt", "torch.save(OrderedDict of f32/f16/bf16/int8/int64/bool tensors, shared view)",
           "pytorch-zip", T)

    seed(3)
    half = nn.Linear(6, 3).half().state_dict()
    torch.save(half, os.path.join(OUT, "torch_linear_f16.pt"))
    record("torch_linear_f16.pt", "torch.save(nn.Linear(6,3).half().state_dict())", "pytorch-zip", T)

    seed(4)
    bf = nn.Linear(6, 3).to(torch.bfloat16).state_dict()
    torch.save(bf, os.path.join(OUT, "torch_linear_bf16.pt"))
    record("torch_linear_bf16.pt", "torch.save(nn.Linear(6,3).to(bfloat16).state_dict())", "pytorch-zip", T)

    seed(5)
    model = sequential()
    model.eval()
    torch.save(model, os.path.join(OUT, "torch_whole_module.pt"))
    record("torch_whole_module.pt", "torch.save(nn.Sequential(Linear,ReLU,Dropout,BatchNorm1d,Linear,Softmax))",
           "pytorch-zip", T, "whole module: imports torch.nn.modules.* classes")

    seed(6)
    net = TinyNet()
    torch.save(net.state_dict(), os.path.join(OUT, "torch_legacy.pt"), _use_new_zipfile_serialization=False)
    record("torch_legacy.pt", "torch.save(..., _use_new_zipfile_serialization=False)", "pytorch-legacy", T)

    seed(7)
    model = sequential()
    torch.save(model, os.path.join(OUT, "torch_legacy_whole_module.pt"), _use_new_zipfile_serialization=False)
    record("torch_legacy_whole_module.pt", "torch.save(nn.Sequential(...), _use_new_zipfile_serialization=False)",
           "pytorch-legacy", T)

    seed(8)
    net = TinyNet()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss = net(torch.randint(0, 16, (2, 5))).sum()
    loss.backward()
    opt.step()
    torch.save(opt.state_dict(), os.path.join(OUT, "torch_optimizer_adam.pt"))
    record("torch_optimizer_adam.pt", "torch.save(torch.optim.Adam(...).state_dict()) after one step", "pytorch-zip", T)

    seed(9)
    net = TinyNet()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.randint(0, 16, (2, 5))).sum().backward()
    opt.step()
    ckpt = {
        "epoch": 3,
        "step": 1200,
        "loss": 0.25,
        "best_acc": 0.875,
        "model_state_dict": net.state_dict(),
        "optimizer_state_dict": opt.state_dict(),
        "config": {"lr": 0.1, "layers": [8, 4, 3], "name": "tiny", "amp": False, "betas": (0.9, 0.999)},
        "history": [0.9, 0.5, 0.25],
    }
    torch.save(ckpt, os.path.join(OUT, "torch_checkpoint.pt"))
    record("torch_checkpoint.pt", "torch.save({epoch, step, loss, model_state_dict, optimizer_state_dict(SGD), config})",
           "pytorch-zip", T)

    seed(10)
    net = TinyNet()
    for proto in (2, 4):
        name = f"torch_state_dict_proto{proto}.pt"
        torch.save(net.state_dict(), os.path.join(OUT, name), pickle_protocol=proto)
        record(name, f"torch.save(state_dict, pickle_protocol={proto})", "pytorch-zip", T)
    name = "torch_legacy_proto4.pt"
    torch.save(net.state_dict(), os.path.join(OUT, name), pickle_protocol=4, _use_new_zipfile_serialization=False)
    record(name, "torch.save(state_dict, pickle_protocol=4, _use_new_zipfile_serialization=False)", "pytorch-legacy", T)

    # Zip root name: torch.save to a path uses the file stem as the archive
    # root; to a file-like object it uses "archive".
    seed(11)
    sd = nn.Linear(3, 2).state_dict()
    buf = io.BytesIO()
    torch.save(sd, buf)
    with open(os.path.join(OUT, "torch_root_archive.bin"), "wb") as f:
        f.write(buf.getvalue())
    record("torch_root_archive.bin", "torch.save(state_dict, io.BytesIO()) written out: zip root 'archive'",
           "pytorch-zip", T)
    torch.save(sd, os.path.join(OUT, "my-custom.root.name.pth"))
    record("my-custom.root.name.pth", "torch.save(state_dict, path): zip root is the file stem, not 'archive'",
           "pytorch-zip", T)

    # Misleading extensions: detection is by content.
    seed(12)
    torch.save(nn.Linear(3, 2).state_dict(), os.path.join(OUT, "weights.json"))
    record("weights.json", "torch.save(state_dict) to a .json name", "pytorch-zip", T)
    torch.save(nn.Linear(3, 2).state_dict(), os.path.join(OUT, "legacy_weights.txt"),
               _use_new_zipfile_serialization=False)
    record("legacy_weights.txt", "torch.save(state_dict, _use_new_zipfile_serialization=False) to a .txt name",
           "pytorch-legacy", T)

    # TorchScript.
    seed(13)
    net = TinyNet().eval()
    scripted = torch.jit.script(net)
    torch.jit.save(scripted, os.path.join(OUT, "torchscript_scripted.pt"))
    record("torchscript_scripted.pt", "torch.jit.save(torch.jit.script(TinyNet()))", "torchscript", T)
    seed(14)
    model = sequential().eval()
    traced = torch.jit.trace(model, torch.randn(2, 4))
    torch.jit.save(traced, os.path.join(OUT, "torchscript_traced.pt"))
    record("torchscript_traced.pt", "torch.jit.save(torch.jit.trace(nn.Sequential(...)))", "torchscript", T)
    buf = io.BytesIO()
    torch.jit.save(traced, buf)
    with open(os.path.join(OUT, "torchscript_buffer.zip"), "wb") as f:
        f.write(buf.getvalue())
    record("torchscript_buffer.zip", "torch.jit.save(traced, io.BytesIO()) written out", "torchscript", T)


# ---------------------------------------------------------------- numpy

def numpy_fixtures():
    N = ["numpy"]
    rng = np.random.default_rng(20)
    np.save(os.path.join(OUT, "np_float32.npy"), rng.standard_normal((8, 8)).astype(np.float32))
    record("np_float32.npy", "np.save(float32 (8,8))", "npy", N)
    np.save(os.path.join(OUT, "np_float64_fortran.npy"), np.asfortranarray(rng.standard_normal((5, 3))))
    record("np_float64_fortran.npy", "np.save(float64 Fortran-order (5,3))", "npy", N)
    np.save(os.path.join(OUT, "np_int64.npy"), np.arange(24, dtype=np.int64).reshape(2, 3, 4))
    record("np_int64.npy", "np.save(int64 (2,3,4))", "npy", N)
    np.save(os.path.join(OUT, "np_uint16_bigendian.npy"), np.arange(10, dtype=">u2"))
    record("np_uint16_bigendian.npy", "np.save(big-endian uint16)", "npy", N)
    structured = np.array([(1, 2.5, b"ab"), (2, -1.0, b"cd")], dtype=[("id", "<i4"), ("score", "<f8"), ("tag", "S2")])
    np.save(os.path.join(OUT, "np_structured.npy"), structured)
    record("np_structured.npy", "np.save(structured dtype [id i4, score f8, tag S2])", "npy", N)
    objs = np.array([1, "a", None, 2.5, (1, 2), {"k": [1]}], dtype=object)
    np.save(os.path.join(OUT, "np_object.npy"), objs, allow_pickle=True)
    record("np_object.npy", "np.save(np.array([1,'a',None,2.5,(1,2),{'k':[1]}], dtype=object), allow_pickle=True)",
           "npy", N, "object dtype: payload is a pickle")

    a = rng.standard_normal((4, 4)).astype(np.float32)
    b = np.arange(10, dtype=np.int32)
    np.savez(os.path.join(OUT, "np_savez.npz"), a=a, b=b)
    record("np_savez.npz", "np.savez(a=float32, b=int32)", "npz", N)
    np.savez_compressed(os.path.join(OUT, "np_savez_compressed.npz"), a=a, b=b, s=structured)
    record("np_savez_compressed.npz", "np.savez_compressed(a, b, structured)", "npz", N)
    np.savez(os.path.join(OUT, "np_savez_object.npz"), objs=objs, a=a)
    record("np_savez_object.npz", "np.savez(objs=object array, a=float32)", "npz", N, "member objs.npy holds a pickle")


# ---------------------------------------------------------------- sklearn

def sklearn_fixtures():
    S = ["sklearn", "numpy"]
    J = ["sklearn", "numpy", "joblib"]
    rng = np.random.RandomState(30)
    X = rng.standard_normal((40, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    yr = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1

    est = {
        "logreg": LogisticRegression(random_state=0).fit(X, y),
        "tree": DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y),
        "forest": RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(X, y),
        "scaler": StandardScaler().fit(X),
        "pipeline": Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(random_state=0))]).fit(X, y),
        "linreg": LinearRegression().fit(X, yr),
        "kmeans": KMeans(n_clusters=2, n_init=3, random_state=0).fit(X),
    }
    protos = {"logreg": 5, "tree": 4, "forest": 4, "scaler": 2, "pipeline": 3, "linreg": 5, "kmeans": 4}
    for key, model in est.items():
        p = protos[key]
        name = f"sk_{key}_p{p}.pkl"
        with open(os.path.join(OUT, name), "wb") as f:
            pickle.dump(model, f, protocol=p)
        record(name, f"pickle.dump({type(model).__name__}, protocol={p})", "pickle", S)
    for p in (2, 3):
        name = f"sk_tree_p{p}.pkl"
        with open(os.path.join(OUT, name), "wb") as f:
            pickle.dump(est["tree"], f, protocol=p)
        record(name, f"pickle.dump(DecisionTreeClassifier, protocol={p})", "pickle", S)

    # joblib plain (a pickle with inline raw array payloads).
    for key in ("logreg", "forest", "pipeline", "kmeans"):
        name = f"jl_{key}.joblib"
        joblib.dump(est[key], os.path.join(OUT, name))
        record(name, f"joblib.dump({type(est[key]).__name__})", "pickle", J,
               "plain joblib is a pickle stream with raw array bytes after NumpyArrayWrapper BUILDs")
    name = "jl_scaler_p2.joblib"
    joblib.dump(est["scaler"], os.path.join(OUT, name), protocol=2)
    record(name, "joblib.dump(StandardScaler, protocol=2)", "pickle", J)

    # joblib compressed.
    for method, key in (("zlib", "forest"), ("gzip", "pipeline"), ("bz2", "logreg"),
                        ("xz", "tree"), ("lzma", "kmeans")):
        name = f"jl_{key}_{method}.joblib"
        joblib.dump(est[key], os.path.join(OUT, name), compress=(method, 3))
        record(name, f"joblib.dump({type(est[key]).__name__}, compress=('{method}', 3))", "joblib", J)
    name = "data.bin"
    joblib.dump(est["linreg"], os.path.join(OUT, name), compress=("zlib", 3))
    record(name, "joblib.dump(LinearRegression, compress=('zlib', 3)) to a .bin name", "joblib", J)
    name = "jl_numpy_dict_gzip.joblib"
    joblib.dump({"w": np.arange(12.0).reshape(3, 4), "names": ["a", "b"]}, os.path.join(OUT, name),
                compress=("gzip", 3))
    record(name, "joblib.dump({'w': ndarray, 'names': [...]}, compress=('gzip', 3))", "joblib", ["numpy", "joblib"])


# ---------------------------------------------------------------- plain pickles

def plain_data():
    return {
        "ints": [0, 1, -1, 255, 65535, 2**31, -(2**63), 2**100],
        "floats": [0.0, 1.5, -2.25, 1e300],
        "text": "héllo wörld",
        "bytes": b"\x00\x01binary\xff",
        "tuple": (1, "two", 3.0, None, True, False),
        "nested": {"a": [1, {"b": (2, 3)}], "empty": {}, "elist": [], "etuple": ()},
        "set": {1, 2, 3},
        "frozenset": frozenset({4, 5}),
        "ordered": collections.OrderedDict([("x", 1), ("y", 2)]),
        "shared": None,
        "complex": 1 + 2j,
        "bytearray": bytearray(b"abc"),
    }


def pickle_fixtures():
    P = []
    for p in range(0, 6):
        d = plain_data()
        lst = [1, 2]
        d["shared"] = (lst, lst)  # memo reuse
        name = f"plain_p{p}.pkl"
        with open(os.path.join(OUT, name), "wb") as f:
            pickle.dump(d, f, protocol=p)
        note = "text pickle, no PROTO opcode" if p == 0 else ("binary, no PROTO opcode" if p == 1 else "")
        record(name, f"pickle.dump(dict of ordinary data, protocol={p})", "pickle", P, note)
    # Small scalar/list pickles of the earliest protocols.
    for p in (0, 1):
        name = f"plain_list_p{p}.pkl"
        with open(os.path.join(OUT, name), "wb") as f:
            pickle.dump([1, "a", 2.5, None, (True,)], f, protocol=p)
        record(name, f"pickle.dump(list, protocol={p})", "pickle", P, "no PROTO opcode")
    # Several pickles in one stream.
    name = "plain_multi_stream.pkl"
    with open(os.path.join(OUT, name), "wb") as f:
        for p in (2, 4, 0):
            pickle.dump({"part": p, "vals": list(range(p + 1))}, f, protocol=p)
    record(name, "three pickle.dump calls (protocols 2, 4, 0) into one file", "pickle", P)
    # Misleading extensions.
    name = "notes.txt"
    with open(os.path.join(OUT, name), "wb") as f:
        pickle.dump({"note": "a pickle named .txt", "n": 3}, f, protocol=0)
    record(name, "pickle.dump(dict, protocol=0) to a .txt name", "pickle", P)
    name = "config.json"
    with open(os.path.join(OUT, name), "wb") as f:
        pickle.dump({"lr": 0.01, "layers": (8, 4)}, f, protocol=4)
    record(name, "pickle.dump(dict, protocol=4) to a .json name", "pickle", P)
    name = "model.safetensors"
    with open(os.path.join(OUT, name), "wb") as f:
        pickle.dump(collections.OrderedDict(w=[0.1, 0.2]), f, protocol=2)
    record(name, "pickle.dump(OrderedDict, protocol=2) to a .safetensors name", "pickle", P)


# ---------------------------------------------------------------- imports (static walk)

def walk_pickle(data, pos=0):
    """Statically walk one pickle starting at pos, never loading it.

    Simulates the stack and memo as pickletools.dis does so STACK_GLOBAL
    operands are resolved from the real stack. Returns (imports, end, err):
    the set of "module.name" strings and the offset after STOP.
    """
    imports = set()
    stack, marks, memo = [], [], {}
    stream = io.BytesIO(data)
    stream.seek(pos)
    end = pos
    try:
        for op, arg, off in pickletools.genops(stream):
            end = stream.tell()
            name = op.name
            if name in ("GLOBAL", "INST"):
                mod, _, attr = arg.partition(" ")
                imports.add(f"{mod}.{attr}")
            if name == "STACK_GLOBAL":
                attr, mod = stack[-1], stack[-2]
                imports.add(f"{mod}.{attr}" if isinstance(mod, str) and isinstance(attr, str) else "<unresolved>")
            if name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[arg] = stack[-1]
                continue
            if name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
                continue
            if name in ("GET", "BINGET", "LONG_BINGET"):
                stack.append(memo.get(arg))
                continue
            if name == "MARK":
                marks.append(len(stack))
                continue
            if name == "POP_MARK":
                del stack[marks.pop():]
                continue
            if name == "STOP":
                return imports, end, None
            before = op.stack_before
            if pickletools.markobject in before:
                m = marks.pop()
                del stack[m:]
                n = before.index(pickletools.markobject)
            else:
                n = len(before)
            if n:
                del stack[len(stack) - n:]
            for kind in op.stack_after:
                stack.append(arg if isinstance(arg, str) and kind is pickletools.pyunicode else object())
    except Exception as e:  # noqa: BLE001 - report and stop
        return imports, end, e
    return imports, end, EOFError("no STOP")


def walk_stream(data):
    """Walk consecutive pickles until EOF or a byte that starts none.

    Returns the imports and the number of complete pickles seen.
    """
    out, pos, n = set(), 0, 0
    while pos < len(data):
        imp, end, err = walk_pickle(data, pos)
        out |= imp
        if err is not None or end <= pos:
            break
        n += 1
        pos = end
    return out, n


def npy_payload(data):
    """Return the pickle payload of an object-dtype .npy, or None."""
    if not data.startswith(b"\x93NUMPY"):
        return None
    major = data[6]
    if major == 1:
        hlen, start = int.from_bytes(data[8:10], "little"), 10
    else:
        hlen, start = int.from_bytes(data[8:12], "little"), 12
    header = data[start:start + hlen].decode("latin1")
    if "'|O'" not in header:
        return None
    return data[start + hlen:]


def joblib_imports(path):
    """Imports of a joblib file, recorded by joblib's own unpickler.

    Plain joblib streams interleave raw array bytes with the pickle, so a
    linear opcode walk stops at the first NumpyArrayWrapper. These are our
    own benign files, so loading them with find_class recording is safe.
    """
    from joblib import numpy_pickle

    seen = set()

    class Recorder(numpy_pickle.NumpyUnpickler):
        def find_class(self, module, name):
            seen.add(f"{module}.{name}")
            return super().find_class(module, name)

    with mock.patch.object(numpy_pickle, "NumpyUnpickler", Recorder):
        joblib.load(path)
    return seen


def imports_of(entry):
    path = os.path.join(OUT, entry["file"])
    with open(path, "rb") as f:
        data = f.read()
    kind = entry["kind"]
    result, notes = {}, []
    if kind == "joblib" or "joblib.dump" in entry["producer"]:
        result[""] = joblib_imports(path)
        return result, notes
    elif kind in ("pytorch-zip", "torchscript", "npz"):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for info in z.infolist():
                member = z.read(info)
                if kind == "npz":
                    payload = npy_payload(member)
                    if payload is not None:
                        result[info.filename] = walk_stream(payload)[0]
                elif member[:1] == b"\x80":
                    imp, n = walk_stream(member)
                    if n == 0:
                        notes.append(f"member {info.filename} starts with 0x80 but is not a pickle (tensor bytes)")
                        continue
                    result[info.filename] = imp
    elif kind == "npy":
        payload = npy_payload(data)
        result[""] = walk_stream(payload)[0] if payload is not None else set()
    else:  # pickle, pytorch-legacy (raw storage bytes follow the pickles)
        result[""] = walk_stream(data)[0]
    return result, notes


# ---------------------------------------------------------------- main

README_HEAD = """# Benign model fixtures

Real files written by the real libraries' own save functions, committed so
that tests and CI need no Python. **Every file here is benign and must scan
clean at default settings** (`go run ./cmd/mlsec scan testdata/models` exits
0). Hostile fixtures are built in Go test helpers, never here.

This README, MANIFEST.json, SHA256SUMS and IMPORTS.txt are generated by
`gen.py`; do not edit them by hand. Regenerate (Debian python3 with
python3-torch, python3-numpy, python3-sklearn, python3-joblib):

    /usr/bin/python3 testdata/models/gen.py
    (cd testdata/models && sha256sum -c SHA256SUMS)

- `MANIFEST.json`: per file: sha256, size, producer (the call that wrote it),
  library versions, expected `format.Kind` (see format/format.go), the
  globals its pickle streams import, and whether it is byte-reproducible.
- `IMPORTS.txt`: every global (`module.name`) each file imports, per
  pickle-bearing zip member; from a static opcode walk (stack and memo
  simulated so STACK_GLOBAL operands are resolved), except joblib files,
  whose inline raw array bytes stop a linear walk: those are recorded with
  joblib's own unpickler (`find_class`), which is safe for these files.
- Detection is by content: some files carry misleading names
  (`weights.json`, `legacy_weights.txt`, `notes.txt`, `config.json`,
  `model.safetensors`, `data.bin`), and `torch.save` to a path uses the file
  stem as the zip root (only `torch_root_archive.bin` and
  `torchscript_buffer.zip`, written through `io.BytesIO`, have `archive/`).

Reproducibility: seeds are fixed, `PYTHONHASHSEED=0`, `TZ=UTC`, `time.time()`
is pinned while writing (zip timestamps, gzip mtime) and torch uses one
thread. The legacy `torch.save(..., _use_new_zipfile_serialization=False)`
files are not byte-reproducible: torch names their storages by memory
address (`str(storage._cdata)`), so their keys change on every run.

"""


def write_readme(total):
    rows = ["| file | kind | producer | notes |", "|---|---|---|---|"]
    for e in manifest:
        note = e.get("note", "")
        if not e["reproducible"]:
            note = (note + "; " if note else "") + "not byte-reproducible"
        rows.append(f"| `{e['file']}` | {e['kind']} | `{e['producer']}` | {note} |")
    vers = ", ".join(f"{k} {v}" for k, v in VERSIONS.items())
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(README_HEAD)
        f.write(f"Generated with {vers}: {len(manifest)} files, {total} bytes.\n\n")
        f.write("\n".join(rows) + "\n")


def main():
    for fn in os.listdir(OUT):
        if fn != "gen.py":
            os.remove(os.path.join(OUT, fn))
    with mock.patch("time.time", return_value=FIXED_TIME):
        torch_fixtures()
        numpy_fixtures()
        sklearn_fixtures()
        pickle_fixtures()
    manifest.sort(key=lambda e: e["file"])
    for e in manifest:
        e["reproducible"] = e["kind"] != "pytorch-legacy"

    total = sum(e["size"] for e in manifest)
    if total >= MAX_TOTAL:
        raise SystemExit(f"total {total} bytes, over the {MAX_TOTAL} byte cap")

    lines = []
    for e in manifest:
        per, notes = imports_of(e)
        union = sorted(set().union(*per.values())) if per else []
        e["imports"] = union
        lines.append(f"{e['file']}:")
        if len(per) > 1 or (per and "" not in per):
            for member in sorted(per):
                lines.append(f"  [{member}]")
                lines.extend(f"    {g}" for g in sorted(per[member]))
        else:
            lines.extend(f"  {g}" for g in union)
        if not union:
            lines.append("  (none)")
        lines.extend(f"  # {n}" for n in notes)
    with open(os.path.join(OUT, "IMPORTS.txt"), "w") as f:
        f.write("# Globals imported by each fixture (module.name), per pickle-bearing member.\n")
        f.write("# Generated by gen.py: static opcode walk; joblib files via joblib's unpickler find_class.\n")
        f.write("\n".join(lines) + "\n")

    with open(os.path.join(OUT, "MANIFEST.json"), "w") as f:
        json.dump({"generator": "testdata/models/gen.py", "versions": VERSIONS, "files": manifest}, f, indent=2,
                  sort_keys=True)
        f.write("\n")
    with open(os.path.join(OUT, "SHA256SUMS"), "w") as f:
        for e in manifest:
            f.write(f"{e['sha256']}  {e['file']}\n")
    write_readme(total)
    print(f"{len(manifest)} files, {total} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
