#!/usr/bin/env python3
"""Hugging Face Trainer on exactly the split and hyperparameters of an fttrain run, for the
side-by-side comparison of the fine-tuning demo (accuracy, macro-F1, wall time).

It reads the fttrain run directory: `data/{train,validation,test}.jsonl` (the split fttrain
made) and `training_config.yaml` (the effective settings), and trains
`BertForSequenceClassification` from the same pretrained directory with the same settings.

Usage (throw-away venv with torch, transformers, accelerate, scikit-learn, pyyaml):
  /tmp/refvenv/bin/python scripts/reference/hf_trainer_baseline.py runs/rotten_tomatoes [--threads 2] [--attn sdpa]

`--attn eager` (the default) is the attention fttrain matches numerically; `sdpa` is PyTorch's
fastest CPU attention, for wall-time comparisons (scripts/bench_epoch.sh).
"""
import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch
import yaml
from sklearn.metrics import accuracy_score, f1_score
from transformers import (AutoTokenizer, BertForSequenceClassification, DataCollatorWithPadding, Trainer,
                          TrainingArguments)


def read_split(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class Encoded(torch.utils.data.Dataset):
    def __init__(self, rows, tokenizer, label2id, max_length):
        self.items = []
        for row in rows:
            enc = tokenizer(row["text"], row.get("text_pair"), truncation=True, max_length=max_length)
            enc["labels"] = label2id[row["label"]]
            self.items.append(enc)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("run_dir")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--attn", default="eager", choices=["eager", "sdpa"])
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    cfg = yaml.safe_load(open(os.path.join(args.run_dir, "training_config.yaml")))
    model_dir = cfg["model_dir"]
    splits = {name: read_split(os.path.join(args.run_dir, "data", f"{name}.jsonl"))
              for name in ("train", "validation", "test")}
    labels = sorted({r["label"] for r in splits["train"]})
    if all(l.lstrip("-").isdigit() for l in labels):
        labels = sorted(labels, key=int)
    label2id = {l: i for i, l in enumerate(labels)}
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    data = {k: Encoded(v, tokenizer, label2id, cfg["max_length"]) for k, v in splits.items()}

    started = time.time()
    model = BertForSequenceClassification.from_pretrained(
        model_dir, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label2id,
        attn_implementation=args.attn)

    def compute_metrics(pred):
        y_pred = np.argmax(pred.predictions, axis=-1)
        return {"accuracy": accuracy_score(pred.label_ids, y_pred),
                "f1_macro": f1_score(pred.label_ids, y_pred, average="macro")}

    metric = cfg.get("metric_for_best_model") or "loss"
    with tempfile.TemporaryDirectory() as out:
        targs = TrainingArguments(
            output_dir=out, seed=cfg["seed"], num_train_epochs=cfg["num_train_epochs"], max_steps=cfg["max_steps"],
            per_device_train_batch_size=cfg["per_device_train_batch_size"],
            per_device_eval_batch_size=cfg["per_device_eval_batch_size"],
            gradient_accumulation_steps=cfg["gradient_accumulation_steps"], learning_rate=cfg["learning_rate"],
            weight_decay=cfg["weight_decay"], adam_beta1=cfg["adam_beta1"], adam_beta2=cfg["adam_beta2"],
            adam_epsilon=cfg["adam_epsilon"], max_grad_norm=cfg["max_grad_norm"],
            lr_scheduler_type=cfg["lr_scheduler_type"],
            # transformers 5 folds warmup_ratio into warmup_steps: a value below 1 is a ratio.
            warmup_steps=cfg["warmup_steps"] if cfg["warmup_steps"] > 0 else cfg["warmup_ratio"],
            eval_strategy=cfg["eval_strategy"],
            eval_steps=cfg.get("eval_steps"), logging_steps=cfg["logging_steps"],
            save_strategy=cfg["save_strategy"] if cfg.get("load_best_model_at_end") else "no",
            save_steps=cfg["save_steps"], save_total_limit=cfg.get("save_total_limit"),
            load_best_model_at_end=cfg.get("load_best_model_at_end", False), metric_for_best_model=metric,
            # transformers 5: group_by_length became a sampling strategy.
            train_sampling_strategy="group_by_length" if cfg.get("group_by_length") else "random",
            dataloader_drop_last=cfg["dataloader_drop_last"],
            use_cpu=True, report_to=[], disable_tqdm=True)
        trainer = Trainer(model=model, args=targs, train_dataset=data["train"],
                          eval_dataset=data["validation"] if len(data["validation"]) else None,
                          data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=compute_metrics)
        train_output = trainer.train()
        trained = time.time()
        result = {}
        for name in ("validation", "test"):
            if len(data[name]):
                m = trainer.evaluate(data[name], metric_key_prefix="eval" if name == "validation" else "test")
                result.update(m)
    result["wall_seconds"] = time.time() - started
    result["train_seconds"] = trained - started
    result["train_runtime"] = train_output.metrics["train_runtime"]  # trainer.train() alone
    result["train_steps"] = train_output.global_step
    result["torch"] = torch.__version__
    print("RESULT", json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
