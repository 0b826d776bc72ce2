#!/usr/bin/env python3
"""Writes the PyTorch reference for fttrain's Llama tests (issue 15, design.md §3).

A tiny random `LlamaForCausalLM` (vocab 97, hidden 32, 2 layers, 4 query heads and 2 key/value
heads (GQA, head dim 8), intermediate 48 SwiGLU, RoPE base 100000, RMSNorm eps 1e-5, tied
embeddings, no biases, eager attention, no dropout) runs one forward and backward on a
right-padded batch of 2 sequences of different lengths, with labels = input ids whose prompt part
and padding are -100 (HF shifts inside: loss = CE(logits[:, :-1], labels[:, 1:]), mean over the
kept targets). Then the same model wrapped by PEFT's LoRA on every linear module of a layer
(CAUSAL_LM, r 4, alpha 8, no dropout) with B moved away from zero.

  llama_tiny/                      config.json + model.safetensors (save_pretrained: tied, so no lm_head)
  llama_tiny_reference.safetensors
    input.input_ids, input.attention_mask, input.labels (I64)
    output.logits (B, T, V), output.loss ()
    grad.<name>                    d loss / d every parameter (state_dict names)
    generate.prompt (P), generate.ids (P + N)   greedy `generate(do_sample=False)` of one prompt
  llama_lora_tiny_reference.safetensors
    output.logits, output.loss; grad.<adapter key> (A and B, named as in the adapter file)
  llama_lora_tiny_adapter/         PEFT's save_pretrained: adapter_config.json, adapter_model.safetensors

Usage:
  /tmp/refvenv/bin/python scripts/reference/make_llama_reference.py Tests/FTModelTests/Fixtures
"""
import os
import shutil
import sys

import peft
import torch
import transformers
from peft import LoraConfig, TaskType, get_peft_model
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM

FORMAT_VERSION = "1"
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def adapter_key(parameter_name: str) -> str:
    return (parameter_name.replace(".lora_A.default.", ".lora_A.")
            .replace(".lora_B.default.", ".lora_B."))


def make_model(config):
    model = LlamaForCausalLM(config).float()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.15 * torch.randn_like(p))
    return model


def main(out_dir: str) -> None:
    torch.manual_seed(1515)
    config = LlamaConfig(vocab_size=97, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                         rms_norm_eps=1e-5, rope_theta=100000.0, tie_word_embeddings=True,
                         hidden_act="silu", attention_bias=False, mlp_bias=False, attention_dropout=0.0,
                         bos_token_id=1, eos_token_id=2, pad_token_id=0)
    config._attn_implementation = "eager"
    model = make_model(config)
    model_dir = os.path.join(out_dir, "llama_tiny")
    shutil.rmtree(model_dir, ignore_errors=True)
    model.save_pretrained(model_dir, safe_serialization=True)
    for extra in ["generation_config.json", "README.md"]:
        path = os.path.join(model_dir, extra)
        if os.path.exists(path):
            os.remove(path)
    base = {k: v.detach().clone() for k, v in model.state_dict().items()}

    B, T, prompt = 2, 9, 3
    input_ids = torch.randint(3, config.vocab_size, (B, T))
    attention_mask = torch.ones(B, T, dtype=torch.long)
    attention_mask[1, 6:] = 0
    input_ids[attention_mask == 0] = 0
    labels = input_ids.clone()
    labels[:, :prompt] = -100
    labels[attention_mask == 0] = -100
    inputs = dict(input_ids=input_ids, attention_mask=attention_mask)

    model.train()
    out = model(**inputs, labels=labels)
    out.loss.backward()
    tensors = {"input.input_ids": input_ids, "input.attention_mask": attention_mask, "input.labels": labels,
               "output.logits": out.logits.detach().contiguous(), "output.loss": out.loss.detach().reshape(())}
    for name, p in model.named_parameters():
        tensors["grad." + name] = p.grad.detach().contiguous()

    model.eval()
    gen_prompt = torch.tensor([[5, 17, 42, 8, 77]])
    with torch.no_grad():
        generated = model.generate(gen_prompt, attention_mask=torch.ones_like(gen_prompt), max_new_tokens=10,
                                   do_sample=False, eos_token_id=None, pad_token_id=0)
    tensors["generate.prompt"] = gen_prompt[0].contiguous()
    tensors["generate.ids"] = generated[0].contiguous()
    metadata = {"format_version": FORMAT_VERSION, "torch": torch.__version__,
                "transformers": transformers.__version__, "config": config.to_json_string(use_diff=False)}
    save_file(tensors, os.path.join(out_dir, "llama_tiny_reference.safetensors"), metadata=metadata)
    print(f"plain: loss {out.loss.item():.6f}, generated {generated[0].tolist()}")

    # LoRA on every linear module of a layer, from the same base weights.
    fresh = LlamaForCausalLM(config).float()
    fresh.load_state_dict(base)
    lora = LoraConfig(task_type=TaskType.CAUSAL_LM, r=4, lora_alpha=8, lora_dropout=0.0, target_modules=TARGETS)
    pm = get_peft_model(fresh, lora)
    with torch.no_grad():
        for name, p in pm.named_parameters():
            if ".lora_B." in name:
                p.copy_(0.2 * torch.randn_like(p))
    trainable, total = pm.get_nb_trainable_parameters()
    pm.train()
    out = pm(**inputs, labels=labels)
    out.loss.backward()
    lt = {"output.logits": out.logits.detach().contiguous(), "output.loss": out.loss.detach().reshape(())}
    for name, p in pm.named_parameters():
        if p.requires_grad:
            lt["grad." + adapter_key(name)] = p.grad.detach().contiguous()
    adapter_dir = os.path.join(out_dir, "llama_lora_tiny_adapter")
    shutil.rmtree(adapter_dir, ignore_errors=True)
    pm.save_pretrained(adapter_dir)
    readme = os.path.join(adapter_dir, "README.md")
    if os.path.exists(readme):
        os.remove(readme)
    metadata.update({"peft": peft.__version__, "trainable_params": str(trainable), "all_params": str(total)})
    save_file(lt, os.path.join(out_dir, "llama_lora_tiny_reference.safetensors"), metadata=metadata)
    print(f"lora: loss {out.loss.item():.6f}; trainable {trainable} of {total}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
