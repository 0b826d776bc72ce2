#!/usr/bin/env python3
"""Checks that a token classifier fttrain exported loads in transformers and finds what fttrain finds.

Reads `fttrain predict [--words]` JSON lines (one per line of TEXTS, in order: `{"entities": [{"type",
"start", "end", "text", "score"}]}`), runs `AutoModelForTokenClassification` + `AutoTokenizer`
from MODEL on the same texts and groups the tokens as `pipeline("token-classification",
aggregation_strategy="first")` does: each word (the fast tokenizer's `word_ids`; BERT's
normalizer makes every CJK character a word) takes its first sub-token's label and probability,
seqeval's `get_entities` turns the word tags into entities, an entity's span runs from its first
word's first character to its last word's last, its score is the mean of its words'. Entities
must be equal (type, start, end, text) and scores within --tolerance (a logit difference shows
there); with `--words`, every word's label and probability are compared too. Prints one JSON line; exits 1 on a difference.

Usage:
  .build/debug/fttrain predict --model-dir OUT/model --input texts.txt > /tmp/entities.jsonl
  /tmp/refvenv/bin/python scripts/reference/check_token_classification_export.py OUT/model texts.txt /tmp/entities.jsonl
"""
import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from seqeval.metrics.sequence_labeling import get_entities
from transformers import AutoModelForTokenClassification, AutoTokenizer


def entities(text, tok, model, max_length):
    enc = tok(text, return_offsets_mapping=True, truncation=True, max_length=max_length, return_tensors="pt")
    offsets = enc.pop("offset_mapping")[0].tolist()
    word_ids = enc.word_ids(0)
    with torch.no_grad():
        probs = model(**{k: v for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}).logits[0].softmax(-1)
    words, tags, scores = [], [], []  # per word: [start, end]
    for k, w in enumerate(word_ids):
        if w is None:
            continue
        if w >= len(words):
            label = int(probs[k].argmax())
            words.append(list(offsets[k]))
            tags.append(model.config.id2label[label])
            scores.append(float(probs[k, label]))
        else:
            words[w][1] = offsets[k][1]
    per_word = [{"label": t, "start": s, "end": e, "text": text[s:e], "score": q}
                for (s, e), t, q in zip(words, tags, scores)]
    out = []
    for type_, a, b in get_entities(tags):
        start, end = words[a][0], words[b][1]
        out.append({"type": type_, "start": start, "end": end, "text": text[start:end],
                    "score": sum(scores[a:b + 1]) / (b - a + 1)})
    return out, per_word


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("texts")
    p.add_argument("predictions")
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--tolerance", type=float, default=1e-4)
    args = p.parse_args()
    texts = [l.rstrip("\n") for l in open(args.texts, encoding="utf-8") if l.strip()]
    lines = [json.loads(l) for l in open(args.predictions, encoding="utf-8") if l.strip()]
    ours = [l["entities"] for l in lines]
    assert len(texts) == len(ours), f"{len(texts)} texts, {len(ours)} predictions"
    tok = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForTokenClassification.from_pretrained(args.model, attn_implementation="eager").eval()
    same, worst, count, words_checked = 0, 0.0, 0, 0
    for text, mine, line in zip(texts, ours, lines):
        theirs, their_words = entities(text, tok, model, args.max_length)
        if "words" in line:  # `predict --words`: every word's label and probability (the logits show)
            wkey = lambda ws: [(w["label"], w["start"], w["end"], w["text"]) for w in ws]
            if wkey(their_words) != wkey(line["words"]):
                print(f"words differ: {text!r}", file=sys.stderr)
                continue
            for a, b in zip(their_words, line["words"]):
                worst = max(worst, abs(a["score"] - b["score"]))
                words_checked += 1
        key = lambda es: [(e["type"], e["start"], e["end"], e["text"]) for e in es]
        if key(theirs) == key(mine):
            same += 1
            for a, b in zip(theirs, mine):
                worst = max(worst, abs(a["score"] - b["score"]))
                count += 1
        else:
            print(f"differs: {text!r}\n  transformers {key(theirs)}\n  fttrain      {key(mine)}", file=sys.stderr)
    report = {"architecture": model.config.architectures, "texts": len(texts), "same_entities": same,
              "entities": count, "words": words_checked, "max_score_difference": worst}
    print(json.dumps(report))
    sys.exit(0 if same == len(texts) and worst <= args.tolerance else 1)


if __name__ == "__main__":
    main()
