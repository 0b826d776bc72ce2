#!/usr/bin/env python3
"""Writes the PyTorch reference file for fttrain's extractive-QA head (design.md §3).

A tiny random `BertForQuestionAnswering` (vocab 97, hidden 32, 2 layers, 4 heads, intermediate 37,
16 positions, every dropout 0, eager attention; no pooler, as transformers builds it:
`add_pooling_layer=False`; `qa_outputs` Linear(32, 2)) is run in train mode on a padded batch of
question/context pairs with start and end positions — one window with the answer at [CLS] (0, 0),
as run_qa labels a window without the answer, and one single-token answer. The loss is
transformers' own: (CE(start_logits, start) + CE(end_logits, end)) / 2, softmax over all T
positions. The file holds, in the layout of make_bert_reference.py:

  <param name>             parameters, Hugging Face names (`bert.` prefix, `qa_outputs.*`)
  input.input_ids          (B, T) I64, right-padded with 0
  input.token_type_ids     (B, T) I64 (0 question, 1 context)
  input.attention_mask     (B, T) I64
  input.start_positions    (B,) I64
  input.end_positions      (B,) I64
  output.last_hidden_state (B, T, C), output.logits (B, T, 2) (start, end channels), output.loss ()
  grad.<param name>        d loss / d param, for every parameter

With --distilbert the model is a `DistilBertForQuestionAnswering` (dim 32, hidden_dim 37, no token
types, `qa_dropout` 0); `input.token_type_ids` is then absent.

Usage:
  /tmp/refvenv/bin/python scripts/reference/make_qa_reference.py Tests/FTModelTests/Fixtures/bert_qa_tiny_reference.safetensors
  /tmp/refvenv/bin/python scripts/reference/make_qa_reference.py --distilbert \
      Tests/FTModelTests/Fixtures/distilbert_qa_tiny_reference.safetensors
"""
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import BertConfig, BertForQuestionAnswering, DistilBertConfig, DistilBertForQuestionAnswering

FORMAT_VERSION = "1"


def main(out_path: str, distilbert: bool) -> None:
    torch.manual_seed(5322 if distilbert else 5321)
    if distilbert:
        config = DistilBertConfig(vocab_size=97, dim=32, n_layers=2, n_heads=4, hidden_dim=37, max_position_embeddings=16,
                                  activation="gelu", dropout=0.0, attention_dropout=0.0, qa_dropout=0.0,
                                  pad_token_id=0, architectures=["DistilBertForQuestionAnswering"])
        config._attn_implementation = "eager"
        model = DistilBertForQuestionAnswering(config).float()
    else:
        config = BertConfig(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                            intermediate_size=37, max_position_embeddings=16, type_vocab_size=2,
                            hidden_act="gelu", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                            layer_norm_eps=1e-12, architectures=["BertForQuestionAnswering"])
        config._attn_implementation = "eager"
        model = BertForQuestionAnswering(config).float()
        assert model.bert.pooler is None, "BertForQuestionAnswering has no pooler"
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(0.15 * torch.randn_like(p))
    model.train()  # dropout probabilities are 0, so train mode is deterministic

    B, T = 3, 9
    input_ids = torch.randint(3, config.vocab_size, (B, T))
    attention_mask = torch.ones(B, T, dtype=torch.long)
    attention_mask[1, 7:] = 0
    attention_mask[2, 5:] = 0
    input_ids[attention_mask == 0] = 0
    input_ids[:, 0] = 1  # [CLS]
    token_type_ids = torch.zeros(B, T, dtype=torch.long)
    token_type_ids[0, 3:] = 1
    token_type_ids[1, 4:7] = 1
    token_type_ids[2, 3:5] = 1
    start_positions = torch.tensor([4, 0, 3])  # row 1: no answer in the window ([CLS])
    end_positions = torch.tensor([6, 0, 3])  # row 2: a one-token answer
    types = {} if distilbert else {"token_type_ids": token_type_ids}
    out = model(input_ids=input_ids, attention_mask=attention_mask, start_positions=start_positions,
                end_positions=end_positions, output_hidden_states=True, **types)
    logits = torch.stack([out.start_logits, out.end_logits], dim=-1)  # (B, T, 2), qa_outputs' own layout
    mine = (torch.nn.functional.cross_entropy(out.start_logits, start_positions)
            + torch.nn.functional.cross_entropy(out.end_logits, end_positions)) / 2
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
    tensors["input.start_positions"] = start_positions
    tensors["input.end_positions"] = end_positions
    tensors["output.last_hidden_state"] = out.hidden_states[-1].detach().contiguous()
    tensors["output.logits"] = logits.detach().contiguous()
    tensors["output.loss"] = out.loss.detach().reshape(())
    metadata = {"format_version": FORMAT_VERSION, "torch": torch.__version__,
                "transformers": transformers.__version__, "config": config.to_json_string(use_diff=False)}
    save_file(tensors, out_path, metadata=metadata)
    print(f"wrote {len(tensors)} tensors to {out_path}; loss {out.loss.item():.6f}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--distilbert"]
    main(args[0], "--distilbert" in sys.argv[1:])
