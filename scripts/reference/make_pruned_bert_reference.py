#!/usr/bin/env python3
"""Writes the PyTorch reference of fttrain's head pruning (Michel et al. 2019) and per-layer head
counts (`pruned_heads`), for Tests/FTModelTests/PrunedHeadsReferenceTests.swift.

A tiny random BERT (`BertForSequenceClassification`, 2 layers, hidden 32, 4 heads of 8, 3 labels,
dropout 0, eager attention), as make_bert_reference.py builds it, on a padded batch:

1. the unpruned model's head-mask gradient: `head_mask` (layers, heads) of ones, requires_grad;
   the loss's gradient with respect to it (`output.head_mask_grad`) — Michel et al.'s ∂L/∂ξ;
2. `model.prune_heads(PRUNED)` (transformers' own pruning), then the pruned model's logits, loss
   and the gradient of every parameter; the pruned model is written with `save_pretrained`
   into the fixture directory (config.json with `pruned_heads`, model.safetensors), which
   fttrain must load as it is.

Outputs:
  Tests/FTModelTests/Fixtures/bert_tiny_pruned/{config.json, model.safetensors}
  Tests/FTModelTests/Fixtures/bert_tiny_pruned_reference.safetensors:
    unpruned.<param>        the unpruned model's parameters (HF names)
    input.*                 (B, T) I64 ids, token types, attention mask; labels (B,)
    output.head_mask_grad   (layers, heads) of the unpruned model
    output.masked_logits    (B, L) of the unpruned model with head_mask 0 at PRUNED, 1 elsewhere
    output.logits, output.loss, grad.<param>   of the pruned model

Needs transformers 4.x: transformers 5 removed `prune_heads`, `head_mask` and `pruned_heads`
(its BertModel ignores the key and fails on the smaller tensors). With the project's venv:
  /tmp/refvenv/bin/pip install --target /tmp/prune_tf4 "transformers>=4.50,<5"
  PYTHONPATH=/tmp/prune_tf4 /tmp/refvenv/bin/python scripts/reference/make_pruned_bert_reference.py Tests/FTModelTests/Fixtures
"""
import json
import os
import sys

import torch
import transformers

if int(transformers.__version__.split(".")[0]) >= 5:
    sys.exit(f"transformers {transformers.__version__} has no prune_heads/head_mask: run with transformers 4.x (see the docstring)")
from safetensors.torch import save_file
from transformers import BertConfig, BertForSequenceClassification

FORMAT_VERSION = "1"
PRUNED = {0: [1, 3], 1: [2]}


def main(fixtures: str) -> None:
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
                p.copy_(0.3 * torch.randn_like(p))
    model.eval()

    B, T = 3, 7
    input_ids = torch.randint(1, config.vocab_size, (B, T))
    attention_mask = torch.ones(B, T, dtype=torch.long)
    attention_mask[1, 5:] = 0
    attention_mask[2, 3:] = 0
    input_ids[attention_mask == 0] = 0
    token_type_ids = torch.zeros(B, T, dtype=torch.long)
    token_type_ids[0, 4:] = 1
    labels = torch.tensor([2, 0, 1])
    inputs = dict(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)

    tensors = {}
    for name, p in model.named_parameters():
        tensors["unpruned." + name] = p.detach().clone().contiguous()
    head_mask = torch.ones(config.num_hidden_layers, config.num_attention_heads, requires_grad=True)
    out = model(**inputs, labels=labels, head_mask=head_mask)
    out.loss.backward()
    tensors["output.head_mask_grad"] = head_mask.grad.detach().clone()
    masked = torch.ones(config.num_hidden_layers, config.num_attention_heads)
    for layer, heads in PRUNED.items():
        masked[layer, heads] = 0
    with torch.no_grad():
        tensors["output.masked_logits"] = model(**inputs, head_mask=masked).logits.contiguous()

    model.zero_grad()
    model.prune_heads(PRUNED)
    out = model(**inputs, labels=labels)
    out.loss.backward()
    for name, p in model.named_parameters():
        tensors["grad." + name] = p.grad.detach().contiguous()
    tensors["input.input_ids"] = input_ids
    tensors["input.token_type_ids"] = token_type_ids
    tensors["input.attention_mask"] = attention_mask
    tensors["input.labels"] = labels
    tensors["output.logits"] = out.logits.detach().contiguous()
    tensors["output.loss"] = out.loss.detach().reshape(())
    print("pruned vs masked logits max diff:",
          (out.logits - tensors["output.masked_logits"]).abs().max().item())

    directory = os.path.join(fixtures, "bert_tiny_pruned")
    model.save_pretrained(directory, safe_serialization=True)
    # Keep the fixture to the two files fttrain reads; no generation config for an encoder.
    for extra in ("generation_config.json",):
        if os.path.exists(os.path.join(directory, extra)):
            os.remove(os.path.join(directory, extra))
    with open(os.path.join(directory, "config.json")) as f:
        saved = json.load(f)
    print("saved pruned_heads:", saved.get("pruned_heads"))
    metadata = {"format_version": FORMAT_VERSION, "torch": torch.__version__,
                "transformers": transformers.__version__, "pruned_heads": json.dumps(PRUNED)}
    path = os.path.join(fixtures, "bert_tiny_pruned_reference.safetensors")
    save_file(tensors, path, metadata=metadata)
    print(f"wrote {len(tensors)} tensors to {path}; loss {out.loss.item():.6f}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
