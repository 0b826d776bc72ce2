#!/usr/bin/env python3
"""Checks that a multi-label or regression model fttrain exported loads in transformers with its
`problem_type`, predicts what fttrain predicts, and gets transformers' own loss for it.

Reads `fttrain predict` JSON lines (one per line of TEXTS, in order: `{"score": s}` for
regression, `{"outputs": [...], "scores": [...]}` for regression with several outputs,
`{"labels": [{"label", "probability"}], "predicted": [...]}` for multi-label), runs
`AutoModelForSequenceClassification` + `AutoTokenizer` from MODEL on the same texts (eval mode,
max_length 128), and compares: the score(s), or every label's sigmoid probability, within
--tolerance, and the chosen set at each label's threshold (MODEL/thresholds.json when it exists,
else --threshold). Then the model is run with labels (the regression targets or multi-hot rows
fttrain predicted) and transformers' loss must equal MSELoss or BCEWithLogitsLoss on its logits:
the `problem_type` in config.json picks the loss fttrain trained.
Prints one JSON line; exits 1 on a difference.

Usage:
  .build/debug/fttrain predict --model-dir OUT/model --input texts.txt > /tmp/predictions.jsonl
  /tmp/refvenv/bin/python scripts/reference/check_problem_type_export.py OUT/model texts.txt /tmp/predictions.jsonl
"""
import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("texts")
    parser.add_argument("predictions")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args()
    texts = [line.rstrip("\n") for line in open(args.texts, encoding="utf-8") if line.strip()]
    ours = [json.loads(line) for line in open(args.predictions, encoding="utf-8")]
    assert len(ours) == len(texts), (len(ours), len(texts))
    tok = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForSequenceClassification.from_pretrained(args.model).eval()
    problem_type = model.config.problem_type
    assert problem_type in ("regression", "multi_label_classification"), problem_type
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    batch = tok(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    worst, mismatched = 0.0, 0
    thresholds_path = os.path.join(args.model, "thresholds.json")
    thresholds = {l: args.threshold for l in labels}
    if problem_type != "regression" and os.path.exists(thresholds_path):
        thresholds.update(json.load(open(thresholds_path)))
    if problem_type == "regression" and len(labels) == 1:
        for row, mine in zip(logits[:, 0].tolist(), ours):
            worst = max(worst, abs(row - mine["score"]))
        targets = torch.tensor([mine["score"] for mine in ours]) + 0.5
    elif problem_type == "regression":
        for row, mine in zip(logits.tolist(), ours):
            assert mine["outputs"] == labels, (mine["outputs"], labels)
            worst = max(worst, max(abs(a - b) for a, b in zip(row, mine["scores"])))
        targets = torch.tensor([mine["scores"] for mine in ours]) + 0.5
    else:
        probabilities = torch.sigmoid(logits)
        for row, mine in zip(probabilities.tolist(), ours):
            assert [x["label"] for x in mine["labels"]] == labels
            worst = max(worst, max(abs(a - x["probability"]) for a, x in zip(row, mine["labels"])))
            chosen = [l for l, p in zip(labels, row) if p >= thresholds[l]]
            mismatched += chosen != mine["predicted"]
        targets = torch.tensor([[float(l in mine["predicted"]) for l in labels] for mine in ours])
    with torch.no_grad():
        out = model(**batch, labels=targets)
    # transformers: MSELoss on the squeezed logits for one output, on the (B, L) logits for several.
    expected = (torch.nn.functional.mse_loss(out.logits.squeeze(), targets.squeeze()) if problem_type == "regression"
                else torch.nn.functional.binary_cross_entropy_with_logits(out.logits, targets))
    loss_ok = torch.allclose(out.loss, expected)
    ok = worst <= args.tolerance and mismatched == 0 and loss_ok
    print(json.dumps({"problem_type": problem_type, "outputs": len(labels), "texts": len(texts), "max_difference": worst,
                      "chosen_set_mismatches": mismatched, "transformers_loss": out.loss.item(),
                      "loss_is_problem_types": bool(loss_ok), "ok": ok}))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
