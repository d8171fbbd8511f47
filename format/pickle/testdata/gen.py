#!/usr/bin/python3
"""Regenerate the real-world pickle fixtures of format/pickle.

Run with Debian's python3 (python3-torch, python3-numpy, python3-sklearn,
python3-joblib):

    /usr/bin/python3 format/pickle/testdata/gen.py          # fixtures + .ops
    /usr/bin/python3 format/pickle/testdata/gen.py -compat  # ../compat.go

Every fixture X gets X.ops: the opcode offsets and names CPython's
pickletools sees (for the pickle programs at the start of the file), which
TestOpsMatchPickletools compares with the Go disassembler. The expected
imports/calls/anomalies (X.golden) are written by `go test -update`.
"""
import collections, datetime, decimal, fractions, io, os, pickle, pickletools
import struct, sys, zipfile

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    assert len(data) < 200_000, name


def ops_of(data):
    """pickletools' view of the leading pickle programs of data."""
    out, pos = [], 0
    while pos < len(data):
        f = io.BytesIO(data[pos:])
        try:
            got = []
            for op, arg, off in pickletools.genops(f):
                got.append("%d %s" % (pos + off, op.name))
        except Exception:
            break
        out.extend(got)
        pos += f.tell()
    return "\n".join(out) + "\n"


def fixture(name, data, ops=True):
    write(name, data)
    if ops:
        with open(os.path.join(HERE, name + ".ops"), "w") as f:
            f.write(ops_of(data))


class Point:  # pickled by reference as __main__.Point
    def __init__(self, x, y):
        self.x, self.y = x, y


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self):
        self.a, self.b = 1, "two"


def rich(proto):
    shared = ["shared"]
    rec = [1]
    rec.append(rec)
    return {
        "ints": [0, 1, -1, 255, 256, 65535, 65536, 2**31 - 1, -2**31, 2**63, -2**100, 10**400],
        "floats": [0.0, -1.5, 1e300, float("inf")],
        "str": ["", "ascii", "ünïcødé \u20ac \U0001f600", "quote ' \" \\ \n"],
        "bytes": [b"", b"\x00\xffbin", bytearray(b"ba")],
        "tuple": (), "t1": (1,), "t2": (1, 2), "t3": (1, 2, 3), "t4": (1, 2, 3, 4),
        "set": {1, 2}, "frozen": frozenset(["a"]),
        "none": None, "bools": [True, False],
        "memo": [shared, shared], "rec": rec,
        "od": collections.OrderedDict(a=1), "counter": collections.Counter("aab"),
        "dd": collections.defaultdict(list, {"k": [1]}),
        "date": datetime.datetime(2024, 1, 2, 3, 4, 5), "dec": decimal.Decimal("1.5"),
        "frac": fractions.Fraction(1, 3), "point": Point(1, 2),
        "func": os.path.join, "cls": collections.OrderedDict,
        # __slots__ without __getstate__ needs protocol 2 (BUILD with a
        # (None, slotstate) tuple)
        **({"slots": Slotted()} if proto >= 2 else {}),
    }


def gen_protocols():
    for p in range(6):
        fixture("proto%d.pkl" % p, pickle.dumps(rich(p), protocol=p))
    # frames: a payload bigger than the 64 KiB frame target
    fixture("proto4_frames.pkl", pickle.dumps({"a": b"x" * 70000, "b": ["y"] * 3, "c": "z" * 70000}, protocol=4))
    # protocol 5 out-of-band buffers (NEXT_BUFFER / READONLY_BUFFER)
    bufs = []
    fixture("proto5_oob.pkl", pickle.dumps([pickle.PickleBuffer(b"ro"), pickle.PickleBuffer(bytearray(b"rw"))],
                                           protocol=5, buffer_callback=bufs.append))
    # text pickles for Sniff
    fixture("text_dict.p0", pickle.dumps({"a": 1, "b": [1.5, "x"]}, protocol=0))
    fixture("text_list.p0", pickle.dumps([1, 2, (3, "q")], protocol=0))
    fixture("text_class.p0", pickle.dumps(Point(3, 4), protocol=0))
    fixture("text_global.p0", pickle.dumps(os.path.join, protocol=0))
    fixture("text_dict.p1", pickle.dumps({"a": 1, "b": [1.5, "x"]}, protocol=1))
    fixture("text_class.p1", pickle.dumps(Point(3, 4), protocol=1))


def gen_numpy():
    import numpy as np
    fixture("numpy_float.pkl", pickle.dumps(np.arange(6, dtype="<f8").reshape(2, 3), protocol=2))
    fixture("numpy_object.pkl", pickle.dumps(np.array([1, "a", None, {"k": 2}], dtype=object), protocol=4))
    fixture("numpy_struct.pkl", pickle.dumps(np.zeros(2, dtype=[("a", "<i4"), ("b", "U3")]), protocol=5))


def gen_torch():
    import torch
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU())
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        name = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
        fixture("torch_data.pkl", z.read(name))
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf, _use_new_zipfile_serialization=False)
    # legacy stream: magic, protocol, sys_info, state, storage keys, then raw storages
    fixture("torch_legacy.pt", buf.getvalue())


def gen_joblib():
    import joblib, numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    def dump(name, obj, **kw):
        path = os.path.join(HERE, name)
        joblib.dump(obj, path, **kw)
        assert os.path.getsize(path) < 200_000, name

    dump("joblib_arrays.joblib", {
        "f8": np.arange(12, dtype="<f8").reshape(3, 4),
        "i4F": np.asfortranarray(np.arange(6, dtype=">i4").reshape(2, 3)),
        "u": np.array(["ab", "cde"]),
        "scalar": np.float32(3.5),
        "zero": np.zeros((0, 5)),
        "struct": np.zeros(3, dtype=[("a", "<i2"), ("b", "<f4")]),
        "bool": np.array([True, False]),
        "list": [1, "x"],
    })
    dump("joblib_object.joblib", {"obj": np.array([1, "two", None], dtype=object), "after": np.ones(2)})
    dump("joblib_proto2.joblib", {"a": np.arange(5, dtype="<i8"), "o": np.array([None], dtype=object)}, protocol=2)
    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    y = np.array([0, 1, 1, 0])
    dump("joblib_sklearn.joblib", [StandardScaler().fit(X), LogisticRegression().fit(X, y)])
    fixture("sklearn_logreg.pkl", pickle.dumps(LogisticRegression().fit(X, y)))


def gen_allops():
    """allops.bin: every opcode of protocols 0-5 at least once (decoded by
    pickletools.genops; not a loadable program: EXT and NEXT_BUFFER need a
    registry and buffers)."""
    pk = struct.pack
    body = b"".join([
        b"(", b"N", b"\x88", b"\x89", b"I01\n", b"I-12\n", b"J" + pk("<i", -5), b"K\x07", b"M\x00\x01",
        b"L123L\n", b"\x8a\x02\x00\x01", b"\x8b" + pk("<i", 1) + b"\xff",
        b"F1.5\n", b"G" + pk(">d", 2.5),
        b"S'a\\'b'\n", b"T" + pk("<i", 2) + b"hi", b"U\x02yo",
        b"B" + pk("<I", 1) + b"x", b"C\x01y", b"\x8e" + pk("<Q", 1) + b"z", b"\x96" + pk("<Q", 1) + b"w",
        b"V\\u20ac\n", b"X" + pk("<I", 1) + b"u", b"\x8c\x01v", b"\x8d" + pk("<Q", 1) + b"t",
        b"t", b"p0\n", b"q\x01", b"r" + pk("<I", 2), b"\x94", b"g0\n", b"h\x01", b"j" + pk("<I", 2),
        b"0", b"0", b"0", b"2", b"0",
        b"]", b"K\x01", b"a", b"(", b"K\x02", b"e", b"0", b"(", b"l", b"0",
        b"}", b"K\x01", b"K\x02", b"s", b"(", b"K\x03", b"K\x04", b"u", b"0", b"(", b"d", b"0",
        b")", b"0", b"K\x01", b"\x85", b"0", b"K\x01", b"K\x02", b"\x86", b"0", b"K\x01", b"K\x02", b"K\x03", b"\x87", b"0",
        b"\x8f", b"(", b"K\x01", b"\x90", b"0", b"(", b"K\x02", b"\x91", b"0", b"(", b"1",
        b"ccollections\nOrderedDict\n", b")", b"R", b"0",
        b"\x8c\x0bcollections\x8c\x0bOrderedDict\x93", b")", b"\x81", b"0",
        b"\x8c\x0bcollections\x8c\x0bOrderedDict\x93", b")", b"}", b"\x92", b"0",
        b"(", b"icollections\nOrderedDict\n", b"0",
        b"(", b"ccollections\nOrderedDict\n", b"o", b"}", b"b", b"0",
        b"\x82\x01", b"0", b"\x83\x01\x00", b"0", b"\x84\x01\x00\x00\x00", b"0",
        b"Pid\n", b"0", b"K\x01", b"Q", b"0", b"\x97", b"\x98",
        b".",
    ])
    data = b"\x80\x05\x95" + pk("<Q", len(body)) + body
    names = {op.name for op, _, _ in pickletools.genops(data)}
    assert len(names) == len(pickletools.opcodes), set(o.name for o in pickletools.opcodes) - names
    fixture("allops.bin", data)


def gen_compat():
    import _compat_pickle as c
    q = lambda s: '"%s"' % s
    lines = ["// Code generated from CPython %s Lib/_compat_pickle.py by testdata/gen.py -compat; DO NOT EDIT." % sys.version.split()[0],
             "", "package pickle", "",
             "// py2ImportMapping maps Python 2 module names to Python 3 ones; the unpickler",
             "// applies it to GLOBAL/INST/STACK_GLOBAL operands when the protocol is < 3.",
             "var py2ImportMapping = map[string]string{"]
    lines += ["\t%s: %s," % (q(k), q(c.IMPORT_MAPPING[k])) for k in sorted(c.IMPORT_MAPPING)]
    lines += ["}", "", "// py2NameMapping maps Python 2 (module, name) pairs to Python 3 ones.",
              "var py2NameMapping = map[[2]string][2]string{"]
    lines += ['\t{"%s", "%s"}: {"%s", "%s"},' % (k + c.NAME_MAPPING[k]) for k in sorted(c.NAME_MAPPING)]
    lines += ["}"]
    with open(os.path.join(HERE, "..", "compat.go"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["-compat"]:
        gen_compat()
    else:
        gen_protocols()
        gen_numpy()
        gen_torch()
        gen_joblib()
        gen_allops()
