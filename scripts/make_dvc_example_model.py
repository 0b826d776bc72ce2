#!/usr/bin/env python3
"""Writes examples/dvc/model/: a tiny random BERT (hidden 32, 2 layers, 4 heads) whose vocabulary is
the words of examples/dvc/data/*.csv, so the DVC example (and scripts/dvc_check.sh) trains in
seconds without downloading a model. Made with transformers' own BertModel.save_pretrained, so the
directory is what AutoModel writes. Re-run only to change the model:

    /tmp/refvenv/bin/python scripts/make_dvc_example_model.py
"""
import csv
import pathlib

import torch
from transformers import BertConfig, BertModel

root = pathlib.Path(__file__).resolve().parent.parent / "examples" / "dvc"
words = set()
for name in ("train.csv", "test.csv"):
    with open(root / "data" / name, newline="") as f:
        for row in csv.DictReader(f):
            words.update(row["text"].lower().split())
vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(words)

torch.manual_seed(16)
config = BertConfig(
    vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
    intermediate_size=64, max_position_embeddings=64, type_vocab_size=2)
model = BertModel(config)
out = root / "model"
model.save_pretrained(out, safe_serialization=True)
(out / "vocab.txt").write_text("\n".join(vocab) + "\n")
print(f"{out}: {len(vocab)} tokens, {sum(p.numel() for p in model.parameters())} parameters")
