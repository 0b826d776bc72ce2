#!/usr/bin/env python3
"""Checks a directory `fttrain extend-vocab` wrote in transformers (issue 22):
- `AutoTokenizer` (fast, from tokenizer.json when the base had one) and `tokenizers`'
  `BertWordPieceTokenizer` built from vocab.txt alone give, on every text of the corpus, exactly the ids fttrain gives (IDS_FILE:
  one JSON array per line, `fttrain tokenize --model-dir OUT < TEXTS`);
- len(tokenizer) == config.vocab_size == embedding rows; the old rows equal the base's, the new
  rows equal the mean of the old (resize_token_embeddings' mean_resizing centre);
- the [UNK] share of the word pieces, before (base tokenizer) and after;
- optionally (ADAPTER_DIR MERGED_DIR): PEFT loads the LoRA adapter of a run on OUT
  (modules_to_save with word_embeddings) and its logits equal the exported merged model's.

Usage:
  /tmp/refvenv/bin/python scripts/reference/check_extend_vocab.py OUT BASE TEXTS IDS_FILE [ADAPTER_DIR MERGED_DIR]
Exits 1 on the first disagreement.
"""
import json
import sys

import torch
from safetensors.torch import load_file
from tokenizers import BertWordPieceTokenizer
from transformers import AutoConfig, AutoModel, AutoTokenizer


def main(out: str, base: str, texts_file: str, ids_file: str, adapter: str = None, merged: str = None) -> int:
    texts = [l.rstrip("\r\n") for l in open(texts_file, encoding="utf-8")]
    expected = [json.loads(l) for l in open(ids_file, encoding="utf-8")]
    assert len(texts) == len(expected), f"{len(texts)} texts but {len(expected)} id lines"
    fast = AutoTokenizer.from_pretrained(out)
    lowercase = json.load(open(f"{out}/tokenizer_config.json")).get("do_lower_case", True)
    from_vocab = BertWordPieceTokenizer(f"{out}/vocab.txt", lowercase=lowercase)
    reference = AutoTokenizer.from_pretrained(base)
    config = AutoConfig.from_pretrained(out)
    ok = True
    if len(fast) != config.vocab_size:
        print(f"len(tokenizer) {len(fast)} != config.vocab_size {config.vocab_size}")
        ok = False
    unk_before = unk_after = pieces = differ = 0
    for number, (text, ids) in enumerate(zip(texts, expected), 1):
        a = fast(text)["input_ids"]
        b = from_vocab.encode(text).ids
        if a != ids or b != ids:
            differ += 1
            if differ <= 3:
                print(f"line {number}: fttrain {ids[:20]}..., tokenizer.json {a[:20]}..., vocab.txt {b[:20]}...")
            ok = False
        unk_after += a.count(fast.unk_token_id)
        pieces += len(a) - 2
        unk_before += reference(text)["input_ids"].count(reference.unk_token_id)
    base_pieces = sum(len(reference(t)["input_ids"]) - 2 for t in texts)
    print(f"[UNK] word pieces: before {unk_before}/{base_pieces} ({100 * unk_before / max(base_pieces, 1):.2f}%), "
          f"after {unk_after}/{pieces} ({100 * unk_after / max(pieces, 1):.2f}%)")
    model = AutoModel.from_pretrained(out)
    old = AutoModel.from_pretrained(base).get_input_embeddings().weight.detach()
    new = model.get_input_embeddings().weight.detach()
    if new.shape[0] != len(fast):
        print(f"embedding rows {new.shape[0]} != len(tokenizer) {len(fast)}")
        ok = False
    if not torch.equal(new[: old.shape[0]], old):
        print("the old rows changed")
        ok = False
    mean = old.double().mean(0).float()
    gap = (new[old.shape[0]:] - mean).abs().max().item() if new.shape[0] > old.shape[0] else 0.0
    if gap > 1e-6:
        print(f"new rows differ from the mean of the old rows by {gap}")
        ok = False
    print(f"{out}: {len(fast) - len(reference)} new ids, {len(texts) - differ} of {len(texts)} texts tokenized alike "
          f"(tokenizer.json and vocab.txt), new rows - mean {gap:.2e}")
    if adapter:
        from peft import PeftModel
        from transformers import AutoModelForTokenClassification
        merged_model = AutoModelForTokenClassification.from_pretrained(merged).eval()
        base_model = AutoModelForTokenClassification.from_pretrained(out, num_labels=merged_model.config.num_labels)
        peft_model = PeftModel.from_pretrained(base_model, adapter).eval()
        saved = load_file(f"{adapter}/adapter_model.safetensors")
        print(f"adapter tensors: {len(saved)}; word embeddings saved: {[k for k in saved if 'word_embeddings' in k]}")
        batch = fast(texts[:8], return_tensors="pt", padding=True, truncation=True, max_length=128)
        with torch.no_grad():
            a = peft_model(**batch).logits
            b = merged_model(**batch).logits
        gap = (a - b).abs().max().item()
        print(f"PEFT adapter on {out} vs merged {merged}: logits max |diff| {gap:.2e}")
        if gap > 1e-4:
            ok = False
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:7]))
