#!/usr/bin/env python3
"""Writes the real-model LoRA reference: SmolLM2-135M-Instruct (the GGUF of scripts/fetch_assets.sh,
de-quantised to float32 by transformers) wrapped by PEFT's LoRA (CAUSAL_LM, r 1, alpha 2, on q_proj
and v_proj of all 30 layers, no dropout), B moved away from zero, one forward and backward on a
right-padded batch of 2 with the prompt part and the padding ignored (-100), so fttrain's backward
through the real 30-layer model is checked against PyTorch + PEFT (issue 15). r 1 on two modules
keeps the fixture small (every A, B and their gradients: 2 × 57,600 floats).

  smollm2_lora_reference.safetensors
    input.input_ids, input.attention_mask, input.labels (B, T) I64
    lora.<store name>        the A and B values (store names: model.layers.N.self_attn.q_proj.lora_A.weight)
    grad.<store name>        d loss / d A, B
    output.loss ()

Usage:
  /tmp/refvenv/bin/python scripts/reference/make_smollm2_lora_reference.py GGUF Tests/FTModelTests/Fixtures
"""
import os
import sys

import peft
import torch
import transformers
from peft import LoraConfig, TaskType, get_peft_model
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM


def store_name(name: str) -> str:
    return name.replace("base_model.model.", "", 1).replace(".default.", ".")


def main(gguf_path: str, out_dir: str) -> None:
    torch.manual_seed(2024)
    directory, name = os.path.split(os.path.abspath(gguf_path))
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32)
    model.config._attn_implementation = "eager"
    pm = get_peft_model(model, LoraConfig(task_type=TaskType.CAUSAL_LM, r=1, lora_alpha=2, lora_dropout=0.0,
                                          target_modules=["q_proj", "v_proj"]))
    with torch.no_grad():
        for n, p in pm.named_parameters():
            if ".lora_B." in n:
                p.copy_(0.05 * torch.randn_like(p))
    pm.train()
    B, T, prompt = 2, 24, 8
    input_ids = torch.randint(1000, model.config.vocab_size, (B, T))
    attention_mask = torch.ones(B, T, dtype=torch.long)
    attention_mask[1, 17:] = 0
    input_ids[attention_mask == 0] = 2
    labels = input_ids.clone()
    labels[:, :prompt] = -100
    labels[attention_mask == 0] = -100
    out = pm(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    out.loss.backward()
    tensors = {"input.input_ids": input_ids, "input.attention_mask": attention_mask, "input.labels": labels,
               "output.loss": out.loss.detach().reshape(())}
    for n, p in pm.named_parameters():
        if p.requires_grad:
            tensors["lora." + store_name(n)] = p.detach().contiguous()
            tensors["grad." + store_name(n)] = p.grad.detach().contiguous()
    metadata = {"format_version": "1", "torch": torch.__version__, "transformers": transformers.__version__,
                "peft": peft.__version__, "gguf": name}
    save_file(tensors, os.path.join(out_dir, "smollm2_lora_reference.safetensors"), metadata=metadata)
    print(f"loss {out.loss.item():.6f}; {sum(k.startswith('grad.') for k in tensors)} gradients")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
