#!/usr/bin/env python3
"""Check that a GGUF file written by fttrain's GGUFWriter loads in transformers and matches a reference.

Usage:
    /tmp/refvenv/bin/python scripts/reference/check_gguf_export.py REFERENCE.gguf EXPORTED.gguf [--atol 0]

Loads both with `AutoModelForCausalLM.from_pretrained(dir, gguf_file=name)` (transformers de-quantises
to float32 with gguf-py and undoes llama.cpp's q/k row permutation), then compares every parameter
and the logits of the sentence of docs/assets.md, and exits 1 when the largest difference exceeds
--atol (0 = bit-identical, which an F32 re-export of the unchanged weights must be).

Run by hand on 2026-12-07 with a re-export of SmolLM2-135M-Instruct.Q4_1.gguf (every tensor read and
de-quantised by GGUFFile, written by GGUFWriter with the original metadata, general.file_type 0):
F32 → all 273 parameters and the logits identical (max difference 0.0); F16 for the matrices →
max logit difference 0.023 of 33.6, same argmax at every position.
"""
import argparse
import os
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

SENTENCE = "Hello world, 你好! 123 tokens."


def load(path: str):
    directory, name = os.path.split(os.path.abspath(path))
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32).eval()
    return model, AutoTokenizer.from_pretrained(directory, gguf_file=name)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("reference")
    p.add_argument("exported")
    p.add_argument("--atol", type=float, default=0.0)
    a = p.parse_args()
    ref, tok = load(a.reference)
    out, out_tok = load(a.exported)
    ids = tok(SENTENCE, return_tensors="pt").input_ids
    assert out_tok(SENTENCE, return_tensors="pt").input_ids.tolist() == ids.tolist(), "tokenizers differ"
    rs, es = ref.state_dict(), out.state_dict()
    assert rs.keys() == es.keys(), f"parameter names differ: {sorted(rs.keys() ^ es.keys())[:5]}"
    worst = max(((rs[k] - es[k]).abs().max().item(), k) for k in rs)
    with torch.no_grad():
        lr, le = ref(ids).logits, out(ids).logits
    logit_diff = (lr - le).abs().max().item()
    print(f"{len(rs)} parameters, largest difference {worst[0]:.3g} ({worst[1]}); "
          f"logits: largest difference {logit_diff:.3g} of {lr.abs().max().item():.3g}, "
          f"argmax equal: {torch.equal(lr.argmax(-1), le.argmax(-1))}")
    return 0 if max(worst[0], logit_diff) <= a.atol else 1


if __name__ == "__main__":
    sys.exit(main())
