#!/usr/bin/env python3
"""Writes the PyTorch reference file for fttrain's encoder tests (design.md §3).

A tiny random BERT (`BertForSequenceClassification`, 2 layers, hidden 32, 4 heads, 3 labels,
dropout off, eager attention) is run on a padded batch; the file holds every parameter, the
inputs, the outputs (last hidden state, pooler output, logits, loss) and the gradient of every
parameter, as one safetensors file:

  <param name>            parameters, Hugging Face names with the `bert.` prefix
  input.input_ids         (B, T) I64, right-padded with 0
  input.token_type_ids    (B, T) I64
  input.attention_mask    (B, T) I64
  input.labels            (B,)   I64
  output.last_hidden_state (B, T, C), output.pooled (B, C), output.logits (B, L), output.loss ()
  grad.<param name>       d loss / d param

`__metadata__` records the format version and the library versions. Bump FORMAT_VERSION when the
layout changes; the Swift test checks it.

Usage (throw-away venv with torch and transformers):
  python3 -m venv /tmp/refvenv && /tmp/refvenv/bin/pip install torch transformers safetensors
  /tmp/refvenv/bin/python scripts/reference/make_bert_reference.py Tests/FTModelTests/Fixtures/bert_tiny_reference.safetensors
"""
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import BertConfig, BertForSequenceClassification

FORMAT_VERSION = "1"


def main(out_path: str) -> None:
    torch.manual_seed(1234)
    config = BertConfig(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=16, type_vocab_size=2,
                        hidden_act="gelu", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                        layer_norm_eps=1e-12, num_labels=3, classifier_dropout=0.0)
    config._attn_implementation = "eager"
    model = BertForSequenceClassification(config).float()
    # Move every parameter away from its initial value so that biases and layer-norm
    # parameters take part in the check (zeros and ones would hide mistakes).
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(0.15 * torch.randn_like(p))
    model.train()  # dropout probabilities are 0, so train mode is deterministic

    B, T = 3, 7
    input_ids = torch.randint(1, config.vocab_size, (B, T))
    attention_mask = torch.ones(B, T, dtype=torch.long)
    attention_mask[1, 5:] = 0
    attention_mask[2, 3:] = 0
    input_ids[attention_mask == 0] = 0
    token_type_ids = torch.zeros(B, T, dtype=torch.long)
    token_type_ids[0, 4:] = 1
    token_type_ids[1, 3:5] = 1
    labels = torch.tensor([2, 0, 1])

    out = model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                labels=labels, output_hidden_states=True)
    # The pooler output is not returned by the classification model; recompute it from the
    # same graph so its values are the ones the classifier saw.
    last = out.hidden_states[-1]
    pooled = model.bert.pooler(last)
    out.loss.backward()

    tensors = {}
    for name, p in model.named_parameters():
        tensors[name] = p.detach().contiguous()
        tensors["grad." + name] = p.grad.detach().contiguous()
    tensors["input.input_ids"] = input_ids
    tensors["input.token_type_ids"] = token_type_ids
    tensors["input.attention_mask"] = attention_mask
    tensors["input.labels"] = labels
    tensors["output.last_hidden_state"] = last.detach().contiguous()
    tensors["output.pooled"] = pooled.detach().contiguous()
    tensors["output.logits"] = out.logits.detach().contiguous()
    tensors["output.loss"] = out.loss.detach().reshape(())
    metadata = {"format_version": FORMAT_VERSION, "torch": torch.__version__,
                "transformers": transformers.__version__,
                "config": config.to_json_string(use_diff=False)}
    save_file(tensors, out_path, metadata=metadata)
    print(f"wrote {len(tensors)} tensors to {out_path}; loss {out.loss.item():.6f}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
