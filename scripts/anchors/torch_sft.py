#!/usr/bin/env python3
"""Instruction tuning with transformers + PEFT: the PyTorch side of `scripts/instruct_rotten_tomatoes.sh`.

On the same files, template, settings and threads as the fttrain run beside it:
  1. zero-shot: greedy answers of the base model to every test prompt, scored by exact match after
     normalisation (SQuAD's normalize_answer) against the label;
  2. LoRA (PEFT, CAUSAL_LM) trained with Hugging Face's Trainer on the chat-formatted training rows,
     the loss on the answer tokens only (prompt positions -100, as TRL's completion-only loss);
  3. the same scoring after training.
Prints one RESULT JSON line: accuracies, losses, wall times.

Rows: CSV with `text` and `label` columns. The prompt is the user turn `--template` with `{text}`
(Python str.format, so `{text:.300}` keeps the first 300 characters), rendered by the model's chat
template with `add_generation_prompt=True`; the answer is the label, followed by what the template
puts after an assistant turn's content (`<|im_end|>\\n` for ChatML).
"""
import argparse, csv, json, os, re, string, sys, time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def normalize_answer(s):
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return [(r["text"], r["label"]) for r in csv.DictReader(f)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True, help="a .gguf file")
    p.add_argument("--train", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--template", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=float, default=1)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--alpha", type=int, default=16)
    p.add_argument("--targets", default="q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj")
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--max-new-tokens", type=int, default=4)
    p.add_argument("--warmup-ratio", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--output", default=None, help="writes the adapter here (PEFT format)")
    args = p.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments
    from peft import LoraConfig, TaskType, get_peft_model
    torch.set_num_threads(args.threads)
    directory, name = os.path.dirname(args.model) or ".", os.path.basename(args.model)
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32)
    # The weights are de-quantised to float32 on load; what remains of GGUF is a marker that makes
    # the Trainer refuse to train (transformers 5.25), so drop it: this is a plain float32 model.
    model.hf_quantizer, model.is_quantized = None, False
    model.config.quantization_config = None
    train, test = read_rows(args.train), read_rows(args.test)

    def prompt_ids(text):
        messages = [{"role": "user", "content": args.template.format(text=text)}]
        rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return tokenizer(rendered, add_special_tokens=False).input_ids

    # What the template renders after an assistant turn's content ("<|im_end|>\n" for ChatML).
    probe = tokenizer.apply_chat_template(
        [{"role": "user", "content": "u"}, {"role": "assistant", "content": "\x00"}], tokenize=False)
    turn_end = probe.split("\x00", 1)[1]

    def score(model):
        model.eval()
        correct, started = 0, time.perf_counter()
        with torch.inference_mode():
            for text, label in test:
                ids = torch.tensor([prompt_ids(text)])
                out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=args.max_new_tokens,
                                     do_sample=False, pad_token_id=tokenizer.eos_token_id)
                answer = tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
                correct += normalize_answer(answer) == normalize_answer(label)
        return correct / len(test), time.perf_counter() - started

    zero_shot, zero_shot_seconds = score(model)

    examples, truncated = [], 0
    for text, label in train:
        prompt = prompt_ids(text)
        answer = tokenizer(label + turn_end, add_special_tokens=False).input_ids
        ids = prompt + answer
        labels = [-100] * len(prompt) + answer
        if len(ids) > args.max_length:
            truncated += 1
            ids, labels = ids[:args.max_length], labels[:args.max_length]
        examples.append({"input_ids": ids, "labels": labels})

    def collate(batch):
        T = max(len(e["input_ids"]) for e in batch)
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        return {
            "input_ids": torch.tensor([e["input_ids"] + [pad] * (T - len(e["input_ids"])) for e in batch]),
            "attention_mask": torch.tensor([[1] * len(e["input_ids"]) + [0] * (T - len(e["input_ids"])) for e in batch]),
            "labels": torch.tensor([e["labels"] + [-100] * (T - len(e["labels"])) for e in batch]),
        }

    model = get_peft_model(model, LoraConfig(task_type=TaskType.CAUSAL_LM, r=args.rank, lora_alpha=args.alpha,
                                             target_modules=args.targets.split(","), lora_dropout=0.0))
    training = TrainingArguments(
        output_dir=args.output or "/tmp/torch_sft_run", per_device_train_batch_size=args.batch,
        num_train_epochs=args.epochs, learning_rate=args.lr, lr_scheduler_type="linear",
        warmup_steps=args.warmup_ratio,  # transformers 5: a float in [0, 1) is the ratio
        weight_decay=0.0, logging_steps=10, save_strategy="no", report_to=[], seed=args.seed, use_cpu=True,
        dataloader_num_workers=0, remove_unused_columns=False)
    trainer = Trainer(model=model, args=training, train_dataset=examples, data_collator=collate)
    started = time.perf_counter()
    result = trainer.train()
    train_seconds = time.perf_counter() - started
    if args.output:
        model.save_pretrained(args.output)
    tuned, tuned_seconds = score(model)
    tokens = sum(len(e["input_ids"]) for e in examples) * args.epochs
    print("RESULT", json.dumps(dict(
        side="transformers+peft", torch=torch.__version__, threads=args.threads, train_examples=len(train),
        test_examples=len(test), truncated=truncated, zero_shot_accuracy=zero_shot, tuned_accuracy=tuned,
        train_loss=result.training_loss, train_seconds=train_seconds, train_tokens_per_s=tokens / train_seconds,
        zero_shot_eval_seconds=zero_shot_seconds, tuned_eval_seconds=tuned_seconds)))


if __name__ == "__main__":
    main()
