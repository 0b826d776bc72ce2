#!/usr/bin/env python3
"""Checks that a directory fttrain exported after training with `add_tokens` loads in transformers
with the same added tokens and ids (issue 22): its tokenizer gives, on the texts given (or a
built-in Chinese + English set), exactly the ids of the base tokenizer after
`tokenizer.add_tokens(TOKENS)`; `config.json`'s vocab_size, the embedding matrix and
`len(tokenizer)` agree; and the model runs on ids that use the new rows.

Usage:
  /tmp/refvenv/bin/python scripts/reference/check_added_tokens_export.py EXPORTED_DIR BASE_DIR TOKENS_FILE
(TOKENS_FILE: one token per line, as given to `add_tokens`.) Exits 1 on the first disagreement.
"""
import sys

import torch
from transformers import AutoModelForTokenClassification, AutoModelForSequenceClassification, AutoTokenizer, AutoConfig

TEXTS = ["我在北京大学学习新词", "张三在北京工作", "人工智能是未来, Fttrain and FTTRAIN", "Café cafe", "新词新词 hello"]


def main(exported: str, base: str, tokens_file: str) -> int:
    tokens = [l.rstrip("\r\n") for l in open(tokens_file, encoding="utf-8") if l.strip()]
    reference = AutoTokenizer.from_pretrained(base)
    reference.add_tokens(tokens)
    loaded = AutoTokenizer.from_pretrained(exported)
    config = AutoConfig.from_pretrained(exported)
    ok = True
    if len(loaded) != len(reference) or config.vocab_size != len(reference):
        print(f"sizes differ: exported tokenizer {len(loaded)}, config vocab_size {config.vocab_size}, reference {len(reference)}")
        ok = False
    for text in TEXTS + tokens:
        a, b = loaded(text)["input_ids"], reference(text)["input_ids"]
        if a != b:
            print(f"ids differ on {text!r}: exported {a}, reference {b}")
            ok = False
    arch = (config.architectures or [""])[0]
    cls = AutoModelForTokenClassification if arch.endswith("ForTokenClassification") else AutoModelForSequenceClassification
    model = cls.from_pretrained(exported).eval()
    rows = model.get_input_embeddings().weight.shape[0]
    if rows != len(reference):
        print(f"embedding rows {rows} != len(tokenizer) {len(reference)}")
        ok = False
    with torch.no_grad():
        out = model(**loaded(TEXTS[0], return_tensors="pt"))
    print(f"{exported}: {len(reference) - len(AutoTokenizer.from_pretrained(base))} added ids, logits {tuple(out.logits.shape)}: "
          + ("OK" if ok else "MISMATCH"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
