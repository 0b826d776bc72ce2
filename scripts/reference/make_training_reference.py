#!/usr/bin/env python3
"""Writes the PyTorch reference files for fttrain's optimizer tests (design.md §3.3).

Two safetensors files go into OUT_DIR (Tests/FTTrainTests/Fixtures/optim):

training_reference.safetensors — eight optimizer steps of a tiny random
`BertForSequenceClassification` (vocab 97, hidden 32, 2 layers, 4 heads, intermediate 64,
max positions 16, 3 labels, dropout 0, eager attention), Hugging Face `Trainer` semantics
computed by hand in PyTorch:

  * AdamW `torch.optim.AdamW(foreach=False)` lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay
    0.01 in the Trainer's two groups (`Trainer.get_decay_parameter_names`: no decay on biases and
    LayerNorm weights);
  * `transformers.get_scheduler("linear", num_warmup_steps=2, num_training_steps=8)`, stepped
    after every optimizer step (the rate of step k is base · λ(k), k = 0..7);
  * gradient accumulation 2 over micro-batches of 4 examples, each padded to its own longest
    sequence (dynamic padding), consumed in order (`train_sampling_strategy="sequential"`);
  * the loss of each micro-batch is the model's own mean cross-entropy, back-propagated
    *without* dividing by the accumulation steps: that is what transformers 5.x's Trainer does for
    this model (its forward takes **kwargs, so `model_accepts_loss_kwargs` is true and the
    Trainer leaves the scaling to a model that does not do it) — the accumulated gradient is the
    sum of the two micro-batch mean gradients;
  * `torch.nn.utils.clip_grad_norm_(max_norm=1.0)` before each step (active on some steps only).

  The script then runs the real `transformers.Trainer` on the same model and data, with
  `optim="adamw_torch"` (the same single-tensor AdamW) and with the default
  `"adamw_torch_fused"`, and asserts that its logged loss, grad_norm and learning_rate and its
  final parameters agree with the hand-written loop: the file is the Trainer's behaviour.

  Tensors:
    <param name>             initial parameters, Hugging Face names with the `bert.` prefix
    final.<param name>       parameters after the 8 steps
    batch.<k>.input_ids      (4, T_k) I64, k = 0..15 in consumption order, right-padded with 0
    batch.<k>.token_type_ids (4, T_k) I64
    batch.<k>.attention_mask (4, T_k) I64
    batch.<k>.labels         (4,)     I64
    step.micro_loss          (8, 2) F32  each micro-batch's mean loss
    step.grad_norm           (8,)   F32  total gradient norm before clipping
    step.lr                  (8,)   F64  learning rate used by the step
    trainer.loss             (8,)   F32  `loss` logged by the real Trainer (logging_steps=1)
    trainer.grad_norm        (8,)   F32  `grad_norm` logged by the real Trainer
  __metadata__: format_version, torch, transformers, config (BertConfig JSON), training (JSON of
  the settings above).

adamw_reference.safetensors — `torch.optim.AdamW` on two plain tensors (`decay`, 100 elements,
weight decay 0.05; `no_decay`, 13 elements, weight decay 0), six steps with given gradients
(including zeros and gradients far below eps) and learning rates (including 0), for
betas (0.9, 0.999) [`main`] and betas (0.3, 0.99) [`b03`, the other branch of torch's lerp]:
    <case>.param.<t>          initial values
    <case>.grad.<t>           (6, n) gradient of each step
    <case>.lr                 (6,) F64
    <case>.fused.param.<t>    (6, n) values after each step, `fused=True` (HF Trainer's default)
    <case>.single.param.<t>   (6, n) values after each step, `foreach=False`
    <case>.fused.exp_avg.<t>, <case>.fused.exp_avg_sq.<t>, and the same for single: final moments
  __metadata__: format_version, versions, cases (JSON: betas, eps, weight decays).

Bump FORMAT_VERSION when a layout changes; the Swift tests check it.

Usage (throw-away venv with torch, transformers, safetensors; accelerate for the Trainer):
  python3 -m venv /tmp/refvenv && /tmp/refvenv/bin/pip install torch transformers safetensors accelerate
  /tmp/refvenv/bin/python scripts/reference/make_training_reference.py Tests/FTTrainTests/Fixtures/optim
"""
import json
import math
import os
import sys
import tempfile

import torch
import transformers
from safetensors.torch import save_file
from transformers import (BertConfig, BertForSequenceClassification, Trainer, TrainerCallback,
                          TrainingArguments, get_scheduler)

FORMAT_VERSION = "1"
STEPS, ACCUMULATION, MICRO_BATCH = 8, 2, 4
LEARNING_RATE, WEIGHT_DECAY, WARMUP_STEPS, MAX_GRAD_NORM = 1e-3, 0.01, 2, 1.0


def make_config() -> BertConfig:
    config = BertConfig(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=16, type_vocab_size=2,
                        hidden_act="gelu", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                        layer_norm_eps=1e-12, num_labels=3, classifier_dropout=0.0)
    config._attn_implementation = "eager"
    return config


def make_model(config: BertConfig) -> BertForSequenceClassification:
    torch.manual_seed(20240611)
    model = BertForSequenceClassification(config).float()
    # Away from HF's init (zeros and ones would hide decay-mask and layer-norm mistakes); the
    # scale makes the summed gradients cross max_norm = 1 on some steps and not on others.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(0.04 * torch.randn_like(p))
    model.train()  # dropout probabilities are 0: deterministic
    return model


def make_examples(config: BertConfig) -> list:
    """STEPS·ACCUMULATION·MICRO_BATCH examples of 3..12 tokens, some with a second segment."""
    g = torch.Generator().manual_seed(7)
    examples = []
    for i in range(STEPS * ACCUMULATION * MICRO_BATCH):
        n = int(torch.randint(3, 13, (1,), generator=g))
        ids = torch.randint(1, config.vocab_size, (n,), generator=g).tolist()
        split = int(torch.randint(2, n + 1, (1,), generator=g))  # tokens from `split` on are segment 1
        types = [0] * split + [1] * (n - split)
        label = int(torch.randint(0, config.num_labels, (1,), generator=g))
        examples.append({"input_ids": ids, "token_type_ids": types, "labels": label})
    return examples


def collate(features: list) -> dict:
    """Pads to the longest sequence of the batch with 0 (DataCollatorWithPadding's rule)."""
    T = max(len(f["input_ids"]) for f in features)
    def pad(key, value=0):
        return torch.tensor([f[key] + [value] * (T - len(f[key])) for f in features], dtype=torch.long)
    return {"input_ids": pad("input_ids"), "token_type_ids": pad("token_type_ids"),
            "attention_mask": torch.tensor([[1] * len(f["input_ids"]) + [0] * (T - len(f["input_ids"]))
                                            for f in features], dtype=torch.long),
            "labels": torch.tensor([f["labels"] for f in features], dtype=torch.long)}


def decay_groups(model):
    # The Trainer's own rule; it is an instance method that reads only its argument.
    decay = set(Trainer.get_decay_parameter_names(None, model))
    named = list(model.named_parameters())
    return [{"params": [p for n, p in named if n in decay], "weight_decay": WEIGHT_DECAY},
            {"params": [p for n, p in named if n not in decay], "weight_decay": 0.0}]


def hand_loop(model, batches):
    optimizer = torch.optim.AdamW(decay_groups(model), lr=LEARNING_RATE, betas=(0.9, 0.999), eps=1e-8,
                                  foreach=False, fused=False)
    scheduler = get_scheduler("linear", optimizer, num_warmup_steps=WARMUP_STEPS, num_training_steps=STEPS)
    micro_losses, norms, lrs = [], [], []
    for step in range(STEPS):
        lrs.append(scheduler.get_last_lr()[0])  # the rate this step uses, λ(step)
        losses = []
        for k in range(ACCUMULATION):
            out = model(**batches[step * ACCUMULATION + k])
            out.loss.backward()  # not divided by ACCUMULATION: transformers 5.x Trainer, see header
            losses.append(out.loss.detach())
        micro_losses.append(torch.stack(losses))
        norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM).detach())
        optimizer.step()
        scheduler.step()
        model.zero_grad()
    return torch.stack(micro_losses), torch.stack(norms), torch.tensor(lrs, dtype=torch.float64)


def real_trainer(model, examples, optim):
    logs = []

    class Capture(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "grad_norm" in logs:
                captured.append(dict(logs))

    captured = logs
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(
            output_dir=tmp, per_device_train_batch_size=MICRO_BATCH, gradient_accumulation_steps=ACCUMULATION,
            max_steps=STEPS, learning_rate=LEARNING_RATE, weight_decay=WEIGHT_DECAY, adam_beta1=0.9,
            adam_beta2=0.999, adam_epsilon=1e-8, lr_scheduler_type="linear", warmup_steps=WARMUP_STEPS,
            max_grad_norm=MAX_GRAD_NORM, logging_steps=1, save_strategy="no", report_to=[], use_cpu=True,
            train_sampling_strategy="sequential", optim=optim, disable_tqdm=True)
        trainer = Trainer(model=model, args=args, train_dataset=examples, data_collator=collate,
                          callbacks=[Capture()])
        trainer.train()
    assert len(logs) == STEPS, logs
    return logs


def training_reference(out_dir: str) -> None:
    config = make_config()
    model = make_model(config)
    examples = make_examples(config)
    batches = [collate(examples[i:i + MICRO_BATCH]) for i in range(0, len(examples), MICRO_BATCH)]

    tensors = {name: p.detach().clone().contiguous() for name, p in model.named_parameters()}
    initial_state = {k: v.clone() for k, v in model.state_dict().items()}
    for k, batch in enumerate(batches):
        for key, value in batch.items():
            tensors[f"batch.{k}.{key}"] = value.contiguous()

    micro_losses, norms, lrs = hand_loop(model, batches)
    for name, p in model.named_parameters():
        tensors["final." + name] = p.detach().clone().contiguous()
    tensors["step.micro_loss"] = micro_losses.float().contiguous()
    tensors["step.grad_norm"] = norms.float().contiguous()
    tensors["step.lr"] = lrs
    clipped = [float(n) > MAX_GRAD_NORM for n in norms]
    assert any(clipped) and not all(clipped), f"clipping must be active on some steps only: {norms.tolist()}"

    # The real Trainer on the same model, data and settings must agree with the loop above.
    for optim in ("adamw_torch", "adamw_torch_fused"):
        twin = BertForSequenceClassification(config).float()
        twin.load_state_dict(initial_state)
        logs = real_trainer(twin, examples, optim)
        trainer_loss = torch.tensor([entry["loss"] for entry in logs], dtype=torch.float32)
        trainer_norm = torch.tensor([float(entry["grad_norm"]) for entry in logs], dtype=torch.float32)
        trainer_lr = [entry["learning_rate"] for entry in logs]
        loss_error = (trainer_loss - micro_losses.sum(dim=1)).abs().max().item()
        norm_error = (trainer_norm - norms).abs().max().item()
        param_error = max((p.detach() - tensors["final." + n]).abs().max().item() for n, p in twin.named_parameters())
        print(f"Trainer(optim={optim}) vs hand loop: loss {loss_error:.3g}, grad_norm {norm_error:.3g}, "
              f"lr equal {trainer_lr == lrs.tolist()}, final parameters max |diff| {param_error:.3g}")
        assert loss_error <= 1e-6 and norm_error <= 1e-6 and trainer_lr == lrs.tolist() and param_error <= 1e-6
        if optim == "adamw_torch":
            assert param_error == 0.0, "the single-tensor Trainer run must be bitwise the hand loop"
            tensors["trainer.loss"] = trainer_loss
            tensors["trainer.grad_norm"] = trainer_norm

    training = {"steps": STEPS, "gradient_accumulation_steps": ACCUMULATION, "micro_batch_size": MICRO_BATCH,
                "learning_rate": LEARNING_RATE, "weight_decay": WEIGHT_DECAY, "warmup_steps": WARMUP_STEPS,
                "lr_scheduler_type": "linear", "max_grad_norm": MAX_GRAD_NORM, "adam_beta1": 0.9,
                "adam_beta2": 0.999, "adam_epsilon": 1e-8, "accumulation_scaling": "sum_of_micro_batch_means"}
    metadata = {"format_version": FORMAT_VERSION, "torch": torch.__version__,
                "transformers": transformers.__version__, "config": config.to_json_string(use_diff=False),
                "training": json.dumps(training)}
    path = os.path.join(out_dir, "training_reference.safetensors")
    save_file(tensors, path, metadata=metadata)
    print(f"wrote {len(tensors)} tensors to {path}; losses {micro_losses.tolist()}; norms {norms.tolist()}")


ADAMW_STEPS = 6


def adamw_case(tensors: dict, case: str, betas: tuple, generator: torch.Generator) -> dict:
    sizes = {"decay": 100, "no_decay": 13}  # 100 = 6·16 + 4: vector body and scalar tail
    decays = {"decay": 0.05, "no_decay": 0.0}
    initial = {t: torch.randn(n, generator=generator) for t, n in sizes.items()}
    grads = {}
    for t, n in sizes.items():
        g = torch.randn(ADAMW_STEPS, n, generator=generator)
        g *= torch.tensor([1.0, 10.0, 0.1, 1.0, 1e-3, 3.0]).unsqueeze(1)  # a different scale each step
        g[:, :5] = 0.0                                                     # never any gradient
        g[:, 5:10] *= 1e-9                                                 # far below eps
        g[3, 10:20] = 0.0                                                  # a gap after some steps
        grads[t] = g
    lrs = torch.tensor([0.0, 5e-3, 1e-2, 1e-2, 7.5e-3, 2.5e-3], dtype=torch.float64)
    for t in sizes:
        tensors[f"{case}.param.{t}"] = initial[t].clone()
        tensors[f"{case}.grad.{t}"] = grads[t].clone()
    tensors[f"{case}.lr"] = lrs
    for mode in ("fused", "single"):
        params = {t: initial[t].clone().requires_grad_(True) for t in sizes}
        groups = [{"params": [params[t]], "weight_decay": decays[t]} for t in sizes]
        kwargs = {"fused": True} if mode == "fused" else {"foreach": False, "fused": False}
        optimizer = torch.optim.AdamW(groups, lr=1.0, betas=betas, eps=1e-8, **kwargs)
        history = {t: [] for t in sizes}
        for s in range(ADAMW_STEPS):
            for group in optimizer.param_groups:
                group["lr"] = float(lrs[s])
            for t in sizes:
                params[t].grad = grads[t][s].clone()
            optimizer.step()
            for t in sizes:
                history[t].append(params[t].detach().clone())
        for t in sizes:
            tensors[f"{case}.{mode}.param.{t}"] = torch.stack(history[t])
            state = optimizer.state[params[t]]
            tensors[f"{case}.{mode}.exp_avg.{t}"] = state["exp_avg"].clone()
            tensors[f"{case}.{mode}.exp_avg_sq.{t}"] = state["exp_avg_sq"].clone()
    return {"betas": list(betas), "eps": 1e-8, "weight_decay": decays, "steps": ADAMW_STEPS}


def adamw_reference(out_dir: str) -> None:
    generator = torch.Generator().manual_seed(99)
    tensors = {}
    cases = {"main": adamw_case(tensors, "main", (0.9, 0.999), generator),
             "b03": adamw_case(tensors, "b03", (0.3, 0.99), generator)}
    metadata = {"format_version": FORMAT_VERSION, "torch": torch.__version__,
                "transformers": transformers.__version__, "cases": json.dumps(cases)}
    path = os.path.join(out_dir, "adamw_reference.safetensors")
    save_file(tensors, path, metadata=metadata)
    print(f"wrote {len(tensors)} tensors to {path}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    os.makedirs(sys.argv[1], exist_ok=True)
    torch.set_num_threads(1)
    adamw_reference(sys.argv[1])
    training_reference(sys.argv[1])
