#!/usr/bin/env python3
"""Writes the PyTorch reference files for fttrain's regression and multi-label heads (design.md §3).

A tiny random `BertForSequenceClassification` (vocab 97, hidden 32, 2 layers, 4 heads, intermediate
37, 16 positions, every dropout 0, eager attention) with transformers' `problem_type`:

  regression                  num_labels 1, float labels; transformers' loss is
                              MSELoss()(logits.squeeze(), labels.squeeze())
  regression, 3 outputs       num_labels 3, a list of 3 floats per row; transformers' loss is
                              MSELoss()(logits, labels), the mean over all B·3 entries
  multi_label_classification  num_labels 4, multi-hot float labels (rows with none, one and
                              several labels); transformers' loss is BCEWithLogitsLoss()(logits, labels)

is run in train mode on a padded batch; the loss is transformers' own, checked against the formula
above. Each file holds, in the layout of make_bert_reference.py:

  <param name>             parameters, Hugging Face names (`bert.` prefix, `classifier.*`)
  input.input_ids          (B, T) I64, right-padded with 0
  input.token_type_ids     (B, T) I64
  input.attention_mask     (B, T) I64
  input.labels             (B) F32 (regression), (B, 3) F32 (3-output regression) or (B, L) F32
                           multi-hot (multi-label)
  output.logits (B, L), output.loss ()
  grad.<param name>        d loss / d param, for every parameter

`__metadata__`: format version, library versions, the config (`to_json_string(use_diff=False)`,
with `problem_type`, `architectures`, `id2label`). Bump FORMAT_VERSION when the layout changes;
the Swift test (`ProblemTypeReferenceTests`) checks it.

Usage:
  /tmp/refvenv/bin/python scripts/reference/make_problem_type_reference.py Tests/FTModelTests/Fixtures
"""
import os
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import BertConfig, BertForSequenceClassification

FORMAT_VERSION = "1"


def build(problem_type: str, labels: list, seed: int):
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=37, max_position_embeddings=16, type_vocab_size=2,
                        hidden_act="gelu", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                        layer_norm_eps=1e-12, classifier_dropout=0.0, problem_type=problem_type,
                        architectures=["BertForSequenceClassification"],
                        id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})
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
    model.train()  # dropout probabilities are 0, so train mode is deterministic
    return config, model


def write(out_path: str, problem_type: str, labels: list, seed: int) -> None:
    config, model = build(problem_type, labels, seed)
    B, T, L = 4, 7, len(labels)
    input_ids = torch.randint(3, config.vocab_size, (B, T))
    attention_mask = torch.ones(B, T, dtype=torch.long)
    attention_mask[1, 5:] = 0
    attention_mask[3, 3:] = 0
    input_ids[attention_mask == 0] = 0
    token_type_ids = torch.zeros(B, T, dtype=torch.long)
    token_type_ids[0, 4:] = 1
    if problem_type == "regression" and L == 1:
        targets = torch.tensor([0.25, -1.5, 3.0, 0.7], dtype=torch.float32)
    elif problem_type == "regression":
        targets = torch.tensor([[0.25, -1.5, 3.0], [0.7, 0.0, -2.25], [1.5, 2.5, 0.125], [-0.5, 4.0, 1.0]],
                               dtype=torch.float32)
    else:
        targets = torch.tensor([[1, 0, 0, 1], [0, 0, 0, 0], [0, 1, 0, 0], [1, 1, 1, 0]], dtype=torch.float32)
    out = model(input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask, labels=targets)
    if problem_type == "regression" and L == 1:
        mine = torch.nn.functional.mse_loss(out.logits.squeeze(), targets.squeeze())
    elif problem_type == "regression":
        mine = torch.nn.functional.mse_loss(out.logits, targets)
    else:
        mine = torch.nn.functional.binary_cross_entropy_with_logits(out.logits, targets)
    assert torch.allclose(mine, out.loss), (mine, out.loss)
    out.loss.backward()

    tensors = {}
    for name, p in model.named_parameters():
        tensors[name] = p.detach().contiguous()
        if p.grad is not None:
            tensors["grad." + name] = p.grad.detach().contiguous()
    tensors["input.input_ids"] = input_ids
    tensors["input.token_type_ids"] = token_type_ids
    tensors["input.attention_mask"] = attention_mask
    tensors["input.labels"] = targets.contiguous()
    tensors["output.logits"] = out.logits.detach().contiguous()
    tensors["output.loss"] = out.loss.detach().reshape(())
    metadata = {"format_version": FORMAT_VERSION, "torch": torch.__version__,
                "transformers": transformers.__version__, "config": config.to_json_string(use_diff=False)}
    save_file(tensors, out_path, metadata=metadata)
    print(f"wrote {len(tensors)} tensors to {out_path}; {problem_type} loss {out.loss.item():.6f}")


if __name__ == "__main__":
    directory = sys.argv[1]
    write(os.path.join(directory, "bert_regression_tiny_reference.safetensors"), "regression", ["LABEL_0"], 4401)
    write(os.path.join(directory, "bert_regression3_tiny_reference.safetensors"), "regression",
          ["valence", "arousal", "dominance"], 4403)
    write(os.path.join(directory, "bert_multilabel_tiny_reference.safetensors"), "multi_label_classification",
          ["anger", "joy", "sadness", "surprise"], 4402)
