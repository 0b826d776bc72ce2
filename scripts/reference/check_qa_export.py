#!/usr/bin/env python3
"""Checks that a question-answering model fttrain exported loads in transformers and answers what fttrain answers.

Reads PAIRS (JSON Lines with `question` and `context`) and fttrain's `predict` output for them (one
JSON line per pair: `{"answer", "start", "end", "score"}`), runs `AutoModelForQuestionAnswering` +
`AutoTokenizer` from MODEL on the same pairs with run_qa's windows (`prepare` of
make_squad_fixture.py: question first, `only_second`, `--max-length`/`--doc-stride`) and decodes
with utils_qa's `postprocess_qa_predictions` (reproduced there), n_best 20, max_answer_length 30
(`--v2` for SQuAD v2's null answer). Answers must be equal — the text, and fttrain's start/end
offsets must cut that text from the context — and fttrain's `score` within --tolerance of
utils_qa's probability of that answer (the logits show there). Prints one JSON line; exits 1 on a
difference.

Usage:
  .build/debug/fttrain predict --model-dir OUT/model --input pairs.jsonl --max-length 384 > /tmp/answers.jsonl
  /tmp/refvenv/bin/python scripts/reference/check_qa_export.py OUT/model pairs.jsonl /tmp/answers.jsonl --max-length 384
"""
import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np
import torch
from transformers import AutoModelForQuestionAnswering, AutoTokenizer

from make_squad_fixture import postprocess, prepare


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("pairs")
    p.add_argument("predictions")
    p.add_argument("--max-length", type=int, default=384)
    p.add_argument("--doc-stride", type=int, default=128)
    p.add_argument("--v2", action="store_true")
    p.add_argument("--tolerance", type=float, default=1e-4)
    args = p.parse_args()
    rows = [json.loads(l) for l in open(args.pairs, encoding="utf-8") if l.strip()]
    ours = [json.loads(l) for l in open(args.predictions, encoding="utf-8") if l.strip()]
    assert len(rows) == len(ours), f"{len(rows)} pairs, {len(ours)} predictions"
    examples = [{"id": str(k), "question": r["question"], "context": r["context"], "answers": {"text": [], "answer_start": []}}
                for k, r in enumerate(rows)]
    tok = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForQuestionAnswering.from_pretrained(args.model, attn_implementation="eager").eval()
    features = prepare(tok, examples, args.max_length, args.doc_stride)
    starts, ends = [], []
    with torch.no_grad():
        for f in features:
            out = model(input_ids=torch.tensor([f["input_ids"]]), token_type_ids=torch.tensor([f["token_type_ids"]]),
                        attention_mask=torch.ones(1, len(f["input_ids"]), dtype=torch.long))
            starts.append(out.start_logits[0].numpy().astype(np.float32))
            ends.append(out.end_logits[0].numpy().astype(np.float32))
    probabilities = {}
    predictions, _ = postprocess(examples, features, starts, ends, args.v2, 20, 30, 0.0, probabilities)
    same, worst = 0, 0.0
    for k, (row, mine) in enumerate(zip(rows, ours)):
        theirs = predictions[str(k)]
        if theirs == mine["answer"] and (not theirs or row["context"][mine["start"]:mine["end"]] == theirs):
            same += 1
            worst = max(worst, abs(probabilities[str(k)] - mine["score"]))
        else:
            print(f"differs: {row['question']!r}\n  transformers {theirs!r}\n  fttrain      {mine['answer']!r}", file=sys.stderr)
    report = {"architecture": model.config.architectures, "pairs": len(rows), "same_answers": same,
              "windows": len(features),
              "max_score_difference": worst}
    print(json.dumps(report))
    sys.exit(0 if same == len(rows) and worst <= args.tolerance else 1)


if __name__ == "__main__":
    main()
