#!/usr/bin/python3
"""ONNX bypass fixtures of issue 11, written and checked with real onnx.

- reordered_pythonop.onnx: a model with a com.microsoft PythonOp node whose
  top-level ModelProto fields are written graph first, ir_version last.
  Protobuf parsers accept fields in any order: onnx.load reads the same
  model back (checked), so the scanner must recognise and analyse it.
- benign_reordered.onnx: the same reordering of a plain Relu model: it
  must be recognised and stay clean.
- deep_if.onnx: If nodes nested 33 levels deep (past the scanner's 32):
  it is not analysed, which must fail the scan (high).

Run from this directory: /usr/bin/python3 gen.py
"""
import hashlib

import onnx
from onnx import TensorProto, helper


def reorder(blob):
    """Rewrite the top-level fields of a serialized message in reverse order."""
    fields, i = [], 0
    def varint(i):
        v, s = 0, 0
        while True:
            b = blob[i]; i += 1
            v |= (b & 0x7F) << s; s += 7
            if b < 0x80:
                return v, i
    while i < len(blob):
        start = i
        tag, i = varint(i)
        wt = tag & 7
        if wt == 0:
            _, i = varint(i)
        elif wt == 2:
            n, i = varint(i)
            i += n
        else:
            raise ValueError(wt)
        fields.append(blob[start:i])
    return b"".join(sorted(fields, key=lambda f: -f[0]))


def model(node, opsets):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    g = helper.make_graph([node], "g", [x], [y])
    return helper.make_model(g, opset_imports=opsets, producer_name="gen.py")


def deep_if(levels):
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    inner = helper.make_graph([helper.make_node("Constant", [], ["y"], value=helper.make_tensor("c", TensorProto.FLOAT, [1], [1.0]))], "leaf", [], [y])
    leaf = inner
    for i in range(levels):
        node = helper.make_node("If", ["cond"], ["y"], then_branch=inner, else_branch=leaf)
        inner = helper.make_graph([node], f"level{i}", [], [y])
    cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [])
    top = helper.make_graph(inner.node, "top", [cond], [y])
    return helper.make_model(top, opset_imports=[helper.make_opsetid("", 13)])


def main():
    evil = model(helper.make_node("PythonOp", ["x"], ["y"], domain="com.microsoft"),
                 [helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)])
    benign = model(helper.make_node("Relu", ["x"], ["y"]), [helper.make_opsetid("", 13)])
    onnx.checker.check_model(benign)
    out = {}
    for name, m in {"reordered_pythonop.onnx": evil, "benign_reordered.onnx": benign}.items():
        blob = m.SerializeToString()
        re = reorder(blob)
        assert re != blob and re[0] != blob[0], "field order unchanged"
        assert onnx.load_from_string(re) == m, name
        out[name] = re
    deep = deep_if(33)
    out["deep_if.onnx"] = deep.SerializeToString()
    # Python's protobuf (recursion limit 100 messages) reads at most 31
    # levels; a parser with a higher limit reads this one. Either way the
    # scanner must not pass what it did not walk.
    assert onnx.load_from_string(deep_if(31).SerializeToString()) == deep_if(31)
    with open("SHA256SUMS", "w") as f:
        for name in sorted(out):
            with open(name, "wb") as g:
                g.write(out[name])
            f.write(f"{hashlib.sha256(out[name]).hexdigest()}  {name}\n")


if __name__ == "__main__":
    main()
