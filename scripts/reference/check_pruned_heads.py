#!/usr/bin/env python3
"""Checks that a model `fttrain prune --method heads` wrote loads in transformers as a pruned model
and predicts what fttrain predicts.

transformers builds the smaller attention layers from `config.json`'s `pruned_heads` (its
`PreTrainedModel.init_weights` calls `prune_heads`) and loads `model.safetensors` into them; this
script checks every layer's query/key/value and attention-output shapes against the config, then
compares probabilities with `fttrain predict` JSON lines on the same texts (as check_hf_export.py).

transformers 5 removed head pruning (`prune_heads`, `head_mask`, `pruned_heads`): its BertModel
builds full-size layers and fails on the smaller tensors. Run with transformers 4.x:
  /tmp/refvenv/bin/pip install --target /tmp/prune_tf4 "transformers>=4.50,<5"
  .build/release/fttrain predict --model-dir PRUNED --input TEST.jsonl --max-length 64 > /tmp/pred.jsonl
  PYTHONPATH=/tmp/prune_tf4 /tmp/refvenv/bin/python scripts/reference/check_pruned_heads.py PRUNED TEST.jsonl /tmp/pred.jsonl \
      --max-length 64 --tolerance 1e-4
Prints one JSON line; with --tolerance exits 1 when a shape, a label or a probability differs.
"""
import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
import transformers
from transformers import AutoModelForSequenceClassification, AutoTokenizer


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("inputs")
    p.add_argument("predictions")
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--tolerance", type=float, default=None)
    p.add_argument("--limit", type=int, default=None, help="compare the first N texts only")
    args = p.parse_args()
    if int(transformers.__version__.split(".")[0]) >= 5:
        sys.exit(f"transformers {transformers.__version__} has no pruned_heads support: run with transformers 4.x (see the docstring)")
    config = json.load(open(os.path.join(args.model, "config.json")))
    pruned = {int(k): v for k, v in config.get("pruned_heads", {}).items()}
    model = AutoModelForSequenceClassification.from_pretrained(args.model, attn_implementation="eager").eval()
    tok = AutoTokenizer.from_pretrained(args.model)
    heads, size = config["num_attention_heads"], config["hidden_size"] // config["num_attention_heads"]
    shapes_ok = True
    for l, layer in enumerate(model.base_model.encoder.layer):
        width = (heads - len(pruned.get(l, []))) * size
        got = (tuple(layer.attention.self.query.weight.shape), tuple(layer.attention.output.dense.weight.shape))
        shapes_ok &= got == ((width, config["hidden_size"]), (config["hidden_size"], width))
    rows = [json.loads(l) for l in open(args.inputs, encoding="utf-8") if l.strip()]
    ours = [json.loads(l) for l in open(args.predictions, encoding="utf-8") if l.strip()]
    if args.limit:
        rows, ours = rows[:args.limit], ours[:args.limit]
    assert len(rows) == len(ours), f"{len(rows)} texts, {len(ours)} predictions"
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    agree, worst = 0, 0.0
    with torch.no_grad():
        for start in range(0, len(rows), 64):
            batch = rows[start:start + 64]
            enc = tok([r["text"] for r in batch], truncation=True, max_length=args.max_length, padding=True, return_tensors="pt")
            probs = model(**enc).logits.softmax(-1)
            for k, row in enumerate(probs):
                mine = ours[start + k]
                agree += labels[int(row.argmax())] == mine["label"]
                worst = max(worst, max(abs(float(row[i]) - mine["probabilities"][l]) for i, l in enumerate(labels)))
    print(json.dumps({"transformers": transformers.__version__, "pruned_heads": config.get("pruned_heads"),
                      "shapes_match_config": shapes_ok, "texts": len(rows), "same_label": agree,
                      "max_abs_probability_difference": worst}))
    if args.tolerance is not None and (not shapes_ok or agree != len(rows) or worst > args.tolerance):
        sys.exit(1)


if __name__ == "__main__":
    main()
