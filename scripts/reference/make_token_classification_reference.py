#!/usr/bin/env python3
"""Writes the PyTorch reference file for fttrain's token-classification head (design.md §3).

A tiny random `BertForTokenClassification` (vocab 97, hidden 32, 2 layers, 4 heads, intermediate
37 — odd on purpose —, 16 positions, 5 labels, every dropout 0, eager attention; no pooler, as
transformers builds it: `add_pooling_layer=False`) is run in train mode on a padded batch whose
labels are −100 on [CLS], [SEP], padding and some continuation sub-tokens (the first-sub-token
alignment); the loss is transformers' own (`CrossEntropyLoss` over the labels that are not −100).
The file holds, in the layout of make_bert_reference.py:

  <param name>             parameters, Hugging Face names (`bert.` prefix, `classifier.*`)
  input.input_ids          (B, T) I64, right-padded with 0
  input.token_type_ids     (B, T) I64
  input.attention_mask     (B, T) I64
  input.labels             (B, T) I64, −100 where no loss is taken
  output.last_hidden_state (B, T, C), output.logits (B, T, L), output.loss ()
  grad.<param name>        d loss / d param, for every parameter

`__metadata__`: format version, library versions, the config (`to_json_string(use_diff=False)`,
with `architectures`, `id2label`). Bump FORMAT_VERSION when the layout changes; the Swift test
(`TokenClassificationReferenceTests`) checks it.

With --distilbert the model is a `DistilBertForTokenClassification` of the same sizes (dim 32,
hidden_dim 37, no token types, no pre_classifier: its token head is dropout(`dropout`) and
`classifier`); `input.token_type_ids` is then absent.

Usage:
  /tmp/refvenv/bin/python scripts/reference/make_token_classification_reference.py \
      Tests/FTModelTests/Fixtures/bert_token_tiny_reference.safetensors
  /tmp/refvenv/bin/python scripts/reference/make_token_classification_reference.py --distilbert \
      Tests/FTModelTests/Fixtures/distilbert_token_tiny_reference.safetensors
"""
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import BertConfig, BertForTokenClassification, DistilBertConfig, DistilBertForTokenClassification

FORMAT_VERSION = "1"
LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def main(out_path: str, distilbert: bool) -> None:
    torch.manual_seed(4322 if distilbert else 4321)
    labels_ = dict(id2label=dict(enumerate(LABELS)), label2id={l: i for i, l in enumerate(LABELS)})
    if distilbert:
        config = DistilBertConfig(vocab_size=97, dim=32, n_layers=2, n_heads=4, hidden_dim=37, max_position_embeddings=16,
                                  activation="gelu", dropout=0.0, attention_dropout=0.0, seq_classif_dropout=0.0,
                                  pad_token_id=0, architectures=["DistilBertForTokenClassification"], **labels_)
    else:
        config = BertConfig(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=37, max_position_embeddings=16, type_vocab_size=2,
                        hidden_act="gelu", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                        layer_norm_eps=1e-12, classifier_dropout=0.0,
                        architectures=["BertForTokenClassification"], **labels_)
    config._attn_implementation = "eager"
    if distilbert:
        model = DistilBertForTokenClassification(config).float()
    else:
        model = BertForTokenClassification(config).float()
        assert model.bert.pooler is None, "BertForTokenClassification has no pooler"
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
    input_ids = torch.randint(3, config.vocab_size, (B, T))
    attention_mask = torch.ones(B, T, dtype=torch.long)
    attention_mask[1, 5:] = 0
    attention_mask[2, 3:] = 0
    input_ids[attention_mask == 0] = 0
    token_type_ids = torch.zeros(B, T, dtype=torch.long)
    token_type_ids[0, 4:] = 1
    labels = torch.randint(0, len(LABELS), (B, T))
    labels[attention_mask == 0] = -100
    labels[:, 0] = -100  # [CLS]
    labels[0, 6] = labels[1, 4] = labels[2, 2] = -100  # [SEP]
    labels[0, 3] = -100  # a continuation sub-token
    types = {} if distilbert else {"token_type_ids": token_type_ids}
    out = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels, output_hidden_states=True, **types)
    # The loss fttrain reproduces: mean cross-entropy over the positions whose label is not −100.
    mask = labels != -100
    mine = torch.nn.functional.cross_entropy(out.logits[mask], labels[mask])
    assert torch.allclose(mine, out.loss), (mine, out.loss)
    out.loss.backward()

    tensors = {}
    for name, p in model.named_parameters():
        tensors[name] = p.detach().contiguous()
        if p.grad is not None:
            tensors["grad." + name] = p.grad.detach().contiguous()
    tensors["input.input_ids"] = input_ids
    if not distilbert:
        tensors["input.token_type_ids"] = token_type_ids
    tensors["input.attention_mask"] = attention_mask
    tensors["input.labels"] = labels
    tensors["output.last_hidden_state"] = out.hidden_states[-1].detach().contiguous()
    tensors["output.logits"] = out.logits.detach().contiguous()
    tensors["output.loss"] = out.loss.detach().reshape(())
    metadata = {"format_version": FORMAT_VERSION, "torch": torch.__version__,
                "transformers": transformers.__version__, "config": config.to_json_string(use_diff=False)}
    save_file(tensors, out_path, metadata=metadata)
    print(f"wrote {len(tensors)} tensors to {out_path}; loss {out.loss.item():.6f}; targets {int(mask.sum())}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--distilbert"]
    main(args[0], "--distilbert" in sys.argv[1:])
