#!/usr/bin/env python3
"""Generate the sampling fixture of Tests/FTModelTests/LogitsSamplerTests.swift.

Usage:
    /tmp/refvenv/bin/python scripts/reference/make_sampler_reference.py \
        Tests/FTModelTests/Fixtures/sampler_reference.json

Random float32 logits (V=64, no ties) and, for several (temperature, top_k, top_p) settings, what
Hugging Face's warpers keep, applied in generate()'s order: TemperatureLogitsWarper ->
TopKLogitsWarper -> TopPLogitsWarper (min_tokens_to_keep=1). Recorded per case: the kept token
ids (scores not -inf) and the softmax probabilities of all V tokens after the warpers (0 where
removed), i.e. the distribution torch.multinomial draws from. Deterministic (fixed seed).
"""

import json
import sys

import torch
import transformers
from transformers.generation.logits_process import (
    LogitsProcessorList,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)


def main():
    out = sys.argv[1]
    g = torch.Generator().manual_seed(7)
    V = 64
    logits = (torch.randn(1, V, generator=g) * 2.5).float()
    settings = [
        (1.0, 0, 1.0), (1.0, 5, 1.0), (0.7, 10, 1.0), (1.0, 0, 0.9), (1.3, 0, 0.5),
        (0.8, 20, 0.8), (1.0, 50, 0.95), (2.0, 3, 0.3), (1.0, 0, 0.01), (0.5, 1, 1.0),
    ]
    cases = []
    for temperature, top_k, top_p in settings:
        processors = LogitsProcessorList()
        if temperature != 1.0:
            processors.append(TemperatureLogitsWarper(temperature))
        if top_k:
            processors.append(TopKLogitsWarper(top_k=top_k, min_tokens_to_keep=1))
        if top_p < 1.0:
            processors.append(TopPLogitsWarper(top_p=top_p, min_tokens_to_keep=1))
        scores = processors(torch.zeros(1, 1, dtype=torch.long), logits.clone())
        probabilities = torch.softmax(scores, dim=-1)[0]
        kept = [int(i) for i in torch.nonzero(scores[0] != -float("inf")).flatten()]
        cases.append({
            "temperature": temperature, "top_k": top_k, "top_p": top_p,
            "kept": kept, "probabilities": [float(p) for p in probabilities],
        })
    with open(out, "w") as f:
        json.dump({"logits": [float(x) for x in logits[0]], "cases": cases,
                   "versions": {"torch": torch.__version__, "transformers": transformers.__version__}}, f)


if __name__ == "__main__":
    main()
