#!/usr/bin/env python3
"""Writes the PyTorch reference file for fttrain's DistilBERT encoder tests (design.md §3).

A tiny random DistilBERT (`DistilBertForSequenceClassification`: vocab 99, dim 32, 2 layers,
4 heads, hidden_dim 37 — odd on purpose, so no kernel may assume a multiple of 4 or 8 —,
40 positions, 3 labels, GELU, every dropout 0, eager attention) is run in train mode on a padded
batch; the file holds every parameter, the inputs, the outputs (last hidden state, logits, loss)
and the gradient of every parameter, as one safetensors file, in the layout of
make_bert_reference.py:

  <param name>             parameters, Hugging Face names: `distilbert.` prefix for the encoder,
                           `pre_classifier.*` and `classifier.*` for the head
  input.input_ids          (B, T) I64, right-padded with 0 (DistilBERT has no token types)
  input.attention_mask     (B, T) I64
  input.labels             (B,)   I64
  output.last_hidden_state (B, T, C), output.logits (B, L), output.loss ()
  grad.<param name>        d loss / d param, for every parameter that requires a gradient
                           (word_embeddings has padding_idx = pad_token_id = 0: its row 0 is used
                           in the forward pass, at the padded positions, but its gradient is 0)

With --sinusoidal the model has `sinusoidal_pos_embds=True`: the position table
`distilbert.embeddings.position_embeddings.weight` is then transformers' fixed sinusoid table
(`requires_grad=False`); its values are stored (so a test can compare its own table with them)
and it has no `grad.` entry. In that variant it is the only parameter not moved away from its
initial value. (transformers 5.x leaves that table requires_grad=True, unlike 4.x; this script
freezes it, as 4.x did.)

`__metadata__` records the format version, the library versions and the DistilBERT config as
JSON (`config`, `to_json_string(use_diff=False)`: keys dim, n_layers, n_heads, hidden_dim,
activation, dropout, attention_dropout, seq_classif_dropout, qa_dropout, sinusoidal_pos_embds,
max_position_embeddings, vocab_size, pad_token_id, ...) and `frozen`, a JSON list of the
parameters without a gradient ([] or the sinusoidal table). Bump FORMAT_VERSION when the layout
changes; the Swift test checks it.

Usage (throw-away venv with torch and transformers):
  python3 -m venv /tmp/refvenv && /tmp/refvenv/bin/pip install torch transformers safetensors
  /tmp/refvenv/bin/python scripts/reference/make_distilbert_reference.py Tests/FTModelTests/Fixtures/distilbert_tiny_reference.safetensors
  /tmp/refvenv/bin/python scripts/reference/make_distilbert_reference.py --sinusoidal Tests/FTModelTests/Fixtures/distilbert_tiny_sinusoidal_reference.safetensors
"""
import argparse
import json

import torch
import transformers
from safetensors.torch import save_file
from transformers import DistilBertConfig, DistilBertForSequenceClassification

FORMAT_VERSION = "1"
POSITIONS = "distilbert.embeddings.position_embeddings.weight"


def tiny_config(sinusoidal: bool) -> DistilBertConfig:
    config = DistilBertConfig(vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37,
                              max_position_embeddings=40, activation="gelu", dropout=0.0,
                              attention_dropout=0.0, seq_classif_dropout=0.0, qa_dropout=0.0,
                              sinusoidal_pos_embds=sinusoidal, num_labels=3, pad_token_id=0)
    config._attn_implementation = "eager"
    return config


def sinusoid_table(n_pos: int, dim: int) -> torch.Tensor:
    """transformers' `_create_sinusoidal_embeddings`, written out: angle(pos, j) =
    pos / 10000^(2*(j//2)/dim) in float64; even columns sin, odd columns cos; then float32."""
    pos = torch.arange(n_pos, dtype=torch.float64)[:, None]
    j = torch.arange(dim)
    angle = pos / torch.pow(torch.tensor(10000.0, dtype=torch.float64), (2 * (j // 2)).double() / dim)
    return torch.where(j % 2 == 0, torch.sin(angle), torch.cos(angle))


def randomise(model: torch.nn.Module) -> None:
    """Moves every trainable parameter away from its initial value so that biases and layer-norm
    parameters take part in the check (zeros and ones would hide mistakes). A frozen sinusoidal
    position table keeps its values: they are the thing to reproduce."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not p.requires_grad:
                continue
            if "layer_norm.weight" in name or "LayerNorm.weight" in name:
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(0.15 * torch.randn_like(p))


def written_out_forward(model, input_ids, attention_mask):
    """The semantics fttrain reproduces, written out from the state dict (checked against
    transformers' logits below): embeddings word + position (no token types) → LayerNorm(eps
    1e-12); per layer: scores = (q k^T) * dim_per_head^-0.5 + (0 where the key is kept,
    finfo(float32).min where attention_mask is 0), softmax over keys, out_lin, then post-LN
    sa_layer_norm(attn + x), FFN lin1 → exact (erf) GELU → lin2, output_layer_norm(ffn + h);
    head on token 0: pre_classifier → ReLU → classifier."""
    F = torch.nn.functional
    w = {k: v.detach() for k, v in model.state_dict().items()}
    cfg = model.config
    B, T = input_ids.shape
    H, D = cfg.n_heads, cfg.dim // cfg.n_heads
    x = w["distilbert.embeddings.word_embeddings.weight"][input_ids] + \
        w["distilbert.embeddings.position_embeddings.weight"][:T][None]
    x = F.layer_norm(x, (cfg.dim,), w["distilbert.embeddings.LayerNorm.weight"],
                     w["distilbert.embeddings.LayerNorm.bias"], 1e-12)
    bias = torch.where(attention_mask[:, None, None, :] == 1, 0.0, torch.finfo(torch.float32).min)
    for i in range(cfg.n_layers):
        p = f"distilbert.transformer.layer.{i}."
        lin = lambda h, n: F.linear(h, w[p + n + ".weight"], w[p + n + ".bias"])
        heads = lambda h: h.view(B, T, H, D).transpose(1, 2)
        q, k, v = (heads(lin(x, "attention." + n)) for n in ("q_lin", "k_lin", "v_lin"))
        scores = (q @ k.transpose(2, 3)) * D ** -0.5 + bias
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, cfg.dim)
        h = F.layer_norm(lin(ctx, "attention.out_lin") + x, (cfg.dim,), w[p + "sa_layer_norm.weight"],
                         w[p + "sa_layer_norm.bias"], 1e-12)
        f = lin(F.gelu(lin(h, "ffn.lin1")), "ffn.lin2")
        x = F.layer_norm(f + h, (cfg.dim,), w[p + "output_layer_norm.weight"], w[p + "output_layer_norm.bias"], 1e-12)
    pooled = F.relu(F.linear(x[:, 0], w["pre_classifier.weight"], w["pre_classifier.bias"]))
    return x, F.linear(pooled, w["classifier.weight"], w["classifier.bias"])


def padded_batch(vocab_size: int):
    B, T = 3, 7
    input_ids = torch.randint(1, vocab_size, (B, T))
    attention_mask = torch.ones(B, T, dtype=torch.long)
    attention_mask[1, 5:] = 0
    attention_mask[2, 3:] = 0
    input_ids[attention_mask == 0] = 0
    return input_ids, attention_mask


def main(out_path: str, sinusoidal: bool) -> None:
    torch.manual_seed(2345 if sinusoidal else 1235)
    config = tiny_config(sinusoidal)
    model = DistilBertForSequenceClassification(config).float()
    positions = dict(model.named_parameters())[POSITIONS]
    if sinusoidal:
        # transformers 4.x's create_sinusoidal_embeddings wrote the table into the weight and set
        # its requires_grad=False; 5.x (checked on 5.25) writes a temporary's values with
        # init.copy_, so the weight stays requires_grad=True and would train. The table is
        # meant to be fixed: freeze it as 4.x did.
        positions.requires_grad_(False)
        worst = (positions.double() - sinusoid_table(config.max_position_embeddings, config.dim)).abs().max().item()
        assert worst < 1e-7, f"position table is not the sinusoid formula (off by {worst})"
    randomise(model)
    model.train()  # dropout probabilities are 0, so train mode is deterministic

    input_ids, attention_mask = padded_batch(config.vocab_size)
    labels = torch.tensor([2, 0, 1])
    out = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels, output_hidden_states=True)
    last = out.hidden_states[-1]
    mine_last, mine_logits = written_out_forward(model, input_ids, attention_mask)
    assert torch.allclose(mine_last, last, atol=1e-5, rtol=1e-5), (mine_last - last).abs().max()
    assert torch.allclose(mine_logits, out.logits, atol=1e-5, rtol=1e-5), (mine_logits - out.logits).abs().max()
    out.loss.backward()

    tensors = {}
    for name, p in model.named_parameters():
        tensors[name] = p.detach().contiguous()
        if p.requires_grad:
            tensors["grad." + name] = p.grad.detach().contiguous()
        else:
            assert p.grad is None, name
    tensors["input.input_ids"] = input_ids
    tensors["input.attention_mask"] = attention_mask
    tensors["input.labels"] = labels
    tensors["output.last_hidden_state"] = last.detach().contiguous()
    tensors["output.logits"] = out.logits.detach().contiguous()
    tensors["output.loss"] = out.loss.detach().reshape(())
    metadata = {"format_version": FORMAT_VERSION, "torch": torch.__version__,
                "transformers": transformers.__version__,
                "config": config.to_json_string(use_diff=False),
                "frozen": json.dumps([n for n, p in model.named_parameters() if not p.requires_grad])}
    save_file(tensors, out_path, metadata=metadata)
    print(f"wrote {len(tensors)} tensors to {out_path}; loss {out.loss.item():.6f}; "
          f"{sum(k.startswith('grad.') for k in tensors)} gradients")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="the .safetensors file to write")
    ap.add_argument("--sinusoidal", action="store_true", help="sinusoidal_pos_embds=True (fixed position table)")
    args = ap.parse_args()
    main(args.out, args.sinusoidal)
