#!/usr/bin/env python3
"""Writes the reference for loading SmolLM2-135M-Instruct from its GGUF file (issue 15).

transformers de-quantises the GGUF (Q8_0 embeddings, Q4_1 weights, F32 norms) into a float32
`LlamaForCausalLM`, undoing llama.cpp's q/k row permutation (`reverse_permute_weights`). The
fixture holds, per tensor (state_dict names), its float64 sum and sum of squares and 256 values at
fixed flat indices (`i * count // 256 + i % 7`), the logits of the last position of a short
prompt and its greedy continuation — small enough to commit, and enough to catch a wrong block
layout, scale or row permutation.

  smollm2_gguf_reference.safetensors
    check.<name>.sums (2) F64, check.<name>.samples (256) F32
    prompt (P) I64, output.last_logits (V) F32, generate.ids (P + N) I64

Usage:
  /tmp/refvenv/bin/python scripts/reference/make_smollm2_gguf_reference.py \
      .cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf Tests/FTModelTests/Fixtures
"""
import os
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

SAMPLES = 256


def sample_indices(count: int) -> torch.Tensor:
    i = torch.arange(SAMPLES, dtype=torch.int64)
    return (i * count // SAMPLES + i % 7).clamp(max=count - 1)


def main(gguf_path: str, out_dir: str) -> None:
    directory, name = os.path.split(os.path.abspath(gguf_path))
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, torch_dtype=torch.float32)
    model.eval()
    tensors = {}
    for key, value in model.state_dict().items():
        if key == "lm_head.weight" and model.config.tie_word_embeddings:
            continue
        flat = value.detach().reshape(-1).float()
        tensors[f"check.{key}.sums"] = torch.tensor([flat.double().sum().item(), (flat.double() ** 2).sum().item()],
                                                    dtype=torch.float64)
        tensors[f"check.{key}.samples"] = flat[sample_indices(flat.numel())].contiguous()
    prompt = torch.tensor([[1, 9690, 198, 2683, 359, 253, 5356, 5646, 11, 2]])  # fixed ids, no tokenizer needed
    with torch.no_grad():
        logits = model(prompt).logits[0, -1].contiguous()
        generated = model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=8, do_sample=False,
                                   eos_token_id=None, pad_token_id=0)
    tensors["prompt"] = prompt[0].contiguous()
    tensors["output.last_logits"] = logits
    tensors["generate.ids"] = generated[0].contiguous()
    metadata = {"format_version": "1", "torch": torch.__version__, "transformers": transformers.__version__,
                "gguf": name, "config": model.config.to_json_string(use_diff=False)}
    save_file(tensors, os.path.join(out_dir, "smollm2_gguf_reference.safetensors"), metadata=metadata)
    print(f"{len(tensors)} tensors; generated {generated[0].tolist()}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
