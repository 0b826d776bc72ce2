#!/usr/bin/env python3
"""DistilBERT interop between fttrain and PyTorch + transformers + PEFT, run by
scripts/distilbert_roundtrip.sh in a throw-away venv (torch, transformers, peft, tokenizers).

check_peft_roundtrip.py hard-codes MiniLM's LoRA settings (query/value/dense, lora_only bias) for
its `train`; this one is DistilBERT's (q_lin/v_lin, bias none, r 4, alpha 8).

Subcommands:
  make-base CSV OUT
      Writes a small random DistilBERT base directory made by transformers itself:
      a WordPiece vocab.txt trained (lowercase, `tokenizers`' BertWordPieceTokenizer, vocab ~2000)
      on the first 2000 texts of CSV (Rotten Tomatoes: category,text,...), the DistilBertTokenizer
      built on it saved with save_pretrained (so AutoTokenizer loads it), and
      `DistilBertModel(DistilBertConfig(vocab_size=len(vocab), dim=64, n_layers=2, n_heads=4,
      hidden_dim=128, max_position_embeddings=128, initializer_range=0.2))` saved with
      save_pretrained (safetensors). With HF's 0.02 the random encoder's [CLS] output hardly depends
      on the text (probabilities vary by ~3e-5 over 40 texts); 0.2 makes them vary by ~0.1.
  compare BASE ADAPTER TEXTS PREDICTIONS
      Loads BASE with AutoModelForSequenceClassification (num_labels and label names from
      ADAPTER/labels.json, the head freshly initialised), applies ADAPTER with
      PeftModel.from_pretrained, and compares its probabilities on TEXTS (one per line) with
      PREDICTIONS, the JSON lines of `fttrain predict --model-dir BASE --adapter ADAPTER`; then
      zeroes every lora_B and requires PEFT's probabilities to move by more than 10 x tolerance,
      so the agreement says something about the LoRA branches.
  train BASE DATA OUT
      Trains a LoRA adapter with PEFT (SEQ_CLS, r 4, alpha 8, q_lin/v_lin, bias none, dropout 0.1;
      SEQ_CLS saves pre_classifier and classifier too) for 12 AdamW steps (lr 5e-3, batch 8) on
      DATA (CSV: label,text) and saves it in OUT with a labels.json, for fttrain to load.

Each comparison prints a JSON line and exits 1 when a probability differs by more than --tolerance
(default 1e-5) or a label differs.
"""
import argparse
import csv
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def probabilities(model, tokenizer, texts, max_length):
    out = []
    with torch.no_grad():
        for start in range(0, len(texts), 32):
            enc = tokenizer(texts[start:start + 32], truncation=True, max_length=max_length, padding=True,
                            return_tensors="pt")
            enc.pop("token_type_ids", None)  # DistilBERT has no segment embeddings
            out += model(**enc).logits.softmax(-1).tolist()
    return out


def compare(theirs, labels, predictions_path, tolerance, what):
    ours = [json.loads(l) for l in read_lines(predictions_path)]
    assert len(ours) == len(theirs), f"{len(ours)} fttrain predictions for {len(theirs)} texts"
    worst, same = 0.0, 0
    for row, mine in zip(theirs, ours):
        same += labels[max(range(len(row)), key=row.__getitem__)] == mine["label"]
        worst = max(worst, max(abs(row[i] - mine["probabilities"][label]) for i, label in enumerate(labels)))
    ok = worst <= tolerance and same == len(ours)
    predicted = {}
    for mine in ours:
        predicted[mine["label"]] = predicted.get(mine["label"], 0) + 1
    top = [max(row) for row in theirs]
    print(json.dumps({"check": what, "texts": len(ours), "same_label": same,
                      "max_abs_probability_difference": worst, "tolerance": tolerance, "ok": ok,
                      "predicted": predicted, "top_probability_range": [min(top), max(top)]}))
    return ok


def load_labels(adapter):
    with open(os.path.join(adapter, "labels.json")) as f:
        id2label = json.load(f)["id2label"]
    return [id2label[str(i)] for i in range(len(id2label))]


def sequence_classifier(base, labels):
    return AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=len(labels), attn_implementation="eager",
        id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})


def make_base(data, out):
    from tokenizers import BertWordPieceTokenizer
    from transformers import DistilBertConfig, DistilBertModel, DistilBertTokenizerFast

    with open(data, encoding="utf-8") as f:
        texts = [" ".join(r["text"].split()) for r in csv.DictReader(f) if r["text"].strip()][:2000]
    os.makedirs(out, exist_ok=True)
    wordpiece = BertWordPieceTokenizer(lowercase=True)
    wordpiece.train_from_iterator(texts, vocab_size=2000, min_frequency=2, show_progress=False)
    wordpiece.save_model(out)  # vocab.txt
    vocab_file = os.path.join(out, "vocab.txt")
    with open(vocab_file, encoding="utf-8") as f:
        vocab = {line.rstrip("\n"): i for i, line in enumerate(f)}
    # transformers 5's DistilBertTokenizer(Fast) takes the vocabulary as `vocab` (4.x: `vocab_file`;
    # 5.x silently ignores a `vocab_file` keyword and keeps its 5 special tokens), so pass whichever
    # this version names, and check below that the vocabulary arrived.
    import inspect
    if "vocab_file" in inspect.signature(DistilBertTokenizerFast.__init__).parameters:
        tokenizer = DistilBertTokenizerFast(vocab_file=vocab_file, do_lower_case=True, model_max_length=128)
    else:
        tokenizer = DistilBertTokenizerFast(vocab=vocab, do_lower_case=True, model_max_length=128)
    tokenizer.save_pretrained(out)
    reloaded = AutoTokenizer.from_pretrained(out)
    assert len(reloaded) == len(vocab), f"AutoTokenizer has {len(reloaded)} tokens, vocab.txt {len(vocab)}"
    for text in texts[:200]:
        assert reloaded(text, add_special_tokens=False)["input_ids"] == wordpiece.encode(text).ids, \
            f"ids differ on {text!r}"
    torch.manual_seed(0)
    config = DistilBertConfig(vocab_size=len(tokenizer), dim=64, n_layers=2, n_heads=4, hidden_dim=128,
                              max_position_embeddings=128, pad_token_id=tokenizer.pad_token_id,
                              initializer_range=0.2)
    model = DistilBertModel(config)
    model.save_pretrained(out, safe_serialization=True)
    print(f"DistilBERT base ({type(reloaded).__name__}): vocab {len(reloaded)} from {len(texts)} texts, dim 64, 2 layers, "
          f"{sum(p.numel() for p in model.parameters())} parameters -> {out}")


def train(base, data, out, max_length):
    from peft import LoraConfig, TaskType, get_peft_model

    with open(data, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    labels = sorted({r["label"] for r in rows})
    torch.manual_seed(0)
    model = sequence_classifier(base, labels)
    config = LoraConfig(task_type=TaskType.SEQ_CLS, r=4, lora_alpha=8, lora_dropout=0.1, bias="none",
                        target_modules=["q_lin", "v_lin"])
    model = get_peft_model(model, config)
    model.print_trainable_parameters()
    tokenizer = AutoTokenizer.from_pretrained(base)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-3)
    model.train()
    for step in range(12):
        batch = rows[(step * 8) % len(rows):][:8]
        enc = tokenizer([r["text"] for r in batch], truncation=True, max_length=max_length, padding=True,
                        return_tensors="pt")
        enc.pop("token_type_ids", None)
        loss = model(**enc, labels=torch.tensor([labels.index(r["label"]) for r in batch])).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.save_pretrained(out)
    with open(os.path.join(out, "labels.json"), "w") as f:
        json.dump({"id2label": {str(i): l for i, l in enumerate(labels)}}, f)
    print(f"PEFT adapter trained 12 steps (last loss {loss.item():.4f}) and saved to {out}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["make-base", "compare", "train"])
    p.add_argument("paths", nargs="+")
    p.add_argument("--max-length", type=int, default=32)
    p.add_argument("--tolerance", type=float, default=1e-5)
    args = p.parse_args()
    if args.command == "make-base":
        make_base(*args.paths)
    elif args.command == "compare":
        base, adapter, texts, predictions = args.paths
        from peft import PeftModel
        labels = load_labels(adapter)
        model = PeftModel.from_pretrained(sequence_classifier(base, labels), adapter).eval()
        tokenizer, lines = AutoTokenizer.from_pretrained(base), read_lines(texts)
        theirs = probabilities(model, tokenizer, lines, args.max_length)
        ok = compare(theirs, labels, predictions, args.tolerance, f"PEFT({adapter}) vs fttrain")
        # The comparison only means something if the LoRA branches matter: zero every B (keeping the
        # saved pre_classifier/classifier) and require the probabilities to move by > 10 x tolerance.
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                if "lora_B" in name:
                    parameter.zero_()
        without = probabilities(model, tokenizer, lines, args.max_length)
        effect = max(abs(a - b) for r, w in zip(theirs, without) for a, b in zip(r, w))
        print(json.dumps({"check": "LoRA branches move PEFT's probabilities by", "max_abs_probability_difference": effect,
                          "required_over": 10 * args.tolerance, "ok": effect > 10 * args.tolerance}))
        sys.exit(0 if ok and effect > 10 * args.tolerance else 1)
    else:
        base, data, out = args.paths
        train(base, data, out, args.max_length)


if __name__ == "__main__":
    main()
