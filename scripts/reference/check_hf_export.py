#!/usr/bin/env python3
"""Checks that a model fttrain exported loads in transformers and predicts what fttrain predicts.

Reads `fttrain predict` JSON lines (one per text of INPUT.jsonl, in order), runs
`AutoModelForSequenceClassification` from MODEL on the same texts and compares labels and
probabilities.

Usage (throw-away venv with torch and transformers):
  .build/release/fttrain predict --model-dir runs/rotten_tomatoes/model --input runs/rotten_tomatoes/data/test.jsonl --max-length 64 > /tmp/pred.jsonl
  /tmp/refvenv/bin/python scripts/reference/check_hf_export.py runs/rotten_tomatoes/model runs/rotten_tomatoes/data/test.jsonl /tmp/pred.jsonl --max-length 64
"""
import argparse
import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("inputs")
    p.add_argument("predictions")
    p.add_argument("--max-length", type=int, default=128)
    args = p.parse_args()
    rows = [json.loads(l) for l in open(args.inputs, encoding="utf-8") if l.strip()]
    ours = [json.loads(l) for l in open(args.predictions, encoding="utf-8") if l.strip()]
    assert len(rows) == len(ours), f"{len(rows)} texts, {len(ours)} predictions"
    tok = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForSequenceClassification.from_pretrained(args.model, attn_implementation="eager").eval()
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    agree, worst = 0, 0.0
    with torch.no_grad():
        for start in range(0, len(rows), 64):
            batch = rows[start:start + 64]
            enc = tok([r["text"] for r in batch], [r.get("text_pair") for r in batch] if any("text_pair" in r for r in batch) else None,
                      truncation=True, max_length=args.max_length, padding=True, return_tensors="pt")
            probs = model(**enc).logits.softmax(-1)
            for k, row in enumerate(probs):
                mine = ours[start + k]
                agree += labels[int(row.argmax())] == mine["label"]
                worst = max(worst, max(abs(float(row[i]) - mine["probabilities"][l]) for i, l in enumerate(labels)))
    print(json.dumps({"texts": len(rows), "same_label": agree, "max_abs_probability_difference": worst}))


if __name__ == "__main__":
    main()
