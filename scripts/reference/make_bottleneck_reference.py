#!/usr/bin/env python3
"""Writes the PyTorch reference for fttrain's bottleneck adapters (issue 6).

The tiny random BERT of make_bert_reference.py (2 layers, hidden 32, 3 labels, dropout off) gets
in every layer, on the feed-forward output before its residual connection and LayerNorm,

    h <- h + up(relu(down(h)))        down: Linear(32, 8), up: Linear(8, 32)   (reduction factor 4)

(Pfeiffer's placement), with every adapter tensor random so that all of them take part. One
forward and backward on a padded batch; the file holds the base parameters (Hugging Face names),
the adapter tensors under fttrain's names with the `bert.` prefix
(`bert.encoder.layer.0.output.adapter.down.weight`), the inputs, the logits and loss, and the
gradient of every adapter tensor and of the head (`grad.<name>`).

Usage:
  /tmp/refvenv/bin/python scripts/reference/make_bottleneck_reference.py Tests/FTModelTests/Fixtures/bottleneck_tiny_reference.safetensors
"""
import sys

import torch
import torch.nn as nn
import transformers
from safetensors.torch import save_file
from transformers import BertConfig, BertForSequenceClassification

FORMAT_VERSION = "1"


def main(out_path: str) -> None:
    torch.manual_seed(2718)
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
    tensors = {name: p.detach().clone().contiguous() for name, p in model.named_parameters()}
    for p in model.parameters():
        p.requires_grad = False
    for p in model.classifier.parameters():
        p.requires_grad = True

    adapters = {}
    for l, layer in enumerate(model.bert.encoder.layer):
        down, up = nn.Linear(32, 8), nn.Linear(8, 32)
        with torch.no_grad():
            for p in list(down.parameters()) + list(up.parameters()):
                p.copy_(0.3 * torch.randn_like(p))
        prefix = f"bert.encoder.layer.{l}.output.adapter."
        adapters.update({prefix + "down.weight": down.weight, prefix + "down.bias": down.bias,
                         prefix + "up.weight": up.weight, prefix + "up.bias": up.bias})
        out = layer.output

        def forward(hidden_states, input_tensor, out=out, down=down, up=up):
            h = out.dropout(out.dense(hidden_states))
            h = h + up(torch.relu(down(h)))
            return out.LayerNorm(h + input_tensor)
        out.forward = forward
    model.train()

    B, T = 3, 7
    input_ids = torch.randint(1, config.vocab_size, (B, T))
    attention_mask = torch.ones(B, T, dtype=torch.long)
    attention_mask[1, 4:] = 0
    attention_mask[2, 2:] = 0
    input_ids[attention_mask == 0] = 0
    token_type_ids = torch.zeros(B, T, dtype=torch.long)
    labels = torch.tensor([0, 2, 1])
    result = model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, labels=labels)
    result.loss.backward()

    for name, p in adapters.items():
        tensors[name] = p.detach().contiguous()
        tensors["grad." + name] = p.grad.detach().contiguous()
    for name, p in model.classifier.named_parameters():
        tensors["grad.classifier." + name] = p.grad.detach().contiguous()
    tensors["input.input_ids"] = input_ids
    tensors["input.token_type_ids"] = token_type_ids
    tensors["input.attention_mask"] = attention_mask
    tensors["input.labels"] = labels
    tensors["output.logits"] = result.logits.detach().contiguous()
    tensors["output.loss"] = result.loss.detach().reshape(())
    metadata = {"format_version": FORMAT_VERSION, "torch": torch.__version__, "transformers": transformers.__version__,
                "config": config.to_json_string(use_diff=False), "reduction_factor": "4"}
    save_file(tensors, out_path, metadata=metadata)
    print(f"wrote {len(tensors)} tensors to {out_path}; loss {result.loss.item():.6f}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
