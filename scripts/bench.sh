#!/usr/bin/env bash
# fttrain against PyTorch (scripts/anchors/torch_bench.py, the semantics of ../shared/anchors/torch_bench.py) on all-MiniLM-L6-v2, in one run, same
# shapes, threads and step semantics (random ids, every position attended, dropout on, AdamW,
# warm-up steps then the median step). Prints a table: samples/s of both, the ratio, peak memory,
# and the GFLOP/s achieved next to OpenBLAS's sgemm peak measured in the same run.
#
#   scripts/bench.sh            rows: full fine-tuning 1 x 1 and 1 x 2 threads (batch 32 x 128),
#                               LoRA r 8 on query and value (2 threads), inference (batch 64, 2 threads), data-parallel 2 ranks x 1 thread
#                               (batch 16 per rank) against PyTorch DDP (gloo) 2 x 1;
#                               and fttrain's full 1 x 1 and inference rows again with --all-tokens (every
#                               row of the last layer computed, as PyTorch does), against the same PyTorch runs;
#                               bf16 mixed precision (--precision bf16 on both sides: fttrain's bf16 products,
#                               PyTorch's torch.autocast) for full fine-tuning and inference, 2 threads, each also
#                               against fttrain's own float32 row.
#                               infer-int8: inference with dynamic INT8 products (fttrain --precision int8 against
#                               PyTorch's quantize_dynamic), batch 64, 2 threads; its line also gives the ratio to fttrain's float32 row.
#   env STEPS (timed steps, default 10), WARMUP (default 3),
#       ROWS (default "full1 full2 lora infer ddp full1-all infer-all full2-bf16 infer-bf16 infer-int8").
#
# PyTorch runs in a throw-away virtual environment: $TORCH_VENV if set, else .cache/bench-venv,
# created on first use (scripts/bench_setup.sh).
# These machines are shared: run it when nothing else is, and read the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
steps=${STEPS:-10} warmup=${WARMUP:-3}
rows=${ROWS:-"full1 full2 lora infer ddp full1-all infer-all full2-bf16 infer-bf16 infer-int8"}
model=$PWD/.cache/models/all-MiniLM-L6-v2
anchor=scripts/anchors/torch_bench.py
[ -f "$anchor" ] || { echo "bench: $anchor not found" >&2; exit 1; }
source scripts/bench_setup.sh
bench_setup bench  # sets binary, venv
mpirun_command=(mpirun --allow-run-as-root --oversubscribe -x OPENBLAS_NUM_THREADS=1)
results=$(mktemp)
trap 'rm -f "$results"' EXIT

# One measurement: NAME SIDE COMMAND... → a line "NAME SIDE PEAK_KB JSON" in $results.
measure() {
    local name=$1 side=$2; shift 2
    local out
    out=$( { /usr/bin/time -f "PEAK_KB %M" "$@"; } 2>&1) || { echo "$out" >&2; echo "bench: $name/$side failed" >&2; exit 1; }
    local json; json=$(sed -n 's/^RESULT //p; /^{/p' <<<"$out" | tail -1)
    echo "$name $side $(sed -n 's/^PEAK_KB //p' <<<"$out" | tail -1) $json" >>"$results"
}
torch_run() { measure "$1" torch env OMP_NUM_THREADS="$2" "$venv/bin/python" "$anchor" --model-dir "$model" "${@:3}" --steps "$steps" --warmup "$warmup"; }
ft_run() { measure "$1" fttrain "$binary" bench --model-dir "$model" "${@:2}" --steps "$steps" --warmup "$warmup"; }

for threads in 1 2; do measure "sgemm$threads" fttrain "$binary" bench --model-dir "$model" --mode sgemm --seq 2048 --threads "$threads" --steps 5 --warmup 1; done
for row in $rows; do
    case $row in
        full1) ft_run full1 --mode full --threads 1; torch_run full1 1 --mode full --threads 1 ;;
        full2) ft_run full2 --mode full --threads 2; torch_run full2 2 --mode full --threads 2 ;;
        lora) ft_run lora --mode lora --threads 2; torch_run lora 2 --mode lora --threads 2 ;;
        infer) ft_run infer --mode infer --threads 2; torch_run infer 2 --mode infer --threads 2 ;;
        infer-int8) ft_run infer-int8 --mode infer --threads 2 --precision int8; torch_run infer-int8 2 --mode infer --threads 2 --precision int8 ;;
        full1-all) ft_run full1-all --mode full --threads 1 --all-tokens ;;
        infer-all) ft_run infer-all --mode infer --threads 2 --all-tokens ;;
        full2-bf16) ft_run full2-bf16 --mode full --threads 2 --precision bf16; torch_run full2-bf16 2 --mode full --threads 2 --precision bf16 ;;
        infer-bf16) ft_run infer-bf16 --mode infer --threads 2 --precision bf16; torch_run infer-bf16 2 --mode infer --threads 2 --precision bf16 ;;
        ddp)
            measure ddp fttrain "${mpirun_command[@]}" -np 2 "$binary" bench --model-dir "$model" --mode full --threads 1 \
                --batch 16 --steps "$steps" --warmup "$warmup"
            measure ddp torch env OMP_NUM_THREADS=1 "$venv/bin/torchrun" --nproc_per_node 2 "$anchor" --model-dir "$model" \
                --mode full --threads 1 --batch 16 --steps "$steps" --warmup "$warmup" ;;
        *) echo "bench: unknown row $row" >&2; exit 2 ;;
    esac
done

python3 - "$results" "$steps" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    name, side, peak_kb, payload = line.split(" ", 3)
    rows.setdefault(name, {})[side] = (json.loads(payload), int(peak_kb) * 1024 / 1e6)
peak = {t: rows[f"sgemm{t}"]["fttrain"][0]["gflops_achieved"] for t in (1, 2) if f"sgemm{t}" in rows}
labels = {"full1": "full fine-tuning, 1 x 1 thread, 32 x 128", "full2": "full fine-tuning, 1 x 2 threads, 32 x 128",
          "lora": "LoRA r 8 (query, value), 2 threads, 32 x 128",
          "infer": "inference, 2 threads, 64 x 128", "ddp": "2 ranks x 1 thread, 16 x 128 each",
          "full1-all": "full 1 x 1, every token (--all-tokens)", "infer-all": "inference, every token (--all-tokens)",
          "full2-bf16": "bf16 full fine-tuning, 2 threads, 32 x 128", "infer-bf16": "bf16 inference, 2 threads, 64 x 128",
          "infer-int8": "INT8 inference, 2 threads, 64 x 128"}
print(f"all-MiniLM-L6-v2, median of {sys.argv[2]} steps; sgemm peak (2048^3): "
      + ", ".join(f"{t} thread{'s' if t > 1 else ''} {g:.0f} GFLOP/s" for t, g in peak.items()))
print(f"{'row':44} {'fttrain/s':>9} {'torch/s':>8} {'ratio':>6} {'ft MB':>7} {'torch MB':>8} {'ft GFLOP/s':>10} {'torch GFLOP/s':>13} {'% of peak':>9}")
for name in ("full1", "full2", "lora", "infer", "ddp", "full1-all", "infer-all", "full2-bf16", "infer-bf16", "infer-int8"):
    # The --all-tokens rows compare with the PyTorch run of their base row.
    torch_row = rows.get(name.removesuffix("-all"), {}).get("torch")
    if name not in rows or "fttrain" not in rows[name] or torch_row is None: continue
    (ft, ft_mb), (pt, pt_mb) = rows[name]["fttrain"], torch_row
    gf = ft.get("gflops_achieved_total", ft.get("gflops_achieved"))
    gp = pt.get("gflops_achieved_total", pt.get("gflops_achieved"))
    threads = 2 if name in ("full2", "lora", "infer", "ddp", "infer-all", "full2-bf16", "infer-bf16", "infer-int8") else 1
    memory = ft_mb  # under mpirun and torchrun, /usr/bin/time sees the largest rank
    print(f"{labels[name]:44} {ft['samples_per_s']:9.2f} {pt['samples_per_s']:8.2f} {ft['samples_per_s'] / pt['samples_per_s']:5.2f}x "
          f"{memory:7.0f} {pt_mb:8.0f} {gf:10.1f} {gp:13.1f} {100 * gf / peak.get(threads, float('nan')):8.0f}%")
    base = name.removesuffix("-bf16")
    if base != name and "fttrain" in rows.get(base, {}):
        print(f"{'':44} against fttrain's float32 row: {ft['samples_per_s'] / rows[base]['fttrain'][0]['samples_per_s']:.2f}x"
              f"{'' if ft.get('bf16_instructions') else ' (no avx512_bf16: the bf16 row ran in float32)'}"
              f" (% of peak: of the float32 sgemm peak)")
    if name == "infer-int8" and "fttrain" in rows.get("infer", {}):
        print(f"{'':44} INT8 against float32: fttrain {ft['samples_per_s'] / rows['infer']['fttrain'][0]['samples_per_s']:.2f}x"
              + (f", PyTorch {pt['samples_per_s'] / rows['infer']['torch'][0]['samples_per_s']:.2f}x" if "torch" in rows["infer"] else "")
              + f" (kernel {ft.get('int8_kernel', '?')}; INT8 GFLOP/s are integer operations, % of the float32 sgemm peak)")
    if name == "ddp":
        print(f"{'':44} all-reduce wait: fttrain {100 * ft.get('allreduce_wait_share', 0):.1f}% of a step; "
              f"PyTorch exposed all-reduce {100 * pt.get('exposed_allreduce_share', 0):.1f}% (memory per rank)")
    if pt.get("other_procs_cpu_share", 0) > 0.05:
        print(f"{'':44} warning: other processes used {pt['other_procs_cpu_share']:.0%} of the CPU during the PyTorch run")
if any(rows[n]["fttrain"][0].get("first_token_only") for n in rows if "fttrain" in rows[n]):
    print("fttrain's GFLOP/s counts the products it runs: the logits read only the first token of the last layer, "
          "so by default that layer computes the other rows' keys and values only (13% of the model's FLOPs not run)")
PY
