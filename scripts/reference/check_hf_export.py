#!/usr/bin/env python3
"""Checks that a model fttrain exported loads in transformers and predicts what fttrain predicts.

Reads `fttrain predict` JSON lines (one per text of INPUT.jsonl, in order), runs
`AutoModelForSequenceClassification` + `AutoTokenizer` from MODEL on the same texts and compares
labels and probabilities. Family-agnostic: whatever `config.json`'s `model_type` names (bert,
distilbert, ...) is what transformers loads, and the tokenizer's outputs are passed on only where
the model's forward names them (DistilBERT has no `token_type_ids`, and a BERT tokenizer saved
beside a DistilBERT model would still produce them: transformers 4.x raises a TypeError on them,
5.x swallows them in **kwargs).

Prints one JSON line (model type, architecture, texts, same labels, largest probability
difference); with --tolerance it exits 1 when a label differs or a probability differs by more.

Usage (throw-away venv with torch and transformers):
  .build/release/fttrain predict --model-dir runs/rotten_tomatoes/model --input runs/rotten_tomatoes/data/test.jsonl --max-length 64 > /tmp/pred.jsonl
  /tmp/refvenv/bin/python scripts/reference/check_hf_export.py runs/rotten_tomatoes/model runs/rotten_tomatoes/data/test.jsonl /tmp/pred.jsonl --max-length 64 [--tolerance 1e-5]
"""
import argparse
import inspect
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("inputs")
    p.add_argument("predictions")
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--tolerance", type=float, default=None,
                   help="exit 1 when a probability differs by more than this, or a label differs")
    args = p.parse_args()
    rows = [json.loads(l) for l in open(args.inputs, encoding="utf-8") if l.strip()]
    ours = [json.loads(l) for l in open(args.predictions, encoding="utf-8") if l.strip()]
    assert len(rows) == len(ours), f"{len(rows)} texts, {len(ours)} predictions"
    tok = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForSequenceClassification.from_pretrained(args.model, attn_implementation="eager").eval()
    accepted = set(inspect.signature(model.forward).parameters)
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    pairs = any("text_pair" in r for r in rows)
    agree, worst = 0, 0.0
    with torch.no_grad():
        for start in range(0, len(rows), 64):
            batch = rows[start:start + 64]
            enc = tok([r["text"] for r in batch], [r.get("text_pair") for r in batch] if pairs else None,
                      truncation=True, max_length=args.max_length, padding=True, return_tensors="pt")
            enc = {k: v for k, v in enc.items() if k in accepted}
            probs = model(**enc).logits.softmax(-1)
            for k, row in enumerate(probs):
                mine = ours[start + k]
                agree += labels[int(row.argmax())] == mine["label"]
                worst = max(worst, max(abs(float(row[i]) - mine["probabilities"][l]) for i, l in enumerate(labels)))
    print(json.dumps({"model_type": model.config.model_type, "architecture": type(model).__name__,
                      "texts": len(rows), "same_label": agree, "max_abs_probability_difference": worst}))
    if args.tolerance is not None and (agree != len(rows) or worst > args.tolerance):
        sys.exit(1)


if __name__ == "__main__":
    main()
