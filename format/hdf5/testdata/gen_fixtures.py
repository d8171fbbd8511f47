#!/usr/bin/python3
"""Writes the HDF5 fixtures for format/hdf5 and scan/detector/keras.

Run with Debian's python3 (python3-h5py): /usr/bin/python3 gen_fixtures.py
The outputs are committed with a sha256 manifest (SHA256SUMS); CI does not
need Python. The files imitate what Keras 2 (tf.keras) writes: the model
configuration as a JSON string attribute "model_config" on the root group,
the training configuration as "training_config", plus "keras_version" and
"backend". Nothing here executes model code: the Lambda payload is a
base64-marshalled code object of a harmless lambda, produced locally.
"""
import base64
import hashlib
import json
import marshal
import os

import h5py
import numpy as np

OUT = os.path.dirname(os.path.abspath(__file__))


def dense(name, units, activation="relu"):
    return {"class_name": "Dense", "config": {
        "name": name, "trainable": True, "dtype": "float32", "units": units,
        "activation": activation, "use_bias": True,
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}},
        "kernel_regularizer": None, "bias_regularizer": None,
        "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}}


def sequential(layers):
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32",
                                                "sparse": False, "ragged": False, "name": "input_1"}},
    ] + layers}}


def lambda_layer():
    # Keras 2 Lambda: config["function"] is func_dump(fn) =
    # (base64(marshal.dumps(code)), defaults, closure); function_type "lambda".
    fn = lambda x: x * 2  # noqa: E731  (harmless; never loaded by mlsec)
    code = base64.b64encode(marshal.dumps(fn.__code__)).decode("ascii")
    return {"class_name": "Lambda", "config": {
        "name": "lambda", "trainable": True, "dtype": "float32",
        "function": [code, None, None], "function_type": "lambda", "module": "__main__",
        "output_shape": None, "output_shape_type": "raw", "output_shape_module": None,
        "arguments": {}}}


TRAINING = {"loss": "mse", "metrics": ["mae"], "weighted_metrics": None,
            "loss_weights": None, "optimizer_config": {"class_name": "Adam", "config": {
                "name": "Adam", "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999,
                "epsilon": 1e-07, "amsgrad": False}}}


def write(name, config, vlen=False, libver=None, weights=True, userblock=0):
    path = os.path.join(OUT, name)
    kw = {"libver": libver} if libver else {}
    if userblock:
        kw["userblock_size"] = userblock
    with h5py.File(path, "w", **kw) as f:
        if vlen:
            # h5py stores Python str as a variable-length UTF-8 string
            # (global heap).
            f.attrs["keras_version"] = "2.15.0"
            f.attrs["backend"] = "tensorflow"
            f.attrs["model_config"] = json.dumps(config)
            f.attrs["training_config"] = json.dumps(TRAINING)
        else:
            # Keras 2 writes json.dumps(...).encode("utf8"); with h5py 2
            # (and with numpy bytes_ values today) that is a fixed-length
            # string attribute stored inline in the object header.
            f.attrs["keras_version"] = np.bytes_(b"2.15.0")
            f.attrs["backend"] = np.bytes_(b"tensorflow")
            f.attrs["model_config"] = np.bytes_(json.dumps(config).encode("utf8"))
            f.attrs["training_config"] = np.bytes_(json.dumps(TRAINING).encode("utf8"))
        if weights:
            g = f.create_group("model_weights")
            g.attrs["layer_names"] = [b"dense", b"dense_1"]
            d = g.create_group("dense").create_group("dense")
            d.create_dataset("kernel:0", data=np.ones((4, 8), dtype="float32"))
            d.create_dataset("bias:0", data=np.zeros((8,), dtype="float32"))


def main():
    benign = sequential([dense("dense", 8), dense("dense_1", 1, "linear")])
    evil = sequential([dense("dense", 8), lambda_layer(), dense("dense_1", 1, "linear")])
    write("keras2_fixed.h5", benign)
    write("keras2_vlen.h5", benign, vlen=True)
    write("keras2_lambda_fixed.h5", evil)
    write("keras2_lambda_vlen.h5", evil, vlen=True)
    write("keras2_latest.h5", benign, vlen=True, libver="latest")
    write("keras2_lambda_latest.h5", evil, libver="latest")
    write("keras2_v108.h5", benign, vlen=True, libver="v108")  # superblock v2
    write("keras2_userblock.h5", benign, userblock=512)  # superblock at 512
    # An HDF5 file that is not a Keras model.
    with h5py.File(os.path.join(OUT, "plain.h5"), "w") as f:
        f.attrs["title"] = "measurements"
        f.attrs["count"] = np.int64(3)
        f.create_dataset("x", data=np.arange(10))
    # Many attributes with track_order: h5py then uses dense attribute
    # storage (fractal heap), which the reader skips and reports.
    with h5py.File(os.path.join(OUT, "dense_attrs.h5"), "w", libver="latest", track_order=True) as f:
        for i in range(20):
            f.attrs["a%02d" % i] = "v%d" % i
        f.attrs["model_config"] = json.dumps(benign)
    names = sorted(n for n in os.listdir(OUT) if n.endswith(".h5"))
    with open(os.path.join(OUT, "SHA256SUMS"), "w") as m:
        for n in names:
            with open(os.path.join(OUT, n), "rb") as fh:
                m.write("%s  %s\n" % (hashlib.sha256(fh.read()).hexdigest(), n))


if __name__ == "__main__":
    main()
