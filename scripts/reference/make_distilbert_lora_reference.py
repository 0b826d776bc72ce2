#!/usr/bin/env python3
"""Writes the PyTorch + PEFT reference for fttrain's LoRA tests on DistilBERT (design.md §3).

The tiny random DistilBERT of make_distilbert_reference.py (`DistilBertForSequenceClassification`,
vocab 99, dim 32, 2 layers, 4 heads, hidden_dim 37, 40 learned positions, 3 labels, GELU, dropout
off, eager attention) is wrapped by PEFT's `get_peft_model` with

    LoraConfig(task_type=SEQ_CLS, r=4, lora_alpha=8, target_modules=["q_lin", "v_lin"],
               lora_dropout=0.0, bias="none")

so LoRA sits on the query and value projections (not k_lin, out_lin or the FFN) and no bias
trains. SEQ_CLS adds PEFT's default `modules_to_save` ["classifier", "score"], and PEFT (0.21)
matches those names by a bare suffix, `module_name.endswith("classifier")`, with no dot (unlike
target_modules, matched as `endswith("." + name)`): so BOTH `classifier` and `pre_classifier`
(the head's dim → dim ReLU layer) are wrapped, train in full and are written to the adapter file,
although adapter_config.json lists only "classifier" and "score". The script asserts that.
Every base parameter and B are moved away from
their initial values (B = 0 would leave A without a gradient). One forward and backward on a
padded batch; the outputs, in the layout of make_lora_reference.py:

  <file 1> OUT (e.g. distilbert_lora_tiny_reference.safetensors)
    distilbert.* / pre_classifier.* / classifier.*   the base model's parameters (HF names)
    input.input_ids, input.attention_mask, input.labels   (I64)
    output.logits (B, L), output.loss ()
    output.base_logits (B, L)    the same batch through the base model alone (adapter disabled)
    grad.<adapter key>           d loss / d every trainable tensor, named as in the adapter file
  <file 2> <OUT without "_reference.safetensors">_adapter/   (e.g. distilbert_lora_tiny_adapter/)
    what PEFT's save_pretrained writes: adapter_config.json and adapter_model.safetensors
    (A, B, and pre_classifier.* and classifier.* as modules to save)

`__metadata__` has the format version, library versions, the DistilBERT config, PEFT's
get_nb_trainable_parameters counts (`trainable_params`, `all_params`), the line
print_trainable_parameters prints (`trainable_line`), the config's modules_to_save (JSON list) and
the modules PEFT actually wrapped as modules to save (`wrapped_modules_to_save`, JSON list).

Usage:
  /tmp/refvenv/bin/python scripts/reference/make_distilbert_lora_reference.py Tests/FTModelTests/Fixtures/distilbert_lora_tiny_reference.safetensors
"""
import contextlib
import io
import json
import os
import shutil
import sys

import peft
import torch
import transformers
from peft import LoraConfig, TaskType, get_peft_model
from safetensors.torch import save_file
from transformers import DistilBertForSequenceClassification

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_distilbert_reference import padded_batch, randomise, tiny_config  # noqa: E402

FORMAT_VERSION = "1"
TARGETS = ["q_lin", "v_lin"]


def adapter_key(parameter_name: str) -> str:
    """PEFT's in-memory parameter name → its name in adapter_model.safetensors."""
    return (parameter_name.replace(".lora_A.default.", ".lora_A.")
            .replace(".lora_B.default.", ".lora_B.")
            .replace(".modules_to_save.default.", "."))


def adapter_directory(out_path: str) -> str:
    stem = os.path.basename(out_path)
    for suffix in (".safetensors", "_reference"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    return os.path.join(os.path.dirname(out_path), stem + "_adapter")


def main(out_path: str) -> None:
    torch.manual_seed(5432)
    config = tiny_config(sinusoidal=False)
    model = DistilBertForSequenceClassification(config).float()
    randomise(model)
    base = {name: p.detach().clone().contiguous() for name, p in model.named_parameters()}

    lora = LoraConfig(task_type=TaskType.SEQ_CLS, r=4, lora_alpha=8, target_modules=TARGETS,
                      lora_dropout=0.0, bias="none")
    pm = get_peft_model(model, lora)
    with torch.no_grad():
        for name, p in pm.named_parameters():
            if ".lora_B." in name:
                p.copy_(0.2 * torch.randn_like(p))  # A keeps PEFT's Kaiming-uniform initialisation
    saved = sorted(n for n, _ in pm.named_modules() if n.endswith(".modules_to_save"))
    assert saved == ["base_model.model.classifier.modules_to_save", "base_model.model.pre_classifier.modules_to_save"], saved
    trainable, total = pm.get_nb_trainable_parameters()
    line = io.StringIO()
    with contextlib.redirect_stdout(line):
        pm.print_trainable_parameters()
    trainable_line = line.getvalue().strip()
    pm.train()  # dropout probabilities are 0, so train mode is deterministic

    input_ids, attention_mask = padded_batch(config.vocab_size)
    labels = torch.tensor([1, 0, 2])
    inputs = dict(input_ids=input_ids, attention_mask=attention_mask)

    out = pm(**inputs, labels=labels)
    out.loss.backward()
    with torch.no_grad(), pm.disable_adapter():
        base_logits = pm(**inputs).logits

    tensors = dict(base)
    trainable_names = []
    for name, p in pm.named_parameters():
        if p.requires_grad:
            trainable_names.append(name)
            tensors["grad." + adapter_key(name)] = p.grad.detach().contiguous()
    tensors["input.input_ids"] = input_ids
    tensors["input.attention_mask"] = attention_mask
    tensors["input.labels"] = labels
    tensors["output.logits"] = out.logits.detach().contiguous()
    tensors["output.loss"] = out.loss.detach().reshape(())
    tensors["output.base_logits"] = base_logits.detach().contiguous()

    adapter_dir = adapter_directory(out_path)
    shutil.rmtree(adapter_dir, ignore_errors=True)
    pm.save_pretrained(adapter_dir)
    readme = os.path.join(adapter_dir, "README.md")
    if os.path.exists(readme):
        os.remove(readme)  # the model card template is not part of the format

    modules_to_save = sorted(pm.peft_config["default"].modules_to_save or [])
    metadata = {"format_version": FORMAT_VERSION, "torch": torch.__version__,
                "transformers": transformers.__version__, "peft": peft.__version__,
                "config": config.to_json_string(use_diff=False),
                "trainable_params": str(trainable), "all_params": str(total),
                "trainable_line": trainable_line, "modules_to_save": json.dumps(modules_to_save),
                "wrapped_modules_to_save": json.dumps([n.split(".")[-2] for n in saved])}
    save_file(tensors, out_path, metadata=metadata)
    print(trainable_line)
    print("trainable tensors: " + ", ".join(trainable_names))
    print(f"loss {out.loss.item():.6f}; {sum(k.startswith('grad.') for k in tensors)} gradients; "
          f"adapter in {adapter_dir}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
