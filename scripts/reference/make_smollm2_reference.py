#!/usr/bin/env python3
"""Writes the real-decoder fixture: transformers' next-token logits and greedy continuations of
SmolLM2-135M-Instruct (the GGUF that scripts/fetch_assets.sh unpacks, de-quantised to float32 by
transformers' GGUF loader), so `swift test` checks fttrain's GGUF loading, tokenizer and Llama forward
on the real model without Python (issue 15).

For each prompt (plain text, or a conversation rendered by the model's chat template with
`add_generation_prompt=True`):
  prompt.<i>.ids          (T) I64   the prompt's token ids (`add_special_tokens=False` for chat prompts)
  prompt.<i>.logits       (T, S)    logits at every position for the S sampled vocabulary ids below
  prompt.<i>.argmax       (T) I64   the arg-max id at every position (over the whole vocabulary)
  prompt.<i>.logsumexp    (T)       log Σ exp(logits) over the whole vocabulary at every position
  prompt.<i>.greedy       (N) I64   `generate(do_sample=False, max_new_tokens=32)`'s new tokens
  sample_ids              (S) I64   a seeded sample of vocabulary ids (every 97th, plus the special ones)
`__metadata__` holds the prompts' texts, library versions and the format version.

Usage: /tmp/refvenv/bin/python scripts/reference/make_smollm2_reference.py GGUF OUT.safetensors
"""
import json
import os
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer

FORMAT_VERSION = "1"
PROMPTS = [
    ("text", "The capital of France is"),
    ("chat", "Is this movie review fresh, rotten or plot? Answer with one word.\n\n"
             "Review: a gorgeously strange movie, heavy on atmosphere, light on logic."),
    ("text", "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n   "),
    ("chat", "你好！请用一句话介绍你自己。"),
]


def main(gguf_path: str, out_path: str) -> None:
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    directory, name = os.path.dirname(gguf_path) or ".", os.path.basename(gguf_path)
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32).eval()
    vocab = model.config.vocab_size
    sample = sorted(set(range(0, vocab, 97)) | {0, 1, 2, vocab - 1})
    tensors = {"sample_ids": torch.tensor(sample, dtype=torch.int64)}
    texts = []
    for i, (kind, text) in enumerate(PROMPTS):
        if kind == "chat":
            rendered = tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                                     add_generation_prompt=True)
            ids = tokenizer(rendered, add_special_tokens=False, return_tensors="pt").input_ids
        else:
            rendered = text
            ids = tokenizer(text, return_tensors="pt").input_ids
        texts.append({"kind": kind, "text": text, "rendered": rendered})
        with torch.no_grad():
            logits = model(ids).logits[0]  # (T, V)
            greedy = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                    max_new_tokens=32)[0, ids.shape[1]:]
        tensors[f"prompt.{i}.ids"] = ids[0].contiguous()
        tensors[f"prompt.{i}.logits"] = logits[:, sample].contiguous()
        tensors[f"prompt.{i}.argmax"] = logits.argmax(-1).contiguous()
        tensors[f"prompt.{i}.logsumexp"] = torch.logsumexp(logits, -1).contiguous()
        tensors[f"prompt.{i}.greedy"] = greedy.contiguous()
        print(f"prompt {i}: {ids.shape[1]} tokens, greedy: {tokenizer.decode(greedy)!r}")
    metadata = {
        "format_version": FORMAT_VERSION, "prompts": json.dumps(texts, ensure_ascii=False),
        "torch": torch.__version__, "transformers": transformers.__version__, "model": name,
    }
    save_file(tensors, out_path, metadata=metadata)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
