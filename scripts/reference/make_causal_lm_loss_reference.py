#!/usr/bin/env python3
"""Generate the causal-LM loss fixture of Tests/FTModelTests/CausalLanguageModelingObjectiveTests.swift.

Usage:
    /tmp/refvenv/bin/python scripts/reference/make_causal_lm_loss_reference.py \
        Tests/FTModelTests/Fixtures/causal_lm_loss_reference.json

Random float32 logits (B=3, T=7, V=11) and labels (B, T) aligned with the inputs, with -100 where
no loss is taken: row 0 has a masked prompt, row 1 is fully masked (no target at all), row 2 has
masked padding at the end and a masked position in the middle. The expected loss and gradient are
what `LlamaForCausalLM(labels=...)` computes (transformers' ForCausalLMLoss): shift, then
`F.cross_entropy(logits[:, :-1], labels[:, 1:], ignore_index=-100)` (mean over the targets), and
autograd's d loss / d logits (zero at the last position and where the shifted label is ignored).
The case "all_masked" (every label -100) records that fttrain returns 0 with a zero gradient where
PyTorch gives NaN. Deterministic (fixed seed).
"""

import json
import sys

import torch
import torch.nn.functional as F


def case(logits, labels):
    logits = logits.clone().requires_grad_(True)
    shift_logits = logits[:, :-1, :].reshape(-1, logits.shape[-1])
    shift_labels = labels[:, 1:].reshape(-1)
    loss = F.cross_entropy(shift_logits.float(), shift_labels, ignore_index=-100, reduction="mean")
    loss.backward()
    return {
        "shape": list(logits.shape),
        "logits": [float(x) for x in logits.detach().flatten()],
        "labels": [int(x) for x in labels.flatten()],
        "loss": float(loss.detach()),
        "dlogits": [float(x) for x in logits.grad.flatten()],
        "targets": int((shift_labels != -100).sum()),
    }


def main():
    out = sys.argv[1]
    g = torch.Generator().manual_seed(20261207)
    B, T, V = 3, 7, 11
    logits = (torch.randn(B, T, V, generator=g) * 3).float()
    labels = torch.randint(0, V, (B, T), generator=g)
    labels[0, :3] = -100  # prompt
    labels[1, :] = -100  # no target at all
    labels[2, 3] = -100
    labels[2, 5:] = -100  # padding
    masked = case(logits, labels)
    # Large logits: the max-subtracted log-sum-exp must not overflow.
    big = case(logits * 40, labels)
    result = {"masked": masked, "large_logits": big,
              "versions": {"torch": torch.__version__}}
    with open(out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
