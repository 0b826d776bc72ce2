#!/usr/bin/env python3
"""Greedy generations of the real SmolLM2-135M-Instruct GGUF with transformers, for
Tests/FTTrainTests/CausalLMGenerationTests.swift and `fttrain generate` tests.

Usage:
    /tmp/refvenv/bin/python scripts/reference/make_smollm2_generate_reference.py \
        .cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf \
        Tests/FTTrainTests/Fixtures/causal_lm/smollm2_greedy.json

The model is loaded as transformers loads a GGUF (de-quantised to float32); each prompt is the chat
template with add_generation_prompt=True around one user turn; `generate(do_sample=False,
max_new_tokens=N)` stops at EOS (<|im_end|>). Recorded per case: the prompt text, its ids, the new
ids (EOS excluded) and their decoded text (skip_special_tokens=True), and the logits' top-5 ids at
the first generated position. Deterministic.
"""
import json
import os
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer


def main():
    path, out = sys.argv[1], sys.argv[2]
    torch.set_num_threads(2)
    directory, name = os.path.dirname(path) or ".", os.path.basename(path)
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32)
    model.eval()
    cases = []
    for question, new_tokens in [("What is the capital of France?", 24), ("Say hello in one word.", 12),
                                 ("Review: A joyless slog.\nIs this review fresh, rotten or plot? Answer with one word.", 4)]:
        prompt = tokenizer.apply_chat_template([{"role": "user", "content": question}], tokenize=False,
                                               add_generation_prompt=True)
        ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt").input_ids
        with torch.inference_mode():
            logits = model(ids).logits[0, -1]
            output = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens, do_sample=False,
                                    pad_token_id=tokenizer.eos_token_id)
        new = [int(t) for t in output[0, ids.shape[1]:]]
        if new and new[-1] == tokenizer.eos_token_id:
            new = new[:-1]
        cases.append({
            "question": question, "prompt": prompt, "prompt_ids": [int(t) for t in ids[0]],
            "max_new_tokens": new_tokens, "generated_ids": new,
            "generated": tokenizer.decode(new, skip_special_tokens=True),
            "top5": [int(t) for t in torch.topk(logits, 5).indices],
        })
    with open(out, "w") as f:
        json.dump({"cases": cases, "versions": {"torch": torch.__version__, "transformers": transformers.__version__}},
                  f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
