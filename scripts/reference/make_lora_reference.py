#!/usr/bin/env python3
"""Writes the PyTorch + PEFT reference for fttrain's LoRA tests (issue 6, design.md §3).

The tiny random BERT of make_bert_reference.py (`BertForSequenceClassification`, 2 layers,
hidden 32, 4 heads, intermediate 64, 3 labels, dropout off, eager attention) is wrapped by PEFT's
`get_peft_model` with

    LoraConfig(task_type=SEQ_CLS, r=4, lora_alpha=8, lora_dropout=0.0, bias="lora_only",
               target_modules=["query", "value", "dense"])

so LoRA sits on the first and last thirds of fttrain's fused QKV product (not on key) and, by
PEFT's suffix match, on every dense layer: `attention.output.dense`, `intermediate.dense`,
`output.dense` and `bert.pooler.dense`; the biases of the wrapped modules train (key's does not),
and the classifier head is a module to save. Every base parameter and B are moved away from their initial values (B = 0 would leave A
without a gradient). One forward and backward on a padded batch; the outputs:

  <file 1> lora_tiny_reference.safetensors
    bert.* / classifier.*        the base model's parameters (Hugging Face names)
    input.*                      input_ids, token_type_ids, attention_mask, labels (I64)
    output.logits (B, L), output.loss ()
    output.base_logits (B, L)    the same batch through the base model alone (adapter disabled)
    output.rslora_logits (B, L)  the same adapter with use_rslora=True (scaling alpha/sqrt(r))
    grad.<adapter key>           d loss / d every trainable tensor, named as in the adapter file
  <file 2> lora_tiny_adapter/    what PEFT's save_pretrained writes: adapter_config.json and
                                 adapter_model.safetensors (A, B, the trained biases and the head)

`__metadata__` has the format version, library versions, the BERT config and PEFT's
print_trainable_parameters counts.

Usage:
  /tmp/refvenv/bin/python scripts/reference/make_lora_reference.py Tests/FTModelTests/Fixtures
"""
import json
import os
import shutil
import sys
import tempfile

import peft
import torch
import transformers
from peft import LoraConfig, TaskType, get_peft_model
from safetensors.torch import save_file
from transformers import BertConfig, BertForSequenceClassification

FORMAT_VERSION = "1"
TARGETS = ["query", "value", "dense"]


def adapter_key(parameter_name: str) -> str:
    """PEFT's in-memory parameter name → its name in adapter_model.safetensors."""
    return (parameter_name.replace(".lora_A.default.", ".lora_A.")
            .replace(".lora_B.default.", ".lora_B.")
            .replace(".modules_to_save.default.", "."))


def main(out_dir: str) -> None:
    torch.manual_seed(4321)
    config = BertConfig(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=16, type_vocab_size=2,
                        hidden_act="gelu", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                        layer_norm_eps=1e-12, num_labels=3, classifier_dropout=0.0)
    config._attn_implementation = "eager"
    model = BertForSequenceClassification(config).float()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(0.15 * torch.randn_like(p))
    base = {name: p.detach().clone().contiguous() for name, p in model.named_parameters()}

    lora = LoraConfig(task_type=TaskType.SEQ_CLS, r=4, lora_alpha=8, lora_dropout=0.0, bias="lora_only",
                      target_modules=TARGETS)
    pm = get_peft_model(model, lora)
    with torch.no_grad():
        for name, p in pm.named_parameters():
            if ".lora_B." in name:
                p.copy_(0.2 * torch.randn_like(p))  # A keeps PEFT's Kaiming-uniform initialisation
    trainable, total = pm.get_nb_trainable_parameters()
    pm.train()  # dropout probabilities are 0, so train mode is deterministic

    B, T = 3, 7
    input_ids = torch.randint(1, config.vocab_size, (B, T))
    attention_mask = torch.ones(B, T, dtype=torch.long)
    attention_mask[1, 5:] = 0
    attention_mask[2, 3:] = 0
    input_ids[attention_mask == 0] = 0
    token_type_ids = torch.zeros(B, T, dtype=torch.long)
    token_type_ids[0, 4:] = 1
    labels = torch.tensor([1, 0, 2])
    inputs = dict(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)

    out = pm(**inputs, labels=labels)
    out.loss.backward()
    with torch.no_grad(), pm.disable_adapter():
        base_logits = pm(**inputs).logits

    tensors = dict(base)
    for name, p in pm.named_parameters():
        if p.requires_grad:
            tensors["grad." + adapter_key(name)] = p.grad.detach().contiguous()
    tensors["input.input_ids"] = input_ids
    tensors["input.token_type_ids"] = token_type_ids
    tensors["input.attention_mask"] = attention_mask
    tensors["input.labels"] = labels
    tensors["output.logits"] = out.logits.detach().contiguous()
    tensors["output.loss"] = out.loss.detach().reshape(())
    tensors["output.base_logits"] = base_logits.detach().contiguous()

    adapter_dir = os.path.join(out_dir, "lora_tiny_adapter")
    shutil.rmtree(adapter_dir, ignore_errors=True)
    pm.save_pretrained(adapter_dir)
    readme = os.path.join(adapter_dir, "README.md")
    if os.path.exists(readme):
        os.remove(readme)  # the model card template is not part of the format

    # The same adapter with rsLoRA's scaling, reloaded from the saved files.
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(adapter_dir, "adapter_config.json")) as f:
            cfg = json.load(f)
        cfg["use_rslora"] = True
        shutil.copy(os.path.join(adapter_dir, "adapter_model.safetensors"), tmp)
        with open(os.path.join(tmp, "adapter_config.json"), "w") as f:
            json.dump(cfg, f)
        fresh = BertForSequenceClassification(config).float()
        fresh.load_state_dict({k: v for k, v in base.items()}, strict=False)
        rs = peft.PeftModel.from_pretrained(fresh, tmp)
        rs.eval()
        with torch.no_grad():
            tensors["output.rslora_logits"] = rs(**inputs).logits.contiguous()

    metadata = {"format_version": FORMAT_VERSION, "torch": torch.__version__,
                "transformers": transformers.__version__, "peft": peft.__version__,
                "config": config.to_json_string(use_diff=False),
                "trainable_params": str(trainable), "all_params": str(total)}
    save_file(tensors, os.path.join(out_dir, "lora_tiny_reference.safetensors"), metadata=metadata)
    print(f"loss {out.loss.item():.6f}; trainable {trainable} of {total}; "
          f"{sum(k.startswith('grad.') for k in tensors)} gradients; adapter in {adapter_dir}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
