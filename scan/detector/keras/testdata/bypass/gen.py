#!/usr/bin/python3
"""Keras bypass fixtures of issue 11, written with the real h5py and zipfile.

Keras itself is not packaged in Debian 12, so the configurations are those
Keras writes (model_config attribute of an H5 file, config.json of a
.keras zip), edited the way an attacker would:

- lambda_no_type.h5 / .keras: a Lambda layer whose config has "function"
  (marshalled code) but no "function_type".
- fn_module.keras: a layer config naming a function from a non-Keras module
  under "fn_module" instead of "module".
- output_shape_module.h5: Keras 2 Lambda output_shape named as a function
  from os.
- registered_name.keras: a bare registered_name outside a class object.
- deep_config.h5 / .keras: a configuration nested deeper than the
  scanner's JSON depth cap (256): not analysed.

Run from this directory: /usr/bin/python3 gen.py
"""
import base64
import hashlib
import json
import marshal
import zipfile

import h5py

CODE = base64.b64encode(marshal.dumps((lambda x: x).__code__)).decode()


def seq(layers):
    return {"class_name": "Sequential", "config": {"name": "m", "layers": layers}}


def lambda_no_type():
    return seq([{"class_name": "Lambda", "config": {"name": "l", "function": [CODE, None, None], "arguments": {}}}])


def fn_module():
    return seq([{"class_name": "Dense", "module": "keras.layers", "config": {"name": "d", "units": 1,
                 "activation": {"fn_module": "subprocess", "function": "getoutput"}}}])


def output_shape_module():
    return seq([{"class_name": "Lambda", "config": {"name": "l", "function": "relu", "module": "keras.activations",
                 "function_type": "function", "output_shape": "system", "output_shape_module": "os",
                 "output_shape_type": "function", "arguments": {}}}])


def registered_name():
    return seq([{"class_name": "Dense", "module": "keras.layers", "config": {"name": "d", "units": 1,
                 "kernel_initializer": {"registered_name": "evilpkg>Init", "config": {}}}}])


def deep():
    v = {"class_name": "Dense", "config": {"units": 1}}
    for _ in range(300):
        v = {"a": [v]}
    return seq([v])


def h5(name, cfg):
    with h5py.File(name, "w") as f:
        f.attrs["model_config"] = json.dumps(cfg)
        f.attrs["keras_version"] = "2.13.1"
        f.attrs["backend"] = "tensorflow"


def keras_zip(name, cfg):
    with zipfile.ZipFile(name, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.3.3"}))
        z.writestr("config.json", json.dumps(cfg))


def main():
    names = []
    for name, cfg in {"lambda_no_type": lambda_no_type(), "output_shape_module": output_shape_module(), "deep_config": deep()}.items():
        h5(name + ".h5", cfg)
        names.append(name + ".h5")
    for name, cfg in {"lambda_no_type": lambda_no_type(), "fn_module": fn_module(), "registered_name": registered_name(), "deep_config": deep()}.items():
        keras_zip(name + ".keras", cfg)
        names.append(name + ".keras")
    with open("SHA256SUMS", "w") as f:
        for name in sorted(names):
            with open(name, "rb") as g:
                f.write(f"{hashlib.sha256(g.read()).hexdigest()}  {name}\n")


if __name__ == "__main__":
    main()
