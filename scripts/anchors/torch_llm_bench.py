#!/usr/bin/env python3
"""CPU decoder-LLM anchor: PyTorch + Hugging Face transformers (+ peft) on SmolLM2-135M-Instruct.

The PyTorch side of `scripts/bench_llm.sh`, with the semantics of `torch_bench.py` carried over to
a causal language model: random token ids, every position attended (no padding), AdamW, warm-up
steps then the median of the timed ones, one JSON line prefixed with RESULT.

  --mode lora      one LoRA training step (r 8, alpha 16, q/k/v/o/gate/up/down, PEFT's
                   CAUSAL_LM task) over B x T random tokens, next-token loss over every position
                   (labels = input ids, shifted inside the model)
  --mode generate  greedy `model.generate` from a P-token random prompt: prefill = the time of
                   `generate(max_new_tokens=1)`; decode = (time of N new tokens - prefill) / (N - 1)
                   (`min_new_tokens` so EOS cannot end it early); KV cache on (transformers' default)

Model: `--model FILE.gguf` (transformers de-quantises it to float32, as fttrain does) or a Hugging
Face directory. Wrap a run in `/usr/bin/time -v` for its peak memory.
"""
import argparse, json, os, statistics, sys, time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def load(path):
    import torch
    from transformers import AutoModelForCausalLM
    if path.endswith(".gguf"):
        return AutoModelForCausalLM.from_pretrained(os.path.dirname(path) or ".", gguf_file=os.path.basename(path),
                                                    dtype=torch.float32)
    return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, local_files_only=True)


def lora_flops(cfg, tokens, rank, targets):
    """Matmul FLOPs of one LoRA step (1 FMA = 2 FLOP): forward + input gradients through every
    frozen product, forward + both gradients of the LoRA products; attention QK^T and PV (causal:
    counted in full, as the dense kernels compute them); the tied output projection."""
    C, I, L, V = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers, cfg.vocab_size
    D = getattr(cfg, "head_dim", None) or C // cfg.num_attention_heads
    H, KV = cfg.num_attention_heads, cfg.num_key_value_heads
    dims = {"q_proj": (C, H * D), "k_proj": (C, KV * D), "v_proj": (C, KV * D), "o_proj": (H * D, C),
            "gate_proj": (C, I), "up_proj": (C, I), "down_proj": (I, C)}
    base = sum(a * b for a, b in dims.values())
    lora = sum(rank * (a + b) for name, (a, b) in dims.items() if name in targets)
    seq = tokens["seq"]
    attention = 2 * 2 * tokens["batch"] * seq * seq * H * D  # QK^T and PV
    forward = L * (2 * base * tokens["n"] + 2 * lora * tokens["n"] + attention) + 2 * C * V * tokens["n"]
    # backward: input gradients of every product (= forward), weight gradients of LoRA only
    backward = L * (2 * base * tokens["n"] + 4 * lora * tokens["n"] + 2 * attention) + 2 * C * V * tokens["n"]
    return forward + backward


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True, help="a .gguf file or a Hugging Face directory")
    p.add_argument("--mode", choices=["lora", "generate"], default="lora")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--prompt-tokens", type=int, default=128)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--lr", type=float, default=2e-4)
    args = p.parse_args()

    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = load(args.model)
    cfg = model.config
    g = torch.Generator().manual_seed(1234)
    res = dict(mode=args.mode, threads=torch.get_num_threads(), torch=torch.__version__)

    if args.mode == "generate":
        model.eval()
        P, N = args.prompt_tokens, args.new_tokens
        ids = torch.randint(1000, cfg.vocab_size, (1, P), generator=g)
        mask = torch.ones_like(ids)
        kwargs = dict(attention_mask=mask, do_sample=False, pad_token_id=cfg.eos_token_id)
        prefill, total = [], []
        with torch.inference_mode():
            for i in range(args.warmup + args.steps):
                t0 = time.perf_counter()
                model.generate(ids, max_new_tokens=1, **kwargs)
                t1 = time.perf_counter()
                out = model.generate(ids, max_new_tokens=N, min_new_tokens=N, **kwargs)
                t2 = time.perf_counter()
                assert out.shape[1] == P + N
                if i >= args.warmup:
                    prefill.append(t1 - t0)
                    total.append(t2 - t1)
        pf, tt = statistics.median(prefill), statistics.median(total)
        res.update(prompt_tokens=P, new_tokens=N, prefill_ms=pf * 1e3, prefill_tokens_per_s=P / pf,
                   decode_ms_per_token=(tt - pf) / (N - 1) * 1e3, decode_tokens_per_s=(N - 1) / (tt - pf),
                   steps=len(total))
        print("RESULT", json.dumps(res)); sys.stdout.flush()
        return

    from peft import LoraConfig, TaskType, get_peft_model
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    model = get_peft_model(model, LoraConfig(task_type=TaskType.CAUSAL_LM, r=args.rank, lora_alpha=2 * args.rank,
                                             target_modules=targets, lora_dropout=0.0))
    model.train()
    B, T = args.batch, args.seq
    ids = torch.randint(1000, cfg.vocab_size, (B, T), generator=g)
    mask = torch.ones_like(ids)
    opt = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=args.lr)
    times = []
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(input_ids=ids, attention_mask=mask, labels=ids).loss
        loss.backward()
        opt.step()
        dt = time.perf_counter() - t0
        if i >= args.warmup:
            times.append(dt)
    med = statistics.median(times)
    flops = lora_flops(cfg, dict(n=B * T, batch=B, seq=T), args.rank, targets)
    res.update(batch=B, seq=T, rank=args.rank, step_ms_median=med * 1e3, step_ms_min=min(times) * 1e3,
               tokens_per_s=B * T / med, gflops_achieved=flops / med / 1e9, last_loss=loss.item(),
               trainable=sum(q.numel() for q in model.parameters() if q.requires_grad), steps=len(times))
    print("RESULT", json.dumps(res)); sys.stdout.flush()


if __name__ == "__main__":
    main()
