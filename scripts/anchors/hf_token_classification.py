#!/usr/bin/env python3
"""Hugging Face's Trainer on a token-classification split, the anchor of scripts/ner_peoples_daily.sh.

What transformers' examples/pytorch/token-classification/run_ner.py does, on JSONL files of
{"tokens": [...], "tags": [...]}: labels sorted, words tokenized with is_split_into_words, each
word's tag on its first sub-token (others −100), AutoModelForTokenClassification, Trainer with the
given settings (AdamW, linear decay with warmup ratio, weight decay, clipping 1.0), seqeval's
entity metrics over the labelled positions. Prints `RESULT {json}`: test precision/recall/F1
(micro), token accuracy, train runtime and the whole wall time.
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
started = time.time()

import numpy as np
import torch
from seqeval.metrics import accuracy_score, f1_score, precision_score, recall_score
from transformers import (AutoModelForTokenClassification, AutoTokenizer, DataCollatorForTokenClassification,
                          Trainer, TrainingArguments)


def read(path):
    return [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--train", required=True)
    p.add_argument("--validation", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--epochs", type=float, default=1)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--eval-batch", type=int, default=64)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--warmup-ratio", type=float, default=0.1)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    splits = {k: read(v) for k, v in (("train", a.train), ("validation", a.validation), ("test", a.test))}
    labels = sorted({t for row in splits["train"] for t in row["tags"]})
    label_to_id = {l: i for i, l in enumerate(labels)}
    tok = AutoTokenizer.from_pretrained(a.model)

    def encode(rows):
        out = []
        for row in rows:
            enc = tok(row["tokens"], is_split_into_words=True, truncation=True, max_length=a.max_length)
            ids, previous = [], None
            for w in enc.word_ids():
                ids.append(-100 if w is None or w == previous else label_to_id[row["tags"][w]])
                previous = w
            enc["labels"] = ids
            out.append(dict(enc))
        return out

    data = {k: encode(v) for k, v in splits.items()}
    model = AutoModelForTokenClassification.from_pretrained(
        a.model, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label_to_id)

    def compute_metrics(pred):
        logits, gold = pred
        predicted = np.argmax(logits, axis=-1)
        truth = [[labels[g] for g, q in zip(gs, ps) if g != -100] for gs, ps in zip(gold, predicted)]
        guess = [[labels[q] for g, q in zip(gs, ps) if g != -100] for gs, ps in zip(gold, predicted)]
        return {"precision": precision_score(truth, guess), "recall": recall_score(truth, guess),
                "f1": f1_score(truth, guess), "accuracy": accuracy_score(truth, guess)}

    args = TrainingArguments(
        output_dir=a.output, learning_rate=a.lr, num_train_epochs=a.epochs, per_device_train_batch_size=a.batch,
        per_device_eval_batch_size=a.eval_batch, warmup_steps=a.warmup_ratio,  # transformers 5: a float < 1 is the ratio
        weight_decay=a.weight_decay,
        lr_scheduler_type="linear", max_grad_norm=1.0, eval_strategy="no", save_strategy="no", logging_steps=20,
        seed=a.seed, report_to=[], use_cpu=True, dataloader_num_workers=0)
    trainer = Trainer(model=model, args=args, train_dataset=data["train"], eval_dataset=data["validation"],
                      data_collator=DataCollatorForTokenClassification(tok), compute_metrics=compute_metrics)
    train = trainer.train()
    test = trainer.evaluate(data["test"], metric_key_prefix="test")
    result = {"test_f1": test["test_f1"], "test_precision": test["test_precision"], "test_recall": test["test_recall"],
              "test_accuracy": test["test_accuracy"], "train_runtime": train.metrics["train_runtime"],
              "wall_seconds": time.time() - started, "labels": labels}
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
