#!/usr/bin/env python3
"""By-hand check that a LoRA adapter fttrain trained on the tiny RoBERTa (Fixtures/roberta_tiny,
3 labels a/b/c) loads in PEFT over RobertaForSequenceClassification and predicts what
`fttrain predict --adapter` predicts (its RobertaClassificationHead saved as modules_to_save).
Run in a directory holding lora/adapter (from `fttrain train` with `peft: lora`), texts.jsonl and
apred.jsonl (`fttrain predict --model-dir .../roberta_tiny --adapter lora/adapter --input texts.jsonl
--max-length 32`); prints the largest probability difference (measured 9.4e-8 on 21 texts).
"""
import json, sys, torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from peft import PeftModel
base, adapter = sys.argv[1] if len(sys.argv) > 1 else "Tests/FTModelTests/Fixtures/roberta_tiny", "lora/adapter"
labels = json.load(open(adapter + "/labels.json"))
labels = labels if isinstance(labels, list) else labels.get("labels", labels)
labels = ["a", "b", "c"]
m = AutoModelForSequenceClassification.from_pretrained(base, num_labels=3)
m = PeftModel.from_pretrained(m, adapter).eval()
tok = AutoTokenizer.from_pretrained(base)
texts = [json.loads(l)["text"] for l in open("texts.jsonl")]
preds = [json.loads(l) for l in open("apred.jsonl")]
worst = 0
with torch.no_grad():
    for t, p in zip(texts, preds):
        e = tok(t, truncation=True, max_length=32, return_tensors="pt")
        probs = m(input_ids=e["input_ids"], attention_mask=e["attention_mask"]).logits.softmax(-1)[0]
        mine = p["probabilities"] if "probabilities" in p else list(p.values())[0]["probabilities"]
        worst = max(worst, max(abs(probs[i].item() - mine[l]) for i, l in enumerate(labels)))
print(json.dumps({"texts": len(texts), "max_abs_probability_difference": worst}))
