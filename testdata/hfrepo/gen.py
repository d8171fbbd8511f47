#!/usr/bin/python3
"""Regenerate testdata/hfrepo/repo: the non-weight files a real Hugging Face
model repository holds, written by the libraries that write them.

Run with Debian's interpreter (apt-get install python3-sentencepiece
python3-msgpack python3-plyvel python3-pil python3-numpy):

    /usr/bin/python3 testdata/hfrepo/gen.py

- tokenizer.model: a SentencePiece model trained by sentencepiece itself;
- vocab.txt, merges.txt, tokenizer.json, tokenizer_config.json,
  special_tokens_map.json, config.json, generation_config.json, README.md,
  .gitattributes: the text and JSON files transformers saves;
- flax_model.msgpack: numpy arrays in the msgpack layout of
  flax.serialization.to_bytes (ext type 1: shape, dtype name, bytes), packed
  by msgpack (flax itself is not packaged in Debian);
- tf_model/model.ckpt.index + model.ckpt.data-00000-of-00001: the index is
  a table written by LevelDB (plyvel), the on-disk table format TensorFlow's
  tensor bundle index uses (TensorFlow is not packaged in Debian); the data
  shard is raw little-endian float32 tensor bytes, as TensorFlow writes;
- images/card.png, images/card.jpg: written by Pillow.

Nothing here is malicious. Outputs are deterministic; SHA256SUMS lists them.
"""

import glob
import hashlib
import io
import json
import os
import shutil
import struct
import tempfile

import msgpack
import numpy as np
import plyvel
import sentencepiece as spm
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "repo")


def write(name, data):
    path = os.path.join(OUT, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as f:
        f.write(data)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    corpus = [
        "the quick brown fox jumps over the lazy dog",
        "model cards describe what a model does and how it was trained",
        "tokenizers split text into pieces that a model can embed",
        "safetensors files hold tensors without any pickle",
    ] * 50
    with tempfile.TemporaryDirectory() as tmp:
        txt = os.path.join(tmp, "corpus.txt")
        with open(txt, "w") as f:
            f.write("\n".join(corpus) + "\n")
        spm.SentencePieceTrainer.train(
            input=txt, model_prefix=os.path.join(tmp, "sp"), vocab_size=60,
            model_type="unigram", num_threads=1, seed_sentencepiece_size=1000,
            normalization_rule_name="identity", minloglevel=2)
        shutil.copy(os.path.join(tmp, "sp.model"), os.path.join(OUT, "tokenizer.model"))

        # LevelDB table: the format of a TensorFlow bundle index.
        db = plyvel.DB(os.path.join(tmp, "ldb"), create_if_missing=True, compression=None)
        db.put(b"", b"\x08\x01\x10\x00")  # header-like entry
        for name in (b"dense/bias", b"dense/kernel"):
            db.put(name, b"\x08\x01\x12\x04\x12\x02\x08\x04")
        db.compact_range()
        db.close()
        tables = sorted(glob.glob(os.path.join(tmp, "ldb", "*.ldb")))
        assert tables, "leveldb wrote no table"
        os.makedirs(os.path.join(OUT, "tf_model"))
        shutil.copy(tables[0], os.path.join(OUT, "tf_model", "model.ckpt.index"))
    rng = np.random.default_rng(0)
    bias = rng.standard_normal(4).astype("<f4")
    kernel = rng.standard_normal((4, 4)).astype("<f4")
    write("tf_model/model.ckpt.data-00000-of-00001", bias.tobytes() + kernel.tobytes())

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "quick", "##s", "fox", "."]
    write("vocab.txt", "\n".join(vocab) + "\n")
    write("merges.txt", "#version: 0.2\nĠ t\nĠ a\nh e\ni n\nr e\n")
    tok = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": 0, "content": "[PAD]", "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}],
        "normalizer": {"type": "BertNormalizer", "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "model": {"type": "WordPiece", "unk_token": "[UNK]",
                  "vocab": {t: i for i, t in enumerate(vocab)}},
    }
    write("tokenizer.json", json.dumps(tok, indent=2, ensure_ascii=False) + "\n")
    write("tokenizer_config.json", json.dumps({"do_lower_case": True, "model_max_length": 512,
                                               "tokenizer_class": "BertTokenizer"}, indent=2) + "\n")
    write("special_tokens_map.json", json.dumps({"cls_token": "[CLS]", "sep_token": "[SEP]"}, indent=2) + "\n")
    write("config.json", json.dumps({"architectures": ["BertModel"], "model_type": "bert",
                                     "hidden_size": 4, "num_hidden_layers": 1}, indent=2) + "\n")
    write("generation_config.json", json.dumps({"_from_model_config": True}, indent=2) + "\n")
    write("README.md", "---\nlicense: apache-2.0\n---\n# tiny\n\n![card](images/card.png)\n")
    write(".gitattributes", "*.h5 binary\n*.msgpack binary\n")

    # flax.serialization.to_bytes layout: a msgpack map of nested dicts whose
    # leaves are ext type 1 = packb((shape, dtype name, buffer)).
    def arr(a):
        return msgpack.ExtType(1, msgpack.packb((a.shape, a.dtype.name, a.tobytes()), use_bin_type=True))
    params = {"params": {"dense": {"bias": arr(bias), "kernel": arr(kernel)}}}
    write("flax_model.msgpack", msgpack.packb(params, use_bin_type=True))

    img = Image.new("RGB", (8, 8), (200, 30, 30))
    for fmt, name in (("PNG", "images/card.png"), ("JPEG", "images/card.jpg")):
        b = io.BytesIO()
        img.save(b, fmt)
        write(name, b.getvalue())

    sums = []
    for root, _, files in os.walk(OUT):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                sums.append((os.path.relpath(p, OUT), hashlib.sha256(fh.read()).hexdigest()))
    with open(os.path.join(HERE, "SHA256SUMS"), "w") as f:
        for name, h in sorted(sums):
            f.write(f"{h}  {name}\n")


if __name__ == "__main__":
    main()
